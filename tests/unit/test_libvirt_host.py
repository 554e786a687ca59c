"""
The libvirt side of Brine's library (``brine.libvirt_host``): the connection and its coded
errors, the bulk facts (DHCP leases, file sizes), and the state and reason words a host reports,
checked against the libvirt binding's own enums.
"""

from unittest import mock

import pytest

from brine import libvirt_host
from brine import vocabulary
from brine.errors import Refused

libvirt = pytest.importorskip("libvirt")


# --- the connection ----------------------------------------------------------------


def test_a_connection_that_cannot_open_is_libvirt_unavailable():
    opener = mock.Mock(side_effect=libvirt.libvirtError("no socket"))
    with pytest.raises(Refused) as refused, libvirt_host.connection(opener, "Could not start vm1"):
        pass
    assert refused.value.code == "libvirt_unavailable"
    assert refused.value.sentence == "Could not start vm1: cannot connect to libvirt: no socket"
    assert isinstance(refused.value.__cause__, libvirt.libvirtError)


def test_a_refused_call_is_libvirt_error_and_the_connection_is_closed():
    conn = mock.create_autospec(libvirt.virConnect, instance=True)
    with pytest.raises(Refused) as refused, libvirt_host.connection(lambda: conn, "Could not start vm1"):
        raise libvirt.libvirtError("boom")
    assert (refused.value.code, refused.value.sentence) == ("libvirt_error", "Could not start vm1: boom")
    conn.close.assert_called_once_with()


def test_brines_own_refusals_pass_through_unchanged():
    conn = mock.create_autospec(libvirt.virConnect, instance=True)
    with pytest.raises(Refused) as refused, libvirt_host.connection(lambda: conn, "Could not x"):
        raise Refused("already_off", "vm1 is already shut off on hv1")
    assert str(refused.value) == "[already_off] vm1 is already shut off on hv1"
    conn.close.assert_called_once_with()


def test_a_missing_vm_is_no_vm():
    conn = mock.create_autospec(libvirt.virConnect, instance=True)
    missing = libvirt.libvirtError("Domain not found")
    with mock.patch.object(missing, "get_error_code", return_value=libvirt.VIR_ERR_NO_DOMAIN):
        conn.lookupByName.side_effect = missing
        with pytest.raises(Refused) as refused:
            libvirt_host.lookup(conn, "ghost", "hv1")
    assert (refused.value.code, refused.value.sentence) == ("no_vm", "There is no VM named ghost on hv1")


def test_open_connection_uses_libvirts_default_for_an_empty_uri():
    with mock.patch.object(libvirt, "open", autospec=True) as libvirt_open:
        libvirt_host.open_connection("")
    libvirt_open.assert_called_once_with(None)


@pytest.mark.parametrize(
    "number, text", [(9000000, "9.0.0"), (7002001, "7.2.1"), (10010012, "10.10.12"), (2, "0.0.2")]
)
def test_version_string(number, text):
    assert libvirt_host.version_string(number) == text


# --- bulk facts --------------------------------------------------------------------


def test_network_facts_map_macs_to_ipv4_first():
    network = mock.create_autospec(libvirt.virNetwork, instance=True)
    network.name.return_value = "default"
    network.bridgeName.return_value = "virbr0"
    ipv4, ipv6 = libvirt.VIR_IP_ADDR_TYPE_IPV4, libvirt.VIR_IP_ADDR_TYPE_IPV6
    network.DHCPLeases.return_value = [
        {"mac": "52:54:00:AA:00:01", "ipaddr": "fd00::10", "type": ipv6},
        {"mac": "52:54:00:aa:00:01", "ipaddr": "192.168.122.10", "type": ipv4},
        {"mac": "52:54:00:aa:00:02", "ipaddr": "fd00::11", "type": ipv6},
    ]
    no_leases = mock.create_autospec(libvirt.virNetwork, instance=True)
    no_leases.name.return_value = "direct"
    no_leases.bridgeName.side_effect = libvirt.libvirtError("no bridge")
    no_leases.DHCPLeases.side_effect = libvirt.libvirtError("not supported")
    conn = mock.create_autospec(libvirt.virConnect, instance=True)
    conn.listAllNetworks.return_value = [network, no_leases]

    ips, bridges = libvirt_host.network_facts(conn)

    assert ips == {"52:54:00:aa:00:01": "192.168.122.10", "52:54:00:aa:00:02": "fd00::11"}
    assert bridges == {"default": "virbr0", "direct": None}
    conn.listAllNetworks.assert_called_once_with(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)


