"""
The ``hypervisor`` execution module, loaded by Salt's loader, against libvirt's
``test:///default`` driver.

What the test driver cannot do, and how these tests adapt:
- ``getAllDomainStats`` fills only the state group (no balloon, vcpu, cpu-total), so
  memory and vCPUs come from the domain XML and CPU time from ``virDomainGetInfo``.
- Networks have no ``DHCPLeases``: every ``ip`` is null here (the lease mapping is
  covered by the unit tests).
- Storage volumes live in memory: creating one makes no file, deleting one removes no
  file. Removal is checked through the pool's volume list.
- ACPI shutdown and reboot take effect at once; a guest ignoring ACPI is simulated by
  making ``virDomain.shutdown`` do nothing.
- ``undefineFlags`` accepts only MANAGED_SAVE and SNAPSHOTS_METADATA, so no VM here has
  UEFI variables or a TPM.
"""

import collections
import json
import os
import re
import subprocess
import sys
import time

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError
from saltfactories.utils import random_string

from brine import console_crypto
from support.saltfakes import cluster_runner
from support.saltfakes import master_cache
from support.saltfakes import use_client

libvirt = pytest.importorskip("libvirt")
CONSOLE_KEYS = console_crypto.request_keys()

PUBLIC_FUNCTIONS = (
    "inventory",
    "vm_info",
    "start",
    "shutdown",
    "force_off",
    "reboot",
    "pause",
    "resume",
    "delete",
    # migration section
    "migration_needs",
    "migration_target_check",
    "migrate",
    "migration_abort",
    "migration_cleanup",
    # console section
    "console",
)
ACTIONS = ("start", "shutdown", "force_off", "reboot", "pause", "resume", "delete")
NAMED_FUNCTIONS = ("vm_info", *ACTIONS)
BAD_NAMES = ("../etc", "a;rm -rf /", "", "-x", ".hidden", "a/b", "x" * 65, "vm\n", None)
STATE_WORDS = {
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTOFF: "shutoff",
}


def domain_xml(name, disks=(), nics=(), graphics=(), vcpus=(1, 2), memory_mib=(128, 256)):
    """
    A KVM domain definition. ``disks`` are (device, path or None, format) tuples.
    """
    disk_xml = []
    for index, (device, path, fmt) in enumerate(disks):
        target = f"vd{chr(ord('a') + index)}" if device == "disk" else f"sd{chr(ord('a') + index)}"
        bus = "virtio" if device == "disk" else "sata"
        source = f"<source file='{path}'/>" if path else ""
        disk_xml.append(
            f"<disk type='file' device='{device}'><driver name='qemu' type='{fmt}'/>"
            f"{source}<target dev='{target}' bus='{bus}'/></disk>"
        )
    return f"""
    <domain type='kvm'>
      <name>{name}</name>
      <memory unit='MiB'>{memory_mib[1]}</memory>
      <currentMemory unit='MiB'>{memory_mib[0]}</currentMemory>
      <vcpu current='{vcpus[0]}'>{vcpus[1]}</vcpu>
      <os><type arch='x86_64'>hvm</type></os>
      <devices>
        {"".join(disk_xml)}
        {"".join(nics)}
        {"".join(graphics)}
      </devices>
    </domain>
    """


def state_of(conn, name):
    return STATE_WORDS[conn.lookupByName(name).state()[0]]


def snapshot(conn):
    """
    What a call must not change: every domain with its state, every pool's volumes.
    """
    domains = sorted((dom.name(), tuple(dom.state())) for dom in conn.listAllDomains(0))
    volumes = sorted(
        (pool.name(), volume.name())
        for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
        for volume in pool.listAllVolumes(0)
    )
    return domains, volumes


@pytest.fixture
def hypervisor(modules):
    return modules.hypervisor


@pytest.fixture(scope="module")
def host(minion_id):
    # The module reports the minion id (grains id) as the host.
    return minion_id


