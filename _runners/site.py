"""
Brine's site from the master: what the hosts have of it
=======================================================

The ``site`` runner gathers what every hypervisor host has of the site (docs/site.md, "What the
hosts have"): its libvirt networks and storage pools, each marked managed when the host's site
picture defines it, and runs an admin's start, stop or refresh on one host. Definitions stay
code: the ``site`` states make them.

Hosts are the minions whose pillar ``brine:roles`` contains ``hypervisor``, each running the
``site`` execution module. This file is the Salt face over Brine's library (``fanout``,
``site_hosts``, ``site_inventory``); every public function is wrapped by ``brine.face``, so a
refusal returns ``{"error": {"code", "message"}}``. Roles (master.d/brine-eauth.conf): viewers
read, admins act.

:depends: the ``site`` execution module synced to every host; Brine's library in the master's
    ``utils_dirs``
:configuration: ``brine:inventory:timeout`` (pillar.example)
"""

import salt.client

from brine import config
from brine import face
from brine import fanout
from brine import site_hosts
from brine import site_inventory
from brine import validate

__virtualname__ = "site"
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
        return site_hosts.asked(host, fun, key, ret, error)
    with _local_client() as client:
        expected, answers = fanout.gather(client, fun, None, wait)
    return site_hosts.gathered(expected, answers, fun, key, wait)


@public
def networks(host=None):
    """
    The libvirt networks of every hypervisor host, or of ``host`` only:
    ``{"hosts": [{"host", "answered", "error", "networks": [network]}]}`` (docs/site.md). A
    host without a usable answer is ``answered: false``, ``error`` saying why (``unreachable``,
    the host's refusal, ``host_error``).

    CLI Example:

    .. code-block:: bash

        salt-run site.networks
        salt-run site.networks hv1
    """
    return _gather("site.networks", "networks", host)


@public
def pools(host=None):
    """
    The storage pools of every hypervisor host, or of ``host`` only, each volume with the VMs
    that use it: ``{"hosts": [{"host", "answered", "error", "pools": [pool]}]}`` (docs/site.md).

    CLI Example:

    .. code-block:: bash

        salt-run site.pools
        salt-run site.pools hv1
    """
    return _gather("site.pools", "pools", host)


# ---- Admin actions on one host: start, stop, refresh.


def _act(kind, fun, host, name):
    """Run ``site.<fun>`` on ``host``; its refusal comes back with its code and the host named."""
    host = validate.host_id(host, "host")
    name = site_inventory.object_name(name, kind)
    with _local_client() as client:
        ret, error = fanout.ask(client, host, f"site.{fun}", {"name": name}, _timeout())
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

        salt-run site.network_start hv1 service
    """
    return _act("network", "network_start", host, name)


@public
def network_stop(host, name):
    """
    Stop the network ``name`` on ``host``; returns its network dict. Refused with
    ``no_network`` or ``wrong_state`` (not active) by the host.

    CLI Example:

    .. code-block:: bash

        salt-run site.network_stop hv1 service
    """
    return _act("network", "network_stop", host, name)


@public
def pool_start(host, name):
    """
    Start the storage pool ``name`` on ``host``; returns its pool dict. Refused with
    ``no_pool`` or ``wrong_state`` (already active) by the host.

    CLI Example:

    .. code-block:: bash

        salt-run site.pool_start hv1 images
    """
    return _act("pool", "pool_start", host, name)


@public
def pool_stop(host, name):
    """
    Stop the storage pool ``name`` on ``host``; returns its pool dict. Refused with
    ``no_pool`` or ``wrong_state`` (not active) by the host.

    CLI Example:

    .. code-block:: bash

        salt-run site.pool_stop hv1 images
    """
    return _act("pool", "pool_stop", host, name)


@public
def pool_refresh(host, name):
    """
    Read the volumes of the storage pool ``name`` on ``host`` again; returns its pool dict.
    Refused with ``no_pool`` or ``wrong_state`` (not active) by the host.

    CLI Example:

    .. code-block:: bash

        salt-run site.pool_refresh hv1 images
    """
    return _act("pool", "pool_refresh", host, name)
