"""
The brine_containers engine without Docker: how ``start`` wires it (URL, signing), the reader's
connections (no socket: a long quiet wait; no answer: backoff; a stream that ends: reconnect and
resync) and the worker (describe when sent, coalescing, nothing of Docker's attributes). The
words, tags and payloads are the library's (test_container_events.py); the real engine is in
tests/functional/test_containers_events_functional.py.
"""

import logging
from unittest import mock

import pytest

from brine import container_events
from brine import signing
from support import signkeys
from support.loading import load

engine = load("_engines/brine_containers.py", "brine_containers_unit")


def docker_event(action, name="web1", kind="container", actor="5aeb7b1cb044" * 5):
    return {
        "Type": kind,
        "Action": action,
        "Actor": {"ID": actor, "Attributes": {"name": name, "db_password": "hunter2"}},
        "time": 1796008535,
    }


class Stream:
    """A stand-in for docker's CancellableStream: the events, then the end."""

    def __init__(self, events, on_end=None):
        self.events = list(events)
        self.on_end = on_end
        self.closed = False

    def __iter__(self):
        yield from self.events
        if self.on_end:
            self.on_end()

    def close(self):
        self.closed = True


class Client:
    def __init__(self, stream):
        self.stream = stream
        self.asked = []
        self.closed = False

    def events(self, **kwargs):
        self.asked.append(kwargs)
        return self.stream

    def close(self):
        self.closed = True


class Stop:
    """A stand-in for the forwarder's ``stopping`` event: records each wait, set after ``after`` waits."""

    def __init__(self, after):
        self.after = after
        self.waits = []
        self.flag = False

    def is_set(self):
        return self.flag

    def set(self):
        self.flag = True

    def wait(self, seconds):
        self.waits.append(seconds)
        if len(self.waits) >= self.after:
            self.flag = True
        return self.flag


@pytest.fixture
def socket_url(tmp_path):
    path = tmp_path / "docker.sock"
    path.touch()
    return f"unix://{path}"


def forwarder(url="unix:///nowhere/docker.sock", connect=None, describe=None, fired=None, **kwargs):
    fired = [] if fired is None else fired
    return engine.ContainerForwarder(
        "hv2",
        url,
        lambda tag, data: fired.append((tag, data)),
        connect=connect or mock.Mock(side_effect=AssertionError("no connection expected")),
        describe=describe or (lambda client, name: None),
        **kwargs,
    )


def drain(one):
    """What the worker does, without its thread: handle every queued item."""
    while one.queue.qsize():
        one.handle(one.queue.get_nowait())
        one._resync_if_dropped()  # pylint: disable=protected-access


# -- start: configuration and signing ---------------------------------------------------------------


def _start(monkeypatch, opts=None, config=None, sent=None, **kwargs):
    monkeypatch.setattr(engine, "__opts__", dict(opts or {}, id="hv2"), raising=False)
    monkeypatch.setattr(engine, "__grains__", {}, raising=False)
    salt = {
        "config.get": (config or {}).get,
        "event.send": lambda tag, data: (sent if sent is not None else []).append((tag, data)),
    }
    monkeypatch.setattr(engine, "__salt__", salt, raising=False)
    with mock.patch.object(engine, "ContainerForwarder", autospec=True) as made:
        engine.start(**kwargs)
    made.return_value.run.assert_called_once_with()
    return made.call_args


@pytest.mark.parametrize(
    ("config", "kwargs", "url"),
    [
        ({}, {}, "unix:///run/docker.sock"),
        ({"docker.url": "unix:///srv/lab/hv2/docker.sock"}, {}, "unix:///srv/lab/hv2/docker.sock"),
        ({"docker.url": "unix:///a.sock"}, {"url": "tcp://127.0.0.1:2375"}, "tcp://127.0.0.1:2375"),
    ],
)
def test_start_follows_the_configured_engine(monkeypatch, config, kwargs, url):
    call = _start(monkeypatch, config=config, **kwargs)
    assert call.args[:2] == ("hv2", url)


def test_start_passes_the_engines_settings(monkeypatch):
    call = _start(monkeypatch, reconnect_min=2, reconnect_max=20, absent_wait=120, queue_size=7)
    assert call.kwargs == {"reconnect_min": 2, "reconnect_max": 20, "absent_wait": 120, "queue_size": 7}


def test_start_signs_every_event_with_the_minion_key(monkeypatch, tmp_path):
    (tmp_path / "minion.pem").write_bytes(signkeys.private_pem("hv2"))
    sent = []
    fire = _start(monkeypatch, opts={"pki_dir": str(tmp_path)}, sent=sent).args[2]
    fire("brine/container/hv2/web1/state", container_events.container_data("hv2", "web1", "removed", None))
    fire("brine/images/hv2/changed", container_events.image_data("hv2", "pulled", "brine/hello:1"))
    verifier = signing.Verifier(str(signkeys.accept(tmp_path / "minions", "hv2")))
    assert [verifier.verify("hv2", tag, data) for tag, data in sent] == [None, None]