@pytest.fixture
def make_vm(libvirt_conn):
    """
    Define a VM and bring it to ``state`` (running, paused, shutoff, destroyed);
    everything defined is removed afterwards.
    """
    names = []

    def _make_vm(state="shutoff", name=None, persistent=True, **xml_args):
        name = name or random_string("vm-", uppercase=False)
        names.append(name)
        xml_text = domain_xml(name, **xml_args)
        if not persistent:
            return libvirt_conn.createXML(xml_text, 0)
        dom = libvirt_conn.defineXML(xml_text)
        if state in ("running", "paused", "destroyed"):
            dom.create()
        if state == "paused":
            dom.suspend()
        if state == "destroyed":
            dom.destroy()
        return dom

    yield _make_vm
    for name in names:
        try:
            dom = libvirt_conn.lookupByName(name)
        except libvirt.libvirtError:
            continue
        persistent = dom.isPersistent()
        if dom.isActive():
            dom.destroy()
        if persistent:
            dom.undefineFlags(
                libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            )


@pytest.fixture
def pool(libvirt_conn, tmp_path):
    """
    A directory storage pool (transient, active) whose target is a temporary directory.
    """
    target = tmp_path / "pool"
    target.mkdir()
    pool_xml = (
        f"<pool type='dir'><name>{random_string('pool-', uppercase=False)}</name>"
        f"<target><path>{target}</path></target></pool>"
    )
    created = libvirt_conn.storagePoolCreateXML(pool_xml, 0)
    try:
        yield created
    finally:
        for volume in created.listAllVolumes(0):
            volume.delete(0)
        created.destroy()


def add_volume(pool, name, capacity_mib=64, allocation_mib=1, fmt="qcow2"):
    return pool.createXML(
        f"<volume><name>{name}</name><capacity unit='MiB'>{capacity_mib}</capacity>"
        f"<allocation unit='MiB'>{allocation_mib}</allocation>"
        f"<target><format type='{fmt}'/></target></volume>",
        0,
    )


def volume_names(pool):
    return sorted(volume.name() for volume in pool.listAllVolumes(0))


NETWORK_NIC = (
    "<interface type='network'><mac address='52:54:00:aa:00:01'/>"
    "<source network='default'/><model type='virtio'/></interface>"
)
BRIDGE_NIC = (
    "<interface type='bridge'><mac address='52:54:00:AA:00:02'/>"
    "<source bridge='br0'/><model type='e1000'/></interface>"
)
VNC = "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>"
SPICE = (
    "<graphics type='spice' port='5930' autoport='no'><listen type='address' address='0.0.0.0'/></graphics>"
)


# --- loading -----------------------------------------------------------------------


def test_loader_exposes_exactly_the_public_functions(modules):
    exposed = sorted(key.split(".", 1)[1] for key in modules if key.startswith("hypervisor."))
    assert exposed == sorted(PUBLIC_FUNCTIONS)


# --- inventory ---------------------------------------------------------------------


def test_inventory_host_facts(hypervisor, libvirt_conn, make_vm):
    make_vm("running", vcpus=(2, 4), memory_mib=(512, 1024))
    make_vm("paused", vcpus=(1, 1), memory_mib=(128, 128))
    make_vm("shutoff", vcpus=(3, 3), memory_mib=(256, 256))

    facts = hypervisor.inventory()["host"]

    model, memory_mib, cpus, mhz, nodes, sockets, cores, threads = libvirt_conn.getInfo()
    active = [dom for dom in libvirt_conn.listAllDomains(0) if dom.isActive()]
    assert facts["hostname"] == libvirt_conn.getHostname()
    assert facts["cpu_arch"] == model == "i686"
    assert facts["cpu_model"] == model  # the test driver's capabilities name no CPU model
    assert facts["cpus"] == cpus == 16
    assert (facts["sockets"], facts["cores"], facts["threads"]) == (nodes * sockets, cores, threads)
    assert facts["sockets"] * facts["cores"] * facts["threads"] == facts["cpus"]
    assert facts["mhz"] == mhz
    assert facts["memory_total"] == memory_mib * 1024
    assert facts["memory_free"] == libvirt_conn.getFreeMemory() // 1024
    major, rest = divmod(libvirt_conn.getLibVersion(), 1000000)
    assert facts["libvirt_version"] == f"{major}.{rest // 1000}.{rest % 1000}"
    assert facts["hypervisor"] == "TEST"
    assert facts["hypervisor_version"] == "0.0.2"
    assert facts["uri"] == "test:///default"
    assert facts["vm_count"] == len(libvirt_conn.listAllDomains(0))
    assert facts["vms_running"] == len(active)
    # Our running and paused VMs count (2 + 1 vCPUs, 512 + 128 MiB); the shut-off one doesn't.
    assert facts["vcpus_allocated"] == sum(dom.vcpusFlags(0) for dom in active)
    assert facts["memory_allocated"] == sum(dom.info()[2] for dom in active)
    assert facts["vcpus_allocated"] >= 3
    assert facts["memory_allocated"] >= (512 + 128) * 1024


