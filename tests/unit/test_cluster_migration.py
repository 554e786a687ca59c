"""
The migration part of the ``cluster`` runner against scripted hosts: argument checks before
anything is touched, one migration per VM (the lock in the master cache), what happens after
a failure, and the codes each refusal carries — with the scripted LocalClient of
``support.saltfakes`` and Salt's real master cache in a temporary folder. The pure parts
(verdicts, options, lock records, failure notes) are tested in test_migration_plan.py.
"""

import re
import time

import pytest
import salt.cache
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from support.saltfakes import ScriptedClient
from support.saltfakes import cluster_runner
from support.saltfakes import raised
from support.saltfakes import vm

UUID = "2b13d5ef-457d-4164-9f62-2b2aee0e69d7"
NOT_RUNNING = {"code": "not_running", "reason": "vm1 is not running", "offer": "offline"}
MEMORY = {"code": "memory", "reason": "hv2 has 10 MiB left", "offer": None}


def needs_of(name, state="running"):
    return {"name": name, "uuid": UUID, "state": state, "active": state == "running"}


@pytest.fixture
def runner(tmp_path, monkeypatch):
    cluster = cluster_runner(tmp_path, monkeypatch)
    monkeypatch.setattr(cluster, "_hypervisor_hosts", lambda: ["hv1", "hv2", "hv3"])
    fired = []
    monkeypatch.setattr(cluster, "_fire_master", lambda tag, data: fired.append((tag, data)))
    cluster.fired = fired
    return cluster


def cache_of(runner):
    return salt.cache.factory(runner.__opts__)


def scripted(monkeypatch, runner, hosts):
    client = ScriptedClient(hosts)
    client.hosts_expected = list(hosts)
    monkeypatch.setattr(runner, "_local_client", lambda: client)
    cache_of(runner).store("brine/inventory", "hv1", {"vms": ["vm1"]})
    return client


def source_host(migrate=None, vm_state="running"):
    def needs(name):
        return needs_of(name) if name == "vm1" else f"ERROR: [no_vm] There is no VM named {name} on hv1"

    def migrate_ok(name, target, migration_id, **options):
        return {
            "id": migration_id,
            "vm": name,
            "source": "hv1",
            "target": target,
            "total_time": 2.5,
            "downtime": 80,
        }

    return {
        "hypervisor.migration_needs": needs,
        "hypervisor.vm_info": lambda name: vm(name, vm_state),
        "hypervisor.migrate": migrate or migrate_ok,
        "hypervisor.migration_abort": lambda name: {"name": name, "host": "hv1", "aborted": True},
        "hypervisor.migration_target_check": lambda needs: {
            "host": "hv1",
            "problems": [{"code": "same_host", "reason": "vm1 already runs on hv1"}],
        },
    }


def target_host(problems=(), cleanup=None):
    return {
        "hypervisor.migration_target_check": lambda needs: {"host": "hv2", "problems": list(problems)},
        "hypervisor.vm_info": lambda name: (
            vm(name) if name == "vm1" else f"ERROR: [no_vm] There is no VM named {name}"
        ),
        "hypervisor.migration_cleanup": lambda name, uuid: (
            cleanup or {"name": name, "host": "hv2", "removed": False, "comment": f"nothing of {name} on hv2"}
        ),
    }


def hypervisor_calls(client):
    return [(host, fun) for host, fun, _ in client.calls]


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"name": "vm1;reboot", "target": "hv2"}, "invalid_argument"),
        ({"name": "../vm1", "target": "hv2"}, "invalid_argument"),
        ({"name": "vm1", "target": "hv2 && ls"}, "invalid_argument"),
        ({"name": "vm1", "target": "../../etc"}, "invalid_argument"),
        ({"name": "vm1", "target": "hv9"}, "no_host"),
        ({"name": "vm1", "target": "hv2", "bandwidth": "lots"}, "invalid_argument"),
        ({"name": "vm1", "target": "hv2", "offline": True, "copy_storage": True}, "invalid_argument"),
    ],
)
def test_refusals_before_any_host_is_asked(runner, monkeypatch, kwargs, code):
    client = scripted(monkeypatch, runner, {"hv1": source_host(), "hv2": target_host()})
    with pytest.raises(SaltInvocationError) as info:
        raised(runner.migrate(**kwargs))
    assert info.value.code == code
    assert client.calls == []


@pytest.mark.parametrize("host", ["hv1", "hv-2.example.org", "a_b"])
def test_good_host_names_reach_the_known_hosts_check(runner, monkeypatch, host):
    scripted(monkeypatch, runner, {"hv1": source_host(), "hv2": target_host()})
    monkeypatch.setattr(runner, "_hypervisor_hosts", lambda: ["hv1", "hv2"])
    if host == "hv1":
        assert runner.migration_check("vm1", host)[host]["eligible"] is False
        return
    with pytest.raises(SaltInvocationError) as info:
        raised(runner.migration_check("vm1", host))
    assert info.value.code == "no_host"


