"""
A host's libvirt events in Brine's words: the tags and payloads the ``brine_events`` engine
fires (docs/api.md, Events).

- a domain's lifecycle event is ``brine/vm/<host>/<vm>/state`` with libvirt's event and detail
  words (``lifecycle_words``) and the VM's dict; a finished job or a migration pass
  ``brine/vm/<host>/<vm>/job``;
- a network's lifecycle event is ``brine/network/<host>/<name>/state``, a storage pool's
  lifecycle or refresh event ``brine/pool/<host>/<name>/state``, each with
  ``{host, name, event, active}`` (``network_word``, ``pool_word``, ``object_data``);
- ``brine/host/<host>/resync|disconnected`` speak of the engine's connection.

Everything here but ``object_active`` is pure: the engine does the I/O.

:depends: libvirt-python (for ``object_active`` only)
"""

from brine import landscape_inventory
from brine import libvirt_host

# virDomainEventType, in enum order, and each type's detail words in enum order.
LIFECYCLE_EVENTS = (
    "defined",
    "undefined",
    "started",
    "suspended",
    "resumed",
    "stopped",
    "shutdown",
    "pmsuspended",
    "crashed",
)
LIFECYCLE_DETAILS = {
    "defined": ("added", "updated", "renamed", "from_snapshot"),
    "undefined": ("removed", "renamed"),
    "started": ("booted", "migrated", "restored", "from_snapshot", "wakeup"),
    "suspended": (
        "paused",
        "migrated",
        "ioerror",
        "watchdog",
        "restored",
        "from_snapshot",
        "api_error",
        "postcopy",
        "postcopy_failed",
    ),
    "resumed": ("unpaused", "migrated", "from_snapshot", "postcopy", "postcopy_failed"),
    "stopped": (
        "shutdown",
        "destroyed",
        "crashed",
        "migrated",
        "saved",
        "failed",
        "from_snapshot",
    ),
    "shutdown": ("finished", "guest", "host"),
    "pmsuspended": ("memory", "disk"),
    "crashed": ("panicked", "crashloaded"),
}

# virNetworkEventLifecycleType and virStoragePoolEventLifecycleType, in enum order. A pool's
# refresh event (VIR_STORAGE_POOL_EVENT_ID_REFRESH) has no type of its own: it is "refreshed".
NETWORK_EVENTS = ("defined", "undefined", "started", "stopped")
POOL_EVENTS = ("defined", "undefined", "started", "stopped", "created", "deleted")
POOL_REFRESHED = "refreshed"

# Keys of a job's statistics worth sending (libvirt's typed parameter names).
JOB_STAT_KEYS = (
    "type",
    "operation",
    "success",
    "time_elapsed",
    "downtime",
    "downtime_net",
    "setup_time",
    "data_total",
    "data_processed",
    "data_remaining",
    "memory_dirty_rate",
    "memory_page_size",
    "memory_iteration",
    "errmsg",
)


def lifecycle_words(event, detail):
    """(event word, detail word) for libvirt's lifecycle ``event`` and ``detail`` codes."""
    if isinstance(event, int) and 0 <= event < len(LIFECYCLE_EVENTS):
        word = LIFECYCLE_EVENTS[event]
    else:
        return "unknown", "unknown"
    details = LIFECYCLE_DETAILS[word]
    if isinstance(detail, int) and 0 <= detail < len(details):
        return word, details[detail]
    return word, "unknown"


def _word(words, event):
    if isinstance(event, int) and not isinstance(event, bool) and 0 <= event < len(words):
        return words[event]
    return "unknown"


def network_word(event):
    """The word of libvirt's network lifecycle ``event`` code."""
    return _word(NETWORK_EVENTS, event)


def pool_word(event):
    """The word of libvirt's storage pool lifecycle ``event`` code."""
    return _word(POOL_EVENTS, event)


def state_tag(host, name):
    return f"brine/vm/{host}/{name}/state"


def job_tag(host, name):
    return f"brine/vm/{host}/{name}/job"


def host_tag(host, what):
    return f"brine/host/{host}/{what}"


def object_tag(kind, host, name):
    """``brine/network/<host>/<name>/state`` or ``brine/pool/<host>/<name>/state``."""
    if kind not in landscape_inventory.KINDS:
        raise ValueError(f"no events for a {kind!r}")
    return f"brine/{kind}/{host}/{name}/state"


def state_data(host, name, event, detail, vm):
    """The data of a ``brine/vm/<host>/<vm>/state`` event; ``vm`` is the VM dict or None."""
    return {
        "host": host,
        "name": name,
        "event": event,
        "detail": detail,
        "state": vm["state"] if vm else None,
        "reason": vm["reason"] if vm else None,
        "vm": vm,
    }


def object_data(host, name, event, active):
    """
    The data of a network's or pool's state event: ``active`` is whether it is active when the
    engine forwards the event (false once it is gone, None when libvirt could not say).
    """
    return {"host": host, "name": name, "event": event, "active": active}


def job_stats(stats):
    """The job statistics worth sending, as plain JSON values."""
    return {key: stats[key] for key in JOB_STAT_KEYS if key in (stats or {})}


def object_active(uri, kind, name):
    """
    Whether the network or pool ``name`` is active now, on a connection of its own to ``uri``
    (off libvirt's event loop, as ``libvirt_host.vm_by_name``); False when it no longer exists.
    """

    def opener():
        return libvirt_host.open_connection(uri)

    with libvirt_host.connection(opener, f"Could not look up the {kind} {name}") as conn:
        obj = landscape_inventory.find(conn, kind, name)
        return obj is not None and bool(obj.isActive())
