"""
Unit tests of Brine's one-time console tokens (``brine.tokens``, the one store) and websockify's
plugins over it (``console/brine_console_tokens.py``), against a real directory. A token maps
to exactly the target written when it was issued, works once (also when connections race for
it), expires unused, nothing the client sends can name a file or a target, and the directory
must belong to the user and let nobody else in. A token is bound to the browser session that
asked for it: without its secret, or with another, it is refused (and stays usable by its owner);
the plugins answer 403 with the reason and write each redemption and refusal, with the client's
address, to the console record, never the token, the secret or a password. The runner and
websockify, configured with the same ``brine:console:token_dir``, meet in the same directory.
"""

import hashlib
import json
import multiprocessing
import os
import stat
import time

import pytest
from websockify.auth_plugins import AuthenticationError

from brine import config
from brine import console_crypto
from brine import console_record
from brine import tokens
from support import loading
from support.saltfakes import cluster_runner
from support.saltfakes import master_cache
from support.saltfakes import use_client

plugin_module = loading.load("console/brine_console_tokens.py")
SECRET = "S3cr3t-of-the-browser_session-0123456789abc"
BINDING = hashlib.sha256(SECRET.encode()).hexdigest()
TARGET = {"vm": "lab-vm1", "host": "hv1", "address": "10.77.0.11", "port": 5901, "binding": BINDING}
OTHER_SECRET = "another-browser-session-secret-0123456789ab"


@pytest.fixture(name="store")
def _store(tmp_path):
    return str(tmp_path / "console-tokens")


@pytest.fixture(name="issue", params=["library", "plugin"])
def _issue(request):
    """The store's writer as the runner calls it, and as websockify's plugin module exposes it."""
    module = tokens if request.param == "library" else plugin_module
    return lambda directory, target, ttl=30, now=None: module.issue(directory, target, ttl, now)


def test_a_token_redeems_once_for_exactly_its_target(store, issue):
    token, expires = issue(store, TARGET)
    assert tokens.TOKEN_RE.match(token)
    record = tokens.redeem(store, token, SECRET)
    assert (record["address"], record["port"], record["vm"], record["host"]) == (
        "10.77.0.11",
        5901,
        "lab-vm1",
        "hv1",
    )
    assert record["expires"] == expires
    with pytest.raises(tokens.TokenError, match="unknown or already used"):
        tokens.redeem(store, token, SECRET)
    assert os.listdir(store) == []


def test_store_is_root_only_and_names_do_not_reveal_tokens(store, issue):
    token, _ = issue(store, TARGET)
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o700
    (entry,) = os.listdir(store)
    assert token not in entry and entry.endswith(".token")
    assert stat.S_IMODE(os.stat(os.path.join(store, entry)).st_mode) == 0o600


def test_an_unused_token_expires(store, issue):
    token, _ = issue(store, TARGET, ttl=30, now=time.time() - 31)
    with pytest.raises(tokens.TokenError, match="expired"):
        tokens.redeem(store, token, SECRET)
    # Refused and gone: a second try is "unknown", not "expired" again.
    with pytest.raises(tokens.TokenError, match="unknown or already used"):
        tokens.redeem(store, token, SECRET)


def test_a_token_is_good_until_its_expiry(store, issue):
    now = time.time()
    token, _ = issue(store, TARGET, ttl=30, now=now)
    assert tokens.redeem(store, token, SECRET, now=now + 29)["port"] == 5901


@pytest.mark.parametrize(
    "token",
    ["", "short", "../../../etc/passwd", "A" * 42 + "/", "A" * 44, None, 12, "A" * 42 + "\n"],
)
def test_malformed_tokens_are_refused_without_touching_files(store, token):
    os.makedirs(store, mode=0o700)
    with pytest.raises(tokens.TokenError, match="malformed"):
        tokens.redeem(store, token, SECRET)


