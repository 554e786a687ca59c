"""brine.vcluster_alloc: a virtual cluster's address, subnet, VXLAN id and hosts, and the ledger."""

import copy
import json
import multiprocessing
import os
import stat
import time

import pytest

from brine import landscape_fields
from brine import vcluster_alloc as va
from brine.errors import Invalid
from brine.errors import Refused


def site(addresses=("192.0.2.10-192.0.2.13",), **private_and_more):
    value = {
        "public": {
            "addresses": list(addresses),
            "netmask": 24,
            "gateway": "192.0.2.1",
            "domain": "example.org",
        },
        "private": {"subnets": "10.200.0.0/22", "prefix": 24, "vnis": "5000-5003"},
        "reserved_cpus": {"*": 0},
    }
    for key, item in private_and_more.items():
        if key in ("subnets", "prefix", "vnis"):
            value["private"][key] = item
        else:
            value[key] = item
    return va.site_settings(value)


def host(name, cpus=8, used=0, memory=16384):
    return {"name": name, "cpus": cpus, "cpus_used": used, "memory_free_mib": memory}


HOSTS = [host("hv1"), host("hv2")]


def empty():
    return va.empty_state()


def no_room(call):
    with pytest.raises(Refused) as caught:
        call()
    assert caught.value.code == "no_room"
    return caught.value.sentence


# ---- arguments


@pytest.mark.parametrize("name", ["a", "vc1", "rocks-sge", "A" + "b" * 38 + "1"])
def test_cluster_names_are_short_labels_starting_with_a_letter(name):
    assert va.cluster_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "1vc", "-vc", "vc-", "vc_1", "vc.1", "../vc", "vc/1", "vc 1", "a" * 41, None, 5, "vć"]
)
def test_other_cluster_names_are_refused_with_the_rule(name):
    with pytest.raises(Invalid, match="not a valid cluster name: use 1 to 40 letters"):
        va.cluster_name(name)


def test_a_bad_value_is_repeated_cut_short():
    with pytest.raises(Invalid) as caught:
        va.compute_count("9" * 100000)
    assert caught.value.sentence == f"computes must be a whole number from 1 to 64, not '{'9' * 44}..."
    assert va.shown("ab") == "'ab'"


@pytest.mark.parametrize(("value", "expected"), [(1, 1), (64, 64), ("3", 3), (" 2 ", 2)])
def test_compute_counts_run_from_1_to_64(value, expected):
    assert va.compute_count(value) == expected


@pytest.mark.parametrize("value", [0, "0", 65, 10**6, "1000000", -1, "-1", True, "x", 1.5, None, "1e6"])
def test_other_compute_counts_are_refused_with_a_clear_sentence(value):
    with pytest.raises(Invalid) as caught:
        va.compute_count(value)
    assert caught.value.sentence == f"computes must be a whole number from 1 to 64, not {value!r}"


@pytest.mark.parametrize(
    ("value", "argument", "expected"),
    [
        ("2:1", "cpus", (2, 1)),
        ("2", "cpus", (2, 2)),
        (4, "cpus", (4, 4)),
        ([4, 2], "cpus", (4, 2)),
        ("1:64", "cpus", (1, 64)),
        ("2048:1024", "memory", (2048, 1024)),
        ("64:262144", "memory", (64, 262144)),
    ],
)
def test_sizes_read_one_number_or_frontend_colon_compute(value, argument, expected):
    assert va.sizes(value, argument) == expected


@pytest.mark.parametrize(
    ("value", "argument"),
    [
        ("0:1", "cpus"),
        ("65:1", "cpus"),
        ("1:2:3", "cpus"),
        ("a:b", "cpus"),
        ("", "cpus"),
        (":", "cpus"),
        (True, "cpus"),
        (None, "cpus"),
        ([], "cpus"),
        ("32:64", "memory"),
        (262145, "memory"),
        ("1.5", "cpus"),
    ],
)
def test_sizes_out_of_range_or_malformed_are_refused_naming_the_argument(value, argument):
    with pytest.raises(Invalid) as caught:
        va.sizes(value, argument)
    assert caught.value.sentence.startswith(f"{argument} must be ")
    assert "frontend:compute like 2:1" in caught.value.sentence


