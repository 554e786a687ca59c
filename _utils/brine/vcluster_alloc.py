"""
What a virtual cluster (issue 13) holds and where its nodes go: a public address for its
frontend, a private subnet and a VXLAN id for its network, and CPUs and memory on hosts.

The ledger (``Ledger``) is one JSON file on the master that records every cluster's share. A
boot changes it only inside ``with ledger.locked() as state:``, which holds an exclusive
``fcntl.flock`` on ``<ledger>.lock`` across the read, the change and the atomic write (a
temporary file beside it, fsync, ``os.replace``), so two boots in two processes cannot take the
same address, subnet or VXLAN id, and a crash leaves the old ledger or the new one.

``allocate`` is pure over that state: it checks its arguments (``Invalid``), then finds the
first free public address (in the order the site lists them), the first free ``/prefix`` of
the private space, the first free VXLAN id, and a host for every node, and refuses with
``no_room`` giving every reason at once when any of them runs out. Each node's private address:
the frontend takes the subnet's first address (``.1``, the computes' gateway), compute ``i``
the ``2 + i``-th (``.2`` upward, one after another, so even a /29 holds a frontend and 5
computes). MACs are ``52:54:00:`` and a hash of the node's name and NIC (the landscape's
``derived_mac``: NIC 0 private, the frontend's NIC 1 public), re-derived only in the unlikely
case that a MAC the ledger already records comes out.

Placement counts, on each host, its CPUs less those in use (the inventory's ``cpus_used``),
its reserved CPUs (``brine:vcluster:reserved_cpus``) and what clusters not yet booted hold (the
inventory cannot see their nodes yet); memory is the inventory's ``memory_free_mib`` less what
those clusters hold. ``largest-free-first`` (the default) orders the hosts once, most free CPUs
first, and puts each node (frontend first) on the first host in that order where it fits: a
cluster fills the roomiest host before it spills to the next, so it stays on few hosts.
``spread`` goes round the same order, each node on the next host with room.
"""

import contextlib
import copy
import fcntl
import ipaddress
import json
import os
import re

from brine import durable
from brine import landscape_fields
from brine import validate
from brine import vcluster_settings
from brine.errors import Invalid
from brine.errors import Refused
from brine.vcluster_settings import site_settings  # noqa: F401 (one import for the runner)

STATES = ("allocating", "booted", "failed")
NAME_RE = re.compile(r"[A-Za-z](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?")
MAX_COMPUTES = 64
SIZES = {"cpus": (1, 64, "CPUs"), "memory": (64, 262144, "MiB")}
HOST_FIELDS = ("name", "cpus", "cpus_used", "memory_free_mib")
MAX_HOSTS = 1024
HOST_BOUNDS = {"cpus": 4096, "cpus_used": 65536, "memory_free_mib": 2**30}
COMPUTE_OFFSET = 2  # compute i takes the subnet's address 2 + i; the frontend takes 1
MAC_TRIES = 16
SHOWN = 48  # characters of a bad value a sentence repeats
REASON_HOSTS = 16  # hosts a placement refusal describes
LISTED = 8  # names a refusal lists before "and N more"
LEDGER_VERSION = 1
LEDGER_MAX_BYTES = 16 * 1024 * 1024
FILE_MODE = 0o640
DIR_MODE = 0o750


# ---- arguments


def shown(value, limit=SHOWN):
    """``repr(value)`` for a sentence, cut to ``limit`` characters (a caller may send megabytes)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cluster_name(value):
    """``value`` if it can name a cluster: 1 to 40 letters, digits or '-', a letter first, no '-' last."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise Invalid(
            f"{shown(value)} is not a valid cluster name: use 1 to 40 letters, digits or '-', "
            "starting with a letter and not ending with '-'"
        )
    return value


def compute_count(value):
    """The number of computes, 1 to ``MAX_COMPUTES`` (an int or its digits): a virtual cluster is a
    frontend and at least one compute (issue 13 refuses 0)."""
    number = vcluster_settings.parse_whole(value)
    if number is None or not 1 <= number <= MAX_COMPUTES:
        raise Invalid(f"computes must be a whole number from 1 to {MAX_COMPUTES}, not {shown(value)}")
    return number