def test_inventory_describes_every_vm(hypervisor, libvirt_conn, make_vm, pool, tmp_path):
    image = add_volume(pool, "web.qcow2", capacity_mib=64, allocation_mib=1)
    outside = tmp_path / "outside.raw"
    outside.write_bytes(b"\0" * 4096)
    missing = tmp_path / "missing.raw"
    running = make_vm(
        "running",
        disks=[
            ("disk", image.path(), "qcow2"),
            ("disk", str(outside), "raw"),
            ("disk", str(missing), "raw"),
            ("cdrom", None, "raw"),
        ],
        nics=[NETWORK_NIC, BRIDGE_NIC],
        graphics=[VNC, SPICE],
    )
    running.setAutostart(1)
    paused = make_vm("paused", vcpus=(2, 2))
    stopped = make_vm("destroyed")
    transient = make_vm(persistent=False)

    inventory = hypervisor.inventory()

    vms = {vm["name"]: vm for vm in inventory["vms"]}
    assert set(vms) == {dom.name() for dom in libvirt_conn.listAllDomains(0)}
    assert [vm["name"] for vm in inventory["vms"]] == sorted(vms)
    assert inventory["host"]["vm_count"] == len(vms)

    vm = vms[running.name()]
    assert vm["cpu_time"] > 0
    assert vm == {
        "name": running.name(),
        "uuid": running.UUIDString(),
        "state": "running",
        "reason": "booted",
        "vcpus": 1,
        "max_vcpus": 2,
        "memory": 128 * 1024,
        "max_memory": 256 * 1024,
        "cpu_time": vm["cpu_time"],
        "autostart": True,
        "persistent": True,
        "os_type": "hvm",
        "domain_type": "kvm",
        "disks": [
            {
                "target": "vda",
                "device": "disk",
                "path": image.path(),
                "format": "qcow2",
                "capacity": 64 * 1024 * 1024,
                "allocation": 1024 * 1024,
            },
            {
                "target": "vdb",
                "device": "disk",
                "path": str(outside),
                "format": "raw",
                "capacity": 4096,
                "allocation": os.stat(outside).st_blocks * 512,
            },
            {
                "target": "vdc",
                "device": "disk",
                "path": str(missing),
                "format": "raw",
                "capacity": None,
                "allocation": None,
            },
            {
                "target": "sdd",
                "device": "cdrom",
                "path": None,
                "format": "raw",
                "capacity": None,
                "allocation": None,
            },
        ],
        "nics": [
            {
                "mac": "52:54:00:aa:00:01",
                "type": "network",
                "network": "default",
                "bridge": "virbr0",  # from the network, as the XML doesn't say
                "model": "virtio",
                "ip": None,  # the test driver has no DHCP leases
            },
            {
                "mac": "52:54:00:aa:00:02",
                "type": "bridge",
                "network": None,
                "bridge": "br0",
                "model": "e1000",
                "ip": None,
            },
        ],
        "graphics": [
            {"type": "vnc", "port": -1, "listen": "127.0.0.1"},
            {"type": "spice", "port": 5930, "listen": "0.0.0.0"},
        ],
        "install": None,
    }

    assert (vms[paused.name()]["state"], vms[paused.name()]["reason"]) == ("paused", "user")
    assert vms[paused.name()]["vcpus"] == 2
    assert vms[paused.name()]["cpu_time"] > 0
    assert (vms[stopped.name()]["state"], vms[stopped.name()]["reason"]) == ("shutoff", "destroyed")
    assert vms[stopped.name()]["cpu_time"] == 0
    assert vms[stopped.name()]["autostart"] is False
    assert vms[transient.name()]["persistent"] is False
    assert vms[running.name()]["persistent"] is True