@pytest.mark.parametrize("host", ["", "../hv2", "hv2;reboot", "hv 2", "-hv", "hv2/x", None, 2, "hv2\n"])
def test_bad_host_names(runner, monkeypatch, host):
    client = scripted(monkeypatch, runner, {"hv1": source_host(), "hv2": target_host()})
    for call in (runner.migration_check, runner.migrate):
        with pytest.raises(SaltInvocationError) as info:
            raised(call("vm1", host))
        assert info.value.code == "invalid_argument"
    assert client.calls == []


def test_unknown_vm_and_same_host(runner, monkeypatch):
    scripted(monkeypatch, runner, {"hv1": source_host(), "hv2": target_host()})
    with pytest.raises(CommandExecutionError, match="no VM named ghost") as info:
        raised(runner.migrate("ghost", "hv2"))
    assert info.value.code == "no_vm"
    with pytest.raises(CommandExecutionError, match="vm1 is already on hv1") as info:
        raised(runner.migrate("vm1", "hv1"))
    assert info.value.code == "migration_refused"


def test_a_target_without_capacity_is_refused_with_its_reasons(runner, monkeypatch):
    client = scripted(monkeypatch, runner, {"hv1": source_host(), "hv2": target_host([MEMORY])})
    with pytest.raises(CommandExecutionError, match="hv2 cannot take vm1: hv2 has 10 MiB left") as info:
        raised(runner.migrate("vm1", "hv2"))
    assert info.value.code == "migration_refused"
    assert ("hv1", "hypervisor.migrate") not in hypervisor_calls(client)
    assert cache_of(runner).fetch("brine/migrations", "vm1") in (None, {})


def test_success_moves_the_vm_in_the_map_and_frees_the_lock(runner, monkeypatch):
    client = scripted(monkeypatch, runner, {"hv1": source_host(), "hv2": target_host()})
    result = runner.migrate("vm1", "hv2", max_downtime=100)
    assert result["vm"] == "vm1" and result["source"] == "hv1" and result["target"] == "hv2"
    assert result["downtime"] == 80 and result["vm_info"]["host"] == "hv2"
    assert re.fullmatch(r"mig-\d+-[0-9a-f]{6}", result["id"])
    migrate_call = next(kwarg for host, fun, kwarg in client.calls if fun == "hypervisor.migrate")
    assert migrate_call["max_downtime"] == 100 and migrate_call["migration_id"] == result["id"]
    cache = cache_of(runner)
    assert cache.fetch("brine/inventory", "hv2")["vms"] == ["vm1"]
    assert cache.fetch("brine/inventory", "hv1")["vms"] == []
    assert cache.fetch("brine/migrations", "vm1") in (None, {})


def test_a_second_migration_of_the_same_vm_is_refused_not_queued(runner, monkeypatch):
    seen = {}

    def migrate_and_try_again(name, target, migration_id, **options):
        with pytest.raises(
            CommandExecutionError, match="vm1 is already being migrated from hv1 to hv2"
        ) as second:
            raised(runner.migrate("vm1", "hv3"))
        seen["error"] = str(second.value)
        return {"id": migration_id, "total_time": 1, "downtime": 1}

    client = scripted(
        monkeypatch,
        runner,
        {"hv1": source_host(migrate_and_try_again), "hv2": target_host(), "hv3": target_host()},
    )
    runner.migrate("vm1", "hv2")
    assert seen["error"]
    assert [fun for _, fun in hypervisor_calls(client)].count("hypervisor.migrate") == 1


def test_a_failure_checks_the_source_and_cleans_the_target(runner, monkeypatch):
    def failing(name, target, migration_id, **options):
        return (
            "ERROR: [migration_failed] the migration of vm1 to hv2 failed: connection reset; "
            "vm1 is still running on hv1"
        )

    removed = {"name": "vm1", "host": "hv2", "removed": True, "comment": "removed"}
    client = scripted(monkeypatch, runner, {"hv1": source_host(failing), "hv2": target_host(cleanup=removed)})
    with pytest.raises(CommandExecutionError) as failure:
        raised(runner.migrate("vm1", "hv2"))
    assert failure.value.code == "migration_failed"
    message = str(failure.value)
    assert "connection reset" in message
    assert "vm1 is running on hv1" in message and "the leftover on hv2 was removed" in message
    cleanup = [kwarg for host, fun, kwarg in client.calls if fun == "hypervisor.migration_cleanup"]
    assert cleanup == [{"name": "vm1", "uuid": UUID}]
    assert cache_of(runner).fetch("brine/migrations", "vm1") in (None, {})