@pytest.mark.parametrize(
    ("hosts", "words"),
    [
        ("hv1", "hosts must be a list of at most 1024 hosts"),
        ([host(f"hv{i}") for i in range(1025)], "at most 1024 hosts"),
        ([{"name": "hv1", "cpus": 8}], "hosts[0] lacks cpus_used, memory_free_mib"),
        (["hv1"], "hosts[0] must be a mapping of name, cpus, cpus_used, memory_free_mib, not str"),
        ([host("hv 1")], "'hv 1' is not a valid host name for hosts[0].name"),
        ([host("hv1"), host("hv1")], "hosts[1].name hv1 is listed twice"),
        ([host("hv1", cpus=-1)], "hosts[0].cpus must be a whole number from 0 to 4096, not -1"),
        ([host("hv1", cpus=5000)], "hosts[0].cpus must be a whole number from 0 to 4096"),
        ([host("hv1", used=True)], "hosts[0].cpus_used must be a whole number"),
        ([host("hv1", memory=2**31)], "hosts[0].memory_free_mib must be a whole number from 0 to 1073741824"),
    ],
)
def test_the_inventory_hosts_are_checked(hosts, words):
    with pytest.raises(Invalid) as caught:
        va.check_hosts(hosts)
    assert words in caught.value.sentence


def test_hosts_given_as_text_numbers_are_read():
    assert va.check_hosts([{"name": "hv1", "cpus": "8", "cpus_used": "2", "memory_free_mib": "100"}]) == [
        host("hv1", 8, 2, 100)
    ]


# ---- pure helpers


@pytest.mark.parametrize(
    ("pool", "prefix", "held", "expected"),
    [
        ("10.200.0.0/22", 24, [], "10.200.0.0/24"),
        ("10.200.0.0/22", 24, ["10.200.0.0/24"], "10.200.1.0/24"),
        ("10.200.0.0/22", 24, ["10.200.1.0/24"], "10.200.0.0/24"),
        ("10.200.0.0/22", 24, ["10.200.0.0/24", "10.200.1.0/24", "10.200.3.0/24"], "10.200.2.0/24"),
        # a subnet another prefix carved still blocks what it overlaps
        ("10.200.0.0/22", 24, ["10.200.0.16/28"], "10.200.1.0/24"),
        ("10.200.0.0/22", 24, ["10.200.0.0/23"], "10.200.2.0/24"),
        ("10.200.0.0/22", 24, ["10.200.0.0/16"], None),
        ("10.200.0.0/22", 24, [f"10.200.{i}.0/24" for i in range(4)], None),
        # what lies outside the space, and what is not a network, blocks nothing
        ("10.200.0.0/22", 24, ["10.201.0.0/24", None, "garbage", 7], "10.200.0.0/24"),
        ("10.200.0.0/24", 29, ["10.200.0.0/29"], "10.200.0.8/29"),
        ("10.200.0.0/16", 16, [], "10.200.0.0/16"),
        ("10.200.0.0/16", 16, ["10.200.7.0/24"], None),
    ],
)
def test_free_subnet_is_the_first_carving_that_overlaps_nothing_held(pool, prefix, held, expected):
    assert va.free_subnet(pool, prefix, held) == expected


def test_free_subnet_is_quick_over_the_largest_space():
    held = [f"10.{i // 256}.{i % 256}.0/24" for i in range(4000)]
    started = time.monotonic()
    assert va.free_subnet("10.0.0.0/8", 24, held) == "10.15.160.0/24"
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        (set(), 5000),
        ({5000}, 5001),
        ({5001}, 5000),
        ({5000, 5001, 5002}, 5003),
        ({5000, 5001, 5002, 5003}, None),
    ],
)
def test_free_vni_is_the_lowest_not_held(held, expected):
    assert va.free_vni(5000, 5003, held | {None, 9999}) == expected


