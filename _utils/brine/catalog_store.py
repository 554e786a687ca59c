"""
The provisioning catalog on disk (docs/provisioning.md, Storage): one YAML file per kind,
``<kind>.yaml``, in one folder on the master (``brine:provision:catalog_dir``), each a mapping
of name to fields after a header comment that documents the kind, so the folder reads well in
git.

Every change happens under an exclusive ``fcntl.flock`` on ``<folder>/.lock``: the store reads
the files again inside the lock, validates the change against them (``brine.catalog``), and
replaces the one file it changes atomically (a temporary file in the folder, fsync, rename,
fsync of the folder), so a crash leaves the old file or the new one, never a part. Readers take
the lock shared, so they see the catalog between two changes, never across one.

Files are written with PyYAML's safe dumper (sorted keys) and read with its safe loader; no
template engine ever sees them. The folder is made 0750 and the files 0640 (the pillar and
runner run as the master's user).

Refusals: ``Invalid`` from ``brine.catalog`` for a bad change; ``Refused("no_entry")`` to
delete what is not there; ``Refused("in_use")`` naming the entries that use it;
``Refused("internal")`` for a file that is not a catalog (hand-edited into something else) or
one that cannot be written, naming the file.
"""

import contextlib
import fcntl
import os
import pickle

import yaml

from brine import catalog
from brine import durable
from brine.errors import Refused

DIR_MODE = 0o750
FILE_MODE = 0o640
LOCK_NAME = ".lock"
SUFFIX = ".yaml"
# libyaml's safe loader and dumper when PyYAML has them (the same safe subset, much faster).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# Files as this process last parsed them, by path: (their bytes, their entries pickled). A file
# whose bytes are the same is not parsed again (PyYAML takes tens of milliseconds for 1,000
# entries, and the master's workers read the catalog for every minion's pillar). The bytes are
# compared whole, so no change is missed; every read gets objects of its own.
_PARSED = {}
PARSED_MAX = 64


def _comment(text):
    return "".join(f"# {line}".rstrip() + "\n" for line in text.splitlines())


def header(kind):
    """The comment that opens ``<kind>.yaml``: what the kind is, its fields, one example."""
    width = max(len(field) for field in catalog.FIELDS[kind])
    fields = "\n".join(
        f"  {field.ljust(width)}  {catalog.FIELD_HELP[field]}"
        + ("  (optional)" if (kind, field) in catalog.OPTIONAL else "")
        for field in catalog.FIELDS[kind]
    )
    example = yaml.dump(catalog.EXAMPLES[kind], Dumper=_DUMPER, default_flow_style=False, sort_keys=True)
    return _comment(
        f"Brine's provisioning catalog: {kind}. {catalog.ABOUT[kind]}\n"
        "\n"
        "A mapping of name to fields.\n"
        f"Names: {catalog.NAME_RULE}.\n"
        f"Fields:\n{fields}\n"
        "For example:\n" + "".join(f"  {line}\n" for line in example.splitlines()) + "\n"
        "Brine writes this file through its provision runner (provision.catalog_set and\n"
        "provision.catalog_delete), which validates each change, refuses to delete an entry that\n"
        "others use and keeps the order sorted; see docs/provisioning.md. An edit by hand is\n"
        "checked only when the entry is used.\n"
    )


def render(kind, entries):
    """The text of ``<kind>.yaml`` holding ``entries`` (``{name: fields}``): header, then safe YAML."""
    body = yaml.dump(
        entries, Dumper=_DUMPER, default_flow_style=False, sort_keys=True, allow_unicode=False, width=4096
    )
    return header(kind) + "\n" + body


def write_atomically(path, text, mode=FILE_MODE):
    """Replace ``path`` with ``text`` (``brine.durable.write_atomically``, the catalog's mode)."""
    durable.write_atomically(path, text, mode)


