"""
The landscape's libvirt objects (docs/landscape.md, The library's picture): network and domain XML, the
``virNetworkUpdate`` snippets that change a running network's DHCP and DNS hosts, the keyword
arguments of saltext-virt's pool and volume states, and what the landscape manages in a domain
definition (``managed_view``), compared as a diff (``view_diff``).

The XML is built with ElementTree (values are escaped by it, never formatted into text) and
indented the same way every time, so the same picture gives the same bytes. Nothing here
talks to libvirtd.

:depends: saltext-virt (for ``pool_xml`` only)
"""

import difflib
import ipaddress
import json
from xml.etree import ElementTree

from brine import domxml
from brine.errors import Invalid
from brine.errors import Refused

try:
    from saltext.virt.modules import virt as saltext_virt
except ImportError:  # only pool_xml needs it
    saltext_virt = None

NETWORK_MODES = ("nat", "route", "isolated", "bridge")
DOMAIN_TYPES = ("kvm", "qemu")
POOL_TYPES = ("dir", "netfs", "logical")
# The device name prefix of a disk's target on each bus (sata and scsi share sdX).
BUS_PREFIXES = {"virtio": "vd", "sata": "sd", "scsi": "sd", "ide": "hd"}
SERIAL_LOG = "/var/log/libvirt/qemu/{name}-serial.log"
# saltext-virt's pool template puts values into XML as they are, between single quotes.
_POOL_UNSAFE = set("<>&'\"")
_INDENT = "  "


def _text(root):
    """``root`` as text: two-space indentation, a final newline."""
    ElementTree.indent(root, space=_INDENT)
    return ElementTree.tostring(root, encoding="unicode") + "\n"


def _sub(parent, tag, attrs=None, text=None):
    """A child element; attributes whose value is None are left out."""
    element = ElementTree.SubElement(
        parent, tag, {key: str(value) for key, value in (attrs or {}).items() if value is not None}
    )
    if text is not None:
        element.text = str(text)
    return element


# ---- Networks


def _dhcp_host(entry):
    element = ElementTree.Element("host")
    for key in ("mac", "name", "ip"):
        if entry.get(key) is not None:
            element.set(key, str(entry[key]))
    return element


def _dns_host(ip, hostnames):
    element = ElementTree.Element("host", {"ip": str(ip)})
    for hostname in hostnames:
        _sub(element, "hostname", text=hostname)
    return element


def dhcp_host_xml(entry):
    """
    A static DHCP host (``{mac, name, ip}``, a ``static_hosts`` entry) as the
    ``<host mac= name= ip=/>`` that a network's ``<dhcp>`` holds and ``virNetworkUpdate``
    takes for its section ``IP_DHCP_HOST``.
    """
    return ElementTree.tostring(_dhcp_host(entry), encoding="unicode")


def dns_host_xml(ip, hostnames):
    """
    A DNS host as the ``<host ip=><hostname>..</hostname></host>`` that a network's ``<dns>``
    holds and ``virNetworkUpdate`` takes for its section ``DNS_HOST``.
    """
    return ElementTree.tostring(_dns_host(ip, hostnames), encoding="unicode")


def dns_hosts(net):
    """
    ``[(ip, [hostname, ..])]``: the network's ``dns_hosts`` and its guests' ``dns_entries``
    grouped by address (libvirt refuses two ``<host>`` of one address), in address order; each
    address's names in the order given, once each.
    """
    grouped = {}
    for entry in list(net.get("dns_hosts") or []) + list(net.get("dns_entries") or []):
        names = grouped.setdefault(str(entry["ip"]), [])
        names.extend(name for name in entry["hostnames"] if name not in names)
    return sorted(grouped.items(), key=lambda item: ipaddress.ip_address(item[0]))


def _check_network(net):
    name, mode = net.get("name"), net.get("mode")
    if mode not in NETWORK_MODES:
        raise Invalid(f"network {name}: mode {mode!r} is not one of {', '.join(NETWORK_MODES)}")
    if mode == "bridge":
        if not net.get("bridge"):
            raise Invalid(f"network {name}: a bridge-mode network needs the host's bridge")
        addressed = [
            key
            for key in ("subnet", "gateway", "dhcp", "dns_hosts", "static_hosts", "dns_entries")
            if net.get(key)
        ]
        if addressed:
            raise Invalid(f"network {name}: a bridge-mode network has no {', '.join(addressed)}")
    elif net.get("gateway") and not net.get("subnet"):
        raise Invalid(f"network {name}: the gateway needs the network's subnet")


