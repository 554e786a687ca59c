"""
Brine's landscape on a hypervisor host: the libvirt networks and storage pools it has
================================================================================

What this host has of the landscape (docs/landscape.md, "What the hosts have"): every libvirt
network and storage pool, whether the host's landscape picture (its pillar ``landscape``,
``brine.landscape.host_picture``) manages it, and an admin's actions on them: start, stop, and
refresh a pool. Definitions stay
code: the ``landscape`` states make them, nothing here defines or undefines anything.

This file is the Salt face: it checks arguments, opens one libvirt connection per call and calls
Brine's library (``_utils/brine``: ``landscape_inventory``, ``host_networks``, ``host_pools``),
letting its coded errors through (``[<code>] <sentence>``, docs/api.md).

:depends: libvirt-python, Brine's library (``_utils/brine``, synced with ``saltutil.sync_utils``)
:configuration: ``virt:connection:uri`` (unset: libvirt's default); the pillar ``landscape``
"""

from brine import config
from brine import host_networks
from brine import landscape as landscape_picture
from brine import landscape_apply
from brine import landscape_inventory
from brine import libvirt_host
from brine import validate

try:
    import libvirt  # noqa: F401  pylint: disable=unused-import

    HAS_LIBVIRT = True
except ImportError:
    HAS_LIBVIRT = False

__virtualname__ = "landscape"


def __virtual__():
    if not HAS_LIBVIRT:
        return (False, "Brine's landscape module needs libvirt-python (import libvirt failed)")
    return __virtualname__


# ---------------------------------------------------------------------------
# The boundary: the connection, this host's name, its landscape picture.
# ---------------------------------------------------------------------------


def _connection(failure):
    """An open connection, closed afterwards; libvirt's errors become coded ``Refused``."""
    uri = __salt__["config.get"]("virt:connection:uri") or None
    return libvirt_host.connection(lambda: libvirt_host.open_connection(uri), failure)


def _host_id():
    return __opts__.get("id") or __grains__.get("id")


def _managed():
    """The names this host's landscape picture defines, and the sentence why none when it is invalid."""
    layers = __pillar__.get("landscape") or {}
    return landscape_inventory.managed_names(landscape_picture.host_picture, layers, _host_id())


# ---------------------------------------------------------------------------
# What the host has: networks and storage pools.
# ---------------------------------------------------------------------------


def networks():
    """
    Every libvirt network of this host, active or not: ``{"networks": [network]}`` with
    ``{"name", "active", "autostart", "persistent", "managed", "mode", "bridge", "domain",
    "subnet", "gateway", "dhcp", "static_hosts", "dns_hosts", "leases"}`` each (docs/landscape.md).
    ``managed`` says whether the host's landscape pillar defines it; when that pillar is invalid,
    nothing is managed and ``landscape_error`` says why.

    CLI Example:

    .. code-block:: bash

        salt hv1 landscape.networks
    """
    managed, landscape_error = _managed()
    with _connection("Could not list the networks of this host") as conn:
        found = landscape_inventory.networks(conn, managed)
    return landscape_inventory.with_landscape_error({"networks": found}, landscape_error)


def pools():
    """
    Every storage pool of this host, active or not: ``{"pools": [pool]}`` with ``{"name",
    "type", "active", "autostart", "persistent", "managed", "path", "capacity", "allocation",
    "available", "volumes"}`` each (sizes in bytes, None while inactive), every volume of an
    active pool with the VMs whose disks use it (``users``). ``landscape_error`` as for ``networks``.

    CLI Example:

    .. code-block:: bash

        salt hv1 landscape.pools
    """
    managed, landscape_error = _managed()
    with _connection("Could not list the storage pools of this host") as conn:
        found = landscape_inventory.pools(conn, managed)
    return landscape_inventory.with_landscape_error({"pools": found}, landscape_error)


# ---------------------------------------------------------------------------
# Admin actions: start, stop, refresh. Each returns the object's dict afterwards.
# ---------------------------------------------------------------------------


def _act(kind, action, name, doing):
    name = landscape_inventory.object_name(name, kind)
    managed, _landscape_error = _managed()
    noun = landscape_inventory.NOUNS[kind]
    with _connection(f"Could not {doing} the {noun} {name}") as conn:
        return landscape_inventory.act(conn, kind, action, name, _host_id(), managed)


