"""
Brine's event stream: which events of the master bus pass (brine.stream), and the master
engine brine_stream serving them over HTTP against a stand-in salt-api.
"""

import json
import re
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
import tornado.web

from brine import signing
from brine import stream
from support import signkeys
from support.loading import load
from support.paths import REPO

engine = load("_engines/brine_stream.py", "brine_stream_unit")

# The master's accepted keys (pki_dir/minions): hv1's and hv2's.
KEY_DIR = signkeys.accept(Path(tempfile.mkdtemp(prefix="brine-minions-")), "hv1", "hv2")
# The master's own public key (pki_dir/master.pub), which its runners sign with.
MASTER_PUB = KEY_DIR.parent / f"{KEY_DIR.name}-master.pub"
MASTER_PUB.write_bytes(signkeys.public_pem("master"))


def verifier():
    return signing.Verifier(str(KEY_DIR), master_key=str(MASTER_PUB))


def from_host(minion, tag, payload, signer=None):
    """
    An event a host sent, as the master fires it (salt/daemons/masterapi.py _minion_event),
    its payload signed for ``tag`` with the key of ``signer`` (default: ``minion``).
    """
    if isinstance(payload, dict):
        payload = signing.sign(tag, payload, signkeys.key(signer or minion), time.time())
    return {"cmd": "_minion_event", "id": minion, "tag": tag, "data": payload, "_stamp": "2026-01-01T00:00"}


def check(tag, data):
    return stream.check(tag, data, verifier())


STATE = {"host": "hv1", "name": "lab-vm1", "event": "started", "state": "running"}
MIGRATION = {"id": "mig-1-abcdef", "vm": "lab-vm1", "source": "hv1", "target": "hv2", "percent": 40}


# -- check: who sent it, and does it say so -------------------------------------------------------


def test_a_hosts_own_event_passes_as_its_payload_with_the_verified_host():
    payload, reason = check(
        "brine/vm/hv1/lab-vm1/state", from_host("hv1", "brine/vm/hv1/lab-vm1/state", dict(STATE, _x=1))
    )
    assert reason is None
    assert payload == STATE


@pytest.mark.parametrize(
    ("tag", "minion", "payload", "reason"),
    [
        ("brine/vm/hv2/lab-vm1/state", "hv1", dict(STATE, host="hv2"), "tag names another host"),
        ("brine/vm/hv1/lab-vm1/state", "hv1", dict(STATE, host="hv2"), "payload's host is another host"),
        ("brine/vm/hv1/lab-vm1/state", "hv1", dict(STATE, host=None), "payload's host is another host"),
        ("brine/host/hv2/resync", "hv1", {"host": "hv2", "reason": "x"}, "tag names another host"),
        ("brine/host/hv1/resync", "hv1", "not a dict", "payload is not a mapping"),
        ("brine/migration/m/progress", "hv2", MIGRATION, "payload's source is another host"),
        ("brine/migration/m/failed", "hv2", MIGRATION, "payload's source is another host"),
        ("salt/minion/hv2/start", "hv1", "Minion hv2 started", "tag names another host"),
    ],
)
def test_an_event_naming_another_host_than_its_sender_is_dropped(tag, minion, payload, reason):
    assert check(tag, from_host(minion, tag, payload)) == (None, reason)


STATE_TAG = "brine/vm/hv2/lab-vm1/state"
HV2_STATE = dict(STATE, host="hv2")
HV3_STATE = dict(STATE, host="hv3")  # hv3: a minion whose key the master has not accepted


@pytest.mark.parametrize(
    ("minion", "data", "reason"),
    [
        # What a root user on hv1 can put on the bus in a batch: hv2's wrapper, without hv2's key.
        ("hv2", {"cmd": "_minion_event", "id": "hv2", "tag": STATE_TAG, "data": HV2_STATE}, "unsigned"),
        ("hv2", from_host("hv2", STATE_TAG, HV2_STATE, signer="hv1"), "bad signature"),
        ("hv2", from_host("hv2", "brine/vm/hv2/lab-vm2/state", HV2_STATE), "bad signature"),
        ("hv3", from_host("hv3", "brine/vm/hv3/lab-vm1/state", HV3_STATE), "no accepted key for the host"),
    ],
)
def test_a_hosts_event_needs_that_hosts_signature(minion, data, reason):
    tag = f"brine/vm/{minion}/lab-vm1/state"
    assert check(tag, data) == (None, reason)


def test_the_signature_is_not_forwarded_and_a_replay_is_dropped():
    one = verifier()
    data = from_host("hv2", STATE_TAG, HV2_STATE)
    payload, reason = stream.check(STATE_TAG, data, one)
    assert reason is None and payload == HV2_STATE and signing.FIELD not in payload
    assert stream.check(STATE_TAG, data, one) == (None, "replayed")


