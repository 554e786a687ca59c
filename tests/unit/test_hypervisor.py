"""
Pure logic of the ``hypervisor`` execution module, and its error boundary.
"""

import importlib.util
import pathlib
from unittest import mock

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

libvirt = pytest.importorskip("libvirt")

MODULE_PATH = pathlib.Path(__file__).resolve().parents[2] / "_modules" / "hypervisor.py"
_spec = importlib.util.spec_from_file_location("hypervisor", MODULE_PATH)
hypervisor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hypervisor)


@pytest.fixture
def configure_loader_modules():
    return {
        hypervisor: {
            "__salt__": {"config.get": mock.Mock(return_value="test:///default")},
            "__grains__": {"id": "hv1"},
        }
    }


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
}


# --- XML parsing -------------------------------------------------------------------


def test_parse_rich_domain_xml():
    assert hypervisor._parse_domain_xml(RICH_DOMAIN_XML) == RICH_DOMAIN_PARSED


def test_parse_minimal_domain_xml():
    parsed = hypervisor._parse_domain_xml(
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
    memory = hypervisor.ElementTree.fromstring(element)
    assert hypervisor._memory_kib(memory) == kib


def test_parse_capabilities_names_vendor_model_and_arch():
    caps = (
        "<capabilities><host><cpu><arch>x86_64</arch><model>EPYC-Rome</model>"
        "<vendor>AMD</vendor></cpu></host></capabilities>"
    )
    assert hypervisor._parse_capabilities(caps) == ("AMD EPYC-Rome", "x86_64")
    assert hypervisor._parse_capabilities(
        "<capabilities><host><cpu><arch>i686</arch></cpu></host></capabilities>"
    ) == (None, "i686")
    assert hypervisor._parse_capabilities("<capabilities/>") == (None, None)


@pytest.mark.parametrize(
    "number, text", [(9000000, "9.0.0"), (7002001, "7.2.1"), (10010012, "10.10.12"), (2, "0.0.2")]
)
def test_version_string(number, text):
    assert hypervisor._version_string(number) == text


# --- states and reasons ------------------------------------------------------------


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
    assert hypervisor._state_name(getattr(libvirt, constant)) == word


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
        assert hypervisor._reason_name(state, code) == word
    assert hypervisor._reason_name(getattr(libvirt, prefix[:-1]), reasons["unknown"]) == "unknown"


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
    assert hypervisor._reason_name(state, reason) == word


@pytest.mark.parametrize("state", [-1, 8, 999, None, "1"])
def test_unknown_state_is_nostate(state):
    assert hypervisor._state_name(state) == "nostate"


# --- arguments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["a", "lab-vm1", "Web_01.example+blue", "9lives", "x" * 64, "a-", "a."]
)
def test_valid_names_are_accepted(name):
    assert hypervisor._validate_name(name) == name


def test_integer_name_from_the_cli_is_a_string():
    assert hypervisor._validate_name(123) == "123"


@pytest.mark.parametrize(
    "name",
    [
        "../etc",
        "a;rm -rf /",
        "",
        "-x",
        ".hidden",
        "_x",
        "+x",
        "a/b",
        "a b",
        "a$b",
        "a`id`",
        "x" * 65,
        "vm\n",
        "vm\x00",
        "vé",
        None,
        True,
        ["vm"],
        1.5,
    ],
    ids=repr,
)
def test_invalid_names_are_refused(name):
    with pytest.raises(SaltInvocationError, match="not a valid VM name"):
        hypervisor._validate_name(name)


@pytest.mark.parametrize(
    "value, flag",
    [(True, True), (False, False), (1, True), (0, False), ("True", True), ("no", False),
     (" yes ", True), ("false", False), ("on", True), ("0", False)],
)
def test_flags(value, flag):
    assert hypervisor._as_flag(value, "force") is flag


@pytest.mark.parametrize("value", ["maybe", "", None, 2, -1, 0.5, [], "nein"], ids=repr)
def test_ambiguous_flags_are_refused(value):
    with pytest.raises(SaltInvocationError, match="remove_disks must be true or false"):
        hypervisor._as_flag(value, "remove_disks")


@pytest.mark.parametrize("value, seconds", [(60, 60.0), (0, 0.0), ("2.5", 2.5), (0.1, 0.1)])
def test_timeouts(value, seconds):
    assert hypervisor._as_timeout(value) == seconds


@pytest.mark.parametrize(
    "value", [-1, "soon", None, True, float("nan"), float("inf"), []], ids=repr
)
def test_bad_timeouts_are_refused(value):
    with pytest.raises(SaltInvocationError, match="timeout must be"):
        hypervisor._as_timeout(value)


# --- VM dicts and totals -----------------------------------------------------------


