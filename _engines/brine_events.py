"""
Brine's host engine: libvirt's domain, network and pool events onto the Salt event bus
======================================================================================

Runs inside each host's salt-minion and forwards what libvirt reports about the
host's VMs to the master, under the ``brine/`` tags documented in Brine's
``docs/api.md`` (section Events), so the web UI never has to poll:

- ``brine/vm/<host>/<vm>/state`` for every lifecycle event (defined, started,
  suspended, resumed, stopped, shutdown, undefined, ...) and every reboot, with
  the VM's state after it and its VM dict;
- ``brine/vm/<host>/<vm>/job`` for a finished job (a migration, a save) and for
  each pass of a live migration over the VM's memory;
- ``brine/network/<host>/<name>/state`` for a libvirt network's lifecycle event (defined,
  undefined, started, stopped) and ``brine/pool/<host>/<name>/state`` for a storage pool's
  (also created, deleted, and refreshed), with whether it is active when the engine forwards it;
- ``brine/host/<host>/disconnected`` when libvirtd goes away, and
  ``brine/host/<host>/resync`` whenever the engine has (re)connected, because
  events may have been missed: the UI refetches that host.

It survives libvirtd restarts: the connection has keepalive probes and a close
callback, and is reopened with an exponential backoff. Its queue is bounded and coalesces per
VM, network and pool: a burst of lifecycle events for one VM sends one state event, with the
state the VM is in when the engine gets to it; when the queue is full, what does not fit is
dropped and a ``brine/host/<host>/resync`` tells the UI to refetch the host. The VM dict in a
state event is the one ``hypervisor.vm_info`` returns, built by the same library (``brine.libvirt_host``) on a
connection of its own, so a slow describe never holds up the event connection. The words, tags
and payloads are the library's (``brine.host_events``); this file does the I/O.

Every event is signed with the minion's own key (``<pki_dir>/minion.pem``, ``brine.signing``):
the master's event stream forwards a host's event only with its signature. Without a readable
key the engine logs an error, keeps running and sends its events unsigned (the stream drops them).

:depends: libvirt-python, Brine's library (``_utils/brine``, synced with ``saltutil.sync_utils``)

Configuration (minion config):

.. code-block:: yaml

    engines:
      - brine_events:
          # Optional; default is the minion's virt:connection:uri, else libvirt's default.
          uri: qemu:///system
          # Seconds between reconnection attempts: doubles from min to max.
          reconnect_min: 1
          reconnect_max: 30
          # Events waiting to be sent, at most (one per VM, network or pool and kind once coalesced).
          queue_size: 1000
"""

import logging
import queue
import threading
import time

from brine import event_queue
from brine import host_events
from brine import libvirt_host
from brine import signing
from brine.event_queue import next_backoff

try:
    import libvirt

    HAS_LIBVIRT = True
except ImportError:
    HAS_LIBVIRT = False

log = logging.getLogger(__name__)

__virtualname__ = "brine_events"

KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 3
QUEUE_SIZE = event_queue.QUEUE_SIZE


def __virtual__():
    if not HAS_LIBVIRT:
        return (False, "the brine_events engine needs libvirt-python (import libvirt failed)")
    return __virtualname__


# ---------------------------------------------------------------------------
# Pure helpers: no libvirt connection, no Salt dunders. Tests call them directly. The events'
# words, tags and payloads are the library's (brine.host_events), the queue and the backoff are
# shared with brine_containers (brine.event_queue).
# ---------------------------------------------------------------------------


class EventQueue(event_queue.CoalescingQueue):
    """
    The events waiting to be sent (``brine.event_queue``): bounded, and coalescing per VM,
    network and pool. A VM has at most one waiting state event (the newest word wins; the worker
    describes the VM when it sends it, so the state sent is the latest anyway) and one waiting job
    event of each kind, a network or pool one waiting event (its newest word; ``active`` is read
    when sent). When ``size`` keys wait, a new key is dropped and counted (``take_dropped``): the
    worker then tells the UI to resync the host. A close notice always gets in.
    """

    def __init__(self, size=QUEUE_SIZE):
        super().__init__(size, self.key, always=(("closed",),))

    @staticmethod
    def key(item):
        kind = item[0]
        if kind in ("state", "network", "pool"):
            return (kind, item[1])
        if kind == "job":
            return (kind, item[1], item[2])
        return (kind,)


# ---------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------

_EVENT_LOOP_LOCK = threading.Lock()
_EVENT_LOOP_STARTED = False


