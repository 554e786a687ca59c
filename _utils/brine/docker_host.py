"""
Docker on a hypervisor host (issue 12): the engine, its containers and images, and running,
changing and reading one container, through the docker SDK's low-level ``docker.APIClient``
(the client saltext-dockermod itself uses; docs/containers.md says why not its module).

This is the one place where a Docker error becomes a coded ``brine.errors.Refused``:
``docker_unavailable`` when the engine does not answer, ``no_container``, ``container_exists``,
``port_in_use``, ``no_image``, ``wrong_state`` for what Brine can name, ``docker_error`` with
Docker's own words for the rest. Callers pass the engine's URL or a client; nothing here reads
Salt's configuration.

A container's environment never leaves: the container dicts carry none, Docker's words in a
refusal of ``run`` are scrubbed of every value, and nothing here logs arguments.
"""

import contextlib
import errno
import logging
import os
import re
import socket
import time

from brine import container_spec
from brine import docker_shapes
from brine.errors import Invalid
from brine.errors import Refused

try:
    import docker
    import requests

    HAS_DOCKER = True
except ImportError:
    docker = requests = None
    HAS_DOCKER = False

log = logging.getLogger(__name__)

DEFAULT_URL = "unix:///run/docker.sock"
ACTIONS = ("start", "stop", "restart", "pause", "unpause", "remove")
STATES = docker_shapes.STATES
# Containers in these states hold their published host ports.
HOLDING_PORTS = ("running", "paused", "restarting")
CREATED_BY = "org.brine.created-by"
MANAGED = docker_shapes.MANAGED
# Bounds: log lines asked for and kept, seconds waited for an exit or a pull, labels.
TAIL_MAX = 10000
LINE_MAX = 4096
LOGS_BYTES_MAX = 1024 * 1024
WAIT_MAX = 600
WAIT_LOG_LINES = 100
PULL_TIMEOUT_MAX = 3600
STOP_GRACE = 10
MAX_LABELS = 32
LABEL_VALUE_MAX = 4096
LABEL_KEY_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
ID_RE = re.compile(r"[0-9a-f]{12,64}")
# "Bind for 0.0.0.0:8080 failed: port is already allocated", "listen tcp4 0.0.0.0:8080: bind: ..."
PORT_WORDS_RE = re.compile(r"(?:Bind for|listen \w+) \[?[0-9a-fA-F.:]*?\]?:(\d{1,5})\b")


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def _words(err, hide=()):
    """Docker's own sentence of ``err``, with every value in ``hide`` (the environment) blanked."""
    text = getattr(err, "explanation", None) or str(err) or type(err).__name__
    text = str(text).strip()
    for value in sorted((v for v in hide if v), key=len, reverse=True):
        text = text.replace(value, "***")
    return text[:500]


def _timed_out(err):
    return isinstance(err, requests.exceptions.Timeout) or "timed out" in str(err).lower()


@contextlib.contextmanager
def docker_errors(failure, hide=()):
    """
    Run the block; a Docker error becomes ``Refused``: ``docker_error`` ("<failure>: <Docker's
    words>") when Docker refuses, ``timeout`` when it does not answer in time,
    ``docker_unavailable`` when it cannot be reached. Brine's own refusals pass through.
    """
    try:
        yield
    except (Invalid, Refused):
        raise
    except docker.errors.APIError as err:
        raise Refused("docker_error", f"{failure}: {_words(err, hide)}") from None
    except (requests.exceptions.RequestException, docker.errors.DockerException, OSError) as err:
        if _timed_out(err):
            raise Refused("timeout", f"{failure}: the Docker engine did not answer in time") from None
        raise Refused(
            "docker_unavailable", f"{failure}: the Docker engine does not answer ({_words(err, hide)[:200]})"
        ) from None


def no_container(name):
    return Refused("no_container", f"There is no container named {name} on this host")


# ---------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------


def _socket_path(url):
    return url[len("unix://") :] if url.startswith("unix://") else None


