"""
The migration section of the ``hypervisor`` module as pure logic: why a target cannot take
a VM (every reason, with the offers), which disks count as shared, which flags a migration
gets, and argument checks before anything is touched.
"""

import importlib.util
import pathlib
from unittest import mock

import pytest
from salt.exceptions import SaltInvocationError

libvirt = pytest.importorskip("libvirt")

MODULE_PATH = pathlib.Path(__file__).resolve().parents[2] / "_modules" / "hypervisor.py"
_spec = importlib.util.spec_from_file_location("hypervisor_migration", MODULE_PATH)
hypervisor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hypervisor)

UUID = "2b13d5ef-457d-4164-9f62-2b2aee0e69d7"
GIB = 1024 * 1024


def needs(**overrides):
    base = {
        "name": "vm1", "uuid": UUID, "host": "hv1", "state": "running", "active": True,
        "memory": 2 * GIB, "vcpus": 2, "networks": ["lab"], "bridges": [],
        "disks": [{"target": "vda", "device": "disk", "path": "/shared/vm1.qcow2", "shared": True}],
    }
    base.update(overrides)
    return base


def facts(**overrides):
    base = {
        "host": "hv2", "same_name": None, "same_uuid": None,
        "memory_total": 16 * GIB, "memory_allocated": 4 * GIB, "memory_available": 10 * GIB,
        "reserved_memory": GIB, "cpus": 4, "vcpus_allocated": 4, "vcpu_ratio": 4,
        "cpu_problem": None, "networks_active": {"lab"}, "networks_defined": {"lab"},
        "bridges": set(), "paths_reachable": {"/shared/vm1.qcow2": True},
    }
    base.update(overrides)
    return base


def codes(problems):
    return [problem["code"] for problem in problems]


def test_a_target_with_room_and_everything_the_vm_uses_takes_it():
    assert hypervisor._target_problems(needs(), facts()) == []


def test_same_host_is_the_only_reason_when_the_vm_runs_there():
    problems = hypervisor._target_problems(needs(), facts(same_name={"uuid": UUID, "active": True}))
    assert problems == [{"code": "same_host", "reason": "vm1 already runs on hv2", "offer": None}]


def test_every_reason_is_listed_at_once():
    problems = hypervisor._target_problems(
        needs(networks=["lab", "gone"], bridges=["br0"], vcpus=2,
              disks=[{"target": "vda", "device": "disk", "path": "/local/vm1.qcow2", "shared": False},
                     {"target": "vdb", "device": "disk", "path": "/nfs/data.qcow2", "shared": True},
                     {"target": "sda", "device": "cdrom", "path": "/iso/x.iso", "shared": True}]),
        facts(same_name={"uuid": "other", "active": False}, memory_allocated=15 * GIB,
              vcpus_allocated=15, cpu_problem="hv2's CPU is not compatible", paths_reachable={}),
    )
    assert codes(problems) == ["name_taken", "memory", "vcpus", "cpu", "network", "bridge",
                               "disk_local", "disk_unreachable", "disk_unreachable"]
    offers = [problem["offer"] for problem in problems]
    assert offers[-3:] == ["copy_storage", "copy_storage", None]
    assert "network gone, which vm1 uses, is missing on hv2" in [p["reason"] for p in problems]


def test_memory_counts_running_vms_and_the_reserve():
    # 16 GiB - 13 GiB running - 1 GiB reserved = 2 GiB: exactly enough.
    assert hypervisor._target_problems(needs(), facts(memory_allocated=13 * GIB)) == []
    problems = hypervisor._target_problems(needs(memory=2 * GIB + 1), facts(memory_allocated=13 * GIB))
    assert codes(problems) == ["memory"]
    assert "2048 MiB of memory left for VMs" in problems[0]["reason"]
    assert "vm1 needs 2048 MiB" in problems[0]["reason"]


def test_memory_free_right_now_also_counts():
    problems = hypervisor._target_problems(needs(), facts(memory_available=GIB))
    assert codes(problems) == ["memory"] and "free right now" in problems[0]["reason"]


def test_vcpus_against_the_ratio_and_the_host_size():
    assert hypervisor._target_problems(needs(vcpus=2), facts(vcpus_allocated=14)) == []
    assert codes(hypervisor._target_problems(needs(vcpus=3), facts(vcpus_allocated=14))) == ["vcpus"]
    problems = hypervisor._target_problems(needs(vcpus=8), facts(vcpus_allocated=0))
    assert problems[0]["reason"] == "vm1 has 8 vCPUs but hv2 only 4 CPUs"


def test_a_vm_not_running_offers_offline_and_skips_capacity():
    problems = hypervisor._target_problems(
        needs(active=False, state="shutoff", memory=100 * GIB), facts(cpu_problem="never asked"))
    assert problems == [{
        "code": "not_running",
        "reason": "vm1 is not running, so only its definition can move (offline migration)",
        "offer": "offline",
    }]


