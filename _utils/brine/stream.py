"""
Brine's event stream: which events of the master bus a user may see, checked and formatted.

The master engine ``brine_stream`` reads the master event bus and serves each signed-in user,
as Server-Sent Events, only Brine's events and minion starts, after this module has checked
them. Everything here is plain Python (no I/O, no Salt dunders): the engine does the reading,
the HTTP and the clock.

What an event on the master bus looks like (salt 3008, ``salt/master.py`` AESFuncs
``_minion_event`` → ``salt/daemons/masterapi.py`` ``_minion_event``):

- an event a host sends (``event.send`` / ``event.fire_master``) is fired on the master bus as
  the whole load the minion sent: ``{"cmd": "_minion_event", "id": <minion>, "tag": <tag>,
  "data": <payload>, ...}``. The request server has checked ``id`` against the minion's key
  (``salt/channel/server.py``: the payload's id must equal the authenticated id), but Salt also
  takes a batch (a load with ``events``) and fires each event exactly as the minion wrote it,
  ``cmd`` and ``id`` included: so ``id`` proves nothing alone. Brine's hosts sign their events
  with their minion key (``brine.signing``), and the signature is what proves the sender.
- an event the master fires itself (the runner's ``brine/migration/<id>/failed``) carries the
  payload directly, with no ``cmd`` and no ``id``.

``check`` lets an event through only when the host it names (in the tag, and in the payload's
``host`` or, for a migration, ``source``) is the minion ``id`` it claims to come from and the
payload carries that host's fresh signature of the tag and payload (``verifier``, a
``brine.signing.Verifier`` over the master's accepted keys), or when it is one of the few tags
the master fires itself. Anything else is dropped, with a reason the engine counts.
"""

import collections
import grp
import json
import os
import pwd
import re

from brine import signing

# Roles, lowest first; a user's role is the highest Brine group they belong to.
ROLES = ("viewer", "operator", "admin")
GROUPS = {"brine-viewer": "viewer", "brine-operator": "operator", "brine-admin": "admin"}

# A segment of a tag: no slash, no white space (a tag goes on one SSE line).
_SEGMENT = r"[^/\s]+"

Route = collections.namedtuple("Route", "pattern role sender master signed", defaults=(True,))
# Every event the stream serves (docs/api.md, Events), in one table:
#   pattern  the whole tag; a group named ``host`` is the host the tag names
#   role     the lowest role that sees it (later issues narrow this, e.g. per pool)
#   sender   the payload field that must name the sending minion (None: the tag alone)
#   master   the master fires it itself too (payload without cmd/id, trusted)
#   signed   a host's event must carry its signature (brine.signing); False only for Salt's own
ROUTES = (
    Route(
        re.compile(rf"brine/vm/(?P<host>{_SEGMENT})/{_SEGMENT}/(?:state|job|install)"),
        "viewer",
        "host",
        False,
    ),
    Route(re.compile(rf"brine/host/(?P<host>{_SEGMENT})/(?:resync|disconnected)"), "viewer", "host", False),
    # A host's libvirt networks and storage pools (docs/landscape.md, What the hosts have).
    Route(
        re.compile(rf"brine/(?:network|pool)/(?P<host>{_SEGMENT})/{_SEGMENT}/state"), "viewer", "host", False
    ),
    # A host's Docker containers and images (docs/containers.md; engine brine_containers).
    Route(re.compile(rf"brine/container/(?P<host>{_SEGMENT})/{_SEGMENT}/state"), "viewer", "host", False),
    Route(re.compile(rf"brine/images/(?P<host>{_SEGMENT})/changed"), "viewer", "host", False),
    Route(re.compile(rf"brine/migration/{_SEGMENT}/(?:started|progress|done)"), "viewer", "source", False),
    Route(re.compile(rf"brine/migration/{_SEGMENT}/failed"), "viewer", "source", True),
    # Salt fires it, unsigned: forging one only makes the UI refetch that host.
    Route(re.compile(rf"salt/minion/(?P<host>{_SEGMENT})/start"), "viewer", None, False, False),
)

KEEPALIVE = ": keepalive\n\n"


def route_of(tag):
    """The route of ``tag``, or None when the stream never serves it."""
    if not isinstance(tag, str):
        return None
    for route in ROUTES:
        if route.pattern.fullmatch(tag):
            return route
    return None


def may_see(role, route):
    """Does a user of ``role`` see events of ``route``?"""
    return role in ROLES and ROLES.index(role) >= ROLES.index(route.role)


def _public(payload):
    # Salt's own bookkeeping (_stamp, __pub_*) and the signature are not Brine's data.
    return signing.public(payload)


def _from_host(route, tag, data, verifier):
    minion = data.get("id")
    if data.get("cmd") != "_minion_event" or not isinstance(minion, str) or not minion:
        return None, "malformed minion event"
    named = route.pattern.fullmatch(tag).groupdict().get("host")
    if named is not None and named != minion:
        return None, "tag names another host"
    payload = data.get("data")
    if route.sender is None:
        return {"host": minion}, None
    if not isinstance(payload, dict):
        return None, "payload is not a mapping"
    if payload.get(route.sender) != minion:
        return None, f"payload's {route.sender} is another host"
    if route.signed:
        reason = verifier.verify(minion, tag, payload)
        if reason:
            return None, reason
    return dict(_public(payload), host=minion), None