def connect(url=None, timeout=30):
    """A ``docker.APIClient`` for ``url`` (default ``DEFAULT_URL``) that answered a ping;
    ``Refused(docker_unavailable)`` otherwise."""
    url = url or DEFAULT_URL
    if not HAS_DOCKER:
        raise Refused("docker_unavailable", "this host has no docker Python package (the docker SDK)")
    path = _socket_path(url)
    if path is not None and not os.path.exists(path):
        raise Refused("docker_unavailable", f"There is no Docker engine on this host: no socket at {path}")
    try:
        client = docker.APIClient(base_url=url, timeout=timeout, version="auto")
        client.ping()
    except (requests.exceptions.RequestException, docker.errors.DockerException, OSError) as err:
        raise Refused(
            "docker_unavailable", f"The Docker engine at {url} does not answer ({_words(err)[:200]})"
        ) from None
    return client


def engine(url=None, timeout=2):
    """
    ``{"state", "version", "message"}`` of the engine at ``url``: ``up`` with its version,
    ``none`` when there is no socket there (no engine on this host), ``down`` when there is one
    that does not answer. Never raises.
    """
    url = url or DEFAULT_URL
    path = _socket_path(url)
    if not HAS_DOCKER or (path is not None and not os.path.exists(path)):
        why = "the docker Python package is missing" if not HAS_DOCKER else f"no Docker socket at {path}"
        return {"state": "none", "version": None, "message": why}
    try:
        client = connect(url, timeout=timeout)
    except Refused as err:
        return {"state": "down", "version": None, "message": err.sentence}
    try:
        with client:
            return {"state": "up", "version": client.version().get("Version"), "message": None}
    except Exception as err:
        return {"state": "down", "version": None, "message": f"The Docker engine does not answer ({err})"}


container_dict = docker_shapes.container_dict
image_dict = docker_shapes.image_dict


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def _target(value, argument="name"):
    """A container's name or id as Docker takes it."""
    if isinstance(value, str) and ID_RE.fullmatch(value):
        return value
    try:
        return container_spec.name(value)
    except Invalid:
        raise Invalid(f"{argument} must be a container's name or id, not {value!r}") from None


def _inspect(client, target):
    try:
        return client.inspect_container(target)
    except docker.errors.NotFound:
        return None


def _with_status(client, data):
    """The inspect ``data`` with ``docker ps``'s status words beside it."""
    listed = client.containers(all=True, filters={"id": data["Id"]})
    if listed:
        data = dict(data, Status=listed[0].get("Status") or "")
    return data


def containers(client):
    """Every container on the engine, by name."""
    found = []
    with docker_errors("Could not list the containers"):
        for summary in client.containers(all=True):
            data = _inspect(client, summary["Id"])
            if data is not None:  # removed meanwhile
                found.append(container_dict(dict(data, Status=summary.get("Status") or "")))
    return sorted(found, key=lambda c: c["name"])


def describe(client, name_or_id):
    """The container dict of ``name_or_id``, or None when there is no such container."""
    target = _target(name_or_id)
    with docker_errors(f"Could not describe {target}"):
        data = _inspect(client, target)
        return None if data is None else container_dict(_with_status(client, data))


def images(client):
    """Every tagged or top-level image on the engine, by ref."""
    with docker_errors("Could not list the images"):
        listed = client.images()
    return sorted((image_dict(data) for data in listed), key=lambda i: (i["ref"], i["id"]))


def _present(client, ref):
    try:
        client.inspect_image(ref)
        return True
    except docker.errors.NotFound:
        return False


def resolve(client, image, registry=None):
    """
    ``(ref, present)``: the reference to run ``image`` by and whether the engine has it. A
    reference naming a registry is used as it is. One without (``brine/web:1``) is a local
    image of that name, else ``<registry>/brine/web:1`` (present or to be pulled) when a
    ``registry`` is configured, else Docker's own reading (Docker Hub).
    """
    ref = container_spec.image(image)["ref"]
    with docker_errors(f"Could not look for the image {ref}"):
        if _present(client, ref):
            return ref, True
        qualified = container_spec.qualified(ref, registry)
        if qualified == ref:
            return ref, False
        return qualified, _present(client, qualified)


def _pull_refusal(ref, words):
    lowered = words.lower()
    if any(
        w in lowered for w in ("not found", "manifest unknown", "unauthorized", "denied", "does not exist")
    ):
        return Refused("no_image", f"The image {ref} is not in its registry (the registry says: {words})")
    return Refused("docker_error", f"Could not pull {ref}: {words}")