@pytest.fixture
def libvirt_calls(monkeypatch):
    """
    Count the calls made on libvirt's domain, connection, network, pool and volume
    objects (each one a round trip to libvirtd with a real URI).
    """
    calls = collections.Counter()
    for cls in (
        libvirt.virDomain,
        libvirt.virConnect,
        libvirt.virNetwork,
        libvirt.virStoragePool,
        libvirt.virStorageVol,
    ):
        for attribute, method in list(vars(cls).items()):
            if attribute.startswith("_") or not callable(method):
                continue

            def spy(self, *args, _method=method, _key=f"{cls.__name__}.{attribute}", **kwargs):
                calls[_key] += 1
                return _method(self, *args, **kwargs)

            monkeypatch.setattr(cls, attribute, spy)
    return calls


@pytest.fixture
def no_subprocesses(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a subprocess was started: {args}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


def test_inventory_of_300_vms_uses_bulk_calls(hypervisor, make_vm, pool, libvirt_calls, no_subprocesses):  # pylint: disable=unused-argument
    """
    The inventory's cost is one XMLDesc per domain plus a fixed number of bulk calls,
    and no subprocess. Its speed is measured in bench/, not asserted here.
    """
    image = add_volume(pool, "shared-base.qcow2").path()
    for index in range(300):
        make_vm(
            "running" if index % 10 == 0 else "shutoff",
            nics=[NETWORK_NIC],
            graphics=[VNC],
            disks=[("disk", f"/nonexistent/{index}.qcow2", "qcow2"), ("cdrom", image, "raw")],
        )
    libvirt_calls.clear()

    inventory = hypervisor.inventory()

    vm_count = inventory["host"]["vm_count"]
    assert vm_count >= 300
    per_domain = {
        key.split(".", 1)[1]: count for key, count in libvirt_calls.items() if key.startswith("virDomain.")
    }
    # name() and UUIDString() are answered from the object, without a round trip. info()
    # stands in for the cpu-total stats group that the test driver lacks.
    assert set(per_domain) <= {"XMLDesc", "info", "name", "UUIDString"}
    assert per_domain["XMLDesc"] == vm_count
    assert per_domain.get("info", 0) == inventory["host"]["vms_running"]
    assert libvirt_calls["virConnect.getAllDomainStats"] == 1
    # One size lookup for the one pool volume used by every VM, none per VM.
    assert libvirt_calls["virStorageVol.info"] == 1
    other = sum(
        count
        for key, count in libvirt_calls.items()
        if not key.startswith("virDomain.") and key != "virStorageVol.name"
    )
    assert other <= 25, libvirt_calls


def test_vm_info_is_the_inventory_entry(hypervisor, make_vm):
    dom = make_vm("running", nics=[NETWORK_NIC], graphics=[VNC])
    info = hypervisor.vm_info(dom.name())
    listed = next(vm for vm in hypervisor.inventory()["vms"] if vm["name"] == dom.name())
    # CPU time moves on between the two calls; everything else is the same.
    assert info["cpu_time"] > 0
    assert {**info, "cpu_time": 0} == {**listed, "cpu_time": 0}


# --- lifecycle ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, before, after, reason, comment",
    [
        ("start", "shutoff", "running", "booted", "{name} was started"),
        ("shutdown", "running", "shutoff", "shutdown", "{name} was shut down"),
        ("force_off", "running", "shutoff", "destroyed", "{name} was powered off"),
        ("force_off", "paused", "shutoff", "destroyed", "{name} was powered off"),
        ("reboot", "running", "running", "booted", "{name} was rebooted"),
        ("pause", "running", "paused", "user", "{name} was paused"),
        ("resume", "paused", "running", "unpaused", "{name} was resumed"),
    ],
)
def test_action_changes_state_and_reports_it(
    hypervisor, libvirt_conn, make_vm, host, action, before, after, reason, comment
):
    name = make_vm(before).name()

    result = getattr(hypervisor, action)(name)

    assert state_of(libvirt_conn, name) == after
    assert result == {
        "name": name,
        "host": host,
        "action": action,
        "changed": True,
        "comment": comment.format(name=name),
        "state": after,
        "vm": hypervisor.vm_info(name) | {"cpu_time": result["vm"]["cpu_time"]},
    }
    assert (result["vm"]["state"], result["vm"]["reason"]) == (after, reason)


