"""
A virtual cluster image repository's texts read into Brine's data (issue 13): pragma_boot's
``vcdb.txt`` (``name,path/to/cluster.xml`` lines) and each cluster's description (its
``vc-in.xml``: the frontend's and compute's libvirt domain XML, the compute's boot dependency,
the private network, and the ``<files>`` that say how each image is stored).

Nothing here touches a file or the network: the backends and the assembly of images are in
``brine.vcluster_images``. Everything the repository says is checked before Brine uses it:
names by one strict rule, paths relative and below their folder, numbers bounded, texts at most
``MAX_TEXT`` bytes, XML without DOCTYPE or entity declarations, and each ``<file>`` with the
``sha256`` of its assembled image (Brine's addition to pragma's format). A name the XML gives a
node is kept as data only: Brine names the nodes it defines itself.
"""

import ipaddress
import posixpath
import re
import xml.etree.ElementTree as ET

from brine import validate
from brine.errors import Invalid

MAX_TEXT = 1024 * 1024
MAX_VCDB_LINES = 1000
MAX_FILES = 16
MAX_PARTS = 16
MAX_DISKS = 4
MAX_INTERFACES = 8
MAX_WAIT = 3600
MAX_DEPTH = 32
MAX_PATH = 1024
MAX_PATH_PART = 255
# A cluster's name in the repository (and its folder in the cache).
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")
# A network interface's name on the guest (Linux allows 15 characters).
IFACE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")
FILE_TYPES = ("raw", "gzip", "splited", "splited_gzip")
GZIP_TYPES = ("gzip", "splited_gzip")
FORMATS = ("raw", "qcow2")
ARCH = "x86_64"
# libvirt's memory units, in bytes.
MEMORY_UNITS = {
    "b": 1,
    "bytes": 1,
    "KB": 1000,
    "k": 1024,
    "KiB": 1024,
    "MB": 1000**2,
    "M": 1024**2,
    "MiB": 1024**2,
    "GB": 1000**3,
    "G": 1024**3,
    "GiB": 1024**3,
    "TB": 1000**4,
    "T": 1024**4,
    "TiB": 1024**4,
}
MAX_MEMORY_KIB = validate.LIMITS["memory"] * 1024
NAME_RULE = "use 1 to 63 letters, digits, '-', '_' or '.', starting with a letter or digit"


def cluster_name(value, argument="name"):
    """``value`` when it is a cluster's name by Brine's rule, else ``Invalid`` naming ``argument``."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise Invalid(f"{argument} {value!r} is not a valid cluster name: {NAME_RULE}")
    return value


def relative_path(value, what, suffix=None):
    """
    ``value`` when it is a relative path below its folder: '/'-separated parts, none empty,
    ``.`` or ``..``, no backslash or control character, not absolute, ending in ``suffix`` when
    given; else ``Invalid`` whose sentence starts with ``what``.
    """
    if not isinstance(value, str) or not value:
        raise Invalid(f"{what} is empty or not a text")
    if len(value) > MAX_PATH:
        raise Invalid(f"{what} is longer than {MAX_PATH} characters")
    if value.startswith("/"):
        raise Invalid(f"{what} {value!r} is an absolute path: it must be relative to its folder")
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise Invalid(f"{what} {value!r} holds a backslash or a control character")
    for part in value.split("/"):
        if part in ("", ".", ".."):
            raise Invalid(f"{what} {value!r} has an empty, '.' or '..' part: it must stay below its folder")
        if len(part) > MAX_PATH_PART:
            raise Invalid(f"{what} {value!r} has a part longer than {MAX_PATH_PART} characters")
    if suffix and not value.endswith(suffix):
        raise Invalid(f"{what} {value!r} does not end in {suffix}")
    return value


def _bounded_text(text, what):
    if not isinstance(text, str):
        raise Invalid(f"{what} is not a text")
    if len(text) > MAX_TEXT or len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT:
        raise Invalid(f"{what} is larger than {MAX_TEXT} bytes")
    return text


def parse_vcdb(text):
    """
    ``[{"name", "path"}]`` from a ``vcdb.txt``: one ``name,relative/path.xml`` per line, blank
    lines and ``#`` comments skipped, at most ``MAX_VCDB_LINES`` lines and ``MAX_TEXT`` bytes.
    A bad line, or a name given twice, is ``Invalid`` naming its line number.
    """
    lines = _bounded_text(text, "vcdb.txt").splitlines()
    if len(lines) > MAX_VCDB_LINES:
        raise Invalid(f"vcdb.txt has {len(lines)} lines: at most {MAX_VCDB_LINES} are read")
    found, seen = [], {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(",")
        if len(fields) != 2:
            raise Invalid(f"vcdb.txt line {number}: {line!r} is not 'name,path/to/cluster.xml'")
        name, path = (field.strip() for field in fields)
        try:
            cluster_name(name, "the cluster name")
            relative_path(path, "the description path", ".xml")
        except Invalid as why:
            raise Invalid(f"vcdb.txt line {number}: {why.sentence}") from None
        if name in seen:
            raise Invalid(f"vcdb.txt line {number}: the cluster {name} is already named on line {seen[name]}")
        seen[name] = number
        found.append({"name": name, "path": path})
    return found


def _depth(root):
    """How deep the tree below ``root`` goes (without recursion)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        element, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in element)
    return deepest


