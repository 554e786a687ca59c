"""
A host's libvirt events in Brine's words (``brine.host_events``): domain lifecycle words and
details, network and storage pool event words checked against the libvirt binding's own enums,
tags and payloads, and whether a network or pool is active, against libvirt's test driver.
"""

import pytest

from brine import host_events

libvirt = pytest.importorskip("libvirt")


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
    assert host_events.lifecycle_words(event, detail) == words


def test_every_libvirt_detail_constant_has_its_word():
    for event, details in host_events.LIFECYCLE_DETAILS.items():
        for index, word in enumerate(details):
            assert getattr(libvirt, f"VIR_DOMAIN_EVENT_{event.upper()}_{word.upper()}") == index
    for index, event in enumerate(host_events.LIFECYCLE_EVENTS):
        assert getattr(libvirt, f"VIR_DOMAIN_EVENT_{event.upper()}") == index


def test_tags_and_state_data():
    assert host_events.state_tag("hv1", "vm") == "brine/vm/hv1/vm/state"
    assert host_events.job_tag("hv1", "vm") == "brine/vm/hv1/vm/job"
    assert host_events.host_tag("hv1", "resync") == "brine/host/hv1/resync"
    vm = {"name": "vm", "state": "paused", "reason": "user"}
    assert host_events.state_data("hv1", "vm", "suspended", "paused", vm) == {
        "host": "hv1",
        "name": "vm",
        "event": "suspended",
        "detail": "paused",
        "state": "paused",
        "reason": "user",
        "vm": vm,
    }
    assert host_events.state_data("hv1", "vm", "undefined", "removed", None)["state"] is None


def test_job_stats_keep_known_keys_only():
    assert host_events.job_stats({"downtime": 40, "time_elapsed": 900, "disk_total": 0}) == {
        "downtime": 40,
        "time_elapsed": 900,
    }
    assert host_events.job_stats(None) == {}


def test_every_network_event_word_is_libvirts_enum_in_order():
    for index, word in enumerate(host_events.NETWORK_EVENTS):
        assert getattr(libvirt, f"VIR_NETWORK_EVENT_{word.upper()}") == index
        assert host_events.network_word(index) == word


def test_every_pool_event_word_is_libvirts_enum_in_order():
    for index, word in enumerate(host_events.POOL_EVENTS):
        assert getattr(libvirt, f"VIR_STORAGE_POOL_EVENT_{word.upper()}") == index
        assert host_events.pool_word(index) == word
    assert host_events.pool_word(libvirt.VIR_STORAGE_POOL_EVENT_CREATED) == "created"
    assert host_events.POOL_REFRESHED == "refreshed"


@pytest.mark.parametrize("code", [99, -1, None, "started", True])
def test_an_event_code_brine_does_not_know_is_unknown(code):
    assert host_events.network_word(code) == "unknown"
    assert host_events.pool_word(code) == "unknown"


def test_network_and_pool_tags_and_data():
    assert host_events.object_tag("network", "hv1", "service") == "brine/network/hv1/service/state"
    assert host_events.object_tag("pool", "hv1", "images") == "brine/pool/hv1/images/state"
    assert host_events.object_data("hv1", "images", "refreshed", True) == {
        "host": "hv1",
        "name": "images",
        "event": "refreshed",
        "active": True,
    }
    with pytest.raises(ValueError):
        host_events.object_tag("vm", "hv1", "x")


def test_whether_a_network_or_pool_is_active_on_a_connection_of_its_own():
    keep = libvirt.open("test:///default")  # the test driver keeps its state while one is open
    try:
        assert host_events.object_active("test:///default", "network", "default") is True
        assert host_events.object_active("test:///default", "pool", "default-pool") is True
        assert host_events.object_active("test:///default", "network", "brine-no-such") is False
        assert host_events.object_active("test:///default", "pool", "brine-no-such") is False
    finally:
        keep.close()
