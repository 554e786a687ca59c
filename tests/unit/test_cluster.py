"""
Unit tests of the ``cluster`` runner's own logic: totals, unreachable hosts,
unknown and ambiguous names, errors that come back from hosts, bad names and
finding the host that holds a VM.

The pure helpers are called directly. The host-resolution flow runs against
Salt's real master cache (localfs, in a temporary directory) with a small
scripted stand-in for LocalClient, since what matters there is which host is
asked what, and how often.
"""

import copy
import time
import importlib.util
import pathlib

import pytest
import salt.cache
import salt.config
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

RUNNER = pathlib.Path(__file__).resolve().parents[2] / "_runners" / "cluster.py"


def _load_runner():
    spec = importlib.util.spec_from_file_location("brine_cluster_runner", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cluster = _load_runner()


def facts(**overrides):
    base = {
        "hostname": "hv",
        "cpus": 2,
        "vcpus_allocated": 1,
        "memory_total": 1000,
        "memory_free": 600,
        "memory_allocated": 128,
        "vm_count": 1,
        "vms_running": 1,
    }
    base.update(overrides)
    return base


def vm(name, state="running"):
    return {"name": name, "state": state, "vcpus": 1, "memory": 128}


def answer(ret, retcode=0):
    return {"ret": ret, "retcode": retcode, "jid": "1"}


# --------------------------------------------------------------------------
# Names and timeouts
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["a", "lab-vm1", "web_01.example+blue", "A" * 64, "0vm"]
)
def test_good_names_pass(name):
    assert cluster._check_name(name) == name


def test_an_int_name_counts_as_its_digits():
    assert cluster._check_name(123) == "123"


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
def test_bad_names_are_refused(name):
    with pytest.raises(SaltInvocationError, match="not a valid VM name"):
        cluster._check_name(name)


@pytest.mark.parametrize(
    "timeout,opts,pillar,expected",
    [
        (None, {}, {}, 10),
        (None, {"brine": {"inventory_timeout": 4}}, {}, 4),
        (None, {}, {"brine": {"inventory_timeout": 7}}, 7),
        (None, {"brine": {"inventory_timeout": 4}}, {"brine": {"inventory_timeout": 7}}, 4),
        (2, {"brine": {"inventory_timeout": 4}}, {}, 2),
        ("2.5", {}, {}, 2.5),
        (None, {}, None, 10),
    ],
)
def test_inventory_timeout_comes_from_argument_then_config_then_pillar(
    timeout, opts, pillar, expected
):
    assert cluster._resolve_timeout(timeout, opts, pillar) == expected


@pytest.mark.parametrize("bad", [0, -1, "soon", True, float("inf"), float("nan"), [3]])
def test_bad_inventory_timeouts_are_refused(bad):
    with pytest.raises(SaltInvocationError, match="positive number of seconds"):
        cluster._resolve_timeout(bad, {}, {})


def test_a_bad_configured_timeout_is_refused_too():
    with pytest.raises(SaltInvocationError):
        cluster._resolve_timeout(None, {"brine": {"inventory_timeout": "never"}}, {})


