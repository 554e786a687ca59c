"""
The master's side of a migration, without the hosts: its options checked, a target's verdict
from the problems the target reported, the lock record that allows one migration per VM, and
the sentence that says where a VM is after a failed migration.

One migration per VM at a time: a record per VM in the master cache (bank
``brine/migrations``), written under a file lock so that two requests cannot both see it free.
A second request is refused (``migration_busy``), never queued.
"""

import contextlib
import fcntl
import secrets
import time

from brine import errors
from brine import fanout
from brine import validate

BANK = "brine/migrations"
# Seconds a lock record outlives the migration's own deadline, for the runner's last calls.
LOCK_MARGIN = 60
# Problems an option of the migration resolves (codes from hypervisor.migration_target_check).
# States in which a failed migration's source still runs the VM, so the target may hold a
# leftover of the incoming one.
STILL_RUNNING = ("running", "blocked", "paused")
RESOLVED_BY = {"offline": {"not_running"}, "copy_storage": {"disk_local", "disk_unreachable"}}


def options(live, max_downtime, bandwidth, copy_storage, autoconverge, offline):
    """The migration's options, checked; Invalid for anything else."""
    checked = {
        "live": validate.flag(live, "live"),
        "max_downtime": validate.positive_int(max_downtime, "max_downtime", "milliseconds"),
        "bandwidth": validate.positive_int(bandwidth, "bandwidth", "MiB/s"),
        "copy_storage": validate.flag(copy_storage, "copy_storage"),
        "autoconverge": validate.flag(autoconverge, "autoconverge"),
        "offline": validate.flag(offline, "offline"),
    }
    if checked["offline"] and checked["copy_storage"]:
        raise errors.Invalid("an offline migration moves the definition only; it cannot copy storage")
    return checked


def verdict(problems, offline=False, copy_storage=False):
    """
    ``{eligible, reasons, offers}`` from a target's problems; the problems that the chosen
    options resolve (offline for a VM that is not running, copy_storage for disks the target
    cannot reach) no longer count.
    """
    resolved = set()
    if offline:
        resolved |= RESOLVED_BY["offline"]
    if copy_storage:
        resolved |= RESOLVED_BY["copy_storage"]
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


def refusal(sentence):
    """The verdict of a target that cannot take the VM for one reason."""
    return {"eligible": False, "reasons": [sentence], "offers": []}


def same_host(name, host):
    return f"{name} is already on {host}"


def new_id(now=None):
    """``mig-<unix ms>-<6 hex>``: unique enough and safe in an event tag."""
    now = time.time() if now is None else now
    return f"mig-{int(now * 1000)}-{secrets.token_hex(3)}"


def record(name, source, target, started, wait):
    """The lock record of a migration the runner will wait ``wait`` seconds for."""
    return {
        "id": new_id(started),
        "vm": name,
        "source": source,
        "target": target,
        "started": started,
        "expires": started + wait + LOCK_MARGIN,
    }


def is_live(held, now):
    return isinstance(held, dict) and held.get("expires", 0) > now


def lock_problem(held, now):
    """The sentence refusing a second migration while ``held`` holds the VM, or None."""
    if not is_live(held, now):
        return None
    return (
        f"{held.get('vm')} is already being migrated from {held.get('source')} to "
        f"{held.get('target')} ({held.get('id')}, started {now - held.get('started', now):.0f} s "
        "ago); wait for it to finish or abort it"
    )


def refuse_if_busy(cache, name, now=None):
    """Refused (``migration_busy``) while a migration of VM ``name`` is recorded as running."""
    problem = lock_problem(cache.fetch(BANK, name), time.time() if now is None else now)
    if problem:
        raise errors.Refused("migration_busy", problem)


@contextlib.contextmanager
def hold(cache, lock_path, held):
    """
    Hold VM ``held['vm']`` for this migration while the block runs, or raise Refused
    (``migration_busy``) when another one holds it. ``lock_path`` is a file that serialises
    the check and the write between runner processes.
    """
    name = held["vm"]
    with open(lock_path, "a", encoding="utf-8") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        refuse_if_busy(cache, name)
        cache.store(BANK, name, held)
    try:
        yield
    finally:
        with open(lock_path, "a", encoding="utf-8") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            current = cache.fetch(BANK, name)
            if isinstance(current, dict) and current.get("id") == held["id"]:
                cache.flush(BANK, name)


