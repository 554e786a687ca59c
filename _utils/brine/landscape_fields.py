"""
The fields of the landscape's objects (docs/landscape.md, Fields): what each may hold, its default, and
one network, pool or guest built from its merged layers into the picture's shape (docs/landscape.md,
The library's picture).

``brine.landscape`` merges the layers and checks what spans objects (duplicates, overlaps, addresses
against each network's subnet); this module checks one object at a time. Every refusal is
``brine.errors.Invalid`` with a sentence that starts ``landscape:`` and names the object and field
(``landscape: guest web-1: interfaces[0].mac ...``). Absent optional values are None, lists empty.
"""

import hashlib
import ipaddress
import posixpath
import re

from brine import validate
from brine.errors import Invalid

NETWORK_FIELDS = (
    "mode",
    "bridge",
    "domain",
    "subnet",
    "gateway",
    "dhcp",
    "dns_hosts",
    "forward_dev",
    "hosts",
    "autostart",
    "vars",
)
POOL_FIELDS = ("type", "path", "source", "build", "volumes", "hosts", "autostart", "vars")
GUEST_FIELDS = (
    "host",
    "group",
    "hostname",
    "description",
    "memory",
    "vcpus",
    "ip",
    "fqdn",
    "interfaces",
    "disks",
    "boot",
    "start",
    "autostart",
    "vars",
)
# A group's layer holds what its guests share: any guest field but the group itself.
GROUP_FIELDS = tuple(field for field in GUEST_FIELDS if field != "group")

NETWORK_MODES = ("nat", "route", "isolated", "bridge")
FORWARD_MODES = ("nat", "route")
POOL_TYPES = ("dir", "netfs", "logical")
NETFS_FORMATS = ("nfs",)
NIC_MODELS = ("virtio", "e1000", "rtl8139")
DISK_FORMATS = ("qcow2", "raw")
DISK_BUSES = ("virtio", "sata", "scsi", "ide")
DISK_CACHES = ("none", "writeback", "writethrough", "directsync", "unsafe", "default")
NIC_KEYS = ("network", "bridge", "model", "mac", "ip", "hostname", "fqdn")
DISK_KEYS = ("pool", "vol", "path", "format", "size", "bus", "cache")
VOLUME_KEYS = ("name", "size", "format")
BOOT_KEYS = ("kernel", "initrd", "cmdline")

DEFAULT_MEMORY = 512
MIN_MEMORY = 64
DEFAULT_VCPUS = 1
FQDN_MAX = 64
DOMAIN_MAX = 253
TEXT_MAX = 1024
PATH_MAX = 4096
# The longest subnet prefix that leaves room for a gateway and a guest.
PREFIX_MAX = 30
MAC_PREFIX = "52:54:00:"

NAME_RULE = "use 1 to 64 letters, digits, '_', '.', '+' or '-', starting with a letter or digit"
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_RE = re.compile(LABEL)
DOMAIN_RE = re.compile(rf"{LABEL}(?:\.{LABEL})*")
MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
# A network device's name as Linux allows it (IFNAMSIZ: at most 15 characters).
IFNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")
# A minion id, or a shell-style glob of minion ids.
HOST_PATTERN_RE = re.compile(r"[A-Za-z0-9_.*?\[\]!-]{1,253}")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def fail(what, field, problem):
    raise Invalid(f"landscape: {what}: {field} {problem}")


def name(value, kind):
    """``value`` as the name of a ``kind`` (network, pool, group, guest, volume)."""
    if isinstance(value, str) and validate.VM_NAME_RE.fullmatch(value):
        return value
    raise Invalid(f"landscape: {kind} name {value!r} is not valid: {NAME_RULE} (no '/' or path parts)")


def volume_name(value, what, field):
    """A volume's name: the rules of ``name`` (so never a '/' or a path part)."""
    if isinstance(value, str) and validate.VM_NAME_RE.fullmatch(value):
        return value
    fail(what, field, f"{value!r} is not a valid volume name: {NAME_RULE} (no '/' or path parts)")
    return None


