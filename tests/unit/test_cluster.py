"""
Unit tests of the ``cluster`` runner as a Salt face: argument checks before any host is
asked, its configuration keys, and finding the host that holds a VM (cache hits, misses,
stale entries, unknown and ambiguous names, refusals passed on with the host's code).

The resolution flow runs against Salt's real master cache (localfs, in a temporary
directory) with a scripted stand-in for LocalClient (``support.saltfakes``), since what
matters there is which host is asked what, and how often. The pure parts are tested with
the library (test_fanout.py, test_hostmap.py).
"""

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from support.saltfakes import action_result
from support.saltfakes import cached_map
from support.saltfakes import cluster_runner
from support.saltfakes import facts
from support.saltfakes import master_cache
from support.saltfakes import raised
from support.saltfakes import use_client
from support.saltfakes import vm
from support.saltfakes import vm_info_on


@pytest.fixture
def runner(tmp_path, monkeypatch):
    return cluster_runner(tmp_path, monkeypatch)


@pytest.fixture
def cache(runner):
    return master_cache(runner)


# --------------------------------------------------------------------------
# Names and timeouts
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "lab-vm1", "web_01.example+blue", "A" * 64, "0vm"])
def test_good_names_pass(runner, monkeypatch, name):
    client = use_client(monkeypatch, runner, {"hv1": {"hypervisor.vm_info": vm_info_on(name)}})
    assert runner.vm_info(name)["host"] == "hv1"
    assert client.calls == [("all", "hypervisor.vm_info", {"name": name})]


def test_an_int_name_counts_as_its_digits(runner, monkeypatch):
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.vm_info": vm_info_on("123")}})
    assert runner.vm_info(123)["name"] == "123"


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-rf",
        ".hidden",
        "a/b",
        "../etc",
        "a b",
        "vm;reboot",
        "vm$(id)",
        "vm\n",
        "A" * 65,
        None,
        True,
        ["vm"],
    ],
)
def test_bad_names_are_refused(runner, monkeypatch, name):
    client = use_client(monkeypatch, runner, {})
    with pytest.raises(SaltInvocationError, match="not a valid VM name") as info:
        raised(runner.vm_info(name))
    assert info.value.code == "invalid_argument"
    assert client.calls == []


@pytest.mark.parametrize(
    "timeout,opts,pillar,expected",
    [
        (None, {}, {}, 10),
        (None, {"inventory": {"timeout": 4}}, {}, 4),
        (None, {}, {"brine": {"inventory": {"timeout": 7}}}, 7),
        (None, {"inventory": {"timeout": 4}}, {"brine": {"inventory": {"timeout": 7}}}, 4),
        (2, {"inventory": {"timeout": 4}}, {}, 2),
        ("2.5", {}, {}, 2.5),
        (None, {}, None, 10),
        # the key's old name is not read any more
        (None, {"inventory_timeout": 4}, {}, 10),
    ],
)
def test_inventory_timeout_comes_from_argument_then_config_then_pillar(
    runner, monkeypatch, timeout, opts, pillar, expected
):
    monkeypatch.setitem(runner.__opts__, "brine", opts)
    monkeypatch.setattr(runner, "__pillar__", pillar)
    assert runner._timeout(timeout) == expected


@pytest.mark.parametrize("bad", [0, -1, "soon", True, float("inf"), float("nan"), [3]])
def test_bad_inventory_timeouts_are_refused(runner, monkeypatch, bad):
    client = use_client(monkeypatch, runner, {})
    with pytest.raises(SaltInvocationError, match="positive number of seconds"):
        raised(runner.inventory(timeout=bad))
    assert client.calls == []


def test_a_bad_configured_timeout_is_refused_too(runner, monkeypatch):
    monkeypatch.setitem(runner.__opts__, "brine", {"inventory": {"timeout": "never"}})
    with pytest.raises(SaltInvocationError):
        raised(runner._timeout())


@pytest.mark.parametrize(
    "configured,expected", [(None, 1800), (600, 600), ("90", 90), ("never", 1800), (0, 1800)]
)
def test_the_migration_timeout_is_brine_migration_timeout(runner, monkeypatch, configured, expected):
    monkeypatch.setitem(runner.__opts__, "brine", {"migration": {"timeout": configured}})
    assert runner._migration_timeout() == expected


# --------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------


def test_inventory_merges_the_hosts_answers(runner, monkeypatch):
    use_client(
        monkeypatch,
        runner,
        {"hv1": {"hypervisor.inventory": {"host": facts(), "vms": [vm("a"), vm("b", "crashed")]}}},
        expected=["hv1", "hv2"],
    )
    result = runner.inventory(timeout=0.2)
    assert [(h["name"], h["reachable"], h["error"]) for h in result["hosts"]] == [
        ("hv1", True, None),
        ("hv2", False, "did not answer within 0.2 s"),
    ]
    assert result["totals"]["vms_running"] == 2 and result["totals"]["vcpus_allocated"] == 2


# --------------------------------------------------------------------------
# The resolution flow, with a real master cache and a scripted LocalClient
# --------------------------------------------------------------------------