def network_xml(net, uuid=None):
    """
    The libvirt network XML of a network of the landscape's picture (nat, route, isolated or
    bridge). ``uuid`` is the network's when it is defined already: libvirt refuses to define a
    network again under its name with another (or no) UUID.
    """
    _check_network(net)
    mode = net["mode"]
    root = ElementTree.Element("network")
    _sub(root, "name", text=net["name"])
    if uuid:
        _sub(root, "uuid", text=uuid)
    if mode == "bridge":
        _sub(root, "forward", {"mode": "bridge"})
        _sub(root, "bridge", {"name": net["bridge"]})
        return _text(root)
    if mode in ("nat", "route"):
        _sub(root, "forward", {"mode": mode, "dev": net.get("forward_dev")})
    if net.get("bridge"):
        _sub(root, "bridge", {"name": net["bridge"], "stp": "on", "delay": "0"})
    if net.get("domain"):
        _sub(root, "domain", {"name": net["domain"], "localOnly": "yes"})
    hosts = dns_hosts(net)
    if hosts:
        dns = _sub(root, "dns")
        for ip, hostnames in hosts:
            dns.append(_dns_host(ip, hostnames))
    if net.get("gateway"):
        subnet = ipaddress.ip_network(net["subnet"], strict=False)
        ip = _sub(root, "ip", {"address": net["gateway"], "prefix": subnet.prefixlen})
        static = net.get("static_hosts") or []
        if net.get("dhcp") or static:
            dhcp = _sub(ip, "dhcp")
            if net.get("dhcp"):
                _sub(dhcp, "range", {"start": net["dhcp"]["start"], "end": net["dhcp"]["end"]})
            for entry in static:
                dhcp.append(_dhcp_host(entry))
    return _text(root)


# ---- Domains


