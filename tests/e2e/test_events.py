"""The brine_events engine on the lab hosts: libvirt events reach the master's event bus under
brine/ tags, and the engine survives its libvirtd being killed and restarted."""

import pytest

from support.lab import kill_libvirtd
from support.lab import master_bus
from support.lab import start_libvirtd


def vm_event(host, vm, event):
    def matches(tag, data):
        return tag == f"brine/vm/{host}/{vm}/state" and data.get("event") == event

    return matches


@pytest.fixture
def running_vm(lab):
    """lab-vm1 on its host, running before and after the test."""
    vm, host = "lab-vm1", lab.vms["lab-vm1"]
    assert lab.domstate(vm, host) == "running"
    yield vm, host
    state = lab.domstate(vm, host)
    if state == "paused":
        lab.virsh(host, "resume", vm)
    assert lab.domstate(vm, host) == "running"


def test_suspend_and_resume_from_virsh_reach_the_master_bus(lab, running_vm):
    vm, host = running_vm
    with master_bus(lab) as bus:
        lab.virsh(host, "suspend", vm)
        _, data = bus.wait_for(vm_event(host, vm, "suspended"), what=f"{vm} suspended")
        assert data["host"] == host and data["name"] == vm
        assert data["detail"] == "paused"
        assert data["state"] == "paused" and data["vm"]["state"] == "paused"
        lab.virsh(host, "resume", vm)
        _, data = bus.wait_for(vm_event(host, vm, "resumed"), what=f"{vm} resumed")
        assert data["state"] == "running" and data["vm"]["name"] == vm


def test_engine_reconnects_after_libvirtd_is_killed_and_restarted(lab):
    vm, host = "lab-vm2", lab.vms["lab-vm2"]
    assert lab.domstate(vm, host) == "running"
    try:
        with master_bus(lab) as bus:
            kill_libvirtd(lab, host)
            _, data = bus.wait_for(
                lambda tag, _d: tag == f"brine/host/{host}/disconnected", what=f"{host} disconnected"
            )
            assert data["host"] == host and data["error"]
            start_libvirtd(lab, host)
            _, data = bus.wait_for(
                lambda tag, d: (
                    tag == f"brine/host/{host}/resync" and d.get("reason", "").startswith("reconnected")
                ),
                timeout=90,
                what=f"{host} resync",
            )
            assert data["host"] == host
            # Events still flow on the new connection.
            lab.virsh(host, "suspend", vm)
            bus.wait_for(vm_event(host, vm, "suspended"), what=f"{vm} suspended after the restart")
            lab.virsh(host, "resume", vm)
            bus.wait_for(vm_event(host, vm, "resumed"), what=f"{vm} resumed after the restart")
    finally:
        start_libvirtd(lab, host)
        if lab.domstate(vm, host) == "paused":
            lab.virsh(host, "resume", vm)
    assert lab.domstate(vm, host) == "running"