def test_build_vm_of_a_running_vm_prefers_live_stats():
    parsed = hypervisor._parse_domain_xml(RICH_DOMAIN_XML)
    stats = {
        "state.state": libvirt.VIR_DOMAIN_RUNNING,
        "state.reason": libvirt.VIR_DOMAIN_RUNNING_MIGRATED,
        "balloon.current": 1048576,
        "balloon.maximum": 2097152,
        "vcpu.current": 3,
        "vcpu.maximum": 4,
        "cpu.time": 123456789,
    }
    vm = hypervisor._build_vm(
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
        "graphics",
    ]  # fmt: skip
    # The parsed XML is not changed along the way.
    assert parsed == RICH_DOMAIN_PARSED


def test_build_vm_of_a_running_vm_without_stats_groups_uses_the_xml_and_fallback():
    parsed = hypervisor._parse_domain_xml(RICH_DOMAIN_XML)
    vm = hypervisor._build_vm(
        parsed, {"state.state": libvirt.VIR_DOMAIN_PAUSED, "state.reason": 1}, False, True,
        cpu_time=42,
    )  # fmt: skip
    assert (vm["state"], vm["reason"]) == ("paused", "user")
    assert (vm["vcpus"], vm["memory"], vm["max_memory"]) == (2, 1536 * 1024, 2 * 1024 * 1024)
    assert vm["cpu_time"] == 42


def test_build_vm_of_a_stopped_vm_has_no_cpu_time_and_no_ips():
    parsed = hypervisor._parse_domain_xml(RICH_DOMAIN_XML)
    stats = {
        "state.state": libvirt.VIR_DOMAIN_SHUTOFF,
        "state.reason": libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN,
        "cpu.time": 999,  # stale numbers must not leak into a shut-off VM
        "balloon.current": 1,
    }
    vm = hypervisor._build_vm(
        parsed, stats, False, False, ips={"52:54:00:6b:3c:01": "192.168.122.10"}, cpu_time=7
    )
    assert (vm["state"], vm["reason"]) == ("shutoff", "shutdown")
    assert vm["cpu_time"] == 0
    assert vm["memory"] == 1536 * 1024
    assert all(nic["ip"] is None for nic in vm["nics"])
    assert (vm["autostart"], vm["persistent"]) == (False, False)


def _vm(state, vcpus, memory):
    return {"state": state, "vcpus": vcpus, "memory": memory}


def test_totals_count_active_vms_only():
    vms = [
        _vm("running", 2, 1024),
        _vm("paused", 1, 512),
        _vm("blocked", 1, 256),
        _vm("shutoff", 8, 8192),
        _vm("crashed", 4, 128),
        _vm("pmsuspended", 1, 64),
        _vm("nostate", 16, 16384),
    ]
    assert hypervisor._vm_totals(vms) == {
        "vm_count": 7,
        "vms_running": 5,
        "vcpus_allocated": 2 + 1 + 1 + 4 + 1,
        "memory_allocated": 1024 + 512 + 256 + 128 + 64,
    }
    assert hypervisor._vm_totals([]) == {
        "vm_count": 0,
        "vms_running": 0,
        "vcpus_allocated": 0,
        "memory_allocated": 0,
    }


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

    ips, bridges = hypervisor._network_facts(conn)

    assert ips == {"52:54:00:aa:00:01": "192.168.122.10", "52:54:00:aa:00:02": "fd00::11"}
    assert bridges == {"default": "virbr0", "direct": None}
    conn.listAllNetworks.assert_called_once_with(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)


def test_file_sizes(tmp_path):
    image = tmp_path / "disk.raw"
    image.write_bytes(b"x" * 10000)
    capacity, allocation = hypervisor._file_sizes(str(image))
    assert capacity == 10000
    assert allocation == image.stat().st_blocks * 512
    assert hypervisor._file_sizes(str(tmp_path / "missing.raw")) == (None, None)
    assert hypervisor._file_sizes(str(tmp_path)) == (None, None)


# --- what each action allows -------------------------------------------------------

ALLOWED_STATES = {
    "start": {"shutoff", "nostate"},
    "shutdown": {"running", "blocked", "shutdown"},
    "force_off": {"running", "blocked", "paused", "shutdown", "crashed", "pmsuspended"},
    "reboot": {"running", "blocked"},
    "pause": {"running", "blocked"},
    "resume": {"paused"},
    "delete": {"shutoff", "nostate"},
}


@pytest.mark.parametrize("state", hypervisor.STATE_NAMES)
@pytest.mark.parametrize("action", sorted(ALLOWED_STATES))
def test_refusal_depends_on_state(action, state):
    refusal = hypervisor._refusal(action, "lab-vm1", "hv1", state)
    if state in ALLOWED_STATES[action]:
        assert refusal is None
    else:
        assert refusal.startswith("lab-vm1 is ")
        assert " on hv1" in refusal


