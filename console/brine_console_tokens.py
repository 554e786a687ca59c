"""Brine's one-time console tokens, shared by the ``cluster.console`` runner and websockify.

The runner (in the salt-master) issues a token for one VM's VNC server; the site's one
websockify (``--token-plugin brine_console_tokens.BrineConsoleTokens --token-source <dir>
--auth-plugin brine_console_tokens.BrineConsoleAuth``) redeems it once, for exactly the host and
port written when it was issued. The browser only ever sends the token: it never names a host
or a port.

Storage: one small JSON file per token in a directory only root may read or enter (0700), named
by the SHA-256 of the token so the directory's listing does not reveal usable tokens.

* issue:   write ``.<name>.<random>.tmp`` (O_EXCL, 0600), then ``rename`` it to ``<name>.token``:
           a reader never sees half a file.
* redeem:  ``rename`` ``<name>.token`` to a private name first. Only one ``rename`` of a file can
           succeed, so of two connections racing with the same token exactly one gets it; the
           loser finds no file. The claimed file is then read and unlinked. A token past its
           ``expires`` time is refused (and removed) even if it was never used.
* sweep:   files past their expiry are removed whenever a token is issued or redeemed.

Files rather than the master's cache or a database: websockify and the salt-master are separate
processes (websockify forks one process per connection), both run as root on the master, and
rename/unlink on one local file system is the simplest atomic single-use primitive they share.
This module has no dependency besides the standard library, so websockify can import it as is.
"""

import hashlib
import json
import logging
import os
import re
import secrets
import time

DEFAULT_DIR = "/run/brine/console-tokens"
DEFAULT_TTL = 30
# secrets.token_urlsafe(32): 43 characters of [A-Za-z0-9_-]; anything else is refused before
# the file system is touched.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")

log = logging.getLogger(__name__)


class TokenError(Exception):
    """Why a token was refused, as a sentence."""


def _name(token):
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def ensure_dir(directory):
    """Create the token directory (0700) if needed and refuse one others can read."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.stat(directory)
    if info.st_mode & 0o077 or info.st_uid != os.geteuid():
        os.chmod(directory, 0o700)
        info = os.stat(directory)
        if info.st_mode & 0o077 or info.st_uid != os.geteuid():
            raise TokenError(f"the console token directory {directory} is readable by others")
    return directory


def issue(directory, target, ttl=DEFAULT_TTL, now=None):
    """Store a new token for ``target`` (a dict with at least ``address`` and ``port``).

    Returns ``(token, expires)``.
    """
    address, port = target.get("address"), target.get("port")
    if not isinstance(address, str) or not address or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"a console target needs an address and a port, got {address!r}:{port!r}")
    ensure_dir(directory)
    now = time.time() if now is None else now
    sweep(directory, now)
    token = secrets.token_urlsafe(32)
    expires = now + ttl
    record = dict(target, issued=now, expires=expires)
    name = _name(token)
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
        os.rename(tmp, os.path.join(directory, name + ".token"))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return token, expires


def redeem(directory, token, now=None):
    """Consume ``token`` once and return its record; raise TokenError saying why not."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise TokenError("malformed console token")
    name = _name(token)
    path = os.path.join(directory, name + ".token")
    claimed = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.claimed")
    try:
        os.rename(path, claimed)
    except FileNotFoundError:
        raise TokenError("unknown or already used console token") from None
    try:
        with open(claimed, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError) as exc:
        raise TokenError(f"unreadable console token ({exc})") from None
    finally:
        try:
            os.unlink(claimed)
        except OSError:
            pass
    now = time.time() if now is None else now
    if not isinstance(record, dict) or now > float(record.get("expires", 0)):
        raise TokenError("expired console token")
    address, port = record.get("address"), record.get("port")
    if not isinstance(address, str) or not isinstance(port, int):
        raise TokenError("console token without a target")
    sweep(directory, now)
    return record


def sweep(directory, now=None):
    """Remove expired tokens and left-over temporary files; returns how many were removed."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = os.listdir(directory)
    except FileNotFoundError:
        return 0
    for entry in entries:
        path = os.path.join(directory, entry)
        try:
            if entry.endswith(".token"):
                with open(path, encoding="utf-8") as handle:
                    expired = now > float(json.load(handle).get("expires", 0))
            else:
                # .tmp and .claimed files live for microseconds; anything older was abandoned.
                expired = now - os.stat(path).st_mtime > 60
            if expired:
                os.unlink(path)
                removed += 1
        except (OSError, ValueError, AttributeError):
            continue
    return removed


# websockify asks the token plugin for a target, then the auth plugin whether to proceed; only
# the auth plugin can answer the browser with an HTTP error (a refused token plugin lookup just
# drops the connection, which nginx reports as 502). So a refused token maps to this target,
# which cannot resolve (RFC 2606 .invalid), and BrineConsoleAuth answers 403 with the reason.
# websockify forks one process per connection: the reason lives only as long as that request.
REFUSED_HOST = "refused.brine.invalid"
REFUSED_PORT = 9
_refusal = {"reason": None}


class BrineConsoleTokens:
    """websockify token plugin: ``lookup(token)`` -> ``(address, port)`` once."""

    def __init__(self, src):
        self.source = src or DEFAULT_DIR

    def lookup(self, token):
        try:
            record = redeem(self.source, token)
        except TokenError as exc:
            log.warning("console token refused: %s", exc)
            _refusal["reason"] = str(exc)
            return REFUSED_HOST, REFUSED_PORT
        _refusal["reason"] = None
        log.info("console token for %s on %s redeemed -> %s:%s", record.get("vm"),
                 record.get("host"), record["address"], record["port"])
        return record["address"], record["port"]


class BrineConsoleAuth:
    """websockify auth plugin: 403 with the reason when BrineConsoleTokens refused the token."""

    def __init__(self, src=None):
        self.source = src

    def authenticate(self, headers, target_host, target_port):  # pylint: disable=unused-argument
        if target_host == REFUSED_HOST or target_host is None:
            # Imported here so the token logic above has no dependency but the standard library.
            from websockify.auth_plugins import AuthenticationError  # pylint: disable=import-outside-toplevel
            reason = _refusal["reason"] or "no console token"
            raise AuthenticationError(log_msg=reason, response_code=403,
                                      response_msg=f"Console refused: {reason}")
