"""
Brine's view of the whole cluster, and VM lifecycle by name, from the master
============================================================================

The ``cluster`` runner asks every hypervisor host at once for its inventory and
sends lifecycle actions to the one host that holds a VM, so callers (the web
UI through salt-api, or ``salt-run``) never need to know which host that is.

Hosts are the minions whose pillar ``brine:roles`` contains ``hypervisor``;
the runner targets them by that pillar and never by ``*``. Each host runs
Brine's ``hypervisor`` execution module, which this runner calls; the return
shapes are described in ``docs/api.md``.

This file is the Salt face: it checks arguments (numbers against
``brine.validate.LIMITS``), calls Brine's library (``_utils/brine``) and refuses
with a code (``brine.errors``); a host's refusal comes back with the host's code,
the host named first. Every public function is wrapped by ``brine.face``: a
refused call returns ``{"error": {"code", "message"}}``, never a traceback.

:depends: the ``hypervisor`` execution module synced to every host
    (``saltutil.sync_modules``); Brine's library ``_utils/brine`` in the
    master's ``utils_dirs``
:configuration: master config or the master's pillar: ``brine:inventory:timeout``,
    ``brine:migration:timeout`` and the console keys (``pillar/pillar.example``)

The runner remembers which host held which VM at the last inventory in the
master cache (bank ``brine/inventory``, see ``brine.hostmap``). That map is
only a hint: when it misses or is stale, the runner asks the hosts
``hypervisor.vm_info`` for that one name instead of running a full inventory.
"""

import os
import time

import salt.cache
import salt.client
import salt.utils.event
import salt.utils.minions

from brine import config
from brine import console_crypto
from brine import consoles
from brine import dispatch
from brine import errors
from brine import face
from brine import fanout
from brine import hostmap
from brine import migration_plan
from brine import migration_run
from brine import signing
from brine import stream
from brine import tokens
from brine import validate

__virtualname__ = "cluster"
# Wraps every public function (brine.face): refusals come back as {"error": {code, message}}.
public = face.runner(__virtualname__, lambda: globals().get("__context__"))

CONSOLE_TTL = tokens.DEFAULT_TTL


def __virtual__():
    return __virtualname__


# ---- The master: configuration, LocalClient, cache, event bus, known hosts.


def _lookup():
    return config.master_lookup(__opts__, globals().get("__pillar__"))


def _timeout(timeout=None):
    """The inventory timeout: the argument, else ``brine:inventory:timeout``; checked, bounded."""
    if timeout is None:
        return fanout.timeout(config.get("inventory:timeout", _lookup()), "brine:inventory:timeout")
    return fanout.timeout(timeout, "timeout")


def _migration_timeout():
    seconds = fanout.extra_wait(config.get("migration:timeout", _lookup()))
    limited = validate.at_most(seconds, "migration_timeout", "brine:migration:timeout")
    return limited or config.default("migration:timeout")


def _local_client():
    return salt.client.get_local_client(__opts__["conf_file"])


def _cache():
    return salt.cache.factory(__opts__)


def _hypervisor_hosts():
    """The hosts the master would target as hypervisors, from its pillar cache: no publish."""
    ckminions = salt.utils.minions.CkMinions(__opts__)
    return sorted(ckminions.check_minions(fanout.HOST_TARGET, fanout.HOST_TARGET_TYPE)["minions"])


def _fire_master(tag, data):
    """Fire a Brine event as the master, signed with its key (the stream trusts no other)."""

    def fire(signed_tag, payload):
        with salt.utils.event.get_master_event(__opts__, __opts__["sock_dir"], listen=False) as bus:
            bus.fire_event(payload, signed_tag)

    signing.master_sender(fire, __opts__)(tag, data)


# ---- Running a function on the host that holds a VM.


def _run_on_vm(name, fun, kwarg, extra_wait=0):
    """
    Run ``hypervisor.<fun>`` for VM ``name`` on the host that holds it (``brine.dispatch``):
    ``(host, its return)``. ``extra_wait`` is how much longer than a lookup the host may take.
    """
    timeout = _timeout()
    with _local_client() as client:
        return dispatch.run_on_vm(client, _cache(), name, fun, kwarg, timeout, timeout + extra_wait)


