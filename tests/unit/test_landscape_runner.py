"""
The ``landscape`` runner as a Salt face (what the hosts have of the landscape, docs/landscape.md) against a
scripted LocalClient (``support.saltfakes``): every host gathered or one asked, hosts that do not
answer, refuse or answer nonsense, and the admin's actions with the host's refusal passed on.
The host's side is tests/unit/test_landscape_inventory.py and tests/functional/test_landscape_functional.py.
"""

import inspect

import pytest

from brine.errors import Invalid
from brine.errors import Refused
from support import loading
from support.saltfakes import master_opts
from support.saltfakes import raised
from support.saltfakes import use_client

SERVICE = {"name": "service", "active": True, "managed": True, "mode": "nat", "leases": []}
IMAGES = {"name": "images", "active": True, "managed": False, "volumes": []}
ACTIONS = ("network_start", "network_stop", "pool_start", "pool_stop", "pool_refresh")


@pytest.fixture
def runner(tmp_path, monkeypatch):
    module = loading.load("_runners/landscape.py")
    monkeypatch.setattr(module, "__opts__", master_opts(tmp_path), raising=False)
    monkeypatch.setattr(module, "__pillar__", {}, raising=False)
    return module


def test_networks_gathers_every_host_and_says_which_gave_no_usable_answer_and_why(runner, monkeypatch):
    client = use_client(
        monkeypatch,
        runner,
        {
            "hv1": {"landscape.networks": {"networks": [SERVICE]}},
            "hv2": {
                "landscape.networks": "ERROR: [libvirt_unavailable] Could not list the networks: no socket"
            },
            "hv4": {"landscape.networks": {"networks": "not a list"}},
        },
        expected=["hv1", "hv2", "hv3", "hv4"],
    )
    assert runner.networks() == {
        "hosts": [
            {"host": "hv1", "answered": True, "error": None, "networks": [SERVICE]},
            {
                "host": "hv2",
                "answered": False,
                "error": {"code": "libvirt_unavailable", "message": "Could not list the networks: no socket"},
                "networks": [],
            },
            {
                "host": "hv3",
                "answered": False,
                "error": {"code": "unreachable", "message": "did not answer within 1 s"},
                "networks": [],
            },
            {
                "host": "hv4",
                "answered": False,
                "error": {
                    "code": "host_error",
                    "message": "answered landscape.networks with data Brine does not understand",
                },
                "networks": [],
            },
        ]
    }
    assert client.calls == [("all", "landscape.networks", None)]


def test_pools_pass_a_hosts_landscape_error_on(runner, monkeypatch):
    use_client(
        monkeypatch,
        runner,
        {"hv1": {"landscape.pools": {"pools": [IMAGES], "landscape_error": "landscape: bad"}}},
    )
    assert runner.pools() == {
        "hosts": [
            {
                "host": "hv1",
                "answered": True,
                "error": None,
                "pools": [IMAGES],
                "landscape_error": "landscape: bad",
            }
        ]
    }


def test_one_host_is_asked_alone(runner, monkeypatch):
    client = use_client(
        monkeypatch,
        runner,
        {"hv1": {"landscape.pools": {"pools": [IMAGES]}}, "hv2": {"landscape.pools": {"pools": []}}},
    )
    assert runner.pools(host="hv1") == {
        "hosts": [{"host": "hv1", "answered": True, "error": None, "pools": [IMAGES]}]
    }
    assert client.calls == [("hv1", "landscape.pools", {})]


def test_one_host_that_does_not_answer_is_not_answered(runner, monkeypatch):
    use_client(monkeypatch, runner, {"hv1": {"landscape.networks": {"networks": []}}})
    assert runner.networks("hv9") == {
        "hosts": [
            {
                "host": "hv9",
                "answered": False,
                "error": {"code": "unreachable", "message": "did not answer within 1 s"},
                "networks": [],
            }
        ]
    }


