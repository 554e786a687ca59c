"""
What a host has of the landscape (docs/landscape.md, What the hosts have): its libvirt networks and
storage pools, whether the host's landscape picture manages each, and an admin's actions on them.

``managed_names`` asks the landscape picture (``brine.landscape.host_picture``, passed in) which networks
and pools the host should have; an invalid landscape pillar makes nothing managed and is reported as a
sentence, never as a failed inventory. ``networks`` and ``pools`` describe everything the host
has (``brine.host_networks``, ``brine.host_pools``); ``act`` starts, stops or refreshes one
object and returns its dict afterwards, refusing an unknown name (``no_network``, ``no_pool``)
and an object already in the state asked for (``wrong_state``). Callers pass an open connection
(``brine.libvirt_host.connection``, which turns libvirt's own errors into coded refusals).

:depends: libvirt-python (not for ``object_name`` and ``managed_names``)
"""

import logging

from brine import host_networks
from brine import host_pools
from brine import validate
from brine.errors import Invalid
from brine.errors import Refused

try:
    import libvirt
except ImportError:  # the pure parts work without it
    libvirt = None

log = logging.getLogger(__name__)

KINDS = ("network", "pool")
# What people call each kind in a sentence, and the refusal for a name the host does not have.
NOUNS = {"network": "network", "pool": "storage pool"}
MISSING_CODES = {"network": "no_network", "pool": "no_pool"}
# Actions each kind offers; ``refresh`` re-reads a pool's volumes from its storage.
ACTIONS = {"network": ("start", "stop"), "pool": ("start", "stop", "refresh")}


def object_name(name, kind):
    """``name`` as a string if it can be the name of a ``kind`` (VM names' rule); Invalid if not."""
    if isinstance(name, int) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str) or not validate.VM_NAME_RE.fullmatch(name):
        raise Invalid(
            f"{name!r} is not a valid {NOUNS[kind]} name: use 1 to 64 letters, digits, '_', '.', "
            "'+' or '-', starting with a letter or digit"
        )
    return name


# --------------------------------------------------------------------------
# Managed: what the host's landscape picture defines
# --------------------------------------------------------------------------


def managed_names(host_picture, layers, host):
    """
    ``({"networks": {name}, "pools": {name}}, None)``: the names the landscape picture of ``host``
    defines (``host_picture(layers, host)``); no landscape (``layers`` empty) manages nothing. When
    the landscape cannot be pictured, nothing is managed and the second item is the sentence why.
    """
    nothing = {"networks": set(), "pools": set()}
    if not layers:
        return nothing, None
    try:
        picture = host_picture(layers, host)
    except (Invalid, Refused) as err:
        return nothing, err.sentence
    except Exception as err:  # pylint: disable=broad-except
        # A bug in the picture must not cost the host its inventory: logged, and said.
        log.exception("The landscape picture of %s failed", host)
        return nothing, f"the landscape picture could not be made: {type(err).__name__}: {err}"
    return {
        "networks": set(picture.get("networks") or {}),
        "pools": set(picture.get("pools") or {}),
    }, None


def with_landscape_error(answer, landscape_error):
    """``answer`` with ``landscape_error`` added when there is one."""
    if landscape_error:
        answer["landscape_error"] = landscape_error
    return answer


# --------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------


def networks(conn, managed):
    """Every network of the host as Brine's network dict (``managed``: from ``managed_names``)."""
    return host_networks.list_all(conn, managed["networks"])


def pools(conn, managed):
    """Every storage pool of the host as Brine's pool dict, each volume with its users."""
    return host_pools.list_all(conn, managed["pools"])


def describe(conn, kind, obj, managed):
    """The dict of one network or pool."""
    if kind == "network":
        return host_networks.describe(obj, managed["networks"])
    return host_pools.describe(obj, managed["pools"], host_pools.references(conn))


# --------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------


def _is_missing(kind, err):
    return (host_networks if kind == "network" else host_pools).is_missing(err)


def find(conn, kind, name):
    """The network or pool ``name``, or None when the host has none of that name."""
    try:
        if kind == "network":
            return conn.networkLookupByName(name)
        return conn.storagePoolLookupByName(name)
    except libvirt.libvirtError as err:
        if _is_missing(kind, err):
            return None
        raise


def lookup(conn, kind, name, host):
    """The network or pool ``name``; ``Refused`` (``no_network``, ``no_pool``) when there is none."""
    obj = find(conn, kind, name)
    if obj is None:
        raise Refused(MISSING_CODES[kind], f"There is no {NOUNS[kind]} named {name} on {host}")
    return obj


def refuse_state(kind, action, name, host, active):
    """``Refused(wrong_state)`` when ``action`` makes no sense for an object that is (not) ``active``."""
    noun = NOUNS[kind]
    if action == "start" and active:
        raise Refused("wrong_state", f"The {noun} {name} is already active on {host}")
    if action == "stop" and not active:
        raise Refused("wrong_state", f"The {noun} {name} is not active on {host}")
    if action == "refresh" and not active:
        raise Refused(
            "wrong_state", f"The {noun} {name} is not active on {host}; start it before refreshing it"
        )


def _run(obj, kind, action):
    if action == "start":
        return obj.create() if kind == "network" else obj.create(0)
    if action == "stop":
        return obj.destroy()
    return obj.refresh(0)


def _gone(before):
    """The dict of a transient object its stop removed: as it was, inactive and empty."""
    gone = dict(before, active=False, autostart=False, persistent=False)
    if "leases" in gone:
        gone["leases"] = []
    if "volumes" in gone:
        gone.update(capacity=None, allocation=None, available=None, volumes=[])
    return gone


def act(conn, kind, action, name, host, managed):
    """
    Run ``action`` (``ACTIONS[kind]``) on the network or pool ``name`` of ``host`` and return
    its dict afterwards. Stopping a network with running guests attached is libvirt's to allow.
    """
    if action not in ACTIONS[kind]:
        raise ValueError(f"no action {action!r} for a {kind}")
    obj = lookup(conn, kind, name, host)
    refuse_state(kind, action, name, host, bool(obj.isActive()))
    # A transient object disappears when it stops: what it was is all there is to answer.
    before = None if obj.isPersistent() else describe(conn, kind, obj, managed)
    _run(obj, kind, action)
    if before is not None and find(conn, kind, name) is None:
        return _gone(before)
    return describe(conn, kind, lookup(conn, kind, name, host), managed)
