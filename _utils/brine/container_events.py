"""
A host's Docker events in Brine's words: the tags and payloads the ``brine_containers`` engine
fires (docs/api.md, Events; issue 12).

- a container's event is ``brine/container/<host>/<name>/state`` with Brine's word for Docker's
  action and the container's dict as it is when the engine forwards it (``container_data``);
- an image's event is ``brine/images/<host>/changed`` with Brine's word and the reference it
  names (``image_data``);
- ``brine/host/<host>/resync`` after every (re)connection to Docker and when events were dropped
  (``brine.host_events.host_tag``).

Which of Docker's actions are forwarded is one table each (``CONTAINER_WORDS``, ``IMAGE_WORDS``);
every other action (``exec_create: <command>``, ``health_status: healthy``, ``attach``, ``kill``,
``top``, ``resize``, ``commit``, ``export``, ``push``, ``save``, ...) is dropped. Docker's event
carries the container's labels in its attributes: nothing of the attributes is forwarded but the
name (and an image's reference), and a container dict is sent with the contract's keys only, so
no environment value or label ever goes into an event.

Pure: ``items`` turns one decoded Docker event into the engine's queue items, the engine does the
I/O.
"""

import re

from brine import container_spec

# Docker's container actions -> Brine's words. "kill" is not forwarded: a "die" follows it (or
# nothing, when the signal did not end the process). "destroy" is a removal.
CONTAINER_WORDS = {
    "create": "created",
    "start": "started",
    "stop": "stopped",
    "pause": "paused",
    "unpause": "unpaused",
    "restart": "restarted",
    "destroy": "removed",
    "rename": "renamed",
    "die": "died",
    "oom": "oom",
}
CONTAINER_EVENTS = tuple(CONTAINER_WORDS.values())
# Docker's image actions -> Brine's words ("load", an image read from a tar, is an import too).
IMAGE_WORDS = {
    "pull": "pulled",
    "delete": "removed",
    "tag": "tagged",
    "untag": "untagged",
    "import": "imported",
    "load": "imported",
}
IMAGE_EVENTS = tuple(dict.fromkeys(IMAGE_WORDS.values()))
# What the engine asks Docker for (docker.APIClient.events' filters).
FILTERS = {"type": ["container", "image"]}
# The container dict's keys (the contract's shape): nothing else of a description is sent.
CONTAINER_KEYS = (
    "name",
    "id",
    "image",
    "image_id",
    "state",
    "status",
    "ports",
    "created",
    "restart",
    "exit_code",
    "command",
    "managed",
)
IMAGE_ID_RE = re.compile(r"sha256:(?P<hex>[0-9a-f]{64})")
SHORT_ID = 12


def container_tag(host, name):
    return f"brine/container/{host}/{name}/state"


def images_tag(host):
    return f"brine/images/{host}/changed"


def _attributes(event):
    actor = event.get("Actor")
    attributes = actor.get("Attributes") if isinstance(actor, dict) else None
    return attributes if isinstance(attributes, dict) else {}


def _actor_id(event):
    actor = event.get("Actor")
    value = actor.get("ID") if isinstance(actor, dict) else None
    return value if isinstance(value, str) else None


def _name(value):
    """
    A container name from Docker (``/web1`` in some places): the bare name, or None when it is not
    one Brine takes (``container_spec.NAME_RE``: Docker's names, at most 63 characters), since the
    engine describes a container by its name.
    """
    if not isinstance(value, str):
        return None
    value = value[1:] if value.startswith("/") else value
    return value if container_spec.NAME_RE.fullmatch(value) else None


def image_ref(event):
    """
    The reference an image event names: the one with a name (a pull's ``registry/repo:tag``, a
    tag's new tag, a load's reference), else the image's short ID (12 hex: a delete, an untag, an
    import name only the ID), else None.
    """
    candidates = (_actor_id(event), _attributes(event).get("name"))
    for value in candidates:
        if (
            isinstance(value, str)
            and len(value) <= container_spec.REFERENCE_MAX
            and not value.startswith("sha256:")
            and container_spec.REFERENCE_RE.fullmatch(value)
        ):
            return value
    for value in candidates:
        found = IMAGE_ID_RE.fullmatch(value) if isinstance(value, str) else None
        if found:
            return found.group("hex")[:SHORT_ID]
    return None


def items(event):
    """
    The engine's queue items for one decoded Docker event (``docker.APIClient.events(decode=True)``):
    ``("container", name, word)`` or ``("image", ref, word)``; none for an action Brine does not
    forward or an event it cannot read. A rename is two: the old name (no container by that name
    any more) and the new one.
    """
    if not isinstance(event, dict):
        return []
    kind, action = event.get("Type"), event.get("Action")
    if not isinstance(action, str):
        return []
    if kind == "container" and action in CONTAINER_WORDS:
        word = CONTAINER_WORDS[action]
        attributes = _attributes(event)
        names = [_name(attributes.get("oldName"))] if action == "rename" else []
        names.append(_name(attributes.get("name")))
        return [("container", name, word) for name in names if name]
    if kind == "image" and action in IMAGE_WORDS:
        return [("image", image_ref(event), IMAGE_WORDS[action])]
    return []


def key(item):
    """What the engine's queue coalesces on: one item per container name, per image reference, one resync."""
    if item[0] in ("container", "image"):
        return item[:2]
    return (item[0],)


def container_data(host, name, event, container):
    """
    The data of a ``brine/container/<host>/<name>/state`` event: ``container`` is the container
    named so when the engine forwards the event (the contract's keys only), None when there is no
    container of that name any more (removed, renamed away).
    """
    if container is not None:
        container = {field: container.get(field) for field in CONTAINER_KEYS}
    return {"host": host, "name": name, "event": event, "container": container}


def image_data(host, event, ref):
    """The data of a ``brine/images/<host>/changed`` event."""
    return {"host": host, "event": event, "ref": ref}


def socket_path(url):
    """The socket file of a ``unix://`` URL (``unix:///run/docker.sock``), None for other URLs."""
    if isinstance(url, str) and url.startswith("unix://"):
        return url[len("unix://") :] or None
    return None
