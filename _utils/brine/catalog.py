"""
The provisioning catalog (docs/provisioning.md, The catalog): six kinds of entries, each a name
and its fields; what each field may hold, which entries use which, and what a create gets.

``content`` is always the whole catalog as ``brine.catalog_store.Store.read`` returns it,
``{kind: {name: fields}}`` (a missing kind has no entries). Nothing here touches a file: the
store validates a change with ``validate_entry`` against the content it read under its lock.

Every refusal is ``brine.errors.Invalid`` with a sentence naming the field: code
``invalid_argument`` for a value Brine does not accept, ``no_entry`` for a reference to an entry
that is not in the catalog.
"""

import ipaddress
import re
import urllib.parse

from brine import kickstart
from brine import osinfo
from brine import validate
from brine.errors import Invalid

KINDS = ("profiles", "os_trees", "products", "views", "activation_keys", "host_groups")
# Each kind's fields, in the order they are checked and documented.
FIELDS = {
    "profiles": ("memory", "vcpus", "disk"),
    "os_trees": ("url", "os_variant", "kickstart"),
    "products": ("url",),
    "views": ("products",),
    "activation_keys": ("views",),
    "host_groups": ("profile", "os_tree", "activation_key", "network", "pool", "placement"),
}
# The fields that may be left out (stored as null).
OPTIONAL = frozenset({("host_groups", "activation_key")})
# (kind, field) -> the kind of entry the field names (one name, or a list of names).
REFERENCES = {
    ("views", "products"): "products",
    ("activation_keys", "views"): "views",
    ("host_groups", "profile"): "profiles",
    ("host_groups", "os_tree"): "os_trees",
    ("host_groups", "activation_key"): "activation_keys",
}
# One entry of each kind, as people say it.
SINGULAR = {
    "profiles": "profile",
    "os_trees": "OS tree",
    "products": "product",
    "views": "view",
    "activation_keys": "activation key",
    "host_groups": "host group",
}
# The least a size may be (the most is brine.validate.LIMITS): below 64 MiB no installer boots.
MINIMUMS = {"memory": 64, "vcpus": 1, "disk": 1}
SIZES = ("memory", "vcpus", "disk")
URL_MAX = 2048
# The most names a list field (a view's products, a key's views) may hold.
LIST_MAX = 1000
TEXT_MAX = 256
PLACEMENT_KEYS = {
    "any": ("kind",),
    "host": ("kind", "value"),
    "grain": ("kind", "key", "value"),
    "pillar": ("kind", "key", "value"),
}
# A grain or pillar path: colon-separated parts of letters, digits, '_', '.', '-'.
PLACEMENT_KEY_RE = re.compile(r"[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)*")
# Characters a placement value may not hold: quotes, backslash, template braces.
VALUE_FORBIDDEN = frozenset("\"'`\\{}")
# osinfo short ids: "rhel9.0", "centos-stream9", "fedora37".
OS_VARIANT_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# What a URL may carry (RFC 3986's characters without quote, '#' and anything else):
# no whitespace, no control character, no quote, no brace, no fragment to end a kickstart line.
URL_CHARS_RE = re.compile(r"[A-Za-z0-9\-._~:/?\[\]@!$&()*+,;=%]+")
BAD_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
HOSTNAME_RE = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
# For the header of each kind's file (brine.catalog_store): what the kind is, what each field
# holds, and one entry as an example.
ABOUT = {
    "profiles": "The sizes a VM is created with.",
    "os_trees": "Install trees: where the installer comes from, which OS it installs, with which kickstart.",
    "products": "Software repositories, one URL each.",
    "views": "Sets of products.",
    "activation_keys": "What a VM subscribes to: views, whose products become its repositories.",
    "host_groups": "The defaults of a create: profile, OS tree, activation key, network, pool, placement.",
}
FIELD_HELP = {
    "memory": f"memory in MiB, {MINIMUMS['memory']} to {validate.LIMITS['memory']}",
    "vcpus": f"virtual CPUs, {MINIMUMS['vcpus']} to {validate.LIMITS['vcpus']}",
    "disk": f"disk size in GiB, {MINIMUMS['disk']} to {validate.LIMITS['disk']}",
    "url": f"an http or https URL with a host and no credentials, at most {URL_MAX} characters",
    "os_variant": "an osinfo short id with a kickstart version (RHEL-like or Fedora): osinfo-query os",
    "kickstart": "a kickstart template Brine ships (_utils/brine/templates/kickstart/<name>.ks.j2)",
    "products": "one or more product names",
    "views": "one or more view names",
    "profile": "a profile name",
    "os_tree": "an OS tree name",
    "activation_key": "an activation key name, or null for none",
    "network": "the libvirt network of the VM's NIC",
    "pool": "the libvirt storage pool of the VM's disk",
    "placement": (
        "{kind: any} | {kind: host, value: <host>} | {kind: grain|pillar, key: <a:b>, value: <text>}"
    ),
}
EXAMPLES = {
    "profiles": {"small": {"memory": 2048, "vcpus": 2, "disk": 20}},
    "os_trees": {
        "rhel9": {"url": "http://mirror.example.com/rhel9/os/", "os_variant": "rhel9.0", "kickstart": "rhel"}
    },
    "products": {"baseos": {"url": "http://mirror.example.com/rhel9/BaseOS/"}},
    "views": {"base": {"products": ["baseos"]}},
    "activation_keys": {"web": {"views": ["base"]}},
    "host_groups": {
        "web": {
            "profile": "small",
            "os_tree": "rhel9",
            "activation_key": "web",
            "network": "default",
            "pool": "default",
            "placement": {"kind": "grain", "key": "site:rack", "value": "r1"},
        }
    },
}
NAME_RULE = "use 1 to 64 letters, digits, '_', '.', '+' or '-', starting with a letter or digit"