def test_a_migration_event_passes_from_its_source_with_the_host_added():
    payload, _ = check(
        "brine/migration/mig-1-abcdef/progress",
        from_host("hv1", "brine/migration/mig-1-abcdef/progress", MIGRATION),
    )
    assert payload == dict(MIGRATION, host="hv1")


def test_a_minion_start_passes_with_its_host_only():
    tag = "salt/minion/hv1/start"
    assert check(tag, from_host("hv1", tag, "Minion hv1 started at ...")) == ({"host": "hv1"}, None)


def test_the_master_own_failed_migration_passes_and_nothing_else_unwrapped_does():
    failed = {"id": "m", "vm": "lab-vm1", "source": "hv1", "target": "hv2", "error": "no"}
    signed = dict(signing.sign("brine/migration/m/failed", failed, signkeys.key("master"), time.time()))
    assert check("brine/migration/m/failed", dict(signed, _stamp="t")) == (failed, None)
    # The same payload unsigned, or signed by a host (a host's batched event has no cmd
    # either), is not the master's.
    assert check("brine/migration/m/failed", failed) == (None, "master event: unsigned")
    by_host = signing.sign("brine/migration/m/failed", failed, signkeys.key("hv1"), time.time())
    assert check("brine/migration/m/failed", by_host) == (None, "master event: bad signature")
    assert check("brine/vm/hv1/lab-vm1/state", STATE) == (
        None,
        "not sent by a host and not one the master fires",
    )
    assert check("brine/migration/m/done", MIGRATION)[0] is None


@pytest.mark.parametrize(
    "data",
    [
        {"cmd": "_return", "id": "hv1", "data": STATE},
        {"cmd": "_minion_event", "data": STATE},
        {"cmd": "_minion_event", "id": "", "data": STATE},
        {"id": "hv1", "data": STATE},
        ["not", "a", "dict"],
    ],
)
def test_malformed_events_are_dropped(data):
    payload, reason = check("brine/vm/hv1/lab-vm1/state", data)
    assert payload is None and reason


@pytest.mark.parametrize(
    "tag",
    [
        "salt/run/20260101/ret",
        "salt/job/20260101/ret/hv1",
        "salt/netapi/hook/x",
        "salt/auth",
        "brine/vm/hv1/lab-vm1/secret",
        "brine/vm/hv1/lab vm1/state",
        "brine/vm/hv1/lab-vm1/state\ndata: x",
        "brine/vm/hv1/lab-vm1/state/extra",
        None,
    ],
)
def test_what_is_not_brines_is_not_served_at_all(tag):
    assert check(tag, from_host("hv1", tag, dict(STATE))) == (None, None)


def test_every_event_documented_in_api_md_has_a_route_viewers_see():
    text = (REPO / "docs" / "api.md").read_text()
    section = text.split("## Events", 1)[1].split("\n## ", 1)[0]
    tags = re.findall(r"^\| `((?:brine|salt)/[^`]+)`", section, re.MULTILINE)
    assert len(tags) >= 8
    for tag in tags:
        sample = re.sub(r"<[^>]+>", "x", tag)
        route = stream.route_of(sample)
        assert route is not None, tag
        assert stream.may_see("viewer", route), tag


def test_the_sse_message_is_salt_apis_shape_on_one_data_line():
    message = stream.format_event("brine/vm/hv1/a/state", {"text": "two\nlines"})
    lines = message.split("\n")
    assert lines[0] == "tag: brine/vm/hv1/a/state" and lines[1].startswith("data: ")
    assert message.endswith("\n\n") and len(lines) == 4
    assert json.loads(lines[1][len("data: ") :]) == {
        "tag": "brine/vm/hv1/a/state",
        "data": {"text": "two\nlines"},
    }


# -- roles ------------------------------------------------------------------------------------------


def test_the_role_is_the_highest_brine_group():
    assert stream.role_of_groups({"users", "brine-viewer", "brine-operator"}) == "operator"
    assert stream.role_of_groups({"brine-admin", "brine-viewer"}) == "admin"
    assert stream.role_of_groups({"users", "sudo"}) is None


def test_groups_come_from_the_system():
    assert "root" in stream.groups_of("root")
    assert stream.groups_of("no-such-user-brine") == set()
    assert stream.session("no-such-user-brine") == {"user": "no-such-user-brine", "role": None}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, '{"return": [{"user": "ann", "role": "viewer"}]}', (200, {"user": "ann", "role": "viewer"})),
        (200, '{"return": [{"user": "bob", "role": null}]}', (403, None)),
        (200, '{"return": ["Exception occurred in runner cluster.session: ..."]}', (502, None)),
        (200, "<html>", (502, None)),
        (401, "", (401, None)),
        (403, "", (403, None)),
        (500, "", (502, None)),
    ],
)
def test_salt_apis_answer_read_back(status, body, expected):
    assert stream.read_session(status, body) == expected


