"""
Brine's provisioning on a hypervisor host: room for a new VM, unattended installs
================================================================================

The master's ``provision`` runner asks every host ``capacity`` to place a new VM, then
``install`` on the chosen one (docs/provisioning.md). The host's ``brine_installs`` engine
follows each install to its end; ``installs`` lists those in progress and those that failed.

This file is the Salt face: it checks arguments and calls Brine's library (``_utils/brine``:
``placement``, ``install``, ``sealed``), refusing with a code (``[code] sentence``).

:depends: libvirt-python, virt-install (Debian's ``virtinst``), Brine's library synced with
    ``saltutil.sync_utils``
:configuration: ``brine:provision:virt_type`` (kvm, or qemu where KVM cannot run guests),
    ``brine:capacity:reserved_memory``, ``brine:capacity:vcpu_ratio`` (pillar.example)
"""

import logging

from brine import config
from brine import install as installs_lib
from brine import libvirt_host
from brine import migration_check
from brine import placement
from brine import sealed
from brine import validate
from brine.errors import Refused

try:
    import libvirt  # noqa: F401  pylint: disable=unused-import

    HAS_LIBVIRT = True
except ImportError:
    HAS_LIBVIRT = False

log = logging.getLogger(__name__)

__virtualname__ = "provision"

VIRT_TYPES = ("kvm", "qemu")


def __virtual__():
    if not HAS_LIBVIRT:
        return (False, "Brine's provision module needs libvirt-python")
    return __virtualname__


def _config(key):
    return config.get(key, __salt__["config.get"])


def _uri():
    return __salt__["config.get"]("virt:connection:uri") or "qemu:///system"


def _connection(failure):
    return libvirt_host.connection(lambda: libvirt_host.open_connection(_uri()), failure)


def _host_id():
    return __opts__.get("id") or __grains__.get("id")


def capacity(needs):
    """
    Whether this host has room for a new VM, and every reason why not.

    Returns ``{"host", "free_memory" (KiB for VMs after running VMs and the reserve),
    "problems": [{"code", "reason"}]}``; no problems means it fits. Codes: ``name_taken``,
    ``memory``, ``vcpus``, ``network``, ``pool``.

    needs
        ``{"name", "memory" (MiB), "vcpus", "disk" (GiB), "network", "pool"}``

    CLI Example:

    .. code-block:: bash

        salt hv1 provision.capacity \\
            '{name: web1, memory: 128, vcpus: 1, disk: 1, network: lab, pool: default}'
    """
    needs = placement.check_needs(needs)
    lookup = __salt__["config.get"]
    reserved = migration_check.configured_number("capacity:reserved_memory", lookup)
    ratio = migration_check.configured_number("capacity:vcpu_ratio", lookup)
    with _connection(f"Could not check whether this host has room for {needs['name']}") as conn:
        facts = placement.facts(conn, _host_id(), needs, reserved, ratio)
        return {
            "host": facts["host"],
            "free_memory": placement.free_memory(facts),
            "problems": placement.problems(needs, facts),
        }


def _virt_type():
    virt_type = _config("provision:virt_type")
    if virt_type not in VIRT_TYPES:
        raise Refused("invalid_argument", f"brine:provision:virt_type must be kvm or qemu, not {virt_type!r}")
    return virt_type


def _open_kickstart(sealed_kickstart, name):
    return sealed.unseal_on_host(
        __opts__, sealed_kickstart, f"provision.install:{name}", "install_failed", "kickstart"
    )


def install(spec, kickstart):
    """
    Start the unattended install of a new VM with ``virt-install``; the host's
    ``brine_installs`` engine follows it until the VM runs or the install failed.

    Returns ``{"name", "host", "uuid", "volume", "state": "installing"}``. Refuses with
    ``vm_exists`` when a VM of that name is defined here, ``install_failed`` when
    virt-install does not start it.

    spec
        ``{"name", "memory" (MiB), "vcpus", "disk" (GiB), "pool", "network", "mac", "url",
        "os_variant", "keep_failed"}`` (``brine.install.SPEC_FIELDS``)

    kickstart
        The rendered kickstart, sealed by the master to this host's minion key
        (``brine.sealed``): job arguments never carry it readable.

    CLI Example (the runner is the way in: it renders and seals the kickstart):

    .. code-block:: bash

        salt-run provision.create web1 host_group=web ssh_key="ssh-ed25519 AAAA..."
    """
    spec = installs_lib.check_spec(spec)
    sealed.check(kickstart)
    virt_type = _virt_type()
    text = _open_kickstart(kickstart, spec["name"])
    with _connection(f"Could not start the install of {spec['name']}") as conn:
        started = installs_lib.start(conn, spec, text, virt_type)
        return {
            "name": spec["name"],
            "host": _host_id(),
            "uuid": started["uuid"],
            "volume": started["volume"],
            "state": "installing",
        }


def installs():
    """
    The installs on this host: ``{"host", "installing": [{"name", "progress", "step"}],
    "failed": [{"name", "reason", "kept", "at"}]}``.

    CLI Example:

    .. code-block:: bash

        salt hv1 provision.installs
    """
    with _connection("Could not list the installs on this host") as conn:
        running = []
        for vm in libvirt_host.describe_all(conn):
            if vm.get("install") and vm["install"]["state"] == "installing":
                running.append(
                    {"name": vm["name"], "progress": vm["install"]["progress"], "step": vm["install"]["step"]}
                )
    failed = [
        {key: record.get(key) for key in ("name", "reason", "kept", "at")}
        for record in installs_lib.records(installs_lib.RECORDS_DIR)
    ]
    return {"host": _host_id(), "installing": running, "failed": failed}


def dismiss(name):
    """
    Forget the record of ``name``'s failed install on this host. Returns
    ``{"name", "host", "changed"}``.

    CLI Example:

    .. code-block:: bash

        salt hv1 provision.dismiss web1
    """
    name = validate.vm_name(name)
    return {"name": name, "host": _host_id(), "changed": installs_lib.forget(installs_lib.RECORDS_DIR, name)}