# --------------------------------------------------------------------------
# Errors that come back from hosts
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry,kind,sentence",
    [
        # CommandExecutionError on the minion (salt/minion.py)
        (
            answer("ERROR: There is no VM named vm1 on hv1", 1),
            CommandExecutionError,
            "There is no VM named vm1 on hv1",
        ),
        # SaltInvocationError on the minion keeps its class
        (
            answer("ERROR executing 'hypervisor.start': test must be true or false, not 'x'", 1),
            SaltInvocationError,
            "test must be true or false, not 'x'",
        ),
        # Any other exception: the traceback's last line, not the traceback
        (
            answer(
                "The minion function caused an exception: Traceback (most recent call last):\n"
                '  File "/x/minion.py", line 1, in _thread_return\n'
                "    return_data = executor.execute()\n"
                "libvirt.libvirtError: internal error: boom\n",
                1,
            ),
            CommandExecutionError,
            "the hypervisor module failed: libvirt.libvirtError: internal error: boom",
        ),
        # The module is missing on that host
        (
            answer("'hypervisor.inventory' is not available.", 1),
            CommandExecutionError,
            "'hypervisor.inventory' is not available.",
        ),
        # ...and when sys.doc found other functions by that prefix
        (
            answer(
                {
                    "hypervisor.inventory": "'hypervisor.inventory' is not available.",
                    "hypervisor.inventory_extra": "docs",
                },
                1,
            ),
            CommandExecutionError,
            "'hypervisor.inventory' is not available.",
        ),
        (
            answer("Passed invalid arguments to hypervisor.inventory: unexpected\nUsage: ...", 1),
            CommandExecutionError,
            "Passed invalid arguments to hypervisor.inventory: unexpected",
        ),
        # Salt's packed error shape
        (
            answer({"error": {"name": "AuthorizationError", "message": "Authorization error occurred."}}),
            CommandExecutionError,
            "Authorization error occurred.",
        ),
        # A string is never a Brine return, even with retcode 0
        (answer("something odd"), CommandExecutionError, "something odd"),
        (answer({"whatever": 1}, 2), CommandExecutionError, "hypervisor.inventory failed with return code 2"),
    ],
)
def test_host_errors_become_sentences(entry, kind, sentence):
    assert cluster._error_of(entry, "hypervisor.inventory") == (kind, sentence)


def test_a_normal_return_is_no_error():
    assert cluster._error_of(answer({"host": facts(), "vms": []}), "hypervisor.inventory") is None


def test_host_exception_names_the_host_and_keeps_the_class():
    exc = cluster._host_exception("hv1", (CommandExecutionError, "vm1 is already running"))
    assert isinstance(exc, CommandExecutionError)
    assert str(exc) == "hv1: vm1 is already running"


# --------------------------------------------------------------------------
# Inventory: merging answers, unreachable hosts, totals
# --------------------------------------------------------------------------


def test_inventory_merges_hosts_vms_and_totals():
    answers = {
        "hv2": answer({"host": facts(cpus=4, memory_total=2000), "vms": [vm("b"), vm("c", "shutoff")]}),
        "hv1": answer({"host": facts(), "vms": [vm("a")]}),
    }
    result = cluster._merge_inventory(["hv1", "hv2"], answers, 10, 123.0)
    assert result["collected"] == 123.0
    assert [host["name"] for host in result["hosts"]] == ["hv1", "hv2"]
    hv2 = result["hosts"][1]
    assert hv2["reachable"] is True and hv2["error"] is None
    assert hv2["facts"]["cpus"] == 4
    assert [(v["name"], v["host"]) for v in hv2["vms"]] == [("b", "hv2"), ("c", "hv2")]
    assert result["totals"] == {
        "hosts": 2,
        "hosts_reachable": 2,
        "vms": 3,
        "vms_running": 2,
        "cpus": 6,
        "vcpus_allocated": 2,
        "memory_total": 3000,
        "memory_free": 1200,
        "memory_allocated": 256,
    }


def test_a_silent_host_is_unreachable_and_the_rest_still_count():
    answers = {"hv1": answer({"host": facts(), "vms": [vm("a")]})}
    result = cluster._merge_inventory(["hv1", "hv2"], answers, 3, 0)
    hv2 = result["hosts"][1]
    assert hv2 == {
        "name": "hv2",
        "reachable": False,
        "error": "did not answer within 3 s",
        "facts": None,
        "vms": [],
    }
    assert result["totals"]["hosts"] == 2
    assert result["totals"]["hosts_reachable"] == 1
    assert result["totals"]["vms"] == 1
    assert result["totals"]["cpus"] == 2


@pytest.mark.parametrize(
    "entry,error",
    [
        (False, "did not answer within 2.5 s"),
        ({"failed": True}, "did not answer within 2.5 s"),
        (answer("ERROR: Could not take the inventory of this host: cannot connect", 1),
         "Could not take the inventory of this host: cannot connect"),
        (answer("'hypervisor.inventory' is not available.", 1),
         "'hypervisor.inventory' is not available."),
        (answer({"host": "hv1"}), "answered hypervisor.inventory with data Brine does not understand"),
        (answer({"host": {}, "vms": ["a"]}),
         "answered hypervisor.inventory with data Brine does not understand"),
    ],
)
def test_hosts_answering_errors_are_unreachable_with_the_reason(entry, error):
    result = cluster._merge_inventory(["hv1"], {"hv1": entry}, 2.5, 0)
    host = result["hosts"][0]
    assert host["reachable"] is False
    assert host["error"] == error
    assert host["facts"] is None and host["vms"] == []
    assert result["totals"]["hosts_reachable"] == 0
    assert result["totals"]["memory_total"] == 0