def host_id(value, what, field="host"):
    if isinstance(value, str) and validate.HOST_ID_RE.fullmatch(value):
        return value
    fail(what, field, f"{value!r} is not a minion id: use letters, digits, '_', '.' or '-'")
    return None


def host_patterns(value, what):
    """``hosts``: minion ids or shell-style globs of them; None (every host) when absent."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        fail(what, "hosts", f"must be a list of minion ids or globs (hv1, 'hv*'), not {value!r}")
    for pattern in value:
        if not isinstance(pattern, str) or not HOST_PATTERN_RE.fullmatch(pattern):
            fail(what, "hosts", f"entry {pattern!r} is not a minion id or a glob of them")
    return list(value)


def mapping(value, what, field, keys=None):
    """``value`` as a dict (None: empty), with only ``keys`` when they are given."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        # The type only: the value may hold secrets (vars), and refusals travel in job returns.
        fail(what, field, f"must be a mapping, not a {type(value).__name__}")
    if keys is not None:
        unknown = sorted(str(key) for key in value if key not in keys)
        if unknown:
            fail(what, field, f"has unknown key {unknown[0]!r} (it takes {', '.join(keys)})")
    return value


def items(value, what, field):
    """``value`` as a list (None: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        fail(what, field, f"must be a list, not a {type(value).__name__}")
    return value


def flag(value, what, field, default):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    fail(what, field, f"must be true or false, not {value!r}")
    return None


def integer(value, what, field, low, high, unit, default=None):
    """A whole number from ``low`` to ``high`` ``unit``; ``default`` when absent."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        fail(what, field, f"must be a whole number of {unit} from {low} to {high}, not {value!r}")
    return value


def choice(value, choices, what, field, default=None):
    if value is None:
        if default is None:
            fail(what, field, f"is required: one of {', '.join(choices)}")
        return default
    if value not in choices:
        fail(what, field, f"must be one of {', '.join(choices)}, not {value!r}")
    return value


def text(value, what, field, limit=TEXT_MAX, one_line=False):
    """Text without control characters (tabs and, unless ``one_line``, newlines allowed)."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or len(value) > limit
        or CONTROL_RE.search(value)
        or (one_line and "\n" in value)
    ):
        lines = "one line" if one_line else "text"
        fail(what, field, f"must be {lines} of at most {limit} characters without control characters")
    return value


def path(value, what, field):
    """An absolute, normalized path without '..' (None when absent)."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or len(value) > PATH_MAX
        or CONTROL_RE.search(value)
        or value.startswith("//")
        or posixpath.normpath(value) != value
    ):
        fail(what, field, f"must be an absolute, normalized path without '..', not {value!r}")
    return value


def ipv4(value, what, field):
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        fail(what, field, f"must be an IPv4 address, not {value!r}")
    return None


def subnet(value, what, field="subnet"):
    if value is None:
        return None
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError(value)
        network = ipaddress.IPv4Network(value)
    except ValueError:
        fail(what, field, f"must be an IPv4 network in CIDR form (192.168.155.0/24), not {value!r}")
    if network.prefixlen > PREFIX_MAX:
        fail(what, field, f"{value} is too small: at most /{PREFIX_MAX}")
    return str(network)


def mac(value, what, field):
    """A MAC as ``xx:xx:xx:xx:xx:xx`` (lower case); ``none`` gives None (libvirt picks one)."""
    if isinstance(value, str) and value.lower() == "none":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        fail(what, field, 'was read as a number: quote the MAC in YAML ("52:54:00:..")')
    if not isinstance(value, str) or not MAC_RE.fullmatch(value):
        fail(what, field, f"must be a MAC address xx:xx:xx:xx:xx:xx or none, not {value!r}")
    if int(value[:2], 16) & 1:
        fail(what, field, f"{value} is a multicast address")
    return value.lower()