# -- clients and the hub -----------------------------------------------------------------------------


def test_a_client_that_falls_behind_is_cut_off_once():
    woken = []
    client = stream.Client("ann", "viewer", 2, lambda: woken.append(1))
    assert client.put("a") and client.put("b")
    assert client.put("c") is False
    assert client.overflowed and client.take() == []
    assert client.put("d") is False and len(woken) == 3


def test_the_hub_sends_each_client_what_its_role_sees(monkeypatch):
    operators_only = stream.Route(re.compile(r"brine/secret/(?P<host>\w+)"), "operator", "host", False)
    monkeypatch.setattr(stream, "ROUTES", (*stream.ROUTES, operators_only))
    hub = stream.Hub()
    viewer = hub.join(stream.Client("ann", "viewer", 10))
    operator = hub.join(stream.Client("bob", "operator", 10))
    assert hub.publish("brine/host/hv1/resync", {"host": "hv1"}) == 2
    assert hub.publish("brine/secret/hv1", {"host": "hv1"}) == 1
    assert hub.publish("salt/run/1/ret", {}) == 0
    assert len(viewer.take()) == 1 and len(operator.take()) == 2
    hub.leave(viewer)
    assert hub.publish("brine/host/hv1/resync", {"host": "hv1"}) == 1


def test_drops_are_summed_in_one_line():
    drops = stream.Drops()
    assert drops.summary() is None
    for reason in ("tag names another host", "tag names another host", "payload is not a mapping"):
        drops.add(reason)
    assert drops.summary() == (
        "dropped 3 event(s) the stream does not trust: 1 payload is not a mapping, 2 tag names another host"
    )
    assert drops.summary() is None


# -- the engine over HTTP, with a stand-in salt-api -----------------------------------------------------


def test_the_engine_loads_on_the_master_only(monkeypatch):
    monkeypatch.setattr(engine, "__opts__", {"__role": "minion"}, raising=False)
    assert engine.__virtual__()[0] is False
    monkeypatch.setattr(engine, "__opts__", {"__role": "master"}, raising=False)
    assert engine.__virtual__() == "brine_stream"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeSaltApi(tornado.web.RequestHandler):
    """salt-api's POST / for cluster.session: one good token per role, 401 otherwise."""

    TOKENS = {"tok-viewer": "viewer", "tok-nobody": None}
    calls = []

    def post(self):
        FakeSaltApi.calls.append((self.request.headers.get("X-Auth-Token"), json.loads(self.request.body)))
        token = self.request.headers.get("X-Auth-Token")
        if token not in self.TOKENS:
            self.set_status(401)
            return self.finish("Authentication failed")
        return self.finish({"return": [{"user": "ann", "role": self.TOKENS[token]}]})


@pytest.fixture(scope="module")
def served():
    """The engine's HTTP side on a free port, asking a stand-in salt-api on another."""
    api_port, port = _free_port(), _free_port()
    api_ready = threading.Event()

    def serve_api():
        import asyncio  # pylint: disable=import-outside-toplevel

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        tornado.web.Application([(r"/", FakeSaltApi)]).listen(api_port, address="127.0.0.1")
        api_ready.set()
        loop.run_forever()

    threading.Thread(target=serve_api, daemon=True).start()
    api_ready.wait(10)
    server = engine.StreamServer(f"http://127.0.0.1:{api_port}", queue_size=5, keepalive=0.3)
    ready = threading.Event()
    threading.Thread(target=server.serve, args=("127.0.0.1", port, ready), daemon=True).start()
    assert ready.wait(10) and server.error is None
    return server, f"http://127.0.0.1:{port}/stream"


def _wait(condition, seconds=5):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("headers", "status"), [({}, 401), ({"X-Auth-Token": "bad"}, 401), ({"X-Auth-Token": "tok-nobody"}, 403)]
)
def test_no_stream_without_a_token_salt_api_knows_with_a_role(served, headers, status):
    _, url = served
    response = requests.get(url, headers=headers, timeout=10)
    assert response.status_code == status
    assert "text/event-stream" not in response.headers.get("Content-Type", "")


