"""
Reading libvirt's XML (``brine.domxml``): domain definitions, memory units, host capabilities,
Brine's VM dict from XML and stats, and the flags of an undefine.
"""

from xml.etree import ElementTree

import pytest

from brine import domxml

libvirt = pytest.importorskip("libvirt")

RICH_DOMAIN_XML = """
<domain type='kvm' id='7'>
  <name>lab-vm1</name>
  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
  <memory unit='GiB'>2</memory>
  <currentMemory unit='MiB'>1536</currentMemory>
  <vcpu placement='static' current='2'>4</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>
    <nvram>/var/lib/libvirt/qemu/nvram/lab-vm1_VARS.fd</nvram>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/lab-vm1.qcow2' index='3'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source dev='/dev/vg0/lab-vm1-data'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='rbd' name='rbd/lab-vm1'><host name='mon1' port='6789'/></source>
      <target dev='vdc' bus='virtio'/>
    </disk>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source pool='default' volume='extra.qcow2'/>
      <target dev='vdd' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/srv/iso/debian-12.iso'/>
      <target dev='sdb' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:6B:3C:01'/>
      <source network='default' portid='9f1c' bridge='virbr0'/>
      <target dev='vnet0'/>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:6b:3c:02'/>
      <source bridge='br-lan'/>
      <model type='e1000e'/>
    </interface>
    <interface type='network'>
      <mac address='52:54:00:6b:3c:03'/>
      <source network='isolated'/>
    </interface>
    <interface type='direct'>
      <mac address='52:54:00:6b:3c:04'/>
      <source dev='eth0' mode='bridge'/>
      <model type='virtio'/>
    </interface>
    <interface type='user'>
      <mac address='52:54:00:6b:3c:05'/>
    </interface>
    <graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <graphics type='spice' autoport='yes'>
      <listen type='address' address='0.0.0.0'/>
    </graphics>
    <graphics type='vnc'>
      <listen type='socket' socket='/run/libvirt/qemu/lab-vm1.vnc'/>
    </graphics>
    <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
  </devices>
</domain>
"""

RICH_DOMAIN_PARSED = {
    "name": "lab-vm1",
    "uuid": "4dea22b3-1d52-d8f3-2516-782e98ab3fa0",
    "vcpus": 2,
    "max_vcpus": 4,
    "memory": 1536 * 1024,
    "max_memory": 2 * 1024 * 1024,
    "os_type": "hvm",
    "domain_type": "kvm",
    "disks": [
        {
            "target": "vda",
            "device": "disk",
            "path": "/var/lib/libvirt/images/lab-vm1.qcow2",
            "format": "qcow2",
            "capacity": None,
            "allocation": None,
        },
        {
            "target": "vdb",
            "device": "disk",
            "path": "/dev/vg0/lab-vm1-data",
            "format": "raw",
            "capacity": None,
            "allocation": None,
        },
        {
            "target": "vdc",
            "device": "disk",
            "path": None,
            "format": "raw",
            "capacity": None,
            "allocation": None,
        },
        {
            "target": "vdd",
            "device": "disk",
            "path": None,
            "format": "qcow2",
            "capacity": None,
            "allocation": None,
        },
        {
            "target": "sda",
            "device": "cdrom",
            "path": None,
            "format": "raw",
            "capacity": None,
            "allocation": None,
        },
        {
            "target": "sdb",
            "device": "cdrom",
            "path": "/srv/iso/debian-12.iso",
            "format": "raw",
            "capacity": None,
            "allocation": None,
        },
    ],
    "nics": [
        {
            "mac": "52:54:00:6b:3c:01",
            "type": "network",
            "network": "default",
            "bridge": "virbr0",
            "model": "virtio",
            "ip": None,
        },
        {
            "mac": "52:54:00:6b:3c:02",
            "type": "bridge",
            "network": None,
            "bridge": "br-lan",
            "model": "e1000e",
            "ip": None,
        },
        {
            "mac": "52:54:00:6b:3c:03",
            "type": "network",
            "network": "isolated",
            "bridge": None,
            "model": None,
            "ip": None,
        },
        {
            "mac": "52:54:00:6b:3c:04",
            "type": "direct",
            "network": None,
            "bridge": None,
            "model": "virtio",
            "ip": None,
        },
        {
            "mac": "52:54:00:6b:3c:05",
            "type": "user",
            "network": None,
            "bridge": None,
            "model": None,
            "ip": None,
        },
    ],
    "graphics": [
        {"type": "vnc", "port": 5901, "listen": "127.0.0.1"},
        {"type": "spice", "port": None, "listen": "0.0.0.0"},
        {"type": "vnc", "port": None, "listen": "/run/libvirt/qemu/lab-vm1.vnc"},
    ],
    "install": None,
}


