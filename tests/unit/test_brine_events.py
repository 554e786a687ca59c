"""
The brine_events engine: backoff, what it registers with libvirt, its bounded, coalescing queue
and its worker. The events' words, tags and payloads are the library's (test_host_events.py).
"""

from unittest import mock

import pytest

from brine import signing
from support import signkeys
from support.loading import load

pytest.importorskip("libvirt")

engine = load("_engines/brine_events.py", "brine_events_unit")
libvirt = engine.libvirt


def test_backoff_doubles_up_to_the_maximum():
    delays, delay = [], 0
    for _ in range(7):
        delay = engine.next_backoff(delay, 1, 30)
        delays.append(delay)
    assert delays == [1, 2, 4, 8, 16, 30, 30]


def test_start_describes_vms_with_the_library_not_through_the_hypervisor_module(monkeypatch):
    """The engine needs Brine's library only: it builds the VM dict as vm_info does."""
    monkeypatch.setattr(engine, "__opts__", {"id": "hv1"}, raising=False)
    monkeypatch.setattr(engine, "__grains__", {}, raising=False)
    monkeypatch.setattr(engine, "__salt__", {"config.get": lambda key: "test:///default"}, raising=False)
    with (
        mock.patch.object(engine, "_start_event_loop", autospec=True),
        mock.patch.object(engine, "EventForwarder", autospec=True) as forwarder,
        mock.patch.object(engine.libvirt_host, "vm_by_name", autospec=True) as vm_by_name,
    ):
        engine.start()
        host, uri, _fire, describe = forwarder.call_args.args[:4]
        assert (host, uri) == ("hv1", "test:///default")
        assert describe("lab-vm1") is vm_by_name.return_value
    vm_by_name.assert_called_once_with("test:///default", "lab-vm1")


def _started_fire(monkeypatch, opts, sent):
    """The ``fire`` that ``start`` gives the forwarder, with ``event.send`` recording."""
    monkeypatch.setattr(engine, "__opts__", dict(opts, id="hv1"), raising=False)
    monkeypatch.setattr(engine, "__grains__", {}, raising=False)
    salt = {"config.get": lambda key: None, "event.send": lambda tag, data: sent.append((tag, data))}
    monkeypatch.setattr(engine, "__salt__", salt, raising=False)
    with (
        mock.patch.object(engine, "_start_event_loop", autospec=True),
        mock.patch.object(engine, "EventForwarder", autospec=True) as forwarder,
    ):
        engine.start()
    return forwarder.call_args.args[2]


def test_start_signs_every_event_with_the_minion_key(monkeypatch, tmp_path):
    (tmp_path / "minion.pem").write_bytes(signkeys.private_pem("hv1"))
    sent = []
    fire = _started_fire(monkeypatch, {"pki_dir": str(tmp_path)}, sent)
    fire("brine/host/hv1/resync", {"host": "hv1", "reason": "engine started"})
    verifier = signing.Verifier(str(signkeys.accept(tmp_path / "minions", "hv1")))
    assert [verifier.verify("hv1", tag, data) for tag, data in sent] == [None]


def test_start_without_a_minion_key_logs_an_error_and_keeps_sending(monkeypatch, tmp_path, caplog):
    sent = []
    fire = _started_fire(monkeypatch, {"pki_dir": str(tmp_path)}, sent)
    with caplog.at_level("ERROR"):
        fire("brine/host/hv1/resync", {"host": "hv1", "reason": "engine started"})
    assert sent == [("brine/host/hv1/resync", {"host": "hv1", "reason": "engine started"})]
    assert "cannot sign Brine's events" in caplog.text and "minion.pem" in caplog.text


# -- the queue: bounded, coalescing per VM ---------------------------------------------------


def _dom(name):
    dom = mock.Mock()
    dom.name.return_value = name
    return dom


def _drain(forwarder):
    """What the worker does, without a libvirt connection: handle every queued item."""
    while True:
        try:
            item = forwarder.queue.get_nowait()
        except engine.queue.Empty:
            return
        forwarder.handle(item)
        forwarder._resync_if_dropped()  # pylint: disable=protected-access