def _lifecycle(action, name, extra_wait=0, **kwargs):
    """
    Run lifecycle ``action`` on VM ``name``; other arguments go to the host as they are,
    and the hypervisor module judges them.
    """
    name = validate.vm_name(name)
    return _run_on_vm(name, f"hypervisor.{action}", dict(kwargs, name=name), extra_wait=extra_wait)[1]


# ---- Public runner functions (each @public: brine.face): inventory and lifecycle.


@public
def inventory(timeout=None):
    """
    Ask every hypervisor host at once for its facts and VMs.

    Hosts that do not answer within ``timeout`` seconds (default
    ``brine:inventory:timeout``, else 10), or answer with an error, are listed
    with ``reachable: false`` and the reason; the others are returned as usual.
    Totals count every host, and the resources of reachable hosts.

    timeout
        Seconds to wait for the hosts.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.inventory
        salt-run cluster.inventory timeout=30
    """
    timeout = _timeout(timeout)
    with _local_client() as client:
        expected, answers = fanout.gather(client, "hypervisor.inventory", None, timeout)
    result = fanout.merge_inventory(expected, answers, timeout, time.time())
    hostmap.remember(_cache(), result["hosts"])
    return result


@public
def vm_info(name):
    """
    The VM dict of VM ``name``, with ``host`` naming the host that holds it.

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.vm_info lab-vm1
    """
    name = validate.vm_name(name)
    host, vm = _run_on_vm(name, "hypervisor.vm_info", {"name": name})
    return dict(vm, host=host)


@public
def start(name, test=False):
    """
    Start VM ``name`` on the host that holds it.

    name
        The VM's name.

    test
        Only say what would be done.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.start lab-vm1
    """
    return _lifecycle("start", name, test=test)


@public
def shutdown(name, timeout=60, force=False, test=False):
    """
    Ask VM ``name`` to shut down (ACPI) and wait until it has.

    name
        The VM's name.

    timeout
        Seconds the host waits for the guest to power off.

    force
        Power the VM off when it has not shut down within ``timeout``.

    test
        Only say what would be done.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.shutdown lab-vm1
        salt-run cluster.shutdown lab-vm1 timeout=120 force=True
    """
    name = validate.vm_name(name)
    timeout = validate.at_most(validate.seconds(timeout), "shutdown_timeout", "timeout")
    # The host may take the whole shutdown timeout before it answers.
    return _lifecycle("shutdown", name, extra_wait=timeout, timeout=timeout, force=force, test=test)


@public
def force_off(name, test=False):
    """
    Power VM ``name`` off at once, like pulling the plug.

    name
        The VM's name.

    test
        Only say what would be done.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.force_off lab-vm1
    """
    return _lifecycle("force_off", name, test=test)


@public
def reboot(name, test=False):
    """
    Ask VM ``name`` to reboot.

    name
        The VM's name.

    test
        Only say what would be done.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.reboot lab-vm1
    """
    return _lifecycle("reboot", name, test=test)


@public
def pause(name, test=False):
    """
    Pause (suspend in memory) VM ``name``.

    name
        The VM's name.

    test
        Only say what would be done.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.pause lab-vm1
    """
    return _lifecycle("pause", name, test=test)


@public
def resume(name, test=False):
    """
    Resume VM ``name`` after a pause.

    name
        The VM's name.

    test
        Only say what would be done.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.resume lab-vm1
    """
    return _lifecycle("resume", name, test=test)


@public
def delete(name, remove_disks=False, test=False):
    """
    Undefine VM ``name``; running VMs are refused.

    name
        The VM's name.

    remove_disks
        Also remove its disk files (only those inside a libvirt storage pool).

    test
        Only say what would be done.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.delete lab-vm1
        salt-run cluster.delete lab-vm1 remove_disks=True
    """
    return _lifecycle("delete", name, remove_disks=remove_disks, test=test)


# ---- Consoles: one-time tokens for the site's websockify (docs/api.md, Consoles).


