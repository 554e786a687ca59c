"""
The landscape (docs/landscape.md): libvirt networks, storage pools and guests described in layers, merged
in miniascape's order, checked as a whole, and what each hypervisor host should have.

``layers`` is the pillar ``landscape``: ``{common, hosts, networks, pools, groups, guests}``. An
object's effective definition is its layers merged (``merge``) in this order:

- a network or pool on host H: common → hosts["*"] → hosts[H] → networks[name] | pools[name]
- a guest: common → hosts["*"] → hosts[its host] → groups[its group] → guests[name]

``hosts["*"]`` is a layer for every host (a miniascape ``host.d`` lands there). A network or
pool is defined on the hosts its ``hosts`` list matches (minion ids or shell-style globs), on
every host without one. Each object takes only its kind's fields (``brine.landscape_fields``) from
the merged layers; an unknown key in its own layers is refused.

``host_picture`` checks the whole landscape first (duplicate addresses and MACs, overlapping subnets
and addresses against subnets need every guest on every host), so a mistake anywhere stops
every host, before anything changes. Refusals are ``brine.errors.Invalid`` sentences starting
``landscape:``; ``guest``, ``network`` and ``pool`` refuse an absent object with ``Refused``
(``no_vm``, ``no_network``, ``no_pool``).
"""

import copy
import fnmatch
import ipaddress
import re

from brine import landscape_fields as fields
from brine import validate
from brine.errors import Invalid
from brine.errors import Refused

SECTIONS = ("common", "hosts", "networks", "pools", "groups", "guests")
EVERY_HOST = "*"
# Each object section: the kind it holds and the fields its own layers may carry.
KINDS = {
    "networks": ("network", fields.NETWORK_FIELDS),
    "pools": ("pool", fields.POOL_FIELDS),
    "groups": ("group", fields.GROUP_FIELDS),
    "guests": ("guest", fields.GUEST_FIELDS),
}
NUMBERED_RE = re.compile(r"(.+)-\d+")
GLOB_CHARS = frozenset("*?[")


