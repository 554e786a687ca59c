"""
Files that are either the old text or the new one, never half of either: what Brine's state files
on the master (the catalog, the virtual cluster ledger) are written with.
"""

import contextlib
import os
import tempfile


def fsync_dir(directory):
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path, text, mode):
    """Replace ``path`` with ``text``: a temporary file beside it (``mode`` before any byte is
    written), fsync, rename, fsync the folder; a failure leaves the old file and no temporary."""
    directory = os.path.dirname(path) or "."
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), mode)
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_dir(directory)
