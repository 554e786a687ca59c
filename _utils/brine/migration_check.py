"""
Whether a host can take a VM by migration (docs/api.md, Migration): what the VM needs, read on
its host (``needs``), what a candidate target has (``target_facts``), and every reason the
target cannot take it (``target_problems``, pure). A reason is ``{code, reason, offer}``: the
runner shows the reasons and offers ``offline`` or ``copy_storage`` where they would help.

Configuration the callers pass in (``brine:migration:unsafe_shared_storage``,
``brine:capacity:reserved_memory``, ``brine:capacity:vcpu_ratio``) is read with
``brine.config``; ``configured_number`` reads the numeric ones.

:depends: libvirt-python
"""

import logging
import os
from xml.etree import ElementTree

from brine import config
from brine import domxml
from brine import libvirt_host
from brine import vocabulary

try:
    import libvirt
except ImportError:
    libvirt = None

log = logging.getLogger(__name__)

# Pool types whose volumes every host of a cluster reaches (network or SAN storage).
SHARED_POOL_TYPES = frozenset(("netfs", "gluster", "rbd", "iscsi", "iscsi-direct", "mpath"))


def configured_number(key, lookup):
    """A number from ``brine:<key>``; the key's default (and a warning) when it is not one."""
    default = config.default(key)
    value = config.get(key, lookup)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        log.warning("brine:%s is not a number (%r); using %s", key, value, default)
        return default
    return number if number >= 0 else default


def shared_folders(value):
    """``brine:migration:unsafe_shared_storage`` as a list of folder names."""
    folders = [value] if isinstance(value, str) else value or []
    return [str(folder) for folder in folders]


def inside(path, folders):
    path = os.path.normpath(path)
    for configured in folders or ():
        folder = os.path.normpath(str(configured))
        if path == folder or path.startswith(folder.rstrip("/") + "/"):
            return True
    return False


# Why a disk counts as shared when only Brine's configuration says so: libvirt sees a file on a
# local filesystem there, and refuses to migrate without VIR_MIGRATE_UNSAFE whatever its cache.
SHARED_BY_CONFIGURATION = "in a folder configured as shared storage (brine:migration:unsafe_shared_storage)"


def disk_sharing(disk, pool_type, folders):
    """
    (shared, why) for one disk of the source: shared when libvirt knows the storage is (a
    network pool, a disk marked shareable or read-only) or the configuration says so.
    """
    if disk.get("shareable") or disk.get("readonly"):
        return True, "read-only or shareable"
    if disk.get("source_type") == "network":
        return True, "network disk"
    if pool_type in SHARED_POOL_TYPES:
        return True, f"in a {pool_type} storage pool"
    if disk.get("path") and inside(disk["path"], folders):
        return True, SHARED_BY_CONFIGURATION
    return False, "on this host's local storage"


# --- on the VM's host ---------------------------------------------------------------


def _cpu_needs(conn, root):
    """(cpu mode, CPU XML to compare on a target) of a domain's XML root."""
    cpu = root.find("cpu")
    if cpu is None:
        return None, None
    mode = cpu.get("mode", "custom")
    if mode == "host-passthrough":
        host_cpu = ElementTree.fromstring(conn.getCapabilities()).find("host/cpu")
        return mode, ElementTree.tostring(host_cpu, encoding="unicode") if host_cpu is not None else None
    if mode == "custom" and cpu.find("model") is None:
        return mode, None
    cpu.tail = None
    return mode, ElementTree.tostring(cpu, encoding="unicode")


def _shared_disks(conn, xml_text, folders):
    volumes = libvirt_host.pool_volumes(conn)
    disks = []
    for disk in domxml.disk_details(xml_text):
        pool_type = None
        if disk["path"]:
            found = volumes.get(os.path.normpath(disk["path"]))
            if found is not None:
                pool_type = ElementTree.fromstring(found[0].XMLDesc(0)).get("type")
        disk["shared"], disk["sharing"] = disk_sharing(disk, pool_type, folders)
        disks.append(disk)
    return disks