def merge(base, over):
    """
    ``over`` merged onto ``base``, neither changed: dicts merge recursively with ``over``
    winning, lists and other values are replaced whole, and ``None`` in ``over`` removes the key.
    """
    if not isinstance(over, dict):
        return copy.deepcopy(over)
    result = {key: copy.deepcopy(value) for key, value in base.items()} if isinstance(base, dict) else {}
    for key, value in over.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge(result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def group_of(name, explicit=None):
    """A guest's group: ``explicit`` when given, else its name without a trailing ``-N``."""
    if explicit is not None:
        return explicit
    match = NUMBERED_RE.fullmatch(name)
    return match.group(1) if match else name


def host_picture(layers, host):
    """
    What ``host`` should have, after checking the whole landscape (docs/landscape.md, The library's
    picture): ``{"host", "networks": {name: network}, "pools": {name: pool},
    "guests": {name: guest}}``.
    """
    host = validate.host_id(host, "host")
    landscape = _build(layers, host)
    return {
        "host": host,
        "networks": landscape["networks"][host],
        "pools": landscape["pools"][host],
        "guests": {name: guest for name, guest in landscape["guests"].items() if guest["host"] == host},
    }


def picture(layers):
    """
    The whole landscape, checked: ``{"hosts": [minion ids the landscape names: guests' hosts, host
    layers, hosts lists], "networks"|"pools": {name: {"hosts": its hosts list or None (every
    host), "on": [the named hosts it is defined on]}}, "guests": {name: guest}}``.
    """
    landscape = _build(layers)
    named = landscape["hosts"]
    placed = {}
    for section in ("networks", "pools"):
        placed[section] = {
            name: {"hosts": patterns, "on": [host for host in named if name in landscape[section][host]]}
            for name, patterns in sorted(landscape["patterns"][section].items())
        }
    return {"hosts": named, **placed, "guests": landscape["guests"]}


def guest(layers, name):
    """The picture of guest ``name`` (the whole landscape checked); ``Refused`` ``no_vm`` when absent."""
    guests = _build(layers)["guests"]
    if name not in guests:
        raise Refused("no_vm", f"the landscape has no guest {name}")
    return guests[name]


def network(layers, name, host):
    """Network ``name`` as ``host`` should have it; ``Refused`` ``no_network`` when not there."""
    networks = host_picture(layers, host)["networks"]
    if name not in networks:
        raise Refused("no_network", f"the landscape defines no network {name} on {host}")
    return networks[name]


def pool(layers, name, host):
    """Pool ``name`` as ``host`` should have it; ``Refused`` ``no_pool`` when not there."""
    pools = host_picture(layers, host)["pools"]
    if name not in pools:
        raise Refused("no_pool", f"the landscape defines no storage pool {name} on {host}")
    return pools[name]


# -- the layers -------------------------------------------------------------------------------
def _merged(*layers):
    result = {}
    for layer in layers:
        result = merge(result, layer)
    return result


def _layer(value, label):
    if value is None:
        return {}
    if not isinstance(value, dict):
        # The type only: a layer's values may hold secrets (a guest's vars), and refusals travel.
        raise Invalid(f"landscape: {label} must be a mapping, not a {type(value).__name__}")
    return value


def _sections(layers):
    """The landscape's sections, each checked for shape: names, and no unknown key in own layers."""
    if layers is None:
        layers = {}
    if not isinstance(layers, dict):
        raise Invalid(
            f"landscape: the landscape must be a mapping of {', '.join(SECTIONS)}, "
            f"not a {type(layers).__name__}"
        )
    unknown = sorted(str(key) for key in layers if key not in SECTIONS)
    if unknown:
        raise Invalid(f"landscape: unknown section {unknown[0]!r} (the landscape has {', '.join(SECTIONS)})")
    sections = {"common": _layer(layers.get("common"), "common")}
    hosts = {}
    for host, layer in _layer(layers.get("hosts"), "hosts").items():
        if host != EVERY_HOST:
            validate.host_id(host, "a key of landscape hosts")
        hosts[host] = _layer(layer, f"hosts.{host}")
    sections["hosts"] = hosts
    for section, (kind, allowed) in KINDS.items():
        objects = {}
        for name, raw in _layer(layers.get(section), section).items():
            fields.name(name, kind)
            layer = _layer(raw, f"{section}.{name}")
            unknown = sorted(str(key) for key in layer if key not in allowed)
            if unknown:
                raise Invalid(
                    f"landscape: {kind} {name}: unknown field {unknown[0]!r} (a {kind} takes "
                    f"{', '.join(allowed)}; free data goes under vars)"
                )
            objects[name] = layer
        sections[section] = objects
    return sections


def _on(patterns, host):
    """Whether an object with ``hosts`` ``patterns`` is defined on ``host`` (None: a host the
    landscape does not name, which has what is defined everywhere)."""
    if patterns is None:
        return True
    return host is not None and any(fnmatch.fnmatchcase(host, pattern) for pattern in patterns)


def _where(host):
    return f"on {host}" if host is not None else "on every host"


# -- the whole landscape ---------------------------------------------------------------------------
def _build(layers, extra_host=None):
    """
    The whole landscape checked: ``{"hosts": [named ids], "patterns": {section: {name: hosts}},
    "networks"|"pools": {host: {name: picture}}, "guests": {name: picture}}``, with one
    definition per named host (and ``None``: any other host) for networks and pools.
    """
    sections = _sections(layers)
    placed = _place_guests(sections)
    patterns = {
        section: {
            name: fields.host_patterns(
                _merged(sections["common"], own).get("hosts"), f"{KINDS[section][0]} {name}"
            )
            for name, own in sorted(sections[section].items())
        }
        for section in ("networks", "pools")
    }
    named = {host for host in sections["hosts"] if host != EVERY_HOST} | {
        host for _, host, _ in placed.values()
    }
    for listed in (*patterns["networks"].values(), *patterns["pools"].values()):
        named |= {entry for entry in listed or () if not GLOB_CHARS & set(entry)}
    if extra_host is not None:
        named.add(extra_host)
    places = [*sorted(named), None]
    built = {
        section: _definitions(sections, section, patterns[section], places)
        for section in ("networks", "pools")
    }
    for host in places:
        _check_host(host, built["networks"][host], built["pools"][host])

    guests, hostnames = {}, {}
    for name, (group, host, merged) in placed.items():
        guests[name], hostnames[name] = fields.guest(
            name,
            group,
            host,
            fields.fields_of(merged, fields.GUEST_FIELDS),
            built["networks"][host],
            built["pools"][host],
        )
    gathered = _check_guests(guests, hostnames, built["networks"])
    for definitions in built["networks"].values():
        for name, net in definitions.items():
            if net["mode"] != "bridge" and name in gathered:
                net["static_hosts"], net["dns_entries"] = copy.deepcopy(gathered[name])
    return {"hosts": sorted(named), "patterns": patterns, **built, "guests": guests}


def _place_guests(sections):
    """Each guest's ``(group, host, merged layers)``: its group and host found first, since its
    host's layer comes between common and its group."""
    common, hosts = sections["common"], sections["hosts"]
    every = hosts.get(EVERY_HOST, {})
    placed = {}
    for name, own in sorted(sections["guests"].items()):
        explicit = own.get("group")
        group = fields.name(explicit, "group") if explicit is not None else group_of(name)
        group_layer = sections["groups"].get(group, {})
        host = _merged(common, every, group_layer, own).get("host")
        if host is None:
            raise Invalid(
                f"landscape: guest {name}: host is required (the minion id it runs on), in the guest, "
                f"its group {group} or common"
            )
        host = fields.host_id(host, f"guest {name}")
        placed[name] = (group, host, _merged(common, every, hosts.get(host, {}), group_layer, own))
    return placed


def _definitions(sections, section, patterns, places):
    """``{host: {name: picture}}`` of a section's networks or pools on each of ``places``."""
    kind, kind_fields = KINDS[section]
    make = fields.network if section == "networks" else fields.pool
    common, hosts = sections["common"], sections["hosts"]
    every = hosts.get(EVERY_HOST, {})
    definitions = {}
    for host in places:
        host_layer = hosts.get(host, {}) if host is not None else {}
        definitions[host] = {
            name: make(
                name,
                fields.fields_of(_merged(common, every, host_layer, own), kind_fields),
                f"{kind} {name}" + (f" on {host}" if host_layer else ""),
            )
            for name, own in sorted(sections[section].items())
            if _on(patterns[name], host)
        }
    return definitions


def _check_host(host, networks, pools):
    """What may not meet on one host: overlapping subnets, a shared bridge or pool folder."""
    subnets = [
        (name, ipaddress.IPv4Network(net["subnet"])) for name, net in networks.items() if net["subnet"]
    ]
    for index, (first, first_net) in enumerate(subnets):
        for second, second_net in subnets[index + 1 :]:
            if first_net.overlaps(second_net):
                raise Invalid(
                    f"landscape: networks {first} ({first_net}) and {second} ({second_net}) overlap "
                    f"{_where(host)}: give them separate subnets"
                )
    bridges = {}
    for name, net in networks.items():
        if net["bridge"] is None:
            continue
        for other in bridges.get(net["bridge"], ()):
            # Networks may share the host's own bridge; libvirt's bridges are each one network's.
            if net["mode"] != "bridge" or networks[other]["mode"] != "bridge":
                raise Invalid(
                    f"landscape: networks {other} and {name} both use the bridge {net['bridge']} "
                    f"{_where(host)}"
                )
        bridges.setdefault(net["bridge"], []).append(name)
    paths = {}
    for name, definition in pools.items():
        other = paths.setdefault(definition["path"], name)
        if other != name:
            raise Invalid(f"landscape: pools {other} and {name} both use {definition['path']} {_where(host)}")


def _both(first, second, value, where=""):
    """A duplicate ``value`` (``where``: " on network <name>") of two guests, or one twice."""
    if first == second:
        return Invalid(f"landscape: guest {first} has {value} twice{where}")
    return Invalid(f"landscape: guests {first} and {second} both have {value}{where}")


def _check_guests(guests, hostnames, networks):
    """
    Addresses and MACs across guests: no duplicate IP or MAC in a network, no MAC twice in the
    landscape, each static address usable in every definition of its network. Gives each network's
    ``(static_hosts, dns_entries)`` by name, from every guest on any host.
    """
    on_network = {}
    for name, guest_ in sorted(guests.items()):
        for index, nic in enumerate(guest_["interfaces"]):
            if nic["network"] is not None:
                on_network.setdefault(nic["network"], []).append((name, index, nic, hostnames[name][index]))
    gathered = {}
    for net_name, nics in sorted(on_network.items()):
        ips, macs = {}, {}
        for name, _, nic, _ in nics:
            if nic["ip"] is not None:
                if nic["ip"] in ips:
                    raise _both(ips[nic["ip"]], name, nic["ip"], f" on network {net_name}")
                ips[nic["ip"]] = name
            if nic["mac"] is not None:
                if nic["mac"] in macs:
                    raise _both(macs[nic["mac"]], name, f"the MAC {nic['mac']}", f" on network {net_name}")
                macs[nic["mac"]] = name
        for host, definitions in networks.items():
            if host is not None and net_name in definitions:
                for name, index, nic, _ in nics:
                    _check_address(name, index, nic["ip"], definitions[net_name], host)

        def by_address(entry):
            return (ipaddress.IPv4Address(entry["ip"]), entry["guest"])

        static = [
            {"mac": nic["mac"], "ip": nic["ip"], "name": nic["fqdn"] or hostname, "guest": name}
            for name, _, nic, hostname in nics
            if nic["ip"] is not None and nic["mac"] is not None
        ]
        dns = [
            {"ip": nic["ip"], "hostnames": [nic["fqdn"]], "guest": name}
            for name, _, nic, _ in nics
            if nic["ip"] is not None and nic["fqdn"] is not None
        ]
        gathered[net_name] = (sorted(static, key=by_address), sorted(dns, key=by_address))
    macs = {}
    for name, guest_ in sorted(guests.items()):
        for nic in guest_["interfaces"]:
            if nic["mac"] is not None:
                if nic["mac"] in macs:
                    raise _both(macs[nic["mac"]], name, f"the MAC {nic['mac']}")
                macs[nic["mac"]] = name
    return gathered


def _check_address(name, index, ip, net, host):
    """A guest NIC's static ``ip`` usable on network ``net`` as ``host`` defines it."""
    if ip is None or net["subnet"] is None:
        return
    what = f"landscape: guest {name}: interfaces[{index}].ip {ip}"
    address, subnet = ipaddress.IPv4Address(ip), ipaddress.IPv4Network(net["subnet"])
    if address not in subnet:
        raise Invalid(f"{what} is outside network {net['name']}'s subnet {subnet} on {host}")
    for kind, special in (
        ("network", subnet.network_address),
        ("broadcast", subnet.broadcast_address),
        ("gateway", net["gateway"] and ipaddress.IPv4Address(net["gateway"])),
    ):
        if address == special:
            raise Invalid(f"{what} is network {net['name']}'s {kind} address on {host}")
    dhcp = net["dhcp"]
    if dhcp and ipaddress.IPv4Address(dhcp["start"]) <= address <= ipaddress.IPv4Address(dhcp["end"]):
        raise Invalid(
            f"{what} is inside network {net['name']}'s DHCP range {dhcp['start']}-{dhcp['end']} on {host}: "
            "a static address must be outside it"
        )