def test_delete_undefines_and_keeps_disks(hypervisor, libvirt_conn, make_vm, pool, host):
    image = add_volume(pool, "keep.qcow2")
    name = make_vm(disks=[("disk", image.path(), "qcow2")]).name()

    result = hypervisor.delete(name)

    assert name not in [dom.name() for dom in libvirt_conn.listAllDomains(0)]
    assert volume_names(pool) == ["keep.qcow2"]
    assert result == {
        "name": name,
        "host": host,
        "action": "delete",
        "changed": True,
        "comment": f"{name} was deleted",
        "state": "deleted",
        "vm": None,
    }


def test_delete_removes_managed_save_and_snapshot_metadata(hypervisor, libvirt_conn, make_vm):
    dom = make_vm("running")
    dom.snapshotCreateXML("<domainsnapshot><name>before</name></domainsnapshot>", 0)
    dom.managedSave(0)
    assert (state_of(libvirt_conn, dom.name()), dom.hasManagedSaveImage(0)) == ("shutoff", 1)

    assert hypervisor.delete(dom.name())["changed"] is True

    assert dom.name() not in [other.name() for other in libvirt_conn.listAllDomains(0)]


def test_delete_with_remove_disks_removes_only_pool_volumes(
    hypervisor, libvirt_conn, make_vm, pool, tmp_path
):
    own = add_volume(pool, "own.qcow2").path()
    iso = add_volume(pool, "installer.iso", fmt="raw").path()
    shared = add_volume(pool, "shared.qcow2").path()
    outside = tmp_path / "outside.qcow2"
    outside.write_bytes(b"not in a pool")
    other = make_vm(disks=[("disk", shared, "qcow2")])
    name = make_vm(
        disks=[
            ("disk", own, "qcow2"),
            ("cdrom", iso, "raw"),
            ("disk", shared, "qcow2"),
            ("disk", str(outside), "qcow2"),
        ]
    ).name()

    result = hypervisor.delete(name, remove_disks=True)

    assert name not in [dom.name() for dom in libvirt_conn.listAllDomains(0)]
    assert volume_names(pool) == ["installer.iso", "shared.qcow2"]
    assert outside.read_bytes() == b"not in a pool"
    assert result["changed"] is True
    assert result["state"] == "deleted"
    # One clause per disk, in libvirt's order of the disks (it sorts them by bus).
    first, *clauses = result["comment"].split("; ")
    assert first == f"{name} was deleted"
    assert sorted(clauses) == sorted(
        [
            f"removed {own}",
            f"kept {iso} (a cdrom)",
            f"kept {shared} (also used by {other.name()})",
            f"kept {outside} (not a volume of an active libvirt storage pool)",
        ]
    )


