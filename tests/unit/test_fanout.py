"""
Unit tests of ``brine.fanout``: reading the hosts' answers to a LocalClient job (answered or
not, a host's error as code and sentence), the cluster inventory merged from them with its
totals, and where a VM is from the hosts' answers to ``hypervisor.vm_info`` — decided on the
hosts' error codes, never on their wording.
"""

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from brine import errors
from brine import fanout
from support.saltfakes import answer
from support.saltfakes import facts
from support.saltfakes import vm

# --------------------------------------------------------------------------
# Errors that come back from hosts
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry,error",
    [
        # A Brine refusal on the host: CommandExecutionError framed by salt/minion.py
        (
            answer("ERROR: [no_vm] There is no VM named vm1 on hv1", 1),
            ("no_vm", "There is no VM named vm1 on hv1"),
        ),
        # A Brine SaltInvocationError on the host keeps its code
        (
            answer("ERROR executing 'hypervisor.start': [invalid_argument] test must be true or false", 1),
            ("invalid_argument", "test must be true or false"),
        ),
        # ...and is still an argument error when it carries no code
        (
            answer("ERROR executing 'hypervisor.start': test must be true or false, not 'x'", 1),
            ("invalid_argument", "test must be true or false, not 'x'"),
        ),
        # An uncoded refusal is something Brine does not understand, whatever its words say
        (
            answer("ERROR: There is no VM named vm1 on hv1", 1),
            ("host_error", "There is no VM named vm1 on hv1"),
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
            ("host_error", "the hypervisor module failed: libvirt.libvirtError: internal error: boom"),
        ),
        # ...unless the exception at the end carries a code
        (
            answer(
                "The minion function caused an exception: Traceback (most recent call last):\n"
                "    raise Refused(...)\n"
                "brine.errors.Refused: [libvirt_unavailable] cannot connect to libvirtd on hv1\n",
                1,
            ),
            ("libvirt_unavailable", "cannot connect to libvirtd on hv1"),
        ),
        # The module is missing on that host
        (
            answer("'hypervisor.inventory' is not available.", 1),
            ("host_error", "'hypervisor.inventory' is not available."),
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
            ("host_error", "'hypervisor.inventory' is not available."),
        ),
        (
            answer("Passed invalid arguments to hypervisor.inventory: unexpected\nUsage: ...", 1),
            ("host_error", "Passed invalid arguments to hypervisor.inventory: unexpected"),
        ),
        # Salt's packed error shape
        (
            answer({"error": {"name": "AuthorizationError", "message": "Authorization error occurred."}}),
            ("host_error", "Authorization error occurred."),
        ),
        # A string is never a Brine return, even with retcode 0
        (answer("something odd"), ("host_error", "something odd")),
        (answer({"whatever": 1}, 2), ("host_error", "hypervisor.inventory failed with return code 2")),
    ],
)
def test_host_errors_become_codes_and_sentences(entry, error):
    assert fanout.host_error(entry, "hypervisor.inventory") == error


def test_a_normal_return_is_no_error():
    assert fanout.host_error(answer({"host": facts(), "vms": []}), "hypervisor.inventory") is None


def test_host_exception_names_the_host_and_keeps_the_code():
    exc = fanout.host_exception("hv1", ("already_running", "vm1 is already running"))
    assert isinstance(exc, CommandExecutionError) and exc.code == "already_running"
    assert str(exc) == "[already_running] hv1: vm1 is already running"
    assert errors.parse(f"ERROR: {exc}") == ("already_running", "hv1: vm1 is already running")


def test_a_refused_argument_stays_an_argument_error():
    exc = fanout.host_exception("hv1", ("invalid_argument", "test must be true or false"))
    assert isinstance(exc, SaltInvocationError) and exc.code == "invalid_argument"
    assert str(exc) == "[invalid_argument] hv1: test must be true or false"


def test_a_silent_host_is_unreachable():
    class Silent:
        def cmd(self, *args, **kwargs):
            return {"hv1": False}

    assert fanout.ask(Silent(), "hv1", "hypervisor.vm_info", {"name": "a"}, 2) == (
        None,
        ("unreachable", "did not answer within 2 s"),
    )


@pytest.mark.parametrize("value,expected", [(10, 10), ("2.5", 2.5), (0.5, 0.5)])
def test_timeouts(value, expected):
    assert fanout.timeout(value) == expected


@pytest.mark.parametrize("bad", [0, -1, "soon", True, float("inf"), float("nan"), [3], None])
def test_bad_timeouts_are_refused(bad):
    with pytest.raises(SaltInvocationError, match="positive number of seconds"):
        fanout.timeout(bad)


# --------------------------------------------------------------------------
# Inventory: merging answers, unreachable hosts, totals
# --------------------------------------------------------------------------


