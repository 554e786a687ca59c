"""
Containers on a hypervisor host kept as its pillar describes them
=================================================================

The ``containers`` formula (``states/containers/``) renders one ``containers.described`` per
entry of the host's pillar ``containers`` (docs/containers.md); ``running``, ``stopped`` and
``absent`` are the same for a hand-written SLS. A container is kept as described: recreated when
its image, ports, environment or restart policy differ from what runs (compared by the label
``org.brine.spec`` and the environment it runs with), started when it is not running. A second
run changes nothing, ``test=True`` says what would change, and neither changes nor comments ever
show an environment value. A container no state names is never touched.

saltext-dockermod's ``docker_container`` states are not used: under ``test=True`` they create a
container to compare with, and their changes carry the environment's values (docs/containers.md).

This file is the Salt face over ``brine.container_apply``; the engine is ``docker.url`` (minion
config or pillar), the site's registry ``brine:containers:registry``.

:depends: the docker Python package (docker SDK), Brine's library
"""

from brine import config
from brine import container_apply
from brine import container_desired
from brine import container_spec
from brine import docker_host
from brine.errors import Invalid
from brine.errors import Refused

__virtualname__ = "containers"


def __virtual__():
    if not docker_host.HAS_DOCKER:
        return (False, "Brine's containers states need the docker Python package")
    return __virtualname__


def _client():
    return docker_host.connect(__salt__["config.get"]("docker.url") or None)


def _registry():
    return config.get("containers:registry", __salt__["config.get"])


def _apply(name, outcome):
    try:
        return outcome().as_state(name)
    except (Invalid, Refused) as err:
        return {"name": name, "result": False, "changes": {}, "comment": str(err)}


def running(name, image, ports=None, environment=None, restart=None):
    """
    The container ``name`` running from ``image`` with these ports, environment and restart
    policy (``containers.run``'s arguments, checked the same way): made when absent, recreated
    when any of them differs from what runs, started when stopped. A container of that name the
    states did not make is refused (``container_exists``), never replaced.

    .. code-block:: yaml

        web1:
          containers.running:
            - image: brine/web:1
            - ports: ["8080:80"]
            - environment: {GREETING: hello}
            - restart: unless-stopped
    """

    def outcome():
        spec = container_spec.spec(image, name=name, ports=ports, environment=environment, restart=restart)
        return container_apply.running(_client(), spec, _registry(), __opts__["test"])

    return _apply(name, outcome)


def stopped(name):
    """
    The container ``name`` not running (a paused one is unpaused, then stopped); when there is
    none, nothing to do.

    .. code-block:: yaml

        web1:
          containers.stopped
    """
    return _apply(
        name, lambda: container_apply.stopped(_client(), container_spec.name(name), __opts__["test"])
    )


def absent(name):
    """
    No container ``name`` on this host: a running one is stopped, then removed.

    .. code-block:: yaml

        web1:
          containers.absent
    """
    return _apply(
        name, lambda: container_apply.absent(_client(), container_spec.name(name), __opts__["test"])
    )


def described(name, description=None):
    """
    The container ``name`` as its pillar entry ``description`` says (``image``, ``ports``,
    ``environment``, ``restart``, ``state``: ``running`` by default, ``stopped`` or ``absent``):
    what the formula renders for each entry. A mistake in the entry fails this state alone, with
    the reason.

    .. code-block:: yaml

        containers-web1-containers-described:
          containers.described:
            - name: web1
            - description: {image: brine/web:1, ports: ["8080:80"], state: running}
    """

    def outcome():
        entry = container_desired.entry(name, description)
        return container_apply.described(_client(), entry, _registry(), __opts__["test"])

    return _apply(name, outcome)
