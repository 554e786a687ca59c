"""
One libvirt connection per call, and the bulk calls that describe a host and its VMs on it.

``connection`` is the one place where a ``libvirt.libvirtError`` becomes a coded
``brine.errors.Refused``: ``libvirt_unavailable`` when libvirtd cannot be reached,
``libvirt_error`` when it refuses a call. A missing VM is ``no_vm`` (``lookup``). Callers pass
the URI (a host reads ``virt:connection:uri``); nothing here reads Salt's configuration.

:depends: libvirt-python
"""

import contextlib
import logging
import os
import stat
from xml.etree import ElementTree

from brine import domxml
from brine import vocabulary
from brine.errors import Refused

try:
    import libvirt

    HAS_LIBVIRT = True
except ImportError:
    libvirt = None
    HAS_LIBVIRT = False

log = logging.getLogger(__name__)

# Pool types whose volumes live at <target path>/<volume name>, so the path of each volume is
# known without asking libvirt once per volume.
POOLS_WITH_TARGET_PATHS = frozenset(("dir", "fs", "netfs", "logical"))


def message(err):
    """libvirt's own sentence of a ``libvirtError``."""
    return err.get_error_message() or str(err)


def is_missing(err):
    """True when ``err`` says the domain does not exist (any more)."""
    return err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


def _log_libvirt_error(_context, error):
    log.debug("libvirt: %s", error[2] if error else error)


def quiet_errors():
    """
    Errors arrive as exceptions; libvirt's default handler would also print each one, expected
    ones included ("Domain not found"), on the minion's stderr.
    """
    libvirt.registerErrorHandler(_log_libvirt_error, None)


def open_connection(uri):
    """A read-write connection to ``uri`` (None or "": libvirt's default)."""
    quiet_errors()
    return libvirt.open(uri or None)


@contextlib.contextmanager
def connection(opener, failure):
    """
    Yield the connection ``opener()`` returns and close it afterwards. A ``libvirtError``
    becomes ``Refused``: ``libvirt_unavailable`` ("<failure>: cannot connect to libvirt: ...")
    when opening fails, ``libvirt_error`` ("<failure>: <libvirt's message>") afterwards.
    """
    try:
        conn = opener()
    except libvirt.libvirtError as err:
        raise Refused("libvirt_unavailable", f"{failure}: cannot connect to libvirt: {message(err)}") from err
    try:
        yield conn
    except libvirt.libvirtError as err:
        raise Refused("libvirt_error", f"{failure}: {message(err)}") from err
    finally:
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()


def no_vm(name, host):
    return Refused("no_vm", f"There is no VM named {name} on {host}")


def lookup(conn, name, host):
    """The domain ``name``; ``Refused(no_vm)`` when there is none."""
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as err:
        if is_missing(err):
            raise no_vm(name, host) from err
        raise


def current_state(dom):
    """State word of ``dom`` now; ``shutoff`` if a transient domain went away."""
    try:
        return vocabulary.state_name(dom.state()[0])
    except libvirt.libvirtError as err:
        if is_missing(err):
            return "shutoff"
        raise


def stats_groups():
    # Not the block group: it asks QEMU about every disk of every domain, which is slow.
    return (
        libvirt.VIR_DOMAIN_STATS_STATE
        | libvirt.VIR_DOMAIN_STATS_BALLOON
        | libvirt.VIR_DOMAIN_STATS_VCPU
        | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    )


def stats_flags():
    # Don't wait for a domain busy with a job (a migration, say): report what is known.
    return getattr(libvirt, "VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT", 0)


def version_string(number):
    """libvirt packs versions as ``major * 1000000 + minor * 1000 + micro``."""
    number = int(number or 0)
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