def test_inventory_remembers_where_each_vm_is(runner, cache, monkeypatch):
    cache.store("brine/inventory", "retired", {"vms": ["old"]})
    cache.store("brine/inventory", "hv3", {"vms": ["c"]})
    use_client(
        monkeypatch,
        runner,
        {
            "hv1": {"hypervisor.inventory": {"host": facts(), "vms": [vm("a")]}},
            "hv2": {"hypervisor.inventory": {"host": facts(), "vms": [vm("b"), vm("bb")]}},
        },
        expected=["hv1", "hv2", "hv3"],
    )
    result = runner.inventory()
    assert [h["reachable"] for h in result["hosts"]] == [True, True, False]
    # hv3 is down: its last known VMs stay; "retired" is no longer a host
    assert cached_map(cache) == {"hv1": ["a"], "hv2": ["b", "bb"], "hv3": ["c"]}


def test_an_action_goes_straight_to_the_cached_host(runner, cache, monkeypatch):
    cache.store("brine/inventory", "hv2", {"vms": ["a"]})
    client = use_client(
        monkeypatch,
        runner,
        {
            "hv1": {"hypervisor.vm_info": vm_info_on()},
            "hv2": {"hypervisor.start": action_result("start", "running")},
        },
    )
    assert runner.start("a")["state"] == "running"
    assert client.calls == [("hv2", "hypervisor.start", {"name": "a", "test": False})]


def test_a_cache_miss_asks_the_hosts_for_that_name_only(runner, cache, monkeypatch):
    client = use_client(
        monkeypatch,
        runner,
        {
            "hv1": {"hypervisor.vm_info": vm_info_on()},
            "hv2": {
                "hypervisor.vm_info": vm_info_on("a"),
                "hypervisor.pause": action_result("pause", "paused"),
            },
        },
    )
    assert runner.pause("a")["state"] == "paused"
    assert client.calls == [
        ("all", "hypervisor.vm_info", {"name": "a"}),
        ("hv2", "hypervisor.pause", {"name": "a", "test": False}),
    ]
    assert cached_map(cache) == {"hv2": ["a"]}


def test_a_stale_entry_is_corrected_and_the_action_goes_to_the_new_host(runner, cache, monkeypatch):
    cache.store("brine/inventory", "hv1", {"vms": ["a", "b"]})
    client = use_client(
        monkeypatch,
        runner,
        {
            "hv1": {
                "hypervisor.vm_info": vm_info_on("b"),
                "hypervisor.shutdown": lambda name, **kw: (
                    f"ERROR: [no_vm] There is no VM named {name} on hv1"
                ),
            },
            "hv2": {
                "hypervisor.vm_info": vm_info_on("a"),
                "hypervisor.shutdown": action_result("shutdown", "shutoff"),
            },
        },
    )
    assert runner.shutdown("a")["state"] == "shutoff"
    assert [call[:2] for call in client.calls] == [
        ("hv1", "hypervisor.shutdown"),
        ("all", "hypervisor.vm_info"),
        ("hv2", "hypervisor.shutdown"),
    ]
    assert cached_map(cache) == {"hv1": ["b"], "hv2": ["a"]}


def test_a_refusal_from_the_right_host_is_not_sent_twice(runner, cache, monkeypatch):
    cache.store("brine/inventory", "hv1", {"vms": ["a"]})
    client = use_client(
        monkeypatch,
        runner,
        {
            "hv1": {
                "hypervisor.vm_info": vm_info_on("a"),
                "hypervisor.start": lambda name, **kw: f"ERROR: [already_running] {name} is already running",
            },
        },
    )
    with pytest.raises(
        CommandExecutionError, match=r"^\[already_running\] hv1: a is already running$"
    ) as info:
        raised(runner.start("a"))
    assert info.value.code == "already_running"
    assert [call[:2] for call in client.calls] == [
        ("hv1", "hypervisor.start"),
        ("all", "hypervisor.vm_info"),
    ]


def test_a_refused_argument_is_returned_without_a_lookup(runner, cache, monkeypatch):
    cache.store("brine/inventory", "hv1", {"vms": ["a"]})
    client = use_client(
        monkeypatch,
        runner,
        {
            "hv1": {
                "hypervisor.start": lambda name, test: (
                    "ERROR executing 'hypervisor.start': "
                    f"[invalid_argument] test must be true or false, not {test!r}"
                ),
            },
        },
    )
    with pytest.raises(SaltInvocationError, match=r"^\[invalid_argument\] hv1: test must be true or false"):
        raised(runner.start("a", test="maybe"))
    assert len(client.calls) == 1


def test_a_silent_cached_host_then_unknown_everywhere(runner, cache, monkeypatch):
    cache.store("brine/inventory", "hv2", {"vms": ["a"]})
    use_client(
        monkeypatch,
        runner,
        {"hv1": {"hypervisor.vm_info": vm_info_on()}},
        expected=["hv1", "hv2"],
    )
    with pytest.raises(CommandExecutionError) as info:
        raised(runner.reboot("a"))
    assert info.value.code == "no_vm"
    assert str(info.value) == (
        "[no_vm] no VM named a on any hypervisor host that answered (hv2 did not answer within 1 s)"
    )


