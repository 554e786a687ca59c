"""
Brine's host side: inventory and lifecycle of the virtual machines on this host
===============================================================================

A thin Salt face over Brine's library (``_utils/brine``): each function checks its arguments,
opens one libvirt connection, calls the library, and lets the library's coded errors through
(``[<code>] <sentence>``, docs/api.md). Data shapes are the ones in ``docs/api.md``: sizes of
memory are KiB (libvirt's unit), sizes of disks are bytes.

:depends: libvirt-python, Brine's library (``_utils/brine``, synced with ``saltutil.sync_utils``)

Configuration
-------------
Read with ``config.get``, so from the minion configuration or pillar. An unset libvirt URI
means libvirt's default (``qemu:///system`` when running as root); every ``brine:`` key and
its default is in ``pillar/pillar.example``.

.. code-block:: yaml

    virt:
      connection:
        uri: qemu:///system
    brine:
      console:
        # Where the master's websockify reaches this host's VNC servers (default: VNC's listen address).
        address: 10.77.0.11
      migration:
        # Where the source's libvirtd reaches the target; {host} is the target's minion id.
        uri: qemu+tls://{host}/system
        # Folders that are the same storage on every host although libvirt cannot tell (the lab's
        # bind-mounted image folder): disks inside them count as shared, and only when every unsafe
        # disk is inside one is libvirt's safety check skipped (VIR_MIGRATE_UNSAFE).
        unsafe_shared_storage: []
        # Default most milliseconds a VM may be paused at the end; unset: QEMU's 300.
        max_downtime: 50
      capacity:
        reserved_memory: 1048576   # KiB a host keeps for itself, not for VMs
        vcpu_ratio: 4              # vCPUs of running VMs allowed per host CPU
"""

import time

from brine import config
from brine import console_crypto
from brine import docker_host
from brine import libvirt_host
from brine import lifecycle
from brine import migration
from brine import migration_check
from brine import migration_plan
from brine import signing
from brine import validate
from brine import vnc
from brine.errors import Invalid
from brine.errors import Refused

try:
    import libvirt

    HAS_LIBVIRT = True
except ImportError:
    HAS_LIBVIRT = False

__virtualname__ = "hypervisor"


def __virtual__():
    if not HAS_LIBVIRT:
        return (False, "the hypervisor module needs libvirt-python (import libvirt failed)")
    return __virtualname__


# ---------------------------------------------------------------------------
# The boundary: configuration, the connection, this host's name.
# ---------------------------------------------------------------------------


def _config(key):
    return config.get(key, __salt__["config.get"])


def _open_connection():
    """Open the libvirt connection configured in ``virt:connection:uri``."""
    return libvirt_host.open_connection(__salt__["config.get"]("virt:connection:uri") or None)


def _connection(failure):
    """An open connection, closed afterwards; libvirt's errors become coded ``Refused``."""
    return libvirt_host.connection(_open_connection, failure)


def _host_id(conn):
    return __grains__.get("id") or conn.getHostname()


# ---------------------------------------------------------------------------
# Inventory and lifecycle
# ---------------------------------------------------------------------------


def inventory():
    """
    Facts about this host and every VM defined or running on it, in one libvirt
    connection with bulk calls.

    Returns ``{"host", "vms", "docker", "containers"}`` (docs/api.md). ``vms_running``,
    ``vcpus_allocated`` and ``memory_allocated`` count active VMs (running, paused, ...).

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.inventory
    """
    with _connection("Could not take the inventory of this host") as conn:
        vms = sorted(libvirt_host.describe_all(conn), key=lambda vm: vm["name"])
        facts = libvirt_host.host_facts(conn, vms)
    return {"host": facts, "vms": vms, **docker_host.inventory(__salt__["config.get"]("docker.url"))}


def vm_info(name):
    """
    Brine's VM dict for the VM ``name`` on this host.

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.vm_info lab-vm1
    """
    name = validate.vm_name(name)
    with _connection(f"Could not describe {name}") as conn:
        host = _host_id(conn)
        vm = libvirt_host.describe_domain(conn, libvirt_host.lookup(conn, name, host))
        if vm is None:
            raise libvirt_host.no_vm(name, host)
        return vm


def _simple_action(name, test, action, doing, done, act):
    """Validate, check that ``action`` makes sense for the VM's state, then ``act(dom)``
    (unless ``test``) and return the result dict: the shape every one-call action shares."""
    name = validate.vm_name(name)
    test = validate.flag(test, "test")
    with _connection(f"Could not {doing} {name}") as conn:
        host = _host_id(conn)
        dom = lifecycle.prepare(conn, name, host, action)
        if test:
            return lifecycle.result(conn, dom, host, action, False, f"would {doing} {name}")
        act(dom)
        return lifecycle.result(conn, dom, host, action, True, f"{name} was {done}")


