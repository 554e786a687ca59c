"""
The master's side of a console (``cluster.console``; docs/api.md, Consoles): whether what the
VM's host answered may become a token, the token bound to the browser session, the record line,
and the answer the browser gets.

A host's answer is not trusted for where the proxy connects: the address must be the host's
management address as the *master* knows it (``brine:console:address`` in that host's pillar,
from the master's pillar cache, else the addresses the host's minion id resolves to on the
master), and the port must be in ``brine:console:ports``. Otherwise nothing is issued.
"""

import contextlib
import ipaddress
import socket

import salt.utils.data

from brine import console_record
from brine import tokens
from brine.errors import Refused

PATH = "/console/"


def _normal(address):
    text = str(address).strip().strip("[]")
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text.lower().rstrip(".")


def port_range(value):
    """``brine:console:ports`` as ``(first, last)``; a malformed setting refuses every console."""
    try:
        low, high = (int(part) for part in value)
    except (TypeError, ValueError):
        low = high = 0
    if not 0 < low <= high < 65536:
        raise Refused("internal", f"brine:console:ports must be [first, last] TCP ports, not {value!r}")
    return low, high


def known_addresses(host, pillar, resolve=None):
    """
    ``(addresses, where)``: the management addresses of ``host`` as the master knows them,
    and a phrase saying where they came from. ``pillar`` is the host's pillar from the master's
    cache; ``resolve`` is ``socket.getaddrinfo``.
    """
    configured = salt.utils.data.traverse_dict_and_list(pillar or {}, "brine:console:address", None)
    if configured not in (None, ""):
        return {_normal(configured)}, f"brine:console:address in {host}'s pillar"
    try:
        infos = (resolve or socket.getaddrinfo)(host, None, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        infos = []
    return {_normal(info[4][0]) for info in infos}, f"the addresses {host} resolves to on the master"


def check_target(name, host, answer, known, ports):
    """
    The target ``{vm, host, address, port}`` from the host's ``answer``, if the address is one
    of ``known`` (``known_addresses``) and the port within ``ports``; else ``Refused``.
    """
    address, port = answer.get("address"), answer.get("port")
    if not isinstance(address, str) or not address or not isinstance(port, int) or not 0 < port < 65536:
        raise Refused("host_error", f"{host} did not say where the console of {name} is")
    addresses, where = known
    if _normal(address) not in addresses:
        raise Refused(
            "no_console",
            f"{host} answered {address} as the address of {name}'s console, which is not {host}'s "
            f"management address ({where}: {', '.join(sorted(addresses)) or 'none'}); set "
            f"brine:console:address in {host}'s pillar to the address its VNC listens on",
        )
    low, high = port_range(ports)
    if not low <= port <= high:
        raise Refused(
            "no_console",
            f"{host} answered port {port} for {name}'s console, outside the console ports "
            f"{low}-{high} (brine:console:ports)",
        )
    return {"vm": name, "host": host, "address": address, "port": port}


def issue(token_dir, record_path, target, binding, ttl, user):
    """
    A token for ``target`` bound to ``binding``, recorded as issued to ``user``: ``(token,
    expires)``. When the record cannot be written the token is taken back and nothing opens.
    """
    try:
        token, expires = tokens.issue(token_dir, dict(target, binding=binding), ttl)
    except (tokens.TokenError, OSError) as exc:
        raise Refused("internal", f"could not store a console token: {exc}") from None
    fields = dict(target, event="issued", user=str(user), token=tokens.fingerprint(token), expires=expires)
    try:
        console_record.append(record_path, fields)
    except console_record.RecordError as exc:
        with contextlib.suppress(tokens.TokenError, OSError):
            tokens.claim(token_dir, token)
        raise Refused("internal", f"{exc}; no console was opened") from None
    return token, expires


def ticket(target, answer, token, expires, ttl):
    """What ``cluster.console`` returns: nothing in it opens the console without the browser."""
    return {
        "name": target["vm"],
        "host": target["host"],
        "protocol": answer.get("protocol", "vnc"),
        "token": token,
        "path": PATH,
        "password_encrypted": answer.get("password_encrypted"),
        "expires": expires,
        "ttl": ttl,
    }