def shown(value, limit=80):
    """``repr(value)`` cut to ``limit`` characters: a sentence quotes what it refuses, not all of it."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_kind(kind):
    """``kind`` when it is one of ``KINDS``."""
    if kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}, not {shown(kind)}")
    return kind


def entry_name(value, what="name"):
    """``value`` as a name in Brine's name rule (``brine.validate.VM_NAME_RE``); ``what`` names it."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not validate.VM_NAME_RE.fullmatch(value):
        raise Invalid(f"{what} {shown(value)} is not a valid name: {NAME_RULE}")
    return value


def _exists(content, kind, name, field):
    if name not in (content.get(kind) or {}):
        raise Invalid(
            f"{field} names {SINGULAR[kind]} {name!r}, which is not in the catalog", code="no_entry"
        )
    return name


# ---- One field each: (value, field, content) -> the value in its canonical form.


def size(value, field, _content=None):
    """A size (``memory`` MiB, ``vcpus``, ``disk`` GiB) as an int within its bounds."""
    unit = validate.UNITS[field]
    number = validate.positive_int(value, field, unit)
    if number is None:
        raise Invalid(f"{field} is missing: give a whole number of {unit}")
    if number < MINIMUMS[field]:
        raise Invalid(f"{field} must be at least {MINIMUMS[field]} {unit}, not {shown(value)}")
    return number


