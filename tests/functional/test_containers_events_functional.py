"""
The brine_containers engine's forwarder against a REAL Docker engine (the ``docker_engine``
fixture: Debian's dockerd and docker-registry in a network namespace of their own). The forwarder
runs as ``start`` wires it (the library's connect and describe, events signed with a minion key),
only ``event.send`` is a recorder. It reaches the engine through a socket proxy of the test's, so
the test can take Docker away (the socket closes and disappears) and bring it back.
"""

import json
import os
import socket
import threading
import time

import pytest

from brine import signing
from support import dockerd
from support import signkeys
from support.loading import load

HOST = "hv-ctest"
SECRET = "hunter2-never-in-an-event"


def wait_until(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class SocketProxy:
    """A unix socket in front of the engine's: closed and removed by ``stop``, back with ``start``."""

    def __init__(self, path, target):
        self.path, self.target = str(path), str(target)
        self.server = None
        self.open = []
        self.lock = threading.Lock()

    def start(self):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(self.path)
        server.listen(16)
        self.server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return self

    def _accept(self, server):
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            with self.lock:
                self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def stop(self):
        """Docker goes away: nothing listens, the socket file is gone, open connections end."""
        self.server.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
        self.server.close()
        os.unlink(self.path)
        with self.lock:
            for conn in self.open:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self.open = []


@pytest.fixture(scope="module")
def engine():
    return load("_engines/brine_containers.py", "brine_containers_functional")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    pki = tmp_path_factory.mktemp("pki")
    (pki / "minion.pem").write_bytes(signkeys.private_pem(HOST))
    return pki


@pytest.fixture
def proxy(docker_engine, tmp_path):
    one = SocketProxy(tmp_path / "docker.sock", docker_engine.socket)
    yield one
    if one.server is not None and os.path.exists(one.path):
        one.stop()


@pytest.fixture
def follow(engine, keys, docker_engine, proxy):
    """Start a forwarder on the proxy's URL (``start_proxy=False``: with no socket there yet)."""
    runs = []

    def begin(start_proxy=True):
        fired = []
        fire = signing.minion_sender(lambda tag, data: fired.append((tag, data)), {"pki_dir": str(keys)})
        forwarder = engine.ContainerForwarder(
            HOST, f"unix://{proxy.path}", fire, reconnect_min=0.1, reconnect_max=0.5, absent_wait=0.3
        )
        if start_proxy:
            proxy.start()
        thread = threading.Thread(target=forwarder.run, daemon=True)
        thread.start()
        runs.append((forwarder, thread))
        if start_proxy:
            assert wait_until(lambda: resyncs(fired))
        return forwarder, fired

    yield begin
    for forwarder, thread in runs:
        forwarder.stop()
        thread.join(10)
        assert not thread.is_alive()
    docker_engine.cleanup()


def public(data):
    return signing.public(data)


def resyncs(fired):
    return [public(d) for t, d in fired if t == f"brine/host/{HOST}/resync"]


def about(fired, name):
    """The payloads of ``name``'s container events, oldest first."""
    return [public(d) for t, d in fired if t == f"brine/container/{HOST}/{name}/state"]


def words(fired, name):
    return [d["event"] for d in about(fired, name)]


def images(fired):
    return [public(d) for t, d in fired if t == f"brine/images/{HOST}/changed"]


def is_subsequence(part, whole):
    rest = iter(whole)
    return all(word in rest for word in part)


def settle(fired, name, last, seen):
    """Wait for ``name``'s events to end in ``last``; the words since ``seen`` of them."""
    assert wait_until(lambda: words(fired, name)[seen:][-1:] == [last]), words(fired, name)
    time.sleep(0.3)  # nothing else follows
    return words(fired, name)[seen:]


def test_a_containers_life_is_followed_event_by_event(follow, docker_engine):
    _forwarder, fired = follow()
    assert resyncs(fired) == [{"host": HOST, "reason": "engine started"}]
    client = docker_engine.client()
    made = client.create_container(
        dockerd.LOCAL,
        name="ev-web",
        ports=[80],
        environment={"DB_PASSWORD": SECRET},
        labels={"site.secret": SECRET},
        host_config=client.create_host_config(port_bindings={80: 18080}),
    )
    assert settle(fired, "ev-web", "created", 0) == ["created"]
    created = about(fired, "ev-web")[0]
    assert created["host"] == HOST and created["name"] == "ev-web"
    assert created["container"]["state"] == "created" and created["container"]["id"] == made["Id"][:12]
    client.start(made)
    assert settle(fired, "ev-web", "started", 1) == ["started"]
    running = about(fired, "ev-web")[-1]["container"]
    assert running["state"] == "running" and running["image"] == dockerd.LOCAL
    assert running["ports"] == [
        {"host_port": 18080, "container_port": 80, "protocol": "tcp", "bind": "0.0.0.0"}
    ]
    assert running["managed"] is False and running["exit_code"] is None
    client.pause(made)
    assert settle(fired, "ev-web", "paused", 2) == ["paused"]
    assert about(fired, "ev-web")[-1]["container"]["state"] == "paused"
    client.unpause(made)
    assert settle(fired, "ev-web", "unpaused", 3) == ["unpaused"]
    assert about(fired, "ev-web")[-1]["container"]["state"] == "running"
    client.restart(made, timeout=1)
    # Docker's restart is kill, die, stop, start, restart; consecutive words may wait as one.
    restarted = settle(fired, "ev-web", "restarted", 4)
    assert restarted[-1] == "restarted" and is_subsequence(
        restarted, ["died", "stopped", "started", "restarted"]
    )
    assert about(fired, "ev-web")[-1]["container"]["state"] == "running"
    seen = len(words(fired, "ev-web"))
    client.stop(made, timeout=1)  # the image's shell traps SIGTERM and exits 0
    # kill is not forwarded; die and stop may arrive close enough to wait as one (the latest).
    assert settle(fired, "ev-web", "stopped", seen) in (["died", "stopped"], ["stopped"])
    stopped = about(fired, "ev-web")[-1]["container"]
    # The event's dict carries the exit code Docker recorded.
    recorded = client.inspect_container(made)["State"]["ExitCode"]
    assert stopped["state"] == "exited" and stopped["exit_code"] == recorded == 0
    seen = len(words(fired, "ev-web"))
    client.rename(made, "ev-web2")
    # The old name has no container any more, the new one has it.
    assert settle(fired, "ev-web", "renamed", seen) == ["renamed"]
    assert about(fired, "ev-web")[-1]["container"] is None
    assert settle(fired, "ev-web2", "renamed", 0) == ["renamed"]
    assert about(fired, "ev-web2")[-1]["container"]["name"] == "ev-web2"
    client.remove_container(made)
    assert settle(fired, "ev-web2", "removed", 1) == ["removed"]
    assert about(fired, "ev-web2")[-1] == {
        "host": HOST,
        "name": "ev-web2",
        "event": "removed",
        "container": None,
    }
    # Nothing of the environment or the labels, whatever Docker put in its events.
    assert SECRET not in json.dumps(fired)
    assert {t.split("/")[1] for t, _ in fired} == {"host", "container"}


def test_a_container_that_exits_on_its_own_died_with_its_exit_code(follow, docker_engine):
    _forwarder, fired = follow()
    client = docker_engine.client()
    made = client.create_container(
        dockerd.LOCAL, name="ev-exit", command=["/bin/sh", "-c", "sleep 1; exit 3"]
    )
    assert settle(fired, "ev-exit", "created", 0) == ["created"]
    client.start(made)
    assert settle(fired, "ev-exit", "died", 1) == ["started", "died"]
    died = about(fired, "ev-exit")[-1]["container"]
    assert died["state"] == "exited" and died["exit_code"] == 3


def test_a_pulled_and_removed_image_is_announced(follow, docker_engine):
    _forwarder, fired = follow()
    client = docker_engine.client()
    client.pull(dockerd.REGISTRY_ONLY)
    assert wait_until(lambda: images(fired))
    time.sleep(0.3)
    assert images(fired) == [{"host": HOST, "event": "pulled", "ref": dockerd.REGISTRY_ONLY}]
    short = client.inspect_image(dockerd.REGISTRY_ONLY)["Id"].split(":")[1][:12]
    client.remove_image(dockerd.REGISTRY_ONLY)
    assert wait_until(lambda: images(fired)[-1]["event"] == "removed")
    time.sleep(0.3)
    # Docker untags, then deletes: both name the image by its ID, so they may wait as one.
    assert [(d["event"], d["ref"]) for d in images(fired)[1:]] in (
        [("untagged", short), ("removed", short)],
        [("removed", short)],
    )


def test_events_are_signed_with_the_minion_key(follow, docker_engine, keys):
    _forwarder, fired = follow()
    client = docker_engine.client()
    made = client.create_container(dockerd.LOCAL, name="ev-signed")
    client.remove_container(made)
    assert wait_until(lambda: words(fired, "ev-signed")[-1:] == ["removed"])
    verifier = signing.Verifier(str(signkeys.accept(keys / "minions", HOST)))
    assert {verifier.verify(HOST, tag, data) for tag, data in fired} == {None}


def test_docker_going_away_and_coming_back_is_a_resync_and_events_flow_again(follow, docker_engine, proxy):
    forwarder, fired = follow()
    proxy.stop()
    # The stream ended and there is no socket: the forwarder waits, quietly, sending nothing.
    assert wait_until(lambda: forwarder.events is None and forwarder.condition == "none")
    time.sleep(1)
    assert len(fired) == 1
    proxy.start()
    assert wait_until(lambda: len(resyncs(fired)) == 2)
    assert resyncs(fired)[1]["reason"].startswith("reconnected to Docker after ")
    made = docker_engine.client().create_container(dockerd.LOCAL, name="ev-back")
    assert settle(fired, "ev-back", "created", 0) == ["created"]
    assert about(fired, "ev-back")[0]["container"]["id"] == made["Id"][:12]


def test_a_host_whose_engine_appears_later_waits_for_it(follow, proxy):
    forwarder, fired = follow(start_proxy=False)
    assert wait_until(lambda: forwarder.condition == "none")
    time.sleep(1)
    assert fired == []
    proxy.start()
    assert wait_until(lambda: resyncs(fired) == [{"host": HOST, "reason": "engine started"}])