def sizes(value, argument="cpus"):
    """
    ``(frontend, compute)`` from ``"2:1"`` (frontend:compute), ``"2"``, ``2`` or ``[2, 1]``
    (one number: both): CPUs per node 1 to 64, memory per node 64 to 262144 MiB.
    """
    low, high, unit = SIZES[argument]
    rule = f"{argument} must be {unit} per node from {low} to {high}, one number or frontend:compute like 2:1"
    if isinstance(value, list | tuple):
        parts = list(value)
    elif isinstance(value, str):
        parts = value.split(":")
    else:
        parts = [value]
    if len(parts) not in (1, 2):
        raise Invalid(f"{rule}, not {shown(value)}")
    numbers = [vcluster_settings.parse_whole(part) for part in parts]
    if any(number is None or not low <= number <= high for number in numbers):
        raise Invalid(f"{rule}, not {shown(value)}")
    return numbers[0], numbers[-1]


def check_hosts(hosts):
    """The inventory's hosts ``[{name, cpus, cpus_used, memory_free_mib}]`` checked; names once each."""
    if not isinstance(hosts, list) or len(hosts) > MAX_HOSTS:
        raise Invalid(f"hosts must be a list of at most {MAX_HOSTS} hosts, each {{{', '.join(HOST_FIELDS)}}}")
    checked, names = [], set()
    for index, host in enumerate(hosts):
        where = f"hosts[{index}]"
        if not isinstance(host, dict):
            raise Invalid(f"{where} must be a mapping of {', '.join(HOST_FIELDS)}, not {type(host).__name__}")
        missing = [field for field in HOST_FIELDS if field not in host]
        if missing:
            raise Invalid(f"{where} lacks {', '.join(missing)}")
        name = validate.host_id(host["name"], f"{where}.name")
        if name in names:
            raise Invalid(f"{where}.name {name} is listed twice")
        names.add(name)
        entry = {"name": name}
        for field, high in HOST_BOUNDS.items():
            number = vcluster_settings.parse_whole(host[field])
            if number is None or not 0 <= number <= high:
                raise Invalid(
                    f"{where}.{field} must be a whole number from 0 to {high}, not {shown(host[field])}"
                )
            entry[field] = number
        checked.append(entry)
    return checked


# ---- pure helpers


