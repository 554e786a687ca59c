"""brine.vcluster_settings: a site's brine:vcluster pillar checked field by field, never executed."""

import re
import time

import pytest

from brine import vcluster_settings as vs
from brine.errors import Invalid

PUBLIC = {"addresses": ["192.0.2.10"], "netmask": "255.255.255.0", "gateway": "192.0.2.1"}


def settings(**overrides):
    value = {"public": dict(PUBLIC)}
    for key, item in overrides.items():
        if key in vs.PUBLIC_KEYS:
            value["public"][key] = item
        else:
            value[key] = item
    return vs.site_settings(value)


def refused(words, **overrides):
    with pytest.raises(Invalid) as caught:
        settings(**overrides)
    assert caught.value.code == "invalid_argument"
    for word in [words] if isinstance(words, str) else words:
        assert word in caught.value.sentence, caught.value.sentence
    return caught.value.sentence


def test_the_least_a_site_writes_gets_the_documented_defaults():
    assert settings() == {
        "public": {
            "addresses": ["192.0.2.10"],
            "ranges": ["192.0.2.10"],
            "netmask": "255.255.255.0",
            "prefix": 24,
            "network": "192.0.2.0/24",
            "gateway": "192.0.2.1",
            "dns": [],
            "domain": None,
        },
        "private": {"subnets": "10.200.0.0/16", "prefix": 24, "vnis": [5000, 5999]},
        "reserved_cpus": {"*": 1},
        "placement": "largest-free-first",
    }


def test_a_full_site_is_read_into_canonical_form():
    value = {
        "public": {
            "addresses": ["192.0.2.10", " 192.0.2.20-192.0.2.22 "],
            "netmask": 24,
            "gateway": "192.0.2.1",
            "dns": ["192.0.2.53", "198.51.100.53"],
            "domain": "example.org",
        },
        "private": {"subnets": "172.16.0.0/20", "prefix": "/26", "vnis": "7000-7009"},
        "reserved_cpus": {"*": 2, "hv1": 4},
        "placement": "spread",
    }
    got = vs.site_settings(value)
    assert got["public"]["addresses"] == ["192.0.2.10", "192.0.2.20", "192.0.2.21", "192.0.2.22"]
    assert got["public"]["ranges"] == ["192.0.2.10", "192.0.2.20-192.0.2.22"]
    assert got["public"]["netmask"] == "255.255.255.0"
    assert got["public"]["dns"] == ["192.0.2.53", "198.51.100.53"]
    assert got["public"]["domain"] == "example.org"
    assert got["private"] == {"subnets": "172.16.0.0/20", "prefix": 26, "vnis": [7000, 7009]}
    assert got["reserved_cpus"] == {"*": 2, "hv1": 4}
    assert got["placement"] == "spread"
    assert vs.reserved_cpus(got, "hv1") == 4
    assert vs.reserved_cpus(got, "hv2") == 2


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "brine:vcluster is not set"),
        ([1], "brine:vcluster must be a mapping of public, private"),
        ({"public": PUBLIC, "vlans": "1-2"}, "brine:vcluster has unknown keys vlans"),
        ({}, "brine:vcluster:public is missing"),
        ({"public": {**PUBLIC, "gw": "192.0.2.1"}}, "brine:vcluster:public has unknown keys gw"),
        ({"public": PUBLIC, "private": {"vlans": 3}}, "brine:vcluster:private has unknown keys vlans"),
        ({"public": PUBLIC, "private": "10.0.0.0/8"}, "brine:vcluster:private must be a mapping"),
    ],
)
def test_the_shape_is_checked_and_unknown_keys_are_named(value, words):
    with pytest.raises(Invalid) as caught:
        vs.site_settings(value)
    assert words in caught.value.sentence


# ---- public addresses


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ("192.0.2.7", ["192.0.2.7"]),
        (["192.0.2.7"], ["192.0.2.7"]),
        (["192.0.2.7-192.0.2.7"], ["192.0.2.7"]),
        (["192.0.2.9-192.0.2.11", "192.0.2.3"], ["192.0.2.9", "192.0.2.10", "192.0.2.11", "192.0.2.3"]),
        (["10.0.0.254-10.0.1.1"], ["10.0.0.254", "10.0.0.255", "10.0.1.0", "10.0.1.1"]),
    ],
)
def test_addresses_and_ranges_expand_in_the_order_written(entries, expected):
    assert vs.expand_addresses(entries) == expected


