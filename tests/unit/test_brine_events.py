"""Pure helpers of the brine_events engine: event words, tags, data, backoff."""

from unittest import mock

import pytest

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