def _start_event_loop():
    """libvirt's default event loop, once per process, in a daemon thread."""
    global _EVENT_LOOP_STARTED  # pylint: disable=global-statement
    with _EVENT_LOOP_LOCK:
        if _EVENT_LOOP_STARTED:
            return
        libvirt_host.quiet_errors()
        libvirt.virEventRegisterDefaultImpl()

        def run():
            while True:
                try:
                    libvirt.virEventRunDefaultImpl()
                except Exception:  # pylint: disable=broad-except
                    log.exception("brine_events: libvirt event loop iteration failed")
                    time.sleep(0.5)

        threading.Thread(target=run, name="brine-events-libvirt-loop", daemon=True).start()
        _EVENT_LOOP_STARTED = True


class EventForwarder:
    """
    One libvirt connection's events, forwarded through ``fire(tag, data)``.

    ``describe(name)`` returns the VM dict of ``name`` or None when it no longer
    exists; ``active(kind, name)`` whether a network or pool is active (None: cannot say).
    Callbacks from libvirt's loop only queue; a worker thread (``run``) describes VMs and
    fires, so a slow describe never stalls libvirt's loop.
    """

    def __init__(  # pylint: disable=too-many-arguments
        self,
        host,
        uri,
        fire,
        describe,
        reconnect_min=1.0,
        reconnect_max=30.0,
        queue_size=QUEUE_SIZE,
        active=None,
    ):
        self.host = host
        self.uri = uri
        self.fire = fire
        self.describe = describe
        self.active = active or (lambda kind, name: None)
        self.reconnect_min = float(reconnect_min)
        self.reconnect_max = float(reconnect_max)
        self.queue = EventQueue(queue_size)
        self.conn = None
        self.callback_ids = []
        self.stopping = threading.Event()

    # -- libvirt callbacks (libvirt's loop thread): queue only ----------------------------
    def _on_lifecycle(self, _conn, dom, event, detail, _opaque):
        self.queue.put(("state", dom.name(), *host_events.lifecycle_words(event, detail)))

    def _on_reboot(self, _conn, dom, _opaque):
        self.queue.put(("state", dom.name(), "reboot", "guest"))

    def _on_migration_iteration(self, _conn, dom, iteration, _opaque):
        self.queue.put(("job", dom.name(), "migration_iteration", {"iteration": iteration}))

    def _on_job_completed(self, _conn, dom, params, _opaque):
        self.queue.put(("job", dom.name(), "job_completed", {"stats": host_events.job_stats(params)}))

    def _on_network(self, _conn, network, event, _detail, _opaque):
        self.queue.put(("network", network.name(), host_events.network_word(event)))

    def _on_pool(self, _conn, pool, event, _detail, _opaque):
        self.queue.put(("pool", pool.name(), host_events.pool_word(event)))

    def _on_pool_refresh(self, _conn, pool, _opaque):
        self.queue.put(("pool", pool.name(), host_events.POOL_REFRESHED))

    def _on_close(self, _conn, reason, _opaque):
        words = {0: "an error", 1: "end of file", 2: "keepalive timeout", 3: "a client request"}
        self.queue.put(("closed", f"the connection to libvirtd was closed ({words.get(reason, reason)})"))

    # -- connection -------------------------------------------------------------------------
    def connect(self):
        conn = libvirt.openReadOnly(self.uri)
        try:
            conn.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
        except libvirt.libvirtError as err:
            # Local drivers without keepalive (test:///) still close cleanly.
            log.debug("brine_events: no keepalive on %s: %s", self.uri, err)
        try:
            conn.registerCloseCallback(self._on_close, None)
        except libvirt.libvirtError as err:
            log.debug("brine_events: no close callback on %s: %s", self.uri, err)
        # (register, deregister, event id, callback): domains, then networks and pools.
        domain = ("domainEventRegisterAny", "domainEventDeregisterAny")
        network = ("networkEventRegisterAny", "networkEventDeregisterAny")
        pool = ("storagePoolEventRegisterAny", "storagePoolEventDeregisterAny")
        callbacks = (
            (*domain, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle),
            (*domain, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, self._on_reboot),
            (*domain, libvirt.VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION, self._on_migration_iteration),
            (*domain, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, self._on_job_completed),
            (*network, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, self._on_network),
            (*pool, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, self._on_pool),
            (*pool, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, self._on_pool_refresh),
        )
        ids = []
        for register, deregister, event_id, callback in callbacks:
            try:
                ids.append((deregister, getattr(conn, register)(None, event_id, callback, None)))
            except libvirt.libvirtError as err:
                log.debug("brine_events: %s %s not supported: %s", register, event_id, err)
        self.conn, self.callback_ids = conn, ids

    def disconnect(self):
        conn, self.conn = self.conn, None
        if conn is None:
            return
        for deregister, callback_id in self.callback_ids:
            try:
                getattr(conn, deregister)(callback_id)
            except libvirt.libvirtError:
                pass
        self.callback_ids = []
        try:
            conn.unregisterCloseCallback()
        except libvirt.libvirtError:
            pass
        try:
            conn.close()
        except libvirt.libvirtError:
            pass

    def connect_with_backoff(self):
        """Connect, retrying with a growing pause; returns the seconds it took."""
        started = time.monotonic()
        delay = 0
        while not self.stopping.is_set():
            try:
                self.connect()
                return time.monotonic() - started
            except libvirt.libvirtError as err:
                delay = next_backoff(delay, self.reconnect_min, self.reconnect_max)
                log.info(
                    "brine_events: cannot connect to %s (%s); retrying in %g s",
                    self.uri,
                    err.get_error_message(),
                    delay,
                )
                self.stopping.wait(delay)
        return time.monotonic() - started

    # -- the worker -------------------------------------------------------------------------
    def _send(self, tag, data):
        try:
            self.fire(tag, data)
        except Exception:  # pylint: disable=broad-except
            log.exception("brine_events: could not fire %s", tag)

    def _vm(self, name):
        try:
            return self.describe(name)
        except Exception as err:  # pylint: disable=broad-except
            log.debug("brine_events: no VM dict for %s: %s", name, err)
            return None

    def _active(self, kind, name):
        try:
            return self.active(kind, name)
        except Exception as err:  # pylint: disable=broad-except
            log.debug("brine_events: cannot tell whether the %s %s is active: %s", kind, name, err)
            return None

    def handle(self, item):
        """Fire the Salt event for one queued item; returns False when the connection closed."""
        kind = item[0]
        host = self.host
        if kind == "state":
            _, name, event, detail = item
            vm = None if event == "undefined" else self._vm(name)
            self._send(
                host_events.state_tag(host, name), host_events.state_data(host, name, event, detail, vm)
            )
        elif kind == "job":
            _, name, event, extra = item
            self._send(
                host_events.job_tag(host, name), dict({"host": host, "name": name, "event": event}, **extra)
            )
        elif kind in ("network", "pool"):
            _, name, event = item
            data = host_events.object_data(host, name, event, self._active(kind, name))
            self._send(host_events.object_tag(kind, host, name), data)
        elif kind == "closed":
            return False
        return True

    def run_once(self, first):
        """Connect (with backoff), announce it, forward events until the connection closes."""
        waited = self.connect_with_backoff()
        if self.stopping.is_set():
            return
        reason = "engine started" if first else f"reconnected to libvirtd after {waited:.1f} s"
        self._send(host_events.host_tag(self.host, "resync"), {"host": self.host, "reason": reason})
        while not self.stopping.is_set():
            try:
                item = self.queue.get(timeout=1)
            except queue.Empty:
                # Belt and braces: a connection can die without its close callback firing.
                if self.conn is not None and not self.conn.isAlive():
                    item = ("closed", "the connection to libvirtd is no longer alive")
                else:
                    continue
            if self.handle(item):
                self._resync_if_dropped()
            else:
                error = item[1]
                log.warning("brine_events: %s", error)
                self.disconnect()
                self._drain()
                self._send(
                    host_events.host_tag(self.host, "disconnected"), {"host": self.host, "error": error}
                )
                return

    def _resync_if_dropped(self):
        dropped = self.queue.take_dropped()
        if dropped:
            log.warning("brine_events: queue full, %d event(s) dropped; asking the UI to resync", dropped)
            reason = event_queue.dropped_reason(dropped)
            self._send(host_events.host_tag(self.host, "resync"), {"host": self.host, "reason": reason})

    def _drain(self):
        """Forward what was queued before the close; drop a repeated close notice."""
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return
            if item[0] != "closed":
                self.handle(item)

    def run(self):
        first = True
        while not self.stopping.is_set():
            self.run_once(first)
            first = False
        self.disconnect()


def start(uri=None, reconnect_min=1, reconnect_max=30, queue_size=QUEUE_SIZE):
    """
    Forward this host's libvirt events to the master until the minion stops.

    uri
        libvirt URI; default ``virt:connection:uri`` from the minion's config, else
        libvirt's default.

    reconnect_min, reconnect_max
        Seconds between attempts to reconnect to libvirtd, doubling from min to max.

    queue_size
        Events waiting to be sent, at most, once coalesced per VM, network and pool.
    """
    _start_event_loop()
    host = __opts__.get("id") or __grains__.get("id")
    uri = uri or __salt__["config.get"]("virt:connection:uri") or None

    def send(tag, data):
        __salt__["event.send"](tag, data)

    # Every event signed with this minion's key: the master's stream drops unsigned ones.
    fire = signing.minion_sender(send, __opts__)

    def describe(name):
        return libvirt_host.vm_by_name(uri, name)

    def active(kind, name):
        return host_events.object_active(uri, kind, name)

    EventForwarder(host, uri, fire, describe, reconnect_min, reconnect_max, queue_size, active=active).run()