def start(name, test=False):
    """
    Start (boot, or restore from its managed save) the shut-off VM ``name``.

    name
        The VM's name.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.start lab-vm1
    """
    return _simple_action(name, test, "start", "start", "started", lambda dom: dom.create())


def shutdown(name, timeout=60, force=False, test=False):
    """
    Ask the VM ``name`` to shut down (ACPI power button) and wait until it is off.

    name
        The VM's name.

    timeout
        Seconds to wait for the guest to power off (default 60, at most 3600).

    force
        Power the VM off if it is still running after ``timeout``. Without it, a guest
        that does not shut down in time is an error (and may still be shutting down).

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.shutdown lab-vm1
        salt hv1 hypervisor.shutdown lab-vm1 timeout=120 force=True
    """
    name = validate.vm_name(name)
    timeout = validate.at_most(validate.seconds(timeout), "shutdown_timeout", "timeout")
    force = validate.flag(force, "force")
    test = validate.flag(test, "test")
    with _connection(f"Could not shut down {name}") as conn:
        host = _host_id(conn)
        dom = lifecycle.prepare(conn, name, host, "shutdown")
        if test:
            fallback = f" (and power it off if it still runs after {timeout:g} s)" if force else ""
            return lifecycle.result(conn, dom, host, "shutdown", False, f"would shut down {name}{fallback}")
        dom.shutdown()
        if lifecycle.wait_until_off(dom, timeout):
            return lifecycle.result(conn, dom, host, "shutdown", True, f"{name} was shut down")
        if not force:
            raise Refused(
                "timeout",
                f"{name} did not shut down within {timeout:g} s on {host}; its guest may "
                "still be shutting down (use force=True to power it off after the timeout)",
            )
        dom.destroy()
        comment = f"{name} did not shut down within {timeout:g} s and was powered off"
        return lifecycle.result(conn, dom, host, "shutdown", True, comment)


def force_off(name, test=False):
    """
    Power the VM ``name`` off at once, like pulling the plug (libvirt's destroy).
    Its definition and disks stay.

    name
        The VM's name.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.force_off lab-vm1
    """
    return _simple_action(name, test, "force_off", "power off", "powered off", lambda dom: dom.destroy())


def reboot(name, test=False):
    """
    Ask the running VM ``name`` to reboot (ACPI).

    name
        The VM's name.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.reboot lab-vm1
    """
    return _simple_action(name, test, "reboot", "reboot", "rebooted", lambda dom: dom.reboot(0))


def pause(name, test=False):
    """
    Pause the running VM ``name``: its vCPUs stop, its memory stays.

    name
        The VM's name.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.pause lab-vm1
    """
    return _simple_action(name, test, "pause", "pause", "paused", lambda dom: dom.suspend())


def resume(name, test=False):
    """
    Resume the paused VM ``name``.

    name
        The VM's name.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.resume lab-vm1
    """
    return _simple_action(name, test, "resume", "resume", "resumed", lambda dom: dom.resume())


def delete(name, remove_disks=False, test=False):
    """
    Delete (undefine) the shut-off VM ``name``, with its managed save image, snapshot
    and checkpoint metadata. A running VM is refused.

    name
        The VM's name.

    remove_disks
        Also delete its disk images (and its UEFI variables and TPM state). Only
        images that are volumes of an active libvirt storage pool are deleted, through
        the pool; cdroms, images other VMs use, and files outside pools are kept and
        the comment says why.

    test
        Say what would be done without doing it.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.delete lab-vm1
        salt hv1 hypervisor.delete lab-vm1 remove_disks=True
    """
    name = validate.vm_name(name)
    remove_disks = validate.flag(remove_disks, "remove_disks")
    test = validate.flag(test, "test")
    with _connection(f"Could not delete {name}") as conn:
        host = _host_id(conn)
        dom = lifecycle.prepare(conn, name, host, "delete")
        return lifecycle.delete(conn, dom, name, host, remove_disks, test)


# ---------------------------------------------------------------------------
# Consoles: a VM's VNC server for one browser session (docs/api.md, Consoles).
# ---------------------------------------------------------------------------


def _console_address(graphics, name, host):
    """Where websockify reaches the VNC server of ``graphics``: ``brine:console:address`` if set."""
    return vnc.address(graphics, name, host, _config("console:address"))