def test_one_host_that_refuses_is_not_answered_with_its_code(runner, monkeypatch):
    use_client(
        monkeypatch, runner, {"hv1": {"landscape.pools": "ERROR: [libvirt_error] Could not list: broken"}}
    )
    assert runner.pools("hv1") == {
        "hosts": [
            {
                "host": "hv1",
                "answered": False,
                "error": {"code": "libvirt_error", "message": "Could not list: broken"},
                "pools": [],
            }
        ]
    }


@pytest.mark.parametrize("fun", ["networks", "pools"])
def test_a_bad_host_is_refused_before_any_host_is_asked(runner, monkeypatch, fun):
    client = use_client(monkeypatch, runner, {})
    with pytest.raises(Invalid) as invalid:
        raised(getattr(runner, fun)(host="../hv1"))
    assert "is not a valid host name for host" in invalid.value.sentence
    assert client.calls == []


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_runs_on_its_host_and_returns_the_hosts_answer(runner, monkeypatch, action):
    answer = dict(SERVICE, active=action != "network_stop")
    client = use_client(
        monkeypatch, runner, {"hv1": {f"landscape.{action}": lambda name: dict(answer, name=name)}}
    )
    assert getattr(runner, action)("hv1", "web") == dict(answer, name="web")
    assert client.calls == [("hv1", f"landscape.{action}", {"name": "web"})]


@pytest.mark.parametrize(
    ("action", "answer", "code", "message"),
    [
        (
            "network_start",
            "ERROR: [wrong_state] The network service is already active on hv1",
            "wrong_state",
            "hv1: The network service is already active on hv1",
        ),
        (
            "pool_refresh",
            "ERROR: [no_pool] There is no storage pool named service on hv1",
            "no_pool",
            "hv1: There is no storage pool named service on hv1",
        ),
        (
            "network_stop",
            "ERROR: [no_network] There is no network named service on hv1",
            "no_network",
            "hv1: There is no network named service on hv1",
        ),
    ],
)
def test_a_hosts_refusal_comes_back_with_its_code_and_the_host_named(
    runner, monkeypatch, action, answer, code, message
):
    use_client(monkeypatch, runner, {"hv1": {f"landscape.{action}": answer}})
    with pytest.raises(Refused) as refused:
        raised(getattr(runner, action)("hv1", "service"))
    assert (refused.value.code, refused.value.sentence) == (code, message)


def test_an_action_on_a_host_that_does_not_answer_is_unreachable(runner, monkeypatch):
    use_client(monkeypatch, runner, {})
    with pytest.raises(Refused) as refused:
        raised(runner.pool_stop("hv1", "images"))
    assert (refused.value.code, refused.value.sentence) == ("unreachable", "hv1: did not answer within 1 s")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("hv1", "../etc"), "is not a valid network name"),
        (("hv1", ""), "is not a valid network name"),
        (("hv 1", "service"), "is not a valid host name for host"),
        (("hv1",), "name"),
    ],
)
def test_bad_arguments_are_refused_before_any_host_is_asked(runner, monkeypatch, args, words):
    client = use_client(monkeypatch, runner, {"hv1": {"landscape.network_start": {"name": "x"}}})
    with pytest.raises(Invalid) as invalid:
        raised(runner.network_start(*args))
    assert words in invalid.value.sentence
    assert client.calls == []


def test_a_pool_name_is_checked_as_a_pool_name(runner, monkeypatch):
    use_client(monkeypatch, runner, {})
    with pytest.raises(Invalid) as invalid:
        raised(runner.pool_refresh("hv1", "a/b"))
    assert "is not a valid storage pool name" in invalid.value.sentence


def test_every_public_function_is_wrapped_and_documented(runner):
    public = [
        name
        for name, value in vars(runner).items()
        if inspect.isfunction(value) and not name.startswith("_") and value.__module__ == runner.__name__
    ]
    assert {"networks", "pools", *ACTIONS} <= set(public)
    for name in public:
        fun = getattr(runner, name)
        assert hasattr(fun, "signature"), f"landscape.{name} is not wrapped by brine.face"
        assert "CLI Example" in fun.__doc__
