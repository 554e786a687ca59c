"""
What each node of a virtual cluster is told about itself (issue 13): pragma_boot's ``vc-out.xml``
for the frontend and for each compute, the same facts as ``KEY="value"`` lines a busybox guest
can source (``node.env``), and the small FAT disk that carries them (``config_disk``), written
without mounting anything.

The cluster is one plain dict (what the allocation gives, checked again here):

    {
        "name": "vc1",                          # a host name label: letters, digits, '-'
        "public": {                             # the frontend's public NIC
            "fqdn": "vc1.example.org",
            "ip": "192.0.2.10",
            "netmask": "255.255.255.0",          # or a prefix length: "24"
            "gateway": "192.0.2.1",
            "mac": "52:54:00:00:01:01",
        },
        "private": {                            # the cluster's private network
            "subnet": "10.1.0.0/16",
            "netmask": "255.255.0.0",            # optional; must agree with the subnet
            "gateway": "10.1.0.1",               # optional; the frontend's private ip by default
        },
        "dns": {
            "servers": ["192.0.2.53"],          # 1 to 3 IPv4 addresses
            "search": ["example.org"],           # optional, at most 6 DNS names
            "domain": "",                        # optional DNS name ("" for none)
        },
        "ssh_key": "ssh-ed25519 AAAA... me@x",  # one OpenSSH public key line, or None
        "nodes": {
            "frontend": {"name": "vc1-fe", "mac": "52:54:00:00:01:02", "ip": "10.1.0.1", "cpus": 2},
            "computes": [{"name": "vc1-c0", "mac": "52:54:00:00:01:03", "ip": "10.1.0.2", "cpus": 1}],
        },
    }

``computes`` may be empty (a frontend alone) and holds at most 256. Node names are host name
labels (they become the guests' host names); a node's private ``mac`` and ``ip`` are on the
private network; other keys of a node (``host``, ``memory``...) are ignored, while every other
mapping refuses keys it does not know. ``check`` refuses anything malformed, out of range,
outside its network or taken twice, before anything is built, so no value a user typed can
reach the XML, the shell file or a command line unchecked. The XML is built with ElementTree;
the shell file holds only characters a double-quoted ``/bin/sh`` word takes as they are;
``mkfs.fat`` and ``mcopy`` run from argument lists of paths Brine made.
"""

import ipaddress
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
from xml.etree import ElementTree

from brine import validate
from brine.credentials import check_ssh_key
from brine.errors import Invalid
from brine.errors import Refused

COMPUTES_MAX = 256
CPUS_MAX = validate.LIMITS["vcpus"]
DNS_SERVERS_MAX = 3  # what resolv.conf takes
SEARCH_MAX = 6
DOMAIN_MAX = 253
PREFIX_MAX = 30
LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
DOMAIN_RE = re.compile(rf"{LABEL_RE.pattern}(?:\.{LABEL_RE.pattern})*")
MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
CLUSTER_KEYS = ("name", "public", "private", "dns", "ssh_key", "nodes")
PUBLIC_KEYS = ("fqdn", "ip", "netmask", "gateway", "mac")
PRIVATE_KEYS = ("subnet", "netmask", "gateway")
DNS_KEYS = ("servers", "search", "domain")
NODES_KEYS = ("frontend", "computes")
NODE_KEYS = ("name", "mac", "ip", "cpus")

# node.env: KEY="value" lines; a value holds nothing a double-quoted sh word would expand.
ENV_KEY_RE = re.compile(r"BRINE_[A-Z0-9_]{1,40}")
ENV_VALUE_RE = re.compile(r"[A-Za-z0-9._:/ =-]*")
ENV_VALUE_MAX = 32768
ENV_HEADER = "# Brine's virtual cluster facts for this node (sourced by /bin/sh)\n"