def test_no_hosts_gives_an_empty_cluster():
    result = cluster._merge_inventory([], {}, 10, 0)
    assert result["hosts"] == []
    assert result["totals"]["hosts"] == 0 and result["totals"]["vms"] == 0


def test_a_host_that_answered_without_being_expected_is_still_shown():
    result = cluster._merge_inventory([], {"hv9": answer({"host": facts(), "vms": []})}, 10, 0)
    assert [h["name"] for h in result["hosts"]] == ["hv9"]


# --------------------------------------------------------------------------
# Finding a VM's host: unknown and ambiguous names
# --------------------------------------------------------------------------


def test_hosts_holding_a_name():
    host_vms = {"hv2": ["a", "b"], "hv1": ["b"], "hv3": []}
    assert cluster._hosts_holding("b", host_vms) == ["hv1", "hv2"]
    assert cluster._hosts_holding("a", host_vms) == ["hv2"]
    assert cluster._hosts_holding("z", host_vms) == []


def test_located_sorts_holders_absent_and_unsure_hosts():
    answers = {
        "hv1": answer(vm("a")),
        "hv2": answer("ERROR: There is no VM named a on hv2", 1),
        "hv3": answer("ERROR: Could not describe a: cannot connect to libvirt", 1),
    }
    found, unsure = cluster._located("a", ["hv1", "hv2", "hv3", "hv4"], answers, 5)
    assert found == {"hv1": vm("a")}
    assert unsure == {
        "hv3": "Could not describe a: cannot connect to libvirt",
        "hv4": "did not answer within 5 s",
    }


def test_one_holder_is_the_host():
    assert cluster._single_host("a", {"hv1": vm("a")}, {"hv2": "did not answer within 5 s"}) == "hv1"


def test_an_unknown_name_is_a_clear_error():
    with pytest.raises(CommandExecutionError) as info:
        cluster._single_host("ghost", {}, {})
    assert str(info.value) == "no VM named ghost on any hypervisor host"


def test_an_unknown_name_says_which_hosts_could_not_tell():
    with pytest.raises(CommandExecutionError) as info:
        cluster._single_host("ghost", {}, {"hv2": "did not answer within 5 s"})
    assert str(info.value) == (
        "no VM named ghost on any hypervisor host that answered (hv2 did not answer within 5 s)"
    )


def test_an_ambiguous_name_names_the_hosts():
    with pytest.raises(CommandExecutionError) as info:
        cluster._single_host("a", {"hv2": vm("a"), "hv1": vm("a")}, {})
    assert "a is defined on more than one host (hv1, hv2)" in str(info.value)


def test_placed_moves_a_name_to_its_holders_only():
    host_vms = {"hv1": ["a", "b"], "hv2": ["a"], "hv3": ["a"]}
    # hv3 could not say: it keeps its entry; hv1 said no; hv4 is new
    assert cluster._placed(host_vms, "a", ["hv4"], unsure={"hv3"}) == {
        "hv1": ["b"],
        "hv2": [],
        "hv4": ["a"],
    }


def test_placed_after_delete_removes_the_name():
    assert cluster._placed({"hv1": ["a", "b"]}, "a", []) == {"hv1": ["b"]}


def test_placed_changes_nothing_when_the_map_is_right():
    assert cluster._placed({"hv1": ["a"], "hv2": ["b"]}, "a", ["hv1"]) == {}


# --------------------------------------------------------------------------
# The resolution flow, with a real master cache and a scripted LocalClient
# --------------------------------------------------------------------------


class ScriptedEvents:
    """The master event bus as the runner reads it: job returns queued by run_job."""

    def __init__(self):
        self.queue = []

    def get_event(self, wait, tag, match_type, full, auto_reconnect=False):
        assert (tag, match_type, full) == ("salt/job/1/ret/", "startswith", True)
        if self.queue:
            return self.queue.pop(0)
        time.sleep(min(wait, 0.05))  # a silent host: nothing arrives within the wait
        return None