def network_start(name):
    """
    Start the inactive libvirt network ``name``; returns its network dict. Refuses with
    ``no_network`` when there is none of that name, ``wrong_state`` when it is active.

    CLI Example:

    .. code-block:: bash

        salt hv1 landscape.network_start service
    """
    return _act("network", "start", name, "start")


def network_stop(name):
    """
    Stop the active libvirt network ``name`` (its guests lose their network until it starts
    again); returns its network dict. Refuses with ``no_network`` or ``wrong_state``.

    CLI Example:

    .. code-block:: bash

        salt hv1 landscape.network_stop service
    """
    return _act("network", "stop", name, "stop")


def pool_start(name):
    """
    Start the inactive storage pool ``name``; returns its pool dict. Refuses with ``no_pool``
    when there is none of that name, ``wrong_state`` when it is active.

    CLI Example:

    .. code-block:: bash

        salt hv1 landscape.pool_start images
    """
    return _act("pool", "start", name, "start")


def pool_stop(name):
    """
    Stop the active storage pool ``name``; returns its pool dict. Refuses with ``no_pool`` or
    ``wrong_state``.

    CLI Example:

    .. code-block:: bash

        salt hv1 landscape.pool_stop images
    """
    return _act("pool", "stop", name, "stop")


def pool_refresh(name):
    """
    Read the volumes of the active storage pool ``name`` from its storage again; returns its
    pool dict. Refuses with ``no_pool``, or ``wrong_state`` when it is not active.

    CLI Example:

    .. code-block:: bash

        salt hv1 landscape.pool_refresh images
    """
    return _act("pool", "refresh", name, "refresh")


# ---------------------------------------------------------------------------
# The landscape as code: this host's picture, and how the host differs from it.
# ---------------------------------------------------------------------------


def _pillar(refresh):
    """The minion's pillar, or the pillar compiled afresh by the master (``refresh``)."""
    # Salt masks pillar.items' answer by default; the landscape carries no secret (its pictures
    # travel in job returns: docs/landscape.md), so the values themselves are read.
    return __salt__["pillar.items"](unmask=True) if refresh else __pillar__


def picture(refresh=False):
    """
    This host's part of the landscape (docs/landscape.md): ``{"host", "networks", "pools", "guests",
    "volumes"}``, the pillar ``landscape`` merged, derived and checked as a whole, each pool with the
    arguments of saltext-virt's ``virt.pool_running`` (``virt``), every volume to make, and each
    guest with the other hosts the master last saw it on (``elsewhere``, from the pillar
    ``brine:landscape_elsewhere`` the ``brine_landscape`` ext_pillar gives). The
    ``landscape`` formula renders its states from this. ``refresh=True`` asks the master for the
    pillar afresh instead of using the one this minion holds. An invalid landscape is refused
    (``invalid_argument``) with the reason, naming the object and field.

    CLI Example:

    .. code-block:: bash

        salt hv1 landscape.picture
        salt hv1 landscape.picture refresh=True
    """
    refresh = validate.flag(refresh, "refresh")
    with _connection("Could not read this host's storage pools") as conn:
        return _plan(_pillar(refresh), conn)


def _plan(pillar, conn):
    """The host's part of the landscape in ``pillar``, as ``picture`` answers it."""
    picture = landscape_picture.host_picture(pillar.get("landscape") or {}, _host_id())
    elsewhere = (pillar.get("brine") or {}).get("landscape_elsewhere") or {}
    return landscape_apply.with_current_permissions(conn, landscape_apply.plan(picture, elsewhere))


def diff():
    """
    How this host differs from its part of the landscape, with the pillar compiled afresh:
    ``{"host", "networks": {name: {"changes", "comment"}}, "pools": {name: [sentences]},
    "guests": {name: {"changes", "diff", "comment"}}}``, an object as the landscape describes it
    having no changes (``diff`` is the unified diff of what the landscape manages in a guest's
    definition). Changes nothing: it is the ``landscape`` states' own check, under test.

    CLI Example:

    .. code-block:: bash

        salt hv1 landscape.diff
    """
    pillar = _pillar(refresh=True)
    domain_type = config.get("provision:virt_type", __salt__["config.get"])
    with _connection("Could not compare this host with the landscape") as conn:
        found = landscape_apply.differences(conn, _plan(pillar, conn), host_networks.parse, domain_type)
    return dict(found, host=_host_id())
