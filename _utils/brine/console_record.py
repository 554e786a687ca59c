"""
The console record: who opened which console and when, one JSON object per line in a root-only
file (``brine:console:record``, default ``/var/log/brine/consoles.log``; the file 0600, its
folder 0700 when Brine creates it).

Two writers append to the same file: the ``cluster.console`` runner when it issues a token
(``"event": "issued"``: the Salt user who asked, the VM, its host, the token's fingerprint and
its expiry) and websockify's plugin when a browser redeems one, or is refused
(``"redeemed"``/``"refused"``: the fingerprint, the VM, the client address nginx forwarded).
A line names a token only by ``brine.tokens.fingerprint`` (the start of its SHA-256): never the
token, the browser's secret or a VNC password.

Each line is one ``write`` to a file opened with ``O_APPEND``, so lines from the two processes
never interleave. Standard library only: websockify imports it.
"""

import json
import os
import time

DEFAULT_PATH = "/var/log/brine/consoles.log"
# Fields a line may carry; anything else a caller passes is dropped, so a secret cannot slip in.
FIELDS = ("time", "event", "user", "vm", "host", "address", "port", "token", "expires", "client", "reason")
_MAX_FIELD = 256


class RecordError(Exception):
    """The record cannot be written, as a sentence."""


def _private_dir(directory):
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.stat(directory)
    if info.st_uid != os.geteuid():
        raise RecordError(f"the console record's folder {directory} belongs to another user")
    if info.st_mode & 0o022:
        # Others may add or replace files in it: take that away (reading stays as the site set it).
        os.chmod(directory, info.st_mode & 0o755 & ~0o022)


def line(fields, now=None):
    """The JSON line for ``fields``: known fields only, strings shortened, ``time`` in UTC."""
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))}
    for key in FIELDS:
        value = fields.get(key)
        if key == "time" or value is None:
            continue
        entry[key] = value[:_MAX_FIELD] if isinstance(value, str) else value
    return json.dumps(entry, sort_keys=True) + "\n"


def append(path, fields, now=None):
    """Append one line to the record at ``path`` (created 0600, root's alone); RecordError if not."""
    path = path or DEFAULT_PATH
    data = line(fields, now).encode("utf-8")
    try:
        _private_dir(os.path.dirname(os.path.abspath(path)))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            info = os.fstat(fd)
            if info.st_uid != os.geteuid():
                raise RecordError(f"the console record {path} belongs to another user")
            if info.st_mode & 0o077:
                os.fchmod(fd, 0o600)
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError as exc:
        raise RecordError(f"could not write the console record {path}: {exc.strerror or exc}") from None