# --- refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, state, code, sentence",
    [
        ("start", "running", "already_running", "{name} is already running on {host}"),
        ("start", "paused", "wrong_state", "{name} is paused on {host}; resume it instead of starting it"),
        ("shutdown", "shutoff", "already_off", "{name} is already shut off on {host}"),
        (
            "shutdown",
            "paused",
            "wrong_state",
            "{name} is paused on {host}; resume it before shutting it down",
        ),
        ("force_off", "shutoff", "already_off", "{name} is already shut off on {host}"),
        ("reboot", "shutoff", "not_running", "{name} is not running on {host}; start it instead"),
        ("reboot", "paused", "wrong_state", "{name} is paused on {host}, so it cannot be rebooted"),
        ("pause", "shutoff", "not_running", "{name} is not running on {host}, so it cannot be paused"),
        ("pause", "paused", "already_paused", "{name} is already paused on {host}"),
        ("resume", "running", "already_running", "{name} is already running on {host}"),
        ("resume", "shutoff", "not_running", "{name} is shut off on {host}; start it instead of resuming it"),
        ("delete", "running", "wrong_state", "{name} is running on {host}; power it off before deleting it"),
        ("delete", "paused", "wrong_state", "{name} is paused on {host}; power it off before deleting it"),
    ],
)
def test_impossible_action_is_refused_with_a_code_and_a_sentence(
    hypervisor, libvirt_conn, make_vm, host, action, state, code, sentence
):
    name = make_vm(state).name()
    before = snapshot(libvirt_conn)

    with pytest.raises(CommandExecutionError) as refused:
        getattr(hypervisor, action)(name)

    assert refused.value.code == code
    assert refused.value.sentence.startswith(sentence.format(name=name, host=host))
    assert str(refused.value).startswith(f"[{code}] {sentence.format(name=name, host=host)}")
    assert snapshot(libvirt_conn) == before
    assert state_of(libvirt_conn, name) == state


@pytest.mark.parametrize("function", NAMED_FUNCTIONS)
def test_unknown_vm_is_a_clear_error(hypervisor, host, function):
    with pytest.raises(CommandExecutionError) as missing:
        getattr(hypervisor, function)("ghost-vm")
    assert missing.value.code == "no_vm"
    assert str(missing.value).endswith(f"There is no VM named ghost-vm on {host}")


@pytest.mark.parametrize("bad_name", BAD_NAMES, ids=repr)
@pytest.mark.parametrize("function", NAMED_FUNCTIONS)
def test_bad_name_is_rejected_and_changes_nothing(hypervisor, libvirt_conn, make_vm, function, bad_name):
    make_vm("running")
    make_vm("paused")
    before = snapshot(libvirt_conn)

    with pytest.raises(SaltInvocationError, match="not a valid VM name"):
        getattr(hypervisor, function)(bad_name)

    assert snapshot(libvirt_conn) == before


@pytest.mark.parametrize(
    "action, kwargs",
    [
        ("delete", {"remove_disks": "maybe"}),
        ("delete", {"test": "perhaps"}),
        ("shutdown", {"timeout": -1}),
        ("shutdown", {"timeout": "soon"}),
        ("shutdown", {"force": "sometimes"}),
    ],
)
def test_bad_argument_is_rejected_and_changes_nothing(
    hypervisor, libvirt_conn, make_vm, pool, action, kwargs
):
    image = add_volume(pool, "disk.qcow2")
    name = make_vm(
        "running" if action == "shutdown" else "shutoff", disks=[("disk", image.path(), "qcow2")]
    ).name()
    before = snapshot(libvirt_conn)

    with pytest.raises(SaltInvocationError):
        getattr(hypervisor, action)(name, **kwargs)

    assert snapshot(libvirt_conn) == before


# --- test mode ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, state, comment",
    [
        ("start", "shutoff", "would start {name}"),
        ("shutdown", "running", "would shut down {name}"),
        ("force_off", "running", "would power off {name}"),
        ("reboot", "running", "would reboot {name}"),
        ("pause", "running", "would pause {name}"),
        ("resume", "paused", "would resume {name}"),
        ("delete", "shutoff", "would delete {name}"),
    ],
)
def test_test_mode_says_what_it_would_do_and_does_nothing(
    hypervisor, libvirt_conn, make_vm, host, action, state, comment
):
    name = make_vm(state).name()
    before = snapshot(libvirt_conn)

    result = getattr(hypervisor, action)(name, test=True)

    assert snapshot(libvirt_conn) == before
    assert result["changed"] is False
    assert result["comment"] == comment.format(name=name)
    assert (result["name"], result["host"], result["action"]) == (name, host, action)
    assert result["state"] == state
    assert result["vm"]["state"] == state


