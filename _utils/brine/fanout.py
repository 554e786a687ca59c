"""
Asking hypervisor hosts from the master and reading what they answer.

The runners publish a job to every hypervisor host at once (``gather``) or to exactly one
(``ask``) through a ``LocalClient`` they pass in, then read each host's entry: did it answer,
did it refuse, with which code (``host_error``). On top of that: the cluster inventory merged
from the hosts' answers (with each host's Docker engine and containers, issue 12), and where a
VM is from the hosts' answers to ``hypervisor.vm_info``.

A host's error is ``(code, sentence)``: the code a Brine function put in its error
(``brine.errors``), ``unreachable`` for a host that did not answer, ``host_error`` for an
answer Brine does not understand. Decisions are made on the code only.
"""

import math
import re
import time

from brine import errors
from brine import validate
from brine import vocabulary

# Hosts are the minions whose pillar brine:roles contains hypervisor; never '*'.
HOST_TARGET = "brine:roles:hypervisor"
HOST_TARGET_TYPE = "pillar"

# The host facts summed into the cluster totals (reachable hosts only). What the VMs hold
# (vms_running, vcpus_allocated, memory_allocated) comes from brine.vocabulary.totals.
SUMMED_FACTS = ("cpus", "memory_total", "memory_free")

# A host's Docker engine as hypervisor.inventory reports it (brine.docker_host.engine).
ENGINE_STATES = ("up", "down", "none")
# What a host whose hypervisor module predates containers has, as far as Brine can tell.
NO_CONTAINERS_REPORTED = {
    "state": "none",
    "version": None,
    "message": "this host's hypervisor.inventory reports no Docker engine (a module older than containers)",
}

# How a minion frames a function that raised (salt/minion.py, _thread_return): used only to
# get a readable sentence out of an answer that carries no Brine code.
_INVOCATION_ERROR_RE = re.compile(r"^ERROR executing '[^']*': ")
_EXECUTION_ERROR_PREFIX = "ERROR: "
_EXCEPTION_PREFIX = "The minion function caused an exception"
_INVALID_ARGS_PREFIX = "Passed invalid arguments to "


def timeout(value, argument="the inventory timeout"):
    """
    ``value`` as a number of seconds > 0 to wait for hosts, at most
    ``LIMITS["inventory_timeout"]``; Invalid naming ``argument`` otherwise.
    """
    try:
        seconds = validate.seconds(value, argument)
    except errors.Invalid:
        seconds = 0
    if not seconds:
        raise errors.Invalid(f"{argument} must be a positive number of seconds, not {value!r}")
    return validate.at_most(seconds, "inventory_timeout", argument)


def extra_wait(value):
    """
    ``value`` as seconds >= 0 a host may take beyond the usual wait, or 0 when it is not a
    number (the host then refuses the argument with its own sentence).
    """
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0
    return seconds if math.isfinite(seconds) and seconds > 0 else 0


def no_answer(wait):
    return f"did not answer within {wait:g} s"


def answered(entry):
    """
    True when a per-minion entry from LocalClient carries a return: ``False`` (cmd's marker
    for a silent minion), ``None`` and ``{"failed": True}`` are not answers.
    """
    return isinstance(entry, dict) and "ret" in entry


def _uncoded(text):
    """``(code, sentence)`` for an error text without a Brine code, from Salt's framing."""
    text = text.strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()] or [text]
    if text.startswith(_EXCEPTION_PREFIX) or "Traceback (most recent call last)" in text:
        # "...: Traceback (most recent call last): ...\nSomeError: message": only the last line
        # (the exception and its message) is passed on, never the traceback.
        return "host_error", f"the hypervisor module failed: {lines[-1]}"
    if text.startswith(_INVALID_ARGS_PREFIX):
        # "Passed invalid arguments to <fun>: <why>\n\nUsage: <docstring>": the first line only.
        return "host_error", lines[0]
    match = _INVOCATION_ERROR_RE.match(text)
    if match:
        return "invalid_argument", text[match.end() :].strip().splitlines()[-1].strip()
    if text.startswith(_EXECUTION_ERROR_PREFIX):
        return "host_error", text[len(_EXECUTION_ERROR_PREFIX) :].strip().splitlines()[-1].strip()
    # Anything else: one line of it, never a dump.
    return "host_error", lines[-1]


def error_of_text(text):
    """``(code, sentence)`` from the text of a host's error, coded or not."""
    code, sentence = errors.parse(text)
    return (code, sentence) if code else _uncoded(str(text))


