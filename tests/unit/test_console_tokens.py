"""
Unit tests of Brine's one-time console tokens (``brine.tokens``, the one store) and websockify's
plugins over it (``console/brine_console_tokens.py``), against a real directory. A token maps
to exactly the target written when it was issued, works once (also when connections race for
it), expires unused, nothing the client sends can name a file or a target, and the directory
must belong to the user and let nobody else in. The runner and websockify, configured with the
same ``brine:console:token_dir``, meet in the same directory.
"""

import multiprocessing
import os
import stat
import time

import pytest
from websockify.auth_plugins import AuthenticationError

from brine import config
from brine import tokens
from support import loading
from support.saltfakes import cluster_runner
from support.saltfakes import master_cache
from support.saltfakes import use_client

plugin_module = loading.load("console/brine_console_tokens.py")
TARGET = {"vm": "lab-vm1", "host": "hv1", "address": "10.77.0.11", "port": 5901}


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
    record = tokens.redeem(store, token)
    assert (record["address"], record["port"], record["vm"], record["host"]) == (
        "10.77.0.11",
        5901,
        "lab-vm1",
        "hv1",
    )
    assert record["expires"] == expires
    with pytest.raises(tokens.TokenError, match="unknown or already used"):
        tokens.redeem(store, token)
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
        tokens.redeem(store, token)
    # Refused and gone: a second try is "unknown", not "expired" again.
    with pytest.raises(tokens.TokenError, match="unknown or already used"):
        tokens.redeem(store, token)


def test_a_token_is_good_until_its_expiry(store, issue):
    now = time.time()
    token, _ = issue(store, TARGET, ttl=30, now=now)
    assert tokens.redeem(store, token, now=now + 29)["port"] == 5901


@pytest.mark.parametrize(
    "token",
    ["", "short", "../../../etc/passwd", "A" * 42 + "/", "A" * 44, None, 12, "A" * 42 + "\n"],
)
def test_malformed_tokens_are_refused_without_touching_files(store, token):
    os.makedirs(store, mode=0o700)
    with pytest.raises(tokens.TokenError, match="malformed"):
        tokens.redeem(store, token)


def test_a_random_token_is_unknown(store, issue):
    issue(store, TARGET)
    with pytest.raises(tokens.TokenError, match="unknown"):
        tokens.redeem(store, "B" * 43)
    assert len(os.listdir(store)) == 1


def test_issuing_sweeps_expired_tokens_and_keeps_live_ones(store, issue):
    now = time.time()
    old, _ = issue(store, TARGET, ttl=30, now=now - 100)
    live, _ = issue(store, TARGET, ttl=30, now=now)
    assert len(os.listdir(store)) == 1
    assert tokens.redeem(store, live)["vm"] == "lab-vm1"
    with pytest.raises(tokens.TokenError):
        tokens.redeem(store, old)


def test_a_target_needs_an_address_and_a_port(store):
    with pytest.raises(ValueError):
        tokens.issue(store, {"address": "10.77.0.11"})
    with pytest.raises(ValueError):
        tokens.issue(store, {"address": "", "port": 5900})


def _race(store, token_list, queue):
    won = []
    for token in token_list:
        try:
            tokens.redeem(store, token)
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


def test_the_websockify_plugins_map_a_token_to_its_target_once(store, issue):
    token, _ = issue(store, TARGET)
    plugin, auth = plugin_module.BrineConsoleTokens(store), plugin_module.BrineConsoleAuth(None)
    assert plugin.lookup(token) == ("10.77.0.11", 5901)
    auth.authenticate(headers={}, target_host="10.77.0.11", target_port=5901)
    refused = plugin.lookup(token)
    assert refused == (plugin_module.REFUSED_HOST, plugin_module.REFUSED_PORT)
    with pytest.raises(AuthenticationError) as excinfo:
        auth.authenticate(headers={}, target_host=refused[0], target_port=refused[1])
    assert excinfo.value.code == 403
    assert "already used" in excinfo.value.msg


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
        tokens.redeem(store, token)
    os.chmod(store, 0o700)
    assert tokens.redeem(store, token)["port"] == 5901


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_both_sides_refuse_a_directory_of_another_user(store, issue):
    token, _ = issue(store, TARGET)
    os.chown(store, 65534, 65534)
    with pytest.raises(tokens.TokenError, match="belongs to another user"):
        tokens.issue(store, TARGET)
    with pytest.raises(tokens.TokenError, match="belongs to another user"):
        tokens.redeem(store, token)
    os.chown(store, 0, 0)


def test_a_missing_directory_knows_no_token(store):
    with pytest.raises(tokens.TokenError, match="unknown"):
        tokens.redeem(store, "B" * 43)
    assert not os.path.exists(store)


# --------------------------------------------------------------------------
# The runner writes where websockify reads
# --------------------------------------------------------------------------


def console_on(name, ttl):
    return {"name": name, "protocol": "vnc", "address": "10.77.0.11", "port": 5901, "password": "pw"}


def test_the_runner_writes_where_websockify_reads_with_the_same_token_dir(tmp_path, monkeypatch):
    token_dir = str(tmp_path / "run" / "brine-console")
    runner = cluster_runner(tmp_path, monkeypatch, inventory={"timeout": 1}, console={"token_dir": token_dir})
    master_cache(runner).store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on}})
    answer = runner.console("lab-vm1")
    # websockify --token-plugin brine_console_tokens.BrineConsoleTokens --token-source <token_dir>
    plugin = plugin_module.BrineConsoleTokens(token_dir)
    assert plugin.lookup(answer["token"]) == ("10.77.0.11", 5901)
    assert plugin.lookup(answer["token"]) == (plugin_module.REFUSED_HOST, plugin_module.REFUSED_PORT)


def test_the_runner_reads_its_token_dir_from_the_master_pillar_too(tmp_path, monkeypatch):
    token_dir = str(tmp_path / "from-pillar")
    runner = cluster_runner(tmp_path, monkeypatch)
    monkeypatch.setattr(runner, "__pillar__", {"brine": {"console": {"token_dir": token_dir}}})
    master_cache(runner).store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on}})
    answer = runner.console("lab-vm1")
    assert plugin_module.BrineConsoleTokens(token_dir).lookup(answer["token"]) == ("10.77.0.11", 5901)


def test_unconfigured_both_sides_use_the_same_default_directory():
    assert config.default("console:token_dir") == tokens.DEFAULT_DIR
    assert plugin_module.BrineConsoleTokens(None).source == tokens.DEFAULT_DIR
    assert config.get("console:token_dir", config.master_lookup({}, {})) == tokens.DEFAULT_DIR


def test_the_old_top_level_option_is_not_read(tmp_path, monkeypatch):
    runner = cluster_runner(tmp_path, monkeypatch)
    monkeypatch.setitem(runner.__opts__, "brine_console_token_dir", str(tmp_path / "old"))
    assert config.get("console:token_dir", runner._lookup()) == tokens.DEFAULT_DIR