def test_an_ambiguous_name_touches_no_host(runner, cache, monkeypatch):
    client = use_client(
        monkeypatch,
        runner,
        {
            "hv1": {"hypervisor.vm_info": vm_info_on("a")},
            "hv2": {"hypervisor.vm_info": vm_info_on("a")},
        },
    )
    with pytest.raises(CommandExecutionError, match=r"more than one host \(hv1, hv2\)") as info:
        raised(runner.delete("a"))
    assert info.value.code == "ambiguous_vm"
    assert client.calls == [("all", "hypervisor.vm_info", {"name": "a"})]
    # both are remembered, so the next call asks again instead of guessing
    assert cached_map(cache) == {"hv1": ["a"], "hv2": ["a"]}


def test_vm_info_after_a_lookup_needs_no_second_call(runner, cache, monkeypatch):
    client = use_client(monkeypatch, runner, {"hv1": {"hypervisor.vm_info": vm_info_on("a")}})
    assert runner.vm_info("a") == dict(vm("a"), host="hv1")
    assert len(client.calls) == 1


def test_a_real_delete_forgets_the_vm(runner, cache, monkeypatch):
    cache.store("brine/inventory", "hv1", {"vms": ["a", "b"]})
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.delete": action_result("delete", "deleted")}})
    runner.delete("a")
    assert cached_map(cache) == {"hv1": ["b"]}


def test_a_bad_name_touches_nothing(runner, monkeypatch):
    client = use_client(monkeypatch, runner, {})
    for fun in ("vm_info", "start", "shutdown", "force_off", "reboot", "pause", "resume", "delete"):
        with pytest.raises(SaltInvocationError):
            raised(getattr(runner, fun)("../x"))
    assert client.calls == []


# --------------------------------------------------------------------------
# Decisions on the hosts' error codes, never on their words
# --------------------------------------------------------------------------


def test_a_host_answering_no_vm_in_other_words_is_not_there(runner, cache, monkeypatch):
    # "lab-vm9 is gone" does not match the old "no vm|domain" pattern: the code says it.
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm9"]})
    gone = lambda name, **kw: "ERROR: [no_vm] lab-vm9 is gone"  # noqa: E731
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.start": gone, "hypervisor.vm_info": gone}})
    with pytest.raises(CommandExecutionError) as info:
        raised(runner.start("lab-vm9"))
    assert info.value.code == "no_vm"
    assert str(info.value) == "[no_vm] no VM named lab-vm9 on any hypervisor host"
    assert cached_map(cache) == {"hv1": []}


def test_a_host_saying_no_vm_with_another_code_could_not_tell(runner, cache, monkeypatch):
    # These words match the old pattern, but the host says libvirt failed: it could not tell.
    broken = "ERROR: [libvirt_unavailable] no VM can be looked up: no domain list from libvirtd"
    use_client(
        monkeypatch,
        runner,
        {"hv1": {"hypervisor.vm_info": broken}, "hv2": {"hypervisor.vm_info": vm_info_on()}},
    )
    with pytest.raises(CommandExecutionError) as info:
        raised(runner.vm_info("lab-vm9"))
    assert info.value.code == "no_vm"
    assert str(info.value) == (
        "[no_vm] no VM named lab-vm9 on any hypervisor host that answered "
        "(hv1 no VM can be looked up: no domain list from libvirtd)"
    )


def test_a_hosts_refusal_keeps_its_code_and_names_the_host(runner, cache, monkeypatch):
    cache.store("brine/inventory", "hv1", {"vms": ["a"]})
    use_client(
        monkeypatch,
        runner,
        {
            "hv1": {
                "hypervisor.reboot": lambda name, **kw: f"ERROR: [not_running] {name} is not running on hv1",
                "hypervisor.vm_info": vm_info_on("a"),
            }
        },
    )
    with pytest.raises(CommandExecutionError) as info:
        raised(runner.reboot("a"))
    assert (info.value.code, info.value.sentence) == ("not_running", "hv1: a is not running on hv1")


def test_a_silent_host_holding_the_vm_is_unreachable(runner, cache, monkeypatch):
    cache.store("brine/inventory", "hv1", {"vms": ["a"]})
    client = use_client(
        monkeypatch, runner, {"hv1": {"hypervisor.vm_info": vm_info_on("a"), "hypervisor.pause": None}}
    )
    answer = client.cmd

    def silent_pause(tgt, fun, kwarg=None, **kwargs):
        if fun == "hypervisor.pause":
            client.calls.append((tgt[0], fun, kwarg))
            return {tgt[0]: False}
        return answer(tgt, fun, kwarg, **kwargs)

    monkeypatch.setattr(client, "cmd", silent_pause)
    with pytest.raises(CommandExecutionError) as info:
        raised(runner.pause("a"))
    assert (info.value.code, info.value.sentence) == ("unreachable", "hv1: did not answer within 1 s")