class Store:
    """The catalog in ``directory``: ``read``, ``set`` and ``delete``, each whole under the lock."""

    def __init__(self, directory):
        self.directory = os.fspath(directory)

    def path(self, kind):
        return os.path.join(self.directory, catalog.check_kind(kind) + SUFFIX)

    # ---- the lock

    def _open_lock(self, exclusive):
        path = os.path.join(self.directory, LOCK_NAME)
        if exclusive:
            if not os.path.isdir(self.directory):
                os.makedirs(self.directory, mode=DIR_MODE, exist_ok=True)
                os.chmod(self.directory, DIR_MODE)  # whatever the umask
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        except FileNotFoundError:
            return None  # no folder yet: an empty catalog, nothing to wait for
        except PermissionError:
            # A reader that may not create the lock in a folder nobody has changed yet.
            return None

    @contextlib.contextmanager
    def _locked(self, exclusive):
        try:
            fd = self._open_lock(exclusive)
        except OSError as err:
            raise Refused(
                "internal", f"cannot lock the catalog in {self.directory}: {err.strerror}"
            ) from None
        if fd is None:
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing the only descriptor releases the flock

    # ---- reading

    def _read_kind(self, kind):
        path = self.path(kind)
        try:
            with open(path, "rb") as source:
                raw = source.read()
        except FileNotFoundError:
            return {}
        except OSError as err:
            raise Refused("internal", f"cannot read {path}: {err.strerror or err}") from None
        return _parsed(path, raw)

    def _read(self, kinds):
        return {kind: self._read_kind(kind) if kind in kinds else {} for kind in catalog.KINDS}

    def read(self):
        """The whole catalog, ``{kind: {name: fields}}`` for every kind (a missing file: no entries)."""
        with self._locked(exclusive=False):
            return self._read(catalog.KINDS)

    # ---- changing

    def _write(self, kind, entries):
        path, text = self.path(kind), render(kind, entries)
        try:
            write_atomically(path, text)
        except OSError as err:
            raise Refused("internal", f"cannot write {path}: {err.strerror or err}") from None
        # What was written parses back to these entries: the next read need not parse it.
        _remember(path, text.encode("utf-8"), entries)

    def set(self, kind, name, fields):
        """
        Create or replace the entry ``kind``/``name`` with ``fields`` (all of them), validated
        against the catalog as it is inside the lock. Returns the fields as stored.
        """
        catalog.check_kind(kind)
        name = catalog.entry_name(name, f"the {catalog.SINGULAR[kind]} name")
        with self._locked(exclusive=True):
            content = self._read({kind, *catalog.referenced_kinds(kind)})
            stored = catalog.validate_entry(kind, name, fields, content)
            self._write(kind, {**content[kind], name: stored})
        return stored

    def delete(self, kind, name):
        """
        Delete the entry ``kind``/``name``, unless another entry names it (``Refused("in_use")``,
        naming them all). Returns the fields it had.
        """
        catalog.check_kind(kind)
        name = catalog.entry_name(name, f"the {catalog.SINGULAR[kind]} name")
        singular = catalog.SINGULAR[kind]
        with self._locked(exclusive=True):
            content = self._read({kind, *catalog.referring_kinds(kind)})
            entries = dict(content[kind])
            if name not in entries:
                raise Refused("no_entry", f"there is no {singular} {name!r} in the catalog")
            users = catalog.users_of(content, kind, name)
            if users:
                raise Refused(
                    "in_use",
                    f"{singular} {name!r} is used by {', '.join(users)}: change or delete them first",
                )
            fields = entries.pop(name)
            self._write(kind, entries)
        return fields


def _parsed(path, raw):
    """The entries of the file ``path`` whose bytes are ``raw``: parsed, or as parsed last time."""
    cached = _PARSED.get(path)
    if cached and cached[0] == raw:
        return pickle.loads(cached[1])
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_LOADER)
    except UnicodeDecodeError:
        raise Refused("internal", f"{path} is not UTF-8 text: fix it or restore it from git") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise Refused("internal", f"{path} is not valid YAML{where}: fix it or restore it from git") from None
    entries = _entries(path, data)
    _remember(path, raw, entries)
    return entries


def forget():
    """Forget the files this process has parsed: the next read parses every file again."""
    _PARSED.clear()


def _remember(path, raw, entries):
    if len(_PARSED) >= PARSED_MAX:
        _PARSED.clear()
    _PARSED[path] = (raw, pickle.dumps(entries))


def _entries(path, data):
    """The entries of one file as read, or ``Refused("internal")`` when it is not a catalog file."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise Refused(
            "internal", f"{path} is not a mapping of names to fields: fix it or restore it from git"
        )
    entries = {}
    for name, fields in data.items():
        if isinstance(name, bool) or not isinstance(name, str | int):
            raise Refused("internal", f"{path} has an entry named {name!r}, which is not a name")
        if not isinstance(fields, dict):
            raise Refused("internal", f"{path}: the entry {name!r} is not a mapping of fields")
        entries[str(name)] = fields
    return entries