def test_inventory_merges_hosts_vms_and_totals():
    answers = {
        "hv2": answer({"host": facts(cpus=4, memory_total=2000), "vms": [vm("b"), vm("c", "shutoff")]}),
        "hv1": answer({"host": facts(), "vms": [vm("a")]}),
    }
    result = fanout.merge_inventory(["hv1", "hv2"], answers, 10, 123.0)
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
        "containers_running": 0,
        "containers_total": 0,
    }


def test_totals_use_the_one_definition_of_active():
    # A crashed VM kept for inspection and a paused one hold their host's CPUs and memory.
    vms = [vm("a", "crashed"), vm("b", "paused"), vm("c", "shutoff"), vm("d", "pmsuspended")]
    result = fanout.merge_inventory(["hv1"], {"hv1": answer({"host": facts(), "vms": vms})}, 10, 0)
    totals = result["totals"]
    expected = {key: value for key, value in fanout.vocabulary.totals(vms).items() if key != "vm_count"}
    assert {key: totals[key] for key in expected} == expected
    assert totals["vms_running"] == 3 and totals["vms"] == 4


def test_a_silent_host_is_unreachable_and_the_rest_still_count():
    answers = {"hv1": answer({"host": facts(), "vms": [vm("a")]})}
    result = fanout.merge_inventory(["hv1", "hv2"], answers, 3, 0)
    hv2 = result["hosts"][1]
    assert hv2 == {
        "name": "hv2",
        "reachable": False,
        "error": "did not answer within 3 s",
        "facts": None,
        "vms": [],
        "docker": None,
        "containers": [],
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
        (
            answer(
                "ERROR: [libvirt_unavailable] Could not take the inventory of this host: cannot connect", 1
            ),
            "Could not take the inventory of this host: cannot connect",
        ),
        (answer("'hypervisor.inventory' is not available.", 1), "'hypervisor.inventory' is not available."),
        (answer({"host": "hv1"}), "answered hypervisor.inventory with data Brine does not understand"),
        (
            answer({"host": {}, "vms": ["a"]}),
            "answered hypervisor.inventory with data Brine does not understand",
        ),
    ],
)
def test_hosts_answering_errors_are_unreachable_with_the_reason(entry, error):
    result = fanout.merge_inventory(["hv1"], {"hv1": entry}, 2.5, 0)
    host = result["hosts"][0]
    assert host["reachable"] is False
    assert host["error"] == error
    assert host["facts"] is None and host["vms"] == []
    assert result["totals"]["hosts_reachable"] == 0
    assert result["totals"]["memory_total"] == 0


def test_no_hosts_gives_an_empty_cluster():
    result = fanout.merge_inventory([], {}, 10, 0)
    assert result["hosts"] == []
    assert result["totals"]["hosts"] == 0 and result["totals"]["vms"] == 0


def test_a_host_that_answered_without_being_expected_is_still_shown():
    result = fanout.merge_inventory([], {"hv9": answer({"host": facts(), "vms": []})}, 10, 0)
    assert [h["name"] for h in result["hosts"]] == ["hv9"]


# --------------------------------------------------------------------------
# The hosts' Docker engines and containers in the inventory (issue 12)
# --------------------------------------------------------------------------

ENGINE_UP = {"state": "up", "version": "20.10.24+dfsg1", "message": None}


def box(name, state="running"):
    return {"name": name, "id": "5d71c7be79d6", "image": "brine/web:1", "state": state, "ports": []}


def test_host_entries_carry_the_engine_and_containers_and_totals_count_them():
    answers = {
        "hv1": answer(
            {
                "host": facts(),
                "vms": [],
                "docker": ENGINE_UP,
                "containers": [box("web"), box("old", "exited")],
            }
        ),
        "hv2": answer({"host": facts(), "vms": [], "docker": ENGINE_UP, "containers": [box("db", "paused")]}),
        "hv3": False,  # silent: nothing of it counts
    }
    result = fanout.merge_inventory(["hv1", "hv2", "hv3"], answers, 10, 0)
    hv1 = result["hosts"][0]
    assert hv1["docker"] == ENGINE_UP
    assert [(c["name"], c["host"], c["state"]) for c in hv1["containers"]] == [
        ("web", "hv1", "running"),
        ("old", "hv1", "exited"),
    ]
    assert result["hosts"][2]["docker"] is None and result["hosts"][2]["containers"] == []
    assert result["totals"]["containers_running"] == 1
    assert result["totals"]["containers_total"] == 3


def test_a_host_whose_module_predates_containers_has_no_engine_and_no_containers():
    result = fanout.merge_inventory(["hv1"], {"hv1": answer({"host": facts(), "vms": [vm("a")]})}, 10, 0)
    host = result["hosts"][0]
    assert host["reachable"] is True and [v["name"] for v in host["vms"]] == ["a"]
    assert host["docker"]["state"] == "none" and host["docker"]["version"] is None
    assert "older than containers" in host["docker"]["message"]
    assert host["containers"] == []
    assert result["totals"]["containers_total"] == 0