def derived_mac(guest, index):
    """The MAC of a guest's NIC ``index`` that gives none: the same on every render."""
    digest = hashlib.sha256(f"{guest}/{index}".encode()).digest()
    return MAC_PREFIX + ":".join(f"{byte:02x}" for byte in digest[:3])


def hostname(value, what, field="hostname"):
    if value is None:
        return None
    if not isinstance(value, str) or not HOSTNAME_RE.fullmatch(value):
        fail(what, field, f"must be a host name (an RFC 1123 label: letters, digits, '-'), not {value!r}")
    return value


def dns_name(value, what, field, limit=DOMAIN_MAX):
    """A dotted DNS name of RFC 1123 labels, at most ``limit`` characters."""
    if value is None:
        return None
    if not isinstance(value, str) or not DOMAIN_RE.fullmatch(value):
        fail(what, field, f"must be a DNS name (labels of letters, digits and '-'), not {value!r}")
    if len(value) > limit:
        fail(what, field, f"{value} is {len(value)} characters: at most {limit}")
    return value


def ifname(value, what, field):
    if value is None:
        return None
    if not isinstance(value, str) or not IFNAME_RE.fullmatch(value):
        fail(
            what,
            field,
            f"must be a network device name (at most 15 letters, digits, '_', '.', '-'), not {value!r}",
        )
    return value


def fields_of(merged, kind_fields):
    """The fields a kind takes from its merged layers (other keys of common and hosts ignored)."""
    return {key: value for key, value in merged.items() if key in kind_fields and value is not None}


# -- networks ---------------------------------------------------------------------------------
def network(net_name, fields, what=None):
    """
    A network's picture (without ``static_hosts``/``dns_entries``, which span guests); ``what``
    names it in refusals (default ``network <name>``).
    """
    what = what or f"network {net_name}"
    mode = choice(fields.get("mode"), NETWORK_MODES, what, "mode")
    bridge = ifname(fields.get("bridge"), what, "bridge")
    net = subnet(fields.get("subnet"), what)
    gateway = ipv4(fields.get("gateway"), what, "gateway")
    dhcp = mapping(fields.get("dhcp"), what, "dhcp", ("start", "end")) or None
    if mode == "bridge":
        if bridge is None:
            fail(what, "bridge", "is required in bridge mode: the host's existing bridge (br0)")
        given = [key for key in ("subnet", "gateway", "dhcp") if fields.get(key) is not None]
        if given:
            fail(what, given[0], "is not for a bridge-mode network: the host's LAN gives its addresses")
    if net is None and (gateway or dhcp):
        fail(what, "gateway" if gateway else "dhcp", "needs the network's subnet")
    if net is not None and gateway is None and dhcp is None:
        fail(what, "subnet", "needs the gateway: libvirt gives the host an address on the subnet")
    network_ = ipaddress.IPv4Network(net) if net else None
    if gateway is not None:
        _inside(ipaddress.IPv4Address(gateway), network_, what, "gateway")
    if dhcp is not None:
        if gateway is None:
            fail(what, "dhcp", "needs the gateway: libvirt serves DHCP from the host's address on it")
        start = ipv4(dhcp.get("start"), what, "dhcp.start")
        end = ipv4(dhcp.get("end"), what, "dhcp.end")
        if start is None or end is None:
            fail(what, "dhcp", "needs both start and end")
        first, last = ipaddress.IPv4Address(start), ipaddress.IPv4Address(end)
        _inside(first, network_, what, "dhcp.start")
        _inside(last, network_, what, "dhcp.end")
        if first > last:
            fail(what, "dhcp", f"starts at {start}, after its end {end}")
        if first <= ipaddress.IPv4Address(gateway) <= last:
            fail(what, "gateway", f"{gateway} is inside the DHCP range {start}-{end}")
        dhcp = {"start": start, "end": end}
    dns_hosts = []
    for index, raw in enumerate(items(fields.get("dns_hosts"), what, "dns_hosts")):
        field = f"dns_hosts[{index}]"
        entry = mapping(raw, what, field, ("ip", "hostnames"))
        address = ipv4(entry.get("ip"), what, f"{field}.ip")
        names = items(entry.get("hostnames"), what, f"{field}.hostnames")
        if address is None or not names:
            fail(what, field, "needs an ip and at least one hostname")
        names = [dns_name(item, what, f"{field}.hostnames") for item in names]
        dns_hosts.append({"ip": address, "hostnames": names})
    forward_dev = ifname(fields.get("forward_dev"), what, "forward_dev")
    return {
        "name": net_name,
        "mode": mode,
        "bridge": bridge,
        "domain": dns_name(fields.get("domain"), what, "domain"),
        "subnet": net,
        "gateway": gateway,
        "dhcp": dhcp,
        "dns_hosts": dns_hosts,
        # The uplink is for nat and route only; a host layer's forward_dev passes the others by.
        "forward_dev": forward_dev if mode in FORWARD_MODES else None,
        "autostart": flag(fields.get("autostart"), what, "autostart", True),
        "static_hosts": [],
        "dns_entries": [],
    }


