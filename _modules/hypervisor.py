"""
Brine's host side: inventory and lifecycle of the virtual machines on this host
===============================================================================

Every function opens one libvirt connection, does its work with bulk calls on it,
and closes it. Data shapes are the ones in Brine's ``docs/api.md``: sizes of memory
are KiB (libvirt's unit), sizes of disks are bytes.

:depends: libvirt-python

Configuration
-------------
The libvirt URI is read with ``config.get``, so it can come from the minion
configuration or from pillar. Unset means libvirt's default (``qemu:///system``
when running as root).

.. code-block:: yaml

    virt:
      connection:
        uri: qemu:///system
"""

import contextlib
import logging
import os
import re
import secrets
import stat
import threading
import time
import xml.etree.ElementTree as ElementTree

from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

try:
    import libvirt

    HAS_LIBVIRT = True
except ImportError:
    HAS_LIBVIRT = False

log = logging.getLogger(__name__)

__virtualname__ = "hypervisor"

VM_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")

# libvirt's virDomainState values, in enum order.
STATE_NAMES = (
    "nostate",
    "running",
    "blocked",
    "paused",
    "shutdown",
    "shutoff",
    "crashed",
    "pmsuspended",
)

# libvirt's per-state reason enums (virDomainRunningReason, virDomainPausedReason, ...),
# in enum order. Written out rather than derived from the binding's constants because
# some prefixes collide with unrelated flags (VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN, ...).
REASON_NAMES = {
    "nostate": ("unknown",),
    "running": (
        "unknown",
        "booted",
        "migrated",
        "restored",
        "from_snapshot",
        "unpaused",
        "migration_canceled",
        "save_canceled",
        "wakeup",
        "crashed",
        "postcopy",
        "postcopy_failed",
    ),
    "blocked": ("unknown",),
    "paused": (
        "unknown",
        "user",
        "migration",
        "save",
        "dump",
        "ioerror",
        "watchdog",
        "from_snapshot",
        "shutting_down",
        "snapshot",
        "crashed",
        "starting_up",
        "postcopy",
        "postcopy_failed",
        "api_error",
    ),
    "shutdown": ("unknown", "user"),
    "shutoff": (
        "unknown",
        "shutdown",
        "destroyed",
        "crashed",
        "migrated",
        "saved",
        "failed",
        "from_snapshot",
        "daemon",
    ),
    "crashed": ("unknown", "panicked"),
    "pmsuspended": ("unknown",),
}

# States in which the domain has a live QEMU process (libvirt calls it "active").
ACTIVE_STATES = frozenset(
    ("running", "blocked", "paused", "shutdown", "crashed", "pmsuspended")
)
RUNNING_STATES = frozenset(("running", "blocked"))

# How a state reads in a sentence ("lab-vm1 is paused on hv1").
STATE_PHRASES = {
    "nostate": "in no known state",
    "running": "running",
    "blocked": "running",
    "paused": "paused",
    "shutdown": "shutting down",
    "shutoff": "shut off",
    "crashed": "crashed",
    "pmsuspended": "suspended by its guest",
}

# Pool types whose volumes live at <target path>/<volume name>, so the path of each
# volume is known without asking libvirt once per volume.
POOLS_WITH_TARGET_PATHS = frozenset(("dir", "fs", "netfs", "logical"))

MEMORY_UNITS_IN_BYTES = {
    "b": 1,
    "bytes": 1,
    "kb": 1000,
    "k": 1024,
    "kib": 1024,
    "mb": 1000**2,
    "m": 1024**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "g": 1024**3,
    "gib": 1024**3,
    "tb": 1000**4,
    "t": 1024**4,
    "tib": 1024**4,
}

TRUE_WORDS = frozenset(("true", "yes", "on", "1"))
FALSE_WORDS = frozenset(("false", "no", "off", "0"))

SHUTDOWN_POLL_SECONDS = 0.25


def __virtual__():
    if not HAS_LIBVIRT:
        return (False, "the hypervisor module needs libvirt-python (import libvirt failed)")
    return __virtualname__


# ---------------------------------------------------------------------------
# Pure helpers: no libvirt connection, no Salt dunders. Tests call them directly.
# ---------------------------------------------------------------------------


def _validate_name(name):
    """
    Return ``name`` as a string if Brine accepts it as a VM name, else raise
    ``SaltInvocationError``. Salt's CLI turns ``123`` into an int, so ints are accepted.
    """
    if isinstance(name, int) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str) or not VM_NAME_PATTERN.fullmatch(name):
        raise SaltInvocationError(
            f"{name!r} is not a valid VM name: use 1 to 64 letters, digits, '_', '.', '+' "
            "or '-', starting with a letter or digit"
        )
    return name


