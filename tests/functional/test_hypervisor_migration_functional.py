"""
The migration section of the ``hypervisor`` module through Salt's loader against libvirt's
``test:///default`` driver (its domain ``test`` runs, with a disk outside any pool and the
network ``default``). The test driver cannot migrate or compare CPUs: a migration attempt
must fail cleanly with the VM still running; real migrations are in tests/e2e.
"""

import pytest
from salt.exceptions import CommandExecutionError

libvirt = pytest.importorskip("libvirt")


@pytest.fixture
def needs(modules):
    return modules.hypervisor.migration_needs("test")


def test_needs_describe_the_running_vm(needs, libvirt_conn):
    dom = libvirt_conn.lookupByName("test")
    assert needs["uuid"] == dom.UUIDString() and needs["active"] is True
    assert needs["networks"] == ["default"] and needs["bridges"] == []
    assert [(d["target"], d["path"], d["shared"]) for d in needs["disks"]] == [
        ("vda", "/guest/diskimage1", False)
    ]
    assert needs["vcpus"] == 2 and needs["memory"] > 0


def test_the_host_running_the_vm_is_the_same_host(modules, needs):
    result = modules.hypervisor.migration_target_check(needs)
    assert [p["code"] for p in result["problems"]] == ["same_host"]


def test_another_vm_gets_every_reason_from_this_host(modules, needs):
    other = dict(
        needs,
        name="brine-other",
        uuid="11111111-2222-3333-4444-555555555555",
        networks=["default", "nowhere"],
        vcpus=1000,
    )
    problems = modules.hypervisor.migration_target_check(other)["problems"]
    by_code = {p["code"]: p for p in problems}
    # (and memory: the test driver's host is small)
    assert set(by_code) >= {"vcpus", "network", "disk_local"}
    assert by_code["disk_local"]["offer"] == "copy_storage"
    assert "network nowhere" in by_code["network"]["reason"]


def test_a_name_already_defined_here_is_a_reason(modules, needs):
    other = dict(needs, uuid="11111111-2222-3333-4444-555555555555")
    codes = [p["code"] for p in modules.hypervisor.migration_target_check(other)["problems"]]
    assert "name_taken" in codes


def test_a_failed_migration_leaves_the_vm_running(modules, libvirt_conn):
    with pytest.raises(CommandExecutionError, match="test is still running on") as failed:
        modules.hypervisor.migrate("test", "hv-nowhere", "mig-1-abcdef")
    assert failed.value.code == "migration_failed"
    assert libvirt_conn.lookupByName("test").state()[0] == libvirt.VIR_DOMAIN_RUNNING


def test_abort_without_a_migration_is_refused(modules):
    with pytest.raises(CommandExecutionError, match="is not being migrated") as refused:
        modules.hypervisor.migration_abort("test")
    assert refused.value.code == "no_migration"


def test_migrating_to_the_host_itself_is_refused(modules, minion_id):
    with pytest.raises(CommandExecutionError, match=f"test is already on {minion_id}") as refused:
        modules.hypervisor.migrate("test", minion_id, "mig-1-abcdef")
    assert refused.value.code == "migration_refused"


def test_a_shut_off_vm_moves_only_offline(modules, libvirt_conn, minion_id):
    xml = libvirt_conn.lookupByName("test").XMLDesc(0).replace("<name>test</name>", "<name>brine-off</name>")
    dom = libvirt_conn.defineXML("\n".join(line for line in xml.splitlines() if "<uuid>" not in line))
    try:
        with pytest.raises(CommandExecutionError) as refused:
            modules.hypervisor.migrate("brine-off", "hv-nowhere", "mig-1-abcdef")
        assert refused.value.code == "not_running"
        assert refused.value.sentence == (
            f"brine-off is not running on {minion_id}; use offline=True to move its definition"
        )
    finally:
        dom.undefine()


def test_cleanup_leaves_another_vm_of_that_name_alone(modules, libvirt_conn):
    result = modules.hypervisor.migration_cleanup("test", "11111111-2222-3333-4444-555555555555")
    assert result["removed"] is False and "another VM" in result["comment"]
    assert libvirt_conn.lookupByName("test").isActive()


def test_cleanup_removes_a_leftover_definition(modules, libvirt_conn):
    xml = libvirt_conn.lookupByName("test").XMLDesc(0)
    xml = xml.replace("<name>test</name>", "<name>brine-leftover</name>")
    xml = "\n".join(line for line in xml.splitlines() if "<uuid>" not in line)
    dom = libvirt_conn.defineXML(xml)
    result = modules.hypervisor.migration_cleanup("brine-leftover", dom.UUIDString())
    assert result["removed"] is True
    with pytest.raises(libvirt.libvirtError):
        libvirt_conn.lookupByName("brine-leftover")