def _inside(address, network_, what, field):
    """``address`` a usable host address of ``network_``."""
    if address not in network_:
        fail(what, field, f"{address} is outside the subnet {network_}")
    if address in (network_.network_address, network_.broadcast_address):
        kind = "network" if address == network_.network_address else "broadcast"
        fail(what, field, f"{address} is the subnet's {kind} address")


# -- pools ------------------------------------------------------------------------------------
def pool(pool_name, fields, what=None):
    """A storage pool's picture; ``what`` names it in refusals (default ``pool <name>``)."""
    what = what or f"pool {pool_name}"
    kind = choice(fields.get("type"), POOL_TYPES, what, "type")
    source, target = _pool_source(pool_name, kind, fields, what)
    if target is None:
        fail(what, "path", f"is required for a {kind} pool: the folder it lives in")
    buildable = kind != "logical" or bool(source["devices"])
    build = flag(fields.get("build"), what, "build", buildable)
    if build and not buildable:
        fail(what, "build", "needs source.devices: vgcreate makes the volume group from them")
    return {
        "name": pool_name,
        "type": kind,
        "path": target,
        "source": source,
        "build": build,
        "autostart": flag(fields.get("autostart"), what, "autostart", True),
        "volumes": _volumes(fields.get("volumes"), kind, what),
    }


def _pool_source(pool_name, kind, fields, what):
    """``(source, path)`` of a pool of type ``kind``: a logical pool's path is /dev/<vg>."""
    target = path(fields.get("path"), what, "path")
    if kind == "dir":
        if fields.get("source") is not None:
            fail(what, "source", "is not for a dir pool")
        return None, target
    if kind == "netfs":
        source = mapping(fields.get("source"), what, "source", ("host", "dir", "format"))
        server = source.get("host")
        if server is None or source.get("dir") is None:
            fail(what, "source", "needs the NFS server's host and dir ({host: nas, dir: /export/vm})")
        if isinstance(server, str) and re.fullmatch(r"[0-9.]+", server):
            server = ipv4(server, what, "source.host")
        else:
            server = dns_name(server, what, "source.host")
        return {
            "host": server,
            "dir": path(source.get("dir"), what, "source.dir"),
            "format": choice(source.get("format"), NETFS_FORMATS, what, "source.format", "nfs"),
        }, target
    source = mapping(fields.get("source"), what, "source", ("vg", "devices"))
    vg = source.get("vg", pool_name)
    if not isinstance(vg, str) or not validate.VM_NAME_RE.fullmatch(vg):
        fail(what, "source.vg", f"{vg!r} is not a volume group name: {NAME_RULE}")
    devices = [
        path(item, what, "source.devices") for item in items(source.get("devices"), what, "source.devices")
    ]
    if any(not device.startswith("/dev/") for device in devices):
        fail(what, "source.devices", "must be block devices under /dev/")
    if target is not None and target != f"/dev/{vg}":
        fail(what, "path", f"of a logical pool is its volume group's /dev/{vg}, not {target}")
    return {"vg": vg, "devices": devices}, f"/dev/{vg}"