def needs(conn, dom, host, folders):
    """What the VM ``dom`` on this host needs from a migration target (``migration_needs``)."""
    state = libvirt_host.current_state(dom)
    xml_text = dom.XMLDesc(0)
    root = ElementTree.fromstring(xml_text)
    vm = libvirt_host.describe_domain(conn, dom) or {}
    disks = _shared_disks(conn, xml_text, folders)
    cpu_mode, cpu_xml = _cpu_needs(conn, root)
    os_type = root.find("os/type")
    nics = vm.get("nics") or [domxml.parse_nic(i) for i in root.findall("devices/interface")]
    return {
        "name": dom.name(),
        "uuid": dom.UUIDString(),
        "host": host,
        "state": state,
        "active": vocabulary.is_active(state),
        "memory": vm.get("memory") or domxml.memory_kib(root.find("currentMemory")),
        "vcpus": vm.get("vcpus") or domxml.int_or_none(root.findtext("vcpu")),
        "domain_type": root.get("type"),
        "arch": os_type.get("arch") if os_type is not None else None,
        "machine": os_type.get("machine") if os_type is not None else None,
        "emulator": root.findtext("devices/emulator"),
        "cpu_mode": cpu_mode,
        "cpu_xml": cpu_xml,
        "networks": sorted({nic["network"] for nic in nics if nic["type"] == "network" and nic["network"]}),
        "bridges": sorted({nic["bridge"] for nic in nics if nic["type"] == "bridge" and nic["bridge"]}),
        "disks": disks,
    }


# --- on a candidate target ----------------------------------------------------------


def _cpu_problem(conn, vm_needs, host):
    """A sentence when this host cannot run the VM's CPU, else None (also when it cannot tell)."""
    if not vm_needs.get("active") or not vm_needs.get("cpu_xml"):
        return None
    try:
        if vm_needs.get("cpu_mode") == "host-passthrough":
            compared = conn.compareCPU(vm_needs["cpu_xml"], 0)
        else:
            compared = conn.compareHypervisorCPU(
                vm_needs.get("emulator"),
                vm_needs.get("arch"),
                vm_needs.get("machine"),
                vm_needs.get("domain_type"),
                vm_needs["cpu_xml"],
                0,
            )
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return None
        return f"{host} cannot run {vm_needs['name']}'s CPU model: {libvirt_host.message(err)}"
    if compared == libvirt.VIR_CPU_COMPARE_INCOMPATIBLE:
        what = "the CPU of its host" if vm_needs.get("cpu_mode") == "host-passthrough" else "its CPU model"
        return f"{host}'s CPU is not compatible with {vm_needs['name']}'s ({what})"
    return None


def _same_vm(conn, vm_needs):
    """({uuid, active} of a domain with the VM's name, or None; name of one with its UUID, or None)."""
    try:
        dom = conn.lookupByName(vm_needs["name"])
        return {"uuid": dom.UUIDString(), "active": bool(dom.isActive())}, None
    except libvirt.libvirtError as err:
        if not libvirt_host.is_missing(err):
            raise
    if not vm_needs.get("uuid"):
        return None, None
    try:
        return None, conn.lookupByUUIDString(vm_needs["uuid"]).name()
    except libvirt.libvirtError as err:
        if not libvirt_host.is_missing(err):
            raise
    return None, None


def _path_reachable(path, volumes):
    return os.path.normpath(path) in volumes or os.path.exists(path)


def capacity_facts(conn, host, reserved_memory, vcpu_ratio):
    """
    What a host has for one more VM, by migration or by a create: memory (running VMs' and the
    reserve), CPUs and vCPUs, networks. ``capacity_problems`` weighs them.
    """
    info = conn.getInfo()
    totals = vocabulary.totals(libvirt_host.describe_all(conn))
    networks = conn.listAllNetworks(0)
    return {
        "host": host,
        "memory_total": libvirt_host.node_memory_total(conn, info[1]),
        "memory_allocated": totals["memory_allocated"],
        "memory_available": libvirt_host.node_memory_available(conn),
        "reserved_memory": int(reserved_memory),
        "cpus": info[2],
        "vcpus_allocated": totals["vcpus_allocated"],
        "vcpu_ratio": vcpu_ratio,
        "networks_active": {net.name() for net in networks if net.isActive()},
        "networks_defined": {net.name() for net in networks},
    }


def target_facts(conn, vm_needs, host, reserved_memory, vcpu_ratio):
    """What this host knows that ``target_problems`` weighs."""
    same_name, same_uuid = _same_vm(conn, vm_needs)
    volumes = libvirt_host.pool_volumes(conn)
    return {
        **capacity_facts(conn, host, reserved_memory, vcpu_ratio),
        "same_name": same_name,
        "same_uuid": same_uuid,
        "cpu_problem": _cpu_problem(conn, vm_needs, host),
        # The minion runs on the host it manages: its interfaces are the host's.
        "bridges": {b for b in vm_needs.get("bridges", []) if os.path.exists(f"/sys/class/net/{b}")},
        "paths_reachable": {
            disk["path"]: _path_reachable(disk["path"], volumes)
            for disk in vm_needs.get("disks", [])
            if disk.get("path")
        },
    }


def _mib(kib):
    return f"{(kib or 0) / 1024:.0f} MiB"


def _problem(code, reason, offer=None):
    return {"code": code, "reason": reason, "offer": offer}


