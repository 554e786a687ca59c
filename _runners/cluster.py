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

:depends: the ``hypervisor`` execution module synced to every host
    (``saltutil.sync_modules``)
:configuration: master config or the master's pillar:

    .. code-block:: yaml

        brine:
          # Seconds to wait for hosts to answer an inventory or a VM lookup.
          # A host that has not answered by then is reported unreachable.
          inventory_timeout: 10

The runner remembers which host held which VM at the last inventory in the
master cache (bank ``brine/inventory``, one key per host holding
``{"vms": [names], "updated": unix time}``). That map is only a hint: when it
misses or is stale, the runner asks the hosts ``hypervisor.vm_info`` for that
one name instead of running a full inventory.
"""

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import time

import salt.cache
import salt.client
import salt.utils.data
import salt.utils.files
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

__virtualname__ = "cluster"

HOST_TARGET = "brine:roles:hypervisor"
HOST_TARGET_TYPE = "pillar"
CACHE_BANK = "brine/inventory"
TIMEOUT_KEY = "brine:inventory_timeout"
DEFAULT_INVENTORY_TIMEOUT = 10
VM_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")

# The host facts summed into the cluster totals (all reachable hosts).
_SUMMED_FACTS = (
    "cpus",
    "vcpus_allocated",
    "memory_total",
    "memory_free",
    "memory_allocated",
    "vms_running",
)

# How a minion reports a function that raised, see salt/minion.py
# (_thread_return). SaltInvocationError on the host keeps its class here.
_INVOCATION_ERROR_RE = re.compile(r"^ERROR executing '[^']*': ")
_EXECUTION_ERROR_PREFIX = "ERROR: "
_EXCEPTION_PREFIX = "The minion function caused an exception"
_INVALID_ARGS_PREFIX = "Passed invalid arguments to "
# A host whose hypervisor module says the VM is not there: used only to keep
# such hosts out of the reasons listed for an unknown name.
_ABSENT_RE = re.compile(r"\bno (vm|domain)\b", re.IGNORECASE)


def __virtual__():
    return __virtualname__


# --------------------------------------------------------------------------
# Pure logic: no Salt connection, no dunders; unit-tested directly.
# --------------------------------------------------------------------------


def _check_name(name):
    """
    ``name`` as a string if it is a VM name Brine accepts, else
    SaltInvocationError. Like the hypervisor module, an int (``salt-run``
    parses ``123`` as one) counts as its digits.
    """
    if isinstance(name, int) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str) or not VM_NAME_RE.fullmatch(name):
        raise SaltInvocationError(
            f"{name!r} is not a valid VM name: use 1 to 64 letters, digits, '_', "
            "'.', '+' or '-', starting with a letter or digit"
        )
    return name


def _seconds_or_zero(value):
    """
    ``value`` as a finite number of seconds >= 0, or 0 when it is not one
    (the hypervisor module then refuses it with its own sentence).
    """
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0
    return seconds if math.isfinite(seconds) and seconds > 0 else 0


def _resolve_timeout(timeout, opts, pillar):
    """
    The inventory timeout in seconds: the argument, else ``brine:inventory_timeout``
    from the master config, else from the master's pillar, else 10.
    """
    for value in (
        timeout,
        salt.utils.data.traverse_dict_and_list(opts or {}, TIMEOUT_KEY, None),
        salt.utils.data.traverse_dict_and_list(pillar or {}, TIMEOUT_KEY, None),
    ):
        if value is not None:
            break
    else:
        return DEFAULT_INVENTORY_TIMEOUT
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            value = None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise SaltInvocationError(
            f"the inventory timeout must be a positive number of seconds, not {value!r}"
        )
    return value


def _no_answer(timeout):
    return f"did not answer within {timeout:g} s"


def _answered(entry):
    """
    True when a per-minion entry from LocalClient carries a return.

    ``False`` (cmd's marker for a silent minion), ``None`` and
    ``{"failed": True}`` (expected minions that never returned) are not answers.
    """
    return isinstance(entry, dict) and "ret" in entry


def _sentence(text):
    """
    The sentence a person needs from a minion's error string.
    """
    text = text.strip()
    match = _INVOCATION_ERROR_RE.match(text)
    if match:
        return text[match.end() :].strip()
    if text.startswith(_EXECUTION_ERROR_PREFIX):
        return text[len(_EXECUTION_ERROR_PREFIX) :].strip()
    if text.startswith(_EXCEPTION_PREFIX):
        # "...: Traceback (most recent call last): ... \nSomeError: message":
        # the last line names the exception and its message.
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return f"the hypervisor module failed: {lines[-1]}"
    if text.startswith(_INVALID_ARGS_PREFIX):
        return text.splitlines()[0].strip()
    return text


def _error_of(entry, fun):
    """
    The error a host answered with, as ``(exception class, sentence)``, or
    ``None`` when the answer is a normal return.

    Brine's host functions return dicts, so any string is an error: the ones
    Salt's minion makes from exceptions (``ERROR: ...``,
    ``ERROR executing '<fun>': ...``, tracebacks, ``'<fun>' is not
    available.``) and any other. A non-zero retcode with a dict is an error too
    (a missing function answers with ``sys.doc`` output keyed by name).
    """
    ret = entry.get("ret")
    retcode = entry.get("retcode") or 0
    if isinstance(ret, str):
        kind = (
            SaltInvocationError
            if _INVOCATION_ERROR_RE.match(ret.strip())
            else CommandExecutionError
        )
        return kind, _sentence(ret)
    if isinstance(ret, dict):
        error = ret.get("error")
        if retcode and isinstance(ret.get(fun), str):
            return CommandExecutionError, _sentence(ret[fun])
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return CommandExecutionError, error["message"]
    if retcode:
        return CommandExecutionError, f"{fun} failed with return code {retcode}"
    return None


def _host_exception(host, error):
    kind, sentence = error
    return kind(f"{host}: {sentence}")


def _inventory_problem(ret):
    """
    Why an answer to ``hypervisor.inventory`` cannot be used, or ``None``.
    """
    if (
        isinstance(ret, dict)
        and isinstance(ret.get("host"), dict)
        and isinstance(ret.get("vms"), list)
        and all(isinstance(vm, dict) and "name" in vm for vm in ret["vms"])
    ):
        return None
    return "answered hypervisor.inventory with data Brine does not understand"


def _host_entry(host, entry, timeout):
    """
    One host of the inventory from its LocalClient entry (or lack of one).
    """
    if not _answered(entry):
        problem = _no_answer(timeout)
    else:
        error = _error_of(entry, "hypervisor.inventory")
        problem = error[1] if error else _inventory_problem(entry["ret"])
    if problem:
        return {"name": host, "reachable": False, "error": problem, "facts": None, "vms": []}
    ret = entry["ret"]
    return {
        "name": host,
        "reachable": True,
        "error": None,
        "facts": ret["host"],
        "vms": [dict(vm, host=host) for vm in ret["vms"]],
    }


def _totals(hosts):
    """
    Cluster totals over the host entries; resources count reachable hosts only.
    """
    reachable = [host for host in hosts if host["reachable"]]
    totals = {
        "hosts": len(hosts),
        "hosts_reachable": len(reachable),
        "vms": sum(len(host["vms"]) for host in reachable),
    }
    for fact in _SUMMED_FACTS:
        totals[fact] = sum((host["facts"].get(fact) or 0) for host in reachable)
    return totals


def _merge_inventory(expected, answers, timeout, collected):
    """
    The ``cluster.inventory`` result from the hosts the master expected and
    the answers that came back (``{host: LocalClient entry}``). A host that
    answered without being expected is still shown: it matched the target.
    """
    names = sorted(set(expected) | set(answers))
    hosts = [_host_entry(host, answers.get(host), timeout) for host in names]
    return {"collected": collected, "hosts": hosts, "totals": _totals(hosts)}


def _hosts_holding(name, host_vms):
    """
    Sorted hosts whose VM list (``{host: [vm names]}``) contains ``name``.
    """
    return sorted(host for host, vms in host_vms.items() if name in vms)


def _located(name, expected, answers, timeout):
    """
    Sort the answers to ``hypervisor.vm_info(name)`` into
    ``({host: vm dict}, {host: why it could not say})``; hosts that said the VM
    is not there appear in neither.
    """
    found, unsure = {}, {}
    for host in sorted(set(expected) | set(answers)):
        entry = answers.get(host)
        if not _answered(entry):
            unsure[host] = _no_answer(timeout)
            continue
        error = _error_of(entry, "hypervisor.vm_info")
        if error is None and isinstance(entry["ret"], dict):
            found[host] = entry["ret"]
        elif error is None:
            unsure[host] = "answered hypervisor.vm_info with data Brine does not understand"
        elif not _ABSENT_RE.search(error[1]):
            unsure[host] = error[1]
    return found, unsure


def _single_host(name, found, unsure):
    """
    The one host holding ``name``, or CommandExecutionError saying why not.
    """
    if len(found) == 1:
        return next(iter(found))
    if len(found) > 1:
        raise CommandExecutionError(
            f"{name} is defined on more than one host ({', '.join(sorted(found))}); "
            "Brine will not guess which one you mean"
        )
    message = f"no VM named {name} on any hypervisor host"
    if unsure:
        reasons = "; ".join(f"{host} {why}" for host, why in sorted(unsure.items()))
        message += f" that answered ({reasons})"
    raise CommandExecutionError(message)


def _placed(host_vms, name, holders, unsure=()):
    """
    The ``{host: [vm names]}`` entries to rewrite so that the map says VM
    ``name`` is on ``holders`` and nowhere else; hosts in ``unsure`` (they
    could not say) keep what they had.
    """
    changed = {}
    for host in sorted(set(host_vms) | set(holders)):
        vms = host_vms.get(host, [])
        if host in holders and name not in vms:
            changed[host] = sorted([*vms, name])
        elif host not in holders and host not in unsure and name in vms:
            changed[host] = [vm for vm in vms if vm != name]
    return changed


# --------------------------------------------------------------------------
# Talking to the master: LocalClient, the master cache, configuration.
# --------------------------------------------------------------------------


def _timeout(timeout=None):
    return _resolve_timeout(timeout, __opts__, globals().get("__pillar__"))


def _local_client():
    return salt.client.get_local_client(__opts__["conf_file"])


def _gather(client, fun, kwarg, timeout):
    """
    Publish ``fun`` to every hypervisor host at once and collect answers as
    they arrive, for at most ``timeout`` seconds.

    Returns ``(expected hosts, {host: entry})``. The expected hosts are the
    ones the master matched when publishing (``pub_data["minions"]``, from its
    pillar cache), so a host that is down is still known to be missing. This is
    ``cmd_iter_no_block`` taken apart: it keeps the publish data, and the
    deadline is ours, where Salt's own iterators would wait a further
    ``gather_job_timeout`` asking silent minions whether they are still busy.
    """
    pub = client.run_job(
        HOST_TARGET,
        fun,
        kwarg=kwarg,
        tgt_type=HOST_TARGET_TYPE,
        timeout=math.ceil(timeout),
        listen=True,
    )
    if not pub:
        # No host matched (run_job returns {}): an empty cluster.
        return [], {}
    expected = sorted(pub["minions"])
    answers = {}
    deadline = time.monotonic() + timeout
    # Read the job's returns straight off the event bus with blocking waits. Salt's own
    # iterators poll without blocking, and a non-blocking read takes one 4 KiB chunk and then
    # sleeps 10 ms: a 140 KiB inventory of 300 VMs then costs 0.4 s of sleeping alone.
    tag = f"salt/job/{pub['jid']}/ret/"
    while not set(expected) <= set(answers):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        event = client.event.get_event(
            wait=remaining, tag=tag, match_type="startswith", full=True, auto_reconnect=True
        )
        if not event:
            continue
        host, entry = _event_entry(event.get("data") or {})
        if host in expected:
            answers[host] = entry
    return expected, answers


def _event_entry(data):
    """``(host, entry)`` from a job return event, ``entry`` shaped as LocalClient's returns."""
    entry = {"ret": data.get("return"), "retcode": data.get("retcode", 0)}
    if "success" in data:
        entry["success"] = data["success"]
    return data.get("id"), entry