def test_refusal_of_an_unknown_action_is_a_bug():
    with pytest.raises(ValueError):
        hypervisor._refusal("migrate", "lab-vm1", "hv1", "running")


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
    assert hypervisor._undefine_flags(xml_text, remove_disks, has_checkpoints) == flags


# --- loading and the libvirt error boundary ----------------------------------------


def test_virtual_refuses_to_load_without_libvirt(monkeypatch):
    monkeypatch.setattr(hypervisor, "HAS_LIBVIRT", False)
    loaded, why = hypervisor.__virtual__()
    assert loaded is False
    assert "libvirt-python" in why


def test_virtual_loads_as_hypervisor():
    assert hypervisor.__virtual__() == "hypervisor"


def test_connection_uses_the_configured_uri():
    with mock.patch.object(hypervisor.libvirt, "open", autospec=True) as libvirt_open:
        assert hypervisor._open_connection() is libvirt_open.return_value
    libvirt_open.assert_called_once_with("test:///default")
    hypervisor.__salt__["config.get"].assert_called_once_with("virt:connection:uri")


def test_connection_without_a_configured_uri_uses_libvirts_default():
    hypervisor.__salt__["config.get"].return_value = ""
    with mock.patch.object(hypervisor.libvirt, "open", autospec=True) as libvirt_open:
        hypervisor._open_connection()
    libvirt_open.assert_called_once_with(None)


CALLS = {
    "inventory": {},
    "vm_info": {"name": "lab-vm1"},
    "start": {"name": "lab-vm1"},
    "shutdown": {"name": "lab-vm1", "timeout": 1, "force": True},
    "force_off": {"name": "lab-vm1"},
    "reboot": {"name": "lab-vm1"},
    "pause": {"name": "lab-vm1"},
    "resume": {"name": "lab-vm1"},
    "delete": {"name": "lab-vm1", "remove_disks": True},
    "console": {"name": "lab-vm1"},
    # Migration section
    "migration_needs": {"name": "lab-vm1"},
    "migration_target_check": {"needs": {"name": "lab-vm1", "uuid": "2b13d5ef-457d-4164-9f62-2b2aee0e69d7"}},
    "migrate": {"name": "lab-vm1", "target": "hv2", "migration_id": "mig-1-abcdef"},
    "migration_abort": {"name": "lab-vm1"},
    "migration_cleanup": {"name": "lab-vm1", "uuid": "2b13d5ef-457d-4164-9f62-2b2aee0e69d7"},
}
# Functions whose VM name is inside another argument (tested in test_hypervisor_migration.py).
NAME_INSIDE = {"migration_target_check"}


def test_calls_cover_every_public_function():
    public = {
        name
        for name, value in vars(hypervisor).items()
        if callable(value)
        and not name.startswith("_")
        and getattr(value, "__module__", None) == hypervisor.__name__
    }
    assert public == set(CALLS)


@pytest.fixture(params=["connecting", "calling"])
def failing_libvirt(request):
    """
    Patch the connection helper so that libvirt fails either when the connection is
    opened or on every call made on it.
    """
    error = libvirt.libvirtError("boom from libvirt")
    conn = mock.create_autospec(libvirt.virConnect, instance=True)
    for attribute in dir(libvirt.virConnect):
        if not attribute.startswith("_") and attribute != "close":
            getattr(conn, attribute).side_effect = error
    with mock.patch.object(hypervisor, "_open_connection", autospec=True) as open_connection:
        if request.param == "connecting":
            open_connection.side_effect = error
        else:
            open_connection.return_value = conn
        yield request.param, open_connection, conn


@pytest.mark.parametrize("function", sorted(CALLS))
def test_libvirt_errors_become_command_execution_errors(failing_libvirt, function):
    failure_point, open_connection, conn = failing_libvirt

    with pytest.raises(CommandExecutionError, match="boom from libvirt") as raised:
        getattr(hypervisor, function)(**CALLS[function])

    assert isinstance(raised.value.__cause__, libvirt.libvirtError)
    open_connection.assert_called_once_with()
    if failure_point == "connecting":
        assert "cannot connect to libvirt" in str(raised.value)
    else:
        conn.close.assert_called_once_with()


@pytest.mark.parametrize("function", sorted(set(CALLS) - {"inventory"} - NAME_INSIDE))
def test_bad_names_are_refused_before_connecting(failing_libvirt, function):
    _, open_connection, _ = failing_libvirt
    with pytest.raises(SaltInvocationError):
        getattr(hypervisor, function)(**{**CALLS[function], "name": "../etc"})
    open_connection.assert_not_called()


@pytest.mark.parametrize("function", sorted(CALLS))
def test_every_public_function_has_a_cli_example(function):
    docstring = getattr(hypervisor, function).__doc__
    example = docstring.split("CLI Example:", 1)
    assert len(example) == 2, f"{function} has no CLI Example"
    assert f"salt hv1 hypervisor.{function}" in example[1]
