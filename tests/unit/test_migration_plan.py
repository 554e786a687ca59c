"""
Unit tests of ``brine.migration_plan``: verdicts from a target's problems, the migration's
options, lock records, and the notes after a failed migration.
"""

import re

import pytest
import salt.cache
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from brine import migration_plan
from support.saltfakes import master_opts

NOT_RUNNING = {"code": "not_running", "reason": "vm1 is not running", "offer": "offline"}
LOCAL_DISK = {"code": "disk_local", "reason": "disk vda is local", "offer": "copy_storage"}
MEMORY = {"code": "memory", "reason": "hv2 has 10 MiB left", "offer": None}


def test_verdict_lists_every_reason_and_offer():
    assert migration_plan.verdict([]) == {"eligible": True, "reasons": [], "offers": []}
    assert migration_plan.verdict([NOT_RUNNING, LOCAL_DISK, MEMORY, LOCAL_DISK]) == {
        "eligible": False,
        "reasons": ["vm1 is not running", "disk vda is local", "hv2 has 10 MiB left", "disk vda is local"],
        "offers": ["offline", "copy_storage"],
    }


def test_options_resolve_the_problems_they_are_offered_for():
    assert migration_plan.verdict([NOT_RUNNING], offline=True)["eligible"]
    assert migration_plan.verdict([LOCAL_DISK], copy_storage=True)["eligible"]
    assert migration_plan.verdict([LOCAL_DISK, MEMORY], copy_storage=True)["reasons"] == [
        "hv2 has 10 MiB left"
    ]


@pytest.mark.parametrize(
    "options",
    [
        {"live": "sometimes"},
        {"max_downtime": 0},
        {"max_downtime": "soon"},
        {"bandwidth": -5},
        {"bandwidth": True},
        {"offline": True, "copy_storage": True},
        {"autoconverge": 2},
    ],
)
def test_bad_options(options):
    arguments = dict(
        live=True, max_downtime=None, bandwidth=None, copy_storage=False, autoconverge=False, offline=False
    )
    arguments.update(options)
    with pytest.raises(SaltInvocationError) as info:
        migration_plan.options(**arguments)
    assert info.value.code == "invalid_argument"


def test_options_from_the_cli_spellings():
    assert migration_plan.options("false", "100", 64, "no", "yes", False) == {
        "live": False,
        "max_downtime": 100,
        "bandwidth": 64,
        "copy_storage": False,
        "autoconverge": True,
        "offline": False,
    }


def test_migration_ids_are_safe_in_tags():
    assert re.fullmatch(r"mig-1763680000500-[0-9a-f]{6}", migration_plan.new_id(1763680000.5))


def test_lock_problem_only_while_the_record_is_live():
    record = {"id": "mig-1", "vm": "vm1", "source": "hv1", "target": "hv2", "started": 100, "expires": 200}
    assert "vm1 is already being migrated from hv1 to hv2 (mig-1, started 50 s ago)" in (
        migration_plan.lock_problem(record, 150)
    )
    assert migration_plan.lock_problem(record, 200) is None
    assert migration_plan.lock_problem(None, 150) is None


def test_a_record_expires_after_the_wait_and_a_margin():
    record = migration_plan.record("vm1", "hv1", "hv2", 1000.0, 30)
    assert record["expires"] == 1000.0 + 30 + migration_plan.LOCK_MARGIN
    assert (record["vm"], record["source"], record["target"]) == ("vm1", "hv1", "hv2")


def test_the_lock_holds_one_migration_per_vm(tmp_path):
    cache = salt.cache.factory(master_opts(tmp_path))
    lock = str(tmp_path / "lock")
    first = migration_plan.record("vm1", "hv1", "hv2", 1e12, 60)
    first["expires"] = float("inf")
    with migration_plan.hold(cache, lock, first):
        with pytest.raises(CommandExecutionError) as info:
            with migration_plan.hold(cache, lock, dict(first, id="mig-2")):
                pass
        assert info.value.code == "migration_busy"
        assert cache.fetch(migration_plan.BANK, "vm1")["id"] == first["id"]
    assert cache.fetch(migration_plan.BANK, "vm1") in (None, {})


def test_failure_notes():
    assert migration_plan.failure_notes("vm1", "hv1", "hv2", {"state": "running"}, {"removed": True}) == [
        "vm1 is running on hv1",
        "the leftover on hv2 was removed",
    ]
    assert migration_plan.failure_notes(
        "vm1", "hv1", "hv2", "did not answer", {"removed": False, "comment": "nothing of vm1 on hv2"}
    ) == ["could not check vm1 on hv1: did not answer", "nothing of vm1 on hv2"]


@pytest.mark.parametrize(
    "code,expected",
    [
        ("migration_refused", "migration_refused"),
        ("migration_busy", "migration_busy"),
        ("libvirt_error", "migration_failed"),
        ("unreachable", "migration_failed"),
        ("host_error", "migration_failed"),
    ],
)
def test_a_failed_migration_keeps_the_hosts_refusal_else_failed(code, expected):
    assert migration_plan.failure_code(code) == expected
