"""
The fields a kickstart is rendered from, each checked against a narrow rule.

The rules are what keeps a value data in the kickstart: none admits a newline (a new kickstart
line, ``%end``, a section), a quote or backslash (the end of a quoted argument), ``#`` (a
comment) or a space where the template does not quote (a new option), nor anything a ``%post``
shell would read as syntax. Jinja2's delimiters (``{{``, ``{%``, ``{#``) are refused too, except
in an SSH key's comment, where they are printed as they are. The caller validated its own
arguments already; these checks hold whatever it sends.
"""

import ipaddress
import re
import urllib.parse

from brine import validate
from brine.credentials import check_password_hash
from brine.credentials import check_ssh_key
from brine.errors import Invalid

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_RE = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*\.?")
# Text fields: (rule, default, what a valid value looks like).
TEXT_FIELDS = {
    "lang": (
        r"[a-z]{2,3}(?:_[A-Z]{2})?(?:\.[A-Za-z0-9-]{1,16})?(?:@[a-z]{1,16})?",
        "en_US.UTF-8",
        "en_US.UTF-8",
    ),
    "keyboard": (r"[a-z]{2,8}(?:-[a-z0-9]{1,16}){0,3}", "us", "a console keymap: us or de-nodeadkeys"),
    "timezone": (
        r"[A-Z][A-Za-z0-9_+-]{0,31}(?:/[A-Za-z0-9][A-Za-z0-9_+-]{0,31}){0,2}",
        "UTC",
        "UTC or Europe/Paris",
    ),
    "selinux": (r"enforcing|permissive|disabled", "enforcing", "enforcing, permissive or disabled"),
    "partitioning": (r"auto|plain", "auto", "auto (anaconda's) or plain (boot and a growing /)"),
}
REPO_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # a dnf repo id
PACKAGE_RE = re.compile(r"-?(?:@\^?)?[A-Za-z0-9_][A-Za-z0-9_.+:-]{0,127}")
SERVICE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}")
FIREWALL_SERVICE_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
NIC_DEVICE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,14}")
MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
# RFC 3986 characters less the quotes, '#' (a kickstart comment, a fragment no installer uses)
# and '%' other than a percent-escape. '$' stays: dnf expands $releasever and $basearch.
_URL_RE = re.compile(r"https?://(?:[A-Za-z0-9\-._~!$&()*+,;=:@/?\[\]]|%[0-9A-Fa-f]{2}){1,2040}")
DISK_MAX_GIB = 1 << 20
MAX_ITEMS = {"repositories": 64, "nics": 16, "packages": 512, "services": 64, "firewall": 64}

# Every field with its default (REQUIRED when the caller must give it).
REQUIRED = object()
FIELDS = {
    "name": REQUIRED,
    "os_variant": REQUIRED,
    "url": REQUIRED,
    "hostname": None,  # the VM name, with '_' and '+' as '-'
    "repositories": (),
    "nics": (),
    **{field: default for field, (_rule, default, _what) in TEXT_FIELDS.items()},
    "password_hash": None,
    "ssh_key": None,
    "packages": ("@core",),
    "services": ("sshd",),
    "firewall": ("ssh",),
    "disk": None,
    "salt_master": None,
    "minion_id": None,  # the host name (as Salt's own default id) when salt_master is given
}