def test_the_engine_needs_the_docker_sdk(monkeypatch):
    assert engine.__virtual__() == "brine_containers"
    monkeypatch.setattr(engine, "HAS_DOCKER", False)
    assert engine.__virtual__()[0] is False


def test_the_library_connects_and_describes_by_default():
    one = engine.ContainerForwarder("hv2", "unix:///run/docker.sock", lambda t, d: None)
    assert one.connect is engine.docker_host.connect and one.describe is engine.docker_host.describe


# -- the reader ---------------------------------------------------------------------------------------


def test_without_a_socket_the_engine_waits_longer_and_longer_quietly_and_says_so_once(caplog):
    one = forwarder(reconnect_max=4, absent_wait=10)
    one.stopping = Stop(after=6)
    with caplog.at_level(logging.DEBUG, logger=engine.log.name):
        one.read()
    # Quick at first (Docker removes its socket while it restarts), then at most absent_wait.
    assert one.stopping.waits == [1, 2, 4, 8, 10, 10]
    one.connect.assert_not_called()
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(loud) == 1 and "no Docker socket at /nowhere/docker.sock" in loud[0].getMessage()
    assert one.queue.qsize() == 0


def test_an_engine_that_does_not_answer_is_retried_with_a_growing_pause_and_one_warning(socket_url, caplog):
    connect = mock.Mock(side_effect=engine.docker_host.Refused("docker_unavailable", "no answer"))
    one = forwarder(socket_url, connect=connect, reconnect_min=1, reconnect_max=8)
    one.stopping = Stop(after=6)
    with caplog.at_level(logging.DEBUG, logger=engine.log.name):
        one.read()
    assert one.stopping.waits == [1, 2, 4, 8, 8, 8]
    assert connect.call_count == 6
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def test_a_pause_of_zero_is_never_configured_into_a_busy_loop(socket_url):
    one = forwarder(
        socket_url, connect=mock.Mock(side_effect=OSError("refused")), reconnect_min=0, absent_wait=0
    )
    one.stopping = Stop(after=3)
    one.read()
    assert all(seconds > 0 for seconds in one.stopping.waits)
    assert one.absent_wait > 0


def test_each_connection_follows_containers_and_images_from_now_and_announces_itself(socket_url, monkeypatch):
    monkeypatch.setattr(engine.time, "time", lambda: 1796008000.5)
    first = Client(Stream([docker_event("create"), docker_event("start"), docker_event("exec_create: env")]))
    second = Client(Stream([docker_event("pull", "brine/hello", kind="image", actor="brine/hello:1")]))
    clients = [first, second]
    one = forwarder(socket_url, connect=mock.Mock(side_effect=lambda url: clients.pop(0)))
    one.stopping = Stop(after=2)
    one.read()
    assert [call.args for call in one.connect.call_args_list] == [(socket_url,), (socket_url,)]
    for client in (first, second):
        assert client.asked == [
            {"decode": True, "since": 1796008000.5, "filters": {"type": ["container", "image"]}}
        ]
        assert client.closed and client.stream.closed
    items = [one.queue.get_nowait() for _ in range(one.queue.qsize())]
    assert items[0] == ("resync", items[0][1]) and items[1:3] == [
        ("container", "web1", "started"),
        ("image", "brine/hello:1", "pulled"),
    ]
    # The second connection's resync replaced the first's waiting one: its reason is the last.
    assert items[0][1].startswith("reconnected to Docker after ")


def test_the_first_connection_is_announced_as_the_engine_starting(socket_url):
    one = forwarder(socket_url, connect=lambda url: Client(Stream([])))
    one.stopping = Stop(after=1)
    one.read()
    assert one.queue.get_nowait() == ("resync", "engine started")


def test_a_stream_that_keeps_ending_at_once_is_reopened_with_backoff(socket_url):
    one = forwarder(socket_url, connect=lambda url: Client(Stream([])), reconnect_min=1, reconnect_max=4)
    one.stopping = Stop(after=5)
    one.read()
    assert one.stopping.waits == [1, 2, 4, 4, 4]


def test_a_stream_that_fails_is_reopened(socket_url, caplog):
    def broken():
        raise ValueError("not JSON")

    one = forwarder(socket_url, connect=lambda url: Client(Stream([docker_event("start")], on_end=broken)))
    one.stopping = Stop(after=1)
    with caplog.at_level(logging.INFO, logger=engine.log.name):
        one.read()
    assert "Docker's event stream failed (not JSON); reconnecting" in caplog.text
    assert one.queue.qsize() == 2