def listed(items, limit=LISTED):
    """``a, b, c`` of ``items``, at most ``limit`` of them and then ``and N more``."""
    items = list(items)
    shown = ", ".join(str(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _plural(count, word, many=None):
    return f"{count} {word if count == 1 else many or word + 's'}"


def free_subnet(pool, prefix, held):
    """
    The first ``/prefix`` subnet of ``pool`` that overlaps none of ``held`` (network texts; any
    prefix, so a ledger written under other settings still counts), or None when none is left.
    """
    pool = ipaddress.IPv4Network(pool)
    base, size = int(pool.network_address), 2 ** (32 - prefix)
    count = pool.num_addresses // size
    blocked = []
    for text in held:
        try:
            net = ipaddress.IPv4Network(text)
        except (TypeError, ValueError):
            continue
        if net.overlaps(pool):
            low = max(int(net.network_address), base) - base
            high = min(int(net.broadcast_address), int(pool.broadcast_address)) - base
            blocked.append((low // size, high // size))
    index = 0
    for low, high in sorted(blocked):
        if low > index:
            break
        index = max(index, high + 1)
    return str(ipaddress.IPv4Network((base + index * size, prefix))) if index < count else None


def free_vni(first, last, held):
    """The lowest VXLAN id from ``first`` to ``last`` not in ``held``, or None."""
    held = set(held)
    vni = first
    while vni <= last and vni in held:
        vni += 1
    return vni if vni <= last else None


def most_computes(prefix):
    """How many computes a ``/prefix`` subnet holds beside its frontend (network and broadcast aside)."""
    return 2 ** (32 - prefix) - 2 - 1


def private_addresses(subnet, computes):
    """``(frontend, [compute 0, compute 1, ...])`` private addresses in ``subnet``."""
    base = int(ipaddress.IPv4Network(subnet).network_address)
    return str(ipaddress.IPv4Address(base + 1)), [
        str(ipaddress.IPv4Address(base + COMPUTE_OFFSET + index)) for index in range(computes)
    ]


def stable_mac(node, nic, taken):
    """
    ``52:54:00:`` and a hash of ``node`` and ``nic`` (the landscape's ``derived_mac``); when
    ``taken`` has it, the hash of ``node~1``, ``node~2``... Adds the MAC to ``taken``.
    """
    for attempt in range(MAC_TRIES):
        mac = landscape_fields.derived_mac(node if attempt == 0 else f"{node}~{attempt}", nic)
        if mac not in taken:
            taken.add(mac)
            return mac
    raise Refused("no_room", f"no free MAC address for {node} after {MAC_TRIES} tries")


def node_names(cluster, computes):
    """``<cluster>-frontend`` and ``<cluster>-compute-0`` upward."""
    return f"{cluster}-frontend", [f"{cluster}-compute-{index}" for index in range(computes)]


def hosts_of(allocation):
    """The hosts that get the cluster's nodes, sorted: its VXLAN spans them."""
    return sorted({node["host"] for node in allocation["nodes"].values()})


# ---- placement


def _held(clusters):
    """``{host: [cpus, memory]}`` that clusters not yet booted hold (the inventory cannot see them)."""
    held = {}
    for cluster in clusters.values():
        if cluster.get("state") == "booted":
            continue
        for node in cluster.get("nodes", {}).values():
            share = held.setdefault(node.get("host"), [0, 0])
            share[0] += node.get("cpus", 0)
            share[1] += node.get("memory", 0)
    return held


def rooms(hosts, settings, clusters):
    """Each host's room for a new cluster's nodes: its CPUs less in use, reserved and held; its memory."""
    held = _held(clusters)
    result = []
    for host in hosts:
        held_cpus, held_memory = held.get(host["name"], (0, 0))
        reserved = vcluster_settings.reserved_cpus(settings, host["name"])
        result.append(
            {
                "name": host["name"],
                "cpus": host["cpus"],
                "used": host["cpus_used"],
                "reserved": reserved,
                "held": held_cpus,
                "free_cpus": max(0, host["cpus"] - host["cpus_used"] - reserved - held_cpus),
                "free_memory": max(0, host["memory_free_mib"] - held_memory),
            }
        )
    return result


def _host_reason(room, taken):
    cpus, memory = taken
    parts = [
        f"{count} {what}"
        for count, what in (
            (room["used"], "in use"),
            (room["reserved"], "reserved"),
            (room["held"], "held by clusters not yet booted"),
            (cpus, "taken by this cluster's other nodes"),
        )
        if count
    ]
    detail = f" ({', '.join(parts)})" if parts else ""
    return (
        f"{room['name']} has {max(0, room['free_cpus'] - cpus)} of {room['cpus']} CPUs free{detail} "
        f"and {max(0, room['free_memory'] - memory)} MiB"
    )


def place(nodes, host_rooms, policy):
    """
    ``({node: host}, None)`` for ``nodes`` (``[(name, cpus, memory MiB)]``, frontend first) on
    ``host_rooms`` (``rooms``) by ``policy``, or ``({...placed so far}, reason)`` when a node
    fits nowhere, the reason giving every host's room.
    """
    order = sorted(host_rooms, key=lambda r: (-r["free_cpus"], -r["free_memory"], r["name"]))
    taken = {room["name"]: [0, 0] for room in order}
    placed, cursor = {}, 0
    for node, cpus, memory in nodes:
        fits = [
            index
            for index, room in enumerate(order)
            if room["free_cpus"] - taken[room["name"]][0] >= cpus
            and room["free_memory"] - taken[room["name"]][1] >= memory
        ]
        if not fits:
            where = "; ".join(_host_reason(room, taken[room["name"]]) for room in order[:REASON_HOSTS])
            if len(order) > REASON_HOSTS:
                where += f"; and {len(order) - REASON_HOSTS} more hosts"
            where = where or "there are no hypervisor hosts"
            return placed, (
                f"{node} needs {_plural(cpus, 'CPU')} and {memory} MiB and no host has room "
                f"({len(placed)} of {len(nodes)} nodes placed): {where}"
            )
        if policy == "spread":
            index = next((i for i in fits if i >= cursor), fits[0])
            cursor = index + 1
        else:
            index = fits[0]
        host = order[index]["name"]
        taken[host][0] += cpus
        taken[host][1] += memory
        placed[node] = host
    return placed, None


# ---- the cluster's share


def _public_address(settings, clusters):
    held = {cluster.get("public"): name for name, cluster in clusters.items()}
    addresses = settings["public"]["addresses"]
    for address in addresses:
        if address not in held:
            return address, None
    holders = listed(f"{held[address]} ({address})" for address in addresses)
    return None, (
        f"every public address is taken: {listed(settings['public']['ranges'])} "
        f"({_plural(len(addresses), 'address', 'addresses')}), held by {holders}"
    )


def _subnet(settings, clusters, computes):
    pool, prefix = settings["private"]["subnets"], settings["private"]["prefix"]
    reasons = []
    if computes > most_computes(prefix):
        reasons.append(
            f"a /{prefix} private subnet (brine:vcluster:private:prefix) holds a frontend and at most "
            f"{most_computes(prefix)} computes, not {computes}"
        )
    subnet = free_subnet(pool, prefix, [cluster.get("subnet") for cluster in clusters.values()])
    if subnet is None:
        holders = sorted(name for name, cluster in clusters.items() if _overlaps(cluster.get("subnet"), pool))
        reasons.append(
            f"every private subnet is taken: {pool} holds "
            f"{_plural(2 ** (prefix - ipaddress.IPv4Network(pool).prefixlen), f'/{prefix} subnet')}, "
            f"held by {listed(holders)}"
        )
    return subnet, reasons


def _overlaps(text, pool):
    try:
        return ipaddress.IPv4Network(text).overlaps(ipaddress.IPv4Network(pool))
    except (TypeError, ValueError):
        return False


def _vni(settings, clusters):
    first, last = settings["private"]["vnis"]
    held = {cluster.get("vni"): name for name, cluster in clusters.items()}
    vni = free_vni(first, last, held)
    if vni is not None:
        return vni, None
    holders = listed(held[number] for number in range(first, last + 1))
    return None, (
        f"every VXLAN id is taken: {first}-{last} ({_plural(last - first + 1, 'id')}), held by {holders}"
    )


def _nodes(name, computes, cpus, memory, placed, subnet, taken_macs):
    frontend, compute_names = node_names(name, computes)
    frontend_ip, compute_ips = private_addresses(subnet, computes)
    roles = [(frontend, "frontend", 0, frontend_ip)] + [
        (node, "compute", 1, ip) for node, ip in zip(compute_names, compute_ips, strict=True)
    ]
    nodes = {}
    for node, role, size, ip in roles:
        nodes[node] = {
            "role": role,
            "host": placed[node],
            "cpus": cpus[size],
            "memory": memory[size],
            "ip": ip,
            "mac": stable_mac(node, 0, taken_macs),
        }
    nodes[frontend]["public_mac"] = stable_mac(frontend, 1, taken_macs)
    return nodes


def _macs(clusters):
    return {
        mac
        for cluster in clusters.values()
        for node in cluster.get("nodes", {}).values()
        for mac in (node.get("mac"), node.get("public_mac"))
        if mac
    }


def allocate(state, settings, name, computes, cpus, memory, hosts):
    """
    Allocate cluster ``name`` (a frontend and ``computes`` computes, ``cpus`` and ``memory`` as
    ``sizes`` reads them) in the ledger ``state``, on ``hosts`` (``check_hosts``) by
    ``settings`` (``site_settings``). Records it as ``allocating`` and returns a copy:
    ``{name, state, placement, public, subnet, vni, nodes: {node: {role, host, cpus, memory
    (MiB), ip, mac[, public_mac]}}}``. A cluster of that name (in any case) refuses
    ``vm_exists``; no address, subnet, VXLAN id or room refuses ``no_room`` with every reason.
    """
    name, computes = cluster_name(name), compute_count(computes)
    cpus, memory = sizes(cpus, "cpus"), sizes(memory, "memory")
    hosts = check_hosts(hosts)
    clusters = state["clusters"]
    same = [other for other in clusters if other.lower() == name.lower()]
    if same:
        raise Refused(
            "vm_exists",
            f"a virtual cluster named {same[0]} already exists ({clusters[same[0]].get('state')})",
        )
    frontend, compute_names = node_names(name, computes)
    wanted = [(frontend, cpus[0], memory[0])] + [(node, cpus[1], memory[1]) for node in compute_names]
    public, public_reason = _public_address(settings, clusters)
    subnet, reasons = _subnet(settings, clusters, computes)
    vni, vni_reason = _vni(settings, clusters)
    placed, place_reason = place(wanted, rooms(hosts, settings, clusters), settings["placement"])
    reasons = [why for why in (public_reason, *reasons, vni_reason, place_reason) if why]
    if reasons:
        raise Refused("no_room", f"cannot boot virtual cluster {name}: {'; '.join(reasons)}")
    clusters[name] = {
        "name": name,
        "state": "allocating",
        "placement": settings["placement"],
        "public": public,
        "subnet": subnet,
        "vni": vni,
        "nodes": _nodes(name, computes, cpus, memory, placed, subnet, _macs(clusters)),
    }
    return copy.deepcopy(clusters[name])


def release(state, name):
    """Free everything cluster ``name`` holds; returns what it held, or None when it held nothing."""
    return state["clusters"].pop(cluster_name(name), None)


def set_state(state, name, value):
    """Record cluster ``name`` as ``allocating``, ``booted`` or ``failed``."""
    if value not in STATES:
        raise Invalid(f"a virtual cluster's state must be {', '.join(STATES)}, not {value!r}")
    cluster = state["clusters"].get(cluster_name(name))
    if cluster is None:
        raise Refused("no_vm", f"no virtual cluster named {name} in the ledger")
    cluster["state"] = value
    return cluster


# ---- the ledger


def empty_state():
    return {"version": LEDGER_VERSION, "clusters": {}}


def _text(state):
    return json.dumps(state, indent=1, sort_keys=True) + "\n"


class Ledger:
    """The virtual clusters' ledger in the JSON file ``path``, locked by ``<path>.lock``."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.lock_path = self.path + ".lock"

    @contextlib.contextmanager
    def _flock(self, operation):
        directory = os.path.dirname(self.path) or "."
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=DIR_MODE, exist_ok=True)
                os.chmod(directory, DIR_MODE)  # whatever the umask
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        except OSError as err:
            raise Refused(
                "internal", f"cannot lock the virtual cluster ledger {self.path}: {err.strerror}"
            ) from None
        try:
            fcntl.flock(fd, operation)
            yield
        finally:
            os.close(fd)  # closing the only descriptor releases the lock

    def _load(self):
        try:
            with open(self.path, "rb") as source:
                raw = source.read(LEDGER_MAX_BYTES + 1)
        except FileNotFoundError:
            return empty_state()
        except OSError as err:
            raise Refused(
                "internal", f"cannot read the virtual cluster ledger {self.path}: {err.strerror}"
            ) from None
        if len(raw) > LEDGER_MAX_BYTES:
            raise Refused(
                "internal", f"the virtual cluster ledger {self.path} is over {LEDGER_MAX_BYTES} bytes"
            )
        try:
            state = json.loads(raw)
        except ValueError:
            state = None
        if not isinstance(state, dict) or not isinstance(state.get("clusters"), dict):
            raise Refused(
                "internal", f"the virtual cluster ledger {self.path} is not a ledger (JSON with clusters)"
            )
        return state

    def _write(self, text):
        durable.write_atomically(self.path, text, FILE_MODE)

    def read(self):
        """The ledger as it is between two changes (a shared lock): ``{version, clusters}``."""
        with self._flock(fcntl.LOCK_SH):
            return self._load()

    @contextlib.contextmanager
    def locked(self):
        """
        ``with ledger.locked() as state:`` the ledger read under the exclusive lock; what the
        block changes in ``state`` is written atomically when it ends without an exception
        (nothing is written when it raises, or when nothing changed), and only then unlocked.
        """
        with self._flock(fcntl.LOCK_EX):
            state = self._load()
            before = _text(state)
            yield state
            after = _text(state)
            if after != before:
                try:
                    self._write(after)
                except OSError as err:
                    raise Refused(
                        "internal", f"cannot write the virtual cluster ledger {self.path}: {err.strerror}"
                    ) from None
