"""The brine_events engine: event words, tags, data, backoff, and its bounded, coalescing queue."""

from unittest import mock

import pytest

from brine import signing
from support import signkeys
from support.loading import load

pytest.importorskip("libvirt")

engine = load("_engines/brine_events.py", "brine_events_unit")
libvirt = engine.libvirt


@pytest.mark.parametrize(
    "event,detail,words",
    [
        (
            libvirt.VIR_DOMAIN_EVENT_STARTED,
            libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED,
            ("started", "migrated"),
        ),
        (
            libvirt.VIR_DOMAIN_EVENT_SUSPENDED,
            libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED,
            ("suspended", "paused"),
        ),
        (
            libvirt.VIR_DOMAIN_EVENT_STOPPED,
            libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED,
            ("stopped", "migrated"),
        ),
        (
            libvirt.VIR_DOMAIN_EVENT_UNDEFINED,
            libvirt.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED,
            ("undefined", "removed"),
        ),
        (
            libvirt.VIR_DOMAIN_EVENT_CRASHED,
            libvirt.VIR_DOMAIN_EVENT_CRASHED_PANICKED,
            ("crashed", "panicked"),
        ),
        (libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, libvirt.VIR_DOMAIN_EVENT_SHUTDOWN_GUEST, ("shutdown", "guest")),
        (libvirt.VIR_DOMAIN_EVENT_STARTED, 99, ("started", "unknown")),
        (99, 0, ("unknown", "unknown")),
    ],
)
def test_lifecycle_words_follow_libvirts_enums(event, detail, words):
    assert engine.lifecycle_words(event, detail) == words


def test_every_libvirt_detail_constant_has_its_word():
    for event, details in engine.LIFECYCLE_DETAILS.items():
        for index, word in enumerate(details):
            assert getattr(libvirt, f"VIR_DOMAIN_EVENT_{event.upper()}_{word.upper()}") == index
    for index, event in enumerate(engine.LIFECYCLE_EVENTS):
        assert getattr(libvirt, f"VIR_DOMAIN_EVENT_{event.upper()}") == index


def test_tags_and_state_data():
    assert engine.state_tag("hv1", "vm") == "brine/vm/hv1/vm/state"
    assert engine.job_tag("hv1", "vm") == "brine/vm/hv1/vm/job"
    assert engine.host_tag("hv1", "resync") == "brine/host/hv1/resync"
    vm = {"name": "vm", "state": "paused", "reason": "user"}
    assert engine.state_data("hv1", "vm", "suspended", "paused", vm) == {
        "host": "hv1",
        "name": "vm",
        "event": "suspended",
        "detail": "paused",
        "state": "paused",
        "reason": "user",
        "vm": vm,
    }
    assert engine.state_data("hv1", "vm", "undefined", "removed", None)["state"] is None


def test_job_stats_keep_known_keys_only():
    assert engine.job_stats({"downtime": 40, "time_elapsed": 900, "disk_total": 0}) == {
        "downtime": 40,
        "time_elapsed": 900,
    }
    assert engine.job_stats(None) == {}


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
