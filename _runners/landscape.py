"""
Brine's landscape from the master: what the hosts have of it
=======================================================

The ``landscape`` runner gathers what every hypervisor host has of the landscape (docs/landscape.md, "What the
hosts have"): its libvirt networks and storage pools, each marked managed when the host's landscape
picture defines it, and runs an admin's start, stop or refresh on one host. Definitions stay
code: the ``landscape`` states make them.

Hosts are the minions whose pillar ``brine:roles`` contains ``hypervisor``, each running the
``landscape`` execution module. This file is the Salt face over Brine's library (``fanout``,
``landscape_hosts``, ``landscape_inventory``); every public function is wrapped by ``brine.face``, so a
refusal returns ``{"error": {"code", "message"}}``. Roles (master.d/brine-eauth.conf): viewers
read, admins act.

:depends: the ``landscape`` execution module synced to every host; Brine's library in the master's
    ``utils_dirs``
:configuration: ``brine:inventory:timeout`` (pillar.example)
"""

import salt.client

from brine import config
from brine import face
from brine import fanout
from brine import landscape_hosts
from brine import landscape_inventory
from brine import validate
from brine.errors import Invalid
from brine.errors import Refused

__virtualname__ = "landscape"
public = face.runner(__virtualname__, lambda: globals().get("__context__"))


def __virtual__():
    return __virtualname__


# ---- The master: configuration, LocalClient.


def _lookup():
    return config.master_lookup(__opts__, globals().get("__pillar__"))


def _timeout():
    return fanout.timeout(config.get("inventory:timeout", _lookup()), "brine:inventory:timeout")


def _local_client():
    return salt.client.get_local_client(__opts__["conf_file"])


# ---- What the hosts have: networks and storage pools.


def _gather(fun, key, host):
    """Every host's answer to ``fun`` (or ``host``'s only) as ``{"hosts": [entry]}``."""
    wait = _timeout()
    if host is not None:
        host = validate.host_id(host, "host")
        with _local_client() as client:
            ret, error = fanout.ask(client, host, fun, {}, wait)
        return landscape_hosts.asked(host, fun, key, ret, error)
    with _local_client() as client:
        expected, answers = fanout.gather(client, fun, None, wait)
    return landscape_hosts.gathered(expected, answers, fun, key, wait)


@public
def networks(host=None):
    """
    The libvirt networks of every hypervisor host, or of ``host`` only:
    ``{"hosts": [{"host", "answered", "error", "networks": [network]}]}`` (docs/landscape.md). A
    host without a usable answer is ``answered: false``, ``error`` saying why (``unreachable``,
    the host's refusal, ``host_error``).

    CLI Example:

    .. code-block:: bash

        salt-run landscape.networks
        salt-run landscape.networks hv1
    """
    return _gather("landscape.networks", "networks", host)


@public
def pools(host=None):
    """
    The storage pools of every hypervisor host, or of ``host`` only, each volume with the VMs
    that use it: ``{"hosts": [{"host", "answered", "error", "pools": [pool]}]}`` (docs/landscape.md).

    CLI Example:

    .. code-block:: bash

        salt-run landscape.pools
        salt-run landscape.pools hv1
    """
    return _gather("landscape.pools", "pools", host)


# ---- Admin actions on one host: start, stop, refresh.


def _act(kind, fun, host, name):
    """Run ``landscape.<fun>`` on ``host``; its refusal comes back with its code and the host named."""
    host = validate.host_id(host, "host")
    name = landscape_inventory.object_name(name, kind)
    with _local_client() as client:
        ret, error = fanout.ask(client, host, f"landscape.{fun}", {"name": name}, _timeout())
    if error:
        raise fanout.host_exception(host, error)
    return ret


@public
def network_start(host, name):
    """
    Start the network ``name`` on ``host``; returns its network dict. Refused with
    ``no_network`` or ``wrong_state`` (already active) by the host.

    CLI Example:

    .. code-block:: bash

        salt-run landscape.network_start hv1 service
    """
    return _act("network", "network_start", host, name)


@public
def network_stop(host, name):
    """
    Stop the network ``name`` on ``host``; returns its network dict. Refused with
    ``no_network`` or ``wrong_state`` (not active) by the host.

    CLI Example:

    .. code-block:: bash

        salt-run landscape.network_stop hv1 service
    """
    return _act("network", "network_stop", host, name)


