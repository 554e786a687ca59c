"""
A site's settings for virtual clusters (issue 13): the pillar value ``brine:vcluster``, YAML a
site writes and Brine only reads (pragma_boot executed its site file; this is data, checked
field by field). ``site_settings`` returns them checked and in canonical form, or raises
``Invalid`` with a sentence that names the key (``brine:vcluster:public:gateway ...``).

```yaml
brine:
  vcluster:
    public:                      # the frontends' public side (required)
      addresses: [192.0.2.10, 192.0.2.20-192.0.2.29]   # single addresses and first-last ranges
      netmask: 255.255.255.0     # or a prefix length, 24
      gateway: 192.0.2.1
      dns: [192.0.2.53]          # at most 3 (resolv.conf reads no more); optional
      domain: example.org        # the frontends' fqdn is <cluster>.<domain>; optional
    private:                     # optional, these are the defaults
      subnets: 10.200.0.0/16     # RFC 1918 space carved into one subnet per cluster
      prefix: 24                 # each cluster's subnet, /16 to /29
      vnis: 5000-5999            # one VXLAN id per cluster (its network spans hosts by VXLAN)
    reserved_cpus: {"*": 1, hv1: 2}   # CPUs no node may take, per host; "*": every other host
    placement: largest-free-first     # or spread
```

Pure helpers used by the allocation too: ``address_range`` and ``expand_addresses`` (the
public pool), ``subnet_pool`` (the private space and its carving), ``vni_range``.
"""

import ipaddress
import re

from brine import validate
from brine.errors import Invalid

KEY = "brine:vcluster"
PLACEMENTS = ("largest-free-first", "spread")
# Largest free first keeps a cluster on few hosts (its private traffic stays inside a host's
# bridge, fewer hosts join its VXLAN, and whole hosts stay free for big clusters).
DEFAULT_PLACEMENT = "largest-free-first"
DEFAULT_PRIVATE = {"subnets": "10.200.0.0/16", "prefix": 24, "vnis": "5000-5999"}
# A host keeps one CPU for itself (libvirtd, QEMU's own threads, Salt) unless the site says otherwise.
DEFAULT_RESERVED_CPUS = 1

# Bounds on what the site may write.
MAX_PUBLIC = 4096  # public addresses, ranges expanded
MAX_PUBLIC_ENTRIES = 256  # entries in public:addresses
MAX_DNS = 3
DOMAIN_MAX = 200  # leaves room for "<cluster>." in a 253-character fqdn
PUBLIC_PREFIX = (8, 30)
PREFIX = (16, 29)  # a cluster's private subnet
POOL_PREFIX_MIN = 8
MAX_SUBNETS = 65536  # subnets one private space may be carved into
VNI = (1, 2**24 - 1)  # VXLAN ids are 24 bits
MAX_RESERVED_ENTRIES = 1024
MAX_RESERVED_CPUS = 1024
PRIVATE_SPACES = tuple(
    ipaddress.IPv4Network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)

TOP_KEYS = ("public", "private", "reserved_cpus", "placement")
PUBLIC_KEYS = ("addresses", "netmask", "gateway", "dns", "domain")
PRIVATE_KEYS = ("subnets", "prefix", "vnis")
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN_RE = re.compile(rf"{LABEL}(?:\.{LABEL})*")


def fail(field, problem):
    raise Invalid(f"{KEY}:{field} {problem}" if field else f"{KEY} {problem}")


def _mapping(value, field, known):
    if not isinstance(value, dict):
        fail(field, f"must be a mapping of {', '.join(known)}, not {type(value).__name__}")
    unknown = sorted(str(key) for key in value if key not in known)
    if unknown:
        fail(field, f"has unknown keys {', '.join(unknown)}: it takes {', '.join(known)}")
    return value