def test_test_mode_delete_lists_the_disks_it_would_remove(hypervisor, libvirt_conn, make_vm, pool, tmp_path):
    image = add_volume(pool, "image.qcow2")
    outside = tmp_path / "outside.qcow2"
    name = make_vm(disks=[("disk", image.path(), "qcow2"), ("disk", str(outside), "qcow2")]).name()
    before = snapshot(libvirt_conn)

    result = hypervisor.delete(name, remove_disks=True, test=True)

    assert snapshot(libvirt_conn) == before
    assert result["changed"] is False
    assert result["comment"] == (
        f"would delete {name}; would remove {image.path()}; "
        f"would keep {outside} (not a volume of an active libvirt storage pool)"
    )


def test_refusals_apply_in_test_mode_too(hypervisor, make_vm, host):
    name = make_vm("running").name()
    with pytest.raises(CommandExecutionError, match=f"{name} is already running on {host}") as refused:
        hypervisor.start(name, test=True)
    assert refused.value.code == "already_running"


# --- shutdown of a guest that ignores ACPI -----------------------------------------


@pytest.fixture
def guest_ignores_acpi(monkeypatch):
    """
    The test driver obeys ACPI at once; a real guest may not react at all.
    """
    requests = []
    monkeypatch.setattr(libvirt.virDomain, "shutdown", lambda dom: requests.append(dom.name()))
    return requests


def test_shutdown_times_out_with_a_sentence(hypervisor, libvirt_conn, make_vm, host, guest_ignores_acpi):
    name = make_vm("running").name()
    started = time.monotonic()

    with pytest.raises(CommandExecutionError) as timed_out:
        hypervisor.shutdown(name, timeout=0.3)

    assert time.monotonic() - started >= 0.3
    assert guest_ignores_acpi == [name]
    assert timed_out.value.code == "timeout"
    assert timed_out.value.sentence.startswith(f"{name} did not shut down within 0.3 s on {host}")
    assert state_of(libvirt_conn, name) == "running"


def test_shutdown_with_force_powers_off_after_the_timeout(
    hypervisor, libvirt_conn, make_vm, guest_ignores_acpi
):
    name = make_vm("running").name()

    result = hypervisor.shutdown(name, timeout=0.2, force=True)

    assert guest_ignores_acpi == [name]
    assert state_of(libvirt_conn, name) == "shutoff"
    assert result["changed"] is True
    assert result["state"] == "shutoff"
    assert result["vm"]["reason"] == "destroyed"
    assert result["comment"] == f"{name} did not shut down within 0.2 s and was powered off"


LOAD_AS_A_HOST = """
import sys
import salt.config
import salt.loader

# Nothing of the test suite's sys.path: only Salt's loader may make Brine's library importable.
assert not any(path.rstrip("/").endswith("_utils") for path in sys.path), sys.path
opts = salt.config.minion_config(sys.argv[1])
modules = salt.loader.minion_mods(opts, utils=salt.loader.utils(opts), whitelist=["hypervisor"])
print(sorted(key for key in modules if key.startswith("hypervisor.")))
"""