def test_private_addresses_frontend_first_then_computes_from_the_second():
    assert va.private_addresses("10.200.3.0/24", 3) == (
        "10.200.3.1",
        ["10.200.3.2", "10.200.3.3", "10.200.3.4"],
    )
    assert va.private_addresses("10.200.0.8/29", 5)[1][-1] == "10.200.0.14"
    assert va.most_computes(24) == 253
    assert va.most_computes(29) == 5


def test_macs_are_the_landscapes_hash_of_node_and_nic_and_never_repeat():
    taken = set()
    private = va.stable_mac("vc1-frontend", 0, taken)
    public = va.stable_mac("vc1-frontend", 1, taken)
    assert private == landscape_fields.derived_mac("vc1-frontend", 0)
    assert private.startswith("52:54:00:") and public.startswith("52:54:00:") and private != public
    assert va.stable_mac("vc1-frontend", 0, set()) == private  # stable
    assert va.stable_mac("vc2-frontend", 0, set()) != private
    # one the ledger already holds comes out again derived from node~1
    again = va.stable_mac("vc1-frontend", 0, {private})
    assert again == landscape_fields.derived_mac("vc1-frontend~1", 0)
    assert taken == {private, public}


def test_a_node_whose_every_derived_mac_is_taken_is_refused():
    taken = {landscape_fields.derived_mac("n" if i == 0 else f"n~{i}", 0) for i in range(va.MAC_TRIES)}
    assert "no free MAC address for n after 16 tries" in no_room(lambda: va.stable_mac("n", 0, taken))


def test_node_names_and_hosts_of():
    assert va.node_names("vc1", 2) == ("vc1-frontend", ["vc1-compute-0", "vc1-compute-1"])
    allocation = {"nodes": {"a": {"host": "hv2"}, "b": {"host": "hv1"}, "c": {"host": "hv2"}}}
    assert va.hosts_of(allocation) == ["hv1", "hv2"]


def test_listed_names_at_most_eight_then_counts_the_rest():
    assert va.listed(["a", "b"]) == "a, b"
    assert va.listed(str(i) for i in range(10)) == "0, 1, 2, 3, 4, 5, 6, 7 and 2 more"


# ---- placement


def nodes(count, cpus=1, memory=1024, frontend_cpus=None):
    wanted = [("fe", frontend_cpus or cpus, memory)]
    return wanted + [(f"c{i}", cpus, memory) for i in range(count)]


def rooms(hosts, settings=None, clusters=None):
    return va.rooms(hosts, settings or site(), clusters or {})


def test_largest_free_first_fills_the_roomiest_host_before_the_next():
    placed, why = va.place(
        nodes(4, frontend_cpus=2), rooms([host("hv1", 4), host("hv2", 5)]), "largest-free-first"
    )
    assert why is None
    assert placed == {"fe": "hv2", "c0": "hv2", "c1": "hv2", "c2": "hv2", "c3": "hv1"}


def test_spread_goes_round_the_hosts_with_room():
    hosts = [host("hv1", 4), host("hv2", 5), host("hv3", 2)]
    placed, why = va.place(nodes(5), rooms(hosts), "spread")
    assert why is None
    assert placed == {"fe": "hv2", "c0": "hv1", "c1": "hv3", "c2": "hv2", "c3": "hv1", "c4": "hv3"}
    # a full host is skipped and the round goes on
    placed, _ = va.place(nodes(8), rooms(hosts), "spread")
    assert list(placed.values()) == ["hv2", "hv1", "hv3", "hv2", "hv1", "hv3", "hv2", "hv1", "hv2"]


def test_ties_go_to_the_host_with_more_memory_then_by_name():
    placed, _ = va.place(nodes(0), rooms([host("hv2"), host("hv1")]), "largest-free-first")
    assert placed == {"fe": "hv1"}
    placed, _ = va.place(nodes(0), rooms([host("hv1", memory=100), host("hv2", memory=2048)]), "spread")
    assert placed == {"fe": "hv2"}


def test_a_node_goes_where_its_memory_fits_too():
    hosts = [host("hv1", cpus=16, memory=1024), host("hv2", cpus=4, memory=8192)]
    placed, why = va.place(nodes(2, memory=1024), rooms(hosts), "largest-free-first")
    assert why is None
    assert placed == {"fe": "hv1", "c0": "hv2", "c1": "hv2"}


