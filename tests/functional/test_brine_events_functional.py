"""
The brine_events engine's forwarder against libvirt's in-process ``test:///default`` driver,
which emits domain, network and storage pool lifecycle events and pool refreshes (no migration,
no reboot, no keepalive). ``fire`` is a plain recorder here and ``describe`` and ``active`` the
library's, as the engine's ``start`` wires them; the lab e2e test covers them through Salt.
"""

import threading
import time

import pytest

from brine import host_events
from brine import libvirt_host
from brine import signing
from support import signkeys
from support.loading import load

libvirt = pytest.importorskip("libvirt")


@pytest.fixture(scope="module")
def engine():
    module = load("_engines/brine_events.py", "brine_events_engine")
    module._start_event_loop()  # pylint: disable=protected-access
    return module


def wait_until(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def forwarder(engine, libvirt_conn):  # pylint: disable=unused-argument
    fired = []

    def describe(name):
        return libvirt_host.vm_by_name("test:///default", name)

    def active(kind, name):
        return host_events.object_active("test:///default", kind, name)

    forwarder = engine.EventForwarder(
        "hv-test",
        "test:///default",
        lambda t, d: fired.append((t, d)),
        describe,
        reconnect_min=0.1,
        reconnect_max=0.2,
        active=active,
    )
    thread = threading.Thread(target=forwarder.run, daemon=True)
    thread.start()
    assert wait_until(lambda: any(t == "brine/host/hv-test/resync" for t, _ in fired))
    yield forwarder, fired
    forwarder.stopping.set()
    forwarder.queue.put(("closed", "test over"))
    thread.join(10)


def test_lifecycle_events_are_fired_with_the_vm_state(forwarder, libvirt_conn):
    _, fired = forwarder
    assert fired[0] == ("brine/host/hv-test/resync", {"host": "hv-test", "reason": "engine started"})
    dom = libvirt_conn.lookupByName("test")
    tag = "brine/vm/hv-test/test/state"
    # The VM dict is read when the event is forwarded: wait for each before the next change.
    dom.suspend()
    assert wait_until(lambda: len([t for t, _ in fired if t == tag]) >= 1)
    dom.resume()
    assert wait_until(lambda: len([t for t, _ in fired if t == tag]) >= 2)
    events = [d for t, d in fired if t == tag]
    assert events[0]["event"] == "suspended" and events[0]["detail"] == "paused"
    assert events[0]["state"] == "paused" and events[0]["vm"]["name"] == "test"
    assert events[0]["reason"] == "user" and events[0]["vm"]["uuid"] == dom.UUIDString()
    assert events[1]["event"] == "resumed" and events[1]["state"] == "running"
    assert events[1]["reason"] == "unpaused"


def test_undefined_vm_has_no_vm_dict(forwarder, libvirt_conn):
    _, fired = forwarder
    xml = libvirt_conn.lookupByName("test").XMLDesc(0)
    xml = xml.replace("<name>test</name>", "<name>brine-gone</name>")
    xml = "\n".join(line for line in xml.splitlines() if "<uuid>" not in line)
    libvirt_conn.defineXML(xml).undefine()
    tag = "brine/vm/hv-test/brine-gone/state"
    assert wait_until(lambda: any(t == tag and d["event"] == "undefined" for t, d in fired))
    undefined = next(d for t, d in fired if t == tag and d["event"] == "undefined")
    assert undefined["vm"] is None and undefined["state"] is None
    # A burst for one VM is coalesced to its latest event (the engine's queue): the last word
    # on this VM is that it is gone.
    assert [d["event"] for t, d in fired if t == tag][-1] == "undefined"


@pytest.mark.parametrize("has_key", [True, False])
def test_events_go_out_signed_with_the_minion_key_or_unsigned_without_one(
    engine, libvirt_conn, tmp_path, has_key
):  # pylint: disable=unused-argument
    """As ``start`` wires it: the minion's key from its pki_dir; none there, the engine goes on."""
    if has_key:
        (tmp_path / "minion.pem").write_bytes(signkeys.private_pem("hv-test"))
    fired = []
    fire = signing.minion_sender(lambda t, d: fired.append((t, d)), {"pki_dir": str(tmp_path)})
    forwarder = engine.EventForwarder(
        "hv-test", "test:///default", fire, lambda name: None, reconnect_min=0.1, reconnect_max=0.2
    )
    thread = threading.Thread(target=forwarder.run, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: any(t == "brine/host/hv-test/resync" for t, _ in fired))
        libvirt_conn.lookupByName("test").suspend()
        assert wait_until(lambda: any(t.endswith("/test/state") for t, _ in fired))
        libvirt_conn.lookupByName("test").resume()
        assert wait_until(lambda: len([t for t, _ in fired if t.endswith("/test/state")]) >= 2)
    finally:
        forwarder.stopping.set()
        forwarder.queue.put(("closed", "test over"))
        thread.join(10)
    verifier = signing.Verifier(str(signkeys.accept(tmp_path / "minions", "hv-test")))
    expected = None if has_key else "unsigned"
    assert {verifier.verify("hv-test", t, d) for t, d in fired} == {expected}


def test_a_closed_connection_fires_disconnected_then_resync(forwarder):
    engine_forwarder, fired = forwarder
    # What the close callback queues when libvirtd goes away (the test driver never closes).
    engine_forwarder.queue.put(("closed", "the connection to libvirtd was closed (end of file)"))
    assert wait_until(lambda: any(t == "brine/host/hv-test/disconnected" for t, _ in fired))
    assert wait_until(
        lambda: any(
            t == "brine/host/hv-test/resync" and d["reason"].startswith("reconnected") for t, d in fired
        )
    )
    tags = [t for t, _ in fired]
    assert tags.index("brine/host/hv-test/disconnected") < len(tags) - 1


def _events(fired, tag):
    return [(data["event"], data["active"]) for t, data in fired if t == tag]


def test_network_lifecycle_events_are_fired_with_whether_it_is_active(forwarder, libvirt_conn):
    _, fired = forwarder
    tag = "brine/network/hv-test/brine-ev-net/state"
    xml = "<network><name>brine-ev-net</name><ip address='192.168.233.1' netmask='255.255.255.0'/></network>"
    # Each change waits for its event: a burst for one network is coalesced to its latest event.
    steps = [
        (lambda: libvirt_conn.networkDefineXML(xml), ("defined", False)),
        (lambda: libvirt_conn.networkLookupByName("brine-ev-net").create(), ("started", True)),
        (lambda: libvirt_conn.networkLookupByName("brine-ev-net").destroy(), ("stopped", False)),
        (lambda: libvirt_conn.networkLookupByName("brine-ev-net").undefine(), ("undefined", False)),
    ]
    for count, (change, expected) in enumerate(steps, start=1):
        change()
        assert wait_until(lambda count=count: len(_events(fired, tag)) >= count), _events(fired, tag)
        assert _events(fired, tag)[-1] == expected
    data = next(d for t, d in fired if t == tag)
    assert data == {"host": "hv-test", "name": "brine-ev-net", "event": "defined", "active": False}


def test_pool_lifecycle_and_refresh_events_are_fired_with_whether_it_is_active(forwarder, libvirt_conn):
    _, fired = forwarder
    tag = "brine/pool/hv-test/brine-ev-pool/state"
    xml = "<pool type='dir'><name>brine-ev-pool</name><target><path>/brine-ev-pool</path></target></pool>"

    def pool():
        return libvirt_conn.storagePoolLookupByName("brine-ev-pool")

    steps = [
        (lambda: libvirt_conn.storagePoolDefineXML(xml), ("defined", False)),
        (lambda: pool().build(0), ("created", False)),
        (lambda: pool().create(0), ("started", True)),
        (lambda: pool().refresh(0), ("refreshed", True)),
        (lambda: pool().destroy(), ("stopped", False)),
        (lambda: pool().undefine(), ("undefined", False)),
    ]
    for count, (change, expected) in enumerate(steps, start=1):
        change()
        assert wait_until(lambda count=count: len(_events(fired, tag)) >= count), _events(fired, tag)
        assert _events(fired, tag)[-1] == expected