def console(name, ttl=vnc.TTL_DEFAULT, public_key=None):
    """
    Open VM ``name``'s screen for one console session: give its VNC server a fresh random
    password that lets new VNC clients in for ``ttl`` seconds only, and return where the
    master's console proxy (websockify) reaches it, with the password encrypted to the
    browser's ``public_key`` (RSA-OAEP, SHA-256): no return carries the password itself.
    Sessions already connected stay connected.

    Returns ``{"name", "host", "protocol": "vnc", "address", "port", "password_encrypted",
    "valid_to"}`` (``valid_to`` in Unix time). Refused when the VM is not running or has no
    VNC graphics.

    name
        The VM's name.

    ttl
        Seconds the password lets a client in (1 to 300, default 30).

    public_key
        The browser's RSA public key (2048 to 4096 bits), SPKI DER in base64.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.console lab-vm1 public_key=<base64 SPKI>
    """
    name = validate.vm_name(name)
    ttl = vnc.ttl(ttl)
    key = console_crypto.public_key(public_key)[1]
    with _connection(f"Could not open the console of {name}") as conn:
        host = _host_id(conn)
        dom = libvirt_host.lookup(conn, name, host)
        vnc.check_state(name, host, libvirt_host.current_state(dom))
        graphics = vnc.graphics(dom.XMLDesc(0), name, host)
        address = _console_address(graphics, name, host)
        password = vnc.new_password()
        valid_to = int(time.time()) + ttl
        dom.updateDeviceFlags(vnc.password_xml(graphics, password, valid_to), libvirt.VIR_DOMAIN_AFFECT_LIVE)
        return {
            "name": name,
            "host": host,
            "protocol": "vnc",
            "address": address,
            "port": int(graphics.get("port")),
            "password_encrypted": console_crypto.encrypt(key, password),
            "valid_to": valid_to,
        }


# ---------------------------------------------------------------------------
# Migration (docs/api.md, "Migration"): what a VM needs, whether a target can
# take it, and the live migration itself, driven by the source's libvirtd.
# ---------------------------------------------------------------------------


def _shared_folders():
    return migration_check.shared_folders(_config("migration:unsafe_shared_storage"))


def migration_needs(name):
    """
    What VM ``name`` on this host needs from a migration target: its state, memory,
    vCPUs, CPU definition, networks, bridges, and its disks with whether each is on
    storage other hosts share. The runner sends this to ``migration_target_check`` on
    every candidate host.

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.migration_needs lab-vm1
    """
    name = validate.vm_name(name)
    folders = _shared_folders()
    with _connection(f"Could not read what {name} needs to migrate") as conn:
        host = _host_id(conn)
        dom = libvirt_host.lookup(conn, name, host)
        return migration_check.needs(conn, dom, host, folders)


def migration_target_check(needs):
    """
    Whether this host can take the VM that ``needs`` describes (the return of
    ``hypervisor.migration_needs`` on the VM's host), and every reason why not.

    Returns ``{"host": <this host>, "problems": [{"code", "reason", "offer"}, ...]}``;
    no problems means it can. Codes: ``same_host``, ``name_taken``, ``not_running``
    (offer ``offline``), ``memory``, ``vcpus``, ``cpu``, ``network``, ``bridge``,
    ``disk_local`` and ``disk_unreachable`` (offer ``copy_storage``). Memory counts
    what running VMs use and ``brine:capacity:reserved_memory``; vCPUs are allowed up
    to ``brine:capacity:vcpu_ratio`` per host CPU.

    needs
        The dict ``hypervisor.migration_needs`` returned on the source.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.migration_target_check \\
            "$(salt --out=json hv2 hypervisor.migration_needs lab-vm2 | jq .hv2)"
    """
    if not isinstance(needs, dict) or not isinstance(needs.get("name"), str):
        raise Invalid("needs must be the dict hypervisor.migration_needs returns")
    validate.vm_name(needs["name"])
    for key in ("networks", "bridges", "disks"):
        if not isinstance(needs.get(key, []), list):
            raise Invalid(f"needs[{key!r}] must be a list")
    lookup = __salt__["config.get"]
    reserved_memory = migration_check.configured_number("capacity:reserved_memory", lookup)
    vcpu_ratio = migration_check.configured_number("capacity:vcpu_ratio", lookup)
    with _connection(f"Could not check whether this host can take {needs['name']}") as conn:
        facts = migration_check.target_facts(conn, needs, _host_id(conn), reserved_memory, vcpu_ratio)
        return {"host": facts["host"], "problems": migration_check.target_problems(needs, facts)}


