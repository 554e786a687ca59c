"""
Brine's event stream: the master bus, checked and filtered per user, as Server-Sent Events
==========================================================================================

Runs in the salt-master (a master engine) and serves ``GET /stream`` over HTTP on loopback;
nginx proxies the site's ``/stream`` to it. The browser never reads salt-api's ``/events``,
which carries every job's arguments and returns: this engine forwards only Brine's events
(``brine/...``) and minion starts, after ``brine.stream.check`` has made sure the host an event
names is the minion that sent it (its signature, checked with the key the master accepted for
that host: ``brine.signing``), and only to users whose role sees the tag (docs/api.md, Events).

A client authenticates with its salt-api token (``X-Auth-Token``): the engine asks salt-api
once per connection who that is (``cluster.session`` through the runner client); salt-api's
401 is the client's 401. Nothing is cached across connections.

:depends: tornado (Salt's own dependency), Brine's library (``_utils/brine``, ``utils_dirs``)

Configuration (master configuration, else pillar; defaults in ``brine.config.KEYS``):

.. code-block:: yaml

    engines_dirs:
      - /srv/brine/_engines
    engines:
      - brine_stream: {}
    brine:
      stream:
        listen: 127.0.0.1:8001
        salt_api: http://127.0.0.1:8000
        queue_size: 1000
        keepalive: 15
"""

import asyncio
import json
import logging
import os
import threading
import time

import salt.utils.event

from brine import config
from brine import signing
from brine import stream

try:
    import tornado.httpclient
    import tornado.iostream
    import tornado.web

    HAS_TORNADO = True
except ImportError:
    HAS_TORNADO = False

log = logging.getLogger(__name__)

__virtualname__ = "brine_stream"

AUTH_TIMEOUT = 60
DROP_LOG_INTERVAL = 60


def __virtual__():
    # _engines/ is synced to hosts too: this one belongs to the master alone.
    if __opts__.get("__role") != "master":
        return (False, "brine_stream runs in the salt-master only")
    if not HAS_TORNADO:
        return (False, "brine_stream needs tornado (import tornado failed)")
    return __virtualname__


class StreamHandler(tornado.web.RequestHandler if HAS_TORNADO else object):
    """``GET /stream``: one user's filtered events until the client goes away."""

    def initialize(self, server):
        # pylint: disable=attribute-defined-outside-init
        self.server = server
        self.wakeup = asyncio.Event()
        self.gone = False

    def on_connection_close(self):
        self.gone = True
        self.wakeup.set()

    def refuse(self, status, sentence):
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status, "return": sentence}))

    async def get(self):
        token = self.request.headers.get("X-Auth-Token", "")
        if not token:
            return self.refuse(401, "Sign in first: the stream needs an X-Auth-Token.")
        status, session = await self.server.whoami(token)
        if status != 200:
            sentences = {401: "The token is not valid (signed out or expired).", 403: "No Brine role."}
            return self.refuse(status, sentences.get(status, "salt-api did not say who this is."))
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Accel-Buffering", "no")
        client = stream.Client(session["user"], session["role"], self.server.queue_size, self.wakeup.set)
        self.server.hub.join(client)
        try:
            self.write(f": Brine's event stream for {session['user']} ({session['role']})\n\n")
            await self.flush()
            await self.pump(client)
        except tornado.iostream.StreamClosedError:
            pass
        finally:
            self.server.hub.leave(client)
        return None

    async def pump(self, client):
        while not self.gone:
            try:
                await asyncio.wait_for(self.wakeup.wait(), self.server.keepalive)
            except TimeoutError:
                self.write(stream.KEEPALIVE)
                await self.flush()
                continue
            self.wakeup.clear()
            for message in client.take():
                self.write(message)
            if client.overflowed:
                log.info("brine_stream: %s fell %d events behind: cut off", client.user, client.size)
                self.write(stream.format_resync(f"more than {client.size} events were waiting"))
                await self.flush()
                self.finish()
                return
            await self.flush()


class StreamServer:
    """The HTTP side: salt-api for who is asking, the hub for what they get."""

    def __init__(self, salt_api, queue_size, keepalive):
        self.salt_api = salt_api.rstrip("/")
        self.queue_size = int(queue_size)
        self.keepalive = float(keepalive)
        self.hub = stream.Hub()
        self.loop = None
        self.error = None

    async def whoami(self, token):
        request = tornado.httpclient.HTTPRequest(
            f"{self.salt_api}/",
            method="POST",
            headers={"X-Auth-Token": token, "Accept": "application/json", "Content-Type": "application/json"},
            body=json.dumps([{"client": "runner", "fun": "cluster.session"}]),
            request_timeout=AUTH_TIMEOUT,
        )
        try:
            response = await tornado.httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError as err:
            log.warning("brine_stream: cannot reach salt-api at %s: %s", self.salt_api, err)
            return 502, None
        return stream.read_session(response.code, response.body or b"")

    def publish(self, tag, payload):
        """From the bus thread: hand an accepted event to the HTTP loop."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.hub.publish, tag, payload)

    def serve(self, address, port, ready):
        """Run the HTTP server in this thread, on an event loop of its own."""
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        app = tornado.web.Application([(r"/stream", StreamHandler, {"server": self})])
        try:
            app.listen(port, address=address, xheaders=False)
        except OSError as err:
            self.error = err
            ready.set()
            return
        log.info("brine_stream: serving Brine's event stream on http://%s:%s/stream", address, port)
        ready.set()
        self.loop.run_forever()


def _listen_address(listen):
    address, _, port = str(listen).rpartition(":")
    return address.strip("[]") or "127.0.0.1", int(port)


def verifier_of(opts):
    """Checks hosts' signatures with the keys the master accepted (``<pki_dir>/minions/<id>``)."""
    return signing.Verifier(
        os.path.join(opts["pki_dir"], "minions"), master_key=os.path.join(opts["pki_dir"], "master.pub")
    )


def read_bus(opts, server, drops, stop=None):
    """Read the master bus in this thread; accepted events go to ``server.publish``."""
    verifier = verifier_of(opts)
    last_report = time.monotonic()
    with salt.utils.event.get_master_event(opts, opts["sock_dir"], listen=True) as bus:
        while stop is None or not stop.is_set():
            event = bus.get_event(wait=1, full=True)
            if event:
                payload, reason = stream.check(event.get("tag"), event.get("data"), verifier)
                if payload is not None:
                    server.publish(event["tag"], payload)
                elif reason is not None:
                    drops.add(reason)
            if time.monotonic() - last_report >= DROP_LOG_INTERVAL:
                last_report = time.monotonic()
                line = drops.summary()
                if line:
                    log.warning("brine_stream: %s", line)


def start():
    """
    Serve Brine's event stream until the master stops.

    Settings: ``brine:stream:listen``, ``brine:stream:salt_api``, ``brine:stream:queue_size``,
    ``brine:stream:keepalive`` (defaults in ``brine.config.KEYS``).
    """
    lookup = config.master_lookup(__opts__)
    address, port = _listen_address(config.get("stream:listen", lookup))
    server = StreamServer(
        config.get("stream:salt_api", lookup),
        config.get("stream:queue_size", lookup),
        config.get("stream:keepalive", lookup),
    )
    ready = threading.Event()
    threading.Thread(
        target=server.serve, args=(address, port, ready), name="brine-stream-http", daemon=True
    ).start()
    if not ready.wait(30) or server.error:
        raise RuntimeError(f"brine_stream cannot listen on {address}:{port}: {server.error}")
    read_bus(__opts__, server, stream.Drops())