def test_a_viewer_gets_accepted_events_keepalives_and_is_cut_off_when_behind(served):
    server, url = served
    FakeSaltApi.calls.clear()
    with requests.get(url, headers={"X-Auth-Token": "tok-viewer"}, stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["X-Accel-Buffering"] == "no"
        assert FakeSaltApi.calls == [("tok-viewer", [{"client": "runner", "fun": "cluster.session"}])]
        lines = response.iter_lines(decode_unicode=True)
        assert next(lines).startswith(": Brine's event stream for ann (viewer)")
        _wait(lambda: len(server.hub.clients) == 1)
        assert ": keepalive" in [next(lines) for _ in range(3)]
        server.publish("brine/host/hv1/resync", {"host": "hv1", "reason": "engine started"})
        seen = [next(lines) for _ in range(3)]
        seen = [line for line in seen if line and not line.startswith(":")]
        assert seen[0] == "tag: brine/host/hv1/resync"
        assert json.loads(seen[1][len("data: ") :])["data"]["reason"] == "engine started"
        # Too many at once for a queue of 5: the client is told to resync and the stream ends.
        server.loop.call_soon_threadsafe(
            lambda: [server.hub.publish("brine/host/hv1/resync", {"host": "hv1", "n": n}) for n in range(9)]
        )
        rest = list(lines)
        assert "event: resync" in rest
    _wait(lambda: not server.hub.clients)


INSTALL = {"host": "hv1", "name": "web1", "state": "installing", "progress": 40, "step": "x", "reason": None}


def test_an_install_event_passes_signed_by_its_host_only():
    tag = "brine/vm/hv1/web1/install"
    assert check(tag, from_host("hv1", tag, INSTALL)) == (INSTALL, None)
    unsigned = {"cmd": "_minion_event", "id": "hv1", "tag": tag, "data": INSTALL}
    assert check(tag, unsigned) == (None, "unsigned")
    assert check(tag, from_host("hv1", tag, INSTALL, signer="hv2")) == (None, "bad signature")


NETWORK = {"host": "hv1", "name": "service", "event": "stopped", "active": False}
POOL = {"host": "hv1", "name": "images", "event": "refreshed", "active": True}


@pytest.mark.parametrize(
    ("tag", "payload"),
    [("brine/network/hv1/service/state", NETWORK), ("brine/pool/hv1/images/state", POOL)],
)
def test_network_and_pool_events_pass_signed_by_their_host_to_every_role(tag, payload):
    assert check(tag, from_host("hv1", tag, payload)) == (payload, None)
    assert all(stream.may_see(role, stream.route_of(tag)) for role in stream.ROLES)
    unsigned = {"cmd": "_minion_event", "id": "hv1", "tag": tag, "data": payload}
    assert check(tag, unsigned) == (None, "unsigned")
    assert check(tag, from_host("hv1", tag, payload, signer="hv2")) == (None, "bad signature")
    other = tag.replace("/hv1/", "/hv2/")
    assert check(other, from_host("hv1", other, payload)) == (None, "tag names another host")
    assert check(tag, from_host("hv1", tag, dict(payload, host="hv2"))) == (
        None,
        "payload's host is another host",
    )


@pytest.mark.parametrize(
    "tag",
    [
        "brine/network/hv1/service/job",
        "brine/pool/hv1/images",
        "brine/pool/hv1/a/b/state",
        "brine/volume/hv1/v/state",
    ],
)
def test_only_the_state_of_networks_and_pools_is_served(tag):
    assert stream.route_of(tag) is None


CONTAINER = {
    "host": "hv1",
    "name": "web1",
    "event": "started",
    "container": {"name": "web1", "id": "5d71c7be79d6", "state": "running", "ports": []},
}
IMAGES = {"host": "hv1", "event": "pulled", "ref": "brine-master:5000/brine/hello:1"}


@pytest.mark.parametrize(
    ("tag", "payload"),
    [("brine/container/hv1/web1/state", CONTAINER), ("brine/images/hv1/changed", IMAGES)],
)
def test_container_and_image_events_pass_signed_by_their_host_to_every_role(tag, payload):
    assert check(tag, from_host("hv1", tag, payload)) == (payload, None)
    assert all(stream.may_see(role, stream.route_of(tag)) for role in stream.ROLES)
    unsigned = {"cmd": "_minion_event", "id": "hv1", "tag": tag, "data": payload}
    assert check(tag, unsigned) == (None, "unsigned")
    assert check(tag, from_host("hv1", tag, payload, signer="hv2")) == (None, "bad signature")
    other = tag.replace("/hv1/", "/hv2/")
    assert check(other, from_host("hv1", other, payload)) == (None, "tag names another host")
    assert check(tag, from_host("hv1", tag, dict(payload, host="hv2"))) == (
        None,
        "payload's host is another host",
    )
    # Only the master fires events without cmd, and never these.
    assert check(tag, payload) == (None, "not sent by a host and not one the master fires")


@pytest.mark.parametrize(
    "tag",
    [
        "brine/container/hv1/web1",
        "brine/container/hv1/web1/logs",
        "brine/container/hv1/a/b/state",
        "brine/container/hv1//state",
        "brine/images/hv1",
        "brine/images/hv1/web/changed",
        "brine/image/hv1/changed",
        "brine/containers/hv1/web1/state",
    ],
)
def test_only_a_containers_state_and_a_hosts_images_changing_are_served(tag):
    assert stream.route_of(tag) is None