def _as_flag(value, argument):
    """
    Return ``value`` as a bool, accepting the spellings Salt's CLI and salt-api pass
    (``True``, ``"false"``, ``1``...). Anything else is a ``SaltInvocationError``,
    so that ``remove_disks="no"`` can never mean yes.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise SaltInvocationError(f"{argument} must be true or false, not {value!r}")


def _as_timeout(value):
    """
    Return ``value`` as a number of seconds (>= 0), else raise ``SaltInvocationError``.
    """
    if isinstance(value, bool):
        raise SaltInvocationError(f"timeout must be a number of seconds, not {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise SaltInvocationError(f"timeout must be a number of seconds, not {value!r}") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise SaltInvocationError(f"timeout must be 0 or more seconds, not {value!r}")
    return seconds


def _state_name(state):
    """
    Word for a libvirt ``virDomainState`` value; ``nostate`` for values libvirt may add later.
    """
    if isinstance(state, int) and 0 <= state < len(STATE_NAMES):
        return STATE_NAMES[state]
    return "nostate"


def _reason_name(state, reason):
    """
    Word for libvirt's reason code of ``state`` (a state word or a ``virDomainState`` value).
    """
    if not isinstance(state, str):
        state = _state_name(state)
    reasons = REASON_NAMES.get(state, ("unknown",))
    if isinstance(reason, int) and 0 <= reason < len(reasons):
        return reasons[reason]
    return "unknown"


def _version_string(number):
    """
    libvirt packs versions as ``major * 1000000 + minor * 1000 + micro``.
    """
    number = int(number or 0)
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


def _memory_kib(element):
    """
    KiB in a libvirt memory element (``<memory unit='MiB'>512</memory>``), or None.
    """
    if element is None or not (element.text or "").strip():
        return None
    unit = (element.get("unit") or "KiB").lower()
    factor = MEMORY_UNITS_IN_BYTES.get(unit, 1024)
    return int(element.text.strip()) * factor // 1024


def _int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _parse_disk(disk):
    source = disk.find("source")
    path = None
    if source is not None and disk.get("type", "file") in ("file", "block", "dir"):
        path = source.get("file") or source.get("dev") or source.get("dir")
    target = disk.find("target")
    driver = disk.find("driver")
    return {
        "target": target.get("dev") if target is not None else None,
        "device": disk.get("device", "disk"),
        "path": path,
        "format": driver.get("type") if driver is not None else None,
        "capacity": None,
        "allocation": None,
    }


def _parse_nic(interface):
    nic_type = interface.get("type")
    mac = interface.find("mac")
    source = interface.find("source")
    model = interface.find("model")
    network = bridge = None
    if source is not None:
        if nic_type == "network":
            network = source.get("network")
        if nic_type in ("network", "bridge"):
            # Running domains on a libvirt network carry the bridge in their live XML.
            bridge = source.get("bridge")
    return {
        "mac": mac.get("address").lower() if mac is not None and mac.get("address") else None,
        "type": nic_type,
        "network": network,
        "bridge": bridge,
        "model": model.get("type") if model is not None else None,
        "ip": None,
    }


def _parse_graphics(graphics):
    listen = graphics.get("listen")
    if not listen:
        for element in graphics.findall("listen"):
            listen = element.get("address") or element.get("socket")
            if listen:
                break
    return {
        "type": graphics.get("type"),
        "port": _int_or_none(graphics.get("port")),
        "listen": listen or None,
    }


def _parse_domain_xml(xml_text):
    """
    Parse a domain's XML (``XMLDesc``) into the parts of Brine's VM dict that the XML
    knows. State, CPU time, autostart, disk sizes and IPs come from elsewhere and are
    left out or null here.
    """
    root = ElementTree.fromstring(xml_text)
    vcpu = root.find("vcpu")
    max_vcpus = _int_or_none(vcpu.text) if vcpu is not None else None
    vcpus = _int_or_none(vcpu.get("current")) if vcpu is not None else None
    max_memory = _memory_kib(root.find("memory"))
    memory = _memory_kib(root.find("currentMemory"))
    devices = root.find("devices")
    if devices is None:
        devices = ElementTree.Element("devices")
    return {
        "name": root.findtext("name"),
        "uuid": root.findtext("uuid"),
        "vcpus": vcpus if vcpus is not None else max_vcpus,
        "max_vcpus": max_vcpus,
        "memory": memory if memory is not None else max_memory,
        "max_memory": max_memory,
        "os_type": root.findtext("os/type"),
        "domain_type": root.get("type"),
        "disks": [_parse_disk(disk) for disk in devices.findall("disk")],
        "nics": [_parse_nic(interface) for interface in devices.findall("interface")],
        "graphics": [_parse_graphics(graphics) for graphics in devices.findall("graphics")],
    }


def _build_vm(
    parsed,
    stats,
    autostart,
    persistent,
    volume_sizes=None,
    ips=None,
    bridges=None,
    cpu_time=None,
):
    """
    Brine's VM dict from a parsed domain XML and the domain's ``getAllDomainStats``
    record (``state.state``, ``balloon.current``, ``vcpu.current``, ``cpu.time``, ...).

    ``volume_sizes`` maps disk path -> (capacity, allocation) in bytes; ``ips`` maps MAC
    -> IP; ``bridges`` maps libvirt network name -> bridge; ``cpu_time`` is used when the
    stats have no ``cpu.time`` (drivers without the cpu-total group).
    """
    volume_sizes = volume_sizes or {}
    ips = ips or {}
    bridges = bridges or {}
    state = _state_name(stats.get("state.state"))
    active = state in ACTIVE_STATES
    vcpus = stats.get("vcpu.current", parsed["vcpus"])
    max_vcpus = stats.get("vcpu.maximum", parsed["max_vcpus"])
    memory = stats.get("balloon.current") if active else None
    max_memory = stats.get("balloon.maximum") if active else None
    if active:
        cpu_time = stats.get("cpu.time", cpu_time) or 0
    else:
        cpu_time = 0
    disks = []
    for disk in parsed["disks"]:
        disk = dict(disk)
        if disk["path"] is not None:
            disk["capacity"], disk["allocation"] = volume_sizes.get(disk["path"], (None, None))
        disks.append(disk)
    nics = []
    for nic in parsed["nics"]:
        nic = dict(nic)
        if nic["bridge"] is None and nic["network"] is not None:
            nic["bridge"] = bridges.get(nic["network"])
        # A lease outlives the guest that took it: only a running VM has an address.
        nic["ip"] = ips.get(nic["mac"]) if active else None
        nics.append(nic)
    return {
        "name": parsed["name"],
        "uuid": parsed["uuid"],
        "state": state,
        "reason": _reason_name(state, stats.get("state.reason")),
        "vcpus": vcpus,
        "max_vcpus": max_vcpus,
        "memory": memory if memory is not None else parsed["memory"],
        "max_memory": max_memory if max_memory is not None else parsed["max_memory"],
        "cpu_time": cpu_time,
        "autostart": bool(autostart),
        "persistent": bool(persistent),
        "os_type": parsed["os_type"],
        "domain_type": parsed["domain_type"],
        "disks": disks,
        "nics": nics,
        "graphics": [dict(graphics) for graphics in parsed["graphics"]],
    }


def _vm_totals(vms):
    """
    Counts and sums over VM dicts for the host facts; allocations count active VMs only.
    """
    active = [vm for vm in vms if vm["state"] in ACTIVE_STATES]
    return {
        "vm_count": len(vms),
        "vms_running": len(active),
        "vcpus_allocated": sum(vm["vcpus"] or 0 for vm in active),
        "memory_allocated": sum(vm["memory"] or 0 for vm in active),
    }


def _parse_capabilities(xml_text):
    """
    (cpu_model, cpu_arch) from the host part of ``getCapabilities()``; None when absent.
    """
    cpu = ElementTree.fromstring(xml_text).find("host/cpu")
    if cpu is None:
        return None, None
    model = " ".join(
        part for part in (cpu.findtext("vendor"), cpu.findtext("model")) if part
    )
    return model or None, cpu.findtext("arch")


def _refusal(action, name, host, state):
    """
    The sentence refusing ``action`` on a VM in ``state``, or None when it is possible.
    """
    phrase = STATE_PHRASES.get(state, state)
    if action == "start":
        if state in RUNNING_STATES:
            return f"{name} is already running on {host}"
        if state == "paused":
            return f"{name} is paused on {host}; resume it instead of starting it"
        if state in ACTIVE_STATES:
            return f"{name} is {phrase} on {host}, so it cannot be started"
    elif action == "shutdown":
        if state == "shutoff":
            return f"{name} is already shut off on {host}"
        if state == "paused":
            return f"{name} is paused on {host}; resume it before shutting it down, or force it off"
        if state not in RUNNING_STATES | {"shutdown"}:
            return f"{name} is {phrase} on {host}, so it cannot be shut down"
    elif action == "force_off":
        if state == "shutoff":
            return f"{name} is already shut off on {host}"
        if state not in ACTIVE_STATES:
            return f"{name} is {phrase} on {host}, so it cannot be powered off"
    elif action == "reboot":
        if state == "shutoff":
            return f"{name} is not running on {host}; start it instead of rebooting it"
        if state not in RUNNING_STATES:
            return f"{name} is {phrase} on {host}, so it cannot be rebooted"
    elif action == "pause":
        if state == "paused":
            return f"{name} is already paused on {host}"
        if state == "shutoff":
            return f"{name} is not running on {host}, so it cannot be paused"
        if state not in RUNNING_STATES:
            return f"{name} is {phrase} on {host}, so it cannot be paused"
    elif action == "resume":
        if state in RUNNING_STATES:
            return f"{name} is already running on {host}"
        if state == "shutoff":
            return f"{name} is shut off on {host}; start it instead of resuming it"
        if state != "paused":
            return f"{name} is {phrase} on {host}, so it cannot be resumed"
    elif action == "delete":
        if state in ACTIVE_STATES:
            return f"{name} is {phrase} on {host}; power it off before deleting it"
    else:
        raise ValueError(f"unknown action {action!r}")
    return None


def _undefine_flags(xml_text, remove_disks, has_checkpoints=False):
    """
    Flags for ``undefineFlags`` of an inactive domain: managed save and snapshot metadata
    always go with the definition; UEFI variables and TPM state are the VM's storage, so
    they go only with ``remove_disks`` and are kept otherwise. Flags for things the
    domain does not have are left out, because some drivers reject flags they don't know.
    """
    flags = (
        libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    )
    if has_checkpoints:
        flags |= libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    root = ElementTree.fromstring(xml_text)
    if root.find("os/nvram") is not None:
        flags |= (
            libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
            if remove_disks
            else libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
        )
    if root.find("devices/tpm/backend[@type='emulator']") is not None:
        flags |= (
            libvirt.VIR_DOMAIN_UNDEFINE_TPM
            if remove_disks
            else libvirt.VIR_DOMAIN_UNDEFINE_KEEP_TPM
        )
    return flags


def _file_sizes(path):
    """
    (capacity, allocation) in bytes of a disk outside any storage pool, from ``os.stat``;
    (None, None) when there is no such file. For an image format with a header (qcow2)
    the capacity is the file's size, not the guest's disk size.
    """
    try:
        info = os.stat(path)
    except OSError:
        return None, None
    if stat.S_ISBLK(info.st_mode):
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError:
            return None, None
        try:
            size = os.lseek(descriptor, 0, os.SEEK_END)
        finally:
            os.close(descriptor)
        return size, size
    if stat.S_ISREG(info.st_mode):
        return info.st_size, info.st_blocks * 512
    return None, None


# ---------------------------------------------------------------------------
# libvirt: one connection per call, bulk calls on it.
# ---------------------------------------------------------------------------


def _libvirt_message(err):
    return err.get_error_message() or str(err)


def _log_libvirt_error(_context, error):
    log.debug("libvirt: %s", error[2] if error else error)


def _open_connection():
    """
    Open the libvirt connection configured in ``virt:connection:uri``.
    """
    # Errors arrive as exceptions; libvirt's default handler would also print each one,
    # expected ones included ("Domain not found"), on the minion's stderr.
    libvirt.registerErrorHandler(_log_libvirt_error, None)
    uri = __salt__["config.get"]("virt:connection:uri") or None
    return libvirt.open(uri)


@contextlib.contextmanager
def _connection(failure):
    """
    Yield an open libvirt connection and close it afterwards; any ``libvirtError``
    becomes ``CommandExecutionError("<failure>: <libvirt's message>")``.
    """
    try:
        conn = _open_connection()
    except libvirt.libvirtError as err:
        raise CommandExecutionError(
            f"{failure}: cannot connect to libvirt: {_libvirt_message(err)}"
        ) from err
    try:
        yield conn
    except libvirt.libvirtError as err:
        raise CommandExecutionError(f"{failure}: {_libvirt_message(err)}") from err
    finally:
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()


def _host_id(conn):
    return __grains__.get("id") or conn.getHostname()


def _lookup(conn, name, host):
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            raise CommandExecutionError(f"There is no VM named {name} on {host}") from err
        raise


def _current_state(dom):
    """
    State word of ``dom`` now; ``shutoff`` if a transient domain went away.
    """
    try:
        return _state_name(dom.state()[0])
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return "shutoff"
        raise


def _stats_groups():
    # Not the block group: it asks QEMU about every disk of every domain, which is slow.
    return (
        libvirt.VIR_DOMAIN_STATS_STATE
        | libvirt.VIR_DOMAIN_STATS_BALLOON
        | libvirt.VIR_DOMAIN_STATS_VCPU
        | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    )


def _stats_flags():
    # Don't wait for a domain busy with a job (a migration, say): report what is known.
    return getattr(libvirt, "VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT", 0)


def _pool_volumes(conn):
    """
    Every volume of every active storage pool as {normalised path: (pool, volume)}.
    Listing is one call per pool; a volume's path is one more call only for pool types
    that don't keep volumes at <target path>/<name>.
    """
    volumes = {}
    for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
        try:
            root = ElementTree.fromstring(pool.XMLDesc(0))
            listed = pool.listAllVolumes(0)
        except libvirt.libvirtError as err:
            # A pool stopped or broken since it was listed: its disks just have no sizes.
            log.debug("Skipping storage pool %s: %s", pool.name(), _libvirt_message(err))
            continue
        target = root.findtext("target/path")
        target = os.path.normpath(target) if target else None
        listed_by_target = root.get("type") in POOLS_WITH_TARGET_PATHS and target
        for volume in listed:
            if listed_by_target:
                path = os.path.join(target, volume.name())
            else:
                path = volume.path()
            if path:
                volumes[os.path.normpath(path)] = (pool, volume)
    return volumes


def _volume_sizes(conn, paths):
    """
    {path: (capacity, allocation)} in bytes for the given disk paths: from the pool
    volume when the path is one, else from ``os.stat``.
    """
    if not paths:
        return {}
    volumes = _pool_volumes(conn)
    sizes = {}
    for path in paths:
        found = volumes.get(os.path.normpath(path))
        if found is None:
            sizes[path] = _file_sizes(path)
            continue
        try:
            _, capacity, allocation = found[1].info()
        except libvirt.libvirtError as err:
            # The file went away since the pool was last refreshed.
            log.debug("No size for volume %s: %s", path, _libvirt_message(err))
            capacity = allocation = None
        sizes[path] = (capacity, allocation)
    return sizes


def _network_facts(conn):
    """
    ({MAC: IP} from the DHCP leases of every active libvirt network, {network: bridge}).
    Leases are best effort: a network or driver without them gives no IPs.
    """
    ips = {}
    bridges = {}
    for network in conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE):
        name = network.name()
        try:
            bridges[name] = network.bridgeName()
        except libvirt.libvirtError:
            bridges[name] = None  # forward modes without a bridge (macvtap, hostdev)
        try:
            leases = network.DHCPLeases()
        except libvirt.libvirtError as err:
            log.debug("No DHCP leases from network %s: %s", name, _libvirt_message(err))
            continue
        # IPv4 first: it is what people type into ssh.
        for lease in sorted(leases, key=lambda lease: lease.get("type", 0)):
            mac = (lease.get("mac") or "").lower()
            if mac and lease.get("ipaddr") and mac not in ips:
                ips[mac] = lease["ipaddr"]
    return ips, bridges


def _describe_domains(conn, records):
    """
    VM dicts for ``records``, the [(domain, stats)] list of ``getAllDomainStats`` or
    ``domainListGetStats``: one XMLDesc per domain, everything else in bulk.
    """
    autostart = {
        dom.UUIDString() for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)
    }
    persistent = {
        dom.UUIDString()
        for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT)
    }
    described = []
    for dom, stats in records:
        try:
            parsed = _parse_domain_xml(dom.XMLDesc(0))
            cpu_time = None
            if "cpu.time" not in stats and _state_name(stats.get("state.state")) in ACTIVE_STATES:
                # Drivers without the cpu-total stats group (libvirt's test driver).
                cpu_time = dom.info()[4]
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                continue  # undefined while we were looking
            raise
        described.append((parsed, stats, cpu_time))
    paths = {
        disk["path"] for parsed, _, _ in described for disk in parsed["disks"] if disk["path"]
    }
    sizes = _volume_sizes(conn, paths)
    ips, bridges = _network_facts(conn)
    return [
        _build_vm(
            parsed,
            stats,
            autostart=parsed["uuid"] in autostart,
            persistent=parsed["uuid"] in persistent,
            volume_sizes=sizes,
            ips=ips,
            bridges=bridges,
            cpu_time=cpu_time,
        )
        for parsed, stats, cpu_time in described
    ]


def _describe_domain(conn, dom):
    """
    The VM dict of one domain, or None if it no longer exists.
    """
    try:
        records = conn.domainListGetStats([dom], _stats_groups(), _stats_flags())
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise
    vms = _describe_domains(conn, records)
    return vms[0] if vms else None


def _result(conn, dom, host, action, changed, comment):
    vm = _describe_domain(conn, dom)
    return {
        "name": dom.name(),
        "host": host,
        "action": action,
        "changed": changed,
        "comment": comment,
        "state": vm["state"] if vm else "shutoff",
        "vm": vm,
    }


def _wait_until_off(dom, timeout):
    """
    Poll ``dom`` until it is no longer active or ``timeout`` seconds have passed;
    True when it went off.
    """
    deadline = time.monotonic() + timeout
    while _current_state(dom) in ACTIVE_STATES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(SHUTDOWN_POLL_SECONDS, remaining))
    return True


def _prepare(conn, name, action):
    """
    (host, domain) for ``action`` on ``name``, refusing what the VM's state makes impossible.
    """
    host = _host_id(conn)
    dom = _lookup(conn, name, host)
    refusal = _refusal(action, name, host, _current_state(dom))
    if refusal:
        raise CommandExecutionError(refusal)
    return host, dom


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def inventory():
    """
    Facts about this host and every VM defined or running on it, in one libvirt
    connection with bulk calls.

    Returns ``{"host": {...}, "vms": [{...}, ...]}`` as described in Brine's API
    documentation. ``vms_running``, ``vcpus_allocated`` and ``memory_allocated`` count
    active VMs (running, paused, ...).

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.inventory
    """
    with _connection("Could not take the inventory of this host") as conn:
        info = conn.getInfo()
        cpu_model, cpu_arch = _parse_capabilities(conn.getCapabilities())
        records = conn.getAllDomainStats(_stats_groups(), _stats_flags())
        vms = _describe_domains(conn, records)
        model, memory_mib, cpus, mhz, nodes, sockets, cores, threads = info
        facts = {
            "hostname": conn.getHostname(),
            # getInfo()'s model is the architecture ("x86_64"): a fallback only.
            "cpu_model": cpu_model or model,
            "cpu_arch": cpu_arch or model,
            "sockets": nodes * sockets,  # getInfo() counts sockets per NUMA node
            "cores": cores,
            "threads": threads,
            "cpus": cpus,
            "mhz": mhz,
            "memory_total": _node_memory_total(conn, memory_mib),
            "memory_free": conn.getFreeMemory() // 1024,
            "libvirt_version": _version_string(conn.getLibVersion()),
            "hypervisor": conn.getType(),
            "hypervisor_version": _version_string(conn.getVersion()),
            "uri": conn.getURI(),
        }
        facts.update(_vm_totals(vms))
        return {"host": facts, "vms": sorted(vms, key=lambda vm: vm["name"])}


def _node_memory_total(conn, info_mib):
    """The host's memory in KiB. getInfo() may count only part of it (seen: 6 of 24 GiB on a
    nested host, where the NUMA cell libvirt reads is smaller), so ask the node's memory
    statistics first and fall back to getInfo() where a driver has none."""
    try:
        total = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0).get("total")
    except libvirt.libvirtError:
        total = None
    return int(total) if total else info_mib * 1024


def vm_info(name):
    """
    Brine's VM dict for the VM ``name`` on this host.

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.vm_info lab-vm1
    """
    name = _validate_name(name)
    with _connection(f"Could not describe {name}") as conn:
        host = _host_id(conn)
        vm = _describe_domain(conn, _lookup(conn, name, host))
        if vm is None:
            raise CommandExecutionError(f"There is no VM named {name} on {host}")
        return vm


def _simple_action(name, test, action, doing, done, act):
    """Validate, check that ``action`` makes sense for the VM's state, then ``act(dom)``
    (unless ``test``) and return the result dict: the shape every one-call action shares."""
    name = _validate_name(name)
    test = _as_flag(test, "test")
    with _connection(f"Could not {doing} {name}") as conn:
        host, dom = _prepare(conn, name, action)
        if test:
            return _result(conn, dom, host, action, False, f"would {doing} {name}")
        act(dom)
        return _result(conn, dom, host, action, True, f"{name} was {done}")


def start(name, test=False):
    """
    Start (boot, or restore from its managed save) the shut-off VM ``name``.

    name
        The VM's name.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.start lab-vm1
    """
    return _simple_action(name, test, "start", "start", "started", lambda dom: dom.create())


def shutdown(name, timeout=60, force=False, test=False):
    """
    Ask the VM ``name`` to shut down (ACPI power button) and wait until it is off.

    name
        The VM's name.

    timeout
        Seconds to wait for the guest to power off (default 60).

    force
        Power the VM off if it is still running after ``timeout``. Without it, a guest
        that does not shut down in time is an error (and may still be shutting down).

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.shutdown lab-vm1
        salt hv1 hypervisor.shutdown lab-vm1 timeout=120 force=True
    """
    name = _validate_name(name)
    timeout = _as_timeout(timeout)
    force = _as_flag(force, "force")
    test = _as_flag(test, "test")
    with _connection(f"Could not shut down {name}") as conn:
        host, dom = _prepare(conn, name, "shutdown")
        if test:
            fallback = f" (and power it off if it still runs after {timeout:g} s)" if force else ""
            return _result(conn, dom, host, "shutdown", False, f"would shut down {name}{fallback}")
        dom.shutdown()
        if _wait_until_off(dom, timeout):
            return _result(conn, dom, host, "shutdown", True, f"{name} was shut down")
        if not force:
            raise CommandExecutionError(
                f"{name} did not shut down within {timeout:g} s on {host}; its guest may "
                "still be shutting down (use force=True to power it off after the timeout)"
            )
        dom.destroy()
        return _result(
            conn,
            dom,
            host,
            "shutdown",
            True,
            f"{name} did not shut down within {timeout:g} s and was powered off",
        )


def force_off(name, test=False):
    """
    Power the VM ``name`` off at once, like pulling the plug (libvirt's destroy).
    Its definition and disks stay.

    name
        The VM's name.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.force_off lab-vm1
    """
    return _simple_action(name, test, "force_off", "power off", "powered off", lambda dom: dom.destroy())


def reboot(name, test=False):
    """
    Ask the running VM ``name`` to reboot (ACPI).

    name
        The VM's name.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.reboot lab-vm1
    """
    return _simple_action(name, test, "reboot", "reboot", "rebooted", lambda dom: dom.reboot(0))


def pause(name, test=False):
    """
    Pause the running VM ``name``: its vCPUs stop, its memory stays.

    name
        The VM's name.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.pause lab-vm1
    """
    return _simple_action(name, test, "pause", "pause", "paused", lambda dom: dom.suspend())


def resume(name, test=False):
    """
    Resume the paused VM ``name``.

    name
        The VM's name.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.resume lab-vm1
    """
    return _simple_action(name, test, "resume", "resume", "resumed", lambda dom: dom.resume())


def _disk_removal_plan(conn, dom, parsed):
    """
    [(path, volume or None, reason kept)] for the disks of ``dom``: a disk is removed
    only if it is a volume of an active storage pool, is a disk (not a cdrom or floppy,
    whose images are usually shared), and no other VM uses it.
    """
    volumes = _pool_volumes(conn)
    own_uuid = dom.UUIDString()
    used_elsewhere = {}
    for other in conn.listAllDomains(0):
        if other.UUIDString() == own_uuid:
            continue
        try:
            other_disks = _parse_domain_xml(other.XMLDesc(0))["disks"]
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                continue
            raise
        for disk in other_disks:
            if disk["path"]:
                used_elsewhere.setdefault(os.path.normpath(disk["path"]), other.name())
    plan = []
    for disk in parsed["disks"]:
        if not disk["path"]:
            continue
        path = os.path.normpath(disk["path"])
        found = volumes.get(path)
        if disk["device"] not in ("disk", "lun"):
            plan.append((disk["path"], None, f"a {disk['device']}"))
        elif path in used_elsewhere:
            plan.append((disk["path"], None, f"also used by {used_elsewhere[path]}"))
        elif found is None:
            plan.append((disk["path"], None, "not a volume of an active libvirt storage pool"))
        else:
            plan.append((disk["path"], found[1], None))
    return plan


def delete(name, remove_disks=False, test=False):
    """
    Delete (undefine) the shut-off VM ``name``, with its managed save image, snapshot
    and checkpoint metadata. A running VM is refused.

    name
        The VM's name.

    remove_disks
        Also delete its disk images (and its UEFI variables and TPM state). Only
        images that are volumes of an active libvirt storage pool are deleted, through
        the pool; cdroms, images other VMs use, and files outside pools are kept and
        the comment says why.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.delete lab-vm1
        salt hv1 hypervisor.delete lab-vm1 remove_disks=True
    """
    name = _validate_name(name)
    remove_disks = _as_flag(remove_disks, "remove_disks")
    test = _as_flag(test, "test")
    with _connection(f"Could not delete {name}") as conn:
        host, dom = _prepare(conn, name, "delete")
        xml_text = dom.XMLDesc(0)
        plan = _disk_removal_plan(conn, dom, _parse_domain_xml(xml_text)) if remove_disks else []
        to_remove = [(path, volume) for path, volume, _ in plan if volume is not None]
        kept = [f"kept {path} ({reason})" for path, _, reason in plan if reason]
        if test:
            notes = [f"would remove {path}" for path, _ in to_remove]
            notes += [f"would keep {path} ({reason})" for path, _, reason in plan if reason]
            return _result(
                conn, dom, host, "delete", False, "; ".join([f"would delete {name}"] + notes)
            )
        try:
            has_checkpoints = bool(dom.listAllCheckpoints(0))
        except libvirt.libvirtError as err:
            if err.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                raise
            has_checkpoints = False
        dom.undefineFlags(_undefine_flags(xml_text, remove_disks, has_checkpoints))
        notes = []
        # The VM is gone now; a disk that cannot be removed is reported, not raised.
        for path, volume in to_remove:
            try:
                volume.delete(0)
            except libvirt.libvirtError as err:
                notes.append(f"could not remove {path} ({_libvirt_message(err)})")
            else:
                notes.append(f"removed {path}")
        return {
            "name": name,
            "host": host,
            "action": "delete",
            "changed": True,
            "comment": "; ".join([f"{name} was deleted"] + notes + kept),
            "state": "deleted",
            "vm": None,
        }


# ---------------------------------------------------------------------------
# Consoles: a VM's VNC server for one browser session (docs/api.md, Consoles).
# ---------------------------------------------------------------------------

CONSOLE_TTL_DEFAULT = 30
CONSOLE_TTL_MAX = 300
# VNC's authentication (DES) reads at most 8 characters of a password.
CONSOLE_PASSWORD_LENGTH = 8
CONSOLE_STATES = frozenset(("running", "paused", "blocked"))
_WILDCARD_ADDRESSES = frozenset(("", "0.0.0.0", "::", "[::]"))


def _console_ttl(value):
    """``value`` as whole seconds between 1 and CONSOLE_TTL_MAX, else SaltInvocationError."""
    if isinstance(value, bool):
        value = None
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or str(seconds) != str(value).strip() or not 0 < seconds <= CONSOLE_TTL_MAX:
        raise SaltInvocationError(
            f"ttl must be a whole number of seconds from 1 to {CONSOLE_TTL_MAX}, not {value!r}"
        )
    return seconds


def _console_graphics(xml_text, name, host):
    """
    The live VNC ``<graphics>`` element of a domain's XML, or CommandExecutionError saying why
    this VM has no console to offer.
    """
    root = ElementTree.fromstring(xml_text)
    for graphics in root.findall("./devices/graphics"):
        if graphics.get("type") == "vnc":
            if graphics.get("socket") or graphics.find("listen[@type='socket']") is not None:
                raise CommandExecutionError(
                    f"{name} on {host} has its VNC server on a UNIX socket, which the console "
                    "proxy cannot reach"
                )
            port = _int_or_none(graphics.get("port"))
            if not port or port <= 0:
                raise CommandExecutionError(f"{name} on {host} has no VNC port open")
            return graphics
    raise CommandExecutionError(f"{name} on {host} has no graphics (VNC) device: it has no console")


def _console_address(graphics, name, host):
    """
    Where the master's websockify reaches this VNC server: ``brine:console:address`` from the
    host's configuration if set, else the address VNC listens on. Loopback is refused (nothing
    off this host reaches it); a wildcard needs the configured address.
    """
    configured = __salt__["config.get"]("brine:console:address")
    if configured:
        return str(configured)
    listen = _parse_graphics(graphics)["listen"] or ""
    if listen in _WILDCARD_ADDRESSES:
        raise CommandExecutionError(
            f"the VNC server of {name} on {host} listens on every address: set "
            "brine:console:address to this host's management address"
        )
    if listen.startswith("127.") or listen in ("::1", "localhost"):
        raise CommandExecutionError(
            f"the VNC server of {name} on {host} listens on loopback only, where the console "
            "proxy cannot reach it: set vnc_listen in qemu.conf to this host's management address"
        )
    return listen


def _console_password_xml(graphics, password, valid_to):
    """The ``<graphics>`` element again, with a new password valid until ``valid_to`` (UTC)."""
    element = ElementTree.fromstring(ElementTree.tostring(graphics))
    element.set("passwd", password)
    element.set("passwdValidTo", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(valid_to)))
    element.attrib.pop("connected", None)
    return ElementTree.tostring(element, encoding="unicode")


def console(name, ttl=CONSOLE_TTL_DEFAULT):
    """
    Open VM ``name``'s screen for one console session: give its VNC server a fresh random
    password that lets new VNC clients in for ``ttl`` seconds only, and return where the
    master's console proxy (websockify) reaches it. Sessions already connected stay connected.

    Returns ``{"name", "host", "protocol": "vnc", "address", "port", "password", "valid_to"}``
    (``valid_to`` in Unix time). Refused when the VM is not running or has no VNC graphics.

    name
        The VM's name.

    ttl
        Seconds the password lets a client in (1 to 300, default 30).

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.console lab-vm1
    """
    name = _validate_name(name)
    ttl = _console_ttl(ttl)
    with _connection(f"Could not open the console of {name}") as conn:
        host = _host_id(conn)
        dom = _lookup(conn, name, host)
        state = _current_state(dom)
        if state not in CONSOLE_STATES:
            raise CommandExecutionError(
                f"{name} is {state.replace('shutoff', 'shut off')} on {host}: "
                "start it to open its console"
            )
        graphics = _console_graphics(dom.XMLDesc(0), name, host)
        address = _console_address(graphics, name, host)
        port = _int_or_none(graphics.get("port"))
        password = secrets.token_urlsafe(CONSOLE_PASSWORD_LENGTH)[:CONSOLE_PASSWORD_LENGTH]
        valid_to = int(time.time()) + ttl
        dom.updateDeviceFlags(
            _console_password_xml(graphics, password, valid_to), libvirt.VIR_DOMAIN_AFFECT_LIVE
        )
        return {
            "name": name,
            "host": host,
            "protocol": "vnc",
            "address": address,
            "port": port,
            "password": password,
            "valid_to": valid_to,
        }


# ---------------------------------------------------------------------------
# Migration (docs/api.md, "Migration"): what a VM needs, whether a target can
# take it, and the live migration itself, driven by the source's libvirtd.
# ---------------------------------------------------------------------------
#
# Configuration (minion config or pillar, read with config.get):
#
# .. code-block:: yaml
#
#     brine:
#       migration:
#         # Where the source's libvirtd reaches the target; {host} is the target's minion id.
#         uri: qemu+tls://{host}/system
#         # Folders that are the same storage on every host although libvirt cannot tell
#         # (the lab's bind-mounted image folder). Disks inside them count as shared, and
#         # only when every unsafe disk is inside one is libvirt's safety check skipped
#         # (VIR_MIGRATE_UNSAFE). Leave unset on real clusters with NFS, GFS2, Ceph, ...
#         unsafe_shared_storage: []
#         # Default most milliseconds a VM may be paused at the end; unset: QEMU's 300.
#         max_downtime: 50
#       capacity:
#         reserved_memory: 1048576   # KiB a host keeps for itself, not for VMs
#         vcpu_ratio: 4              # vCPUs of running VMs allowed per host CPU

HOST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,252}")
MIGRATION_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
DEFAULT_MIGRATION_URI = "qemu+tls://{host}/system"
DEFAULT_RESERVED_MEMORY = 1048576
DEFAULT_VCPU_RATIO = 4
MIGRATION_PROGRESS_SECONDS = 0.5
# Pool types whose volumes every host of a cluster reaches (network or SAN storage).
SHARED_POOL_TYPES = frozenset(("netfs", "gluster", "rbd", "iscsi", "iscsi-direct", "mpath"))
# How long a target may take to drop an incoming domain after a failed migration.
CLEANUP_WAIT_SECONDS = 10


def _validate_host(host, argument="target"):
    if isinstance(host, str) and HOST_ID_PATTERN.fullmatch(host):
        return host
    raise SaltInvocationError(
        f"{host!r} is not a valid host name for {argument}: use letters, digits, '_', '.' or '-'"
    )


def _validate_migration_id(migration_id):
    if isinstance(migration_id, str) and MIGRATION_ID_PATTERN.fullmatch(migration_id):
        return migration_id
    raise SaltInvocationError(f"{migration_id!r} is not a valid migration id")


def _as_positive_int(value, argument, unit):
    """``value`` as an int > 0, None for None; else ``SaltInvocationError``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise SaltInvocationError(f"{argument} must be a whole number of {unit}, not {value!r}")
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise SaltInvocationError(
            f"{argument} must be a whole number of {unit}, not {value!r}"
        ) from None
    if number <= 0:
        raise SaltInvocationError(f"{argument} must be more than 0 {unit}, not {value!r}")
    return number


