"""
Brine's containers from the master: Docker on the hypervisor hosts
=================================================================

The ``containers`` runner (issue 12, docs/containers.md) gathers every hypervisor host's Docker
engine, containers and local images, reads the site registry's catalog, places a new container
on a host (one that has the image, else one that pulls it) and runs an operator's start, stop,
restart, pause, unpause and logs, and an admin's remove, on one host.

Hosts are the minions whose pillar ``brine:roles`` contains ``hypervisor``, each running the
``containers`` execution module. This file is the Salt face over Brine's library (``fanout``,
``container_hosts``, ``container_registry``, ``sealed``); every public function is wrapped by
``brine.face``, so a refusal returns ``{"error": {"code", "message"}}``. Roles
(master.d/brine-eauth.conf): viewers read, operators run and act, admins remove.

A runner's arguments land on the event bus and in the job cache: a container's environment
reaches its host only sealed to that host's key (``sealed_environment``), and a browser sends
secret values sealed to the master's key (``secret_environment``, see ``provision.sealing_key``).

:depends: the ``containers`` execution module synced to every host; Brine's library in the
    master's ``utils_dirs``; ``requests`` (Salt's own dependency) for the registry
:configuration: ``brine:containers:registry``, ``brine:containers:registry_url``,
    ``brine:inventory:timeout`` (pillar.example)
"""

import os

import salt.client

from brine import config
from brine import container_hosts
from brine import container_registry
from brine import container_spec
from brine import face
from brine import fanout
from brine import sealed
from brine import validate
from brine.errors import Invalid

__virtualname__ = "containers"
__func_alias__ = {"list_": "list"}
public = face.runner(__virtualname__, lambda: globals().get("__context__"))


def __virtual__():
    return __virtualname__


# ---- The master: configuration, keys, LocalClient.


def _lookup():
    return config.master_lookup(__opts__, globals().get("__pillar__"))


def _timeout():
    return fanout.timeout(config.get("inventory:timeout", _lookup()), "brine:inventory:timeout")


def _registry():
    return config.get("containers:registry", _lookup())


def _local_client():
    return salt.client.get_local_client(__opts__["conf_file"])


def _unwrap(text, argument):
    """A value the browser sealed to the master's key (provision.sealing_key), opened."""
    with open(os.path.join(__opts__["pki_dir"], "master.pem"), "rb") as key_file:
        return sealed.unwrap(key_file.read(), text, argument)


def _host_key(host):
    """The public key this master accepted for ``host``; ``no_host`` when there is none."""
    try:
        with open(os.path.join(__opts__["pki_dir"], "minions", host), "rb") as key_file:
            return key_file.read()
    except FileNotFoundError:
        raise Invalid(f"{host} is not a minion this master has accepted", code="no_host") from None


def _gather(client, fun, wait, shape, hosts=None):
    """``{host: (ret, error)}``: every hypervisor host's answer to ``fun`` (or ``hosts``' only)."""
    expected, entries = fanout.gather(client, fun, None, wait, hosts=hosts)
    return container_hosts.answers(expected, entries, fun, wait, shape, asked=hosts or ())


def _one(host):
    return None if host is None else [validate.host_id(host, "host")]


# ---- What the hosts have: containers, local images; what the registry holds.


def _list(host=None):
    """
    The Docker engine and containers of every hypervisor host, or of ``host`` only:
    ``{"hosts": [{"host", "answered", "error", "docker", "containers"}]}`` (docs/containers.md).
    ``docker`` is the host's engine (``state`` up, down or none); a host without a usable answer
    is ``answered: false``, ``error`` saying why (``unreachable``, the host's refusal,
    ``host_error``). Each container names its ``host``.

    CLI Example:

    .. code-block:: bash

        salt-run containers.list
        salt-run containers.list hv2
    """
    hosts, wait = _one(host), _timeout()
    with _local_client() as client:
        engines = _gather(client, "containers.engine", wait, container_hosts.engine_shape, hosts)
        up = [name for name, (engine, error) in engines.items() if error is None and engine["state"] == "up"]
        lists = _gather(client, "containers.list", wait, container_hosts.containers_shape, up) if up else {}
    return container_hosts.listing(engines, lists)


