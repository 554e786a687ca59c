"""Unit tests of ``brine.hostmap``: the VM->host map the master keeps in its cache."""

import salt.cache

from brine import hostmap
from support.saltfakes import cached_map
from support.saltfakes import master_opts


def test_hosts_holding_a_name():
    host_vms = {"hv2": ["a", "b"], "hv1": ["b"], "hv3": []}
    assert hostmap.holding("b", host_vms) == ["hv1", "hv2"]
    assert hostmap.holding("a", host_vms) == ["hv2"]
    assert hostmap.holding("z", host_vms) == []


def test_placed_moves_a_name_to_its_holders_only():
    host_vms = {"hv1": ["a", "b"], "hv2": ["a"], "hv3": ["a"]}
    # hv3 could not say: it keeps its entry; hv1 said no; hv4 is new
    assert hostmap.placed(host_vms, "a", ["hv4"], unsure={"hv3"}) == {
        "hv1": ["b"],
        "hv2": [],
        "hv4": ["a"],
    }


def test_placed_after_delete_removes_the_name():
    assert hostmap.placed({"hv1": ["a", "b"]}, "a", []) == {"hv1": ["b"]}


def test_placed_changes_nothing_when_the_map_is_right():
    assert hostmap.placed({"hv1": ["a"], "hv2": ["b"]}, "a", ["hv1"]) == {}


def test_place_and_remember_in_a_real_master_cache(tmp_path):
    cache = salt.cache.factory(master_opts(tmp_path))
    hostmap.write(cache, {"hv1": ["b", "a"], "gone": ["x"]})
    assert hostmap.read(cache) == {"hv1": ["a", "b"], "gone": ["x"]}
    host_vms = hostmap.read(cache)
    assert hostmap.place(cache, "a", ["hv2"], host_vms) == {"hv1": ["b"], "hv2": ["a"]}
    assert host_vms == cached_map(cache) == {"hv1": ["b"], "gone": ["x"], "hv2": ["a"]}
    hostmap.remember(
        cache,
        [
            {"name": "hv1", "reachable": True, "vms": [{"name": "c"}]},
            {"name": "hv2", "reachable": False, "vms": []},
        ],
    )
    # hv2 did not answer: it keeps what was last seen; "gone" is no longer a host
    assert cached_map(cache) == {"hv1": ["c"], "hv2": ["a"]}


def test_elsewhere_names_the_other_hosts_holding_each_name():
    host_vms = {"hv1": ["web-1", "db-1"], "hv2": ["web-1", "web-2"], "hv3": []}
    assert hostmap.elsewhere(["web-1", "web-2", "gone"], host_vms, "hv1") == {
        "web-1": ["hv2"],
        "web-2": ["hv2"],
    }
    assert hostmap.elsewhere(["db-1"], host_vms, "hv1") == {}