def test_reserved_cpus_in_use_and_held_by_unfinished_clusters_are_not_free():
    settings = site(reserved_cpus={"*": 1, "hv1": 3})
    held = {
        "old": {"state": "booted", "nodes": {"o": {"host": "hv2", "cpus": 4, "memory": 4096}}},
        "new": {"state": "allocating", "nodes": {"n": {"host": "hv2", "cpus": 2, "memory": 4096}}},
        "bad": {"state": "failed", "nodes": {"b": {"host": "hv1", "cpus": 1, "memory": 1024}}},
    }
    got = va.rooms([host("hv1", 8, used=2), host("hv2", 8, used=1)], settings, held)
    assert [(r["name"], r["free_cpus"], r["free_memory"]) for r in got] == [
        ("hv1", 8 - 2 - 3 - 1, 16384 - 1024),
        ("hv2", 8 - 1 - 1 - 2, 16384 - 4096),
    ]
    # never below nothing
    assert va.rooms([host("hv1", 2, used=9)], settings, {})[0]["free_cpus"] == 0


def test_a_node_that_fits_nowhere_gives_every_hosts_room():
    settings = site(reserved_cpus={"hv1": 2})
    held = {"x": {"state": "allocating", "nodes": {"x": {"host": "hv2", "cpus": 1, "memory": 0}}}}
    host_rooms = va.rooms([host("hv1", 8, used=4), host("hv2", 2, memory=512)], settings, held)
    placed, why = va.place(nodes(2, cpus=2, frontend_cpus=1), host_rooms, "largest-free-first")
    assert placed == {"fe": "hv1"}
    assert why == (
        "c0 needs 2 CPUs and 1024 MiB and no host has room (1 of 3 nodes placed): "
        "hv1 has 1 of 8 CPUs free (4 in use, 2 reserved, 1 taken by this cluster's other nodes) "
        "and 15360 MiB; "
        "hv2 has 0 of 2 CPUs free (1 reserved, 1 held by clusters not yet booted) and 512 MiB"
    )


def test_no_hosts_at_all_is_a_reason_too():
    placed, why = va.place(nodes(0), [], "spread")
    assert placed == {}
    assert why == (
        "fe needs 1 CPU and 1024 MiB and no host has room (0 of 1 nodes placed): "
        "there are no hypervisor hosts"
    )


def test_a_refusal_describes_sixteen_hosts_and_counts_the_rest():
    hosts = [host(f"hv{i:02}", cpus=0) for i in range(18)]
    _, why = va.place(nodes(0), rooms(hosts), "largest-free-first")
    assert why.endswith("hv15 has 0 of 0 CPUs free and 16384 MiB; and 2 more hosts")


# ---- allocate, release


def allocate(state, name="vc1", computes=2, cpus="2:1", memory="2048:1024", hosts=HOSTS, settings=None):
    return va.allocate(state, settings or site(), name, computes, cpus, memory, hosts)


def test_an_allocation_records_everything_the_boot_needs_as_allocating():
    state = empty()
    got = allocate(state)
    frontend_mac = landscape_fields.derived_mac("vc1-frontend", 0)
    assert got == {
        "name": "vc1",
        "state": "allocating",
        "placement": "largest-free-first",
        "public": "192.0.2.10",
        "subnet": "10.200.0.0/24",
        "vni": 5000,
        "nodes": {
            "vc1-frontend": {
                "role": "frontend",
                "host": "hv1",
                "cpus": 2,
                "memory": 2048,
                "ip": "10.200.0.1",
                "mac": frontend_mac,
                "public_mac": landscape_fields.derived_mac("vc1-frontend", 1),
            },
            "vc1-compute-0": {
                "role": "compute",
                "host": "hv1",
                "cpus": 1,
                "memory": 1024,
                "ip": "10.200.0.2",
                "mac": landscape_fields.derived_mac("vc1-compute-0", 0),
            },
            "vc1-compute-1": {
                "role": "compute",
                "host": "hv1",
                "cpus": 1,
                "memory": 1024,
                "ip": "10.200.0.3",
                "mac": landscape_fields.derived_mac("vc1-compute-1", 0),
            },
        },
    }
    assert state["clusters"]["vc1"] == got
    got["nodes"].clear()  # a copy: the ledger's record stays whole
    assert len(state["clusters"]["vc1"]["nodes"]) == 3
    assert va.hosts_of(state["clusters"]["vc1"]) == ["hv1"]