def pull(client, ref, timeout=300):
    """
    Pull ``ref`` and return its image dict. ``no_image`` when the registry has no such image
    (or refuses it), ``timeout`` when the pull takes longer than ``timeout`` seconds (1 to
    ``PULL_TIMEOUT_MAX``), ``docker_error`` otherwise (an unreachable registry).
    """
    ref = container_spec.image(ref)["ref"]
    timeout = bounded(timeout, "timeout", PULL_TIMEOUT_MAX, "seconds")
    deadline = time.monotonic() + timeout
    with docker_errors(f"Could not pull {ref}"):
        try:
            for line in client.pull(ref, stream=True, decode=True):
                if isinstance(line, dict) and line.get("error"):
                    raise _pull_refusal(ref, str(line["error"])[:500])
                if time.monotonic() > deadline:
                    raise Refused("timeout", f"Pulling {ref} took longer than {timeout} seconds")
        except docker.errors.APIError as err:
            if err.status_code in (401, 403, 404, 500):
                raise _pull_refusal(ref, _words(err)) from None
            raise
        return image_dict(client.inspect_image(ref))


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def bounded(value, argument, maximum, unit=None):
    """
    ``value`` from 1 to ``maximum``: a whole number of lines (``unit`` None; ``10.0`` counts as
    10), or with ``unit`` (``"seconds"``) any number, as the runner's ``validate.seconds`` gives.
    ``Invalid`` naming ``argument`` otherwise.
    """
    words = f"a number of {unit}" if unit else "a whole number"
    refusal = Invalid(f"{argument} must be {words} from 1 to {maximum}, not {value!r}")
    if isinstance(value, bool):
        raise refusal
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        raise refusal from None
    if not 1 <= number <= maximum or (unit is None and not number.is_integer()):
        raise refusal
    return number if unit and not number.is_integer() else int(number)


def _labels(labels):
    """Extra labels (the states' ``org.brine.managed`` and ``org.brine.spec``), checked;
    ``org.brine.created-by`` is always ``brine``."""
    labels = labels or {}
    if not isinstance(labels, dict) or len(labels) > MAX_LABELS:
        raise Invalid(f"labels must be a mapping of at most {MAX_LABELS} labels")
    checked = {}
    for key, value in labels.items():
        if not isinstance(key, str) or not LABEL_KEY_RE.fullmatch(key):
            raise Invalid(f"label {key!r} must be lowercase letters, digits, '.', '_' and '-'")
        if not isinstance(value, str) or len(value) > LABEL_VALUE_MAX:
            raise Invalid(f"label {key} must be text of at most {LABEL_VALUE_MAX} characters")
        checked[key] = value
    checked[CREATED_BY] = "brine"
    return checked


def _overlap(one, other):
    return one == other or "0.0.0.0" in (one, other) or "::" in (one, other)


def port_free(bind, port, protocol):
    """
    Whether a socket can bind ``(bind, port)`` for ``protocol`` in this process's network
    namespace (the host's, where the minion and dockerd run). A listening TCP socket or a bound
    UDP one makes it False. ``Invalid`` when ``bind`` is not an address of this host; True when
    this host cannot tell (a protocol it has no sockets for).
    """
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    number = socket.IPPROTO_SCTP if protocol == "sctp" else 0
    try:
        probe = socket.socket(family, kind, number)
    except OSError:
        return True
    with probe:
        if protocol != "udp":
            # Not fooled by connections in TIME_WAIT; a listener still refuses the bind.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return False
            if err.errno == errno.EADDRNOTAVAIL:
                raise Invalid(
                    f"ports: {bind} is not an address of this host (host port {port}/{protocol})"
                ) from None
            return True
    return True


def port_conflict(ports, others, probe=port_free):
    """
    The refusal for the first of ``ports`` (checked mappings) that another container in
    ``others`` publishes while it holds its ports, or that ``probe`` finds bound on the host;
    None when every port is free.
    """
    for index, mapping in enumerate(ports):
        port, protocol, bind = mapping["host_port"], mapping["protocol"], mapping["bind"]
        for other in others:
            if other["state"] not in HOLDING_PORTS:
                continue
            for held in other["ports"]:
                if (
                    held["host_port"] == port
                    and held["protocol"] == protocol
                    and _overlap(held["bind"], bind)
                ):
                    return Refused(
                        "port_in_use",
                        f"Host port {port}/{protocol} (ports[{index}]) is already published by "
                        f"container {other['name']}",
                    )
        if not probe(bind, port, protocol):
            return Refused(
                "port_in_use",
                f"Host port {port}/{protocol} (ports[{index}]) is already in use on this host ({bind})",
            )
    return None