def _ask(client, host, fun, kwarg, wait):
    """
    Run ``fun`` on exactly ``host``: ``(its dict return, None)``, or
    ``(None, (exception class, sentence))`` when it did not answer, answered
    with an error, or answered something that is not a dict.
    """
    ret = client.cmd(
        [host],
        fun,
        kwarg=kwarg,
        tgt_type="list",
        timeout=math.ceil(wait),
        full_return=True,
    )
    entry = (ret or {}).get(host)
    if not _answered(entry):
        return None, (CommandExecutionError, _no_answer(wait))
    error = _error_of(entry, fun)
    if error is None and not isinstance(entry["ret"], dict):
        error = (CommandExecutionError, f"answered {fun} with data Brine does not understand")
    return (None, error) if error else (entry["ret"], None)


def _read_map(cache):
    host_vms = {}
    for host in cache.list(CACHE_BANK):
        data = cache.fetch(CACHE_BANK, host) or {}
        host_vms[host] = list(data.get("vms", []))
    return host_vms


def _write_map(cache, changed):
    now = time.time()
    for host, vms in changed.items():
        cache.store(CACHE_BANK, host, {"vms": sorted(vms), "updated": now})


def _remember_inventory(result):
    """
    Keep the VM->host map of this inventory: reachable hosts get their VMs,
    unreachable hosts keep what was last seen, hosts no longer targeted go.
    """
    cache = salt.cache.factory(__opts__)
    names = {host["name"] for host in result["hosts"]}
    for host in cache.list(CACHE_BANK):
        if host not in names:
            cache.flush(CACHE_BANK, host)
    _write_map(
        cache,
        {
            host["name"]: [vm["name"] for vm in host["vms"]]
            for host in result["hosts"]
            if host["reachable"]
        },
    )


