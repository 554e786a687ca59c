"""
Brine's container engine: Docker's container and image events onto the Salt event bus
=====================================================================================

Runs inside each host's salt-minion beside ``brine_events`` and forwards what the host's Docker
engine reports to the master, under the ``brine/`` tags documented in Brine's ``docs/api.md``
(section Events), so the web UI follows containers without polling (issue 12):

- ``brine/container/<host>/<name>/state`` when a container is created, started, stopped, dies,
  is paused, unpaused, restarted, renamed, removed or runs out of memory, with the container's
  dict as it is when the engine forwards the event (null once no container has that name);
- ``brine/images/<host>/changed`` when an image is pulled, removed, tagged, untagged, imported
  or loaded, with the reference it names;
- ``brine/host/<host>/resync`` whenever the engine has (re)connected to Docker, because events
  may have been missed, and when its queue dropped events: the UI refetches that host.

It reads Docker's event stream (``docker.APIClient.events``, containers and images only) in the
engine's thread and puts what it forwards in a bounded queue that coalesces per container name
and image reference (``brine.event_queue``, shared with ``brine_events``): a burst of events
about one container sends its latest word once, described when it is sent, by a worker thread
with a Docker connection of its own (``brine.docker_host.describe``), so a slow describe never
holds up the stream. The words, tags and payloads are the library's (``brine.container_events``);
this file does the I/O.

It survives Docker going away: when the stream ends, it reconnects with a backoff growing from
``reconnect_min`` to ``reconnect_max`` seconds and sends a resync once it is back. A host with no
Docker socket at the URL (no engine installed, not started yet, or restarting: dockerd removes its
socket while it is down) is looked at again after a pause growing from ``reconnect_min`` to
``absent_wait`` seconds, quietly: the engine logs once that there is none, and once when it
connects.

Every event is signed with the minion's own key (``<pki_dir>/minion.pem``, ``brine.signing``),
as ``brine_events``' are: the master's event stream forwards a host's event only with its
signature.

:depends: the docker SDK (``docker``), Brine's library (``_utils/brine``)

Configuration (minion config):

.. code-block:: yaml

    engines:
      - brine_containers:
          # Optional; default is the minion's docker.url, else unix:///run/docker.sock.
          url: unix:///run/docker.sock
          # Seconds between reconnection attempts while the engine does not answer: doubles
          # from min to max.
          reconnect_min: 1
          reconnect_max: 30
          # Seconds between looks for the socket while there is none (no engine on this host), at
          # most: the pause grows from reconnect_min to this.
          absent_wait: 60
          # Events waiting to be sent, at most (one per container and per image once coalesced).
          queue_size: 1000
"""

import logging
import os
import threading
import time

from brine import container_events
from brine import docker_host
from brine import event_queue
from brine import host_events
from brine import signing
from brine.event_queue import next_backoff

try:
    import docker  # noqa: F401  pylint: disable=unused-import

    HAS_DOCKER = True
except ImportError:
    HAS_DOCKER = False

log = logging.getLogger(__name__)

__virtualname__ = "brine_containers"

QUEUE_SIZE = event_queue.QUEUE_SIZE
ABSENT_WAIT = 60
# The queue's item that ends the worker (always gets in).
STOP = ("stop",)


def __virtual__():
    if not HAS_DOCKER:
        return (False, "the brine_containers engine needs the docker Python package (the docker SDK)")
    return __virtualname__


class NoEngine(Exception):
    """There is no Docker socket at the engine's URL: this host has no Docker engine (yet)."""


def _close(*things):
    """Close an event stream and a client, whatever state they are in."""
    for thing in things:
        try:
            thing.close()
        except Exception as err:  # pylint: disable=broad-except
            log.debug("brine_containers: closing %r: %s", thing, err)