def _migration_options(live, max_downtime, bandwidth, copy_storage, autoconverge, offline):
    """The checked options of ``migrate``, with ``brine:migration:max_downtime`` as the default."""
    options = migration_plan.options(live, max_downtime, bandwidth, copy_storage, autoconverge, offline)
    if options["max_downtime"] is None:
        configured = migration_check.configured_number("migration:max_downtime", __salt__["config.get"])
        configured = int(configured) if configured else None
        options["max_downtime"] = configured and validate.at_most(
            configured, "max_downtime", "brine:migration:max_downtime"
        )
    return options


def migrate(
    name,
    target,
    migration_id,
    live=True,
    max_downtime=None,
    bandwidth=None,
    copy_storage=False,
    autoconverge=False,
    offline=False,
):
    """
    Migrate VM ``name`` from this host to host ``target``, peer to peer: this host's
    libvirtd drives it over the URI ``brine:migration:uri`` (``{host}`` replaced by
    ``target``), the VM becomes persistent on the target, and its definition here is
    removed only after success. Fires ``brine/migration/<id>/started``, ``progress``
    every ~0.5 s, then ``done`` or ``failed`` (see docs/api.md, Events). Usually called
    by the ``cluster.migrate`` runner, which checks the target first and makes the id.
    The guest's memory (and disks with ``copy_storage``) travel with QEMU's native
    migration TLS (``VIR_MIGRATE_TLS``) unless ``brine:migration:tls`` is false (the lab's
    plain TCP); the return says ``tls``.

    name
        The VM's name.

    target
        The target host's minion id (as used in the migration URI).

    migration_id
        The id in the event tags (``mig-<unix ms>-<6 hex>`` from the runner).

    live
        Keep the VM running while its memory is copied (default). False pauses it for
        the whole copy.

    max_downtime
        Most milliseconds the VM may be paused for the final copy; default
        ``brine:migration:max_downtime``, else QEMU's 300.

    bandwidth
        Most MiB/s the migration may use.

    copy_storage
        Copy the disks too (they must not be on shared storage).

    autoconverge
        Slow the VM's vCPUs down when its memory changes faster than it can be copied.

    offline
        Move only the definition of a VM that is not running.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.migrate lab-vm1 hv2 mig-1763680000000-a1b2c3
        salt hv1 hypervisor.migrate lab-vm1 hv2 mig-1763680000000-a1b2c3 max_downtime=100 bandwidth=64
    """
    name = validate.vm_name(name)
    target = validate.host_id(target)
    migration_id = migration.migration_id(migration_id)
    options = _migration_options(live, max_downtime, bandwidth, copy_storage, autoconverge, offline)
    uri = migration.target_uri(_config("migration:uri"), target)
    folders = _shared_folders()
    with _connection(f"Could not migrate {name} to {target}") as conn:
        host = _host_id(conn)
        dom = migration.source_domain(conn, name, host, target, options["offline"])
        # Salt's dunders live in the loader's context, which the progress thread does not
        # inherit: take the loaded function here, it carries its context with it. Signed with
        # this minion's key (brine.signing): the master's stream drops unsigned events.
        send = signing.minion_sender(__salt__["event.send"], __opts__)
        base = {"id": migration_id, "vm": name, "source": host, "target": target}
        # QEMU's migration TLS unless the host says false (the lab's plain TCP): fail safe.
        tls = _config("migration:tls") is not False
        cachedir = __opts__.get("cachedir")
        return migration.run(dom, base, uri, options, folders, send, tls=tls, cachedir=cachedir)


def migration_abort(name):
    """
    Abort the migration (or any other job) of VM ``name`` that runs on this host; the VM
    keeps running here.

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.migration_abort lab-vm1
    """
    name = validate.vm_name(name)
    with _connection(f"Could not abort the migration of {name}") as conn:
        host = _host_id(conn)
        migration.abort(libvirt_host.lookup(conn, name, host), name, host, __opts__.get("cachedir"))
        return {"name": name, "host": host, "aborted": True}


def migration_cleanup(name, uuid):
    """
    Remove what a failed incoming migration of VM ``name`` (``uuid``) left on this host:
    a definition that is not running, or a domain still paused waiting for the incoming
    migration. A VM of that name running normally here is never touched. The runner
    calls this only after the source confirmed it still runs the VM.

    name
        The VM's name.

    uuid
        The VM's UUID: a different VM of the same name is left alone.

    CLI Example:

    .. code-block:: bash

        salt hv1 hypervisor.migration_cleanup lab-vm2 2b13d5ef-457d-4164-9f62-2b2aee0e69d7
    """
    name = validate.vm_name(name)
    uuid = migration.uuid(uuid)
    with _connection(f"Could not clean up after the migration of {name}") as conn:
        host = _host_id(conn)
        removed, comment = migration.cleanup(conn, name, uuid, host)
        return {"name": name, "host": host, "removed": removed, "comment": comment}
