"""
Brine's containers on a hypervisor host: Docker's engine, containers and local images
======================================================================================

A thin Salt face over Brine's library (``brine.docker_host``, ``brine.container_spec``): each
function checks its arguments, connects to this host's Docker engine, calls the library and lets
its coded errors through (``[<code>] <sentence>``: ``docker_unavailable``, ``no_container``,
``container_exists``, ``port_in_use``, ``no_image``, ``wrong_state``, ``docker_error``,
``invalid_argument``). The shapes are in docs/containers.md. The master's ``containers`` runner
is the way in for people: it places a container and seals its environment to this host.

:depends: the docker SDK (``docker``, the low-level ``docker.APIClient``), Brine's library
    (``_utils/brine``, synced with ``saltutil.sync_utils``)

Configuration
-------------
Read with ``config.get``, so from the minion configuration or pillar.

.. code-block:: yaml

    # saltext-dockermod's key: where this host's Docker engine listens
    docker.url: unix:///run/docker.sock
    brine:
      containers:
        # The site's registry: a reference without one (brine/web:1) is a local image of that
        # name, else <registry>/brine/web:1 here, else pulled from the registry.
        registry: brine-master:5000
"""

import contextlib
import json
import logging

from brine import config
from brine import container_spec
from brine import docker_host
from brine import sealed
from brine import validate
from brine.errors import Invalid

log = logging.getLogger(__name__)

__virtualname__ = "containers"
__func_alias__ = {"list_": "list"}


def __virtual__():
    # Loaded on every host, with or without Docker: one without an engine answers so
    # (engine() -> "none", the rest docker_unavailable) instead of being "not available".
    return __virtualname__


# ---------------------------------------------------------------------------
# The boundary: configuration and the engine.
# ---------------------------------------------------------------------------


def _url():
    return __salt__["config.get"]("docker.url") or docker_host.DEFAULT_URL


def _registry():
    return config.get("containers:registry", __salt__["config.get"])


@contextlib.contextmanager
def _client():
    with docker_host.connect(_url()) as client:
        yield client


def _open_environment(box, name):
    """The environment the runner sealed to this host's minion key for ``name``."""
    text = sealed.unseal_on_host(__opts__, box, f"containers.run:{name}", "internal", "environment")
    try:
        opened = json.loads(text)
    except ValueError:
        opened = None
    if not isinstance(opened, dict):
        raise Invalid("sealed_environment must hold a JSON mapping of variables")
    return opened


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def engine():
    """
    This host's Docker engine: ``{"state": "up"|"down"|"none", "version", "message"}``
    (``none``: no engine here; ``down``: its socket is there but it does not answer).

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.engine
    """
    return docker_host.engine(_url())


def list_():
    """
    Every container on this host, by name: Brine's container dicts (name, id, image, state,
    status, published ports, created, restart policy, exit code, command, managed). Never the
    environment.

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.list
    """
    with _client() as client:
        return docker_host.containers(client)


def images():
    """
    The local images on this host: ``[{"id", "tags", "ref", "created", "size"}]`` by ref.

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.images
    """
    with _client() as client:
        return docker_host.images(client)


def logs(name, tail=100):
    """
    The last lines of a container's output and errors: ``{"name", "lines", "tail"}``.

    name
        The container's name or id.

    tail
        How many lines, 1 to 10000 (default 100).

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.logs web1 tail=20
    """
    tail = docker_host.bounded(tail, "tail", docker_host.TAIL_MAX)
    with _client() as client:
        return docker_host.logs(client, name, tail)


# ---------------------------------------------------------------------------
# Running and changing
# ---------------------------------------------------------------------------


def run(
    image,
    name=None,
    ports=None,
    environment=None,
    restart=None,
    detach=True,
    timeout=60,
    sealed_environment=None,
):
    """
    Run a container. Everything is checked before anything is created: the arguments, a name
    already taken (``container_exists``), a host port another container publishes or something
    on this host listens on (``port_in_use``), the image (pulled from the registry when this host
    lacks it; ``no_image`` when the registry has none). A container that does not start is
    removed again. Returns its container dict with ``pulled``; with ``detach=False`` also
    ``exit_code`` (None when it still runs after ``timeout``) and the last 100 ``logs`` lines.

    image
        ``[registry[:port]/]name[:tag][@sha256:digest]``; without a registry, read through
        ``brine:containers:registry``.

    name
        The container's name (default: the image's last path part and four hex digits).

    ports
        A list of ``[bind:]host_port:container_port[/protocol]`` or of
        ``{host_port, container_port, protocol, bind}``.

    environment
        ``{KEY: value}`` or ``["KEY=value"]``. It travels in the job's arguments: for secrets use
        the runner, which sends them sealed.

    restart
        ``no`` (default), ``always``, ``unless-stopped`` or ``on-failure[:N]``.

    detach
        False: wait for the container to exit (at most ``timeout`` seconds, 1 to 600).

    sealed_environment
        The environment as JSON, sealed by the master to this host's minion key for
        ``containers.run:<name>`` (``brine.sealed``); merged over ``environment``.

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.run brine/web:1 name=web1 ports='["8080:80"]' restart=unless-stopped
        salt hv2 containers.run brine/hello:1 detach=false timeout=10
    """
    detach = validate.flag(detach, "detach")
    timeout = docker_host.bounded(timeout, "timeout", docker_host.WAIT_MAX, "seconds")
    spec = container_spec.spec(image, name=name, ports=ports, environment=environment, restart=restart)
    if sealed_environment is not None:
        sealed.check(sealed_environment)
        if spec["name"] is None:
            raise Invalid("name is needed with sealed_environment: it is sealed for one container's name")
        opened = container_spec.environment(_open_environment(sealed_environment, spec["name"]))
        spec["environment"] = container_spec.environment({**spec["environment"], **opened})
    if spec["name"] is None:
        spec["name"] = container_spec.default_name(spec["image"]["ref"])
    with _client() as client:
        return docker_host.run(client, spec, registry=_registry(), wait=None if detach else timeout)


def _act(name, action, force=False):
    with _client() as client:
        return docker_host.act(client, name, action, force=force)


def start(name):
    """
    Start a stopped container; returns its container dict (``wrong_state`` when it runs).

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.start web1
    """
    return _act(name, "start")


def stop(name):
    """
    Stop a running container (10 s grace, then killed); returns its container dict.

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.stop web1
    """
    return _act(name, "stop")


def restart(name):
    """
    Restart a container (started when stopped); returns its container dict.

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.restart web1
    """
    return _act(name, "restart")


def pause(name):
    """
    Pause a running container; returns its container dict.

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.pause web1
    """
    return _act(name, "pause")


def unpause(name):
    """
    Unpause a paused container; returns its container dict.

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.unpause web1
    """
    return _act(name, "unpause")


def remove(name, force=False):
    """
    Remove a container: ``{"name", "removed": True}``. A running one only with ``force``.

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.remove web1
        salt hv2 containers.remove web1 force=true
    """
    return _act(name, "remove", force=validate.flag(force, "force"))


def pull(image):
    """
    Pull an image from its registry (one without a registry from ``brine:containers:registry``);
    returns its image dict. ``no_image`` when the registry has no such image.

    CLI Example:

    .. code-block:: bash

        salt hv2 containers.pull brine/hello:1
    """
    ref = container_spec.qualified(container_spec.image(image)["ref"], _registry())
    with _client() as client:
        return docker_host.pull(client, ref)