def test_a_defined_but_inactive_network_says_so():
    problems = hypervisor._target_problems(needs(), facts(networks_active=set()))
    assert problems[0]["reason"] == "network lab, which vm1 uses, is defined but not active on hv2"


def test_a_vm_with_the_same_uuid_under_another_name_is_a_reason():
    problems = hypervisor._target_problems(needs(), facts(same_uuid="renamed"))
    assert codes(problems) == ["name_taken"] and "renamed" in problems[0]["reason"]


@pytest.mark.parametrize(
    "disk,pool_type,shared",
    [
        ({"path": "/var/lib/libvirt/images/a.qcow2"}, "dir", False),
        ({"path": "/var/lib/libvirt/images/a.qcow2"}, None, False),
        ({"path": "/shared/a.qcow2"}, "dir", True),
        ({"path": "/shared"}, None, True),
        ({"path": "/shared-not/a.qcow2"}, None, False),
        ({"path": "/srv/a.qcow2"}, "netfs", True),
        ({"path": "/dev/sdb"}, "iscsi", True),
        ({"path": "/iso/a.iso", "readonly": True}, None, True),
        ({"path": None, "source_type": "network"}, None, True),
    ],
)
def test_which_disks_count_as_shared(disk, pool_type, shared):
    assert hypervisor._disk_sharing(disk, pool_type, ["/shared/"])[0] is shared


def test_unsafe_only_when_every_disk_libvirt_would_flag_is_shared_by_configuration():
    flagged = {"path": "/shared/a", "cache": None, "shared": True}
    local = {"path": "/local/b", "cache": None, "shared": False}
    assert hypervisor._needs_unsafe([flagged])
    assert not hypervisor._needs_unsafe([flagged, local])
    assert not hypervisor._needs_unsafe([dict(flagged, cache="none")])
    assert not hypervisor._needs_unsafe([dict(local, readonly=True)])
    assert not hypervisor._needs_unsafe([])


def test_migration_flags():
    base = libvirt.VIR_MIGRATE_PEER2PEER | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    assert hypervisor._migration_flags(True, False, False, False, False) == base | libvirt.VIR_MIGRATE_LIVE
    assert hypervisor._migration_flags(True, False, False, True, True) == (
        base | libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_AUTO_CONVERGE | libvirt.VIR_MIGRATE_UNSAFE)
    # Copying storage makes the disks safe: no UNSAFE then.
    assert hypervisor._migration_flags(False, False, True, False, True) == base | libvirt.VIR_MIGRATE_NON_SHARED_DISK
    assert hypervisor._migration_flags(True, True, False, True, True) == base | libvirt.VIR_MIGRATE_OFFLINE


def test_migration_uri_from_the_template():
    assert hypervisor._migration_uri("qemu+tcp://{host}/system", "hv2") == "qemu+tcp://hv2/system"
    assert hypervisor._migration_uri(None, "hv2") == "qemu+tls://hv2/system"


def test_progress_figures():
    stats = {"data_total": 1000, "data_remaining": 250, "data_processed": 800,
             "memory_dirty_rate": 10, "memory_page_size": 4096, "downtime": 42}
    progress = hypervisor._progress(stats, started=0)
    assert progress["percent"] == 75.0 and progress["dirty_rate"] == 40960
    assert progress["expected_downtime"] == 42 and progress["data_remaining"] == 250
    assert hypervisor._progress({}, started=0)["percent"] == 0.0


@pytest.fixture
def no_libvirt():
    with mock.patch.object(hypervisor, "_open_connection", autospec=True) as open_connection:
        hypervisor.__salt__ = {"config.get": mock.Mock(return_value=None)}
        hypervisor.__grains__ = {"id": "hv1"}
        yield open_connection


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target": "hv2; rm -rf /"},
        {"target": "../hv2"},
        {"target": ""},
        {"migration_id": "mig/../x"},
        {"migration_id": "a b"},
        {"max_downtime": 0},
        {"max_downtime": "fast"},
        {"bandwidth": -1},
        {"bandwidth": True},
        {"live": "maybe"},
        {"offline": True, "copy_storage": True},
        {"name": "vm;reboot"},
    ],
)
def test_migrate_refuses_bad_arguments_before_connecting(no_libvirt, kwargs):
    arguments = dict({"name": "vm1", "target": "hv2", "migration_id": "mig-1-abcdef"}, **kwargs)
    with pytest.raises(SaltInvocationError):
        hypervisor.migrate(**arguments)
    no_libvirt.assert_not_called()


@pytest.mark.parametrize("bad", [None, "vm1", {"name": "../etc"}, {"name": "vm1", "disks": "x"}])
def test_target_check_refuses_bad_needs_before_connecting(no_libvirt, bad):
    with pytest.raises(SaltInvocationError):
        hypervisor.migration_target_check(bad)
    no_libvirt.assert_not_called()


def test_cleanup_refuses_a_bad_uuid_before_connecting(no_libvirt):
    with pytest.raises(SaltInvocationError):
        hypervisor.migration_cleanup("vm1", "not-a-uuid; ls")
    no_libvirt.assert_not_called()
