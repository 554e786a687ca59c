"""
The runner's call of ``hypervisor.migrate`` on a VM's source host, and what a failure means.

``run`` asks the source to migrate and returns its answer; on failure it raises the error with
where the VM is and what was found (and removed) on the target (``migration_plan.aftermath``),
and fires the failed event itself when the source never answered. The master's event bus is
the caller's: it passes ``fire(tag, data)``.
"""

from brine import errors
from brine import fanout
from brine import migration_plan


def ids(held):
    """What names a migration in its events and returns, from its lock record."""
    return {key: held[key] for key in ("id", "vm", "source", "target")}


def run(client, held, needs, options, wait, timeout, fire):
    """``hypervisor.migrate`` on the source: its return, or the failure explained."""
    kwarg = dict(options, name=held["vm"], target=held["target"], migration_id=held["id"])
    ret, error = fanout.ask(client, held["source"], "hypervisor.migrate", kwarg, wait)
    if error:
        failed(client, held, needs, error, timeout, fire)
    return ret


def failed(client, held, needs, error, timeout, fire):
    """
    Raise the error of a failed migration, saying where the VM is and what was found (and
    removed) on the target; fire the failed event when the source never answered.
    """
    code, sentence = error
    if code == "invalid_argument":
        raise fanout.host_exception(held["source"], error)
    notes = migration_plan.aftermath(client, held, needs, timeout)
    if code == "unreachable":
        # The source never said: the failed event is ours to fire.
        sentence = f"{held['source']} {sentence} while migrating {held['vm']}"
        fire(f"brine/migration/{held['id']}/failed", dict(ids(held), error=sentence, aborted=False))
    raise errors.Refused(migration_plan.failure_code(code), f"{sentence} ({'; '.join(notes)})")