def test_no_cleanup_on_the_target_when_the_source_no_longer_runs_the_vm(runner, monkeypatch):
    def failing(name, target, migration_id, **options):
        return "ERROR: something odd"

    client = scripted(
        monkeypatch, runner, {"hv1": source_host(failing, vm_state="shutoff"), "hv2": target_host()}
    )
    with pytest.raises(CommandExecutionError, match="vm1 is shutoff on hv1"):
        raised(runner.migrate("vm1", "hv2"))
    assert "hypervisor.migration_cleanup" not in [fun for _, fun in hypervisor_calls(client)]


def test_targets_for_every_host_from_one_fan_out(runner, monkeypatch):
    client = scripted(
        monkeypatch, runner, {"hv1": source_host(), "hv2": target_host([MEMORY]), "hv3": target_host()}
    )
    client.hosts_expected = ["hv1", "hv2", "hv3", "hv4"]
    result = runner.migration_targets("vm1")
    assert result["hv1"] == {"eligible": False, "reasons": ["vm1 is already on hv1"], "offers": []}
    assert result["hv2"]["reasons"] == ["hv2 has 10 MiB left"]
    assert result["hv3"]["eligible"] is True
    assert result["hv4"]["eligible"] is False and "hv4 is unreachable" in result["hv4"]["reasons"][0]
    assert [fun for host, fun in hypervisor_calls(client) if host == "all"] == [
        "hypervisor.migration_target_check"
    ]


def test_check_one_target(runner, monkeypatch):
    scripted(monkeypatch, runner, {"hv1": source_host(), "hv2": target_host([NOT_RUNNING])})
    assert runner.migration_check("vm1", "hv2") == {
        "hv2": {"eligible": False, "reasons": ["vm1 is not running"], "offers": ["offline"]}
    }
    assert runner.migration_check("vm1", "hv1")["hv1"]["reasons"] == ["vm1 is already on hv1"]
    with pytest.raises(SaltInvocationError, match="hv9 is not a hypervisor host"):
        raised(runner.migration_check("vm1", "hv9"))


def test_abort_goes_to_the_source_of_the_running_migration(runner, monkeypatch):
    client = scripted(monkeypatch, runner, {"hv1": source_host(), "hv2": target_host()})
    with pytest.raises(CommandExecutionError, match="no migration of vm1 is running") as info:
        raised(runner.migration_abort("vm1"))
    assert info.value.code == "no_migration"
    now = time.time()
    cache_of(runner).store(
        "brine/migrations",
        "vm1",
        {
            "id": "mig-1-abcdef",
            "vm": "vm1",
            "source": "hv1",
            "target": "hv2",
            "started": now,
            "expires": now + 60,
        },
    )
    assert runner.migration_abort("vm1") == {
        "id": "mig-1-abcdef",
        "vm": "vm1",
        "source": "hv1",
        "target": "hv2",
        "aborted": True,
    }
    assert ("hv1", "hypervisor.migration_abort") in hypervisor_calls(client)


def test_while_a_migration_runs_every_target_says_so(runner, monkeypatch):
    client = scripted(monkeypatch, runner, {"hv1": source_host(), "hv2": target_host()})
    now = time.time()
    cache_of(runner).store(
        "brine/migrations",
        "vm1",
        {
            "id": "mig-1-abcdef",
            "vm": "vm1",
            "source": "hv1",
            "target": "hv2",
            "started": now,
            "expires": now + 60,
        },
    )
    targets = runner.migration_targets("vm1")
    assert set(targets) == {"hv1", "hv2", "hv3"}
    assert all("already being migrated" in t["reasons"][0] for t in targets.values())
    assert "already being migrated" in runner.migration_check("vm1", "hv3")["hv3"]["reasons"][0]
    with pytest.raises(CommandExecutionError, match="already being migrated") as info:
        raised(runner.migrate("vm1", "hv3"))
    assert info.value.code == "migration_busy"
    assert client.calls == []


def test_a_source_that_never_answers_gets_its_failed_event_from_the_runner(runner, monkeypatch):
    client = scripted(monkeypatch, runner, {"hv1": source_host(), "hv2": target_host()})
    answer = client.cmd

    def silent_migrate(tgt, fun, kwarg=None, **kwargs):
        if fun == "hypervisor.migrate":
            client.calls.append((tgt[0], fun, kwarg))
            return {tgt[0]: False}
        return answer(tgt, fun, kwarg, **kwargs)

    monkeypatch.setattr(client, "cmd", silent_migrate)
    with pytest.raises(
        CommandExecutionError, match=r"hv1 did not answer within .* while migrating vm1"
    ) as info:
        raised(runner.migrate("vm1", "hv2"))
    assert info.value.code == "migration_failed"
    [(tag, data)] = runner.fired
    assert tag.startswith("brine/migration/mig-") and tag.endswith("/failed")
    assert data["vm"] == "vm1" and data["source"] == "hv1" and data["aborted"] is False
