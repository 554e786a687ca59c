"""
Unit tests of Brine's one-time console tokens: the writer in the ``cluster`` runner
(``_console_issue``) and the reader websockify loads (``console/brine_console_tokens.py``),
against a real directory. A token maps to exactly the target written when it was issued, works
once (also when connections race for it), expires unused, and nothing the client sends can name
a file or a target.
"""

import importlib.util
import multiprocessing
import os
import pathlib
import stat
import sys
import time

import pytest
from websockify.auth_plugins import AuthenticationError

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "console"))
import brine_console_tokens as tokens  # noqa: E402  pylint: disable=wrong-import-position


def _load_runner():
    spec = importlib.util.spec_from_file_location("brine_cluster_console", REPO / "_runners" / "cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cluster = _load_runner()
TARGET = {"vm": "lab-vm1", "host": "hv1", "address": "10.77.0.11", "port": 5901}


@pytest.fixture(name="store")
def _store(tmp_path):
    return str(tmp_path / "console-tokens")


@pytest.fixture(name="issue", params=["runner", "plugin"])
def _issue(request):
    """Both writers: the runner's (what the master uses) and the plugin module's own."""
    if request.param == "runner":
        return lambda directory, target, ttl=30, now=None: cluster._console_issue(directory, target, ttl, now)
    return lambda directory, target, ttl=30, now=None: tokens.issue(directory, target, ttl, now)


def test_a_token_redeems_once_for_exactly_its_target(store, issue):
    token, expires = issue(store, TARGET)
    assert tokens.TOKEN_RE.match(token)
    record = tokens.redeem(store, token)
    assert (record["address"], record["port"], record["vm"], record["host"]) == ("10.77.0.11", 5901, "lab-vm1", "hv1")
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
    plugin, auth = tokens.BrineConsoleTokens(store), tokens.BrineConsoleAuth(None)
    assert plugin.lookup(token) == ("10.77.0.11", 5901)
    auth.authenticate(headers={}, target_host="10.77.0.11", target_port=5901)
    refused = plugin.lookup(token)
    assert refused == (tokens.REFUSED_HOST, tokens.REFUSED_PORT)
    with pytest.raises(AuthenticationError) as excinfo:
        auth.authenticate(headers={}, target_host=refused[0], target_port=refused[1])
    assert excinfo.value.code == 403
    assert "already used" in excinfo.value.msg


def test_the_refused_target_can_never_resolve():
    assert tokens.REFUSED_HOST.endswith(".invalid")