def target_dev(bus, index):
    """The target device of a bus's ``index``-th disk (from 0), named as libvirt names them."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return BUS_PREFIXES[bus] + letters


def _disk(devices, disk, target, guest_name):
    bus = disk.get("bus") or "virtio"
    # cache "default" is libvirt's own choice: it is written as no cache attribute, as libvirt
    # gives it back (otherwise every comparison would find a difference).
    cache = disk.get("cache")
    driver = {"name": "qemu", "type": disk.get("format"), "cache": None if cache == "default" else cache}
    # A path wins: a pool's volume whose path the host has resolved (``landscape_apply``) is a
    # file or block disk like any other VM's, which migrations and inventories understand.
    if disk.get("path"):
        block = str(disk["path"]).startswith("/dev/")
        element = _sub(devices, "disk", {"type": "block" if block else "file", "device": "disk"})
        _sub(element, "driver", driver)
        _sub(element, "source", {"dev" if block else "file": disk["path"]})
    elif disk.get("pool"):
        element = _sub(devices, "disk", {"type": "volume", "device": "disk"})
        _sub(element, "driver", driver)
        _sub(element, "source", {"pool": disk["pool"], "volume": disk["vol"]})
    else:
        raise Invalid(f"guest {guest_name}: a disk needs a pool and volume or a path")
    _sub(element, "target", {"dev": target, "bus": bus})


def _interface(devices, nic, guest_name):
    if nic.get("network"):
        kind, source = "network", {"network": nic["network"]}
    elif nic.get("bridge"):
        kind, source = "bridge", {"bridge": nic["bridge"]}
    else:
        raise Invalid(f"guest {guest_name}: an interface needs a network or a bridge")
    element = _sub(devices, "interface", {"type": kind})
    if nic.get("mac"):
        _sub(element, "mac", {"address": nic["mac"]})
    _sub(element, "source", source)
    if nic.get("model"):
        _sub(element, "model", {"type": nic["model"]})


def _disk_targets(guest):
    counts = {}
    targets = []
    for disk in guest.get("disks") or []:
        bus = disk.get("bus") or "virtio"
        if bus not in BUS_PREFIXES:
            raise Invalid(f"guest {guest['name']}: disk bus {bus!r} is not one of {', '.join(BUS_PREFIXES)}")
        prefix = BUS_PREFIXES[bus]
        targets.append(target_dev(bus, counts.get(prefix, 0)))
        counts[prefix] = counts.get(prefix, 0) + 1
    return targets


def domain_xml(guest, domain_type, uuid=None):
    """
    The persistent domain definition of a guest of the landscape's picture, for libvirt's
    ``domain_type`` (kvm or qemu), marked in its metadata as the landscape's. ``uuid`` is the
    domain's when it is defined already (libvirt keeps a domain's UUID for its name).
    """
    name = guest["name"]
    if domain_type not in DOMAIN_TYPES:
        raise Invalid(f"guest {name}: domain type {domain_type!r} is not one of {', '.join(DOMAIN_TYPES)}")
    targets = _disk_targets(guest)
    root = ElementTree.Element("domain", {"type": domain_type})
    _sub(root, "name", text=name)
    if uuid:
        _sub(root, "uuid", text=uuid)
    if guest.get("description"):
        _sub(root, "description", text=guest["description"])
    metadata = _sub(root, "metadata")
    _sub(metadata, "landscape:guest", {"xmlns:landscape": domxml.LANDSCAPE_NS, "group": guest.get("group")})
    _sub(root, "memory", {"unit": "MiB"}, guest["memory"])
    _sub(root, "currentMemory", {"unit": "MiB"}, guest["memory"])
    _sub(root, "vcpu", {"placement": "static"}, guest["vcpus"])
    os_element = _sub(root, "os")
    _sub(os_element, "type", {"arch": "x86_64", "machine": "pc"}, "hvm")
    boot = guest.get("boot")
    if boot:
        for key in ("kernel", "initrd", "cmdline"):
            if boot.get(key) is not None:
                _sub(os_element, key, text=boot[key])
    else:
        _sub(os_element, "boot", {"dev": "hd"})
    features = _sub(root, "features")
    _sub(features, "acpi")
    _sub(root, "on_poweroff", text="destroy")
    _sub(root, "on_reboot", text="restart")
    _sub(root, "on_crash", text="destroy")
    devices = _sub(root, "devices")
    for disk, target in zip(guest.get("disks") or [], targets, strict=True):
        _disk(devices, disk, target, name)
    for nic in guest.get("interfaces") or []:
        _interface(devices, nic, name)
    serial = _sub(devices, "serial", {"type": "pty"})
    _sub(serial, "log", {"file": SERIAL_LOG.format(name=name), "append": "on"})
    _sub(serial, "target", {"port": "0"})
    console = _sub(devices, "console", {"type": "pty"})
    _sub(console, "target", {"type": "serial", "port": "0"})
    # The listen address and password come from the host's qemu.conf.
    _sub(devices, "graphics", {"type": "vnc", "port": "-1", "autoport": "yes"})
    video = _sub(devices, "video")
    _sub(video, "model", {"type": "vga"})
    _sub(devices, "memballoon", {"model": "virtio"})
    return _text(root)


# ---- What the landscape manages in a domain definition


def managed_view(xml_text):
    """
    What the landscape manages in a domain's definition, read from any domain XML (libvirt's own
    additions are ignored): ``{description, group, memory (MiB), vcpus, boot: {kernel, initrd,
    cmdline} | None, disks: [{kind, pool, volume, path, format, cache, bus, target}],
    interfaces: [{type, source, mac, model}]}``. Only disks of device ``disk`` count.
    """
    root = ElementTree.fromstring(xml_text)
    memory = domxml.memory_kib(root.find("memory"))
    kernel = root.find("os/kernel")
    boot = None
    if kernel is not None:
        boot = {key: root.findtext(f"os/{key}") for key in ("kernel", "initrd", "cmdline")}
    interfaces = []
    for element in root.findall("devices/interface"):
        nic = domxml.parse_nic(element)
        interfaces.append(
            {
                "type": nic["type"],
                "source": nic["network"] if nic["type"] == "network" else nic["bridge"],
                "mac": nic["mac"],
                "model": nic["model"],
            }
        )
    landscape = domxml.parse_landscape(root) or {}
    return {
        "description": root.findtext("description"),
        "group": landscape.get("group"),
        "memory": memory // 1024 if memory is not None else None,
        "vcpus": domxml.int_or_none(root.findtext("vcpu")),
        "boot": boot,
        "disks": [
            domxml.disk_definition(disk)
            for disk in root.findall("devices/disk")
            if disk.get("device", "disk") == "disk"
        ],
        "interfaces": interfaces,
    }


def guest_view(guest):
    """The managed view of the definition ``domain_xml`` makes of ``guest``."""
    return managed_view(domain_xml(guest, "kvm"))


def _lines(value, key=""):
    if isinstance(value, dict) and value:
        return [line for sub in sorted(value) for line in _lines(value[sub], f"{key}.{sub}" if key else sub)]
    if isinstance(value, list) and value:
        return [line for index, item in enumerate(value) for line in _lines(item, f"{key}[{index}]")]
    return [f"{key}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}"]


def view_lines(view):
    """A managed view as ``key: value`` lines in a stable order (values as JSON); none for ``{}``."""
    return _lines(view) if view else []


def view_diff(current_view, desired_view):
    """
    A unified diff (``current`` → ``desired``) of two managed views, '' when they are equal.
    A desired NIC without a MAC leaves the MAC to libvirt: it takes the current MAC of that NIC.
    """
    desired = with_current_macs(desired_view, current_view)
    return "\n".join(
        difflib.unified_diff(view_lines(current_view), view_lines(desired), "current", "desired", lineterm="")
    )


def with_current_macs(guest, current_view):
    """
    ``guest`` with each NIC that has no MAC given the MAC its NIC of the same place has in the
    current definition (``managed_view``): redefining a domain whose XML has no MAC for a NIC
    makes libvirt choose a new one.
    """
    if "interfaces" not in guest:
        return guest
    had = current_view.get("interfaces") or []
    interfaces = [
        dict(nic, mac=had[index].get("mac")) if nic.get("mac") is None and index < len(had) else nic
        for index, nic in enumerate(guest.get("interfaces") or [])
    ]
    return dict(guest, interfaces=interfaces)


# ---- Pools and volumes (saltext-virt's states)


def _check_pool_value(pool, field, value):
    if value is not None and _POOL_UNSAFE & set(str(value)):
        raise Invalid(
            f"pool {pool['name']}: {field} {value!r} has a character saltext-virt cannot put in XML"
            " (< > & ' \")"
        )


# libvirt's permissions of a pool folder it builds as root (storage_util.h's default mode).
FOLDER_PERMISSIONS = {"mode": "0711", "owner": 0, "group": 0}


def pool_state(pool):
    """
    The keyword arguments of saltext-virt's ``virt.pool_running`` for a pool of the landscape's
    picture (dir, netfs or logical): ``{ptype, target, permissions, source, autostart}``.

    A new folder's permissions are libvirt's own defaults for a pool libvirtd (root) builds (mode
    0711, root's): ``virt.pool_running`` compares its definition with libvirt's, which always
    shows them, and would otherwise redefine, rebuild and restart the pool at every highstate.
    For a pool the host already has, ``landscape_apply.with_current_permissions`` passes the
    permissions libvirt shows (an NFS export's own, once mounted).
    """
    name, ptype = pool["name"], pool.get("type")
    if ptype not in POOL_TYPES:
        raise Invalid(f"pool {name}: type {ptype!r} is not one of {', '.join(POOL_TYPES)}")
    _check_pool_value(pool, "name", name)
    _check_pool_value(pool, "path", pool.get("path"))
    given = pool.get("source") or {}
    source = None
    if ptype == "netfs":
        host = given.get("host")
        if not host or not given.get("dir"):
            raise Invalid(f"pool {name}: an NFS pool needs source host and dir")
        if ":" in str(host):
            # saltext-virt reads "host:port" out of each host.
            raise Invalid(f"pool {name}: source host {host!r} must be a host name or IPv4 address")
        source = {"dir": given["dir"], "hosts": [host], "format": given.get("format") or "nfs"}
    elif ptype == "logical":
        if not given.get("vg"):
            raise Invalid(f"pool {name}: an LVM pool needs source vg")
        source = {"name": given["vg"]}
        if given.get("devices"):
            source["devices"] = [{"path": device} for device in given["devices"]]
    for field, value in (source or {}).items():
        for item in value if isinstance(value, list) else [value]:
            _check_pool_value(pool, f"source {field}", item.get("path") if isinstance(item, dict) else item)
    return {
        "ptype": ptype,
        "target": pool.get("path"),
        "permissions": dict(FOLDER_PERMISSIONS) if ptype == "dir" else None,
        "source": source,
        "autostart": bool(pool.get("autostart", True)),
    }


def pool_xml(pool):
    """
    The pool XML that ``virt.pool_running`` defines with ``pool_state(pool)``, made by
    saltext-virt's own generator (its module's ``_gen_pool_xml``, as the state calls it).
    """
    state = pool_state(pool)
    if saltext_virt is None:
        raise Refused("internal", "saltext-virt is not installed here: it makes the pool XML")
    source = state["source"] or {}
    return saltext_virt._gen_pool_xml(  # pylint: disable=protected-access
        pool["name"],
        state["ptype"],
        state["target"],
        permissions=state["permissions"],
        source_devices=source.get("devices"),
        source_dir=source.get("dir"),
        source_hosts=source.get("hosts"),
        source_name=source.get("name"),
        source_format=source.get("format"),
    )


def volume_xml(volume, pool_type):
    """
    The XML ``virStorageVolCreateXML`` takes for ``volume`` (``{name, size_gib, format}``) in a
    pool of ``pool_type``: its capacity in bytes; outside a logical pool (whose volumes are raw
    block devices) its format, and sparse (no allocation up front, a raw file too).
    """
    root = ElementTree.Element("volume")
    _sub(root, "name", text=volume["name"])
    _sub(root, "capacity", {"unit": "bytes"}, text=str(int(volume["size_gib"]) * 1024**3))
    if pool_type != "logical":
        _sub(root, "allocation", {"unit": "bytes"}, text="0")
        target = _sub(root, "target")
        _sub(target, "format", {"type": volume.get("format") or "qcow2"})
    return _text(root)