def host_error(entry, fun):
    """
    The error a host answered with, as ``(code, sentence)``, or None when the answer is a
    normal return. Brine's host functions return dicts, so any string is an error (the
    ones Salt's minion makes from exceptions, ``'<fun>' is not available.``, any other);
    a non-zero retcode with a dict is one too (a missing function answers with ``sys.doc``
    output keyed by name).
    """
    ret = entry.get("ret")
    retcode = entry.get("retcode") or 0
    if isinstance(ret, str):
        return error_of_text(ret)
    if isinstance(ret, dict):
        error = ret.get("error")
        if retcode and isinstance(ret.get(fun), str):
            return error_of_text(ret[fun])
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return "host_error", error["message"]
    if retcode:
        return "host_error", f"{fun} failed with return code {retcode}"
    return None


def host_exception(host, error):
    """The exception that passes ``host``'s error on with its code, the host named first."""
    code, sentence = error
    if code == "invalid_argument":
        return errors.Invalid(f"{host}: {sentence}")
    return errors.Refused(code, f"{host}: {sentence}")


# --------------------------------------------------------------------------
# Talking to hosts through a LocalClient.
# --------------------------------------------------------------------------


def event_entry(data):
    """``(host, entry)`` from a job return event, ``entry`` shaped as LocalClient's returns."""
    entry = {"ret": data.get("return"), "retcode": data.get("retcode", 0)}
    if "success" in data:
        entry["success"] = data["success"]
    return data.get("id"), entry


def gather(client, fun, kwarg, wait, hosts=None):
    """
    Publish ``fun`` to every hypervisor host at once (or to the list ``hosts``, hosts a first
    gather found) and collect answers as they arrive, for at most ``wait`` seconds. Returns
    ``(expected hosts, {host: entry})``.

    The expected hosts are the ones the master matched when publishing (``pub_data
    ["minions"]``, from its pillar cache), so a host that is down is still known to be
    missing. This is ``cmd_iter_no_block`` taken apart: it keeps the publish data, and the
    deadline is ours, where Salt's own iterators would wait a further
    ``gather_job_timeout`` asking silent minions whether they are still busy.
    """
    if hosts is None:
        target, target_type = HOST_TARGET, HOST_TARGET_TYPE
    elif not hosts:
        return [], {}
    else:
        target, target_type = sorted(hosts), "list"
    pub = client.run_job(target, fun, kwarg=kwarg, tgt_type=target_type, timeout=math.ceil(wait), listen=True)
    if not pub:
        # No host matched (run_job returns {}): an empty cluster.
        return [], {}
    expected = sorted(pub["minions"])
    answers = {}
    deadline = time.monotonic() + wait
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
        host, entry = event_entry(event.get("data") or {})
        if host in expected:
            answers[host] = entry
    return expected, answers


def ask(client, host, fun, kwarg, wait):
    """
    Run ``fun`` on exactly ``host``: ``(its dict return, None)``, or ``(None, (code,
    sentence))`` when it did not answer (``unreachable``), answered with an error, or
    answered something that is not a dict (``host_error``).
    """
    ret = client.cmd([host], fun, kwarg=kwarg, tgt_type="list", timeout=math.ceil(wait), full_return=True)
    entry = (ret or {}).get(host)
    if not answered(entry):
        return None, ("unreachable", no_answer(wait))
    error = host_error(entry, fun)
    if error is None and not isinstance(entry["ret"], dict):
        error = ("host_error", f"answered {fun} with data Brine does not understand")
    return (None, error) if error else (entry["ret"], None)


# --------------------------------------------------------------------------
# The cluster inventory from the hosts' answers to hypervisor.inventory.
# --------------------------------------------------------------------------


def _inventory_problem(ret):
    """Why an answer to ``hypervisor.inventory`` cannot be used, or None."""
    if (
        isinstance(ret, dict)
        and isinstance(ret.get("host"), dict)
        and isinstance(ret.get("vms"), list)
        and all(isinstance(vm, dict) and "name" in vm for vm in ret["vms"])
    ):
        return None
    return "answered hypervisor.inventory with data Brine does not understand"