def parse_whole(value):
    """``value`` as an int when it is one (never a bool) or its digits (at most 12); else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,12}\s*", value):
        return int(value)
    return None


def whole(value, field, low, high, unit=""):
    """``value`` as an int from ``low`` to ``high`` (an int or its digits; never a bool)."""
    unit = f" {unit}" if unit else ""
    number = parse_whole(value)
    if number is None:
        fail(field, f"must be a whole number{unit} from {low} to {high}, not {value!r}")
    if not low <= number <= high:
        fail(field, f"must be from {low} to {high}{unit}, not {number}")
    return number


def ipv4(value, field):
    """``value`` as an ``IPv4Address``: text only (a YAML number is not an address)."""
    if not isinstance(value, str):
        fail(field, f"must be an IPv4 address as text, like 192.0.2.10, not {value!r}")
    try:
        return ipaddress.IPv4Address(value.strip())
    except ValueError:
        fail(field, f"must be an IPv4 address like 192.0.2.10, not {value!r}")


def address_range(entry, field):
    """``(first, last)`` IPv4 addresses of ``"a.b.c.d"`` or ``"a.b.c.d-a.b.c.e"`` (first <= last)."""
    if not isinstance(entry, str):
        fail(field, f"must be an IPv4 address or a range a.b.c.d-a.b.c.e as text, not {entry!r}")
    first, dash, last = entry.partition("-")
    first = ipv4(first, field)
    last = ipv4(last, field) if dash else first
    if last < first:
        fail(field, f"{entry!r} runs backwards: write the lower address first")
    return first, last


def expand_addresses(entries, field="public:addresses"):
    """
    The addresses of ``entries`` (single addresses and ranges), in the order written, each once:
    at most ``MAX_PUBLIC`` in all, counted before any range is expanded.
    """
    if isinstance(entries, str):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        fail(field, "must list at least one IPv4 address or range a.b.c.d-a.b.c.e")
    if len(entries) > MAX_PUBLIC_ENTRIES:
        fail(field, f"has {len(entries)} entries: at most {MAX_PUBLIC_ENTRIES} (use ranges)")
    addresses, seen = [], {}
    for index, entry in enumerate(entries):
        where = f"{field}[{index}]"
        first, last = address_range(entry, where)
        if len(addresses) + int(last) - int(first) + 1 > MAX_PUBLIC:
            fail(
                field,
                f"holds more than {MAX_PUBLIC} addresses (at {entry!r}): list only those frontends may take",
            )
        for number in range(int(first), int(last) + 1):
            address = str(ipaddress.IPv4Address(number))
            if address in seen:
                fail(where, f"{entry!r} repeats {address}, already in {seen[address]!r}")
            seen[address] = entry
            addresses.append(address)
    return addresses


def _public_network(public, addresses):
    value = public.get("netmask")
    if value is None:
        fail("public:netmask", "is missing: give the public network's netmask, like 255.255.255.0 or 24")
    if isinstance(value, bool) or not isinstance(value, int | str):
        fail("public:netmask", f"must be a netmask like 255.255.255.0 or a prefix length, not {value!r}")
    text = str(value).strip().lstrip("/")
    try:
        network = ipaddress.IPv4Network(f"{addresses[0]}/{text}", strict=False)
    except ValueError:
        fail("public:netmask", f"must be a netmask like 255.255.255.0 or a prefix length, not {value!r}")
    if "." in text and text != str(network.netmask):
        fail("public:netmask", f"{value!r} is a host mask, not a netmask: write {network.netmask}")
    low, high = PUBLIC_PREFIX
    if not low <= network.prefixlen <= high:
        fail("public:netmask", f"must be a /{low} to /{high} network, not /{network.prefixlen}")
    return network


def _in_network(address, network, field):
    if address not in network:
        fail(field, f"{address} is outside the public network {network}")
    if address in (network.network_address, network.broadcast_address):
        fail(field, f"{address} is the public network {network}'s own network or broadcast address")


def _public(value):
    public = _mapping(value, "public", PUBLIC_KEYS)
    if "addresses" not in public:
        fail("public:addresses", "is missing: list the addresses frontends may take")
    addresses = expand_addresses(public["addresses"])
    network = _public_network(public, addresses)
    for address in addresses:
        _in_network(ipaddress.IPv4Address(address), network, "public:addresses")
    if public.get("gateway") is None:
        fail("public:gateway", "is missing: give the public network's gateway")
    gateway = ipv4(public["gateway"], "public:gateway")
    _in_network(gateway, network, "public:gateway")
    if str(gateway) in addresses:
        fail("public:gateway", f"{gateway} is also in public:addresses: a frontend cannot take the gateway")
    dns = public.get("dns") or []
    if isinstance(dns, str):
        dns = [dns]
    if not isinstance(dns, list) or len(dns) > MAX_DNS:
        fail("public:dns", f"must be a list of at most {MAX_DNS} IPv4 addresses, not {public.get('dns')!r}")
    domain = public.get("domain") or None
    if domain is not None and (
        not isinstance(domain, str) or len(domain) > DOMAIN_MAX or not DOMAIN_RE.fullmatch(domain)
    ):
        fail("public:domain", f"must be a DNS name of at most {DOMAIN_MAX} characters, not {domain!r}")
    return {
        "addresses": addresses,
        "ranges": [entry.strip() for entry in _entries(public["addresses"])],
        "netmask": str(network.netmask),
        "prefix": network.prefixlen,
        "network": str(network),
        "gateway": str(gateway),
        "dns": [str(ipv4(ip, f"public:dns[{i}]")) for i, ip in enumerate(dns)],
        "domain": domain,
    }


def _entries(value):
    return [value] if isinstance(value, str) else value


def subnet_pool(value, prefix, field="private:subnets"):
    """
    The private space ``value`` (an RFC 1918 network, host bits zero) checked for carving into
    ``/prefix`` subnets: at least one, at most ``MAX_SUBNETS``. Returns the ``IPv4Network``.
    """
    if not isinstance(value, str):
        fail(field, f"must be a network like 10.200.0.0/16 as text, not {value!r}")
    try:
        pool = ipaddress.IPv4Network(value.strip())
    except ValueError as err:
        fail(field, f"must be a network like 10.200.0.0/16 (host bits zero), not {value!r}: {err}")
    if not any(pool.subnet_of(space) for space in PRIVATE_SPACES):
        fail(field, f"{pool} is not private address space: use part of 10/8, 172.16/12 or 192.168/16")
    if pool.prefixlen < POOL_PREFIX_MIN or pool.prefixlen > prefix:
        fail(
            field,
            f"{pool} cannot be carved into /{prefix} subnets: it must be a /{POOL_PREFIX_MIN} to /{prefix}",
        )
    if 2 ** (prefix - pool.prefixlen) > MAX_SUBNETS:
        fail(field, f"{pool} holds more than {MAX_SUBNETS} /{prefix} subnets: use a smaller space or prefix")
    return pool


def vni_range(value, field="private:vnis"):
    """``(first, last)`` of ``"a-b"`` or a single id (an int or its digits), VXLAN ids 1 to 2^24-1."""
    low, high = VNI
    if isinstance(value, str) and "-" in value:
        first, _, last = value.partition("-")
        first, last = whole(first, field, low, high), whole(last, field, low, high)
    else:
        first = last = whole(value, field, low, high)
    if last < first:
        fail(field, f"{value!r} runs backwards: write the lower VXLAN id first")
    return first, last


def _private(value, public_network):
    private = _mapping({} if value is None else value, "private", PRIVATE_KEYS)
    private = {**DEFAULT_PRIVATE, **{key: item for key, item in private.items() if item is not None}}
    prefix = private["prefix"]
    prefix = whole(
        prefix.strip().lstrip("/") if isinstance(prefix, str) else prefix, "private:prefix", *PREFIX
    )
    pool = subnet_pool(private["subnets"], prefix)
    if pool.overlaps(ipaddress.IPv4Network(public_network)):
        fail("private:subnets", f"{pool} overlaps the public network {public_network}")
    first, last = vni_range(private["vnis"])
    return {"subnets": str(pool), "prefix": prefix, "vnis": [first, last]}


def _reserved(value):
    if value is None:
        value = {}
    if not isinstance(value, dict):
        fail("reserved_cpus", f'must map host names (or "*" for every other host) to CPUs, not {value!r}')
    if len(value) > MAX_RESERVED_ENTRIES:
        fail("reserved_cpus", f"has {len(value)} entries: at most {MAX_RESERVED_ENTRIES}")
    reserved = {"*": DEFAULT_RESERVED_CPUS}
    for host, cpus in value.items():
        if host != "*" and not (isinstance(host, str) and validate.HOST_ID_RE.fullmatch(host)):
            fail("reserved_cpus", f'has {host!r}, which is neither a host name nor "*"')
        reserved[host] = whole(cpus, f"reserved_cpus:{host}", 0, MAX_RESERVED_CPUS, "CPUs")
    return reserved


def site_settings(value):
    """
    ``brine:vcluster`` checked: ``{public: {addresses (expanded, in order), ranges (as written),
    netmask, prefix, network, gateway, dns, domain}, private: {subnets, prefix, vnis: [first,
    last]}, reserved_cpus: {"*": n, host: n}, placement}``. ``Invalid`` names the first bad key.
    """
    if value is None:
        raise Invalid(f"{KEY} is not set: a site gives at least public addresses, netmask and gateway")
    settings = _mapping(value, "", TOP_KEYS)
    if settings.get("public") is None:
        fail("public", "is missing: give the frontends' addresses, netmask and gateway")
    public = _public(settings["public"])
    placement = settings.get("placement") or DEFAULT_PLACEMENT
    if placement not in PLACEMENTS:
        fail("placement", f"must be {' or '.join(PLACEMENTS)}, not {placement!r}")
    return {
        "public": public,
        "private": _private(settings.get("private"), public["network"]),
        "reserved_cpus": _reserved(settings.get("reserved_cpus")),
        "placement": placement,
    }


def reserved_cpus(settings, host):
    """The CPUs ``host`` keeps from virtual clusters: its own entry, else the ``"*"`` entry."""
    reserved = settings["reserved_cpus"]
    return reserved.get(host, reserved["*"])