def test_a_burst_of_state_events_for_one_vm_waits_as_one_with_the_latest_words():
    events = engine.EventQueue(size=10)
    for code in range(100):
        events.put(("state", "lab-vm1", "suspended" if code % 2 else "resumed", f"d{code}"))
    events.put(("state", "lab-vm2", "started", "booted"))
    events.put(("state", "lab-vm1", "stopped", "destroyed"))
    assert events.qsize() == 2
    # A VM keeps its place in the line: the first event of the burst set it.
    assert events.get_nowait() == ("state", "lab-vm1", "stopped", "destroyed")
    assert events.get_nowait() == ("state", "lab-vm2", "started", "booted")
    with pytest.raises(engine.queue.Empty):
        events.get(timeout=0.01)


def test_job_events_coalesce_per_vm_and_kind():
    events = engine.EventQueue(size=10)
    for iteration in range(1, 6):
        events.put(("job", "lab-vm1", "migration_iteration", {"iteration": iteration}))
    events.put(("job", "lab-vm1", "job_completed", {"stats": {"success": True}}))
    events.put(("state", "lab-vm1", "suspended", "migrated"))
    assert [events.get_nowait() for _ in range(events.qsize())] == [
        ("job", "lab-vm1", "migration_iteration", {"iteration": 5}),
        ("job", "lab-vm1", "job_completed", {"stats": {"success": True}}),
        ("state", "lab-vm1", "suspended", "migrated"),
    ]


def test_the_queue_is_bounded_counts_what_it_drops_and_always_takes_a_close_notice():
    events = engine.EventQueue(size=3)
    for number in range(5):
        events.put(("state", f"vm{number}", "started", "booted"))
    events.put(("state", "vm0", "stopped", "destroyed"))  # a waiting VM still updates
    events.put(("closed", "gone"))
    assert events.qsize() == 4
    assert events.take_dropped() == 2
    assert events.take_dropped() == 0
    assert [events.get_nowait()[1] for _ in range(4)] == ["vm0", "vm1", "vm2", "gone"]


def test_the_worker_sends_the_latest_state_once_and_a_resync_when_events_were_dropped():
    fired = []
    states = {"lab-vm1": "paused"}
    forwarder = engine.EventForwarder(
        "hv1",
        "test:///default",
        lambda tag, data: fired.append((tag, data)),
        lambda name: {"name": name, "state": states.get(name, "running"), "reason": "unknown"},
        queue_size=2,
    )
    started, suspended = 2, 3  # libvirt's VIR_DOMAIN_EVENT_STARTED, _SUSPENDED
    for _ in range(50):
        forwarder._on_lifecycle(None, _dom("lab-vm1"), started, 0, None)  # pylint: disable=protected-access
        forwarder._on_lifecycle(None, _dom("lab-vm1"), suspended, 0, None)  # pylint: disable=protected-access
    for name in ("lab-vm2", "lab-vm3", "lab-vm4"):
        forwarder._on_lifecycle(None, _dom(name), started, 0, None)  # pylint: disable=protected-access
    _drain(forwarder)
    assert [tag for tag, _ in fired] == [
        "brine/vm/hv1/lab-vm1/state",
        "brine/host/hv1/resync",
        "brine/vm/hv1/lab-vm2/state",
    ]
    assert fired[0][1]["event"] == "suspended" and fired[0][1]["state"] == "paused"
    assert fired[1][1] == {"host": "hv1", "reason": "2 event(s) dropped: the engine's queue was full"}


def test_start_passes_the_queue_size(monkeypatch):
    monkeypatch.setattr(engine, "__opts__", {"id": "hv1"}, raising=False)
    monkeypatch.setattr(engine, "__grains__", {}, raising=False)
    monkeypatch.setattr(engine, "__salt__", {"config.get": lambda key: None}, raising=False)
    with (
        mock.patch.object(engine, "_start_event_loop", autospec=True),
        mock.patch.object(engine, "EventForwarder", autospec=True) as forwarder,
    ):
        engine.start(queue_size=7)
    assert forwarder.call_args.args[-1] == 7


# -- networks and storage pools ----------------------------------------------------------------


def _named(name):
    obj = mock.Mock()
    obj.name.return_value = name
    return obj