def host_containers(host, ret):
    """
    ``(engine dict, [container dict with host])`` from a host's ``hypervisor.inventory``: a
    host that answers without ``docker`` and ``containers`` (a module older than containers)
    has no engine as far as Brine can tell; a container part Brine does not understand leaves
    the VMs alone and says so as an engine that is ``down``.
    """
    docker, containers = ret.get("docker"), ret.get("containers")
    if docker is None and containers is None:
        return dict(NO_CONTAINERS_REPORTED), []
    if (
        isinstance(docker, dict)
        and docker.get("state") in ENGINE_STATES
        and isinstance(containers, list)
        and all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in containers)
    ):
        return docker, [dict(item, host=host) for item in containers]
    return {
        "state": "down",
        "version": None,
        "message": "answered hypervisor.inventory with container data Brine does not understand",
    }, []


def host_entry(host, entry, wait):
    """One host of the inventory from its LocalClient entry (or lack of one)."""
    if not answered(entry):
        problem = no_answer(wait)
    else:
        error = host_error(entry, "hypervisor.inventory")
        problem = error[1] if error else _inventory_problem(entry["ret"])
    if problem:
        return {
            "name": host,
            "reachable": False,
            "error": problem,
            "facts": None,
            "vms": [],
            "docker": None,
            "containers": [],
        }
    ret = entry["ret"]
    docker, containers = host_containers(host, ret)
    return {
        "name": host,
        "reachable": True,
        "error": None,
        "facts": ret["host"],
        "vms": [dict(vm, host=host) for vm in ret["vms"]],
        "docker": docker,
        "containers": containers,
    }


def cluster_totals(hosts):
    """Cluster totals over the host entries; resources count reachable hosts only."""
    reachable = [host for host in hosts if host["reachable"]]
    vms = [vm for host in reachable for vm in host["vms"]]
    containers = [item for host in reachable for item in host.get("containers") or []]
    held = vocabulary.totals(vms)
    totals = {
        "hosts": len(hosts),
        "hosts_reachable": len(reachable),
        "vms": held["vm_count"],
        "vms_running": held["vms_running"],
        "vcpus_allocated": held["vcpus_allocated"],
        "memory_allocated": held["memory_allocated"],
        "containers_running": sum(1 for item in containers if item.get("state") == "running"),
        "containers_total": len(containers),
    }
    for fact in SUMMED_FACTS:
        totals[fact] = sum((host["facts"].get(fact) or 0) for host in reachable)
    return totals


def merge_inventory(expected, answers, wait, collected):
    """
    The ``cluster.inventory`` result from the hosts the master expected and the answers that
    came back (``{host: LocalClient entry}``). A host that answered without being expected is
    still shown: it matched the target.
    """
    names = sorted(set(expected) | set(answers))
    hosts = [host_entry(host, answers.get(host), wait) for host in names]
    return {"collected": collected, "hosts": hosts, "totals": cluster_totals(hosts)}


# --------------------------------------------------------------------------
# Where a VM is, from the hosts' answers to hypervisor.vm_info(name).
# --------------------------------------------------------------------------


def located(expected, answers, wait):
    """
    Sort the answers to ``hypervisor.vm_info(name)`` into ``({host: vm dict}, {host: why it
    could not say})``; hosts that answered ``no_vm`` appear in neither.
    """
    found, unsure = {}, {}
    for host in sorted(set(expected) | set(answers)):
        entry = answers.get(host)
        if not answered(entry):
            unsure[host] = no_answer(wait)
            continue
        error = host_error(entry, "hypervisor.vm_info")
        if error is None and isinstance(entry["ret"], dict):
            found[host] = entry["ret"]
        elif error is None:
            unsure[host] = "answered hypervisor.vm_info with data Brine does not understand"
        elif error[0] != "no_vm":
            unsure[host] = error[1]
    return found, unsure


def single_host(name, found, unsure):
    """The one host holding ``name``, or Refused (``no_vm``, ``ambiguous_vm``) saying why not."""
    if len(found) == 1:
        return next(iter(found))
    if len(found) > 1:
        raise errors.Refused(
            "ambiguous_vm",
            f"{name} is defined on more than one host ({', '.join(sorted(found))}); "
            "Brine will not guess which one you mean",
        )
    message = f"no VM named {name} on any hypervisor host"
    if unsure:
        reasons = "; ".join(f"{host} {why}" for host, why in sorted(unsure.items()))
        message += f" that answered ({reasons})"
    raise errors.Refused("no_vm", message)


def known_host(host, hosts):
    """``host`` when it is one of the hypervisor ``hosts``; Invalid (``no_host``) otherwise."""
    if host not in hosts:
        raise errors.Invalid(
            f"{host} is not a hypervisor host Brine knows (hosts: {', '.join(hosts) or 'none'})",
            code="no_host",
        )
    return host