def _identity_problems(vm_needs, facts):
    name, host = vm_needs["name"], facts["host"]
    same = facts.get("same_name")
    if same:
        if same.get("uuid") == vm_needs.get("uuid") and same.get("active"):
            return [_problem("same_host", f"{name} already runs on {host}")]
        return [_problem("name_taken", f"a VM named {name} is already defined on {host}")]
    if facts.get("same_uuid"):
        return [_problem("name_taken", f"{host} already has a VM with {name}'s UUID ({facts['same_uuid']})")]
    return []


def _memory_problems(vm_needs, facts):
    name, host = vm_needs["name"], facts["host"]
    memory = vm_needs.get("memory") or 0
    usable = facts["memory_total"] - facts["memory_allocated"] - facts["reserved_memory"]
    if memory > usable:
        return [
            _problem(
                "memory",
                f"{host} has {_mib(max(usable, 0))} of memory left for VMs ({_mib(facts['memory_total'])}"
                f" total, {_mib(facts['memory_allocated'])} used by running VMs, "
                f"{_mib(facts['reserved_memory'])} reserved); {name} needs {_mib(memory)}",
            )
        ]
    if facts.get("memory_available") is not None and memory > facts["memory_available"]:
        return [
            _problem(
                "memory",
                f"{host} has only {_mib(facts['memory_available'])} of memory free right now; "
                f"{name} needs {_mib(memory)}",
            )
        ]
    return []


def _cpu_problems(vm_needs, facts):
    name, host = vm_needs["name"], facts["host"]
    problems = []
    vcpus = vm_needs.get("vcpus") or 0
    limit = facts["cpus"] * facts["vcpu_ratio"]
    if vcpus > facts["cpus"]:
        problems.append(_problem("vcpus", f"{name} has {vcpus} vCPUs but {host} only {facts['cpus']} CPUs"))
    elif facts["vcpus_allocated"] + vcpus > limit:
        problems.append(
            _problem(
                "vcpus",
                f"{host} runs {facts['vcpus_allocated']} vCPUs on {facts['cpus']} CPUs (at most "
                f"{limit:g} allowed); {name}'s {vcpus} more would be too many",
            )
        )
    if facts.get("cpu_problem"):
        problems.append(_problem("cpu", facts["cpu_problem"]))
    return problems


def _network_problems(vm_needs, facts):
    name, host = vm_needs["name"], facts["host"]
    problems = []
    for network in vm_needs.get("networks", []):
        if network not in facts["networks_active"]:
            where = "defined but not active" if network in facts["networks_defined"] else "missing"
            problems.append(
                _problem("network", f"network {network}, which {name} uses, is {where} on {host}")
            )
    for bridge in vm_needs.get("bridges", []):
        if bridge not in facts["bridges"]:
            problems.append(_problem("bridge", f"bridge {bridge}, which {name} uses, is missing on {host}"))
    return problems


def _disk_problems(vm_needs, facts):
    host = facts["host"]
    problems = []
    for disk in vm_needs.get("disks", []):
        if not disk.get("path"):
            continue
        is_disk = disk.get("device") in ("disk", "lun")
        label = f"{'disk' if is_disk else disk.get('device')} {disk.get('target')} ({disk['path']})"
        if not disk.get("shared") and is_disk:
            problems.append(
                _problem(
                    "disk_local",
                    f"{label} is on {vm_needs.get('host')}'s local storage, which {host} cannot reach; "
                    "it can be copied with the migration",
                    "copy_storage",
                )
            )
        elif not facts["paths_reachable"].get(disk["path"], False):
            offer = "copy_storage" if is_disk else None
            problems.append(_problem("disk_unreachable", f"{label} is not reachable from {host}", offer))
    return problems


def capacity_problems(vm_needs, facts):
    """
    The reasons a host (``facts`` as ``target_facts`` gathers them) has no room for a VM of
    ``vm_needs``' memory, vCPUs, networks and bridges: what a migration and a new VM share.
    """
    return (
        _memory_problems(vm_needs, facts)
        + _cpu_problems(vm_needs, facts)
        + _network_problems(vm_needs, facts)
    )


def target_problems(vm_needs, facts):
    """
    Why this host (``facts``, gathered on it) cannot take the VM described by ``vm_needs``
    (``needs`` on the source): a list of ``{code, reason, offer}``; empty when it can.
    """
    problems = _identity_problems(vm_needs, facts)
    if problems and problems[0]["code"] == "same_host":
        return problems
    if not vm_needs.get("active"):
        problems.append(
            _problem(
                "not_running",
                f"{vm_needs['name']} is not running, so only its definition can move (offline migration)",
                "offline",
            )
        )
    else:
        problems += _memory_problems(vm_needs, facts) + _cpu_problems(vm_needs, facts)
    return problems + _network_problems(vm_needs, facts) + _disk_problems(vm_needs, facts)