class ContainerForwarder:
    """
    The events of the Docker engine at ``url``, forwarded through ``fire(tag, data)``.

    ``connect(url)`` returns a ``docker.APIClient`` that answered (``brine.docker_host.connect``)
    and ``describe(client, name)`` the container dict of ``name`` or None
    (``brine.docker_host.describe``). ``run`` reads the stream in the calling thread and sends
    from a worker thread; ``stop`` ends both.
    """

    def __init__(  # pylint: disable=too-many-arguments
        self,
        host,
        url,
        fire,
        connect=None,
        describe=None,
        reconnect_min=1.0,
        reconnect_max=30.0,
        absent_wait=ABSENT_WAIT,
        queue_size=QUEUE_SIZE,
    ):
        self.host = host
        self.url = url
        self.fire = fire
        self.connect = connect or docker_host.connect
        self.describe = describe or docker_host.describe
        # Never a busy loop, whatever the configuration says.
        self.reconnect_min = max(0.05, float(reconnect_min))
        self.reconnect_max = max(self.reconnect_min, float(reconnect_max))
        self.absent_wait = max(self.reconnect_min, float(absent_wait))
        self.queue = event_queue.CoalescingQueue(queue_size, container_events.key, always=(("resync",), STOP))
        self.stopping = threading.Event()
        self.events = None  # the open event stream, which stop() closes
        self.client = None  # the worker's own connection, for describing containers
        self.condition = None  # "up", "down" or "none": logged when it changes

    # -- the reader: Docker's event stream into the queue ------------------------------------
    def open(self):
        """A client and its event stream, from now on; ``NoEngine`` when there is no socket."""
        path = container_events.socket_path(self.url)
        if path is not None and not os.path.exists(path):
            raise NoEngine(f"no Docker socket at {path}")
        client = self.connect(self.url)
        try:
            events = client.events(decode=True, since=time.time(), filters=container_events.FILTERS)
        except Exception:
            _close(client)
            raise
        return client, events

    def follow(self, events):
        """Queue what the stream says until it ends; returns why it ended."""
        try:
            for event in events:
                for item in container_events.items(event):
                    self.queue.put(item)
                if self.stopping.is_set():
                    break
        except Exception as err:  # pylint: disable=broad-except
            return f"Docker's event stream failed ({err})"
        return "Docker's event stream ended"

    def _note(self, condition, message):
        """Log ``message`` when the engine's condition changes, and only then (debug otherwise)."""
        if condition == self.condition:
            log.debug("brine_containers: %s", message)
            return
        self.condition = condition
        (log.warning if condition == "down" else log.info)("brine_containers: %s", message)

    def read(self):
        """Connect, announce it, follow the stream; again, with backoff, until stopped."""
        delay, first, lost = 0.0, True, time.monotonic()
        while not self.stopping.is_set():
            try:
                client, events = self.open()
            except NoEngine as err:
                # Quick after Docker removed its socket to restart, then at most every absent_wait.
                delay = next_backoff(delay, self.reconnect_min, self.absent_wait)
                every = f"at most every {self.absent_wait:g} s"
                self._note("none", f"{err}: no Docker engine on this host; looking again ({every})")
                self.stopping.wait(delay)
                continue
            except Exception as err:  # pylint: disable=broad-except
                delay = next_backoff(delay, self.reconnect_min, self.reconnect_max)
                self._note("down", f"the Docker engine at {self.url} does not answer ({err}); retrying")
                self.stopping.wait(delay)
                continue
            self.events = events
            if self.stopping.is_set():
                _close(events, client)
                break
            self._note("up", f"following the events of the Docker engine at {self.url}")
            reason = (
                "engine started" if first else f"reconnected to Docker after {time.monotonic() - lost:.1f} s"
            )
            first = False
            self.queue.put(("resync", reason))
            opened = time.monotonic()
            ended = self.follow(events)
            self.events = None
            _close(events, client)
            lost = time.monotonic()
            if self.stopping.is_set():
                break
            log.info("brine_containers: %s; reconnecting", ended)
            self.condition = None
            # A stream that lived a while: reconnect at once; one that keeps ending: back off.
            delay = (
                0.0
                if lost - opened >= self.reconnect_max
                else next_backoff(delay, self.reconnect_min, self.reconnect_max)
            )
            self.stopping.wait(delay)

    # -- the worker: the queue to the bus ---------------------------------------------------
    def _send(self, tag, data):
        try:
            self.fire(tag, data)
        except Exception:  # pylint: disable=broad-except
            log.exception("brine_containers: could not fire %s", tag)

    def _close_client(self):
        client, self.client = self.client, None
        if client is not None:
            _close(client)

    def _describe(self, name):
        if self.client is None:
            self.client = self.connect(self.url)
        try:
            return self.describe(self.client, name)
        except Exception:
            self._close_client()
            raise

    def handle(self, item):
        """Fire the Salt event for one queued item."""
        kind, host = item[0], self.host
        if kind == "container":
            _, name, word = item
            try:
                container = None if word == "removed" else self._describe(name)
            except Exception as err:  # pylint: disable=broad-except
                # Not "gone": say nothing of it, and let the UI read the host again.
                log.info("brine_containers: could not describe the container %s: %s", name, err)
                self.queue.put(("resync", f"could not describe the container {name}: {err}"))
                return
            data = container_events.container_data(host, name, word, container)
            self._send(container_events.container_tag(host, name), data)
        elif kind == "image":
            _, ref, word = item
            self._send(container_events.images_tag(host), container_events.image_data(host, word, ref))
        elif kind == "resync":
            self._send(host_events.host_tag(host, "resync"), {"host": host, "reason": item[1]})

    def _resync_if_dropped(self):
        dropped = self.queue.take_dropped()
        if dropped:
            log.warning("brine_containers: queue full, %d event(s) dropped; asking the UI to resync", dropped)
            reason = event_queue.dropped_reason(dropped)
            self._send(host_events.host_tag(self.host, "resync"), {"host": self.host, "reason": reason})

    def work(self):
        """Send what the reader queues until ``stop``."""
        while True:
            item = self.queue.get()
            if item == STOP:
                return
            self.handle(item)
            self._resync_if_dropped()

    # -- the whole --------------------------------------------------------------------------
    def run(self):
        worker = threading.Thread(target=self.work, name="brine-containers-worker", daemon=True)
        worker.start()
        try:
            self.read()
        finally:
            self.queue.put(STOP)
            worker.join(30)
            self._close_client()

    def stop(self):
        """End ``run``: the stream is closed under the reader, the worker ends after what waits."""
        self.stopping.set()
        events = self.events
        if events is not None:
            _close(events)
        self.queue.put(STOP)