def test_file_sizes(tmp_path):
    image = tmp_path / "disk.raw"
    image.write_bytes(b"x" * 10000)
    capacity, allocation = libvirt_host.file_sizes(str(image))
    assert capacity == 10000
    assert allocation == image.stat().st_blocks * 512
    assert libvirt_host.file_sizes(str(tmp_path / "missing.raw")) == (None, None)
    assert libvirt_host.file_sizes(str(tmp_path)) == (None, None)


# --- the words a host reports, against the binding's enums ---------------------------


@pytest.mark.parametrize(
    "constant, word",
    [
        ("VIR_DOMAIN_NOSTATE", "nostate"),
        ("VIR_DOMAIN_RUNNING", "running"),
        ("VIR_DOMAIN_BLOCKED", "blocked"),
        ("VIR_DOMAIN_PAUSED", "paused"),
        ("VIR_DOMAIN_SHUTDOWN", "shutdown"),
        ("VIR_DOMAIN_SHUTOFF", "shutoff"),
        ("VIR_DOMAIN_CRASHED", "crashed"),
        ("VIR_DOMAIN_PMSUSPENDED", "pmsuspended"),
    ],
)
def test_state_names_follow_libvirt(constant, word):
    assert vocabulary.state_name(getattr(libvirt, constant)) == word


def _reason_constants(prefix, exclude=()):
    return {
        name[len(prefix) :].lower(): getattr(libvirt, name)
        for name in dir(libvirt)
        if name.startswith(prefix)
        and not name.endswith("_LAST")
        and not any(name.startswith(prefix + other) for other in exclude)
    }


@pytest.mark.parametrize(
    "state, prefix, exclude",
    [
        ("nostate", "VIR_DOMAIN_NOSTATE_", ()),
        ("running", "VIR_DOMAIN_RUNNING_", ()),
        ("blocked", "VIR_DOMAIN_BLOCKED_", ()),
        ("paused", "VIR_DOMAIN_PAUSED_", ()),
        # VIR_DOMAIN_SHUTDOWN_* also names the flags of shutdownFlags().
        (
            "shutdown",
            "VIR_DOMAIN_SHUTDOWN_",
            ("DEFAULT", "ACPI", "GUEST_AGENT", "INITCTL", "SIGNAL", "PARAVIRT"),
        ),
        ("shutoff", "VIR_DOMAIN_SHUTOFF_", ()),
        ("crashed", "VIR_DOMAIN_CRASHED_", ()),
        ("pmsuspended", "VIR_DOMAIN_PMSUSPENDED_", ("DISK_",)),
    ],
)
def test_every_libvirt_reason_has_its_word(state, prefix, exclude):
    reasons = _reason_constants(prefix, exclude)
    assert "unknown" in reasons
    for word, code in reasons.items():
        assert vocabulary.reason_name(state, code) == word
    assert vocabulary.reason_name(getattr(libvirt, prefix[:-1]), reasons["unknown"]) == "unknown"


@pytest.mark.parametrize(
    "state, reason, word",
    [
        (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED, "booted"),
        (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_MIGRATED, "migrated"),
        (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_USER, "user"),
        (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED, "destroyed"),
        (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN, "shutdown"),
        (libvirt.VIR_DOMAIN_CRASHED, libvirt.VIR_DOMAIN_CRASHED_PANICKED, "panicked"),
        (libvirt.VIR_DOMAIN_RUNNING, 999, "unknown"),  # a reason from a newer libvirt
        (999, 1, "unknown"),
        (None, None, "unknown"),
    ],
)
def test_reason_words(state, reason, word):
    assert vocabulary.reason_name(state, reason) == word


@pytest.mark.parametrize("state", [-1, 8, 999, None, "1"])
def test_unknown_state_is_nostate(state):
    assert vocabulary.state_name(state) == "nostate"