def test_a_random_token_is_unknown(store, issue):
    issue(store, TARGET)
    with pytest.raises(tokens.TokenError, match="unknown"):
        tokens.redeem(store, "B" * 43, SECRET)
    assert len(os.listdir(store)) == 1


def test_issuing_sweeps_expired_tokens_and_keeps_live_ones(store, issue):
    now = time.time()
    old, _ = issue(store, TARGET, ttl=30, now=now - 100)
    live, _ = issue(store, TARGET, ttl=30, now=now)
    assert len(os.listdir(store)) == 1
    assert tokens.redeem(store, live, SECRET)["vm"] == "lab-vm1"
    with pytest.raises(tokens.TokenError):
        tokens.redeem(store, old, SECRET)


def test_a_target_needs_an_address_and_a_port(store):
    with pytest.raises(ValueError):
        tokens.issue(store, {"address": "10.77.0.11"})
    with pytest.raises(ValueError):
        tokens.issue(store, {"address": "", "port": 5900})
    with pytest.raises(ValueError, match="binding"):
        tokens.issue(store, {"address": "10.77.0.11", "port": 5900})
    with pytest.raises(ValueError, match="binding"):
        tokens.issue(store, {"address": "10.77.0.11", "port": 5900, "binding": "ab" * 31})


def _race(store, token_list, queue):
    won = []
    for token in token_list:
        try:
            tokens.redeem(store, token, SECRET)
            won.append(token)
        except tokens.TokenError:
            pass
    queue.put(won)