@public
def console(name, binding=None, public_key=None):
    """
    A single-use token that opens VM ``name``'s screen through the site's websockify, for the
    browser session that asked only (docs/api.md, Consoles). The host sets a VNC password valid
    for 30 s and returns it encrypted to ``public_key``; the token maps to the host's known
    management address and a console port, and websockify wants the secret behind ``binding``.

    Returns ``{"name", "host", "protocol", "token", "path", "password_encrypted", "expires",
    "ttl"}``.

    name
        The VM's name.

    binding
        The SHA-256 (hex) of the browser's secret.

    public_key
        The browser's RSA-OAEP public key, SPKI DER in base64.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.console lab-vm1 binding=<sha256 hex> public_key=<base64 SPKI>
    """
    name = validate.vm_name(name)
    binding = console_crypto.binding(binding)
    key_text = console_crypto.public_key(public_key)[0]
    kwarg = {"name": name, "ttl": CONSOLE_TTL, "public_key": key_text}
    host, ret = _run_on_vm(name, "hypervisor.console", kwarg)
    lookup = _lookup()
    # The host's pillar as the master cached it (Salt's minion data cache: bank "pillar").
    known = consoles.known_addresses(host, salt.utils.minions.get_minion_data(host, __opts__)[2])
    target = consoles.check_target(name, host, ret, known, config.get("console:ports", lookup))
    token_dir, record = config.get("console:token_dir", lookup), config.get("console:record", lookup)
    user = globals().get("__user__") or "UNKNOWN"
    token, expires = consoles.issue(token_dir, record, target, binding, CONSOLE_TTL, user)
    return consoles.ticket(target, ret, token, expires, CONSOLE_TTL)


# ---- Migration (docs/api.md): which hosts can take a VM, the migration (driven by the
# source's libvirtd, hypervisor.migrate), aborting it; one per VM (brine.migration_plan).


def _lock_path():
    return os.path.join(__opts__["cachedir"], ".brine-migrations.lock")


def _source_of(name):
    """(host holding VM ``name``, what it needs from a target)."""
    return _run_on_vm(name, "hypervisor.migration_needs", {"name": name})


@public
def migration_targets(name):
    """
    For every hypervisor host, whether it can take VM ``name`` now and every reason
    why not, from one fan-out: ``{host: {"eligible", "reasons", "offers"}}``.
    ``offers`` name options that would make it possible (``offline`` for a VM that
    is not running, ``copy_storage`` for disks the host cannot reach).

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.migration_targets lab-vm1
    """
    name = validate.vm_name(name)
    busy = migration_plan.lock_problem(_cache().fetch(migration_plan.BANK, name), time.time())
    if busy:
        return {host: migration_plan.refusal(busy) for host in _hypervisor_hosts()}
    source, needs = _source_of(name)
    timeout = _timeout()
    with _local_client() as client:
        expected, answers = fanout.gather(
            client, "hypervisor.migration_target_check", {"needs": needs}, timeout
        )
    return migration_plan.target_verdicts(name, source, expected, answers, timeout)


@public
def migration_check(
    name,
    target,
    live=True,
    max_downtime=None,
    bandwidth=None,
    copy_storage=False,
    autoconverge=False,
    offline=False,
):
    """
    Whether host ``target`` can take VM ``name`` now, with every reason why not:
    ``{target: {"eligible", "reasons", "offers"}}`` (one entry of ``migration_targets``);
    with the options of ``migrate`` (checked as ``migrate`` checks them), problems that
    ``offline`` or ``copy_storage`` resolve no longer count.

    name
        The VM's name.

    target
        The host's minion id.

    live, max_downtime, bandwidth, copy_storage, autoconverge, offline
        As for ``cluster.migrate``.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.migration_check lab-vm1 hv2
    """
    name = validate.vm_name(name)
    target = validate.host_id(target)
    options = migration_plan.options(live, max_downtime, bandwidth, copy_storage, autoconverge, offline)
    fanout.known_host(target, _hypervisor_hosts())
    busy = migration_plan.lock_problem(_cache().fetch(migration_plan.BANK, name), time.time())
    if busy:
        return {target: migration_plan.refusal(busy)}
    source, needs = _source_of(name)
    if source == target:
        return {target: migration_plan.refusal(migration_plan.same_host(name, target))}
    with _local_client() as client:
        ret, error = fanout.ask(
            client, target, "hypervisor.migration_target_check", {"needs": needs}, _timeout()
        )
    if error:
        return {target: migration_plan.refusal(f"{target} is unreachable or could not check: {error[1]}")}
    problems = ret.get("problems") or []
    return {target: migration_plan.verdict(problems, options["offline"], options["copy_storage"])}