def test_the_loader_finds_brines_library_in_utils_dirs(minion_opts):
    """The module imports ``brine`` at load time from the utils folder, as a host's minion does."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD_AS_A_HOST, minion_opts["conf_file"]],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    assert "'hypervisor.inventory'" in done.stdout and "'hypervisor.migrate'" in done.stdout


# --- consoles ----------------------------------------------------------------------


def test_console_of_a_shut_off_vm_is_refused_as_not_running(hypervisor, make_vm, host):
    name = make_vm("shutoff", graphics=[VNC]).name()
    with pytest.raises(CommandExecutionError) as refused:
        hypervisor.console(name, public_key=CONSOLE_KEYS["public_key"])
    assert refused.value.code == "not_running"
    assert refused.value.sentence == f"{name} is shut off on {host}: start it to open its console"


def test_console_of_a_vm_without_vnc_is_refused_as_no_console(hypervisor, make_vm, host):
    name = make_vm("running", graphics=[SPICE]).name()
    with pytest.raises(CommandExecutionError) as refused:
        hypervisor.console(name, public_key=CONSOLE_KEYS["public_key"])
    assert refused.value.code == "no_console"
    assert refused.value.sentence == f"{name} on {host} has no graphics (VNC) device: it has no console"


def test_console_gives_the_vnc_server_a_session_password_returned_encrypted_only(
    hypervisor, make_vm, host, monkeypatch
):
    # The test driver cannot update a live device: record what the module asks libvirt to set.
    updates = []
    monkeypatch.setattr(
        libvirt.virDomain, "updateDeviceFlags", lambda dom, xml, flags: updates.append((xml, flags))
    )
    vnc = "<graphics type='vnc' port='5905' autoport='no' listen='192.0.2.11'/>"
    name = make_vm("running", graphics=[vnc]).name()
    before = time.time()
    console = hypervisor.console(name, ttl=20, public_key=CONSOLE_KEYS["public_key"])
    assert len(updates) == 1 and updates[0][1] == libvirt.VIR_DOMAIN_AFFECT_LIVE
    password = console_crypto.decrypt(CONSOLE_KEYS["private_key"], console["password_encrypted"])
    assert f'passwd="{password}"' in updates[0][0] and 'port="5905"' in updates[0][0]
    assert {key: console[key] for key in ("name", "host", "protocol", "address", "port")} == {
        "name": name,
        "host": host,
        "protocol": "vnc",
        "address": "192.0.2.11",
        "port": 5905,
    }
    assert len(password) == 8
    assert "password" not in console and password not in json.dumps(console)
    assert before + 19 <= console["valid_to"] <= time.time() + 21


def test_console_without_a_public_key_sets_no_password(hypervisor, make_vm, monkeypatch):
    updates = []
    monkeypatch.setattr(
        libvirt.virDomain, "updateDeviceFlags", lambda dom, xml, flags: updates.append((xml, flags))
    )
    name = make_vm("running", graphics=[VNC]).name()
    for key in (None, "", "QUJD"):
        with pytest.raises(SaltInvocationError, match="public_key"):
            hypervisor.console(name, public_key=key)
    assert updates == []


def test_no_return_of_the_host_or_the_runner_carries_the_password(
    hypervisor, make_vm, host, monkeypatch, tmp_path
):
    """cluster.console over the real hypervisor.console: the password is only ever ciphertext."""
    updates = []
    monkeypatch.setattr(
        libvirt.virDomain, "updateDeviceFlags", lambda dom, xml, flags: updates.append((xml, flags))
    )
    name = make_vm(
        "running", graphics=["<graphics type='vnc' port='5906' autoport='no' listen='192.0.2.11'/>"]
    ).name()
    returns = []

    def host_console(**kwarg):
        returns.append(hypervisor.console(**kwarg))
        return returns[-1]

    record = tmp_path / "log" / "consoles.log"
    console = {"token_dir": str(tmp_path / "tokens"), "record": str(record)}
    runner = cluster_runner(tmp_path, monkeypatch, inventory={"timeout": 1}, console=console)
    cache = master_cache(runner)
    cache.store("pillar", host, {"brine": {"console": {"address": "192.0.2.11"}}})
    cache.store("brine/inventory", host, {"vms": [name]})
    use_client(monkeypatch, runner, {host: {"hypervisor.console": host_console}})
    answer = runner.console(name, binding=CONSOLE_KEYS["binding"], public_key=CONSOLE_KEYS["public_key"])
    (password,) = re.findall(r'passwd="([^"]+)"', updates[0][0])
    assert console_crypto.decrypt(CONSOLE_KEYS["private_key"], answer["password_encrypted"]) == password
    for ret in (*returns, answer):
        assert "password" not in ret and password not in json.dumps(ret)
    assert password not in record.read_text() and answer["token"] not in record.read_text()
