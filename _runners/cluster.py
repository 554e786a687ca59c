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