def test_with_spread_the_vxlan_spans_the_hosts_that_get_nodes():
    state = empty()
    got = allocate(state, settings=site(placement="spread"), computes=2)
    assert [node["host"] for node in got["nodes"].values()] == ["hv1", "hv2", "hv1"]
    assert va.hosts_of(got) == ["hv1", "hv2"]


def test_the_next_cluster_takes_the_next_address_subnet_and_id_and_the_cpus_left():
    state = empty()
    hosts = [host("hv1", 4), host("hv2", 4)]
    allocate(state, "vc1", computes=2, hosts=hosts)
    second = allocate(state, "vc2", computes=1, cpus=1, hosts=hosts)
    assert (second["public"], second["subnet"], second["vni"]) == ("192.0.2.11", "10.200.1.0/24", 5001)
    # vc1 still allocating holds 4 CPUs of hv1: vc2's frontend goes to hv2
    assert second["nodes"]["vc2-frontend"]["host"] == "hv2"


def test_released_resources_are_taken_again():
    state = empty()
    allocate(state, "vc1")
    allocate(state, "vc2")
    held = va.release(state, "vc1")
    assert held["public"] == "192.0.2.10"
    assert list(state["clusters"]) == ["vc2"]
    third = allocate(state, "vc3")
    assert (third["public"], third["subnet"], third["vni"]) == ("192.0.2.10", "10.200.0.0/24", 5000)
    assert va.release(state, "vc1") is None  # releasing twice frees nothing more


def test_a_booted_cluster_keeps_its_address_but_its_cpus_are_the_inventorys():
    state = empty()
    allocate(state, "vc1", computes=1, cpus=4, hosts=[host("hv1")])
    with pytest.raises(Refused):
        allocate(state, "vc2", computes=1, cpus=1, hosts=[host("hv1")])
    va.set_state(state, "vc1", "booted")
    second = allocate(state, "vc2", computes=1, cpus=1, hosts=[host("hv1")])
    assert second["public"] == "192.0.2.11"


def test_public_addresses_go_in_the_order_the_site_lists_them():
    settings = site(addresses=["192.0.2.20", "192.0.2.10-192.0.2.11"])
    state = empty()
    assert [allocate(state, f"vc{i}", settings=settings)["public"] for i in range(3)] == [
        "192.0.2.20",
        "192.0.2.10",
        "192.0.2.11",
    ]


def test_a_mac_the_ledger_already_records_is_not_given_twice():
    state = empty()
    clash = landscape_fields.derived_mac("vc1-frontend", 0)
    state["clusters"]["old"] = {"state": "booted", "public": None, "nodes": {"x": {"mac": clash}}}
    got = allocate(state, "vc1")
    assert got["nodes"]["vc1-frontend"]["mac"] == landscape_fields.derived_mac("vc1-frontend~1", 0)
    assert got["nodes"]["vc1-compute-0"]["mac"] == landscape_fields.derived_mac("vc1-compute-0", 0)


def test_a_cluster_name_is_taken_in_any_case():
    state = empty()
    allocate(state, "vc1")
    for name in ("vc1", "VC1"):
        with pytest.raises(Refused) as caught:
            allocate(state, name)
        assert caught.value.code == "vm_exists"
        assert caught.value.sentence == "a virtual cluster named vc1 already exists (allocating)"


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"name": "../etc"}, "not a valid cluster name"),
        ({"computes": 10**6}, "computes must be a whole number from 1 to 64, not 1000000"),
        ({"computes": -1}, "computes must be a whole number from 1 to 64, not -1"),
        ({"cpus": "0:1"}, "cpus must be CPUs per node from 1 to 64"),
        ({"memory": "2048"[:2]}, "memory must be MiB per node from 64 to 262144"),
        ({"hosts": [{"name": "hv1"}]}, "hosts[0] lacks cpus, cpus_used, memory_free_mib"),
    ],
)
def test_bad_arguments_are_refused_before_the_ledger_changes(arguments, words):
    state = empty()
    allocate(state, "vc0")
    before = copy.deepcopy(state)
    with pytest.raises(Invalid) as caught:
        allocate(state, **arguments)
    assert words in caught.value.sentence
    assert state == before


