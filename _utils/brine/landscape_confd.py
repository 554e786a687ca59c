"""
A miniascape ``conf.d`` tree, read as it is into the landscape's layers (docs/landscape.md, Layers).

The tree's ``META/*.yml`` (merged in name order) says the site folder (``site``, miniascape's
name for it; default ``default``) and, per category (``guest``, ``network``, ``storage``,
``host``), a ``subdir``
whose entries name the objects (folders, or ``<name>.yml`` files) and a ``files`` list of globs
relative to the site folder, with ``%(name)s`` and ``%(group)s``::

    site: default
    guest: {subdir: guests.d, files: ["common/*.yml", "sysgroups.d/%(group)s/*.yml",
                                      "guests.d/%(name)s/*.yml"]}
    network: {subdir: networks.d, files: ["common/*.yml", "networks.d/%(name)s/*.yml"]}
    storage: {subdir: storages.d, files: ["common/*.yml", "storages.d/%(name)s.yml"]}
    host: {subdir: host.d, files: ["common/*.yml", "host.d/*.yml"]}

They become the layers: files of the ``common/`` globs → ``common`` (each file once), the host
category's other files → ``hosts["*"]`` (every host), a network's, pool's or guest's own files
(``%(name)s``, and globs without a placeholder, which every object of the category shares) →
``networks``/``pools``/``guests`` by name, a guest's ``%(group)s`` files → ``groups`` under
``brine.landscape.group_of`` (the guest's own ``group``, else its name without ``-N``). Files merge in
the META's order of globs, each glob's files in sorted order; across layers the landscape's order
holds (common → host → network | pool | group → guest). An object none of whose own globs
matches a file is not an object (a stray ``guests.d/x.yml.off``).

miniascape's keys become Brine's: ``network`` + ``netmask`` → ``subnet`` (a network's netmask
may come from host.d or common), ``target: {path}`` → ``path``, ``virtinst.ram`` → ``memory``,
``virtinst.vcpus`` → ``vcpus``, a NIC's ``host`` → ``hostname`` (``mac: RANDOM`` → derived).
A NIC or disk keeps only Brine's keys; the lists as miniascape wrote them stay in
``vars.interfaces`` and ``vars.disks`` (kickstart data: ``device``, ``bootproto``, ...). In an
object's own layers every other key goes under ``vars``; ``common`` and host.d keep theirs
(only their ``hosts``, miniascape's /etc/hosts entries, moves under ``vars``).

YAML is read with ``yaml.safe_load`` only: nothing is executed or templated. Every path stays
inside the tree: globs with ``..`` or absolute globs, symlinks and files over ``FILE_MAX``
are refused, and so is a file that is not a mapping, each with ``Invalid`` naming the file.
"""

import glob
import ipaddress
import os
import posixpath
import re
import stat
from pathlib import Path

import yaml

from brine import landscape
from brine import landscape_fields
from brine import validate
from brine.errors import Invalid

CATEGORIES = ("host", "network", "storage", "guest")
SECTIONS = {"network": "networks", "storage": "pools", "guest": "guests"}
KEEP = {
    "networks": frozenset(landscape_fields.NETWORK_FIELDS) - {"vars"},
    "pools": frozenset(landscape_fields.POOL_FIELDS) - {"vars"},
    "groups": frozenset(landscape_fields.GROUP_FIELDS) - {"vars"},
    "guests": frozenset(landscape_fields.GUEST_FIELDS) - {"vars"},
}
DEFAULT_SITE = "default"
FILE_MAX = 1024 * 1024
PLACEHOLDER_RE = re.compile(r"%\(([^)]*)\)s")
PLACEHOLDERS = ("name", "group")


def load(confd, host=None):
    """
    The layers of the miniascape tree at ``confd``: ``{common, hosts, networks, pools, groups,
    guests}``. ``host``, when given, is the minion id the guests run on (miniascape had one
    host): it becomes ``common.host``.
    """
    tree = _Tree(confd)
    meta = tree.merged(tree.matches(None, ["META/*.yml"]))
    if not meta:
        raise Invalid(f"landscape: conf.d {confd} has no META/*.yml saying where its files are")
    folder = meta.get("site", DEFAULT_SITE)
    if not isinstance(folder, str) or not validate.VM_NAME_RE.fullmatch(folder):
        raise Invalid(f"landscape: conf.d META: site {folder!r} is not the name of a folder of the tree")
    specs = {category: _spec(meta, category) for category in CATEGORIES}
    if host is not None:
        host = validate.host_id(host, "host")

    common = [pattern for spec in specs.values() if spec for pattern in spec["files"] if _is_common(pattern)]
    raw_common = tree.merged(tree.matches(folder, common))
    layers = {"common": None, "hosts": {}, "networks": {}, "pools": {}, "groups": {}, "guests": {}}
    raw_host = {}
    if specs["host"]:
        shared = [pattern for pattern in specs["host"]["files"] if not _is_common(pattern)]
        raw_host = tree.merged(tree.matches(folder, shared))
        layers["hosts"][landscape.EVERY_HOST] = _shared_layer(raw_host, "hosts", "host.d")
    layers["common"] = _shared_layer(raw_common, "common", "common")
    netmask = raw_host.get("netmask") or raw_common.get("netmask")
    for category in ("network", "storage", "guest"):
        spec = specs[category]
        for name in tree.names(folder, spec["subdir"]) if spec else ():
            _load_object(tree, folder, spec, category, name, layers, netmask)
    if host is not None:
        layers["common"]["host"] = host
    return layers