@public
def migrate(
    name,
    target,
    live=True,
    max_downtime=None,
    bandwidth=None,
    copy_storage=False,
    autoconverge=False,
    offline=False,
):
    """
    Migrate VM ``name`` to host ``target``: peer to peer, driven by the libvirtd of the
    host holding it, persistent on the target, undefined on the source only after
    success. The target is checked first (as ``migration_check``, with the options);
    one migration per VM at a time. Progress goes out as ``brine/migration/<id>/...``
    events. On failure the VM stays on the source, anything a failed incoming migration
    left on the target is removed, and the error says what happened and where the VM is.

    Returns ``{"id", "vm", "source", "target", "total_time", "downtime", "vm_info"}``
    (seconds; milliseconds as libvirt measured; the VM dict on the target).

    name
        The VM's name.

    target
        The host to move it to (minion id).

    live
        Keep it running while its memory is copied (default True).

    max_downtime
        Most milliseconds it may be paused at the end (QEMU's default is 300).

    bandwidth
        Most MiB/s the migration may use.

    copy_storage
        Copy its disks too (when they are not on storage the target reaches).

    autoconverge
        Slow its vCPUs when its memory changes faster than it can be copied.

    offline
        Move only the definition of a VM that is not running.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.migrate lab-vm1 hv2
        salt-run cluster.migrate lab-vm1 hv2 max_downtime=100 bandwidth=64
    """
    name = validate.vm_name(name)
    target = validate.host_id(target)
    options = migration_plan.options(live, max_downtime, bandwidth, copy_storage, autoconverge, offline)
    fanout.known_host(target, _hypervisor_hosts())
    cache = _cache()
    # Refuse a second migration before asking any host (while one runs, the VM is on two).
    migration_plan.refuse_if_busy(cache, name)
    source, needs = _source_of(name)
    migration_plan.refuse_to_start(name, source, target, options, needs)
    timeout = _timeout()
    wait = _migration_timeout()
    held = migration_plan.record(name, source, target, time.time(), wait + timeout)
    with migration_plan.hold(cache, _lock_path(), held), _local_client() as client:
        migration_plan.check_target(client, held, needs, options, timeout)
        ret = migration_run.run(client, held, needs, options, wait, timeout, _fire_master)
        hostmap.place(cache, name, [target])
        vm_info_ret, _ = fanout.ask(client, target, "hypervisor.vm_info", {"name": name}, timeout)
    return dict(
        migration_run.ids(held),
        total_time=ret.get("total_time"),
        downtime=ret.get("downtime"),
        vm_info=dict(vm_info_ret, host=target) if vm_info_ret else None,
    )


@public
def migration_abort(name):
    """
    Abort the running migration of VM ``name``; it stays on its source host.

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.migration_abort lab-vm1
    """
    name = validate.vm_name(name)
    held = _cache().fetch(migration_plan.BANK, name)
    if not migration_plan.is_live(held, time.time()):
        raise errors.Refused("no_migration", f"no migration of {name} is running")
    source = held["source"]
    with _local_client() as client:
        _, error = fanout.ask(client, source, "hypervisor.migration_abort", {"name": name}, _timeout())
    if error:
        raise fanout.host_exception(source, error)
    return dict(migration_run.ids(held), aborted=True)


@public
def session():
    """
    Who is calling, with which role: ``{"user", "role"}``, the role (``admin``, ``operator``,
    ``viewer``, or None) from the caller's PAM groups. Brine's event stream asks this.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.session
    """
    # Salt puts __user__ in the globals of the function it calls; brine.face's wrapper runs
    # with this module's globals, so it lands here.
    return stream.session(globals().get("__user__"))