# The function is ``list``: defined as ``list_`` (Salt's __func_alias__) so the builtin stays.
_list.__name__ = "list"
list_ = public(_list)


@public
def images(host=None):
    """
    The local images of every hypervisor host (or of ``host``), one entry per image id with the
    hosts that have it: ``{"images": [{"id", "tags", "ref", "created", "size", "hosts"}],
    "hosts": [{"host", "answered", "error"}]}``. A host without a Docker engine is
    ``answered: false`` with its ``docker_unavailable`` refusal.

    CLI Example:

    .. code-block:: bash

        salt-run containers.images
        salt-run containers.images hv1
    """
    hosts = _one(host)
    with _local_client() as client:
        found = _gather(client, "containers.images", _timeout(), container_hosts.images_shape, hosts)
    return container_hosts.merged_images(found)


@public
def registry():
    """
    What the site's registry (``brine:containers:registry``) holds, read from the master with
    the registry v2 HTTP API at ``brine:containers:registry_url`` (default
    ``https://<registry>``): ``{"registry", "images": [{"ref", "repository", "tag"}], "error"}``,
    at most 200 repositories and 100 tags each. ``error`` says why the catalog could not be read
    (with what was read before); without a configured registry, ``registry`` is null and there
    are no images.

    CLI Example:

    .. code-block:: bash

        salt-run containers.registry
    """
    return container_registry.catalog(_registry(), config.get("containers:registry_url", _lookup()))


# ---- Running a container.


def _placed(client, image, wait):
    """``(host, why)``: where a container of ``image`` runs, from the hosts' containers and images."""
    lists = _gather(client, "containers.list", wait, container_hosts.containers_shape)
    up = [host for host, (_found, error) in lists.items() if error is None]
    found = _gather(client, "containers.images", wait, container_hosts.images_shape, up) if up else {}
    return container_hosts.place(image, lists, found, _registry())


@public
def run(
    image,
    name=None,
    host=None,
    ports=None,
    environment=None,
    secret_environment=None,
    restart=None,
    detach=True,
    timeout=None,
):
    """
    Run a container of ``image`` (``[registry/]name[:tag]``; without a registry, a local image
    of that name, else ``<brine:containers:registry>/<image>``, pulled when the host lacks it) on
    ``host``, or on the host with the image that runs the fewest containers (else on any host with
    a Docker engine up, which pulls it). Returns the container dict with ``host``, ``pulled`` and
    ``placed`` (why that host). Every argument is checked before any host is asked.

    name
        The container's name (default ``<image's last path part>-<4 hex digits>``).
    ports
        Published ports: ``[bind:]host_port:container_port[/protocol]`` or mappings with those
        keys; a list, or one such string.
    environment
        ``{KEY: value}`` or ``["KEY=value"]``, in clear: the job's arguments are on the event bus
        and in the job cache. Secrets go in ``secret_environment``.
    secret_environment
        ``{KEY: value}`` with each value RSA-OAEP sealed to the master's key
        (``provision.sealing_key``; what the browser sends). The host receives the whole
        environment sealed to its own key, never in clear.
    restart
        ``no`` (default), ``always``, ``unless-stopped`` or ``on-failure[:N]``.
    detach
        False: wait for the container to end (at most ``timeout`` seconds, 1 to 600, default 60)
        and return its ``exit_code`` and ``logs`` too.

    Refused ``no_room`` when no host has a Docker engine up, and with the host's code
    (``container_exists``, ``port_in_use``, ``no_image``, ``docker_unavailable``, ...) when it
    refuses; nothing is left started then.

    CLI Example:

    .. code-block:: bash

        salt-run containers.run brine/web:1 name=web1 ports='["8080:80"]'
        salt-run containers.run brine/hello:1 host=hv2 environment='{GREETING: hi}' restart=always
        salt-run containers.run brine/hello:1 detach=false timeout=10
    """
    kwarg = container_hosts.run_arguments(image, name, ports, restart, detach, timeout)
    host = None if host in (None, "") else validate.host_id(host, "host")
    env = container_hosts.environment(environment, secret_environment, _unwrap)
    text = container_hosts.environment_text(env) if env else None
    inventory_timeout = _timeout()
    with _local_client() as client:
        if host is None:
            host, placed = _placed(client, kwarg["image"], inventory_timeout)
        else:
            placed = f"{host} was asked for"
        if text is not None:
            kwarg["sealed_environment"] = sealed.seal(
                _host_key(host), text, f"containers.run:{kwarg['name']}"
            )
        wait = container_hosts.run_wait(kwarg, inventory_timeout)
        ret, error = fanout.ask(client, host, "containers.run", kwarg, wait)
    if error:
        raise fanout.host_exception(host, error)
    return dict(ret, host=host, pulled=bool(ret.get("pulled")), placed=placed)