def _migration_uri(template, host):
    """The libvirt URI of ``host`` from a template like ``qemu+tls://{host}/system``."""
    return (template or DEFAULT_MIGRATION_URI).replace("{host}", host)


def _inside(path, folders):
    path = os.path.normpath(path)
    for folder in folders or ():
        folder = os.path.normpath(str(folder))
        if path == folder or path.startswith(folder.rstrip("/") + "/"):
            return True
    return False


def _disk_sharing(disk, pool_type, shared_folders):
    """
    (shared, why) for one disk of the source: shared when libvirt knows the storage is
    (a network pool, a disk marked shareable or read-only) or the configuration says so.
    """
    if disk.get("shareable") or disk.get("readonly"):
        return True, "read-only or shareable"
    if disk.get("source_type") == "network":
        return True, "network disk"
    if pool_type in SHARED_POOL_TYPES:
        return True, f"in a {pool_type} storage pool"
    if disk.get("path") and _inside(disk["path"], shared_folders):
        return True, "in a folder configured as shared storage (brine:migration:unsafe_shared_storage)"
    return False, "on this host's local storage"


def _needs_unsafe(disks):
    """
    True when libvirt's check would refuse the migration (a writable disk with a cache
    mode other than none/directsync on storage it does not know as shared) and every such
    disk is shared by configuration: then VIR_MIGRATE_UNSAFE is the honest flag.
    """
    flagged = [
        disk
        for disk in disks
        if disk.get("path")
        and not disk.get("readonly")
        and not disk.get("shareable")
        and disk.get("cache") not in ("none", "directsync")
        and disk.get("source_type") != "network"
    ]
    return bool(flagged) and all(disk["shared"] for disk in flagged)