def _locate(client, cache, host_vms, name, timeout):
    """
    Ask every hypervisor host for ``name`` (one cheap ``hypervisor.vm_info``
    each, not an inventory), correct the cached map, and return
    ``(host, vm dict)`` or raise when the name is unknown or ambiguous.
    """
    expected, answers = _gather(client, "hypervisor.vm_info", {"name": name}, timeout)
    found, unsure = _located(name, expected, answers, timeout)
    changed = _placed(host_vms, name, found, unsure)
    _write_map(cache, changed)
    host_vms.update(changed)
    host = _single_host(name, found, unsure)
    return host, found[host]


def _run_on_vm(name, fun, kwarg, extra_wait=0):
    """
    Run ``hypervisor.<fun>`` for VM ``name`` on the host that holds it and
    return ``(host, its return)``, keeping the cached map right.

    The cached map is tried first. If it has no single host for ``name``, or
    that host does not answer or answers with an error, the hosts are asked
    where ``name`` is: when it is on the host already tried, that host's error
    stands (nothing is sent twice to one host); otherwise the call goes to the
    host that has it.
    """
    timeout = _timeout()
    wait = timeout + extra_wait
    cache = salt.cache.factory(__opts__)
    host_vms = _read_map(cache)
    with _local_client() as client:
        cached = _hosts_holding(name, host_vms)
        tried = cached[0] if len(cached) == 1 else None
        ret, error = _ask(client, tried, fun, kwarg, wait) if tried else (None, None)
        host = tried
        if error and error[0] is SaltInvocationError:
            # A refused argument says nothing about where the VM is.
            raise _host_exception(host, error)
        if tried is None or error:
            host, vm = _locate(client, cache, host_vms, name, timeout)
            if host == tried:
                raise _host_exception(host, error)
            if fun == "hypervisor.vm_info":
                return host, vm
            ret, error = _ask(client, host, fun, kwarg, wait)
            if error:
                raise _host_exception(host, error)
    deleted = fun == "hypervisor.delete" and ret.get("state") == "deleted"
    _write_map(cache, _placed(host_vms, name, [] if deleted else [host]))
    return host, ret


