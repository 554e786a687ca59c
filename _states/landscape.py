"""
The landscape's volumes, networks and guests on a hypervisor host, kept as its pillar says
=========================================================================================

The ``landscape`` formula (``states/landscape/``) renders one of these per volume, network and
guest of the host's picture (``salt hv1 landscape.picture``; pillar ``landscape``,
docs/landscape.md). Storage pools use saltext-virt's ``virt.pool_running``; these exist because
saltext-virt's ``virt.volume_defined`` fails a dry run when its pool is made in the same run,
``virt.network_defined`` only redefines a network (a running one keeps its old DHCP hosts until
restarted), and ``virt.defined`` names volumes its own way, has no disk cache setting and shows
no diff under ``test=True`` (docs/landscape.md, Why saltext-virt for pools).

This file is the Salt face over ``brine.landscape_apply``.

:depends: libvirt-python, Brine's ``landscape`` execution module and library
"""

from brine import config
from brine import host_networks
from brine import landscape_apply
from brine import libvirt_host
from brine.errors import Invalid
from brine.errors import Refused

__virtualname__ = "landscape"


def __virtual__():
    if not libvirt_host.HAS_LIBVIRT:
        return (False, "Brine's landscape states need libvirt-python")
    return __virtualname__


def _connection(failure):
    uri = __salt__["config.get"]("virt:connection:uri") or "qemu:///system"
    return libvirt_host.connection(lambda: libvirt_host.open_connection(uri), failure)


def _ret(name, outcome, unchanged):
    return {
        "name": name,
        "result": outcome.result,
        "changes": outcome.changes,
        "comment": outcome.comment(unchanged),
    }


def _failed(name, err):
    sentence = err.args[0] if isinstance(err, KeyError) else str(err)
    return {"name": name, "result": False, "changes": {}, "comment": sentence}


def _picture():
    """The host's picture, made once per state run (``__context__`` lives as long as the run):
    every volume, network and guest state of the formula reads the same one."""
    if "landscape.picture" not in __context__:
        __context__["landscape.picture"] = __salt__["landscape.picture"]()
    return __context__["landscape.picture"]


def _picture_entry(kind, name):
    entry = _picture()[kind].get(name)
    if entry is None:
        raise KeyError(f"the landscape gives this host no {kind[:-1]} {name}")
    return entry


def volume(name, pool):
    """
    The landscape's volume ``name`` in ``pool`` (a pool's own volume, or a guest's disk that gives
    a size): created with its size and format when absent, never resized or removed. Under
    ``test=True`` before its pool exists, it says it would be created.

    .. code-block:: yaml

        landscape-volume-images/web-1-disk0.qcow2-landscape-volume:
          landscape.volume:
            - name: web-1-disk0.qcow2
            - pool: images
    """
    try:
        entry = next((v for v in _picture()["volumes"] if v["pool"] == pool and v["name"] == name), None)
        if entry is None:
            raise KeyError(f"the landscape gives this host no volume {name} in pool {pool}")
        with _connection(f"Could not make volume {name}") as conn:
            outcome = landscape_apply.ensure_volume(conn, entry, __opts__["test"])
    except (Invalid, Refused, KeyError) as err:
        return _failed(name, err)
    return _ret(name, outcome, f"Volume {name} is in pool {pool}.")


def network(name):
    """
    The landscape's network ``name`` defined, autostarted as the landscape says and started; its static
    DHCP hosts and DNS hosts changed live on a running network (``virNetworkUpdate``), anything
    else in its definition for the next start.

    .. code-block:: yaml

        landscape-network-service:
          landscape.network:
            - name: service
    """
    try:
        net = _picture_entry("networks", name)
        with _connection(f"Could not bring network {name} about") as conn:
            outcome = landscape_apply.ensure_network(conn, net, host_networks.parse, __opts__["test"])
    except (Invalid, Refused, KeyError) as err:
        return _failed(name, err)
    return _ret(name, outcome, f"Network {name} is as the landscape describes it.")


def guest(name):
    """
    The landscape's guest ``name`` defined on this host as the landscape describes it (redefined, uuid
    kept, when a part the landscape manages differs: the diff shows under ``test=True``), autostart
    as asked, and started when the landscape says ``start: true``. A guest the landscape does not name is
    never touched.

    .. code-block:: yaml

        landscape-guest-web-1:
          landscape.guest:
            - name: web-1
    """
    try:
        entry = _picture_entry("guests", name)
        domain_type = config.get("provision:virt_type", __salt__["config.get"])
        with _connection(f"Could not bring guest {name} about") as conn:
            outcome = landscape_apply.ensure_guest(conn, entry, domain_type, __opts__["test"])
    except (Invalid, Refused, KeyError) as err:
        return _failed(name, err)
    return _ret(name, outcome, f"Guest {name} is as the landscape describes it.")