def _migration_flags(live, offline, copy_storage, autoconverge, unsafe):
    flags = (
        libvirt.VIR_MIGRATE_PEER2PEER
        | libvirt.VIR_MIGRATE_PERSIST_DEST
        | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    )
    if offline:
        return flags | libvirt.VIR_MIGRATE_OFFLINE
    if live:
        flags |= libvirt.VIR_MIGRATE_LIVE
    if copy_storage:
        flags |= libvirt.VIR_MIGRATE_NON_SHARED_DISK
    elif unsafe:
        flags |= libvirt.VIR_MIGRATE_UNSAFE
    if autoconverge:
        flags |= libvirt.VIR_MIGRATE_AUTO_CONVERGE
    return flags


def _mib(kib):
    return f"{(kib or 0) / 1024:.0f} MiB"


def _problem(code, reason, offer=None):
    return {"code": code, "reason": reason, "offer": offer}


def _target_problems(needs, facts):
    """
    Why this host (``facts``, gathered on it) cannot take the VM described by ``needs``
    (``migration_needs`` on the source): a list of ``{code, reason, offer}``; empty when
    it can. Pure: the unit tests call it with hand-made facts.
    """
    name, host = needs["name"], facts["host"]
    problems = []
    same = facts.get("same_name")
    if same:
        if same.get("uuid") == needs.get("uuid") and same.get("active"):
            return [_problem("same_host", f"{name} already runs on {host}")]
        problems.append(_problem("name_taken", f"a VM named {name} is already defined on {host}"))
    elif facts.get("same_uuid"):
        problems.append(
            _problem("name_taken", f"{host} already has a VM with {name}'s UUID ({facts['same_uuid']})")
        )
    if not needs.get("active"):
        problems.append(
            _problem(
                "not_running",
                f"{name} is not running, so only its definition can move (offline migration)",
                "offline",
            )
        )
    else:
        memory = needs.get("memory") or 0
        usable = facts["memory_total"] - facts["memory_allocated"] - facts["reserved_memory"]
        if memory > usable:
            problems.append(
                _problem(
                    "memory",
                    f"{host} has {_mib(max(usable, 0))} of memory left for VMs ({_mib(facts['memory_total'])}"
                    f" total, {_mib(facts['memory_allocated'])} used by running VMs, "
                    f"{_mib(facts['reserved_memory'])} reserved); {name} needs {_mib(memory)}",
                )
            )
        elif facts.get("memory_available") is not None and memory > facts["memory_available"]:
            problems.append(
                _problem(
                    "memory",
                    f"{host} has only {_mib(facts['memory_available'])} of memory free right now; "
                    f"{name} needs {_mib(memory)}",
                )
            )
        vcpus = needs.get("vcpus") or 0
        limit = facts["cpus"] * facts["vcpu_ratio"]
        if vcpus > facts["cpus"]:
            problems.append(
                _problem("vcpus", f"{name} has {vcpus} vCPUs but {host} only {facts['cpus']} CPUs")
            )
        elif facts["vcpus_allocated"] + vcpus > limit:
            problems.append(
                _problem(
                    "vcpus",
                    f"{host} runs {facts['vcpus_allocated']} vCPUs on {facts['cpus']} CPUs (at most "
                    f"{limit:g} allowed); {name}'s {vcpus} more would be too many",
                )
            )
        cpu = facts.get("cpu_problem")
        if cpu:
            problems.append(_problem("cpu", cpu))
    for network in needs.get("networks", []):
        if network not in facts["networks_active"]:
            where = "defined but not active" if network in facts["networks_defined"] else "missing"
            problems.append(_problem("network", f"network {network}, which {name} uses, is {where} on {host}"))
    for bridge in needs.get("bridges", []):
        if bridge not in facts["bridges"]:
            problems.append(_problem("bridge", f"bridge {bridge}, which {name} uses, is missing on {host}"))
    for disk in needs.get("disks", []):
        if not disk.get("path"):
            continue
        label = f"{'disk' if disk.get('device') in ('disk', 'lun') else disk.get('device')} " \
                f"{disk.get('target')} ({disk['path']})"
        reachable = facts["paths_reachable"].get(disk["path"], False)
        if not disk.get("shared") and disk.get("device") in ("disk", "lun"):
            problems.append(
                _problem(
                    "disk_local",
                    f"{label} is on {needs.get('host')}'s local storage, which {host} cannot reach; "
                    "it can be copied with the migration",
                    "copy_storage",
                )
            )
        elif not reachable:
            offer = "copy_storage" if disk.get("device") in ("disk", "lun") else None
            problems.append(_problem("disk_unreachable", f"{label} is not reachable from {host}", offer))
    return problems