def test_the_last_public_address_taken_refuses_naming_the_addresses_and_holders():
    state = empty()
    settings = site(addresses=["192.0.2.10-192.0.2.11"])
    allocate(state, "vc1", computes=1, cpus=1, memory=64, settings=settings)
    allocate(state, "vc2", computes=1, cpus=1, memory=64, settings=settings)
    before = copy.deepcopy(state)
    sentence = no_room(lambda: allocate(state, "vc3", computes=1, cpus=1, memory=64, settings=settings))
    assert sentence == (
        "cannot boot virtual cluster vc3: every public address is taken: "
        "192.0.2.10-192.0.2.11 (2 addresses), held by vc1 (192.0.2.10), vc2 (192.0.2.11)"
    )
    assert state == before


def test_running_out_of_subnets_refuses_naming_the_space_and_holders():
    state = empty()
    settings = site(subnets="10.200.0.0/23")
    allocate(state, "vc1", computes=1, cpus=1, memory=64, settings=settings)
    allocate(state, "vc2", computes=1, cpus=1, memory=64, settings=settings)
    sentence = no_room(lambda: allocate(state, "vc3", computes=1, cpus=1, memory=64, settings=settings))
    assert sentence == (
        "cannot boot virtual cluster vc3: every private subnet is taken: 10.200.0.0/23 holds 2 /24 subnets, "
        "held by vc1, vc2"
    )


def test_running_out_of_vxlan_ids_refuses_naming_the_range_and_holders():
    state = empty()
    settings = site(vnis=5000)
    allocate(state, "vc1", computes=1, cpus=1, memory=64, settings=settings)
    sentence = no_room(lambda: allocate(state, "vc2", computes=1, cpus=1, memory=64, settings=settings))
    assert (
        sentence == "cannot boot virtual cluster vc2: every VXLAN id is taken: 5000-5000 (1 id), held by vc1"
    )


def test_a_subnet_too_small_for_the_computes_is_no_room():
    settings = site(prefix=29, subnets="10.200.0.0/24")
    assert allocate(empty(), computes=5, cpus=1, memory=64, settings=settings)["nodes"]["vc1-compute-4"][
        "ip"
    ] == ("10.200.0.6")
    sentence = no_room(lambda: allocate(empty(), computes=6, cpus=1, memory=64, settings=settings))
    assert (
        "a /29 private subnet (brine:vcluster:private:prefix) holds a frontend and at most 5 computes, not 6"
        in (sentence)
    )


def test_every_shortage_is_given_at_once_and_nothing_is_taken():
    state = empty()
    settings = site(addresses=["192.0.2.10"], vnis=5000)
    allocate(state, "vc1", computes=1, cpus=1, memory=64, settings=settings)
    before = copy.deepcopy(state)
    sentence = no_room(
        lambda: allocate(state, "vc2", computes=1, cpus=64, memory=64, settings=settings, hosts=[host("hv1")])
    )
    assert "every public address is taken" in sentence
    assert "every VXLAN id is taken" in sentence
    assert "vc2-frontend needs 64 CPUs and 64 MiB and no host has room" in sentence
    assert state == before


def test_set_state_takes_the_three_states_of_a_known_cluster():
    state = empty()
    allocate(state, "vc1")
    assert va.set_state(state, "vc1", "failed")["state"] == "failed"
    with pytest.raises(Invalid, match="must be allocating, booted, failed, not 'up'"):
        va.set_state(state, "vc1", "up")
    with pytest.raises(Refused, match="no virtual cluster named vc9"):
        va.set_state(state, "vc9", "booted")


# ---- the ledger


