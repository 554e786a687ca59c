"""
Whether a target can take a VM (``brine.migration_check``), as pure logic: every reason it
cannot, with the offers, and which disks count as shared.
"""

import logging

import pytest

from brine import migration_check

UUID = "2b13d5ef-457d-4164-9f62-2b2aee0e69d7"
GIB = 1024 * 1024


def needs(**overrides):
    base = {
        "name": "vm1",
        "uuid": UUID,
        "host": "hv1",
        "state": "running",
        "active": True,
        "memory": 2 * GIB,
        "vcpus": 2,
        "networks": ["lab"],
        "bridges": [],
        "disks": [{"target": "vda", "device": "disk", "path": "/shared/vm1.qcow2", "shared": True}],
    }
    base.update(overrides)
    return base


def facts(**overrides):
    base = {
        "host": "hv2",
        "same_name": None,
        "same_uuid": None,
        "memory_total": 16 * GIB,
        "memory_allocated": 4 * GIB,
        "memory_available": 10 * GIB,
        "reserved_memory": GIB,
        "cpus": 4,
        "vcpus_allocated": 4,
        "vcpu_ratio": 4,
        "cpu_problem": None,
        "networks_active": {"lab"},
        "networks_defined": {"lab"},
        "bridges": set(),
        "paths_reachable": {"/shared/vm1.qcow2": True},
    }
    base.update(overrides)
    return base


def codes(problems):
    return [problem["code"] for problem in problems]


def test_a_target_with_room_and_everything_the_vm_uses_takes_it():
    assert migration_check.target_problems(needs(), facts()) == []


def test_same_host_is_the_only_reason_when_the_vm_runs_there():
    problems = migration_check.target_problems(needs(), facts(same_name={"uuid": UUID, "active": True}))
    assert problems == [{"code": "same_host", "reason": "vm1 already runs on hv2", "offer": None}]


def test_every_reason_is_listed_at_once():
    problems = migration_check.target_problems(
        needs(
            networks=["lab", "gone"],
            bridges=["br0"],
            vcpus=2,
            disks=[
                {"target": "vda", "device": "disk", "path": "/local/vm1.qcow2", "shared": False},
                {"target": "vdb", "device": "disk", "path": "/nfs/data.qcow2", "shared": True},
                {"target": "sda", "device": "cdrom", "path": "/iso/x.iso", "shared": True},
            ],
        ),
        facts(
            same_name={"uuid": "other", "active": False},
            memory_allocated=15 * GIB,
            vcpus_allocated=15,
            cpu_problem="hv2's CPU is not compatible",
            paths_reachable={},
        ),
    )
    assert codes(problems) == [
        "name_taken",
        "memory",
        "vcpus",
        "cpu",
        "network",
        "bridge",
        "disk_local",
        "disk_unreachable",
        "disk_unreachable",
    ]
    offers = [problem["offer"] for problem in problems]
    assert offers[-3:] == ["copy_storage", "copy_storage", None]
    assert "network gone, which vm1 uses, is missing on hv2" in [p["reason"] for p in problems]


def test_memory_counts_running_vms_and_the_reserve():
    # 16 GiB - 13 GiB running - 1 GiB reserved = 2 GiB: exactly enough.
    assert migration_check.target_problems(needs(), facts(memory_allocated=13 * GIB)) == []
    problems = migration_check.target_problems(needs(memory=2 * GIB + 1), facts(memory_allocated=13 * GIB))
    assert codes(problems) == ["memory"]
    assert "2048 MiB of memory left for VMs" in problems[0]["reason"]
    assert "vm1 needs 2048 MiB" in problems[0]["reason"]


def test_memory_free_right_now_also_counts():
    problems = migration_check.target_problems(needs(), facts(memory_available=GIB))
    assert codes(problems) == ["memory"] and "free right now" in problems[0]["reason"]


def test_vcpus_against_the_ratio_and_the_host_size():
    assert migration_check.target_problems(needs(vcpus=2), facts(vcpus_allocated=14)) == []
    assert codes(migration_check.target_problems(needs(vcpus=3), facts(vcpus_allocated=14))) == ["vcpus"]
    problems = migration_check.target_problems(needs(vcpus=8), facts(vcpus_allocated=0))
    assert problems[0]["reason"] == "vm1 has 8 vCPUs but hv2 only 4 CPUs"


def test_a_vm_not_running_offers_offline_and_skips_capacity():
    problems = migration_check.target_problems(
        needs(active=False, state="shutoff", memory=100 * GIB), facts(cpu_problem="never asked")
    )
    assert problems == [
        {
            "code": "not_running",
            "reason": "vm1 is not running, so only its definition can move (offline migration)",
            "offer": "offline",
        }
    ]


def test_a_defined_but_inactive_network_says_so():
    problems = migration_check.target_problems(needs(), facts(networks_active=set()))
    assert problems[0]["reason"] == "network lab, which vm1 uses, is defined but not active on hv2"


def test_a_vm_with_the_same_uuid_under_another_name_is_a_reason():
    problems = migration_check.target_problems(needs(), facts(same_uuid="renamed"))
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
    assert migration_check.disk_sharing(disk, pool_type, ["/shared/"])[0] is shared


def test_configured_numbers_fall_back_to_the_default_with_a_warning(caplog):
    values = {"brine:capacity:vcpu_ratio": "lots", "brine:capacity:reserved_memory": "2048"}
    with caplog.at_level(logging.WARNING):
        assert migration_check.configured_number("capacity:vcpu_ratio", values.get) == 4
    assert "brine:capacity:vcpu_ratio is not a number" in caplog.text
    assert migration_check.configured_number("capacity:reserved_memory", values.get) == 2048
    assert migration_check.configured_number("migration:max_downtime", values.get) is None


def test_shared_folders_from_a_word_or_a_list():
    assert migration_check.shared_folders("/shared") == ["/shared"]
    assert migration_check.shared_folders(["/a", "/b"]) == ["/a", "/b"]
    assert migration_check.shared_folders(None) == []