def test_stop_closes_the_open_stream_under_the_reader(socket_url):
    one = forwarder(socket_url)
    stream = Stream([])
    one.events = stream
    one.stop()
    assert stream.closed and one.stopping.is_set()
    assert one.queue.get_nowait() == engine.STOP


def test_run_ends_its_worker_and_closes_its_connection(socket_url):
    client = Client(Stream([docker_event("start")]))
    fired = []
    one = forwarder(
        socket_url,
        connect=lambda url: client,
        describe=lambda c, name: {"name": name, "state": "running"},
        fired=fired,
    )
    client.stream.on_end = one.stop
    one.run()
    assert [tag for tag, _ in fired] == ["brine/host/hv2/resync", "brine/container/hv2/web1/state"]
    assert client.closed and one.client is None


# -- the worker -----------------------------------------------------------------------------------


def test_a_container_is_described_when_its_event_is_sent_and_only_the_contracts_keys_go():
    described = []

    def describe(client, name):
        described.append((client, name))
        return {
            "name": name,
            "state": "paused",
            "environment": {"DB_PASSWORD": "hunter2"},
            "labels": {"a": "b"},
        }

    client = Client(Stream([]))
    fired = []
    one = forwarder(connect=mock.Mock(return_value=client), describe=describe, fired=fired)
    for action in ("create", "start", "pause"):
        for item in container_events.items(docker_event(action)):
            one.queue.put(item)
    drain(one)
    assert described == [(client, "web1")]
    ((tag, data),) = fired
    assert tag == "brine/container/hv2/web1/state"
    assert data["event"] == "paused" and data["container"]["state"] == "paused"
    assert "hunter2" not in repr(fired) and "labels" not in data["container"]
    # The same connection serves the next describe.
    one.queue.put(("container", "web2", "started"))
    drain(one)
    one.connect.assert_called_once()


def test_a_removed_container_is_not_described():
    fired = []
    one = forwarder(fired=fired, describe=mock.Mock(side_effect=AssertionError("no describe")))
    one.queue.put(("container", "web1", "removed"))
    drain(one)
    assert fired == [
        (
            "brine/container/hv2/web1/state",
            {"host": "hv2", "name": "web1", "event": "removed", "container": None},
        )
    ]


def test_a_container_that_cannot_be_described_is_not_called_gone_the_ui_resyncs_instead():
    fired = []
    client = Client(Stream([]))
    describe = mock.Mock(side_effect=[OSError("engine went away"), {"name": "web1", "state": "running"}])
    one = forwarder(connect=mock.Mock(return_value=client), describe=describe, fired=fired)
    one.queue.put(("container", "web1", "started"))
    drain(one)
    assert fired == [
        (
            "brine/host/hv2/resync",
            {"host": "hv2", "reason": "could not describe the container web1: engine went away"},
        )
    ]
    assert client.closed and one.client is None
    one.queue.put(("container", "web1", "started"))
    drain(one)
    assert fired[-1][1]["container"] == {
        **dict.fromkeys(container_events.CONTAINER_KEYS),
        "name": "web1",
        "state": "running",
    }
    assert one.connect.call_count == 2


def test_an_image_event_and_a_resync_are_sent_as_they_are():
    fired = []
    one = forwarder(fired=fired)
    one.queue.put(("image", "127.0.0.1:5999/brine/hello:1", "pulled"))
    one.queue.put(("resync", "engine started"))
    drain(one)
    assert fired == [
        (
            "brine/images/hv2/changed",
            {"host": "hv2", "event": "pulled", "ref": "127.0.0.1:5999/brine/hello:1"},
        ),
        ("brine/host/hv2/resync", {"host": "hv2", "reason": "engine started"}),
    ]


def test_a_full_queue_drops_new_containers_and_asks_the_ui_to_resync():
    fired = []
    one = forwarder(fired=fired, queue_size=2, describe=lambda client, name: None)
    one.connect = mock.Mock(return_value=Client(Stream([])))
    for name in ("web1", "web2", "web3", "web4"):
        one.queue.put(("container", name, "removed"))
    one.queue.put(("resync", "engine started"))
    drain(one)
    assert [tag for tag, _ in fired] == [
        "brine/container/hv2/web1/state",
        "brine/host/hv2/resync",
        "brine/container/hv2/web2/state",
        "brine/host/hv2/resync",
    ]
    assert fired[1][1]["reason"] == "2 event(s) dropped: the engine's queue was full"


def test_a_failing_fire_does_not_stop_the_worker(caplog):
    one = engine.ContainerForwarder("hv2", "unix:///x", mock.Mock(side_effect=[RuntimeError("bus"), None]))
    one.queue.put(("resync", "engine started"))
    one.queue.put(("image", "brine/web:1", "tagged"))
    drain(one)
    assert one.fire.call_count == 2 and "could not fire brine/host/hv2/resync" in caplog.text