@pytest.mark.parametrize(
    "part",
    [
        {"docker": {"state": "sideways"}, "containers": []},
        {"docker": ENGINE_UP, "containers": "web"},
        {"docker": ENGINE_UP, "containers": [{"id": "x"}]},
        {"docker": ENGINE_UP},
        {"containers": []},
    ],
)
def test_container_data_brine_does_not_understand_leaves_the_vms_and_says_so(part):
    ret = dict({"host": facts(), "vms": [vm("a")]}, **part)
    host = fanout.merge_inventory(["hv1"], {"hv1": answer(ret)}, 10, 0)["hosts"][0]
    assert host["reachable"] is True and len(host["vms"]) == 1
    assert host["docker"] == {
        "state": "down",
        "version": None,
        "message": "answered hypervisor.inventory with container data Brine does not understand",
    }
    assert host["containers"] == []


class Publisher:
    """Records what ``gather`` publishes; nobody answers."""

    def __init__(self, minions):
        self.minions = minions
        self.published = []
        self.event = self

    def run_job(self, tgt, fun, kwarg=None, tgt_type="glob", **kwargs):
        self.published.append((tgt, tgt_type, fun))
        return {"jid": "1", "minions": self.minions} if self.minions else {}

    def get_event(self, **kwargs):
        return None


def test_gather_targets_the_hypervisor_role_or_exactly_the_hosts_given():
    client = Publisher(["hv1"])
    assert fanout.gather(client, "containers.list", None, 0.01) == (["hv1"], {})
    assert fanout.gather(client, "containers.images", None, 0.01, hosts=["hv2", "hv1"]) == (["hv1"], {})
    assert client.published == [
        ("brine:roles:hypervisor", "pillar", "containers.list"),
        (["hv1", "hv2"], "list", "containers.images"),
    ]


def test_gather_to_no_hosts_publishes_nothing():
    client = Publisher(["hv1"])
    assert fanout.gather(client, "containers.images", None, 1, hosts=[]) == ([], {})
    assert client.published == []


# --------------------------------------------------------------------------
# Finding a VM's host: decided on codes, unknown and ambiguous names
# --------------------------------------------------------------------------


def test_located_sorts_holders_absent_and_unsure_hosts():
    answers = {
        "hv1": answer(vm("a")),
        "hv2": answer("ERROR: [no_vm] There is no VM named a on hv2", 1),
        "hv3": answer("ERROR: [libvirt_unavailable] Could not describe a: cannot connect to libvirt", 1),
    }
    found, unsure = fanout.located(["hv1", "hv2", "hv3", "hv4"], answers, 5)
    assert found == {"hv1": vm("a")}
    assert unsure == {
        "hv3": "Could not describe a: cannot connect to libvirt",
        "hv4": "did not answer within 5 s",
    }


def test_a_host_answering_no_vm_is_not_there_whatever_its_words():
    # The old runner matched "no vm|domain" in the sentence: these words do not match it.
    answers = {"hv1": answer("ERROR: [no_vm] lab-vm9 is gone", 1)}
    assert fanout.located(["hv1"], answers, 5) == ({}, {})


def test_a_host_saying_no_vm_in_words_but_another_code_could_not_tell():
    # ...and these words did match it, although the host says something else went wrong.
    answers = {"hv1": answer("ERROR: [libvirt_error] no VM lookup possible: libvirtd restarting", 1)}
    assert fanout.located(["hv1"], answers, 5) == ({}, {"hv1": "no VM lookup possible: libvirtd restarting"})
    uncoded = {"hv1": answer("ERROR: There is no VM named lab-vm9 on hv1", 1)}
    assert fanout.located(["hv1"], uncoded, 5) == ({}, {"hv1": "There is no VM named lab-vm9 on hv1"})


def test_one_holder_is_the_host():
    assert fanout.single_host("a", {"hv1": vm("a")}, {"hv2": "did not answer within 5 s"}) == "hv1"


def test_an_unknown_name_is_a_clear_error():
    with pytest.raises(CommandExecutionError) as info:
        fanout.single_host("ghost", {}, {})
    assert info.value.code == "no_vm"
    assert str(info.value) == "[no_vm] no VM named ghost on any hypervisor host"


def test_an_unknown_name_says_which_hosts_could_not_tell():
    with pytest.raises(CommandExecutionError) as info:
        fanout.single_host("ghost", {}, {"hv2": "did not answer within 5 s"})
    assert info.value.code == "no_vm"
    assert info.value.sentence == (
        "no VM named ghost on any hypervisor host that answered (hv2 did not answer within 5 s)"
    )


def test_an_ambiguous_name_names_the_hosts():
    with pytest.raises(CommandExecutionError) as info:
        fanout.single_host("a", {"hv2": vm("a"), "hv1": vm("a")}, {})
    assert info.value.code == "ambiguous_vm"
    assert "a is defined on more than one host (hv1, hv2)" in str(info.value)