def _lifecycle(action, name, extra_wait=0, **kwargs):
    """
    Run lifecycle ``action`` on VM ``name``; other arguments go to the host
    as they are, and the hypervisor module judges them.
    """
    name = _check_name(name)
    return _run_on_vm(
        name, f"hypervisor.{action}", dict(kwargs, name=name), extra_wait=extra_wait
    )[1]


# --------------------------------------------------------------------------
# Public runner functions.
# --------------------------------------------------------------------------


def inventory(timeout=None):
    """
    Ask every hypervisor host at once for its facts and VMs.

    Hosts that do not answer within ``timeout`` seconds (default
    ``brine:inventory_timeout``, else 10), or answer with an error, are listed
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
        expected, answers = _gather(client, "hypervisor.inventory", None, timeout)
    result = _merge_inventory(expected, answers, timeout, time.time())
    _remember_inventory(result)
    return result


def vm_info(name):
    """
    The VM dict of VM ``name``, with ``host`` naming the host that holds it.

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.vm_info lab-vm1
    """
    name = _check_name(name)
    host, vm = _run_on_vm(name, "hypervisor.vm_info", {"name": name})
    return dict(vm, host=host)


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
    # The host may take the whole shutdown timeout before it answers.
    return _lifecycle(
        "shutdown",
        name,
        extra_wait=_seconds_or_zero(timeout),
        timeout=timeout,
        force=force,
        test=test,
    )


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


# --------------------------------------------------------------------------
# Consoles: one-time tokens for the site's websockify (docs/api.md, Consoles).
# --------------------------------------------------------------------------

CONSOLE_TOKEN_DIR_KEY = "brine_console_token_dir"
CONSOLE_TOKEN_DIR_DEFAULT = "/run/brine/console-tokens"
CONSOLE_TTL = 30
CONSOLE_PATH = "/console/"


def _console_token_dir():
    return __opts__.get(CONSOLE_TOKEN_DIR_KEY) or CONSOLE_TOKEN_DIR_DEFAULT


def _console_sweep(directory, now):
    """Remove tokens past their expiry (and stale temporary files) from ``directory``."""
    for entry in os.listdir(directory):
        path = os.path.join(directory, entry)
        try:
            if entry.endswith(".token"):
                with salt.utils.files.fopen(path, "r") as handle:
                    expired = now > float(json.load(handle).get("expires", 0))
            else:
                expired = now - os.stat(path).st_mtime > 60
            if expired:
                os.unlink(path)
        except (OSError, ValueError, AttributeError):
            continue


def _console_issue(directory, record, ttl, now=None):
    """
    Store a one-time token for websockify and return ``(token, expires)``.

    The format is the one ``console/brine_console_tokens.py`` (websockify's token plugin)
    redeems: one JSON file per token in a directory only root may read (0700), named by the
    SHA-256 of the token, written under a temporary name and renamed into place so websockify
    never reads half a file. websockify claims a token by renaming its file, so it works once.
    """
    now = time.time() if now is None else now
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.stat(directory)
    if info.st_mode & 0o077:
        os.chmod(directory, 0o700)
    _console_sweep(directory, now)
    token = secrets.token_urlsafe(32)
    expires = now + ttl
    name = hashlib.sha256(token.encode("ascii")).hexdigest()
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(dict(record, issued=now, expires=expires), handle)
        os.rename(tmp, os.path.join(directory, name + ".token"))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return token, expires


def console(name):
    """
    A single-use token that opens VM ``name``'s screen through the site's websockify.

    The host holding the VM gives its VNC server a fresh password valid for 30 s
    (``hypervisor.console``); the token maps to exactly that host's VNC address and port,
    works once, and expires when unused after 30 s. The browser opens
    ``wss://<site>/console/?token=<token>`` and answers VNC's password prompt with
    ``password``. Refused when the VM is not running or has no VNC graphics.

    Returns ``{"name", "host", "protocol", "token", "path", "password", "expires", "ttl"}``.

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.console lab-vm1
    """
    name = _check_name(name)
    host, ret = _run_on_vm(name, "hypervisor.console", {"name": name, "ttl": CONSOLE_TTL})
    address, port = ret.get("address"), ret.get("port")
    if not isinstance(address, str) or not address or not isinstance(port, int):
        raise CommandExecutionError(f"{host} did not say where the console of {name} is")
    record = {"vm": name, "host": host, "address": address, "port": port}
    token, expires = _console_issue(_console_token_dir(), record, CONSOLE_TTL)
    return {
        "name": name,
        "host": host,
        "protocol": ret.get("protocol", "vnc"),
        "token": token,
        "path": f"{CONSOLE_PATH}?token={token}",
        "password": ret.get("password"),
        "expires": expires,
        "ttl": CONSOLE_TTL,
    }


# --------------------------------------------------------------------------
# Migration (docs/api.md, "Migration"): which hosts can take a VM and why
# not, the migration itself (driven by the source host's libvirtd through
# ``hypervisor.migrate``), and aborting it.
#
# Configuration (master config or the master's pillar):
#
#     brine:
#       migration:
#         timeout: 1800   # seconds the runner waits for a migration to finish
#
# One migration per VM at a time: a record per VM in the master cache (bank
# ``brine/migrations``), written under a file lock so that two requests cannot
# both see it free. A second request is refused, never queued.
# --------------------------------------------------------------------------

MIGRATION_BANK = "brine/migrations"
MIGRATION_TIMEOUT_KEY = "brine:migration:timeout"
DEFAULT_MIGRATION_TIMEOUT = 1800
HOST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,252}")
_TRUE_WORDS = frozenset(("true", "yes", "on", "1"))
_FALSE_WORDS = frozenset(("false", "no", "off", "0"))
# Problems an option of the migration resolves (codes from hypervisor.migration_target_check).
_RESOLVED_BY = {"offline": {"not_running"}, "copy_storage": {"disk_local", "disk_unreachable"}}


def _check_host(host):
    """``host`` if it can be a minion id, else SaltInvocationError."""
    if isinstance(host, str) and HOST_ID_RE.fullmatch(host):
        return host
    raise SaltInvocationError(
        f"{host!r} is not a valid host name: use letters, digits, '_', '.' or '-', "
        "starting with a letter or digit"
    )


def _as_bool(value, argument):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    raise SaltInvocationError(f"{argument} must be true or false, not {value!r}")


def _as_positive_int(value, argument, unit):
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise SaltInvocationError(f"{argument} must be a whole number of {unit}, not {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise SaltInvocationError(f"{argument} must be a whole number of {unit}, not {value!r}") from None
    if number <= 0:
        raise SaltInvocationError(f"{argument} must be more than 0 {unit}, not {value!r}")
    return number


def _migration_options(live, max_downtime, bandwidth, copy_storage, autoconverge, offline):
    """The migration's options, checked; SaltInvocationError for anything else."""
    options = {
        "live": _as_bool(live, "live"),
        "max_downtime": _as_positive_int(max_downtime, "max_downtime", "milliseconds"),
        "bandwidth": _as_positive_int(bandwidth, "bandwidth", "MiB/s"),
        "copy_storage": _as_bool(copy_storage, "copy_storage"),
        "autoconverge": _as_bool(autoconverge, "autoconverge"),
        "offline": _as_bool(offline, "offline"),
    }
    if options["offline"] and options["copy_storage"]:
        raise SaltInvocationError("an offline migration moves the definition only; it cannot copy storage")
    return options


def _verdict(problems, offline=False, copy_storage=False):
    """
    ``{eligible, reasons, offers}`` from a target's problems; the problems that the
    chosen options resolve (offline for a VM that is not running, copy_storage for disks
    the target cannot reach) no longer count.
    """
    resolved = set()
    if offline:
        resolved |= _RESOLVED_BY["offline"]
    if copy_storage:
        resolved |= _RESOLVED_BY["copy_storage"]
    left = [problem for problem in problems if problem.get("code") not in resolved]
    offers = []
    for problem in left:
        if problem.get("offer") and problem["offer"] not in offers:
            offers.append(problem["offer"])
    return {
        "eligible": not left,
        "reasons": [problem.get("reason") or str(problem.get("code")) for problem in left],
        "offers": offers,
    }


def _refusal(host, sentence):
    return {"eligible": False, "reasons": [sentence], "offers": []}


def _same_host(name, host):
    return _refusal(host, f"{name} is already on {host}")


def _new_migration_id(now=None):
    """``mig-<unix ms>-<6 hex>``: unique enough and safe in an event tag."""
    now = time.time() if now is None else now
    return f"mig-{int(now * 1000)}-{secrets.token_hex(3)}"


def _lock_problem(record, now):
    """The sentence refusing a second migration while ``record`` holds the VM, or None."""
    if not isinstance(record, dict) or record.get("expires", 0) <= now:
        return None
    return (
        f"{record.get('vm')} is already being migrated from {record.get('source')} to "
        f"{record.get('target')} ({record.get('id')}, started {now - record.get('started', now):.0f} s "
        "ago); wait for it to finish or abort it"
    )


def _failure_notes(name, source, target, source_vm, cleanup):
    """
    The end of the error sentence after a failed migration: where the VM is, and what
    was found (and removed) on the target. ``source_vm`` is the VM dict on the source
    or a sentence; ``cleanup`` is the target's ``migration_cleanup`` return or a sentence.
    """
    notes = []
    if isinstance(source_vm, dict):
        notes.append(f"{name} is {source_vm.get('state')} on {source}")
    else:
        notes.append(f"could not check {name} on {source}: {source_vm}")
    if isinstance(cleanup, dict):
        if cleanup.get("removed"):
            notes.append(f"the leftover on {target} was removed")
        elif "nothing" in str(cleanup.get("comment")):
            notes.append(f"nothing of it is left on {target}")
        else:
            notes.append(str(cleanup.get("comment")))
    elif cleanup:
        notes.append(cleanup)
    return notes


def _hypervisor_hosts():
    """The hosts the master would target as hypervisors, from its pillar cache: no publish."""
    import salt.utils.minions  # pylint: disable=import-outside-toplevel

    return sorted(salt.utils.minions.CkMinions(__opts__).check_minions(HOST_TARGET, HOST_TARGET_TYPE)["minions"])


def _check_known_host(host):
    hosts = _hypervisor_hosts()
    if host not in hosts:
        raise SaltInvocationError(
            f"{host} is not a hypervisor host Brine knows (hosts: {', '.join(hosts) or 'none'})"
        )


def _migration_timeout():
    for source in (__opts__, globals().get("__pillar__") or {}):
        value = salt.utils.data.traverse_dict_and_list(source, MIGRATION_TIMEOUT_KEY, None)
        if value is not None:
            seconds = _seconds_or_zero(value)
            if seconds:
                return seconds
    return DEFAULT_MIGRATION_TIMEOUT


def _fire_master(tag, data):
    import salt.utils.event  # pylint: disable=import-outside-toplevel

    with salt.utils.event.get_master_event(__opts__, __opts__["sock_dir"], listen=False) as bus:
        bus.fire_event(data, tag)


@contextlib.contextmanager
def _migration_lock(record):
    """Hold VM ``record['vm']`` for this migration, or raise when another one holds it."""
    import fcntl  # pylint: disable=import-outside-toplevel

    cache = salt.cache.factory(__opts__)
    name = record["vm"]
    lock_path = os.path.join(__opts__["cachedir"], ".brine-migrations.lock")
    with salt.utils.files.fopen(lock_path, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        problem = _lock_problem(cache.fetch(MIGRATION_BANK, name), time.time())
        if problem:
            raise CommandExecutionError(problem)
        cache.store(MIGRATION_BANK, name, record)
    try:
        yield
    finally:
        with salt.utils.files.fopen(lock_path, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            current = cache.fetch(MIGRATION_BANK, name)
            if isinstance(current, dict) and current.get("id") == record["id"]:
                cache.flush(MIGRATION_BANK, name)


def _source_of(name):
    """(host holding VM ``name``, what it needs from a target)."""
    return _run_on_vm(name, "hypervisor.migration_needs", {"name": name})


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
    name = _check_name(name)
    busy = _lock_problem(salt.cache.factory(__opts__).fetch(MIGRATION_BANK, name), time.time())
    if busy:
        return {host: _refusal(host, busy) for host in _hypervisor_hosts()}
    source, needs = _source_of(name)
    timeout = _timeout()
    with _local_client() as client:
        expected, answers = _gather(client, "hypervisor.migration_target_check", {"needs": needs}, timeout)
    result = {}
    for host in sorted(set(expected) | set(answers) | {source}):
        if host == source:
            result[host] = _same_host(name, host)
            continue
        entry = answers.get(host)
        if not _answered(entry):
            result[host] = _refusal(host, f"{host} is unreachable: it {_no_answer(timeout)}")
            continue
        error = _error_of(entry, "hypervisor.migration_target_check")
        ret = entry["ret"]
        if error is None and not (isinstance(ret, dict) and isinstance(ret.get("problems"), list)):
            error = (CommandExecutionError, "answered with data Brine does not understand")
        if error:
            result[host] = _refusal(host, f"{host} could not check: {error[1]}")
        else:
            result[host] = _verdict(ret["problems"])
    return result


def migration_check(name, target):
    """
    Whether host ``target`` can take VM ``name`` now, with every reason why not:
    ``{target: {"eligible", "reasons", "offers"}}`` (one entry of ``migration_targets``).

    name
        The VM's name.

    target
        The host's minion id.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.migration_check lab-vm1 hv2
    """
    name = _check_name(name)
    target = _check_host(target)
    _check_known_host(target)
    busy = _lock_problem(salt.cache.factory(__opts__).fetch(MIGRATION_BANK, name), time.time())
    if busy:
        return {target: _refusal(target, busy)}
    source, needs = _source_of(name)
    if source == target:
        return {target: _same_host(name, target)}
    timeout = _timeout()
    with _local_client() as client:
        ret, error = _ask(client, target, "hypervisor.migration_target_check", {"needs": needs}, timeout)
    if error:
        return {target: _refusal(target, f"{target} is unreachable or could not check: {error[1]}")}
    return {target: _verdict(ret.get("problems") or [])}


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
    name = _check_name(name)
    target = _check_host(target)
    options = _migration_options(live, max_downtime, bandwidth, copy_storage, autoconverge, offline)
    _check_known_host(target)
    # Refuse a second migration before asking any host (while one runs, the VM is on two).
    problem = _lock_problem(salt.cache.factory(__opts__).fetch(MIGRATION_BANK, name), time.time())
    if problem:
        raise CommandExecutionError(problem)
    source, needs = _source_of(name)
    if source == target:
        raise CommandExecutionError(f"{name} is already on {target}")
    if options["offline"] and needs.get("active"):
        raise CommandExecutionError(
            f"{name} is {needs.get('state')} on {source}; an offline migration moves only "
            "the definition of a VM that is shut off"
        )
    started = time.time()
    timeout = _timeout()
    wait = _migration_timeout()
    record = {
        "id": _new_migration_id(started),
        "vm": name,
        "source": source,
        "target": target,
        "started": started,
        "expires": started + wait + timeout + 60,
    }
    base = {"id": record["id"], "vm": name, "source": source, "target": target}
    with _migration_lock(record), _local_client() as client:
        check, error = _ask(client, target, "hypervisor.migration_target_check", {"needs": needs}, timeout)
        if error:
            raise CommandExecutionError(f"{target} could not check whether it can take {name}: {error[1]}")
        verdict = _verdict(check.get("problems") or [], options["offline"], options["copy_storage"])
        if not verdict["eligible"]:
            raise CommandExecutionError(f"{target} cannot take {name}: " + "; ".join(verdict["reasons"]))
        kwarg = dict(options, name=name, target=target, migration_id=record["id"])
        ret, error = _ask(client, source, "hypervisor.migrate", kwarg, wait)
        if error:
            if error[0] is SaltInvocationError:
                raise _host_exception(source, error)
            source_vm, source_error = _ask(client, source, "hypervisor.vm_info", {"name": name}, timeout)
            cleanup = None
            if source_vm and source_vm.get("state") in ("running", "blocked", "paused"):
                cleanup, cleanup_error = _ask(
                    client, target, "hypervisor.migration_cleanup", {"name": name, "uuid": needs["uuid"]}, timeout
                )
                if cleanup_error:
                    cleanup = f"could not check {target} for leftovers: {cleanup_error[1]}"
            notes = _failure_notes(name, source, target, source_vm or source_error[1], cleanup)
            sentence = error[1]
            if sentence.startswith("did not answer"):
                # The source never said: the failed event is ours to fire.
                sentence = f"{source} {sentence} while migrating {name}"
                _fire_master(f"brine/migration/{record['id']}/failed", dict(base, error=sentence, aborted=False))
            raise CommandExecutionError(f"{sentence} ({'; '.join(notes)})")
        cache = salt.cache.factory(__opts__)
        _write_map(cache, _placed(_read_map(cache), name, [target]))
        vm_info_ret, _ = _ask(client, target, "hypervisor.vm_info", {"name": name}, timeout)
    return dict(
        base,
        total_time=ret.get("total_time"),
        downtime=ret.get("downtime"),
        vm_info=dict(vm_info_ret, host=target) if vm_info_ret else None,
    )


def migration_abort(name):
    """
    Abort the running migration of VM ``name``; it stays on its source host.

    name
        The VM's name.

    CLI Example:

    .. code-block:: bash

        salt-run cluster.migration_abort lab-vm1
    """
    name = _check_name(name)
    record = salt.cache.factory(__opts__).fetch(MIGRATION_BANK, name)
    if _lock_problem(record, time.time()) is None:
        raise CommandExecutionError(f"no migration of {name} is running")
    source = record["source"]
    with _local_client() as client:
        _, error = _ask(client, source, "hypervisor.migration_abort", {"name": name}, _timeout())
    if error:
        raise _host_exception(source, error)
    return {"id": record["id"], "vm": name, "source": source, "target": record["target"], "aborted": True}