def _volumes(value, kind, what):
    volumes = []
    for index, raw in enumerate(items(value, what, "volumes")):
        field = f"volumes[{index}]"
        entry = mapping(raw, what, field, VOLUME_KEYS)
        vol = volume_name(entry.get("name"), what, f"{field}.name")
        if vol in (volume["name"] for volume in volumes):
            fail(what, field, f"names the volume {vol} a second time")
        if entry.get("size") is None:
            fail(what, f"{field}.size", "is required (GiB)")
        size = integer(entry.get("size"), what, f"{field}.size", 1, validate.LIMITS["disk"], "GiB")
        volume_format = _volume_format(entry.get("format"), kind, what, f"{field}.format")
        volumes.append({"name": vol, "size_gib": size, "format": volume_format})
    return volumes


def _volume_format(value, pool_type, what, field):
    """qcow2 by default; raw (and only raw) on a logical pool, whose volumes are LVs."""
    if pool_type == "logical":
        if value not in (None, "raw"):
            fail(what, field, "must be raw on a logical pool (its volumes are logical volumes)")
        return "raw"
    return choice(value, DISK_FORMATS, what, field, "qcow2")


# -- guests -----------------------------------------------------------------------------------
def guest(guest_name, group, host, fields, networks, pools):
    """
    ``(picture, hostnames)``: a guest's picture from its merged ``fields``, and each NIC's own
    host name (for its network's static hosts; not part of the picture). ``networks`` and
    ``pools`` are the pictures of those defined on its ``host``: a NIC or disk naming another
    is refused.
    """
    what = f"guest {guest_name}"
    given_hostname = fields.get("hostname")
    if given_hostname is None and not HOSTNAME_RE.fullmatch(guest_name):
        fail(what, "hostname", f"is required: the name {guest_name} is not a host name")
    name_of_host = hostname(given_hostname if given_hostname is not None else guest_name, what)
    ip = ipv4(fields.get("ip"), what, "ip")
    fqdn = dns_name(fields.get("fqdn"), what, "fqdn", FQDN_MAX)
    raw_nics = items(fields.get("interfaces"), what, "interfaces")
    nics = [_nic(guest_name, index, entry, networks, what, host) for index, entry in enumerate(raw_nics)]
    if fqdn is None and nics and nics[0]["network"] is not None:
        domain = networks[nics[0]["network"]]["domain"]
        if domain is not None:
            fqdn = f"{name_of_host}.{domain}"
            if len(fqdn) > FQDN_MAX:
                fail(
                    what,
                    "fqdn",
                    f"{fqdn} is {len(fqdn)} characters: at most {FQDN_MAX} "
                    "(give a shorter hostname or an fqdn)",
                )
    if len(nics) == 1:
        # The only NIC is the guest: it carries the guest's address and name.
        nics[0]["ip"] = nics[0]["ip"] or ip
        nics[0]["fqdn"] = nics[0]["fqdn"] or fqdn
    boot = mapping(fields.get("boot"), what, "boot", BOOT_KEYS) or None
    if boot is not None:
        if boot.get("kernel") is None:
            fail(what, "boot.kernel", "is required for a direct kernel boot")
        boot = {
            "kernel": path(boot.get("kernel"), what, "boot.kernel"),
            "initrd": path(boot.get("initrd"), what, "boot.initrd"),
            "cmdline": text(boot.get("cmdline"), what, "boot.cmdline", one_line=True),
        }
    picture = {
        "name": guest_name,
        "host": host,
        "group": group,
        "hostname": name_of_host,
        "fqdn": fqdn,
        "description": text(fields.get("description"), what, "description"),
        "memory": integer(
            fields.get("memory"), what, "memory", MIN_MEMORY, validate.LIMITS["memory"], "MiB", DEFAULT_MEMORY
        ),
        "vcpus": integer(
            fields.get("vcpus"), what, "vcpus", 1, validate.LIMITS["vcpus"], "vCPUs", DEFAULT_VCPUS
        ),
        "start": flag(fields.get("start"), what, "start", False),
        "autostart": flag(fields.get("autostart"), what, "autostart", False),
        "boot": boot,
        "interfaces": [{key: nic[key] for key in nic if key != "hostname"} for nic in nics],
        "disks": _disks(guest_name, fields.get("disks"), pools, what, host),
        "vars": mapping(fields.get("vars"), what, "vars"),
    }
    return picture, [nic["hostname"] for nic in nics]