# --- XML parsing -------------------------------------------------------------------


def test_parse_rich_domain_xml():
    assert domxml.parse_domain(RICH_DOMAIN_XML) == RICH_DOMAIN_PARSED


def test_parse_minimal_domain_xml():
    parsed = domxml.parse_domain(
        "<domain type='qemu'><name>tiny</name><uuid>u-1</uuid>"
        "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"
    )
    assert parsed == {
        "name": "tiny",
        "uuid": "u-1",
        "vcpus": 1,  # no current= means all of them
        "max_vcpus": 1,
        "memory": 65536,  # no currentMemory means all of it; no unit means KiB
        "max_memory": 65536,
        "os_type": "hvm",
        "domain_type": "qemu",
        "disks": [],
        "nics": [],
        "graphics": [],
        "install": None,
    }


@pytest.mark.parametrize(
    "element, kib",
    [
        ("<memory unit='KiB'>1024</memory>", 1024),
        ("<memory unit='k'>1024</memory>", 1024),
        ("<memory unit='MiB'>2</memory>", 2048),
        ("<memory unit='M'>2</memory>", 2048),
        ("<memory unit='GiB'>1</memory>", 1024 * 1024),
        ("<memory unit='TiB'>1</memory>", 1024**3),
        ("<memory unit='bytes'>1048576</memory>", 1024),
        ("<memory unit='b'>2048</memory>", 2),
        ("<memory unit='KB'>1024</memory>", 1000),
        ("<memory unit='MB'>1</memory>", 976),  # 10**6 bytes, whole KiB
        ("<memory unit='GB'>1</memory>", 10**9 // 1024),
        ("<memory>4096</memory>", 4096),
    ],
)
def test_memory_units_become_kib(element, kib):
    assert domxml.memory_kib(ElementTree.fromstring(element)) == kib


def test_parse_capabilities_names_vendor_model_and_arch():
    caps = (
        "<capabilities><host><cpu><arch>x86_64</arch><model>EPYC-Rome</model>"
        "<vendor>AMD</vendor></cpu></host></capabilities>"
    )
    assert domxml.parse_capabilities(caps) == ("AMD EPYC-Rome", "x86_64")
    assert domxml.parse_capabilities(
        "<capabilities><host><cpu><arch>i686</arch></cpu></host></capabilities>"
    ) == (None, "i686")
    assert domxml.parse_capabilities("<capabilities/>") == (None, None)


def test_disk_details_for_migration():
    details = domxml.disk_details(RICH_DOMAIN_XML)
    assert [(d["target"], d["source_type"], d["cache"], d["readonly"]) for d in details] == [
        ("vda", "file", None, False),
        ("vdb", "block", "none", False),
        ("vdc", "network", None, False),
        ("vdd", "volume", None, False),
        ("sda", "file", None, True),
        ("sdb", "file", None, True),
    ]


# --- VM dicts ----------------------------------------------------------------------


def test_build_vm_of_a_running_vm_prefers_live_stats():
    parsed = domxml.parse_domain(RICH_DOMAIN_XML)
    stats = {
        "state.state": libvirt.VIR_DOMAIN_RUNNING,
        "state.reason": libvirt.VIR_DOMAIN_RUNNING_MIGRATED,
        "balloon.current": 1048576,
        "balloon.maximum": 2097152,
        "vcpu.current": 3,
        "vcpu.maximum": 4,
        "cpu.time": 123456789,
    }
    vm = domxml.build_vm(
        parsed,
        stats,
        autostart=True,
        persistent=True,
        volume_sizes={"/var/lib/libvirt/images/lab-vm1.qcow2": (10737418240, 2147483648)},
        ips={"52:54:00:6b:3c:01": "192.168.122.10", "52:54:00:6b:3c:03": "10.0.0.5"},
        bridges={"default": "virbr0", "isolated": "virbr1"},
        cpu_time=5,
    )
    assert (vm["state"], vm["reason"]) == ("running", "migrated")
    assert (vm["vcpus"], vm["max_vcpus"]) == (3, 4)
    assert (vm["memory"], vm["max_memory"]) == (1048576, 2097152)
    assert vm["cpu_time"] == 123456789  # the stats win over the fallback
    assert (vm["autostart"], vm["persistent"]) == (True, True)
    assert (vm["disks"][0]["capacity"], vm["disks"][0]["allocation"]) == (10737418240, 2147483648)
    assert all(disk["capacity"] is None for disk in vm["disks"][1:])
    assert [nic["ip"] for nic in vm["nics"]] == ["192.168.122.10", None, "10.0.0.5", None, None]
    assert [nic["bridge"] for nic in vm["nics"]] == ["virbr0", "br-lan", "virbr1", None, None]
    assert vm["graphics"] == RICH_DOMAIN_PARSED["graphics"]
    assert list(vm) == [
        "name", "uuid", "state", "reason", "vcpus", "max_vcpus", "memory", "max_memory",
        "cpu_time", "autostart", "persistent", "os_type", "domain_type", "disks", "nics",
        "graphics", "install",
    ]  # fmt: skip
    # The parsed XML is not changed along the way.
    assert parsed == RICH_DOMAIN_PARSED


def test_build_vm_of_a_running_vm_without_stats_groups_uses_the_xml_and_fallback():
    parsed = domxml.parse_domain(RICH_DOMAIN_XML)
    vm = domxml.build_vm(
        parsed, {"state.state": libvirt.VIR_DOMAIN_PAUSED, "state.reason": 1}, False, True,
        cpu_time=42,
    )  # fmt: skip
    assert (vm["state"], vm["reason"]) == ("paused", "user")
    assert (vm["vcpus"], vm["memory"], vm["max_memory"]) == (2, 1536 * 1024, 2 * 1024 * 1024)
    assert vm["cpu_time"] == 42


def test_build_vm_of_a_stopped_vm_has_no_cpu_time_and_no_ips():
    parsed = domxml.parse_domain(RICH_DOMAIN_XML)
    stats = {
        "state.state": libvirt.VIR_DOMAIN_SHUTOFF,
        "state.reason": libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN,
        "cpu.time": 999,  # stale numbers must not leak into a shut-off VM
        "balloon.current": 1,
    }
    vm = domxml.build_vm(parsed, stats, False, False, ips={"52:54:00:6b:3c:01": "192.168.122.10"}, cpu_time=7)
    assert (vm["state"], vm["reason"]) == ("shutoff", "shutdown")
    assert vm["cpu_time"] == 0
    assert vm["memory"] == 1536 * 1024
    assert all(nic["ip"] is None for nic in vm["nics"])
    assert (vm["autostart"], vm["persistent"]) == (False, False)


def test_build_vm_of_a_crashed_vm_kept_for_inspection_counts_as_active():
    parsed = domxml.parse_domain(RICH_DOMAIN_XML)
    stats = {"state.state": libvirt.VIR_DOMAIN_CRASHED, "state.reason": 1, "cpu.time": 77}
    vm = domxml.build_vm(parsed, stats, False, True)
    assert (vm["state"], vm["reason"], vm["cpu_time"]) == ("crashed", "panicked", 77)


# --- undefine flags ----------------------------------------------------------------

PLAIN_XML = "<domain><name>a</name><os><type>hvm</type></os><devices/></domain>"
ALWAYS = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA


@pytest.mark.parametrize(
    "xml_text, remove_disks, has_checkpoints, flags",
    [
        (PLAIN_XML, False, False, ALWAYS),
        (PLAIN_XML, True, False, ALWAYS),
        (PLAIN_XML, False, True, ALWAYS | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA),
        (
            RICH_DOMAIN_XML,
            False,
            False,
            ALWAYS | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_TPM,
        ),
        (
            RICH_DOMAIN_XML,
            True,
            False,
            ALWAYS | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_TPM,
        ),
    ],
)
def test_undefine_flags(xml_text, remove_disks, has_checkpoints, flags):
    assert domxml.undefine_flags(xml_text, remove_disks, has_checkpoints) == flags


def test_the_install_marker_becomes_the_vm_dicts_install_field():
    xml = (
        "<domain type='qemu'><name>web1</name><uuid>u-2</uuid><memory>131072</memory><vcpu>1</vcpu>"
        f"<metadata><b:install xmlns:b='{domxml.INSTALL_NS}' state='installing' progress='40'"
        " step='writing the disk' keep='no'/><other xmlns='urn:x'/></metadata>"
        "<os><type>hvm</type></os></domain>"
    )
    parsed = domxml.parse_domain(xml)
    assert parsed["install"] == {
        "state": "installing",
        "progress": "40",
        "step": "writing the disk",
        "keep": "no",
    }
    vm = domxml.build_vm(parsed, {"state.state": libvirt.VIR_DOMAIN_RUNNING}, False, True)
    assert vm["install"] == {
        "state": "installing",
        "progress": 40,
        "step": "writing the disk",
        "reason": None,
    }


def test_a_marker_in_another_namespace_is_not_brines():
    xml = (
        "<domain type='qemu'><name>x</name><metadata><install xmlns='urn:other' state='installing'/>"
        "</metadata><os><type>hvm</type></os></domain>"
    )
    assert domxml.parse_domain(xml)["install"] is None
