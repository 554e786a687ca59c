"""
The libvirt networks a host has, as Brine's network dict (docs/landscape.md, What the hosts have).

``parse`` reads a network's XML (forward mode, bridge, domain, the first IPv4 address with its
DHCP range and static hosts, the DNS hosts); ``leases`` reads an active network's DHCP leases;
``describe`` and ``list_all`` put those together with what libvirt says of the network's state.
Callers pass an open connection (``brine.libvirt_host.connection``) and the names the host's landscape
picture manages; nothing here reads Salt's configuration.

:depends: libvirt-python (not for ``parse``)
"""

import ipaddress
import logging
from xml.etree import ElementTree

try:
    import libvirt
except ImportError:  # the pure readers work without it
    libvirt = None

log = logging.getLogger(__name__)

# <forward mode> words Brine names; any other mode (passthrough, private, vepa, hostdev) is "other".
MODES = ("nat", "route", "open", "bridge")


def mode_of(root):
    """Brine's word for a network's forward mode: no ``<forward>`` is an isolated network."""
    forward = root.find("forward")
    if forward is None:
        return "isolated"
    mode = forward.get("mode") or "nat"  # libvirt's default for a bare <forward/>
    return mode if mode in MODES else "other"


def _first_ipv4(root):
    for element in root.findall("ip"):
        if (element.get("family") or "ipv4") == "ipv4" and element.get("address"):
            return element
    return None


def _subnet(element):
    """(subnet CIDR, gateway) of an ``<ip>`` element, or (None, address) when it is malformed."""
    address = element.get("address")
    mask = element.get("netmask") or element.get("prefix")
    try:
        interface = ipaddress.IPv4Interface(f"{address}/{mask}" if mask else address)
    except ValueError:
        return None, address
    return str(interface.network), address


def _dhcp(element):
    """``({"start", "end"} | None, [static host])`` of an ``<ip>`` element's ``<dhcp>``."""
    dhcp = element.find("dhcp") if element is not None else None
    if dhcp is None:
        return None, []
    first = dhcp.find("range")
    dynamic = None if first is None else {"start": first.get("start"), "end": first.get("end")}
    hosts = [
        {"mac": (host.get("mac") or "").lower() or None, "ip": host.get("ip"), "name": host.get("name")}
        for host in dhcp.findall("host")
    ]
    return dynamic, hosts


def _dns_hosts(root):
    return [
        {
            "ip": host.get("ip"),
            "hostnames": [name.text.strip() for name in host.findall("hostname") if name.text],
        }
        for host in root.findall("dns/host")
    ]


def parse(xml_text):
    """
    The parts of Brine's network dict a network's XML holds: ``name``, ``mode``, ``bridge``,
    ``domain``, ``forward_dev``, ``subnet``, ``gateway``, ``dhcp``, ``static_hosts``,
    ``dns_hosts``.
    """
    root = ElementTree.fromstring(xml_text)
    forward = root.find("forward")
    bridge = root.find("bridge")
    domain = root.find("domain")
    ip = _first_ipv4(root)
    subnet, gateway = _subnet(ip) if ip is not None else (None, None)
    dhcp, static_hosts = _dhcp(ip)
    return {
        "name": root.findtext("name"),
        "mode": mode_of(root),
        "bridge": bridge.get("name") if bridge is not None else None,
        "domain": domain.get("name") if domain is not None else None,
        "forward_dev": forward.get("dev") if forward is not None else None,
        "subnet": subnet,
        "gateway": gateway,
        "dhcp": dhcp,
        "static_hosts": static_hosts,
        "dns_hosts": _dns_hosts(root),
    }


def lease_entry(lease):
    """One of libvirt's DHCP lease dicts as ``{"mac", "ip", "hostname", "expires"}``."""
    return {
        "mac": (lease.get("mac") or "").lower() or None,
        "ip": lease.get("ipaddr"),
        "hostname": lease.get("hostname") or None,
        "expires": lease.get("expirytime"),
    }


def leases(network):
    """
    The DHCP leases of an active ``network``, IPv4 first, then by address. Best effort: a driver
    or network without leases gives [].
    """
    try:
        found = network.DHCPLeases()
    except libvirt.libvirtError as err:
        log.debug("No DHCP leases from network %s: %s", network.name(), err.get_error_message())
        return []
    ordered = sorted(found or [], key=lambda lease: (lease.get("type", 0), lease.get("ipaddr") or ""))
    return [lease_entry(lease) for lease in ordered]


def describe(network, managed):
    """Brine's network dict of ``network``; ``managed`` is the set of names the landscape defines."""
    name = network.name()
    active = bool(network.isActive())
    described = {
        "name": name,
        "active": active,
        "autostart": bool(network.autostart()),
        "persistent": bool(network.isPersistent()),
        "managed": name in managed,
    }
    described.update(parse(network.XMLDesc(0)), name=name)
    described["leases"] = leases(network) if active else []
    return described


def is_missing(err):
    """True when ``err`` says the network does not exist (any more)."""
    return err.get_error_code() == libvirt.VIR_ERR_NO_NETWORK


def list_all(conn, managed):
    """Every network of ``conn`` (active or not) as Brine's network dict, by name."""
    described = []
    for network in conn.listAllNetworks(0):
        try:
            described.append(describe(network, managed))
        except libvirt.libvirtError as err:
            if not is_missing(err):
                raise
            log.debug("Network %s went away while it was described", network.name())
    return sorted(described, key=lambda network: network["name"])