def test_exactly_the_bound_of_public_addresses_is_accepted():
    assert len(vs.expand_addresses(["10.0.0.0-10.0.15.255"])) == vs.MAX_PUBLIC == 4096


@pytest.mark.parametrize(
    ("entries", "words"),
    [
        ([], "must list at least one"),
        (None, "must list at least one"),
        ([3232235530], "public:addresses[0] must be an IPv4 address or a range a.b.c.d-a.b.c.e as text"),
        (["192.0.2.300"], "public:addresses[0] must be an IPv4 address like 192.0.2.10, not '192.0.2.300'"),
        (["192.0.2.010"], "must be an IPv4 address"),
        (["2001:db8::1"], "must be an IPv4 address"),
        (["192.0.2.10-"], "must be an IPv4 address"),
        (["192.0.2.10-192.0.2.12-192.0.2.14"], "must be an IPv4 address"),
        (["192.0.2.20-192.0.2.10"], "'192.0.2.20-192.0.2.10' runs backwards"),
        (["192.0.2.1-192.0.2.5", "192.0.2.5"], "public:addresses[1] '192.0.2.5' repeats 192.0.2.5"),
        (["10.0.0.0-10.0.16.0"], "holds more than 4096 addresses"),
        (["10.0.0.0-10.0.15.255", "10.1.0.0"], "holds more than 4096 addresses (at '10.1.0.0')"),
        ([f"10.0.0.{i}" for i in range(250)] * 2, "has 500 entries: at most 256"),
    ],
)
def test_bad_addresses_are_refused_by_entry(entries, words):
    with pytest.raises(Invalid) as caught:
        vs.expand_addresses(entries)
    assert words in caught.value.sentence
    assert caught.value.sentence.startswith("brine:vcluster:public:addresses")


def test_the_whole_address_space_is_refused_without_expanding_it():
    started = time.monotonic()
    with pytest.raises(Invalid, match="more than 4096"):
        vs.expand_addresses(["0.0.0.0-255.255.255.255"])
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("netmask", "expected"),
    [("255.255.255.0", 24), (24, 24), ("24", 24), ("/24", 24), ("255.255.0.0", 16), ("255.255.255.240", 28)],
)
def test_a_netmask_or_prefix_length_is_read(netmask, expected):
    got = settings(netmask=netmask)["public"]
    assert got["prefix"] == expected
    assert got["network"].endswith(f"/{expected}")


@pytest.mark.parametrize(
    ("netmask", "words"),
    [
        (None, "public:netmask is missing"),
        ("0.0.0.255", "'0.0.0.255' is a host mask, not a netmask: write 255.255.255.0"),
        ("255.0.255.0", "must be a netmask like 255.255.255.0"),
        ("33", "must be a netmask"),
        (True, "must be a netmask"),
        (31, "must be a /8 to /30 network, not /31"),
        (4, "must be a /8 to /30 network, not /4"),
    ],
)
def test_bad_netmasks_are_refused(netmask, words):
    refused(words, netmask=netmask)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (
            {"addresses": ["192.0.2.10", "198.51.100.4"]},
            "public:addresses 198.51.100.4 is outside the public network 192.0.2.0/24",
        ),
        (
            {"addresses": ["192.0.2.0-192.0.2.3"]},
            "192.0.2.0 is the public network 192.0.2.0/24's own network",
        ),
        ({"addresses": ["192.0.2.250-192.0.2.255"]}, "192.0.2.255 is the public network"),
        ({"gateway": None}, "public:gateway is missing"),
        ({"gateway": "198.51.100.1"}, "public:gateway 198.51.100.1 is outside the public network"),
        ({"gateway": "192.0.2.10"}, "public:gateway 192.0.2.10 is also in public:addresses"),
        ({"gateway": 3221225985}, "public:gateway must be an IPv4 address as text"),
    ],
)
def test_addresses_and_gateway_must_sit_in_the_public_network(overrides, words):
    refused(words, **overrides)


def test_dns_takes_one_to_three_addresses_and_a_domain_a_dns_name():
    assert settings(dns="192.0.2.53")["public"]["dns"] == ["192.0.2.53"]
    assert settings(dns=["192.0.2.53"] * 3)["public"]["dns"] == ["192.0.2.53"] * 3
    refused("public:dns must be a list of at most 3", dns=["192.0.2.53"] * 4)
    refused("public:dns[1] must be an IPv4 address", dns=["192.0.2.53", "ns1"])
    assert settings(domain="lab.example.org")["public"]["domain"] == "lab.example.org"
    for bad in ("-bad.org", "a..b", "a_b.org", "x" * 64 + ".org", "a." * 101, 7):
        refused("public:domain must be a DNS name", domain=bad)


