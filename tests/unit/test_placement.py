"""brine.placement: which host a new VM goes to, and why the others cannot take it."""

import pytest

from brine import placement
from brine.errors import Refused

GIB = 1024 * 1024  # KiB
NEEDS = {"name": "web1", "memory": 512, "vcpus": 2, "disk": 10, "network": "lab", "pool": "default"}


def facts(**overrides):
    base = {
        "host": "hv1",
        "name_taken": False,
        "memory_total": 8 * GIB,
        "memory_allocated": 2 * GIB,
        "memory_available": 6 * GIB,
        "reserved_memory": 1 * GIB,
        "cpus": 4,
        "vcpus_allocated": 2,
        "vcpu_ratio": 4,
        "networks_active": {"lab"},
        "networks_defined": {"lab"},
        "bridges": set(),
        "pools": {"default": {"active": True, "available": 100 * 1024**3}},
    }
    return dict(base, **overrides)


def test_a_host_with_room_has_no_problems_and_its_free_memory_counts_the_reserve():
    assert placement.problems(NEEDS, facts()) == []
    assert placement.free_memory(facts()) == 5 * GIB
    assert placement.free_memory(facts(memory_allocated=9 * GIB)) == 0


@pytest.mark.parametrize(
    ("overrides", "code", "words"),
    [
        ({"name_taken": True}, "name_taken", "already defined on hv1"),
        ({"memory_allocated": 7 * GIB}, "memory", "reserved"),
        ({"vcpus_allocated": 15}, "vcpus", "too many"),
        ({"cpus": 1}, "vcpus", "only 1 CPUs"),
        ({"networks_active": set()}, "network", "defined but not active"),
        ({"networks_active": set(), "networks_defined": set()}, "network", "missing"),
        ({"pools": {}}, "pool", "missing"),
        ({"pools": {"default": {"active": False, "available": None}}}, "pool", "not active"),
        ({"pools": {"default": {"active": True, "available": 1024**3}}}, "pool", "1.0 GiB free"),
    ],
)
def test_each_reason_a_host_cannot_take_the_vm(overrides, code, words):
    found = placement.problems(NEEDS, facts(**overrides))
    assert [p["code"] for p in found] == [code]
    assert words in found[0]["reason"]


def answer(free_gib, *problems):
    return {"free_memory": free_gib * GIB, "problems": [{"code": "memory", "reason": p} for p in problems]}


def test_the_fitting_host_with_most_free_memory_wins():
    host, report = placement.choose(
        "web1", {"hv1": answer(3), "hv2": answer(5), "hv3": answer(9, "full")}, ["hv1", "hv2", "hv3"]
    )
    assert host == "hv2"
    assert [(r["host"], r["fits"]) for r in report] == [("hv1", True), ("hv2", True), ("hv3", False)]


def test_ties_go_to_the_first_host_by_name():
    assert placement.choose("web1", {"hv2": answer(4), "hv1": answer(4)}, ["hv2", "hv1"])[0] == "hv1"


def test_only_candidates_are_chosen_but_a_name_anywhere_refuses():
    assert placement.choose("web1", {"hv1": answer(1), "hv2": answer(9)}, ["hv1"])[0] == "hv1"
    taken = {"hv1": answer(9), "hv2": {"free_memory": 0, "problems": [{"code": "name_taken", "reason": "x"}]}}
    with pytest.raises(Refused, match="already exists on hv2") as info:
        placement.choose("web1", taken, ["hv1"])
    assert info.value.code == "vm_exists"


def test_none_fits_names_every_host_and_why():
    answers = {"hv1": answer(0, "hv1 is full"), "hv2": {"error": "hv2 did not answer"}}
    with pytest.raises(Refused) as info:
        placement.choose("web1", answers, ["hv1", "hv2"])
    assert info.value.code == "no_room"
    assert "hv1: hv1 is full" in info.value.sentence and "hv2: hv2 did not answer" in info.value.sentence


def test_no_candidate_at_all_is_no_room():
    with pytest.raises(Refused, match="no hypervisor host matches") as info:
        placement.choose("web1", {"hv1": answer(4)}, [])
    assert info.value.code == "no_room"