def _start_refusal(err, name, ports, hide):
    words = _words(err, hide)
    if "port is already allocated" in words or "address already in use" in words:
        found = PORT_WORDS_RE.search(words)
        which = found.group(1) if found else ", ".join(str(p["host_port"]) for p in ports)
        return Refused(
            "port_in_use", f"Host port {which} is already in use on this host; {name} was not started"
        )
    return Refused("docker_error", f"Could not start {name}: {words}")


def _create_arguments(client, spec, ref, name, labels):
    bindings = {}
    for mapping in spec["ports"]:
        key = f"{mapping['container_port']}/{mapping['protocol']}"
        bindings.setdefault(key, []).append((mapping["bind"], mapping["host_port"]))
    restart = spec["restart"]
    host_config = client.create_host_config(
        port_bindings=bindings,
        restart_policy={"Name": restart["name"], "MaximumRetryCount": restart["max_retries"]},
    )
    return {
        "image": ref,
        "name": name,
        "detach": True,
        "ports": [(int(key.partition("/")[0]), key.partition("/")[2]) for key in bindings],
        "environment": [f"{key}={value}" for key, value in spec["environment"].items()],
        "labels": labels,
        "host_config": host_config,
    }


def _remove_quietly(client, container_id):
    try:
        client.remove_container(container_id, force=True)
    except Exception as err:
        log.error("Could not remove the container %s that did not start: %s", container_id[:12], err)


def run(client, spec, registry=None, wait=None, labels=None):
    """
    Create and start a container from ``spec`` (``container_spec.spec``'s dict; checked again).
    Before anything is created: a container of that name -> ``container_exists``; a host port
    another container publishes or something on the host holds -> ``port_in_use`` naming it;
    the image resolved (``resolve``) and pulled when the engine lacks it -> ``no_image``.
    When the start fails, the created container is removed again. ``wait`` (seconds, 1 to
    ``WAIT_MAX``) waits for the container to exit. Returns the container dict with ``pulled``,
    and with ``wait`` the ``exit_code`` (None when it still runs) and the last ``logs`` lines.
    """
    spec = container_spec.spec(**spec)
    name = spec["name"] or container_spec.default_name(spec["image"]["ref"])
    wait = None if wait is None else bounded(wait, "timeout", WAIT_MAX, "seconds")
    labels = _labels(labels)
    hide = list(spec["environment"].values())
    failure = f"Could not run {name}"
    with docker_errors(failure, hide):
        found = _inspect(client, name)
        if found is not None and found.get("Name") == f"/{name}":
            raise Refused("container_exists", f"A container named {name} already exists on this host")
        conflict = port_conflict(spec["ports"], containers(client))
        if conflict:
            raise conflict
        ref, present = resolve(client, spec["image"]["ref"], registry)
        if not present:
            pull(client, ref)
        try:
            created = client.create_container(**_create_arguments(client, spec, ref, name, labels))
        except docker.errors.APIError as err:
            if err.status_code == 409:
                raise Refused(
                    "container_exists", f"A container named {name} already exists on this host"
                ) from None
            raise
        try:
            client.start(created["Id"])
        except (docker.errors.APIError, requests.exceptions.RequestException) as err:
            _remove_quietly(client, created["Id"])
            raise _start_refusal(err, name, spec["ports"], hide) from None
        result = dict(describe(client, created["Id"]) or {"name": name}, pulled=not present)
        if wait:
            result.update(_wait(client, created["Id"], wait))
    log.info("Ran container %s from %s", name, ref)
    return result