def check(tag, data, verifier):
    """
    ``(payload, None)`` for an event the stream serves, ``(None, reason)`` for one it drops,
    ``(None, None)`` for one that is not the stream's at all (most of the bus).

    The payload is what a browser gets: a host's own payload plus ``host`` (the minion whose
    signature ``verifier.verify(host, tag, payload)`` accepted), or the master's payload as
    it fired it.
    """
    route = route_of(tag)
    if route is None:
        return None, None
    if not isinstance(data, dict):
        return None, "data is not a mapping"
    if "cmd" in data:
        # (Not "id": the master's own migration events carry the migration's id.)
        return _from_host(route, tag, data, verifier)
    if route.master:
        # A host can put a payload without cmd on the bus too (Salt's batched events): only
        # the master's own signature makes it the master's.
        reason = verifier.verify_master(tag, data)
        if reason:
            return None, f"master event: {reason}"
        return _public(data), None
    return None, "not sent by a host and not one the master fires"


def format_event(tag, payload):
    """One SSE message, in salt-api's shape so the browser's parser stays as it is."""
    body = json.dumps({"tag": tag, "data": payload}, separators=(",", ":"), default=str)
    return f"tag: {tag}\ndata: {body}\n\n"


def format_resync(reason):
    """The last message to a client that fell behind: reconnect and refetch."""
    return f"event: resync\ndata: {json.dumps({'reason': reason})}\n\n"


# ---------------------------------------------------------------------------
# Who is asking: the role from PAM groups (cluster.session), and salt-api's answer read back
# ---------------------------------------------------------------------------


def role_of_groups(groups):
    """The highest role among group names ``groups``, or None when none is Brine's."""
    roles = [GROUPS[name] for name in groups if name in GROUPS]
    return max(roles, key=ROLES.index) if roles else None


def groups_of(user):
    """The names of every group ``user`` belongs to (primary included); empty if unknown."""
    try:
        primary = pwd.getpwnam(user).pw_gid
    except (KeyError, TypeError):
        return set()
    names = set()
    for gid in os.getgrouplist(user, primary):
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return names


def session(user):
    """What ``cluster.session`` returns: ``{"user", "role"}``; role None outside Brine's groups."""
    return {"user": user, "role": role_of_groups(groups_of(user))}


def read_session(status, body):
    """
    ``(HTTP status for the stream's client, session or None)`` from salt-api's answer to
    ``[{"client": "runner", "fun": "cluster.session"}]``: 401 stays 401 (bad or expired token),
    403 for a user with no Brine role, 502 for anything salt-api should not have said.
    """
    if status in (401, 403):
        return status, None
    if status != 200:
        return 502, None
    try:
        ret = json.loads(body)["return"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return 502, None
    if not isinstance(ret, dict) or not isinstance(ret.get("user"), str):
        return 502, None
    if ret.get("role") not in ROLES:
        return 403, None
    return 200, {"user": ret["user"], "role": ret["role"]}


# ---------------------------------------------------------------------------
# Clients: a bounded queue each, and the hub that fans events out by role
# ---------------------------------------------------------------------------


class Client:
    """
    One open stream: its user, role and a bounded queue of formatted messages. A client that
    lets ``size`` messages pile up is cut off (``overflowed``); it reconnects and refetches.
    ``wake`` is called whenever there is something new to send.
    """

    def __init__(self, user, role, size, wake=lambda: None):
        self.user = user
        self.role = role
        self.size = int(size)
        self.wake = wake
        self.messages = collections.deque()
        self.overflowed = False

    def put(self, message):
        if self.overflowed:
            return False
        if len(self.messages) >= self.size:
            self.messages.clear()
            self.overflowed = True
        else:
            self.messages.append(message)
        self.wake()
        return not self.overflowed

    def take(self):
        """Every queued message, oldest first; the queue is empty afterwards."""
        messages = list(self.messages)
        self.messages.clear()
        return messages


class Hub:
    """Every open client; ``publish`` gives an accepted event to each client whose role sees it."""

    def __init__(self):
        self.clients = set()

    def join(self, client):
        self.clients.add(client)
        return client

    def leave(self, client):
        self.clients.discard(client)

    def publish(self, tag, payload):
        route = route_of(tag)
        if route is None:
            return 0
        message = format_event(tag, payload)
        sent = 0
        for client in list(self.clients):
            if may_see(client.role, route):
                sent += 1 if client.put(message) else 0
        return sent


class Drops:
    """Counts dropped events per reason; ``summary`` empties the count for one log line."""

    def __init__(self):
        self.counts = collections.Counter()

    def add(self, reason):
        self.counts[reason] += 1

    def summary(self):
        if not self.counts:
            return None
        text = ", ".join(f"{count} {reason}" for reason, count in sorted(self.counts.items()))
        total = sum(self.counts.values())
        self.counts.clear()
        return f"dropped {total} event(s) the stream does not trust: {text}"