def test_a_missing_ledger_reads_empty_and_a_change_is_written_atomically(tmp_path):
    ledger = va.Ledger(tmp_path / "vcluster" / "ledger.json")
    assert ledger.read() == {"version": 1, "clusters": {}}
    with ledger.locked() as state:
        allocate(state, "vc1")
    assert json.loads((tmp_path / "vcluster" / "ledger.json").read_text())["clusters"]["vc1"]["public"] == (
        "192.0.2.10"
    )
    assert ledger.read()["clusters"]["vc1"]["state"] == "allocating"
    assert stat.S_IMODE(os.stat(ledger.path).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(tmp_path / "vcluster").st_mode) == 0o750
    assert sorted(os.listdir(tmp_path / "vcluster")) == ["ledger.json", "ledger.json.lock"]


def test_a_block_that_raises_writes_nothing_and_an_unchanged_one_rewrites_nothing(tmp_path):
    ledger = va.Ledger(tmp_path / "ledger.json")
    with ledger.locked() as state:
        allocate(state, "vc1")
    before = os.stat(ledger.path)
    with pytest.raises(RuntimeError), ledger.locked() as state:
        allocate(state, "vc2")
        raise RuntimeError("the boot failed")
    with ledger.locked() as state:
        assert list(state["clusters"]) == ["vc1"]
    after = os.stat(ledger.path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "is not a ledger"),
        ('{"clusters": []}', "is not a ledger"),
        ("[]", "is not a ledger"),
        (" " * (va.LEDGER_MAX_BYTES + 1), f"is over {va.LEDGER_MAX_BYTES} bytes"),
    ],
)
def test_a_ledger_that_is_not_one_is_refused_and_left_alone(tmp_path, content, words):
    path = tmp_path / "ledger.json"
    path.write_text(content)
    with pytest.raises(Refused) as caught:
        va.Ledger(path).read()
    assert caught.value.code == "internal"
    assert words in caught.value.sentence and str(path) in caught.value.sentence
    with pytest.raises(Refused), va.Ledger(path).locked():
        pass
    assert path.read_text() == content


def test_a_ledger_that_cannot_be_locked_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(Refused, match="cannot lock the virtual cluster ledger"):
        va.Ledger(blocker / "ledger.json").read()


def _race(path, barrier, results):
    settings = site(addresses=["192.0.2.10-192.0.2.11"])
    ledger = va.Ledger(path)
    barrier.wait()
    try:
        with ledger.locked() as state:
            got = va.allocate(state, settings, f"vc{os.getpid()}", 1, 1, 64, [host("hv1")])
            time.sleep(0.3)  # both would have read the same ledger by now, were it not locked
        results.put(("won", got["public"]))
    except Refused as err:
        results.put((err.code, err.sentence))


def test_two_boots_in_two_processes_cannot_take_the_last_address(tmp_path):
    path = tmp_path / "ledger.json"
    settings = site(addresses=["192.0.2.10-192.0.2.11"])
    with va.Ledger(path).locked() as state:
        va.allocate(state, settings, "first", 1, 1, 64, [host("hv1")])
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_race, args=(path, barrier, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=30) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert outcomes[1] == ("won", "192.0.2.11")
    code, sentence = outcomes[0]
    assert code == "no_room"
    assert (
        "every public address is taken: 192.0.2.10-192.0.2.11 (2 addresses), held by first (192.0.2.10)"
        in (sentence)
    )
    clusters = va.Ledger(path).read()["clusters"]
    assert sorted(cluster["public"] for cluster in clusters.values()) == ["192.0.2.10", "192.0.2.11"]


def _hold(path, ready):
    with va.Ledger(path).locked() as state:
        allocate(state, "vc1")
        ready.set()
        time.sleep(0.3)


def test_a_read_waits_for_a_change_under_way(tmp_path):
    path = tmp_path / "ledger.json"
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    writer = context.Process(target=_hold, args=(path, ready))
    writer.start()
    assert ready.wait(timeout=30)
    assert list(va.Ledger(path).read()["clusters"]) == ["vc1"]
    writer.join(timeout=30)
    assert writer.exitcode == 0