def test_racing_connections_redeem_each_token_exactly_once(store, issue):
    token_list = [issue(store, dict(TARGET, port=5900 + i))[0] for i in range(40)]
    queue = multiprocessing.get_context("fork").Queue()
    workers = [
        multiprocessing.get_context("fork").Process(target=_race, args=(store, token_list, queue))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    won = [token for _ in workers for token in queue.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(won) == sorted(token_list)
    assert os.listdir(store) == []


def plugins(store, record):
    return plugin_module.BrineConsoleTokens(store), plugin_module.BrineConsoleAuth(str(record))


def connect(plugin, auth, token, headers=None):
    """What websockify does with one connection: the token plugin, then the auth plugin."""
    target = plugin.lookup(token)
    auth.authenticate(headers=headers or {}, target_host=target[0], target_port=target[1])
    return target


def refusal(plugin, auth, token, headers=None):
    with pytest.raises(AuthenticationError) as excinfo:
        connect(plugin, auth, token, headers)
    assert excinfo.value.code == 403
    return excinfo.value.msg


def test_the_websockify_plugins_map_a_token_with_its_secret_to_its_target_once(store, issue, tmp_path):
    token, _ = issue(store, TARGET)
    plugin, auth = plugins(store, tmp_path / "consoles.log")
    assert connect(plugin, auth, f"{token}.{SECRET}") == ("10.77.0.11", 5901)
    assert "already used" in refusal(plugin, auth, f"{token}.{SECRET}")


def test_a_token_without_its_secret_or_with_another_is_refused_and_stays_its_owners(store, issue, tmp_path):
    token, _ = issue(store, TARGET)
    plugin, auth = plugins(store, tmp_path / "consoles.log")
    assert "without the secret" in refusal(plugin, auth, token)
    assert "without the secret" in refusal(plugin, auth, f"{token}.")
    assert "another browser session" in refusal(plugin, auth, f"{token}.{OTHER_SECRET}")
    assert "malformed" in refusal(plugin, auth, f"{token}.{SECRET}!")
    # The binding, not the secret, leaks (a copied record): still no way in.
    assert "another browser session" in refusal(plugin, auth, f"{token}.{BINDING[:43]}")
    assert connect(plugin, auth, f"{token}.{SECRET}") == ("10.77.0.11", 5901)


def test_the_library_refuses_without_the_right_secret(store, issue):
    token, _ = issue(store, TARGET)
    for secret in (None, "", OTHER_SECRET, SECRET.upper()):
        with pytest.raises(tokens.TokenError, match=r"secret|another browser session"):
            tokens.redeem(store, token, secret)
    assert tokens.redeem(store, token, SECRET)["vm"] == "lab-vm1"


def test_a_token_record_without_a_binding_opens_nothing(store):
    token, _ = tokens.issue(store, TARGET)
    path = os.path.join(store, hashlib.sha256(token.encode()).hexdigest() + ".token")
    with open(path, encoding="utf-8") as handle:
        record = json.load(handle)
    del record["binding"]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    with pytest.raises(tokens.TokenError, match="without a browser session binding"):
        tokens.redeem(store, token, SECRET)


def test_the_binding_is_the_sha256_of_the_secrets_text_as_the_browser_computes_it():
    assert tokens.binding_of(SECRET) == BINDING
    keys = console_crypto.request_keys()
    assert tokens.binding_of(keys["secret"]) == keys["binding"]
    assert tokens.split(f"{'A' * 43}.{keys['secret']}") == ("A" * 43, keys["secret"])


def test_redemptions_and_refusals_are_recorded_without_any_secret(store, issue, tmp_path):
    record = tmp_path / "log" / "consoles.log"
    token, _ = issue(store, TARGET)
    plugin, auth = plugins(store, record)
    refusal(plugin, auth, f"{token}.{OTHER_SECRET}", {"X-Forwarded-For": "192.0.2.66"})
    connect(plugin, auth, f"{token}.{SECRET}", {"X-Real-IP": "192.0.2.10", "X-Forwarded-For": "192.0.2.10"})
    refused, redeemed = (json.loads(line) for line in record.read_text().splitlines())
    assert refused["event"] == "refused" and refused["client"] == "192.0.2.66"
    assert refused["token"] == tokens.fingerprint(token) and "another browser session" in refused["reason"]
    assert {key: redeemed[key] for key in ("event", "vm", "host", "client", "token")} == {
        "event": "redeemed",
        "vm": "lab-vm1",
        "host": "hv1",
        "client": "192.0.2.10",
        "token": tokens.fingerprint(token),
    }
    text = record.read_text()
    for secret in (token, SECRET, OTHER_SECRET, BINDING):
        assert secret not in text
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(record.parent).st_mode) == 0o700


def test_a_redemption_that_cannot_be_recorded_is_refused(store, issue, tmp_path):
    record = tmp_path / "consoles.log"
    record.mkdir()
    token, _ = issue(store, TARGET)
    plugin, auth = plugins(store, record)
    assert "record cannot be written" in refusal(plugin, auth, f"{token}.{SECRET}")


def test_the_record_keeps_known_fields_only(tmp_path):
    record = tmp_path / "consoles.log"
    console_record.append(str(record), {"event": "issued", "vm": "x", "password": "pw", "secret": "s"})
    entry = json.loads(record.read_text())
    assert set(entry) == {"time", "event", "vm"}


def test_the_auth_plugin_records_to_the_default_path_unless_told():
    assert plugin_module.BrineConsoleAuth(None).source == console_record.DEFAULT_PATH
    assert config.default("console:record") == console_record.DEFAULT_PATH


def test_the_refused_target_can_never_resolve():
    assert plugin_module.REFUSED_HOST.endswith(".invalid")


# --------------------------------------------------------------------------
# The directory: owner and mode, checked by both sides
# --------------------------------------------------------------------------


def test_issuing_tightens_a_directory_others_may_enter(store):
    os.makedirs(store, mode=0o755)
    os.chmod(store, 0o755)
    tokens.issue(store, TARGET)
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o700


def test_redeeming_refuses_a_directory_others_may_enter(store, issue):
    token, _ = issue(store, TARGET)
    os.chmod(store, 0o755)
    with pytest.raises(tokens.TokenError, match="readable by others"):
        tokens.redeem(store, token, SECRET)
    os.chmod(store, 0o700)
    assert tokens.redeem(store, token, SECRET)["port"] == 5901


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_both_sides_refuse_a_directory_of_another_user(store, issue):
    token, _ = issue(store, TARGET)
    os.chown(store, 65534, 65534)
    with pytest.raises(tokens.TokenError, match="belongs to another user"):
        tokens.issue(store, TARGET)
    with pytest.raises(tokens.TokenError, match="belongs to another user"):
        tokens.redeem(store, token, SECRET)
    os.chown(store, 0, 0)


def test_a_missing_directory_knows_no_token(store):
    with pytest.raises(tokens.TokenError, match="unknown"):
        tokens.redeem(store, "B" * 43, SECRET)
    assert not os.path.exists(store)


# --------------------------------------------------------------------------
# The runner writes where websockify reads
# --------------------------------------------------------------------------


KEYS = console_crypto.request_keys()


def console_on(name, ttl, public_key):
    key = console_crypto.public_key(public_key)[1]
    encrypted = console_crypto.encrypt(key, "pw")
    return {
        "name": name,
        "protocol": "vnc",
        "address": "10.77.0.11",
        "port": 5901,
        "password_encrypted": encrypted,
    }


def console_runner(tmp_path, monkeypatch, **console):
    console.setdefault("record", str(tmp_path / "consoles.log"))
    runner = cluster_runner(tmp_path, monkeypatch, inventory={"timeout": 1}, console=console)
    cache = master_cache(runner)
    cache.store("pillar", "hv1", {"brine": {"console": {"address": "10.77.0.11"}}})
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on}})
    return runner