def file_sizes(path):
    """
    (capacity, allocation) in bytes of a disk outside any storage pool, from ``os.stat``;
    (None, None) when there is no such file. For an image format with a header (qcow2) the
    capacity is the file's size, not the guest's disk size.
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


def pool_volumes(conn):
    """
    Every volume of every active storage pool as {normalised path: (pool, volume)}. Listing
    is one call per pool; a volume's path is one more call only for pool types that don't keep
    volumes at <target path>/<name>.
    """
    volumes = {}
    for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
        try:
            root = ElementTree.fromstring(pool.XMLDesc(0))
            listed = pool.listAllVolumes(0)
        except libvirt.libvirtError as err:
            # A pool stopped or broken since it was listed: its disks just have no sizes.
            log.debug("Skipping storage pool %s: %s", pool.name(), message(err))
            continue
        target = root.findtext("target/path")
        target = os.path.normpath(target) if target else None
        listed_by_target = root.get("type") in POOLS_WITH_TARGET_PATHS and target
        for volume in listed:
            path = os.path.join(target, volume.name()) if listed_by_target else volume.path()
            if path:
                volumes[os.path.normpath(path)] = (pool, volume)
    return volumes


def volume_sizes(conn, paths):
    """
    {path: (capacity, allocation)} in bytes for the given disk paths: from the pool volume
    when the path is one, else from ``os.stat``.
    """
    if not paths:
        return {}
    volumes = pool_volumes(conn)
    sizes = {}
    for path in paths:
        found = volumes.get(os.path.normpath(path))
        if found is None:
            sizes[path] = file_sizes(path)
            continue
        try:
            _, capacity, allocation = found[1].info()
        except libvirt.libvirtError as err:
            # The file went away since the pool was last refreshed.
            log.debug("No size for volume %s: %s", path, message(err))
            capacity = allocation = None
        sizes[path] = (capacity, allocation)
    return sizes


def network_facts(conn):
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
            log.debug("No DHCP leases from network %s: %s", name, message(err))
            continue
        # IPv4 first: it is what people type into ssh.
        for lease in sorted(leases, key=lambda lease: lease.get("type", 0)):
            mac = (lease.get("mac") or "").lower()
            if mac and lease.get("ipaddr") and mac not in ips:
                ips[mac] = lease["ipaddr"]
    return ips, bridges


def _uuids(conn, flags):
    return {dom.UUIDString() for dom in conn.listAllDomains(flags)}


def _parsed_records(records):
    """[(parsed XML, stats, cpu_time fallback)] of the domains that still exist."""
    described = []
    for dom, stats in records:
        try:
            parsed = domxml.parse_domain(dom.XMLDesc(0))
            cpu_time = None
            if "cpu.time" not in stats and vocabulary.is_active(
                vocabulary.state_name(stats.get("state.state"))
            ):
                # Drivers without the cpu-total stats group (libvirt's test driver).
                cpu_time = dom.info()[4]
        except libvirt.libvirtError as err:
            if is_missing(err):
                continue  # undefined while we were looking
            raise
        described.append((parsed, stats, cpu_time))
    return described


def describe_domains(conn, records):
    """
    VM dicts for ``records``, the [(domain, stats)] list of ``getAllDomainStats`` or
    ``domainListGetStats``: one XMLDesc per domain, everything else in bulk.
    """
    autostart = _uuids(conn, libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)
    persistent = _uuids(conn, libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT)
    described = _parsed_records(records)
    paths = {disk["path"] for parsed, _, _ in described for disk in parsed["disks"] if disk["path"]}
    sizes = volume_sizes(conn, paths)
    ips, bridges = network_facts(conn)
    return [
        domxml.build_vm(
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


def describe_all(conn):
    """VM dicts of every domain on ``conn``, in one bulk stats call."""
    return describe_domains(conn, conn.getAllDomainStats(stats_groups(), stats_flags()))


def describe_domain(conn, dom):
    """The VM dict of one domain, or None if it no longer exists."""
    try:
        records = conn.domainListGetStats([dom], stats_groups(), stats_flags())
    except libvirt.libvirtError as err:
        if is_missing(err):
            return None
        raise
    vms = describe_domains(conn, records)
    return vms[0] if vms else None


def vm_by_name(uri, name):
    """
    The VM dict of ``name`` on its own connection to ``uri``, or None when there is no such VM
    (the events engine describes VMs this way, off libvirt's event loop).
    """
    with connection(lambda: open_connection(uri), f"Could not describe {name}") as conn:
        try:
            dom = conn.lookupByName(name)
        except libvirt.libvirtError as err:
            if is_missing(err):
                return None
            raise
        return describe_domain(conn, dom)


def node_memory_total(conn, info_mib):
    """
    The host's memory in KiB. getInfo() may count only part of it (seen: 6 of 24 GiB on a
    nested host, where the NUMA cell libvirt reads is smaller), so ask the node's memory
    statistics first and fall back to getInfo() where a driver has none.
    """
    try:
        total = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0).get("total")
    except libvirt.libvirtError:
        total = None
    return int(total) if total else info_mib * 1024


def node_memory_available(conn):
    """KiB free for new allocations now (free + buffers + page cache), or None."""
    try:
        stats = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
    except libvirt.libvirtError:
        return None
    if "free" not in stats:
        return None
    return sum(int(stats.get(key, 0)) for key in ("free", "buffers", "cached"))


def host_facts(conn, vms):
    """The ``host`` part of an inventory: the node's facts and the totals over ``vms``."""
    model, memory_mib, cpus, mhz, nodes, sockets, cores, threads = conn.getInfo()
    cpu_model, cpu_arch = domxml.parse_capabilities(conn.getCapabilities())
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
        "memory_total": node_memory_total(conn, memory_mib),
        "memory_free": conn.getFreeMemory() // 1024,
        "libvirt_version": version_string(conn.getLibVersion()),
        "hypervisor": conn.getType(),
        "hypervisor_version": version_string(conn.getVersion()),
        "uri": conn.getURI(),
    }
    facts.update(vocabulary.totals(vms))
    return facts