def test_network_and_pool_events_wait_as_one_per_object_with_the_latest_word():
    forwarder = engine.EventForwarder("hv1", "test:///default", lambda t, d: None, lambda name: None)
    defined, started, stopped = 0, 2, 3  # libvirt's VIR_NETWORK_EVENT_* and VIR_STORAGE_POOL_EVENT_*
    for _ in range(20):
        forwarder._on_network(None, _named("service"), started, 0, None)  # pylint: disable=protected-access
        forwarder._on_network(None, _named("service"), stopped, 0, None)  # pylint: disable=protected-access
    forwarder._on_network(None, _named("backend"), defined, 0, None)  # pylint: disable=protected-access
    forwarder._on_pool(None, _named("service"), defined, 0, None)  # pylint: disable=protected-access
    forwarder._on_pool(None, _named("service"), started, 0, None)  # pylint: disable=protected-access
    forwarder._on_pool_refresh(None, _named("service"), None)  # pylint: disable=protected-access
    forwarder._on_lifecycle(None, _dom("service"), started, 0, None)  # pylint: disable=protected-access
    events = forwarder.queue
    assert [events.get_nowait() for _ in range(events.qsize())] == [
        ("network", "service", "stopped"),
        ("network", "backend", "defined"),
        ("pool", "service", "refreshed"),
        ("state", "service", "started", "booted"),
    ]


def test_the_worker_sends_network_and_pool_events_with_whether_they_are_active():
    fired, asked = [], []

    def active(kind, name):
        asked.append((kind, name))
        if name == "broken":
            raise RuntimeError("libvirtd went away")
        return kind == "pool"

    forwarder = engine.EventForwarder(
        "hv1", "test:///default", lambda t, d: fired.append((t, d)), lambda name: None, active=active
    )
    forwarder.queue.put(("network", "service", "stopped"))
    forwarder.queue.put(("pool", "images", "refreshed"))
    forwarder.queue.put(("network", "broken", "started"))
    _drain(forwarder)
    assert fired == [
        (
            "brine/network/hv1/service/state",
            {"host": "hv1", "name": "service", "event": "stopped", "active": False},
        ),
        (
            "brine/pool/hv1/images/state",
            {"host": "hv1", "name": "images", "event": "refreshed", "active": True},
        ),
        (
            "brine/network/hv1/broken/state",
            {"host": "hv1", "name": "broken", "event": "started", "active": None},
        ),
    ]
    assert asked == [("network", "service"), ("pool", "images"), ("network", "broken")]


def test_network_and_pool_events_are_registered_and_deregistered_with_their_own_calls(monkeypatch):
    conn = mock.create_autospec(libvirt.virConnect, instance=True)
    conn.domainEventRegisterAny.side_effect = [1, 2, 3, 4]
    conn.networkEventRegisterAny.return_value = 5
    conn.storagePoolEventRegisterAny.side_effect = [6, 7]
    monkeypatch.setattr(engine.libvirt, "openReadOnly", lambda uri: conn)
    forwarder = engine.EventForwarder("hv1", "test:///default", lambda t, d: None, lambda name: None)
    forwarder.connect()
    network_call = conn.networkEventRegisterAny.call_args.args
    assert network_call[:2] == (None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE)
    assert network_call[2] == forwarder._on_network  # pylint: disable=protected-access
    pool_calls = [call.args[:3] for call in conn.storagePoolEventRegisterAny.call_args_list]
    assert pool_calls == [
        (None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, forwarder._on_pool),  # pylint: disable=protected-access
        (None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, forwarder._on_pool_refresh),  # pylint: disable=protected-access
    ]
    forwarder.disconnect()
    assert [call.args for call in conn.domainEventDeregisterAny.call_args_list] == [(1,), (2,), (3,), (4,)]
    conn.networkEventDeregisterAny.assert_called_once_with(5)
    assert [call.args for call in conn.storagePoolEventDeregisterAny.call_args_list] == [(6,), (7,)]


def test_start_asks_the_library_whether_a_network_or_pool_is_active(monkeypatch):
    monkeypatch.setattr(engine, "__opts__", {"id": "hv1"}, raising=False)
    monkeypatch.setattr(engine, "__grains__", {}, raising=False)
    monkeypatch.setattr(engine, "__salt__", {"config.get": lambda key: "test:///default"}, raising=False)
    with (
        mock.patch.object(engine, "_start_event_loop", autospec=True),
        mock.patch.object(engine, "EventForwarder", autospec=True) as forwarder,
        mock.patch.object(engine.host_events, "object_active", autospec=True) as object_active,
    ):
        engine.start()
        active = forwarder.call_args.kwargs["active"]
        assert active("pool", "images") is object_active.return_value
    object_active.assert_called_once_with("test:///default", "pool", "images")