def _shown(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def text(value, field, rule, what):
    if not isinstance(value, str) or not re.fullmatch(rule, value):
        raise Invalid(f"{field} {_shown(value)} is not valid for a kickstart: use a value like {what}")
    return value


def url(value, field):
    """An http(s) URL with a host, no credentials, and only characters a kickstart keeps as data."""
    if not isinstance(value, str) or not _URL_RE.fullmatch(value):
        raise Invalid(f"{field} {_shown(value)} is not an http or https URL Brine can put in a kickstart")
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        raise Invalid(f"{field} {_shown(value)} is not a well-formed URL") from None
    if not parts.hostname or "@" in parts.netloc:
        raise Invalid(f"{field} {_shown(value)} needs a host and no user name or password")
    return value


def hostname(value, field):
    if not isinstance(value, str) or not HOSTNAME_RE.fullmatch(value):
        raise Invalid(
            f"{field} {_shown(value)} is not a valid host name: use letters, digits and '-' in "
            "dot-separated labels of at most 63 characters"
        )
    return value.rstrip(".")


def address(value, field):
    """A host name or an IP address (a Salt master's)."""
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass
    return hostname(value, field)


def items(value, field, check):
    """A list of at most ``MAX_ITEMS[field]`` values, each through ``check(item, label)``."""
    if not isinstance(value, list | tuple):
        raise Invalid(f"{field} must be a list")
    if len(value) > MAX_ITEMS[field]:
        raise Invalid(f"{field} may hold at most {MAX_ITEMS[field]} entries")
    return [check(item, f"{field}[{index}]") for index, item in enumerate(value)]


def matching(rule, what):
    def check(value, label):
        return text(value, label, rule.pattern, what)

    return check


def _exact_keys(value, label, required, optional=()):
    if not isinstance(value, dict):
        raise Invalid(f"{label} must be a mapping")
    missing = [key for key in required if key not in value]
    unknown = sorted(str(key) for key in value if key not in required and key not in optional)
    if missing or unknown:
        raise Invalid(
            f"{label} must have the keys {', '.join(required)}, not {_shown(sorted(map(str, value)))}"
        )


def repository(value, label):
    _exact_keys(value, label, ("name", "url"))
    return {
        "name": text(value["name"], f"{label}.name", REPO_NAME_RE.pattern, "appstream"),
        "url": url(value["url"], f"{label}.url"),
    }


def nic(value, label):
    """A NIC: its MAC, the device the installer configures (by default the MAC), DHCP."""
    _exact_keys(value, label, ("mac",), ("device", "bootproto", "network"))
    mac = text(value["mac"], f"{label}.mac", MAC_RE.pattern, "52:54:00:12:34:56").lower()
    device = value.get("device") or mac
    if device != mac:
        text(device, f"{label}.device", NIC_DEVICE_RE.pattern, "eth0 or the NIC's MAC")
    text(value.get("bootproto", "dhcp"), f"{label}.bootproto", "dhcp", "dhcp (the only one Brine sets)")
    return {"device": device, "mac": mac, "bootproto": "dhcp"}


def _unique(values, field, key):
    seen = set()
    for value in values:
        if value[key] in seen:
            raise Invalid(f"{field} names {value[key]!r} twice")
        seen.add(value[key])
    return values


def _firewall(value):
    """The firewalld services to let in (``True``: ssh), or ``False`` for no firewall."""
    if value is False:
        return False
    if value is True:
        return ["ssh"]
    return items(value, "firewall", matching(FIREWALL_SERVICE_RE, "ssh"))


def _credentials(given, out):
    for field, check in (("password_hash", check_password_hash), ("ssh_key", check_ssh_key)):
        out[field] = None if given.get(field) in (None, "") else check(given[field])
    if out["password_hash"] is None and out["ssh_key"] is None:
        raise Invalid("a kickstart needs password_hash or ssh_key (or both) for root")


def _default_hostname(name):
    candidate = re.sub(r"[_+]", "-", name)
    if not HOSTNAME_RE.fullmatch(candidate):
        raise Invalid(f"the VM name {name!r} is no host name: give hostname")
    return candidate


def _salt(given, out):
    out["salt_master"] = None
    out["minion_id"] = None
    if given.get("salt_master") is not None:
        out["salt_master"] = address(given["salt_master"], "salt_master")
        minion_id = given.get("minion_id") or out["hostname"]
        out["minion_id"] = text(minion_id, "minion_id", validate.HOST_ID_RE.pattern, "a Salt minion id")
    elif given.get("minion_id") is not None:
        raise Invalid("minion_id needs salt_master")


def check(context):
    """``context`` checked, each field in its canonical form and every default filled in."""
    if not isinstance(context, dict):
        raise Invalid("the kickstart context must be a mapping")
    unknown = sorted(str(key) for key in context if key not in FIELDS)
    if unknown:
        raise Invalid(f"the kickstart context has unknown fields: {', '.join(unknown)}")
    missing = [field for field, default in FIELDS.items() if default is REQUIRED and field not in context]
    if missing:
        raise Invalid(f"the kickstart context needs {', '.join(missing)}")
    # None stands for "not given" (the default) wherever a field has one.
    given = {
        field: default if context.get(field) is None else context[field] for field, default in FIELDS.items()
    }
    out = {"name": validate.vm_name(given["name"])}
    out["os_variant"] = text(given["os_variant"], "os_variant", validate.VM_NAME_RE.pattern, "rhel9.4")
    out["url"] = url(given["url"], "url")
    out["hostname"] = (
        hostname(given["hostname"], "hostname") if given["hostname"] else _default_hostname(out["name"])
    )
    for field, (rule, _default, what) in TEXT_FIELDS.items():
        out[field] = text(given[field], field, rule, what)
    out["repositories"] = _unique(
        items(given["repositories"], "repositories", repository), "repositories", "name"
    )
    out["nics"] = _unique(items(given["nics"], "nics", nic), "nics", "mac")
    out["packages"] = items(given["packages"], "packages", matching(PACKAGE_RE, "@core or openssh-server"))
    out["services"] = items(given["services"], "services", matching(SERVICE_RE, "sshd"))
    out["firewall"] = _firewall(given["firewall"])
    out["disk"] = (
        None if given["disk"] is None else validate.positive_int(given["disk"], "disk", "GiB", DISK_MAX_GIB)
    )
    _credentials(given, out)
    _salt(given, out)
    return out