class ScriptedClient:
    """
    Answers like LocalClient from a table ``{host: {fun: return}}``; a host
    missing from the table is down. Records every call made.
    """

    def __init__(self, hosts):
        self.hosts = hosts
        self.calls = []
        self.event = ScriptedEvents()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False

    def _entry(self, host, fun, kwarg):
        answers = self.hosts.get(host)
        if answers is None:
            return None
        ret = answers[fun]
        if callable(ret):
            ret = ret(**kwarg)
        is_error = isinstance(ret, str)
        return {"ret": ret, "retcode": 1 if is_error else 0, "jid": "1"}

    def run_job(self, tgt, fun, kwarg=None, tgt_type="glob", **kwargs):
        assert (tgt, tgt_type) == ("brine:roles:hypervisor", "pillar")
        self.calls.append(("all", fun, kwarg))
        self._pending = (fun, kwarg)
        fun, kwarg = self._pending
        for host in sorted(self.hosts_expected):
            entry = self._entry(host, fun, kwarg or {})
            if entry:
                self.event.queue.append(
                    {"tag": f"salt/job/1/ret/{host}",
                     "data": {"id": host, "return": entry["ret"], "retcode": entry["retcode"]}}
                )
        return {"jid": "1", "minions": sorted(self.hosts_expected)}

    def cmd(self, tgt, fun, kwarg=None, tgt_type="glob", timeout=None, full_return=False):
        assert tgt_type == "list" and len(tgt) == 1 and full_return
        host = tgt[0]
        self.calls.append((host, fun, kwarg))
        if host not in self.hosts_expected:
            return {}
        entry = self._entry(host, fun, kwarg)
        return {host: entry if entry else False}


def vm_info_on(*names):
    def vm_info(name):
        if name in names:
            return vm(name)
        return f"ERROR: There is no VM named {name} on this host"

    return vm_info


def action_result(action, state):
    def run(name, **kwargs):
        return {"name": name, "action": action, "changed": True, "state": state, "vm": None}

    return run


@pytest.fixture
def runner(tmp_path, monkeypatch):
    opts = copy.deepcopy(salt.config.DEFAULT_MASTER_OPTS)
    opts.update(cachedir=str(tmp_path), conf_file=str(tmp_path / "master"), brine={"inventory_timeout": 1})
    monkeypatch.setattr(cluster, "__opts__", opts, raising=False)
    monkeypatch.setattr(cluster, "__pillar__", {}, raising=False)
    return cluster


@pytest.fixture
def cache(runner):
    return salt.cache.factory(runner.__opts__)


def use_client(monkeypatch, runner, hosts, expected=None):
    client = ScriptedClient(hosts)
    client.hosts_expected = expected if expected is not None else list(hosts)
    monkeypatch.setattr(runner, "_local_client", lambda: client)
    return client


def cached_map(cache):
    return {host: cache.fetch("brine/inventory", host)["vms"] for host in cache.list("brine/inventory")}


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


def test_a_stale_entry_is_corrected_and_the_action_goes_to_the_new_host(
    runner, cache, monkeypatch
):
    cache.store("brine/inventory", "hv1", {"vms": ["a", "b"]})
    client = use_client(
        monkeypatch,
        runner,
        {
            "hv1": {
                "hypervisor.vm_info": vm_info_on("b"),
                "hypervisor.shutdown": lambda name, **kw: f"ERROR: There is no VM named {name} on hv1",
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
                "hypervisor.start": lambda name, **kw: f"ERROR: {name} is already running",
            },
        },
    )
    with pytest.raises(CommandExecutionError, match=r"^hv1: a is already running$"):
        runner.start("a")
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
                    f"ERROR executing 'hypervisor.start': test must be true or false, not {test!r}"
                ),
            },
        },
    )
    with pytest.raises(SaltInvocationError, match="test must be true or false"):
        runner.start("a", test="maybe")
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
        runner.reboot("a")
    assert str(info.value) == (
        "no VM named a on any hypervisor host that answered (hv2 did not answer within 1 s)"
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
    with pytest.raises(CommandExecutionError, match=r"more than one host \(hv1, hv2\)"):
        runner.delete("a")
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
            getattr(runner, fun)("../x")
    assert client.calls == []
