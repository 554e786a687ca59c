"""
The storage pools a host has, as Brine's pool dict (docs/landscape.md, What the hosts have), with
each volume's users: the domains whose disks refer to it.

A disk refers to a volume by its path (``<source file|dev>``) or by ``<source pool volume>``;
``disk_references`` reads both out of a domain's XML, ``references`` out of every domain's
inactive XML once per call, and ``users_of`` answers per volume from that index. ``describe``
and ``list_all`` put a pool together: type, path, sizes from ``pool.info()`` and, for an active
pool, its volumes (one XML per volume). Callers pass an open connection
(``brine.libvirt_host.connection``) and the names the host's landscape picture manages.

:depends: libvirt-python (not for the parsers)
"""

import logging
import os
from xml.etree import ElementTree

from brine import domxml

try:
    import libvirt
except ImportError:  # the pure readers work without it
    libvirt = None

log = logging.getLogger(__name__)


def _bytes(element):
    """Bytes in a libvirt size element (``<capacity unit='bytes'>``), or None."""
    if element is None or not (element.text or "").strip():
        return None
    factor = domxml.MEMORY_UNITS_IN_BYTES.get((element.get("unit") or "bytes").lower(), 1)
    value = domxml.int_or_none(element.text.strip())
    return None if value is None else value * factor


def parse_pool(xml_text):
    """``{"name", "type", "path"}`` of a pool's XML."""
    root = ElementTree.fromstring(xml_text)
    return {"name": root.findtext("name"), "type": root.get("type"), "path": root.findtext("target/path")}


def parse_volume(xml_text):
    """``{"name", "path", "format", "capacity", "allocation"}`` (bytes) of a volume's XML."""
    root = ElementTree.fromstring(xml_text)
    fmt = root.find("target/format")
    return {
        "name": root.findtext("name"),
        "path": root.findtext("target/path"),
        "format": fmt.get("type") if fmt is not None else None,
        "capacity": _bytes(root.find("capacity")),
        "allocation": _bytes(root.find("allocation")),
    }


def _normal(path):
    return os.path.normpath(path) if path else None


def disk_references(xml_text):
    """
    ``(name, {disk path}, {(pool, volume)})`` of a domain's XML: the paths its disks' sources
    name (``<source file|dev|dir>``) and the pool volumes they name (``<disk type='volume'>``).
    """
    root = ElementTree.fromstring(xml_text)
    paths, volumes = set(), set()
    for disk in root.findall("devices/disk"):
        path = domxml.parse_disk(disk)["path"]
        if path:
            paths.add(_normal(path))
        source = disk.find("source")
        if disk.get("type") == "volume" and source is not None and source.get("volume"):
            volumes.add((source.get("pool"), source.get("volume")))
    return root.findtext("name"), paths, volumes


class Users:
    """Which domains refer to which path and pool volume: built once, asked per volume."""

    def __init__(self, domain_xmls=()):
        self.by_path = {}
        self.by_volume = {}
        for xml_text in domain_xmls:
            self.add(xml_text)

    def add(self, xml_text):
        name, paths, volumes = disk_references(xml_text)
        for path in paths:
            self.by_path.setdefault(path, set()).add(name)
        for volume in volumes:
            self.by_volume.setdefault(volume, set()).add(name)

    def of(self, pool, volume, path):
        """Sorted names of the domains using ``volume`` of ``pool`` (found at ``path``)."""
        users = set(self.by_volume.get((pool, volume), ()))
        users |= self.by_path.get(_normal(path), set()) if path else set()
        return sorted(users)


def references(conn):
    """The ``Users`` of every domain of ``conn``, from each domain's inactive XML, read once."""
    users = Users()
    for dom in conn.listAllDomains(0):
        try:
            users.add(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        except libvirt.libvirtError as err:
            if err.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
            log.debug("Domain %s went away while its disks were read", dom.name())
    return users


def volumes(pool, users):
    """The volumes of the active ``pool``, by name, each with its users."""
    name = pool.name()
    found = []
    for volume in pool.listAllVolumes(0):
        try:
            described = parse_volume(volume.XMLDesc(0))
        except libvirt.libvirtError as err:
            if err.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                raise
            log.debug("Volume %s of pool %s went away while it was described", volume.name(), name)
            continue
        described["users"] = users.of(name, described["name"], described["path"])
        found.append(described)
    return sorted(found, key=lambda volume: volume["name"])


def describe(pool, managed, users):
    """
    Brine's pool dict of ``pool``; ``managed`` is the set of names the landscape defines, ``users``
    the ``Users`` of the host's domains.
    """
    name = pool.name()
    active = bool(pool.isActive())
    parsed = parse_pool(pool.XMLDesc(0))
    capacity = allocation = available = None
    held = []
    if active:
        try:
            _state, capacity, allocation, available = pool.info()
            held = volumes(pool, users)
        except libvirt.libvirtError:
            if pool.isActive():
                raise
            # Stopped while it was described: an inactive pool has no sizes and no volumes.
            active, capacity, allocation, available, held = False, None, None, None, []
    return {
        "name": name,
        "type": parsed["type"],
        "active": active,
        "autostart": bool(pool.autostart()),
        "persistent": bool(pool.isPersistent()),
        "managed": name in managed,
        "path": parsed["path"],
        "capacity": capacity,
        "allocation": allocation,
        "available": available,
        "volumes": held,
    }


def is_missing(err):
    """True when ``err`` says the pool does not exist (any more)."""
    return err.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL


def list_all(conn, managed):
    """Every storage pool of ``conn`` (active or not) as Brine's pool dict, by name."""
    users = references(conn)
    described = []
    for pool in conn.listAllStoragePools(0):
        try:
            described.append(describe(pool, managed, users))
        except libvirt.libvirtError as err:
            if not is_missing(err):
                raise
            log.debug("Storage pool %s went away while it was described", pool.name())
    return sorted(described, key=lambda pool: pool["name"])
