"""
A VM's lifecycle on its host (``brine.lifecycle``): refusals with the vocabulary's codes,
waiting for a guest to power off, and removing volumes after a delete. Delete plans and results
run against real libvirt in tests/functional/test_hypervisor_functional.py.
"""

from unittest import mock

import pytest
from salt.exceptions import CommandExecutionError

from brine import lifecycle

libvirt = pytest.importorskip("libvirt")


def test_an_allowed_action_passes():
    lifecycle.check_allowed("force_off", "vm1", "hv1", "crashed")


def test_a_refusal_carries_the_vocabularys_code_and_sentence():
    with pytest.raises(CommandExecutionError) as refused:
        lifecycle.check_allowed("start", "vm1", "hv1", "crashed")
    assert (refused.value.code, refused.value.sentence) == (
        "wrong_state",
        "vm1 is crashed on hv1, so it cannot be started",
    )


def domain_with_states(*states):
    dom = mock.create_autospec(libvirt.virDomain, instance=True)
    dom.state.side_effect = [[state, 0] for state in states]
    return dom


def test_waiting_ends_when_the_guest_is_off():
    dom = domain_with_states(
        libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_SHUTDOWN, libvirt.VIR_DOMAIN_SHUTOFF
    )
    assert lifecycle.wait_until_off(dom, timeout=5, poll=0.001) is True
    assert dom.state.call_count == 3


def test_waiting_gives_up_after_the_timeout():
    dom = mock.create_autospec(libvirt.virDomain, instance=True)
    dom.state.return_value = [libvirt.VIR_DOMAIN_RUNNING, 1]
    assert lifecycle.wait_until_off(dom, timeout=0.05, poll=0.01) is False


def test_a_transient_vm_that_went_away_counts_as_off():
    dom = mock.create_autospec(libvirt.virDomain, instance=True)
    gone = libvirt.libvirtError("Domain not found")
    with mock.patch.object(gone, "get_error_code", return_value=libvirt.VIR_ERR_NO_DOMAIN):
        dom.state.side_effect = gone
        assert lifecycle.wait_until_off(dom, timeout=1, poll=0.01) is True


def test_a_volume_that_cannot_be_removed_is_a_note_not_an_error():
    kept = mock.create_autospec(libvirt.virStorageVol, instance=True)
    kept.delete.side_effect = libvirt.libvirtError("busy")
    removed = mock.create_autospec(libvirt.virStorageVol, instance=True)
    notes = lifecycle.remove_volumes([("/p/a.qcow2", kept), ("/p/b.qcow2", removed)])
    assert notes == ["could not remove /p/a.qcow2 (busy)", "removed /p/b.qcow2"]
    removed.delete.assert_called_once_with(0)