# The config disk: a FAT image of a few small files.
FILE_NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,29}[a-z0-9])?")
# DOS device names mtools refuses to create (and any name whose base is one, as Windows does).
RESERVED_NAME_RE = re.compile(r"(?:con|aux|prn|nul|com[1-9]|lpt[1-9])(?:\..*)?")
FAT_LABEL_RE = re.compile(r"[A-Z0-9_][A-Z0-9_-]{0,10}")
DISK_KIB_MIN = 64
DISK_KIB_MAX = 65536
FAT_OVERHEAD_KIB = 48  # what mkfs.fat's own structures may take of a small image
FILES_MAX = 16
FILES_BYTES_MAX = 1024 * 1024
PATH_MAX = 4096
TOOL_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # where dosfstools and mtools are looked for
TOOL_ENV = {"PATH": TOOL_PATH, "LC_ALL": "C"}  # no HOME: no user's ~/.mtoolsrc
TOOL_TIMEOUT = 60
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _shown(value):
    """A value for a refusal: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(where, problem):
    raise Invalid(f"vcluster config: {where} {problem}")


# ---- Checking the cluster


def _mapping(value, where, keys, strict=True):
    if not isinstance(value, dict):
        _fail(where, f"must be a mapping, not a {type(value).__name__}")
    if strict:
        unknown = sorted(str(key) for key in value if key not in keys)
        if unknown:
            _fail(where, f"has unknown key {unknown[0]!r} (it takes {', '.join(keys)})")
    return value


def _required(mapping, key, where):
    if mapping.get(key) is None:
        _fail(f"{where}.{key}", "is required")
    return mapping[key]


def _label(value, where):
    if not isinstance(value, str) or not LABEL_RE.fullmatch(value):
        _fail(where, f"must be a host name (1 to 63 letters, digits or '-'), not {_shown(value)}")
    return value


def _dns_name(value, where):
    if not isinstance(value, str) or len(value) > DOMAIN_MAX or not DOMAIN_RE.fullmatch(value):
        _fail(where, f"must be a DNS name of at most {DOMAIN_MAX} characters, not {_shown(value)}")
    return value


def _ipv4(value, where):
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return ipaddress.IPv4Address(value)
    except ValueError:
        _fail(where, f"must be an IPv4 address, not {_shown(value)}")
    return None


def _mac(value, where):
    if not isinstance(value, str) or not MAC_RE.fullmatch(value):
        _fail(where, f"must be a MAC address xx:xx:xx:xx:xx:xx, not {_shown(value)}")
    if int(value[:2], 16) & 1:
        _fail(where, f"{value} is a multicast address")
    return value.lower()


def _host_in(address, network, where):
    """``address`` when it is a usable host address of ``network``."""
    if address not in network or address in (network.network_address, network.broadcast_address):
        _fail(where, f"{address} is not a host address of {network}")
    return address


def _public(value):
    public = _mapping(value, "public", PUBLIC_KEYS)
    ip = _ipv4(_required(public, "ip", "public"), "public.ip")
    netmask = _required(public, "netmask", "public")
    try:
        if isinstance(netmask, bool) or not isinstance(netmask, str | int):
            raise ValueError(netmask)
        network = ipaddress.IPv4Network(f"{ip}/{netmask}", strict=False)
        if "." in str(netmask) and str(network.netmask) != netmask:
            raise ValueError(netmask)  # a host mask (0.0.0.255), which ipaddress would take
    except ValueError:
        _fail("public.netmask", f"must be a netmask (255.255.255.0) or prefix length, not {_shown(netmask)}")
    if network.prefixlen > PREFIX_MAX:
        _fail("public.netmask", f"leaves no room: at most /{PREFIX_MAX}")
    _host_in(ip, network, "public.ip")
    gateway = _host_in(
        _ipv4(_required(public, "gateway", "public"), "public.gateway"), network, "public.gateway"
    )
    if gateway == ip:
        _fail("public.gateway", f"is the frontend's own address {ip}")
    return {
        "fqdn": _dns_name(_required(public, "fqdn", "public"), "public.fqdn"),
        "ip": ip,
        "network": network,
        "gateway": gateway,
        "mac": _mac(_required(public, "mac", "public"), "public.mac"),
    }


def _private(value):
    private = _mapping(value, "private", PRIVATE_KEYS)
    subnet = _required(private, "subnet", "private")
    try:
        if not isinstance(subnet, str) or "/" not in subnet:
            raise ValueError(subnet)
        network = ipaddress.IPv4Network(subnet)
    except ValueError:
        _fail("private.subnet", f"must be an IPv4 network in CIDR form (10.1.0.0/16), not {_shown(subnet)}")
    if network.prefixlen > PREFIX_MAX:
        _fail("private.subnet", f"{network} is too small: at most /{PREFIX_MAX}")
    netmask = private.get("netmask")
    if netmask is not None and (not isinstance(netmask, str) or netmask != str(network.netmask)):
        _fail("private.netmask", f"must be the subnet's netmask {network.netmask}, not {_shown(netmask)}")
    gateway = private.get("gateway")
    if gateway is not None:
        gateway = _host_in(_ipv4(gateway, "private.gateway"), network, "private.gateway")
    return {"network": network, "gateway": gateway}


def _dns(value):
    dns = _mapping(value, "dns", DNS_KEYS)
    servers = _required(dns, "servers", "dns")
    if not isinstance(servers, list) or not 1 <= len(servers) <= DNS_SERVERS_MAX:
        _fail("dns.servers", f"must be a list of 1 to {DNS_SERVERS_MAX} IPv4 addresses")
    search = [] if dns.get("search") is None else dns["search"]
    if not isinstance(search, list) or len(search) > SEARCH_MAX:
        _fail("dns.search", f"must be a list of at most {SEARCH_MAX} DNS names")
    domain = "" if dns.get("domain") is None else dns["domain"]
    return {
        "servers": [str(_ipv4(server, f"dns.servers[{i}]")) for i, server in enumerate(servers)],
        "search": [_dns_name(name, f"dns.search[{i}]") for i, name in enumerate(search)],
        "domain": "" if domain == "" else _dns_name(domain, "dns.domain"),
    }


def _node(value, where, network):
    node = _mapping(value, where, NODE_KEYS, strict=False)
    cpus = _required(node, "cpus", where)
    if isinstance(cpus, bool) or not isinstance(cpus, int) or not 1 <= cpus <= CPUS_MAX:
        _fail(f"{where}.cpus", f"must be a whole number from 1 to {CPUS_MAX}, not {_shown(cpus)}")
    return {
        "name": _label(_required(node, "name", where), f"{where}.name"),
        "mac": _mac(_required(node, "mac", where), f"{where}.mac"),
        "ip": _host_in(_ipv4(_required(node, "ip", where), f"{where}.ip"), network, f"{where}.ip"),
        "cpus": cpus,
    }


def _nodes(value, network):
    nodes = _mapping(value, "nodes", NODES_KEYS)
    frontend = _node(_required(nodes, "frontend", "nodes"), "nodes.frontend", network)
    computes = _required(nodes, "computes", "nodes")
    if not isinstance(computes, list) or len(computes) > COMPUTES_MAX:
        _fail("nodes.computes", f"must be a list of at most {COMPUTES_MAX} compute nodes")
    return frontend, [_node(entry, f"nodes.computes[{i}]", network) for i, entry in enumerate(computes)]


def _unique(nodes, public):
    """Names (as host names: any case), private addresses and MACs each taken once."""
    seen = {"name": {}, "ip": {}, "mac": {public["mac"]: "public"}}
    for node in nodes:
        for key in ("name", "ip", "mac"):
            value = node[key].lower() if key == "name" else node[key]
            if value in seen[key]:
                _fail(f"node {node['name']}", f"has the {key} {node[key]} of {seen[key][value]} too")
            seen[key][value] = node["name"]


def check(cluster):
    """
    ``cluster`` (the shape in this module's docstring) checked whole and normalized: addresses
    as ``ipaddress`` objects, networks as ``IPv4Network``, MACs in lower case, ``frontend`` and
    ``computes`` at the top, the private gateway filled in. ``Invalid`` naming the field otherwise.
    """
    cluster = _mapping(cluster, "the cluster", CLUSTER_KEYS)
    name = _label(_required(cluster, "name", "cluster"), "name")
    public = _public(_required(cluster, "public", "cluster"))
    private = _private(_required(cluster, "private", "cluster"))
    if public["network"].overlaps(private["network"]):
        _fail("private.subnet", f"{private['network']} overlaps the public network {public['network']}")
    dns = _dns(_required(cluster, "dns", "cluster"))
    key = cluster.get("ssh_key")
    frontend, computes = _nodes(_required(cluster, "nodes", "cluster"), private["network"])
    _unique([frontend, *computes], public)
    if private["gateway"] is None:
        private["gateway"] = frontend["ip"]
    taken = {node["ip"]: node["name"] for node in computes}
    if private["gateway"] in taken:
        _fail(
            "private.gateway", f"{private['gateway']} is the address of compute {taken[private['gateway']]}"
        )
    for node in computes:
        node["fqdn"] = _fqdn(node["name"], dns["domain"])
    frontend["fqdn"] = _fqdn(frontend["name"], dns["domain"])
    return {
        "name": name,
        "public": public,
        "private": private,
        "dns": dns,
        "ssh_key": None if key is None else check_ssh_key(key),
        "frontend": frontend,
        "computes": computes,
    }


def _fqdn(name, domain):
    fqdn = f"{name}.{domain}" if domain else name
    if len(fqdn) > DOMAIN_MAX:
        _fail(f"node {name}", f"with the domain {domain} is longer than {DOMAIN_MAX} characters")
    return fqdn


def _compute(facts, node):
    """The compute named ``node`` of checked ``facts``."""
    for compute in facts["computes"]:
        if compute["name"] == node:
            return compute
    _fail("node", f"{_shown(node)} is not a compute node of {facts['name']}")
    return None


# ---- vc-out.xml


def _xml(root):
    ElementTree.indent(root, space="  ")
    return ElementTree.tostring(root, encoding="unicode") + "\n"


def _sub(parent, tag, **attrs):
    """A child element; ElementTree escapes the attribute values (each checked already)."""
    return ElementTree.SubElement(parent, tag, {key: str(value) for key, value in attrs.items()})


def _tail(root, facts):
    """The parts every node's vc-out.xml ends with: DNS and the ssh key."""
    dns = facts["dns"]
    servers, search = ",".join(dns["servers"]), " ".join(dns["search"])
    _sub(_sub(root, "network"), "dns", ip=servers, search=search, domain=dns["domain"])
    if facts["ssh_key"] is not None:
        _sub(root, "key").text = facts["ssh_key"]


def vc_out_frontend(cluster):
    """
    The frontend's vc-out.xml as text: its public and private NICs, the computes (name, mac,
    ip, cpus), DNS (``ip`` lists the servers separated by commas, ``search`` the names by
    spaces) and the ssh key (no ``<key>`` when ``ssh_key`` is None).
    """
    facts = check(cluster)
    public, frontend, netmask = facts["public"], facts["frontend"], facts["private"]["network"].netmask
    root = ElementTree.Element("vc")
    element = _sub(root, "frontend")
    _sub(
        element,
        "public",
        fqdn=public["fqdn"],
        ip=public["ip"],
        netmask=public["network"].netmask,
        gw=public["gateway"],
        mac=public["mac"],
    )
    _sub(element, "private", ip=frontend["ip"], netmask=netmask, mac=frontend["mac"])
    element = _sub(root, "compute", count=len(facts["computes"]))
    for node in facts["computes"]:
        _sub(element, "node", name=node["name"], mac=node["mac"], ip=node["ip"], cpus=node["cpus"])
    _tail(root, facts)
    return _xml(root)


def vc_out_compute(cluster, node):
    """
    The vc-out.xml of the compute named ``node``, as text: the frontend's public fqdn, its own
    private NIC (fqdn: its name, with ``dns.domain`` when there is one; gw: the private
    gateway), DNS and the ssh key. ``Invalid`` when ``node`` is not one of the computes.
    """
    facts = check(cluster)
    compute, private = _compute(facts, node), facts["private"]
    root = ElementTree.Element("vc")
    _sub(_sub(root, "frontend"), "public", fqdn=facts["public"]["fqdn"])
    _sub(
        _sub(root, "compute"),
        "private",
        fqdn=compute["fqdn"],
        ip=compute["ip"],
        netmask=private["network"].netmask,
        gw=private["gateway"],
        mac=compute["mac"],
    )
    _tail(root, facts)
    return _xml(root)


# ---- node.env


def env_line(key, value):
    """One ``KEY="value"`` line, refused unless ``value`` is safe as it is in a double-quoted sh word."""
    value = str(value)
    if not ENV_KEY_RE.fullmatch(key):
        _fail("node.env", f"key {_shown(key)} is not BRINE_ and capitals")
    if len(value) > ENV_VALUE_MAX or not ENV_VALUE_RE.fullmatch(value):
        _fail(f"node.env {key}", "holds characters other than letters, digits and ._:/ =-")
    return f'{key}="{value}"\n'


def _env_pairs(facts, node):
    """The facts of node.env for the node named ``node`` (frontend or compute), in order."""
    frontend, private, public, dns = facts["frontend"], facts["private"], facts["public"], facts["dns"]
    is_frontend = node == frontend["name"]
    own = frontend if is_frontend else _compute(facts, node)
    pairs = [
        ("BRINE_CLUSTER", facts["name"]),
        ("BRINE_NODE", own["name"]),
        ("BRINE_ROLE", "frontend" if is_frontend else "compute"),
        ("BRINE_FQDN", public["fqdn"] if is_frontend else own["fqdn"]),
        ("BRINE_CPUS", own["cpus"]),
        ("BRINE_PRIVATE_IP", own["ip"]),
        ("BRINE_PRIVATE_PREFIX", private["network"].prefixlen),
        ("BRINE_PRIVATE_NETMASK", private["network"].netmask),
        ("BRINE_PRIVATE_SUBNET", private["network"]),
        ("BRINE_PRIVATE_MAC", own["mac"]),
        ("BRINE_GATEWAY", public["gateway"] if is_frontend else private["gateway"]),
        ("BRINE_FRONTEND", frontend["name"]),
        ("BRINE_FRONTEND_IP", frontend["ip"]),
        ("BRINE_FRONTEND_FQDN", public["fqdn"]),
        ("BRINE_DNS", " ".join(dns["servers"])),
        ("BRINE_SEARCH", " ".join(dns["search"])),
        ("BRINE_DOMAIN", dns["domain"]),
    ]
    if is_frontend:
        pairs += [
            ("BRINE_PUBLIC_IP", public["ip"]),
            ("BRINE_PUBLIC_PREFIX", public["network"].prefixlen),
            ("BRINE_PUBLIC_NETMASK", public["network"].netmask),
            ("BRINE_PUBLIC_MAC", public["mac"]),
            ("BRINE_COMPUTES", " ".join(f"{c['name']}={c['ip']}" for c in facts["computes"])),
        ]
    return pairs


def node_env(cluster, node):
    """
    node.env for the node named ``node`` (the frontend or a compute) as text: ``KEY="value"``
    lines a busybox ``/bin/sh`` can source, each value checked to hold only letters, digits and
    ``._:/ =-``. BRINE_GATEWAY is the node's default route (the public gateway on the frontend,
    the private one on a compute); only the frontend gets BRINE_PUBLIC_* and BRINE_COMPUTES
    (``name=ip`` pairs separated by spaces). The ssh key is never in it (only in vc-out.xml).
    """
    facts = check(cluster)
    return ENV_HEADER + "".join(env_line(key, value) for key, value in _env_pairs(facts, node))


# ---- The config disk


def _disk_path(path):
    if (
        not isinstance(path, str)
        or not path.startswith("/")
        or path.startswith("//")
        or len(path) > PATH_MAX
        or _CONTROL_RE.search(path)
        or posixpath.normpath(path) != path
    ):
        _fail("path", f"must be an absolute, normalized path without '..', not {_shown(path)}")
    if not os.path.isdir(os.path.dirname(path)):
        _fail("path", f"{path}: its folder does not exist")
    if os.path.lexists(path):
        _fail("path", f"{path} already exists")
    return path


def _disk_files(files, size_kib):
    if not isinstance(files, dict) or not 1 <= len(files) <= FILES_MAX:
        _fail("files", f"must be a mapping of 1 to {FILES_MAX} file names to bytes")
    total = 0
    for name, content in files.items():
        if not isinstance(name, str) or not FILE_NAME_RE.fullmatch(name) or RESERVED_NAME_RE.fullmatch(name):
            _fail(
                "files",
                f"name {_shown(name)} is not 1 to 31 of a-z 0-9 . _ - (starting and ending with a-z 0-9)",
            )
        if not isinstance(content, bytes | bytearray):
            _fail(f"files {name}", f"must be bytes, not a {type(content).__name__}")
        total += len(content)
    room = min(FILES_BYTES_MAX, (size_kib - FAT_OVERHEAD_KIB) * 1024)
    if total > room:
        _fail("files", f"hold {total} bytes: at most {room} fit a {size_kib} KiB disk")
    return files


def _tool(name):
    found = shutil.which(name, path=TOOL_PATH)
    if found is None:
        package = "dosfstools" if name.startswith("mkfs") else "mtools"
        raise Refused("internal", f"{name} is not installed on this host (Debian package {package})")
    return found


def _run(run, argv, what):
    try:
        done = run(
            argv,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
            env=TOOL_ENV,
        )
    except subprocess.TimeoutExpired:
        raise Refused("internal", f"{what} did not finish within {TOOL_TIMEOUT} s") from None
    except OSError as err:
        raise Refused("internal", f"{what} could not run: {err.strerror}") from None
    if done.returncode != 0:
        lines = [_CONTROL_RE.sub(" ", line).strip() for line in (done.stderr or "").splitlines()]
        last = [line for line in lines if line][-1:] or ["no message"]
        raise Refused("internal", f"{what} failed: {last[0][:300]}")


def config_disk(path, files, label="BRINECFG", size_kib=1440, run=subprocess.run):
    """
    A FAT image at ``path`` (which must not exist yet; its folder must) of ``size_kib`` KiB
    (64 to 65536) labelled ``label`` (1 to 11 of A-Z 0-9 _ -, not starting with -), holding ``files``
    (``{name: bytes}``, names 1 to 31 of a-z 0-9 . _ -, at most 16 files and 1 MiB), made with
    ``mkfs.fat -C`` and ``mcopy``, never mounted. The image is made in a private folder beside
    ``path``, made mode 0600 before a file goes in, and linked to ``path`` only when complete:
    a failure leaves nothing behind. Returns ``path``.
    """
    if not isinstance(label, str) or not FAT_LABEL_RE.fullmatch(label):
        _fail("label", f"must be 1 to 11 of A-Z 0-9 _ - (not starting with -), not {_shown(label)}")
    if (
        isinstance(size_kib, bool)
        or not isinstance(size_kib, int)
        or not DISK_KIB_MIN <= size_kib <= DISK_KIB_MAX
    ):
        _fail(
            "size_kib",
            f"must be a whole number from {DISK_KIB_MIN} to {DISK_KIB_MAX}, not {_shown(size_kib)}",
        )
    files = _disk_files(files, size_kib)
    path = _disk_path(path)
    mkfs, mcopy = _tool("mkfs.fat"), _tool("mcopy")
    folder = tempfile.mkdtemp(prefix=".brinecfg-", dir=os.path.dirname(path))
    try:
        image = os.path.join(folder, "image")
        _run(run, [mkfs, "-C", "-n", label, image, str(size_kib)], "mkfs.fat")
        os.chmod(image, 0o600)
        source = os.path.join(folder, "file")
        for name, content in files.items():
            with open(os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                out.write(content)
            _run(run, [mcopy, "-i", image, source, f"::/{name}"], f"mcopy of {name}")
            os.unlink(source)
        try:
            os.link(image, path)
        except FileExistsError:
            _fail("path", f"{path} already exists")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return path