# ---- the private side


@pytest.mark.parametrize(
    ("private", "words"),
    [
        ({"subnets": "100.64.0.0/16"}, "100.64.0.0/16 is not private address space"),
        ({"subnets": "127.0.0.0/16"}, "is not private address space"),
        ({"subnets": "10.200.0.1/16"}, "host bits"),
        ({"subnets": 10}, "must be a network like 10.200.0.0/16 as text"),
        ({"subnets": "10.200.0.0/25"}, "10.200.0.0/25 cannot be carved into /24 subnets"),
        ({"subnets": "10.0.0.0/8", "prefix": 29}, "holds more than 65536 /29 subnets"),
        ({"prefix": 15}, "private:prefix must be from 16 to 29, not 15"),
        ({"prefix": 30}, "private:prefix must be from 16 to 29, not 30"),
        ({"prefix": "big"}, "private:prefix must be a whole number"),
        ({"prefix": True}, "private:prefix must be a whole number"),
        ({"vnis": "0-10"}, "private:vnis must be from 1 to 16777215, not 0"),
        ({"vnis": "5000-16777216"}, "must be from 1 to 16777215, not 16777216"),
        ({"vnis": "5999-5000"}, "'5999-5000' runs backwards"),
        ({"vnis": "many"}, "private:vnis must be a whole number"),
        ({"vnis": [5000, 5999]}, "private:vnis must be a whole number"),
    ],
)
def test_bad_private_settings_are_refused(private, words):
    refused(words, private=private)


def test_the_private_space_may_not_overlap_the_public_network():
    value = {
        "public": {"addresses": ["10.200.5.10"], "netmask": 24, "gateway": "10.200.5.1"},
        "private": {"subnets": "10.200.0.0/16"},
    }
    with pytest.raises(Invalid, match=re.escape("10.200.0.0/16 overlaps the public network 10.200.5.0/24")):
        vs.site_settings(value)


@pytest.mark.parametrize(
    ("value", "expected"), [(7000, (7000, 7000)), ("7000", (7000, 7000)), ("1-2", (1, 2))]
)
def test_vxlan_ids_are_a_range_or_one(value, expected):
    assert vs.vni_range(value) == expected


def test_a_carvable_space_keeps_its_settings_and_unset_keys_take_defaults():
    got = settings(private={"subnets": "192.168.0.0/16", "prefix": 29, "vnis": None})["private"]
    assert got == {"subnets": "192.168.0.0/16", "prefix": 29, "vnis": [5000, 5999]}
    assert vs.subnet_pool("10.0.0.0/8", 24).num_addresses == 2**24


# ---- reservations and placement


def test_reserved_cpus_default_to_one_for_every_host_not_named():
    got = settings(reserved_cpus={"hv1": 3})
    assert got["reserved_cpus"] == {"*": 1, "hv1": 3}
    assert vs.reserved_cpus(got, "hv2") == 1
    assert settings(reserved_cpus={"*": 0})["reserved_cpus"] == {"*": 0}


@pytest.mark.parametrize(
    ("reserved", "words"),
    [
        ({"hv 1": 2}, "has 'hv 1', which is neither a host name nor \"*\""),
        ({"../hv1": 2}, "neither a host name"),
        ({"hv1": -1}, "reserved_cpus:hv1 must be from 0 to 1024 CPUs, not -1"),
        ({"hv1": 1025}, "must be from 0 to 1024 CPUs, not 1025"),
        ({"hv1": True}, "reserved_cpus:hv1 must be a whole number CPUs"),
        ({"hv1": 1.5}, "must be a whole number"),
        ([1], "must map host names"),
        ({f"hv{i}": 1 for i in range(1025)}, "has 1025 entries: at most 1024"),
    ],
)
def test_bad_reservations_are_refused(reserved, words):
    refused(words, reserved_cpus=reserved)


def test_placement_is_one_of_the_two_policies():
    assert settings(placement="spread")["placement"] == "spread"
    assert settings(placement=None)["placement"] == "largest-free-first"
    refused("placement must be largest-free-first or spread, not 'random'", placement="random")