def ask(runner):
    return runner.console("lab-vm1", binding=KEYS["binding"], public_key=KEYS["public_key"])


def test_the_runner_writes_where_websockify_reads_with_the_same_token_dir(tmp_path, monkeypatch):
    token_dir = str(tmp_path / "run" / "brine-console")
    answer = ask(console_runner(tmp_path, monkeypatch, token_dir=token_dir))
    # websockify --token-plugin brine_console_tokens.BrineConsoleTokens --token-source <token_dir>
    plugin = plugin_module.BrineConsoleTokens(token_dir)
    assert plugin.lookup(answer["token"]) == (plugin_module.REFUSED_HOST, plugin_module.REFUSED_PORT)
    assert plugin.lookup(f"{answer['token']}.{KEYS['secret']}") == ("10.77.0.11", 5901)
    assert plugin.lookup(f"{answer['token']}.{KEYS['secret']}") == (
        plugin_module.REFUSED_HOST,
        plugin_module.REFUSED_PORT,
    )


def test_the_runner_reads_its_token_dir_from_the_master_pillar_too(tmp_path, monkeypatch):
    token_dir = str(tmp_path / "from-pillar")
    runner = console_runner(tmp_path, monkeypatch)
    monkeypatch.setattr(runner, "__pillar__", {"brine": {"console": {"token_dir": token_dir}}})
    answer = ask(runner)
    bound = f"{answer['token']}.{KEYS['secret']}"
    assert plugin_module.BrineConsoleTokens(token_dir).lookup(bound) == ("10.77.0.11", 5901)


def test_unconfigured_both_sides_use_the_same_default_directory():
    assert config.default("console:token_dir") == tokens.DEFAULT_DIR
    assert plugin_module.BrineConsoleTokens(None).source == tokens.DEFAULT_DIR
    assert config.get("console:token_dir", config.master_lookup({}, {})) == tokens.DEFAULT_DIR


def test_the_old_top_level_option_is_not_read(tmp_path, monkeypatch):
    runner = cluster_runner(tmp_path, monkeypatch)
    monkeypatch.setitem(runner.__opts__, "brine_console_token_dir", str(tmp_path / "old"))
    assert config.get("console:token_dir", runner._lookup()) == tokens.DEFAULT_DIR