@public
def pool_start(host, name):
    """
    Start the storage pool ``name`` on ``host``; returns its pool dict. Refused with
    ``no_pool`` or ``wrong_state`` (already active) by the host.

    CLI Example:

    .. code-block:: bash

        salt-run landscape.pool_start hv1 images
    """
    return _act("pool", "pool_start", host, name)


@public
def pool_stop(host, name):
    """
    Stop the storage pool ``name`` on ``host``; returns its pool dict. Refused with
    ``no_pool`` or ``wrong_state`` (not active) by the host.

    CLI Example:

    .. code-block:: bash

        salt-run landscape.pool_stop hv1 images
    """
    return _act("pool", "pool_stop", host, name)


@public
def pool_refresh(host, name):
    """
    Read the volumes of the storage pool ``name`` on ``host`` again; returns its pool dict.
    Refused with ``no_pool`` or ``wrong_state`` (not active) by the host.

    CLI Example:

    .. code-block:: bash

        salt-run landscape.pool_refresh hv1 images
    """
    return _act("pool", "pool_refresh", host, name)


# ---- The landscape as code: what the pillar would make, and how the hosts differ from it.


def _each(fun, kwarg, host):
    """``{host: (ret, error)}``: every host's answer to ``fun`` (or ``host``'s only)."""
    wait = _timeout()
    with _local_client() as client:
        if host is not None:
            host = validate.host_id(host, "host")
            return {host: fanout.ask(client, host, fun, kwarg, wait)}
        expected, answers = fanout.gather(client, fun, kwarg, wait)
    return landscape_hosts.each(expected, answers, fun, wait)


@public
def show(guest=None, network=None, pool=None, host=None):
    """
    What the pillar ``landscape`` makes of one guest, network or pool (docs/landscape.md): the layers
    merged and every derived value filled in, as the hosts compute it from their pillar, compiled
    afresh. A guest: ``{"guest": {...}, "host"}``; a network or pool: ``{"network"|"pool": name,
    "hosts": {host: {...}}}`` (a host layer may make it differ per host). ``host`` limits the
    question to one host. An invalid landscape is refused (``invalid_argument``) with the reason.

    CLI Example:

    .. code-block:: bash

        salt-run landscape.show guest=web-1
        salt-run landscape.show network=service
        salt-run landscape.show pool=images host=hv2
    """
    asked = {key: value for key, value in (("guest", guest), ("network", network), ("pool", pool)) if value}
    if len(asked) != 1:
        raise Invalid("landscape.show takes exactly one of guest, network or pool")
    ((kind, name),) = asked.items()
    name = landscape_inventory.object_name(name, "network") if kind != "guest" else validate.vm_name(name)
    answers = _each("landscape.picture", {"refresh": True}, host)
    for _ret, error in answers.values():
        if error and error[0] == "invalid_argument":
            raise Invalid(error[1])
    pictures = {h: ret for h, (ret, error) in answers.items() if ret is not None}
    silent = sorted(h for h, (ret, error) in answers.items() if ret is None)
    unsure = f" ({', '.join(silent)} did not answer)" if silent else ""
    if kind == "guest":
        for where, picture in sorted(pictures.items()):
            if name in picture["guests"]:
                return {"guest": picture["guests"][name], "host": where}
        raise Refused("no_vm", f"the landscape describes no guest {name}{unsure}")
    found = {
        where: picture[kind + "s"][name]
        for where, picture in sorted(pictures.items())
        if name in picture[kind + "s"]
    }
    if not found:
        raise Refused(
            "no_network" if kind == "network" else "no_pool",
            f"the landscape describes no {kind} {name}{unsure}",
        )
    return {kind: name, "hosts": found}


@public
def diff(host=None):
    """
    How every hypervisor host (or ``host``) differs from its part of the landscape, with the pillar
    compiled afresh: ``{"hosts": [{"host", "answered", "error", "networks", "pools",
    "guests"}]}``, each object with the changes a highstate would make (a guest's ``diff`` is
    the unified diff of its managed definition). Changes nothing.

    CLI Example:

    .. code-block:: bash

        salt-run landscape.diff
        salt-run landscape.diff host=hv1
    """
    hosts = []
    for where, (ret, error) in sorted(_each("landscape.diff", None, host).items()):
        hosts.append(
            {
                "host": where,
                "answered": error is None,
                "error": None if error is None else {"code": error[0], "message": error[1]},
                "networks": (ret or {}).get("networks", {}),
                "pools": (ret or {}).get("pools", {}),
                "guests": (ret or {}).get("guests", {}),
            }
        )
    return {"hosts": hosts}