def _load_object(tree, folder, spec, category, name, layers, netmask):
    """One network, pool or guest (and a guest's group, once) into ``layers``."""
    section = SECTIONS[category]
    patterns = [pattern for pattern in spec["files"] if not _is_common(pattern)]
    group = None
    if category == "guest":
        plain = [pattern for pattern in patterns if "%(group)s" not in pattern]
        group = landscape.group_of(name, tree.merged(tree.matches(folder, plain, name)).get("group"))
        landscape_fields.name(group, "group")
    own = [pattern for pattern in patterns if "%(name)s" in pattern or "%(group)s" not in pattern]
    if not tree.matches(folder, [pattern for pattern in own if "%(name)s" in pattern], name, group):
        return  # no file of its own: not an object
    label = f"{category} {name}"
    layers[section][name] = _own_layer(
        tree.merged(tree.matches(folder, own, name, group)), section, name, label, netmask
    )
    if group is None or group in layers["groups"]:
        return
    shared = [pattern for pattern in patterns if "%(group)s" in pattern and "%(name)s" not in pattern]
    files = tree.matches(folder, shared, name, group)
    if files:
        layers["groups"][group] = _own_layer(tree.merged(files), "groups", group, f"group {group}", netmask)


# -- META -------------------------------------------------------------------------------------
def _is_common(pattern):
    return pattern.split("/", 1)[0] == "common"


def _spec(meta, category):
    """A category's ``{subdir, files}`` from META, checked; None when META has none."""
    spec = meta.get(category)
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise Invalid(f"landscape: conf.d META: {category} must be a mapping of subdir and files")
    allowed = {"host": (), "network": ("name",), "storage": ("name",), "guest": ("name", "group")}[category]
    subdir = _relative(spec.get("subdir"), f"{category}.subdir", ())
    if glob.has_magic(subdir):
        raise Invalid(f"landscape: conf.d META: {category}.subdir {subdir!r} must be a folder, not a glob")
    files = spec.get("files")
    if not isinstance(files, list):
        raise Invalid(f"landscape: conf.d META: {category}.files must be a list of globs")
    return {"subdir": subdir, "files": [_relative(item, f"{category}.files", allowed) for item in files]}


def _relative(value, field, placeholders):
    """A path or glob inside the site folder, with only ``placeholders``."""
    if not isinstance(value, str) or not value or value.startswith("/") or "\\" in value:
        raise Invalid(f"landscape: conf.d META: {field} {value!r} must be a path relative to the site folder")
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise Invalid(f"landscape: conf.d META: {field} {value!r} must stay inside the site folder (no '..')")
    for match in PLACEHOLDER_RE.finditer(value):
        if match.group(1) not in placeholders:
            raise Invalid(
                f"landscape: conf.d META: {field} {value!r} has %({match.group(1)})s; "
                f"it may have {', '.join(f'%({p})s' for p in placeholders) or 'no placeholder'}"
            )
    if "%(" in PLACEHOLDER_RE.sub("", value):
        raise Invalid(f"landscape: conf.d META: {field} {value!r} has a broken placeholder")
    return value


def _fill(pattern, name, group):
    return pattern.replace("%(name)s", name or "").replace("%(group)s", group or "")


# -- miniascape's keys as Brine's -------------------------------------------------------------
def _subnet(network, netmask, label):
    if netmask is None:
        raise Invalid(
            f"landscape: conf.d {label}: network {network} has no netmask (in its files, host.d or common)"
        )
    try:
        return str(ipaddress.IPv4Network(f"{network}/{netmask}"))
    except ValueError:
        raise Invalid(
            f"landscape: conf.d {label}: network {network} with netmask {netmask} is not an IPv4 subnet"
        ) from None


def _entry(item, keep):
    """A NIC or disk with only Brine's keys (a NIC's ``host`` is its ``hostname``)."""
    if not isinstance(item, dict):
        return item
    entry = {key: value for key, value in item.items() if key in keep}
    if "hostname" in keep and "host" in item and "hostname" not in item:
        entry["hostname"] = item["host"]
    if entry.get("mac") == "RANDOM":
        del entry["mac"]
    return entry


