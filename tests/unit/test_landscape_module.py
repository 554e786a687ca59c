"""
The host's ``landscape`` execution module as a Salt face, with hand-set dunders, reading libvirt's
``test:///default`` driver without changing it: the host's landscape pillar decides what is managed
(an invalid one manages nothing and says why), names are checked before libvirt is touched,
refusals come through coded. Changes (start, stop, refresh) are in
tests/functional/test_landscape_functional.py, through Salt's loader.
"""

import inspect
from unittest import mock

import pytest

from brine.errors import Invalid
from brine.errors import Refused
from support.loading import load

libvirt = pytest.importorskip("libvirt")

LANDSCAPE = {
    "networks": {"default": {"mode": "nat", "subnet": "192.168.122.0/24", "gateway": "192.168.122.1"}},
    "pools": {"default-pool": {"type": "dir", "path": "/default-pool"}},
}


@pytest.fixture
def module(monkeypatch):
    keep = libvirt.open("test:///default")  # the test driver keeps its state while one is open
    landscape = load("_modules/landscape.py")
    config_get = mock.Mock(return_value="test:///default")
    monkeypatch.setattr(landscape, "__salt__", {"config.get": config_get}, raising=False)
    monkeypatch.setattr(landscape, "__opts__", {"id": "hv1"}, raising=False)
    monkeypatch.setattr(landscape, "__grains__", {}, raising=False)
    monkeypatch.setattr(landscape, "__pillar__", {}, raising=False)
    yield landscape
    keep.close()


def test_it_loads_only_with_libvirt(module, monkeypatch):
    assert module.__virtual__() == "landscape"
    monkeypatch.setattr(module, "HAS_LIBVIRT", False)
    assert module.__virtual__()[0] is False


def test_without_a_landscape_nothing_is_managed(module):
    networks = module.networks()
    assert networks == {"networks": networks["networks"]}  # no landscape_error
    default = next(network for network in networks["networks"] if network["name"] == "default")
    assert (default["mode"], default["subnet"], default["managed"]) == ("nat", "192.168.122.0/24", False)
    pools = module.pools()["pools"]
    assert [pool["managed"] for pool in pools if pool["name"] == "default-pool"] == [False]


def test_what_the_hosts_landscape_picture_defines_is_managed(module, monkeypatch):
    monkeypatch.setattr(module, "__pillar__", {"landscape": LANDSCAPE}, raising=False)
    assert [n["managed"] for n in module.networks()["networks"] if n["name"] == "default"] == [True]
    assert [p["managed"] for p in module.pools()["pools"] if p["name"] == "default-pool"] == [True]


def test_the_picture_is_asked_for_this_host(module, monkeypatch):
    picture = mock.Mock(return_value={"networks": {}, "pools": {"default-pool": {}}})
    monkeypatch.setattr(module.landscape_picture, "host_picture", picture)
    monkeypatch.setattr(module, "__pillar__", {"landscape": LANDSCAPE}, raising=False)
    assert [p["managed"] for p in module.pools()["pools"] if p["name"] == "default-pool"] == [True]
    picture.assert_called_once_with(LANDSCAPE, "hv1")


def test_an_invalid_landscape_pillar_manages_nothing_and_the_answer_says_why(module, monkeypatch):
    monkeypatch.setattr(
        module, "__pillar__", {"landscape": {"networks": {"default": {"mode": "warp"}}}}, raising=False
    )
    networks = module.networks()
    assert "network default" in networks["landscape_error"] and "warp" in networks["landscape_error"]
    assert not any(network["managed"] for network in networks["networks"])
    pools = module.pools()
    assert pools["landscape_error"] == networks["landscape_error"]
    assert not any(pool["managed"] for pool in pools["pools"])


@pytest.mark.parametrize(
    "action", ["network_start", "network_stop", "pool_start", "pool_stop", "pool_refresh"]
)
@pytest.mark.parametrize("name", ["../etc", "a;rm -rf /", "", "-x", None])
def test_bad_names_are_refused_before_libvirt_is_touched(module, action, name):
    with pytest.raises(Invalid):
        getattr(module, action)(name)
    module.__salt__["config.get"].assert_not_called()


@pytest.mark.parametrize(
    ("action", "name", "code", "sentence"),
    [
        ("network_start", "default", "wrong_state", "The network default is already active on hv1"),
        (
            "pool_start",
            "default-pool",
            "wrong_state",
            "The storage pool default-pool is already active on hv1",
        ),
        ("network_stop", "brine-ghost", "no_network", "There is no network named brine-ghost on hv1"),
        ("pool_refresh", "brine-ghost", "no_pool", "There is no storage pool named brine-ghost on hv1"),
    ],
)
def test_refusals_come_through_with_their_code(module, action, name, code, sentence):
    with pytest.raises(Refused) as refused:
        getattr(module, action)(name)
    assert (refused.value.code, refused.value.sentence) == (code, sentence)


def test_libvirt_out_of_reach_is_libvirt_unavailable(module):
    module.__salt__["config.get"].return_value = "test:///no/such/file.xml"
    with pytest.raises(Refused) as refused:
        module.networks()
    assert refused.value.code == "libvirt_unavailable"
    assert refused.value.sentence.startswith(
        "Could not list the networks of this host: cannot connect to libvirt"
    )


def test_every_public_function_has_a_cli_example(module):
    public = [
        name
        for name, value in vars(module).items()
        if inspect.isfunction(value) and not name.startswith("_") and value.__module__ == module.__name__
    ]
    assert {
        "networks",
        "pools",
        "network_start",
        "network_stop",
        "pool_start",
        "pool_stop",
        "pool_refresh",
    } <= set(public)
    for name in public:
        assert "CLI Example" in getattr(module, name).__doc__, name
