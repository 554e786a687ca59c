"""
Brine's one store of one-time console tokens: the ``cluster.console`` runner issues them in the
salt-master, websockify's plugin (``console/brine_console_tokens.py``) redeems them.

A token opens exactly the VNC server written when it was issued; the browser only ever sends
the token, never a host or a port. A token is bound to the browser session that asked for it:
the browser keeps a random secret and sent only its SHA-256 (``binding``, hex) with the request;
the record keeps that hash, and redeeming needs the secret itself (``<token>.<secret>``), so a
token read anywhere else (an event, a job return, a log) opens nothing.

Storage: one small JSON file per token in a directory only its owner (root) may read or enter
(0700), named by the SHA-256 of the token so the directory's listing does not reveal usable
tokens. Both sides check the directory before using it: it must belong to the user they run
as and let nobody else in.

* issue:   write ``.<name>.<random>.tmp`` (O_EXCL, 0600), then ``rename`` it to ``<name>.token``:
           a reader never sees half a file.
* redeem:  read ``<name>.token`` and compare the secret's hash with its binding (constant
           time); a wrong or missing secret is refused and leaves the token to its owner.
           Then ``rename`` ``<name>.token`` to a private name. Only one ``rename`` of a file can
           succeed, so of two connections racing with the same token exactly one gets it; the
           loser finds no file. The claimed file is then read and unlinked. A token past its
           ``expires`` time is refused (and removed) even if it was never used.
* sweep:   files past their expiry are removed whenever a token is issued or redeemed.

Files rather than the master's cache or a database: websockify and the salt-master are separate
processes (websockify forks one process per connection), both run as root on the master, and
rename/unlink on one local file system is the simplest atomic single-use primitive they share.

Standard library only (no Salt): websockify imports this module with ``_utils`` on its
``PYTHONPATH``.
"""

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import time

# The default of brine:console:token_dir (brine.config.KEYS; a unit test keeps them equal).
DEFAULT_DIR = "/run/brine/console-tokens"
DEFAULT_TTL = 30
# secrets.token_urlsafe(32): 43 characters of [A-Za-z0-9_-]; anything else is refused before
# the file system is touched.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# The browser's secret: 32 random bytes, base64url without padding (43 characters).
SECRET_RE = TOKEN_RE
# What the record keeps of the secret: its SHA-256 in lower-case hex.
BINDING_RE = re.compile(r"^[0-9a-f]{64}$")
# What the browser sends websockify as its ``token`` parameter.
SEPARATOR = "."
# .tmp and .claimed files live for microseconds; anything older was abandoned.
ABANDONED_AFTER = 60


class TokenError(Exception):
    """Why a token was refused, or the store cannot be used, as a sentence."""


def _name(token):
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def fingerprint(token):
    """What the console record names a token by: the start of its SHA-256, not the token."""
    return _name(token)[:12]


def binding_of(secret):
    """The SHA-256 (hex) of the browser's secret as the browser computes it (of its ASCII text)."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def split(combined):
    """``(token, secret)`` from what the browser sends, ``<token>.<secret>``; TokenError if not."""
    if not isinstance(combined, str):
        raise TokenError("malformed console token")
    token, _, secret = combined.partition(SEPARATOR)
    if not TOKEN_RE.match(token):
        raise TokenError("malformed console token")
    if not secret:
        raise TokenError("console token without the secret of the browser session that asked for it")
    if not SECRET_RE.match(secret):
        raise TokenError("malformed console token secret")
    return token, secret


def _private(info):
    return not info.st_mode & 0o077 and info.st_uid == os.geteuid()


def ensure_dir(directory):
    """
    Create the token directory (0700) if needed, tighten its mode if others may enter it, and
    refuse one that belongs to another user or stays open to others.
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.stat(directory)
    if not _private(info):
        if info.st_uid == os.geteuid():
            os.chmod(directory, 0o700)
            info = os.stat(directory)
        if not _private(info):
            raise TokenError(
                f"the console token directory {directory} belongs to another user or is readable by others"
            )
    return directory


def check_dir(directory):
    """Refuse to read tokens from a directory that belongs to another user or others may enter."""
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        raise TokenError("unknown or already used console token") from None
    if not _private(info):
        raise TokenError(
            f"the console token directory {directory} belongs to another user or is readable by others"
        )
    return directory


def issue(directory, target, ttl=DEFAULT_TTL, now=None):
    """
    Store a new token for ``target`` (a dict with at least ``address``, ``port`` and ``binding``,
    the SHA-256 hex of the browser's secret; the rest, such as ``vm`` and ``host``, is kept in
    the record). Returns ``(token, expires)``.
    """
    address, port = target.get("address"), target.get("port")
    if not isinstance(address, str) or not address or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"a console target needs an address and a port, got {address!r}:{port!r}")
    if not isinstance(target.get("binding"), str) or not BINDING_RE.match(target["binding"]):
        raise ValueError("a console token needs the binding of a browser session (64 hex digits)")
    ensure_dir(directory)
    now = time.time() if now is None else now
    sweep(directory, now)
    token = secrets.token_urlsafe(32)
    expires = now + ttl
    name = _name(token)
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(dict(target, issued=now, expires=expires), handle)
        os.rename(tmp, os.path.join(directory, name + ".token"))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return token, expires


def claim(directory, token):
    """Take ``token``'s record out of the store (one caller wins); TokenError when it is not there."""
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
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise TokenError(f"unreadable console token ({exc})") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(claimed)


def _peek(directory, token):
    try:
        with open(os.path.join(directory, _name(token) + ".token"), encoding="utf-8") as handle:
            record = json.load(handle)
    except FileNotFoundError:
        raise TokenError("unknown or already used console token") from None
    except (OSError, ValueError) as exc:
        raise TokenError(f"unreadable console token ({exc})") from None
    return record if isinstance(record, dict) else {}


def _expires(record):
    try:
        return float(record.get("expires", 0))
    except (TypeError, ValueError):
        return 0.0


def _check_binding(record, secret):
    binding = record.get("binding")
    if not isinstance(binding, str) or not BINDING_RE.match(binding):
        raise TokenError("console token without a browser session binding")
    if not hmac.compare_digest(binding_of(secret).encode("ascii"), binding.encode("ascii")):
        raise TokenError("console token of another browser session (its secret does not match)")


def redeem(directory, token, secret=None, now=None):
    """
    Consume ``token`` once for the browser session holding ``secret`` and return its record;
    raise TokenError saying why not. A missing or wrong secret leaves the token in the store.
    """
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise TokenError("malformed console token")
    if not isinstance(secret, str) or not SECRET_RE.match(secret):
        raise TokenError("console token without the secret of the browser session that asked for it")
    check_dir(directory)
    now = time.time() if now is None else now
    peeked = _peek(directory, token)
    if now <= _expires(peeked):
        _check_binding(peeked, secret)
    record = claim(directory, token)
    if not isinstance(record, dict) or now > _expires(record):
        raise TokenError("expired console token")
    _check_binding(record, secret)
    address, port = record.get("address"), record.get("port")
    if not isinstance(address, str) or not isinstance(port, int):
        raise TokenError("console token without a target")
    sweep(directory, now)
    return record


def _expired(path, entry, now):
    if entry.endswith(".token"):
        with open(path, encoding="utf-8") as handle:
            return now > float(json.load(handle).get("expires", 0))
    return now - os.stat(path).st_mtime > ABANDONED_AFTER


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
            if _expired(path, entry, now):
                os.unlink(path)
                removed += 1
        except (OSError, ValueError, AttributeError):
            continue
    return removed