def _node_memory_available(conn):
    """KiB free for new allocations now (free + buffers + page cache), or None."""
    try:
        stats = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
    except libvirt.libvirtError:
        return None
    if "free" not in stats:
        return None
    return sum(int(stats.get(key, 0)) for key in ("free", "buffers", "cached"))


def _disk_details(xml_text):
    """Per disk of a domain XML: target, device, path, source type, cache, read-only, shareable."""
    root = ElementTree.fromstring(xml_text)
    details = []
    for disk in root.findall("devices/disk"):
        parsed = _parse_disk(disk)
        driver = disk.find("driver")
        details.append(
            {
                "target": parsed["target"],
                "device": parsed["device"],
                "path": parsed["path"],
                "source_type": disk.get("type", "file"),
                "cache": driver.get("cache") if driver is not None else None,
                "readonly": disk.find("readonly") is not None,
                "shareable": disk.find("shareable") is not None,
            }
        )
    return details


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


def _migration_config(key, default):
    value = __salt__["config.get"](f"brine:{key}")
    return default if value in (None, "") else value


def _config_number(key, default):
    """A number from ``brine:<key>``; the default (and a warning) when it is not one."""
    value = _migration_config(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        log.warning("brine:%s is not a number (%r); using %s", key, value, default)
        return default
    return number if number >= 0 else default


def _shared_folders():
    folders = _migration_config("migration:unsafe_shared_storage", [])
    if isinstance(folders, str):
        folders = [folders]
    return [str(folder) for folder in folders]


def migration_needs(name):
    """
    What VM ``name`` on this host needs from a migration target: its state, memory,
    vCPUs, CPU definition, networks, bridges, and its disks with whether each is on
    storage other hosts share. The runner sends this to ``migration_target_check`` on
    every candidate host.

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.migration_needs lab-vm1
    """
    name = _validate_name(name)
    shared_folders = _shared_folders()
    with _connection(f"Could not read what {name} needs to migrate") as conn:
        host = _host_id(conn)
        dom = _lookup(conn, name, host)
        state = _current_state(dom)
        xml_text = dom.XMLDesc(0)
        root = ElementTree.fromstring(xml_text)
        vm = _describe_domain(conn, dom) or {}
        volumes = _pool_volumes(conn)
        disks = []
        for disk in _disk_details(xml_text):
            pool_type = None
            if disk["path"]:
                found = volumes.get(os.path.normpath(disk["path"]))
                if found is not None:
                    pool_type = ElementTree.fromstring(found[0].XMLDesc(0)).get("type")
            disk["shared"], disk["sharing"] = _disk_sharing(disk, pool_type, shared_folders)
            disks.append(disk)
        cpu_mode, cpu_xml = _cpu_needs(conn, root)
        os_type = root.find("os/type")
        nics = vm.get("nics") or [_parse_nic(i) for i in root.findall("devices/interface")]
        return {
            "name": name,
            "uuid": dom.UUIDString(),
            "host": host,
            "state": state,
            "active": state in ACTIVE_STATES,
            "memory": vm.get("memory") or _memory_kib(root.find("currentMemory")),
            "vcpus": vm.get("vcpus") or _int_or_none(root.findtext("vcpu")),
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


def _cpu_problem(conn, needs, host):
    """A sentence when this host cannot run the VM's CPU, else None (also when it cannot tell)."""
    if not needs.get("active") or not needs.get("cpu_xml"):
        return None
    try:
        if needs.get("cpu_mode") == "host-passthrough":
            result = conn.compareCPU(needs["cpu_xml"], 0)
        else:
            result = conn.compareHypervisorCPU(
                needs.get("emulator"),
                needs.get("arch"),
                needs.get("machine"),
                needs.get("domain_type"),
                needs["cpu_xml"],
                0,
            )
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return None
        return f"{host} cannot run {needs['name']}'s CPU model: {_libvirt_message(err)}"
    if result == libvirt.VIR_CPU_COMPARE_INCOMPATIBLE:
        what = "the CPU of its host" if needs.get("cpu_mode") == "host-passthrough" else "its CPU model"
        return f"{host}'s CPU is not compatible with {needs['name']}'s ({what})"
    return None


def _path_reachable(path, volumes):
    return os.path.normpath(path) in volumes or os.path.exists(path)


def _target_facts(conn, needs):
    """What this host knows that ``_target_problems`` weighs."""
    host = _host_id(conn)
    same_name = same_uuid = None
    try:
        dom = conn.lookupByName(needs["name"])
        same_name = {"uuid": dom.UUIDString(), "active": bool(dom.isActive())}
    except libvirt.libvirtError as err:
        if err.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise
        if needs.get("uuid"):
            try:
                same_uuid = conn.lookupByUUIDString(needs["uuid"]).name()
            except libvirt.libvirtError as err2:
                if err2.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
    info = conn.getInfo()
    records = conn.getAllDomainStats(_stats_groups(), _stats_flags())
    totals = _vm_totals(_describe_domains(conn, records))
    networks = conn.listAllNetworks(0)
    volumes = _pool_volumes(conn)
    return {
        "host": host,
        "same_name": same_name,
        "same_uuid": same_uuid,
        "memory_total": _node_memory_total(conn, info[1]),
        "memory_allocated": totals["memory_allocated"],
        "memory_available": _node_memory_available(conn),
        "reserved_memory": int(_config_number("capacity:reserved_memory", DEFAULT_RESERVED_MEMORY)),
        "cpus": info[2],
        "vcpus_allocated": totals["vcpus_allocated"],
        "vcpu_ratio": _config_number("capacity:vcpu_ratio", DEFAULT_VCPU_RATIO),
        "cpu_problem": _cpu_problem(conn, needs, host),
        "networks_active": {net.name() for net in networks if net.isActive()},
        "networks_defined": {net.name() for net in networks},
        # The minion runs on the host it manages: its interfaces are the host's.
        "bridges": {bridge for bridge in needs.get("bridges", []) if os.path.exists(f"/sys/class/net/{bridge}")},
        "paths_reachable": {
            disk["path"]: _path_reachable(disk["path"], volumes)
            for disk in needs.get("disks", [])
            if disk.get("path")
        },
    }


def migration_target_check(needs):
    """
    Whether this host can take the VM that ``needs`` describes (the return of
    ``hypervisor.migration_needs`` on the VM's host), and every reason why not.

    Returns ``{"host": <this host>, "problems": [{"code", "reason", "offer"}, ...]}``;
    no problems means it can. Codes: ``same_host``, ``name_taken``, ``not_running``
    (offer ``offline``), ``memory``, ``vcpus``, ``cpu``, ``network``, ``bridge``,
    ``disk_local`` and ``disk_unreachable`` (offer ``copy_storage``). Memory counts
    what running VMs use and ``brine:capacity:reserved_memory``; vCPUs are allowed up
    to ``brine:capacity:vcpu_ratio`` per host CPU.

    needs
        The dict ``hypervisor.migration_needs`` returned on the source.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.migration_target_check "$(salt --out=json hv2 hypervisor.migration_needs lab-vm2 | jq .hv2)"
    """
    if not isinstance(needs, dict) or not isinstance(needs.get("name"), str):
        raise SaltInvocationError("needs must be the dict hypervisor.migration_needs returns")
    _validate_name(needs["name"])
    for key in ("networks", "bridges", "disks"):
        if not isinstance(needs.get(key, []), list):
            raise SaltInvocationError(f"needs[{key!r}] must be a list")
    with _connection(f"Could not check whether this host can take {needs['name']}") as conn:
        facts = _target_facts(conn, needs)
        return {"host": facts["host"], "problems": _target_problems(needs, facts)}


def _has_job(dom):
    """True when the domain runs a job (a migration, a save...); False where the driver cannot say."""
    try:
        return dom.jobInfo()[0] != libvirt.VIR_DOMAIN_JOB_NONE
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return False
        raise


def _fire(tag, data):
    try:
        __salt__["event.send"](tag, data)
    except Exception as err:  # pylint: disable=broad-except
        log.warning("Could not fire %s: %s", tag, err)


def _progress(stats, started):
    """The progress figures of a running migration from ``jobStats()``."""
    total = stats.get("data_total") or 0
    remaining = stats.get("data_remaining") or 0
    dirty = (stats.get("memory_dirty_rate") or 0) * (stats.get("memory_page_size") or 4096)
    return {
        "percent": round(100.0 * (total - remaining) / total, 1) if total else 0.0,
        "data_total": total,
        "data_processed": stats.get("data_processed") or 0,
        "data_remaining": remaining,
        "dirty_rate": dirty,
        "expected_downtime": stats.get("downtime"),
        "elapsed": round(time.monotonic() - started, 3),
    }


class _ProgressReporter:
    """Fires ``brine/migration/<id>/progress`` every ~0.5 s while the domain has a job."""

    def __init__(self, dom, base, started):
        self.dom, self.base, self.started = dom, base, started
        # Salt's dunders live in the loader's context, which a new thread does not inherit:
        # take the loaded function here, it carries its context with it.
        self.send = __salt__["event.send"]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.wait(MIGRATION_PROGRESS_SECONDS):
            try:
                stats = self.dom.jobStats(0)
            except libvirt.libvirtError:
                continue
            if stats.get("type") in (libvirt.VIR_DOMAIN_JOB_BOUNDED, libvirt.VIR_DOMAIN_JOB_UNBOUNDED):
                tag = f"brine/migration/{self.base['id']}/progress"
                try:
                    self.send(tag, dict(self.base, **_progress(stats, self.started)))
                except Exception as err:  # pylint: disable=broad-except
                    log.warning("Could not fire %s: %s", tag, err)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *args):
        self.stop.set()
        self.thread.join(5)


def _unreachable(uri):
    """Why libvirtd at ``uri`` cannot be reached now, or None when it answers."""
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as err:
        return _libvirt_message(err)
    with contextlib.suppress(libvirt.libvirtError):
        conn.close()
    return None


def _completed_stats(target_uri, name):
    """The completed job's statistics as the target keeps them (source stats go with the
    source domain when it is undefined), or {} when they cannot be read."""
    try:
        conn = libvirt.open(target_uri)
    except libvirt.libvirtError as err:
        log.info("No completed migration statistics from %s: %s", target_uri, _libvirt_message(err))
        return {}
    try:
        return conn.lookupByName(name).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    except libvirt.libvirtError as err:
        log.info("No completed migration statistics for %s: %s", name, _libvirt_message(err))
        return {}
    finally:
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()


def migrate(
    name,
    target,
    migration_id,
    live=True,
    max_downtime=None,
    bandwidth=None,
    copy_storage=False,
    autoconverge=False,
    offline=False,
):
    """
    Migrate VM ``name`` from this host to host ``target``, peer to peer: this host's
    libvirtd drives it over the URI ``brine:migration:uri`` (``{host}`` replaced by
    ``target``), the VM becomes persistent on the target, and its definition here is
    removed only after success. Fires ``brine/migration/<id>/started``, ``progress``
    every ~0.5 s, then ``done`` or ``failed`` (see docs/api.md, Events). Usually called
    by the ``cluster.migrate`` runner, which checks the target first and makes the id.

    name
        The VM's name.

    target
        The target host's minion id (as used in the migration URI).

    migration_id
        The id in the event tags (``mig-<unix ms>-<6 hex>`` from the runner).

    live
        Keep the VM running while its memory is copied (default). False pauses it for
        the whole copy.

    max_downtime
        Most milliseconds the VM may be paused for the final copy; default
        ``brine:migration:max_downtime``, else QEMU's 300.

    bandwidth
        Most MiB/s the migration may use.

    copy_storage
        Copy the disks too (they must not be on shared storage).

    autoconverge
        Slow the VM's vCPUs down when its memory changes faster than it can be copied.

    offline
        Move only the definition of a VM that is not running.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.migrate lab-vm1 hv2 mig-1763680000000-a1b2c3
        salt hv1 hypervisor.migrate lab-vm1 hv2 mig-1763680000000-a1b2c3 max_downtime=100 bandwidth=64
    """
    name = _validate_name(name)
    target = _validate_host(target)
    migration_id = _validate_migration_id(migration_id)
    live = _as_flag(live, "live")
    copy_storage = _as_flag(copy_storage, "copy_storage")
    autoconverge = _as_flag(autoconverge, "autoconverge")
    offline = _as_flag(offline, "offline")
    max_downtime = _as_positive_int(max_downtime, "max_downtime", "milliseconds")
    bandwidth = _as_positive_int(bandwidth, "bandwidth", "MiB/s")
    if max_downtime is None:
        configured = _config_number("migration:max_downtime", 0)
        max_downtime = int(configured) if configured else None
    if offline and copy_storage:
        raise SaltInvocationError("an offline migration moves the definition only; it cannot copy storage")
    uri = _migration_uri(_migration_config("migration:uri", DEFAULT_MIGRATION_URI), target)
    shared_folders = _shared_folders()
    options = {
        "live": live,
        "max_downtime": max_downtime,
        "bandwidth": bandwidth,
        "copy_storage": copy_storage,
        "autoconverge": autoconverge,
        "offline": offline,
    }
    with _connection(f"Could not migrate {name} to {target}") as conn:
        host = _host_id(conn)
        if target == host:
            raise CommandExecutionError(f"{name} is already on {host}")
        dom = _lookup(conn, name, host)
        state = _current_state(dom)
        active = state in ACTIVE_STATES
        if offline and active:
            raise CommandExecutionError(
                f"{name} is {STATE_PHRASES.get(state, state)} on {host}; an offline migration "
                "moves only the definition of a VM that is shut off"
            )
        if not offline and not active:
            raise CommandExecutionError(
                f"{name} is not running on {host}; use offline=True to move its definition"
            )
        if active and _has_job(dom):
            raise CommandExecutionError(f"{name} is busy with another job on {host} (a migration?)")
        disks = []
        for disk in _disk_details(dom.XMLDesc(0)):
            disk["shared"] = _disk_sharing(disk, None, shared_folders)[0]
            disks.append(disk)
        flags = _migration_flags(live, offline, copy_storage, autoconverge, _needs_unsafe(disks))
        params = {}
        if bandwidth:
            params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = bandwidth
        if max_downtime and not offline:
            dom.migrateSetMaxDowntime(max_downtime, 0)
        base = {"id": migration_id, "vm": name, "source": host, "target": target}
        _fire(f"brine/migration/{migration_id}/started", dict(base, options=options))
        started = time.monotonic()
        try:
            if offline:
                dom.migrateToURI3(uri, params, flags)
            else:
                with _ProgressReporter(dom, base, started):
                    dom.migrateToURI3(uri, params, flags)
        except libvirt.libvirtError as err:
            aborted = err.get_error_code() == libvirt.VIR_ERR_OPERATION_ABORTED
            now = _current_state(dom)
            where = (
                f"{name} is still {STATE_PHRASES.get(now, now)} on {host}"
                if now in ACTIVE_STATES or offline
                else f"{name} is {STATE_PHRASES.get(now, now)} on {host}"
            )
            cause = _libvirt_message(err)
            if not aborted:
                unreachable = _unreachable(uri)
                if unreachable:
                    cause += f" ({target}'s libvirtd cannot be reached: {unreachable})"
            sentence = (
                f"the migration of {name} to {target} was aborted; {where}"
                if aborted
                else f"the migration of {name} to {target} failed: {cause}; {where}"
            )
            _fire(f"brine/migration/{migration_id}/failed", dict(base, error=sentence, aborted=aborted))
            raise CommandExecutionError(sentence) from err
        total_time = round(time.monotonic() - started, 3)
        stats = {} if offline else _completed_stats(uri, name)
        downtime = stats.get("downtime")
        result = dict(base, total_time=total_time, downtime=downtime)
        _fire(f"brine/migration/{migration_id}/done", result)
        return dict(result, options=options)


def migration_abort(name):
    """
    Abort the migration (or any other job) of VM ``name`` that runs on this host; the VM
    keeps running here.

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.migration_abort lab-vm1
    """
    name = _validate_name(name)
    with _connection(f"Could not abort the migration of {name}") as conn:
        host = _host_id(conn)
        dom = _lookup(conn, name, host)
        if _current_state(dom) not in ACTIVE_STATES or not _has_job(dom):
            raise CommandExecutionError(f"{name} is not being migrated on {host}")
        dom.abortJob()
        return {"name": name, "host": host, "aborted": True}


def migration_cleanup(name, uuid):
    """
    Remove what a failed incoming migration of VM ``name`` (``uuid``) left on this host:
    a definition that is not running, or a domain still paused waiting for the incoming
    migration. A VM of that name running normally here is never touched. The runner
    calls this only after the source confirmed it still runs the VM.

    name
        The VM's name.

    uuid
        The VM's UUID: a different VM of the same name is left alone.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.migration_cleanup lab-vm2 2b13d5ef-457d-4164-9f62-2b2aee0e69d7
    """
    name = _validate_name(name)
    if not isinstance(uuid, str) or not re.fullmatch(r"[0-9a-fA-F-]{32,36}", uuid):
        raise SaltInvocationError(f"{uuid!r} is not a UUID")
    with _connection(f"Could not clean up after the migration of {name}") as conn:
        host = _host_id(conn)
        deadline = time.monotonic() + CLEANUP_WAIT_SECONDS
        while True:
            try:
                dom = conn.lookupByName(name)
            except libvirt.libvirtError as err:
                if err.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
                return {"name": name, "host": host, "removed": False, "comment": f"nothing of {name} on {host}"}
            if dom.UUIDString().lower() != uuid.lower():
                return {"name": name, "host": host, "removed": False,
                        "comment": f"{name} on {host} is another VM (UUID {dom.UUIDString()}); left alone"}
            state, reason = dom.state()
            word = _state_name(state)
            incoming = word == "paused" and _reason_name(word, reason) in ("migration", "starting_up", "unknown")
            if word in ACTIVE_STATES and not incoming:
                if time.monotonic() < deadline:
                    time.sleep(0.5)
                    continue
                return {"name": name, "host": host, "removed": False,
                        "comment": f"{name} is {STATE_PHRASES.get(word, word)} on {host}; left alone"}
            if incoming:
                # libvirt normally drops the incoming domain itself: give it a moment.
                if time.monotonic() < deadline:
                    time.sleep(0.5)
                    continue
                dom.destroy()
            try:
                dom.undefine()
            except libvirt.libvirtError as err:
                if err.get_error_code() not in (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_OPERATION_INVALID):
                    raise
            return {"name": name, "host": host, "removed": True,
                    "comment": f"removed what the failed migration left of {name} on {host}"}