def _nic(guest_name, index, entry, networks, what, host):
    field = f"interfaces[{index}]"
    entry = mapping(entry, what, field, NIC_KEYS)
    net, bridge = entry.get("network"), entry.get("bridge")
    if (net is None) == (bridge is None):
        fail(what, field, "needs a network or a bridge (one of them)")
    if net is not None:
        if not isinstance(net, str) or net not in networks:
            fail(what, f"{field}.network", f"{net!r} is not a network of the landscape defined on {host}")
    else:
        bridge = ifname(bridge, what, f"{field}.bridge")
    given = entry.get("mac")
    return {
        "network": net,
        "bridge": bridge,
        "model": choice(entry.get("model"), NIC_MODELS, what, f"{field}.model", "virtio"),
        "mac": derived_mac(guest_name, index) if given is None else mac(given, what, f"{field}.mac"),
        "ip": ipv4(entry.get("ip"), what, f"{field}.ip"),
        "hostname": hostname(entry.get("hostname"), what, f"{field}.hostname"),
        "fqdn": dns_name(entry.get("fqdn"), what, f"{field}.fqdn", FQDN_MAX),
    }


def _disks(guest_name, value, pools, what, host):
    disks = []
    seen = {}
    for index, raw in enumerate(items(value, what, "disks")):
        field = f"disks[{index}]"
        entry = mapping(raw, what, field, DISK_KEYS)
        pool_name, vol, target = entry.get("pool"), entry.get("vol"), entry.get("path")
        if (pool_name is None) == (target is None):
            fail(what, field, "needs a pool (with an optional vol) or a path (one of them)")
        if vol is not None and pool_name is None:
            fail(what, f"{field}.vol", "needs the pool it is in")
        pool_type = None
        if pool_name is not None:
            if not isinstance(pool_name, str) or pool_name not in pools:
                fail(what, f"{field}.pool", f"{pool_name!r} is not a pool of the landscape defined on {host}")
            pool_type = pools[pool_name]["type"]
        disk_format = _volume_format(entry.get("format"), pool_type, what, f"{field}.format")
        if pool_name is not None:
            if vol is None:
                vol = f"{guest_name}-disk{index}.{'qcow2' if disk_format == 'qcow2' else 'img'}"
            vol = volume_name(vol, what, f"{field}.vol")
        key = (pool_name, vol) if pool_name is not None else path(target, what, f"{field}.path")
        if key in seen:
            fail(what, field, f"is the same disk as disks[{seen[key]}]")
        seen[key] = index
        disks.append(
            {
                "pool": pool_name,
                "vol": vol,
                "path": target,
                "format": disk_format,
                "size_gib": integer(
                    entry.get("size"), what, f"{field}.size", 1, validate.LIMITS["disk"], "GiB"
                ),
                "bus": choice(entry.get("bus"), DISK_BUSES, what, f"{field}.bus", "virtio"),
                "cache": choice(entry.get("cache"), DISK_CACHES, what, f"{field}.cache", "none"),
            }
        )
    return disks