def _root(xml_text, what):
    """The ``<vc>`` element of a description, parsed without any DOCTYPE or entity."""
    _bounded_text(xml_text, what)
    upper = xml_text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise Invalid(f"{what} declares a DOCTYPE or an ENTITY, which Brine does not read")
    try:
        root = ET.fromstring(xml_text)
    except (ET.ParseError, ValueError) as err:
        raise Invalid(f"{what} is not well-formed XML ({err})") from None
    if root.tag != "vc":
        raise Invalid(f"{what} is not a <vc> description (its root is <{root.tag}>)")
    if _depth(root) > MAX_DEPTH:
        raise Invalid(f"{what} nests elements deeper than {MAX_DEPTH} levels")
    return root


def _whole(text, what, low, high):
    """``text`` as a whole number from ``low`` to ``high``, else ``Invalid`` naming ``what``."""
    text = (text or "").strip()
    if not re.fullmatch(r"[0-9]{1,19}", text) or not low <= int(text) <= high:
        raise Invalid(f"{what} is {text!r}: it must be a whole number from {low} to {high}")
    return int(text)


def _arch(root, what):
    virt = root.find("virtualization")
    if virt is None:
        raise Invalid(f"{what} has no <virtualization> element")
    engine = virt.get("engine", "kvm")
    if engine != "kvm":
        raise Invalid(f"{what} is for the {engine!r} engine: Brine boots kvm clusters only")
    arch = virt.get("arch")
    if arch != ARCH:
        raise Invalid(f"{what} is for the {arch!r} architecture: Brine's hosts run {ARCH} guests only")
    return arch