def failure_notes(name, source, target, source_vm, cleanup):
    """
    The end of the error sentence after a failed migration: where the VM is, and what was
    found (and removed) on the target. ``source_vm`` is the VM dict on the source or a
    sentence; ``cleanup`` is the target's ``migration_cleanup`` return or a sentence.
    """
    notes = []
    if isinstance(source_vm, dict):
        notes.append(f"{name} is {source_vm.get('state')} on {source}")
    else:
        notes.append(f"could not check {name} on {source}: {source_vm}")
    if isinstance(cleanup, dict):
        if cleanup.get("removed"):
            notes.append(f"the leftover on {target} was removed")
        else:
            # What the target found and left alone, in its own words (nothing is decided on them).
            notes.append(str(cleanup.get("comment")))
    elif cleanup:
        notes.append(cleanup)
    return notes


def failure_code(code):
    """The code of a failed ``hypervisor.migrate``: the host's refusal, else migration_failed."""
    return code if code in ("migration_refused", "migration_busy") else "migration_failed"


def target_verdicts(name, source, expected, answers, wait):
    """
    ``{host: verdict}`` for every host from their answers to
    ``hypervisor.migration_target_check`` (``{host: LocalClient entry}``); the source host
    and hosts that did not answer or could not check are refused with the reason.
    """
    result = {}
    for host in sorted(set(expected) | set(answers) | {source}):
        entry = answers.get(host)
        if host == source:
            result[host] = refusal(same_host(name, host))
        elif not fanout.answered(entry):
            result[host] = refusal(f"{host} is unreachable: it {fanout.no_answer(wait)}")
        else:
            result[host] = target_verdict(host, entry)
    return result


def target_verdict(host, entry):
    """The verdict from one host's answer to ``hypervisor.migration_target_check``."""
    error = fanout.host_error(entry, "hypervisor.migration_target_check")
    ret = entry["ret"]
    if error is None and not (isinstance(ret, dict) and isinstance(ret.get("problems"), list)):
        error = ("host_error", "answered with data Brine does not understand")
    if error:
        return refusal(f"{host} could not check: {error[1]}")
    return verdict(ret["problems"])


def refuse_to_start(name, source, target, options, needs):
    """Refused (``migration_refused``) for a migration that cannot start from what the source said."""
    if source == target:
        raise errors.Refused("migration_refused", same_host(name, target))
    if options["offline"] and needs.get("active"):
        raise errors.Refused(
            "migration_refused",
            f"{name} is {needs.get('state')} on {source}; an offline migration moves only "
            "the definition of a VM that is shut off",
        )


def check_target(client, held, needs, options, wait):
    """
    Ask the target (through ``client``) whether it can take the VM with these options;
    Refused (``migration_refused``, or the target's own code when it could not check) if not.
    """
    name, target = held["vm"], held["target"]
    check, error = fanout.ask(client, target, "hypervisor.migration_target_check", {"needs": needs}, wait)
    if error:
        raise errors.Refused(error[0], f"{target} could not check whether it can take {name}: {error[1]}")
    checked = verdict(check.get("problems") or [], options["offline"], options["copy_storage"])
    if not checked["eligible"]:
        raise errors.Refused(
            "migration_refused", f"{target} cannot take {name}: " + "; ".join(checked["reasons"])
        )


def aftermath(client, held, needs, wait):
    """
    After a failed migration: ask the source whether it still runs the VM and, if so, have the
    target remove what the incoming migration left; ``failure_notes`` of what was found.
    """
    name, source, target = held["vm"], held["source"], held["target"]
    source_vm, source_error = fanout.ask(client, source, "hypervisor.vm_info", {"name": name}, wait)
    cleanup = None
    if source_vm and source_vm.get("state") in STILL_RUNNING:
        kwarg = {"name": name, "uuid": needs["uuid"]}
        cleanup, cleanup_error = fanout.ask(client, target, "hypervisor.migration_cleanup", kwarg, wait)
        if cleanup_error:
            cleanup = f"could not check {target} for leftovers: {cleanup_error[1]}"
    return failure_notes(name, source, target, source_vm or source_error[1], cleanup)