# ---- An operator's actions on one container, an admin's remove, its logs.


def _act(host, name, fun, kwarg=None, wait=0):
    """Run ``containers.<fun>`` for container ``name`` on ``host``; its refusal comes back coded."""
    host = validate.host_id(host, "host")
    kwarg = dict(kwarg or {}, name=container_spec.name(name))
    with _local_client() as client:
        ret, error = fanout.ask(client, host, f"containers.{fun}", kwarg, _timeout() + wait)
    if error:
        raise fanout.host_exception(host, error)
    return dict(ret, host=host)


@public
def start(host, name):
    """
    Start the container ``name`` on ``host``; returns its container dict with ``host``. Refused
    ``no_container`` or ``wrong_state`` by the host.

    CLI Example:

    .. code-block:: bash

        salt-run containers.start hv2 web1
    """
    return _act(host, name, "start", wait=container_hosts.ACTION_WAIT)


@public
def stop(host, name):
    """
    Stop the container ``name`` on ``host`` (Docker's grace period, then killed); returns its
    container dict with ``host``. Refused ``no_container`` or ``wrong_state`` by the host.

    CLI Example:

    .. code-block:: bash

        salt-run containers.stop hv2 web1
    """
    return _act(host, name, "stop", wait=container_hosts.ACTION_WAIT)


@public
def restart(host, name):
    """
    Restart the container ``name`` on ``host``; returns its container dict with ``host``.

    CLI Example:

    .. code-block:: bash

        salt-run containers.restart hv2 web1
    """
    return _act(host, name, "restart", wait=container_hosts.ACTION_WAIT)


@public
def pause(host, name):
    """
    Pause the container ``name`` on ``host``; returns its container dict with ``host``. Refused
    ``wrong_state`` when it is not running.

    CLI Example:

    .. code-block:: bash

        salt-run containers.pause hv2 web1
    """
    return _act(host, name, "pause")


@public
def unpause(host, name):
    """
    Unpause the container ``name`` on ``host``; returns its container dict with ``host``.
    Refused ``wrong_state`` when it is not paused.

    CLI Example:

    .. code-block:: bash

        salt-run containers.unpause hv2 web1
    """
    return _act(host, name, "unpause")


@public
def remove(host, name, force=False):
    """
    Remove the container ``name`` from ``host`` (``force``: even while it runs): returns
    ``{"host", "name", "removed": true}``. Refused ``no_container``, or ``wrong_state`` for a
    running container without ``force``.

    CLI Example:

    .. code-block:: bash

        salt-run containers.remove hv2 web1
        salt-run containers.remove hv2 web1 force=true
    """
    force = validate.flag(force, "force")
    return _act(host, name, "remove", {"force": force}, wait=container_hosts.ACTION_WAIT)


@public
def logs(host, name, tail=100):
    """
    The last ``tail`` lines (1 to 10000) of the container ``name``'s log on ``host``:
    ``{"host", "name", "lines": [str], "tail"}``.

    CLI Example:

    .. code-block:: bash

        salt-run containers.logs hv2 web1
        salt-run containers.logs hv2 web1 tail=20
    """
    lines = container_hosts.tail(tail)
    return _act(host, name, "logs", {"tail": lines})
