"""
A VM's VNC server for one browser session (docs/api.md, Consoles): which ``<graphics>`` element
serves it, where the master's websockify reaches it, and the short-lived password that lets one
client in.

Refusals are ``brine.errors.Refused`` with code ``no_console``; a bad ``ttl`` is
``brine.errors.Invalid``.
"""

import secrets
import time
from xml.etree import ElementTree

from brine import domxml
from brine.errors import Invalid
from brine.errors import Refused

TTL_DEFAULT = 30
TTL_MAX = 300
# VNC's authentication (DES) reads at most 8 characters of a password.
PASSWORD_LENGTH = 8
# States in which QEMU runs a VNC server a person can look at.
CONSOLE_STATES = frozenset(("running", "paused", "blocked"))
_WILDCARD_ADDRESSES = frozenset(("", "0.0.0.0", "::", "[::]"))


def ttl(value):
    """``value`` as whole seconds from 1 to ``TTL_MAX``, else ``Invalid``."""
    if isinstance(value, bool):
        value = None
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or str(seconds) != str(value).strip() or not 0 < seconds <= TTL_MAX:
        raise Invalid(f"ttl must be a whole number of seconds from 1 to {TTL_MAX}, not {value!r}")
    return seconds


def check_state(name, host, state):
    """Refuse (``not_running``) a console of a VM whose QEMU shows no screen."""
    if state not in CONSOLE_STATES:
        raise Refused(
            "not_running",
            f"{name} is {state.replace('shutoff', 'shut off')} on {host}: start it to open its console",
        )


def graphics(xml_text, name, host):
    """The live VNC ``<graphics>`` element of a domain's XML, or ``Refused`` saying why none."""
    root = ElementTree.fromstring(xml_text)
    for element in root.findall("./devices/graphics"):
        if element.get("type") == "vnc":
            if element.get("socket") or element.find("listen[@type='socket']") is not None:
                raise Refused(
                    "no_console",
                    f"{name} on {host} has its VNC server on a UNIX socket, which the console "
                    "proxy cannot reach",
                )
            port = domxml.int_or_none(element.get("port"))
            if not port or port <= 0:
                raise Refused("no_console", f"{name} on {host} has no VNC port open")
            return element
    raise Refused("no_console", f"{name} on {host} has no graphics (VNC) device: it has no console")


def address(element, name, host, configured=None):
    """
    Where the master's websockify reaches this VNC server: ``configured``
    (``brine:console:address``) if set, else the address VNC listens on. Loopback is refused
    (nothing off this host reaches it); a wildcard needs the configured address.
    """
    if configured:
        return str(configured)
    listen = domxml.parse_graphics(element)["listen"] or ""
    if listen in _WILDCARD_ADDRESSES:
        raise Refused(
            "no_console",
            f"the VNC server of {name} on {host} listens on every address: set "
            "brine:console:address to this host's management address",
        )
    if listen.startswith("127.") or listen in ("::1", "localhost"):
        raise Refused(
            "no_console",
            f"the VNC server of {name} on {host} listens on loopback only, where the console "
            "proxy cannot reach it: set vnc_listen in qemu.conf to this host's management address",
        )
    return listen


def new_password():
    return secrets.token_urlsafe(PASSWORD_LENGTH)[:PASSWORD_LENGTH]


def password_xml(element, password, valid_to):
    """The ``<graphics>`` element again, with a new password valid until ``valid_to`` (UTC)."""
    element = ElementTree.fromstring(ElementTree.tostring(element))
    element.set("passwd", password)
    element.set("passwdValidTo", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(valid_to)))
    element.attrib.pop("connected", None)
    return ElementTree.tostring(element, encoding="unicode")
