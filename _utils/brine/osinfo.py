"""
The operating systems osinfo-db knows, by short id (``rhel9.0``, ``centos-stream9``,
``fedora37``): what ``virt-install --os-variant`` and a catalog OS tree's ``os_variant`` name.

Read from osinfo-db's XML files (``<db>/os/<vendor>/<os>.xml``, each ``<os>`` with one or more
``<short-id>`` elements) where libosinfo reads them: the system database
(``$OSINFO_SYSTEM_DIR``, default ``/usr/share/osinfo``) and the local one (``/etc/osinfo``).
The files are the distribution's, trusted like any package file; they are read once per process
and per set of folders.

:depends: osinfo-db (Debian's ``osinfo-db`` package) on the master, where the catalog is
    validated; without it no ``os_variant`` is known and every OS tree is refused.
"""

import functools
import os
import xml.etree.ElementTree as ET
from pathlib import Path

LOCAL_DIR = "/etc/osinfo"
SYSTEM_DIR = "/usr/share/osinfo"


def default_dirs():
    """The osinfo-db folders libosinfo reads, system database first."""
    return (os.environ.get("OSINFO_SYSTEM_DIR") or SYSTEM_DIR, LOCAL_DIR)


def _file_short_ids(path):
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        # One unreadable file costs its own OSes, not the whole database.
        return set()
    return {
        element.text.strip()
        for os_element in root.iter("os")
        for element in os_element.findall("short-id")
        if element.text and element.text.strip()
    }


@functools.lru_cache(maxsize=8)
def short_ids(dirs=None):
    """Every short id in the osinfo-db folders ``dirs`` (default: ``default_dirs()``), a frozenset."""
    found = set()
    for folder in dirs or default_dirs():
        for path in sorted((Path(folder) / "os").rglob("*.xml")):
            found |= _file_short_ids(path)
    return frozenset(found)


def is_known(short_id, dirs=None):
    """True when ``short_id`` names an OS osinfo-db knows."""
    return isinstance(short_id, str) and short_id in short_ids(tuple(dirs) if dirs else None)
