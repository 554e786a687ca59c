"""
A container brought to what the pillar describes (the ``containers`` states, issue 12): running
as described (made, recreated when its description differs, started when it is not running),
stopped, or absent. Each returns an ``Outcome`` (result, changes, comment) a state returns as it
is; under ``test`` nothing is touched and the outcome says what would change.

Nothing here ever puts an environment value in a change or a comment: the environment shows by
its variable names (``brine.container_desired``). A container of the described name that the
states did not make (no ``org.brine.managed`` label) is never recreated: ``running`` refuses
with ``container_exists``. A container no entry names is never looked at.

Docker is reached through ``brine.docker_host``, which codes every Docker error; the one call
made here directly, ``inspect_container`` for a container's labels and configuration, goes
through its ``docker_errors`` too.
"""

from brine import container_desired
from brine import docker_host
from brine.errors import Refused

try:
    import docker.errors
except ImportError:  # the states do not load without it (_states/containers.py)
    docker = None

# Docker's states in which a container is running or about to be.
RUNNING = ("running", "restarting")


class Outcome:
    def __init__(self, result=True, changes=None, comment=""):
        self.result = result
        self.changes = changes or {}
        self.comment = comment

    def as_state(self, name):
        return {"name": name, "result": self.result, "changes": self.changes, "comment": self.comment}


def _pending(changes, comment):
    """What ``test`` says would change: result None."""
    return Outcome(None, changes, comment)


def inspect(client, name):
    """Docker's ``inspect_container`` dict of ``name``, or None when there is none."""
    with docker_host.docker_errors(f"Could not look at container {name}"):
        try:
            return client.inspect_container(name)
        except docker.errors.NotFound:
            return None


def _state_of(data):
    return (data.get("State") or {}).get("Status") or "created"


def _short(data):
    return (data.get("Id") or "")[:12]


def _stop(client, name, state):
    if state == "paused":
        docker_host.act(client, name, "unpause")
    docker_host.act(client, name, "stop")


def _run(client, spec, registry):
    made = docker_host.run(client, spec, registry=registry, labels=container_desired.labels(spec))
    changes = {"created": {**container_desired.summary(spec), "id": made.get("id")}}
    if made.get("pulled"):
        changes["pulled"] = made.get("image") or spec["image"]["ref"]
    return made, changes


def running(client, spec, registry=None, test=False):
    """
    The container ``spec["name"]`` running as ``spec`` (``container_spec.spec``) describes:
    made when absent; when the description differs (``container_desired.differences``) stopped,
    removed and made again; started (or unpaused) when it is not running.
    """
    name = spec["name"]
    data = inspect(client, name)
    ref = spec["image"]["ref"]
    if data is None:
        if test:
            return _pending(
                {"created": container_desired.summary(spec)},
                f"Container {name} would be created from {ref} and started.",
            )
        made, changes = _run(client, spec, registry)
        pulled = f" ({made.get('image') or ref} pulled)" if made.get("pulled") else ""
        return Outcome(True, changes, f"Container {name} was created from {ref}{pulled} and started.")
    if not container_desired.is_managed(data):
        raise Refused(
            "container_exists",
            f"a container named {name} is on this host and Brine's containers states did not make it: "
            "remove it or describe another name (it is left as it is)",
        )
    state = _state_of(data)
    differs = container_desired.differences(spec, data, registry)
    if differs:
        words = "; ".join(differs)
        if test:
            return _pending(
                {"recreated": differs},
                f"Container {name} would be recreated ({words}) and started.",
            )
        if state in RUNNING or state == "paused":
            _stop(client, name, state)
        docker_host.act(client, name, "remove")
        try:
            made, created = _run(client, spec, registry)
        except Refused as err:
            raise Refused(
                err.code, f"container {name} was removed to be recreated ({words}), then: {err.sentence}"
            ) from err
        changes = {"recreated": differs, "id": {"old": _short(data), "new": made.get("id")}}
        if "pulled" in created:
            changes["pulled"] = created["pulled"]
        return Outcome(True, changes, f"Container {name} was recreated ({words}) and started.")
    if state in RUNNING:
        return Outcome(True, {}, f"Container {name} is running as described.")
    action = "unpause" if state == "paused" else "start"
    done = "unpaused" if action == "unpause" else "started"
    if test:
        return _pending(
            {"state": {"old": state, "new": "running"}}, f"Container {name} would be {done} (it is {state})."
        )
    after = docker_host.act(client, name, action)
    return Outcome(
        True,
        {"state": {"old": state, "new": after.get("state", "running")}},
        f"Container {name} was {done} (it was {state}).",
    )


def stopped(client, name, test=False):
    """The container ``name`` not running (stopped, unpaused first when paused); none is fine."""
    data = inspect(client, name)
    if data is None:
        return Outcome(True, {}, f"Container {name} is not on this host: nothing to stop.")
    state = _state_of(data)
    if state not in RUNNING and state != "paused":
        return Outcome(True, {}, f"Container {name} is not running ({state}).")
    if test:
        return _pending({"state": {"old": state, "new": "exited"}}, f"Container {name} would be stopped.")
    _stop(client, name, state)
    after = inspect(client, name)
    new = _state_of(after) if after else "removed"
    return Outcome(True, {"state": {"old": state, "new": new}}, f"Container {name} was stopped.")


def absent(client, name, test=False):
    """No container ``name`` on this host (stopped first when it runs, then removed)."""
    data = inspect(client, name)
    if data is None:
        return Outcome(True, {}, f"Container {name} is not on this host.")
    state = _state_of(data)
    removed = {"removed": {"id": _short(data), "image": (data.get("Config") or {}).get("Image")}}
    if test:
        return _pending(removed, f"Container {name} would be removed (it is {state}).")
    if state in RUNNING or state == "paused":
        _stop(client, name, state)
    docker_host.act(client, name, "remove")
    return Outcome(True, removed, f"Container {name} was removed.")


def described(client, entry, registry=None, test=False):
    """The outcome for a checked pillar entry (``container_desired.entry``)."""
    if entry["state"] == "running":
        return running(client, entry["spec"], registry, test)
    if entry["state"] == "stopped":
        return stopped(client, entry["name"], test)
    return absent(client, entry["name"], test)