def _wait(client, container_id, seconds):
    """Wait up to ``seconds`` for the container to exit: ``{"exit_code", "logs", "state", ...}``."""
    deadline = time.monotonic() + seconds
    while True:
        data = _inspect(client, container_id)
        if data is None or data["State"].get("Status") in ("exited", "dead") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if data is None:  # removed meanwhile (restart policies aside, nothing does that)
        return {"exit_code": None, "logs": []}
    done = container_dict(_with_status(client, data))
    lines = _log_lines(
        client.logs(container_id, stdout=True, stderr=True, timestamps=False, tail=WAIT_LOG_LINES)
    )
    return dict(done, logs=lines)


# ---------------------------------------------------------------------------
# Changing and reading one container
# ---------------------------------------------------------------------------


def _refuse_state(container, action, force):
    """The refusal of ``action`` in the container's state, or None."""
    name, state = container["name"], container["state"]
    if action == "start" and state in HOLDING_PORTS:
        return f"{name} is already {state}" if state != "paused" else f"{name} is paused; unpause it"
    if action == "stop" and state not in HOLDING_PORTS:
        return f"{name} is not running ({state})"
    if action == "pause" and state != "running":
        return f"{name} is already paused" if state == "paused" else f"{name} is not running ({state})"
    if action == "unpause" and state != "paused":
        return f"{name} is not paused ({state})"
    if action == "remove" and state in HOLDING_PORTS and not force:
        return f"{name} is {state}; stop it first or remove it with force"
    return None


def act(client, name, action, force=False):
    """
    Do ``action`` (``ACTIONS``) to the container ``name`` and return its container dict
    (``remove``: ``{"name", "removed": True}``; ``force`` removes a running one).
    ``no_container`` when there is none, ``wrong_state`` when its state does not allow it.
    """
    if action not in ACTIONS:
        raise Invalid(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    target = _target(name)
    with docker_errors(f"Could not {action} {target}"):
        current = describe(client, target)
        if current is None:
            raise no_container(target)
        refusal = _refuse_state(current, action, force)
        if refusal:
            raise Refused("wrong_state", refusal)
        container_id = current["id"]
        try:
            if action == "remove":
                client.remove_container(container_id, force=bool(force))
                return {"name": current["name"], "removed": True}
            if action in ("stop", "restart"):
                getattr(client, action)(container_id, timeout=STOP_GRACE)
            else:
                getattr(client, action)(container_id)
        except docker.errors.NotFound:
            raise no_container(target) from None
        except docker.errors.APIError as err:
            words = _words(err)
            if action in ("start", "restart") and ("already allocated" in words or "already in use" in words):
                raise _start_refusal(err, current["name"], current["ports"], ()) from None
            if err.status_code == 409 or re.search(r"is (already|not) (paused|running)", words):
                raise Refused("wrong_state", f"{current['name']}: {words}") from None
            raise
        after = describe(client, container_id)
        if after is None:
            raise no_container(target)
        return after


def _log_lines(raw):
    """Lines of a log, each cut at ``LINE_MAX`` characters, the last ones within ``LOGS_BYTES_MAX``."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw or "")
    kept, size = [], 0
    for whole in reversed(text.splitlines()):
        line = whole[:LINE_MAX]
        size += len(line) + 1
        if size > LOGS_BYTES_MAX:
            break
        kept.append(line)
    return kept[::-1]


def logs(client, name, tail=100):
    """``{"name", "lines", "tail"}``: the last ``tail`` (1 to ``TAIL_MAX``) lines of the
    container's output and errors, without timestamps."""
    tail = bounded(tail, "tail", TAIL_MAX)
    target = _target(name)
    with docker_errors(f"Could not read the logs of {target}"):
        data = _inspect(client, target)
        if data is None:
            raise no_container(target)
        raw = client.logs(data["Id"], stdout=True, stderr=True, timestamps=False, tail=tail)
    return {"name": data["Name"].lstrip("/"), "lines": _log_lines(raw)[-tail:], "tail": tail}


def inventory(url=None):
    """``{"docker": engine dict, "containers": [container dict]}`` for the host's inventory.
    Never raises: an engine that fails while listing is ``down`` with the reason."""
    state = engine(url)
    if state["state"] != "up":
        return {"docker": state, "containers": []}
    try:
        with connect(url, timeout=10) as client:
            return {"docker": state, "containers": containers(client)}
    except Exception as err:
        sentence = getattr(err, "sentence", None) or str(err)
        return {"docker": dict(state, state="down", message=sentence), "containers": []}