def _memory_kib(domain, what):
    memory = domain.find("memory")
    if memory is None:
        raise Invalid(f"{what} has no <memory>")
    unit = memory.get("unit", "KiB")
    if unit not in MEMORY_UNITS:
        raise Invalid(f"{what}'s memory unit {unit!r} is not one of libvirt's")
    size = _whole(memory.text, f"{what}'s memory", 1, MAX_MEMORY_KIB * 1024)
    kib = -(-size * MEMORY_UNITS[unit] // 1024)
    if not 1024 <= kib <= MAX_MEMORY_KIB:
        raise Invalid(f"{what}'s memory is {kib} KiB: it must be from 1 MiB to {MAX_MEMORY_KIB} KiB")
    return kib


def _disk_file(source, files, what):
    """The ``filename`` of the one file a disk's source names (its path, or its last part)."""
    if not isinstance(source, str) or not source or len(source) > MAX_PATH:
        raise Invalid(f"{what} has a disk without a source file")
    base = source.rsplit("/", 1)[-1]
    matches = [f["filename"] for f in files if source == f["filename"]]
    matches = matches or [f["filename"] for f in files if base == posixpath.basename(f["filename"])]
    if len(matches) != 1:
        names = ", ".join(f["filename"] for f in files)
        raise Invalid(
            f"{what}'s disk source {source!r} is not exactly one of the description's files ({names})"
        )
    return matches[0]


def _domain(node, role, files, what):
    """The facts the boot step needs from a ``<frontend>`` or ``<compute>``'s libvirt domain."""
    what = f"{what}: the {role}"
    domain = None if node is None else node.find("domain")
    if domain is None:
        raise Invalid(f"{what} has no <domain>")
    os_type = domain.find("os/type")
    if os_type is not None and os_type.get("arch", ARCH) != ARCH:
        raise Invalid(f"{what}'s domain is for {os_type.get('arch')!r}: Brine's hosts run {ARCH} guests only")
    vcpu = domain.find("vcpu")
    vcpus = _whole(None if vcpu is None else vcpu.text, f"{what}'s vcpu", 1, validate.LIMITS["vcpus"])
    disks = [disk for disk in domain.findall("devices/disk") if disk.get("device", "disk") == "disk"]
    if not 1 <= len(disks) <= MAX_DISKS:
        raise Invalid(f"{what} has {len(disks)} disks: it must have from 1 to {MAX_DISKS}")
    sources = [disk.find("source") for disk in disks]
    low = 2 if role == "frontend" else 1
    interfaces = len(domain.findall("devices/interface"))
    if not low <= interfaces <= MAX_INTERFACES:
        raise Invalid(f"{what} has {interfaces} interfaces: it must have from {low} to {MAX_INTERFACES}")
    name = domain.findtext("name")
    return {
        "xml": ET.tostring(domain, encoding="unicode"),
        "xml_name": name.strip()[:MAX_PATH_PART] if name else None,
        "memory_kib": _memory_kib(domain, what),
        "vcpus": vcpus,
        "disks": [_disk_file(None if s is None else s.get("file"), files, what) for s in sources],
        "interfaces": interfaces,
    }


def _boot_dependency(compute, what):
    """The compute's parent (the frontend) and the seconds it waits after the parent starts."""
    dependency = compute.find("boot_dependency")
    if dependency is None:
        return {"parent": "frontend", "wait": 0}
    parent = dependency.get("parent", "frontend")
    if parent != "frontend":
        raise Invalid(f"{what}: the compute's boot dependency is {parent!r}: it can only be the frontend")
    wait = dependency.find("wait")
    if wait is None:
        return {"parent": parent, "wait": 0}
    if wait.get("type", "clock") != "clock":
        raise Invalid(f"{what}: the compute's wait type {wait.get('type')!r} is not 'clock'")
    seconds = _whole(wait.get("value"), f"{what}: the compute's wait", 0, MAX_WAIT)
    return {"parent": parent, "wait": seconds}


def _network(root, what):
    """The cluster's private network (address and netmask) and the frontend's public interface."""
    private = root.find("networks/network[@name='private']")
    if private is None:
        raise Invalid(f"{what} has no <network name='private'> under <networks>")
    ip, netmask = private.findtext("ipaddress", ""), private.findtext("netmask", "")
    try:
        address = ipaddress.IPv4Address(ip.strip())
        network = ipaddress.IPv4Network(f"{address}/{netmask.strip()}", strict=False)
    except ValueError:
        raise Invalid(
            f"{what}: the private network {ip!r}/{netmask!r} is not an IPv4 address and netmask"
        ) from None
    if network.prefixlen > 30 or address in (network.network_address, network.broadcast_address):
        raise Invalid(f"{what}: {address} is not a host address of a usable network {network}")
    public = root.findtext("networks/frontend/public")
    public = public.strip() if public else None
    if public is not None and not IFACE_RE.fullmatch(public):
        raise Invalid(f"{what}: the frontend's public interface {public!r} is not an interface name")
    return {
        "private": {"ip": str(address), "netmask": str(network.netmask), "prefix": network.prefixlen},
        "public_interface": public,
    }


def file_entry(entry, what="the file"):
    """
    A ``{filename, type, parts, sha256, format}`` entry checked (a ``<file>``'s, or one given
    back to ``brine.vcluster_images.assemble``): the same dict, its sha256 in lower case.
    """
    if not isinstance(entry, dict):
        raise Invalid(f"{what} is not a file entry")
    filename = relative_path(entry.get("filename"), f"{what}'s filename")
    what = f"{what} {filename}"
    kind, fmt, sha = entry.get("type"), entry.get("format", "raw"), entry.get("sha256")
    if kind not in FILE_TYPES:
        raise Invalid(f"{what} has type {kind!r}: it must be one of {', '.join(FILE_TYPES)}")
    if fmt not in FORMATS:
        raise Invalid(f"{what} has format {fmt!r}: it must be raw or qcow2")
    if not isinstance(sha, str) or not SHA256_RE.fullmatch(sha):
        raise Invalid(f"{what} has no sha256 of 64 hexadecimal digits (Brine requires the assembled image's)")
    parts = entry.get("parts")
    if not isinstance(parts, list) or not 1 <= len(parts) <= MAX_PARTS:
        raise Invalid(f"{what} must have from 1 to {MAX_PARTS} parts")
    if kind in ("raw", "gzip") and len(parts) != 1:
        raise Invalid(f"{what} of type {kind} has {len(parts)} parts: it must have one")
    parts = [relative_path(part, f"{what}'s part") for part in parts]
    return {"filename": filename, "type": kind, "parts": parts, "sha256": sha.lower(), "format": fmt}


def _files(root, what):
    elements = root.findall("files/file")
    if not 1 <= len(elements) <= MAX_FILES:
        raise Invalid(f"{what} has {len(elements)} <file> entries: it must have from 1 to {MAX_FILES}")
    files = []
    for element in elements:
        parts = [(part.text or "").strip() for part in element.findall("part")]
        if not parts and element.get("type") == "raw":
            parts = [element.get("filename")]  # a raw image stored as it is, under its own name
        entry = {
            "filename": element.get("filename"),
            "type": element.get("type"),
            "parts": parts[: MAX_PARTS + 1],
            "sha256": element.get("sha256"),
            "format": element.get("format", "raw"),
        }
        entry = file_entry(entry, f"{what}: the file")
        if entry["filename"] in [f["filename"] for f in files]:
            raise Invalid(f"{what}: the file {entry['filename']} is described twice")
        files.append(entry)
    return files


def parse_description(xml_text, name):
    """
    A cluster's description (``vc-in.xml``) as Brine's dict: ``name``, ``arch``, ``frontend``
    and ``compute`` (each ``{xml, xml_name, memory_kib, vcpus, disks, interfaces}``; the
    compute also ``boot_dependency: {parent, wait}``), ``network`` (``private: {ip, netmask,
    prefix}``, ``public_interface``) and ``files`` (``[{filename, type, parts, sha256,
    format}]``). Anything Brine cannot use safely is ``Invalid`` with a sentence that names the
    cluster.
    """
    cluster_name(name)
    what = f"the description of {name}"
    root = _root(xml_text, what)
    arch = _arch(root, what)
    files = _files(root, what)
    compute_node = root.find("compute")
    compute = _domain(compute_node, "compute", files, what)
    compute["boot_dependency"] = _boot_dependency(compute_node, what)
    return {
        "name": name,
        "arch": arch,
        "frontend": _domain(root.find("frontend"), "frontend", files, what),
        "compute": compute,
        "network": _network(root, what),
        "files": files,
    }