def start(url=None, reconnect_min=1, reconnect_max=30, absent_wait=ABSENT_WAIT, queue_size=QUEUE_SIZE):
    """
    Forward this host's Docker events to the master until the minion stops.

    url
        The Docker engine's URL; default ``docker.url`` from the minion's config (saltext-dockermod's
        key), else ``unix:///run/docker.sock``.

    reconnect_min, reconnect_max
        Seconds between attempts to reconnect to an engine that does not answer, doubling from
        min to max.

    absent_wait
        Seconds between looks for the socket while there is none, at most (the pause grows from
        reconnect_min to it).

    queue_size
        Events waiting to be sent, at most, once coalesced per container and image.
    """
    host = __opts__.get("id") or __grains__.get("id")
    url = url or __salt__["config.get"]("docker.url") or docker_host.DEFAULT_URL

    # Looked up here, in the engine's own thread: Salt's loader context (``__salt__``) is not there
    # in the threads the forwarder sends from, while the loaded function carries its own.
    event_send = __salt__["event.send"]

    def send(tag, data):
        event_send(tag, data)

    # Every event signed with this minion's key: the master's stream drops unsigned ones.
    fire = signing.minion_sender(send, __opts__)
    ContainerForwarder(
        host,
        url,
        fire,
        reconnect_min=reconnect_min,
        reconnect_max=reconnect_max,
        absent_wait=absent_wait,
        queue_size=queue_size,
    ).run()
