"""
Brine's install engine: each unattended install on this host followed to its end
===============================================================================

Runs inside each host's salt-minion beside ``brine_events``. A domain that ``provision.install``
started carries Brine's ``<install>`` marker; this engine (``brine.install_follow``):

- reads the installer's progress from the host's serial console log while the domain runs
  (never the guest) and sends it as ``brine/vm/<host>/<vm>/install`` events;
- when the installer has powered the domain off, starts the VM from its disk after
  ``brine-install: done`` (state ``running``), else removes what the install made and
  reports ``failed`` with the installer's reason.

It finds the installing domains once per connection to libvirtd (so an install whose events
were missed while libvirtd or the minion restarted still ends), learns of new ones from
lifecycle and metadata-change events, and looks at those it follows each ``interval`` seconds
(progress); the host's other domains cost it nothing. Events are signed with the minion's
key, like ``brine_events``' (``brine.signing``).

:depends: libvirt-python, Brine's library (``_utils/brine``)

Configuration (minion config):

.. code-block:: yaml

    engines:
      - brine_installs:
          interval: 2      # seconds between looks at installing domains (1 to 60)
"""

import logging
import queue
import threading

from brine import install
from brine import install_follow
from brine import libvirt_host
from brine import signing

try:
    import libvirt

    HAS_LIBVIRT = True
except ImportError:
    HAS_LIBVIRT = False

log = logging.getLogger(__name__)

__virtualname__ = "brine_installs"

_LOOP_LOCK = threading.Lock()
_LOOP_STARTED = []


def __virtual__():
    if not HAS_LIBVIRT:
        return (False, "the brine_installs engine needs libvirt-python")
    return __virtualname__


def _start_event_loop():
    """libvirt's default event loop, once per process (``brine_events`` may have started it)."""
    with _LOOP_LOCK:
        if _LOOP_STARTED:
            return
        try:
            libvirt.virEventRegisterDefaultImpl()
        except libvirt.libvirtError:
            log.debug("brine_installs: libvirt's event loop is registered already")

        def run():
            while True:
                try:
                    libvirt.virEventRunDefaultImpl()
                except Exception:  # pylint: disable=broad-except
                    log.exception("brine_installs: libvirt event loop iteration failed")

        threading.Thread(target=run, name="brine-installs-libvirt-loop", daemon=True).start()
        _LOOP_STARTED.append(True)


class Follower:
    """Follows the installs of one libvirt connection, firing ``fire(tag, data)``."""

    def __init__(self, host, uri, fire, interval=2.0, records_dir=install.RECORDS_DIR):
        self.host, self.uri, self.fire = host, uri, fire
        self.interval = min(max(float(interval), 1.0), 60.0)
        self.records_dir = records_dir
        self.wake = queue.Queue()
        self.stopping = threading.Event()
        # The domains installing now: found once per connection, then from events only, so a
        # look costs nothing for the host's other domains.
        self.tracked = set()

    def _on_lifecycle(self, _conn, dom, _event, _detail, _opaque):
        self.wake.put(dom.name())

    def _on_metadata(self, _conn, dom, _type, _nsuri, _opaque):
        # provision.install marks a domain after virt-install defined and started it.
        self.wake.put(dom.name())

    def look(self, conn, doms):
        """Check each domain and fire what its install calls for; the names still installing."""
        installing = set()
        for dom in doms:
            try:
                payload = install_follow.check(conn, dom, self.host, self.records_dir)
            except Exception:  # pylint: disable=broad-except
                log.exception("brine_installs: could not follow the install of %s", dom.name())
                installing.add(dom.name())  # still ours: the next look tries again
                continue
            if payload:
                try:
                    self.fire(install_follow.install_tag(self.host, payload["name"]), payload)
                except Exception:  # pylint: disable=broad-except
                    log.exception("brine_installs: could not send the install event of %s", payload["name"])
            if install_follow.is_installing(dom):
                installing.add(dom.name())
        return installing

    def _woken(self):
        names = set()
        try:
            names.add(self.wake.get(timeout=self.interval))
            while True:
                names.add(self.wake.get_nowait())
        except queue.Empty:
            pass
        return names

    @staticmethod
    def _domains(conn, names):
        doms = []
        for name in sorted(names):
            try:
                doms.append(conn.lookupByName(name))
            except libvirt.libvirtError:
                continue
        return doms

    def _register(self, conn):
        ids = [
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, None)
        ]
        try:
            ids.append(
                conn.domainEventRegisterAny(
                    None, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, self._on_metadata, None
                )
            )
        except (AttributeError, libvirt.libvirtError):
            log.debug("brine_installs: no metadata events here; lifecycle events and the start scan only")
        return ids

    def run_once(self):
        conn = libvirt.open(self.uri)
        callbacks = self._register(conn)
        try:
            # Once per connection: installs that began (or events missed) while it was down.
            self.tracked = {dom.name() for dom in install_follow.installing(conn)}
            while not self.stopping.is_set() and conn.isAlive():
                names = self.tracked | self._woken()
                self.tracked = self.look(conn, self._domains(conn, names))
        finally:
            try:
                for callback in callbacks:
                    conn.domainEventDeregisterAny(callback)
                conn.close()
            except libvirt.libvirtError:
                pass

    def run(self):
        while not self.stopping.is_set():
            try:
                self.run_once()
            except libvirt.libvirtError as err:
                log.info("brine_installs: libvirt connection lost (%s); retrying", libvirt_host.message(err))
            self.stopping.wait(self.interval)


def start(interval=2):
    """Follow this host's installs until the minion stops."""
    _start_event_loop()
    host = __opts__.get("id") or __grains__.get("id")
    uri = __salt__["config.get"]("virt:connection:uri") or "qemu:///system"

    def send(tag, data):
        __salt__["event.send"](tag, data)

    Follower(host, uri, signing.minion_sender(send, __opts__), interval).run()