def _translate(layer, section, label, netmask):
    """``(layer with Brine's keys, what goes under vars)``."""
    out = dict(layer)
    moved = {}
    if section in ("common", "hosts", "networks") and "network" in out:
        out["subnet"] = _subnet(out.pop("network"), out.pop("netmask", None) or netmask, label)
    target = out.get("target")
    if isinstance(target, dict) and "path" in target:
        rest = dict(target)
        out["path"] = rest.pop("path")
        out.pop("target")
        if rest:
            out["target"] = rest
    virtinst = out.get("virtinst")
    if isinstance(virtinst, dict):
        rest = dict(virtinst)
        for old, new in (("ram", "memory"), ("vcpus", "vcpus")):
            if old in rest:
                out.setdefault(new, rest.pop(old))
        out.pop("virtinst")
        if rest:
            out["virtinst"] = rest
    for key, keep in (("interfaces", landscape_fields.NIC_KEYS), ("disks", landscape_fields.DISK_KEYS)):
        if isinstance(out.get(key), list):
            moved[key] = out[key]
            out[key] = [_entry(item, keep) for item in out[key]]
    if section in ("common", "hosts") and "hosts" in out:
        moved["hosts"] = out.pop("hosts")  # miniascape's /etc/hosts entries, not where objects go
    return out, moved


def _with_vars(layer, extra):
    """``extra`` under the layer's ``vars`` (its own ``vars`` winning)."""
    given = layer.get("vars")
    if extra and given is None:
        layer["vars"] = extra
    elif extra and isinstance(given, dict):
        layer["vars"] = landscape.merge(extra, given)
    return layer


def _shared_layer(raw, section, label):
    """common or host.d: everything kept, miniascape's keys translated."""
    out, moved = _translate(raw, section, label, None)
    return _with_vars(out, moved)


def _own_layer(raw, section, name, label, netmask):
    """An object's own layer: Brine's fields kept, every other key under ``vars``."""
    out, extra = _translate(raw, section, label, netmask)
    kept = {}
    for key, value in out.items():
        if key == "vars" or (key == "name" and value == name):
            continue
        if key in KEEP[section]:
            kept[key] = value
        else:
            extra[key] = value
    if "vars" in out:
        kept["vars"] = out["vars"]
    return _with_vars(kept, extra)


# -- the tree's files -------------------------------------------------------------------------
class _Tree:
    """The files of one conf.d tree, each checked to be inside it and read once."""

    def __init__(self, confd):
        root = Path(str(confd))
        if not root.is_dir():
            raise Invalid(f"landscape: conf.d {confd} is not a folder")
        self.root = root.resolve()
        self.read_files = {}

    def _check(self, rel):
        """``rel`` inside the tree, through no symlink."""
        current = self.root
        for part in rel.split("/"):
            current = current / part
            if stat.S_ISLNK(os.lstat(current).st_mode):
                link = current.relative_to(self.root)
                raise Invalid(f"landscape: conf.d {link} is a symlink: the tree's files must be its own")
        if os.path.commonpath([self.root, os.path.realpath(current)]) != str(self.root):
            raise Invalid(f"landscape: conf.d {rel} is outside the tree")

    def matches(self, folder, patterns, name=None, group=None):
        """The regular files the globs match, in the globs' order, each glob's sorted, each once."""
        files = []
        for pattern in patterns:
            filled = _fill(pattern, name, group)
            for rel in sorted(
                glob.glob(posixpath.join(folder, filled) if folder else filled, root_dir=self.root)
            ):
                self._check(rel)
                if stat.S_ISREG(os.lstat(self.root / rel).st_mode) and rel not in files:
                    files.append(rel)
        return files

    def names(self, folder, subdir):
        """The objects a category's folder names: its folders and ``<name>.yml`` files."""
        base = posixpath.join(folder, subdir)
        if not (self.root / base).is_dir():
            return []
        self._check(base)
        found = set()
        for entry in os.listdir(self.root / base):
            if entry.startswith("."):
                continue
            mode = os.lstat(self.root / base / entry).st_mode
            if stat.S_ISLNK(mode):
                raise Invalid(
                    f"landscape: conf.d {base}/{entry} is a symlink: the tree's files must be its own"
                )
            if stat.S_ISDIR(mode):
                name = entry
            elif stat.S_ISREG(mode) and entry.endswith(".yml"):
                name = entry[: -len(".yml")]
            else:
                continue
            if not validate.VM_NAME_RE.fullmatch(name):
                raise Invalid(
                    f"landscape: conf.d {base}/{entry}: {name!r} is not a valid name: "
                    f"{landscape_fields.NAME_RULE}"
                )
            found.add(name)
        return sorted(found)

    def read(self, rel):
        if rel not in self.read_files:
            full = self.root / rel
            if os.lstat(full).st_size > FILE_MAX:
                raise Invalid(f"landscape: conf.d file {rel} is larger than {FILE_MAX} bytes")
            with open(full, "rb") as handle:
                text = handle.read(FILE_MAX + 1)
            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError as err:
                problem = " ".join(str(err).split())
                raise Invalid(f"landscape: conf.d file {rel} is not YAML Brine can read: {problem}") from None
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise Invalid(
                    f"landscape: conf.d file {rel} is not a mapping (it holds a {type(value).__name__})"
                )
            self.read_files[rel] = value
        return self.read_files[rel]

    def merged(self, rels):
        result = {}
        for rel in rels:
            result = landscape.merge(result, self.read(rel))
        return result