# What stands before an '@' in a URL's authority (user:password@), with the scheme and '//' kept.
CREDENTIALS_RE = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?(?://)?)[^/?#]*@")


def shown_url(value):
    """``shown(value)`` with any credentials hidden: no password goes into a sentence."""
    return shown(CREDENTIALS_RE.sub(r"\1<hidden>@", value) if isinstance(value, str) else value)


def _url_host(parts, field, value):
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise Invalid(f"{field} has a malformed host or port: {shown_url(value)}") from None
    if not host:
        raise Invalid(f"{field} has no host: {shown_url(value)}")
    if "[" in parts.netloc:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise Invalid(f"{field} has a malformed IPv6 address: {shown_url(value)}") from None
    elif not HOSTNAME_RE.fullmatch(host):
        raise Invalid(f"{field} has a malformed host name: {shown_url(value)}")
    if port == 0:
        raise Invalid(f"{field} has port 0: {shown_url(value)}")


def url(value, field, _content=None):
    """An http or https URL with a host, no credentials, nothing a kickstart line could misread."""
    if not isinstance(value, str) or not value:
        raise Invalid(f"{field} must be an http or https URL, not {shown_url(value)}")
    if len(value) > URL_MAX:
        raise Invalid(f"{field} must be at most {URL_MAX} characters long, not {len(value)}")
    if not URL_CHARS_RE.fullmatch(value) or BAD_PERCENT_RE.search(value):
        raise Invalid(
            f"{field} holds a character a URL cannot carry (whitespace, a quote, a brace, '#', "
            f"a control character, a stray '%'): {shown_url(value)}"
        )
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        raise Invalid(f"{field} is not a well-formed URL: {shown_url(value)}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise Invalid(f"{field} must be an http or https URL, not {shown(parts.scheme + ':')}")
    if "@" in parts.netloc:
        raise Invalid(f"{field} must not carry credentials (user@ or user:password@): {shown_url(value)}")
    _url_host(parts, field, value)
    return value


def os_variant(value, field, _content=None):
    """An osinfo short id osinfo-db knows and Brine has a kickstart version for."""
    if not isinstance(value, str) or not OS_VARIANT_RE.fullmatch(value):
        raise Invalid(f"{field} must be an osinfo short id such as 'rhel9.0', not {shown(value)}")
    if not osinfo.is_known(value):
        raise Invalid(f"{field} {value!r} is not an OS osinfo-db knows ('osinfo-query os' lists them)")
    kickstart.version_for(value)
    return value


def kickstart_template(value, field, _content=None):
    """The name of a kickstart template the project ships."""
    names = kickstart.template_names()
    if not isinstance(value, str) or value not in names:
        raise Invalid(
            f"{field} must be one of the kickstart templates ({', '.join(names) or 'none yet'}), "
            f"not {shown(value)}"
        )
    return value


def libvirt_name(value, field, _content=None):
    """A libvirt network's or storage pool's name, in Brine's name rule."""
    return entry_name(value, f"{field}")


def _names(value, field):
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, list | tuple):
        raise Invalid(f"{field} must be a list of names, not {shown(value)}")
    if len(value) > LIST_MAX:
        raise Invalid(f"{field} must hold at most {LIST_MAX} names, not {len(value)}")
    return [entry_name(item, f"{field} item") for item in value]


def reference_list(target):
    """The check of a field that names one or more ``target`` entries: a list, deduplicated in order."""

    def check(value, field, content):
        names = list(dict.fromkeys(_names(value, field)))
        if not names:
            raise Invalid(f"{field} needs at least one {SINGULAR[target]}")
        for name in names:
            _exists(content, target, name, field)
        return names

    return check


def reference(target, optional=False):
    """The check of a field that names one ``target`` entry (or none, when ``optional``)."""

    def check(value, field, content):
        if optional and value in (None, ""):
            return None
        return _exists(content, target, entry_name(value, field), field)

    return check


def placement_text(value, field):
    """A grain's or pillar value to match: printable text without quotes, backslash or braces."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= TEXT_MAX
        or not value.isprintable()
        or value != value.strip()
        or VALUE_FORBIDDEN & set(value)
    ):
        raise Invalid(
            f"{field} must be 1 to {TEXT_MAX} printable characters without quotes, backslashes, "
            f"braces or surrounding spaces, not {shown(value)}"
        )
    return value


def placement(value, field="placement", _content=None):
    """
    ``{"kind": "any"}``, ``{"kind": "host", "value": <host id>}`` or
    ``{"kind": "grain"|"pillar", "key": <colon path>, "value": <text>}``; ``"any"`` is
    ``{"kind": "any"}``.
    """
    if value == "any":
        value = {"kind": "any"}
    if not isinstance(value, dict):
        raise Invalid(
            f"{field} must be a mapping: {{kind: any}}, {{kind: host, value: <host>}} or "
            f"{{kind: grain|pillar, key: <path>, value: <text>}}, not {shown(value)}"
        )
    kind = value.get("kind")
    if kind not in PLACEMENT_KEYS:
        raise Invalid(f"{field} kind must be one of {', '.join(PLACEMENT_KEYS)}, not {shown(kind)}")
    keys = PLACEMENT_KEYS[kind]
    extra = sorted(str(key) for key in value if key not in keys)
    missing = [key for key in keys if value.get(key) in (None, "")]
    if extra or missing:
        raise Invalid(f"{field} of kind {kind} takes {', '.join(keys)}: {_unlike(extra, missing)}")
    if kind == "any":
        return {"kind": "any"}
    if kind == "host":
        return {"kind": "host", "value": validate.host_id(value["value"], f"{field} value")}
    key = value["key"]
    if not isinstance(key, str) or len(key) > TEXT_MAX or not PLACEMENT_KEY_RE.fullmatch(key):
        raise Invalid(
            f"{field} key must be a {kind} path of letters, digits, '_', '.', '-' parted by ':', "
            f"not {shown(key)}"
        )
    return {"kind": kind, "key": key, "value": placement_text(value["value"], f"{field} value")}


def _unlike(extra, missing):
    said = []
    if missing:
        said.append(f"missing {', '.join(missing)}")
    if extra:
        said.append(f"{', '.join(extra)} is not one of them")
    return "; ".join(said)


CHECKS = {
    ("profiles", "memory"): size,
    ("profiles", "vcpus"): size,
    ("profiles", "disk"): size,
    ("os_trees", "url"): url,
    ("os_trees", "os_variant"): os_variant,
    ("os_trees", "kickstart"): kickstart_template,
    ("products", "url"): url,
    ("views", "products"): reference_list("products"),
    ("activation_keys", "views"): reference_list("views"),
    ("host_groups", "profile"): reference("profiles"),
    ("host_groups", "os_tree"): reference("os_trees"),
    ("host_groups", "activation_key"): reference("activation_keys", optional=True),
    ("host_groups", "network"): libvirt_name,
    ("host_groups", "pool"): libvirt_name,
    ("host_groups", "placement"): placement,
}


def validate_entry(kind, name, fields, content):
    """
    The fields of the entry ``kind``/``name`` in their canonical form (sizes as ints, lists
    deduplicated in order, an absent optional field as None), checked against ``content`` for
    the entries they name. Every field of the kind is needed (but the optional ones) and no
    other is taken. ``Invalid`` naming the field otherwise (``no_entry`` for a missing reference).
    """
    check_kind(kind)
    entry_name(name, f"the {SINGULAR[kind]} name")
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise Invalid(f"the fields of {kind}/{name} must be a mapping, not {shown(fields)}")
    known = FIELDS[kind]
    extra = sorted(str(key) for key in fields if key not in known)
    missing = [field for field in known if fields.get(field) in (None, "") and (kind, field) not in OPTIONAL]
    if extra or missing:
        raise Invalid(f"{kind} take {', '.join(known)}: {_unlike(extra, missing)}")
    return {field: CHECKS[(kind, field)](fields.get(field), field, content) for field in known}


# ---- Who uses what, and what a VM gets.


def referring_kinds(kind):
    """The kinds whose entries may name an entry of ``kind``."""
    return sorted({user for (user, _field), target in REFERENCES.items() if target == kind})


def referenced_kinds(kind):
    """The kinds an entry of ``kind`` may name."""
    return sorted({target for (user, _field), target in REFERENCES.items() if user == kind})


def users_of(content, kind, name):
    """The entries that name ``kind``/``name``, as sorted ``"<kind>/<name>"`` strings."""
    users = set()
    for (user_kind, field), target in REFERENCES.items():
        if target != kind:
            continue
        for user, fields in (content.get(user_kind) or {}).items():
            value = (fields or {}).get(field)
            if value == name or (isinstance(value, list) and name in value):
                users.add(f"{user_kind}/{user}")
    return sorted(users)


def _stored(content, kind, name, field):
    """The entry ``kind``/``name`` that ``field`` names, checked as it is stored now."""
    name = _exists(content, kind, entry_name(name, field), field)
    try:
        return validate_entry(kind, name, content[kind][name], content)
    except Invalid as err:
        raise Invalid(f"{SINGULAR[kind]} {name!r} in the catalog: {err.sentence}", code=err.code) from None


def repositories(content, activation_key):
    """
    The repositories a VM with ``activation_key`` gets, ``[{"name": <product>, "url": <url>}]``:
    each product of each view of the key once, views in the key's order and products in each
    view's. No key (None or "") gets none.
    """
    if activation_key in (None, ""):
        return []
    key = _stored(content, "activation_keys", activation_key, "activation_key")
    found = {}
    for view in key["views"]:
        for product in _stored(content, "views", view, f"activation key {activation_key!r}")["products"]:
            if product not in found:
                found[product] = _stored(content, "products", product, f"view {view!r}")["url"]
    return [{"name": product, "url": found[product]} for product in found]


PARTS = ("profile", "memory", "vcpus", "disk", "os_tree", "activation_key", "network", "pool", "host")
GROUP_PARTS = ("profile", "os_tree", "activation_key", "network", "pool")


def _missing_parts(chosen, given):
    missing = [part for part in ("os_tree", "network", "pool") if chosen[part] is None]
    if chosen["profile"] is None:
        missing += [part for part in SIZES if part not in given]
    return missing


def _sizes(content, profile, given):
    sizes = _stored(content, "profiles", profile, "profile") if profile is not None else {}
    return {part: size(given[part], part) if part in given else sizes[part] for part in SIZES}


def resolve(content, host_group=None, **parts):
    """
    The effective parts of a create from ``host_group`` (its parts are the defaults) and the
    ``parts`` given beside it (``PARTS``: each one given overrides; None or "" is not given).
    Returns::

        {"host_group": <name> | None, "profile": <name> | None,
         "memory": <MiB>, "vcpus": <int>, "disk": <GiB>,
         "os_tree": <name>, "url": <tree url>, "os_variant": <short id>, "kickstart": <template>,
         "activation_key": <name> | None, "repositories": [{"name", "url"}],
         "network": <name>, "pool": <name>, "placement": <placement>}

    ``memory``/``vcpus``/``disk`` come from the profile unless given; a ``host`` given makes the
    placement ``{"kind": "host", "value": host}``, else the group's, else ``{"kind": "any"}``.
    Every entry used is checked as it is stored. ``Invalid`` naming the missing parts, a bad
    value, or (code ``no_entry``) an entry that is not in the catalog.
    """
    unknown = sorted(str(part) for part in parts if part not in PARTS)
    if unknown:
        raise Invalid(
            f"a create has no part {', '.join(unknown)} (its parts: host_group, {', '.join(PARTS)})"
        )
    given = {part: value for part, value in parts.items() if value not in (None, "")}
    group = {}
    if host_group not in (None, ""):
        group = _stored(content, "host_groups", host_group, "host_group")
    chosen = {part: given.get(part, group.get(part)) for part in GROUP_PARTS}
    missing = _missing_parts(chosen, given)
    if missing:
        raise Invalid(
            "a create needs os_tree, network, pool and a profile or memory, vcpus and disk (or a "
            f"host_group that has them): missing {', '.join(missing)}"
        )
    chosen = {part: None if value is None else entry_name(value, part) for part, value in chosen.items()}
    tree = _stored(content, "os_trees", chosen["os_tree"], "os_tree")
    if "host" in given:
        where = {"kind": "host", "value": validate.host_id(given["host"], "host")}
    else:
        where = group.get("placement") or {"kind": "any"}
    return {
        "host_group": host_group if group else None,
        "profile": chosen["profile"],
        **_sizes(content, chosen["profile"], given),
        "os_tree": chosen["os_tree"],
        **tree,
        "activation_key": chosen["activation_key"],
        "repositories": repositories(content, chosen["activation_key"]),
        "network": chosen["network"],
        "pool": chosen["pool"],
        "placement": where,
    }
