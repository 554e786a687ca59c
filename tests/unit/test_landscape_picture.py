"""
The landscape's library (docs/landscape.md: Layers, Fields, The library's picture; issue 11, items 1 and 2
and its bad-input rules): the merge order, group fallback, every derived value, every refusal,
and the worked landscape of pillar/pillar.example as each host sees it.
"""

import copy
import hashlib

import pytest
import yaml

from brine import landscape
from brine import validate
from brine.errors import Invalid
from brine.errors import Refused
from support.paths import REPO

SERVICE = {
    "mode": "nat",
    "domain": "svc.example.com",
    "subnet": "192.168.155.0/24",
    "gateway": "192.168.155.1",
    "dhcp": {"start": "192.168.155.200", "end": "192.168.155.250"},
}
BASE = {
    "networks": {"service": SERVICE},
    "pools": {"images": {"type": "dir", "path": "/var/lib/libvirt/images"}},
    "guests": {
        "web-1": {
            "host": "hv1",
            "ip": "192.168.155.11",
            "interfaces": [{"network": "service"}],
            "disks": [{"pool": "images", "size": 10}],
        },
        "web-2": {"host": "hv2", "ip": "192.168.155.12", "interfaces": [{"network": "service"}]},
    },
}


def layers(over=None):
    """The base landscape with ``over`` merged onto it (null removes)."""
    return landscape.merge(BASE, over or {})


def guest_of(over, name="web-1"):
    return landscape.guest(layers(over), name)


def refused(over, match):
    with pytest.raises(Invalid, match=match) as caught:
        landscape.picture(layers(over))
    assert caught.value.code == "invalid_argument"
    assert caught.value.sentence.startswith("landscape: ")
    return caught.value.sentence


def mac_of(name, index):
    digest = hashlib.sha256(f"{name}/{index}".encode()).hexdigest()
    return f"52:54:00:{digest[0:2]}:{digest[2:4]}:{digest[4:6]}"


# -- merge and group --------------------------------------------------------------------------
def test_merge_is_recursive_the_later_wins_lists_are_replaced_and_null_removes():
    base = {"a": {"x": 1, "y": [1, 2], "z": {"deep": 1}}, "b": 1, "c": 3}
    over = {"a": {"y": [3], "z": {"more": 2}, "new": {"n": None, "m": 1}}, "b": None, "c": {"k": 1}}
    before = copy.deepcopy((base, over))
    merged = landscape.merge(base, over)
    assert merged == {"a": {"x": 1, "y": [3], "z": {"deep": 1, "more": 2}, "new": {"m": 1}}, "c": {"k": 1}}
    assert (base, over) == before
    merged["a"]["y"].append(9)
    merged["a"]["x"] = 7
    assert (base, over) == before


def test_merge_copies_what_it_takes_from_either_side():
    base, over = {"l": [[1]]}, {"m": [{"k": 1}]}
    merged = landscape.merge(base, over)
    merged["l"][0].append(2)
    merged["m"][0]["k"] = 2
    assert base == {"l": [[1]]} and over == {"m": [{"k": 1}]}


@pytest.mark.parametrize(
    ("name", "explicit", "group"),
    [
        ("web-2", None, "web"),
        ("satellite", None, "satellite"),
        ("rhel-6-cluster-1", None, "rhel-6-cluster"),
        ("web-12", None, "web"),
        ("web2", None, "web2"),
        ("web-2", "front", "front"),
    ],
)
def test_group_of_is_the_explicit_group_else_the_name_without_a_trailing_number(name, explicit, group):
    assert landscape.group_of(name, explicit) == group


# -- merge order ------------------------------------------------------------------------------
def test_a_guest_merges_common_every_host_its_host_its_group_then_itself():
    over = {
        "common": {"vars": {"a": "common", "b": "common", "c": "common", "d": "common", "e": "common"}},
        "hosts": {
            "*": {"vars": {"b": "every", "c": "every", "d": "every", "e": "every"}},
            "hv1": {"vars": {"c": "hv1", "d": "hv1", "e": "hv1"}},
            "hv2": {"vars": {"c": "hv2", "d": "hv2", "e": "hv2"}},
        },
        "groups": {"web": {"vars": {"d": "group", "e": "group"}}},
        "guests": {"web-1": {"vars": {"e": "guest"}}},
    }
    assert guest_of(over)["vars"] == {"a": "common", "b": "every", "c": "hv1", "d": "group", "e": "guest"}
    assert guest_of(over, "web-2")["vars"] == {
        "a": "common",
        "b": "every",
        "c": "hv2",
        "d": "group",
        "e": "group",
    }


def test_a_network_or_pool_merges_common_every_host_the_host_then_itself():
    over = {
        "common": {"domain": "common.example", "bridge": "virbr-c", "forward_dev": "c0", "autostart": False},
        "hosts": {
            "*": {"bridge": "virbr-all", "forward_dev": "all0", "domain": "all.example", "path": "/srv/all"},
            "hv1": {"forward_dev": "hv1eth", "domain": "hv1.example", "path": "/srv/hv1"},
        },
        "pools": {"other": {"type": "dir", "path": "/srv/other"}, "images": {"path": None}},
    }
    hv1, hv2 = (landscape.host_picture(layers(over), host) for host in ("hv1", "hv2"))
    service = hv1["networks"]["service"]
    assert (service["domain"], service["bridge"], service["forward_dev"], service["autostart"]) == (
        "svc.example.com",
        "virbr-all",
        "hv1eth",
        False,
    )
    assert hv2["networks"]["service"]["forward_dev"] == "all0"
    assert hv1["pools"]["images"]["path"] == "/srv/hv1" and hv2["pools"]["images"]["path"] == "/srv/all"
    assert hv1["pools"]["other"]["path"] == "/srv/other"


def test_common_and_host_layers_may_carry_anything_and_objects_take_only_their_fields():
    over = {
        "common": {"ks_repos": [1], "netmask": "255.255.255.0", "mode": "nat", "memory": 1024},
        "hosts": {"hv1": {"isomntdir": "/srv/content"}},
    }
    picture = landscape.host_picture(layers(over), "hv1")
    assert picture["guests"]["web-1"]["memory"] == 1024
    assert picture["guests"]["web-1"]["vars"] == {}
    assert "memory" not in picture["networks"]["service"]


def test_lists_are_replaced_whole_and_null_removes_a_key():
    over = {
        "common": {"description": "every guest", "memory": 2048},
        "groups": {
            "web": {
                "disks": [{"pool": "images", "size": 1}, {"pool": "images", "size": 2}],
                "interfaces": [{"network": "service"}, {"network": "service", "model": "e1000"}],
            }
        },
        "guests": {"web-1": {"disks": [{"pool": "images", "size": 3}]}},
    }
    landscape_layers = layers(over)
    # null in the guest's own layer removes what common gave
    landscape_layers["guests"]["web-1"].update(description=None, memory=None)
    web1, web2 = landscape.guest(landscape_layers, "web-1"), landscape.guest(landscape_layers, "web-2")
    assert [disk["size_gib"] for disk in web1["disks"]] == [3]
    assert [disk["size_gib"] for disk in web2["disks"]] == [1, 2]
    assert len(web1["interfaces"]) == 1 and len(web2["interfaces"]) == 1
    assert (web1["description"], web1["memory"]) == (None, 512)
    assert (web2["description"], web2["memory"]) == ("every guest", 2048)


def test_the_group_is_explicit_else_the_name_without_its_number_and_a_missing_group_adds_nothing():
    over = {
        "groups": {"web": {"memory": 1024}, "front": {"memory": 4096}},
        "guests": {"web-2": {"group": "front"}, "satellite": {"host": "hv1"}},
    }
    web1, web2, satellite = (guest_of(over, name) for name in ("web-1", "web-2", "satellite"))
    assert (web1["group"], web1["memory"]) == ("web", 1024)
    assert (web2["group"], web2["memory"]) == ("front", 4096)
    assert (satellite["group"], satellite["memory"]) == ("satellite", 512)


def test_a_guest_may_take_its_host_from_its_group_and_then_that_hosts_layer():
    over = {
        "hosts": {"hv2": {"vcpus": 4}},
        "groups": {"db": {"host": "hv2"}},
        "guests": {"db-1": {"interfaces": [{"network": "service", "ip": "192.168.155.21"}]}},
    }
    db1 = guest_of(over, "db-1")
    assert (db1["host"], db1["vcpus"]) == ("hv2", 4)
    assert "db-1" in landscape.host_picture(layers(over), "hv2")["guests"]


# -- where networks and pools are -------------------------------------------------------------
def test_networks_and_pools_are_on_every_host_unless_their_hosts_list_says_otherwise():
    over = {
        "networks": {
            "backend": {
                "mode": "isolated",
                "subnet": "10.0.20.0/24",
                "gateway": "10.0.20.1",
                "hosts": ["hv*"],
            },
            "lan": {"mode": "bridge", "bridge": "br0", "hosts": ["hv1"]},
        },
        "pools": {"shared": {"type": "dir", "path": "/srv/shared", "hosts": ["hv2", "hv3"]}},
    }
    hv1, hv2 = (landscape.host_picture(layers(over), host) for host in ("hv1", "hv2"))
    assert sorted(hv1["networks"]) == ["backend", "lan", "service"]
    assert sorted(hv2["networks"]) == ["backend", "service"]
    assert (sorted(hv1["pools"]), sorted(hv2["pools"])) == (["images"], ["images", "shared"])
    other = landscape.host_picture(layers(over), "kvm9")
    assert (sorted(other["networks"]), sorted(other["pools"]), other["guests"]) == (
        ["service"],
        ["images"],
        {},
    )
    whole = landscape.picture(layers(over))
    assert whole["hosts"] == ["hv1", "hv2", "hv3"]
    assert whole["networks"] == {
        "backend": {"hosts": ["hv*"], "on": ["hv1", "hv2", "hv3"]},
        "lan": {"hosts": ["hv1"], "on": ["hv1"]},
        "service": {"hosts": None, "on": ["hv1", "hv2", "hv3"]},
    }
    assert whole["pools"]["shared"] == {"hosts": ["hv2", "hv3"], "on": ["hv2", "hv3"]}
    assert sorted(whole["guests"]) == ["web-1", "web-2"]


def test_the_lookups_refuse_what_the_landscape_does_not_have():
    assert landscape.guest(layers(), "web-2")["host"] == "hv2"
    assert landscape.network(layers(), "service", "hv1")["name"] == "service"
    assert landscape.pool(layers(), "images", "hv2")["type"] == "dir"
    for call, code in (
        (lambda: landscape.guest(layers(), "web-9"), "no_vm"),
        (lambda: landscape.network(layers(), "nowhere", "hv1"), "no_network"),
        (
            lambda: landscape.pool(
                layers({"pools": {"more": {"type": "dir", "path": "/x", "hosts": ["hv2"]}}}), "more", "hv1"
            ),
            "no_pool",
        ),
    ):
        with pytest.raises(Refused) as caught:
            call()
        assert caught.value.code == code
    with pytest.raises(Invalid, match="not a valid host name"):
        landscape.host_picture(layers(), "../hv1")


def test_an_empty_landscape_has_nothing():
    assert landscape.host_picture(None, "hv1") == {"host": "hv1", "networks": {}, "pools": {}, "guests": {}}
    assert landscape.picture({}) == {"hosts": [], "networks": {}, "pools": {}, "guests": {}}


# -- defaults and derived values --------------------------------------------------------------
def test_the_defaults_of_each_kind():
    over = {
        "pools": {
            "nfs": {
                "type": "netfs",
                "path": "/srv/nfs",
                "source": {"host": "nas.example.com", "dir": "/export"},
            },
            "vg": {"type": "logical", "volumes": [{"name": "lv1", "size": 1}]},
            "vg2": {"type": "logical", "source": {"vg": "data", "devices": ["/dev/sdb"]}},
        }
    }
    picture = landscape.host_picture(layers(over), "hv1")
    net = picture["networks"]["service"]
    assert (net["autostart"], net["bridge"], net["forward_dev"], net["dns_hosts"]) == (True, None, None, [])
    pools = picture["pools"]
    assert (pools["images"]["build"], pools["images"]["autostart"], pools["images"]["source"]) == (
        True,
        True,
        None,
    )
    assert pools["nfs"]["build"] is True and pools["nfs"]["source"]["format"] == "nfs"
    assert (pools["vg"]["build"], pools["vg"]["path"], pools["vg"]["source"]) == (
        False,
        "/dev/vg",
        {"vg": "vg", "devices": []},
    )
    assert pools["vg"]["volumes"] == [{"name": "lv1", "size_gib": 1, "format": "raw"}]
    assert (pools["vg2"]["build"], pools["vg2"]["path"]) == (True, "/dev/data")
    web1 = picture["guests"]["web-1"]
    assert (web1["memory"], web1["vcpus"], web1["start"], web1["autostart"], web1["boot"]) == (
        512,
        1,
        False,
        False,
        None,
    )
    assert (web1["hostname"], web1["description"], web1["vars"]) == ("web-1", None, {})
    assert web1["interfaces"][0]["model"] == "virtio"
    assert web1["disks"] == [
        {
            "pool": "images",
            "vol": "web-1-disk0.qcow2",
            "path": None,
            "format": "qcow2",
            "size_gib": 10,
            "bus": "virtio",
            "cache": "none",
        }
    ]


def test_a_disk_on_a_pool_without_vol_is_named_after_the_guest_and_its_index():
    over = {
        "pools": {"vg": {"type": "logical", "source": {"devices": ["/dev/sdb"]}}},
        "guests": {
            "web-1": {
                "disks": [
                    {"path": "/srv/web-1.img", "format": "raw"},
                    {"pool": "images"},
                    {"pool": "images", "format": "raw"},
                    {"pool": "images", "vol": "data.qcow2", "size": 5},
                    {"pool": "vg"},
                ]
            }
        },
    }
    disks = guest_of(over)["disks"]
    assert [(d["pool"], d["vol"], d["path"], d["format"]) for d in disks] == [
        (None, None, "/srv/web-1.img", "raw"),
        ("images", "web-1-disk1.qcow2", None, "qcow2"),
        ("images", "web-1-disk2.img", None, "raw"),
        ("images", "data.qcow2", None, "qcow2"),
        ("vg", "web-1-disk4.img", None, "raw"),
    ]
    assert [d["size_gib"] for d in disks] == [None, None, None, 5, None]


def test_the_fqdn_is_the_hostname_in_the_first_nics_network_domain_unless_given():
    over = {
        "networks": {
            "backend": {
                "mode": "isolated",
                "domain": "be.example.com",
                "subnet": "10.0.20.0/24",
                "gateway": "10.0.20.1",
            }
        },
        "guests": {
            "web-2": {"hostname": "www2"},
            "db-1": {
                "host": "hv1",
                "interfaces": [{"network": "backend"}, {"network": "service"}],
            },
            "lb-1": {"host": "hv1", "fqdn": "lb.example.org", "interfaces": [{"network": "service"}]},
            "br-1": {"host": "hv1", "interfaces": [{"bridge": "br0"}, {"network": "service"}]},
            "solo-1": {"host": "hv1"},
        },
    }
    names = {name: guest_of(over, name) for name in ("web-1", "web-2", "db-1", "lb-1", "br-1", "solo-1")}
    assert {name: (g["hostname"], g["fqdn"]) for name, g in names.items()} == {
        "web-1": ("web-1", "web-1.svc.example.com"),
        "web-2": ("www2", "www2.svc.example.com"),
        "db-1": ("db-1", "db-1.be.example.com"),
        "lb-1": ("lb-1", "lb.example.org"),
        "br-1": ("br-1", None),
        "solo-1": ("solo-1", None),
    }


def test_a_derived_fqdn_over_64_characters_is_refused():
    long_domain = "a" * 50 + ".example.com"
    over = {"networks": {"service": {"domain": long_domain}}}
    sentence = refused(over, "fqdn")
    assert sentence == (
        f"landscape: guest web-1: fqdn web-1.{long_domain} is 68 characters: at most 64 "
        "(give a shorter hostname or an fqdn)"
    )
    over["guests"] = {"web-1": {"fqdn": "web-1.example.com"}, "web-2": {"fqdn": "web-2.example.com"}}
    assert guest_of(over)["fqdn"] == "web-1.example.com"
    refused({"guests": {"web-1": {"fqdn": "x" * 60 + ".example"}}}, "fqdn .* 68 characters: at most 64")


def test_the_only_nic_inherits_the_guests_ip_and_fqdn_and_two_nics_do_not():
    over = {
        "guests": {
            "web-2": {
                "interfaces": [
                    {"network": "service", "ip": "192.168.155.22"},
                    {"network": "service", "ip": "192.168.155.23", "fqdn": "web-2b.svc.example.com"},
                ]
            }
        }
    }
    web1 = guest_of(over)["interfaces"]
    assert [(nic["ip"], nic["fqdn"]) for nic in web1] == [("192.168.155.11", "web-1.svc.example.com")]
    web2 = guest_of(over, "web-2")["interfaces"]
    assert [(nic["ip"], nic["fqdn"]) for nic in web2] == [
        ("192.168.155.22", None),
        ("192.168.155.23", "web-2b.svc.example.com"),
    ]
    own = {
        "guests": {"web-1": {"interfaces": [{"network": "service", "ip": "192.168.155.99", "fqdn": "x.y"}]}}
    }
    assert [(nic["ip"], nic["fqdn"]) for nic in guest_of(own)["interfaces"]] == [("192.168.155.99", "x.y")]


def test_macs_are_derived_stably_per_guest_and_nic_and_given_ones_are_lower_cased():
    over = {
        "guests": {
            "web-2": {
                "interfaces": [
                    {"network": "service", "mac": "52:54:00:AB:CD:EF"},
                    {"network": "service"},
                    {"bridge": "br0"},
                ]
            }
        }
    }
    first, second = landscape.picture(layers(over)), landscape.picture(copy.deepcopy(layers(over)))
    assert first == second
    web1 = [nic["mac"] for nic in first["guests"]["web-1"]["interfaces"]]
    web2 = [nic["mac"] for nic in first["guests"]["web-2"]["interfaces"]]
    assert web1 == [mac_of("web-1", 0)] and web2 == [
        "52:54:00:ab:cd:ef",
        mac_of("web-2", 1),
        mac_of("web-2", 2),
    ]
    assert len({web1[0], *web2}) == 4
    assert mac_of("web-1", 0) != mac_of("web-2", 0) != mac_of("web-2", 1)


def test_mac_none_leaves_the_mac_to_libvirt_and_the_nic_out_of_dhcp():
    over = {"guests": {"web-2": {"interfaces": [{"network": "service", "mac": "none"}]}}}
    picture = landscape.host_picture(layers(over), "hv1")
    assert picture["networks"]["service"]["static_hosts"] == [
        {"mac": mac_of("web-1", 0), "ip": "192.168.155.11", "name": "web-1.svc.example.com", "guest": "web-1"}
    ]
    assert [entry["guest"] for entry in picture["networks"]["service"]["dns_entries"]] == ["web-1", "web-2"]
    assert landscape.guest(layers(over), "web-2")["interfaces"][0]["mac"] is None
    assert landscape.guest(
        layers({"guests": {"web-2": {"interfaces": [{"network": "service", "mac": "NONE"}]}}}), "web-2"
    )


def test_static_hosts_and_dns_entries_gather_every_guest_on_the_network_on_any_host_sorted_by_address():
    over = {
        "networks": {"lan": {"mode": "bridge", "bridge": "br0"}},
        "guests": {
            "web-1": {"ip": "192.168.155.100"},
            "web-2": {"ip": "192.168.155.20"},
            "db-1": {
                "host": "hv2",
                "interfaces": [
                    {"network": "service", "ip": "192.168.155.9", "hostname": "db"},
                    {"network": "lan", "ip": "203.0.113.5", "fqdn": "db.example.com"},
                ],
            },
            "solo-1": {"host": "hv2", "interfaces": [{"network": "service"}]},
        },
    }
    expected_static = [
        {"mac": mac_of("db-1", 0), "ip": "192.168.155.9", "name": "db", "guest": "db-1"},
        {
            "mac": mac_of("web-2", 0),
            "ip": "192.168.155.20",
            "name": "web-2.svc.example.com",
            "guest": "web-2",
        },
        {
            "mac": mac_of("web-1", 0),
            "ip": "192.168.155.100",
            "name": "web-1.svc.example.com",
            "guest": "web-1",
        },
    ]
    expected_dns = [
        {"ip": "192.168.155.20", "hostnames": ["web-2.svc.example.com"], "guest": "web-2"},
        {"ip": "192.168.155.100", "hostnames": ["web-1.svc.example.com"], "guest": "web-1"},
    ]
    for host in ("hv1", "hv2", "hv7"):
        net = landscape.host_picture(layers(over), host)["networks"]["service"]
        assert net["static_hosts"] == expected_static
        assert net["dns_entries"] == expected_dns
    lan = landscape.host_picture(layers(over), "hv2")["networks"]["lan"]
    assert (lan["static_hosts"], lan["dns_entries"]) == ([], [])


# -- refusals: addresses, duplicates, overlaps ------------------------------------------------
def test_a_duplicate_ip_in_a_network_names_both_guests():
    sentence = refused({"guests": {"web-2": {"ip": "192.168.155.11"}}}, "both have")
    assert sentence == "landscape: guests web-1 and web-2 both have 192.168.155.11 on network service"
    twice = {
        "guests": {
            "web-2": {
                "interfaces": [
                    {"network": "service", "ip": "192.168.155.30"},
                    {"network": "service", "ip": "192.168.155.30"},
                ]
            }
        }
    }
    assert refused(twice, "twice") == "landscape: guest web-2 has 192.168.155.30 twice on network service"


def test_the_same_ip_on_two_networks_is_no_duplicate():
    over = {
        "networks": {
            "other": {"mode": "isolated", "subnet": "10.1.0.0/24", "gateway": "10.1.0.1", "hosts": ["hv2"]}
        },
        "guests": {"web-2": {"interfaces": [{"network": "other", "ip": "10.1.0.5"}]}},
    }
    over["networks"]["service2"] = {
        "mode": "isolated",
        "subnet": "10.1.0.0/24",
        "gateway": "10.1.0.1",
        "hosts": ["hv1"],
    }
    over["guests"]["web-1"] = {"interfaces": [{"network": "service2", "ip": "10.1.0.5"}]}
    assert landscape.guest(layers(over), "web-1")["interfaces"][0]["ip"] == "10.1.0.5"


def test_a_duplicate_mac_in_a_network_or_anywhere_in_the_landscape_names_both_guests():
    same = "52:54:00:00:00:01"
    in_network = {
        "guests": {
            "web-1": {"interfaces": [{"network": "service", "mac": same}]},
            "web-2": {"interfaces": [{"network": "service", "mac": same.upper()}]},
        }
    }
    assert (
        refused(in_network, "MAC")
        == "landscape: guests web-1 and web-2 both have the MAC 52:54:00:00:00:01 on network service"
    )
    anywhere = {
        "guests": {
            "web-1": {"interfaces": [{"network": "service", "mac": same}]},
            "web-2": {"interfaces": [{"bridge": "br0", "mac": same}]},
        }
    }
    assert refused(anywhere, "MAC") == "landscape: guests web-1 and web-2 both have the MAC 52:54:00:00:00:01"


@pytest.mark.parametrize(
    ("ip", "problem"),
    [
        ("10.9.9.9", "is outside network service's subnet 192.168.155.0/24 on hv1"),
        ("192.168.155.0", "is network service's network address on hv1"),
        ("192.168.155.255", "is network service's broadcast address on hv1"),
        ("192.168.155.1", "is network service's gateway address on hv1"),
        (
            "192.168.155.200",
            "is inside network service's DHCP range 192.168.155.200-192.168.155.250 on hv1: "
            "a static address must be outside it",
        ),
        ("192.168.155.250", "is inside network service's DHCP range"),
    ],
)
def test_a_static_address_must_be_a_usable_address_outside_the_dhcp_range(ip, problem):
    sentence = refused({"guests": {"web-1": {"ip": ip}}}, "interfaces")
    assert sentence.startswith(f"landscape: guest web-1: interfaces[0].ip {ip} {problem}")


def test_a_static_address_is_checked_against_the_network_on_every_host_it_is_defined():
    over = {
        "networks": {"service": {"dhcp": None}},
        "hosts": {
            "hv1": {"dhcp": {"start": "192.168.155.200", "end": "192.168.155.250"}},
            "hv2": {"dhcp": {"start": "192.168.155.10", "end": "192.168.155.20"}},
        },
    }
    assert refused(over, "DHCP range").endswith(
        "192.168.155.10-192.168.155.20 on hv2: a static address must be outside it"
    )


@pytest.mark.parametrize(
    ("network", "match"),
    [
        ({"gateway": "10.0.0.1"}, "network service: gateway 10.0.0.1 is outside the subnet 192.168.155.0/24"),
        ({"gateway": "192.168.155.0"}, "gateway 192.168.155.0 is the subnet's network address"),
        ({"gateway": "192.168.155.210"}, r"gateway 192.168.155.210 is inside the DHCP range"),
        (
            {"dhcp": {"start": "192.168.156.1", "end": "192.168.155.250"}},
            r"dhcp.start 192.168.156.1 is outside",
        ),
        ({"dhcp": {"start": "192.168.155.200", "end": "192.168.155.255"}}, r"dhcp.end .* broadcast address"),
        (
            {"dhcp": {"start": "192.168.155.250", "end": "192.168.155.200"}},
            r"dhcp starts at 192.168.155.250, after",
        ),
        ({"dhcp": {"start": "192.168.155.200", "end": None}}, "dhcp needs both start and end"),
        ({"dhcp": {"start": "192.168.155.200", "end": "x"}}, "dhcp.end must be an IPv4 address"),
        ({"dhcp": {"start": "192.168.155.200", "end": "192.168.155.201", "size": 2}}, "unknown key 'size'"),
        ({"gateway": None}, "dhcp needs the gateway"),
        ({"subnet": None, "dhcp": None}, "gateway needs the network's subnet"),
        ({"subnet": "192.168.155.1/24"}, "subnet must be an IPv4 network"),
        ({"subnet": "192.168.155.0"}, "subnet must be an IPv4 network in CIDR form"),
        ({"subnet": "10.0.0.0/31", "gateway": None, "dhcp": None}, "too small"),
        ({"mode": None}, "mode is required"),
        ({"mode": "open"}, "mode must be one of nat, route, isolated, bridge"),
        ({"bridge": "a-very-long-bridge-name"}, "bridge must be a network device name"),
        ({"domain": "bad_domain"}, "domain must be a DNS name"),
        ({"dns_hosts": [{"ip": "192.168.155.1"}]}, r"dns_hosts\[0\] needs an ip and at least one hostname"),
        ({"dns_hosts": [{"ip": "192.168.155.1", "hostnames": ["a b"]}]}, "hostnames must be a DNS name"),
        ({"dns_hosts": {"ip": "192.168.155.1"}}, "dns_hosts must be a list"),
        ({"autostart": "maybe"}, "autostart must be true or false"),
        ({"hosts": "hv1"}, "hosts must be a list of minion ids or globs"),
        ({"hosts": ["hv1; rm"]}, "is not a minion id or a glob"),
    ],
)
def test_a_networks_own_fields_are_checked(network, match):
    sentence = refused({"networks": {"service": network}}, match)
    assert sentence.startswith("landscape: network service")


@pytest.mark.parametrize("field", ["subnet", "gateway", "dhcp"])
def test_a_bridge_mode_network_has_no_addresses_of_its_own(field):
    over = {"networks": {"lan": {"mode": "bridge", "bridge": "br0", field: SERVICE[field]}}}
    assert refused(over, "bridge-mode") == (
        f"landscape: network lan: {field} is not for a bridge-mode network: "
        "the host's LAN gives its addresses"
    )
    assert refused({"networks": {"lan": {"mode": "bridge"}}}, "bridge is required in bridge mode")


def test_a_forward_device_counts_for_nat_and_route_only():
    over = {
        "hosts": {"*": {"forward_dev": "eno1"}},
        "networks": {
            "lan": {"mode": "bridge", "bridge": "br0"},
            "routed": {"mode": "route", "subnet": "10.0.1.0/24", "gateway": "10.0.1.1"},
            "closed": {"mode": "isolated"},
        },
    }
    nets = landscape.host_picture(layers(over), "hv1")["networks"]
    assert {name: net["forward_dev"] for name, net in nets.items()} == {
        "closed": None,
        "lan": None,
        "routed": "eno1",
        "service": "eno1",
    }


def test_overlapping_subnets_of_two_networks_on_one_host_are_refused():
    over = {"networks": {"other": {"mode": "isolated", "subnet": "192.168.0.0/16", "gateway": "192.168.0.1"}}}
    assert refused(over, "overlap") == (
        "landscape: networks other (192.168.0.0/16) and service (192.168.155.0/24) overlap on hv1: "
        "give them separate subnets"
    )
    over["networks"]["other"]["hosts"] = ["hv3"]
    over["networks"]["service"] = {"hosts": ["hv1", "hv2"]}
    assert landscape.picture(layers(over))["networks"]["other"]["on"] == ["hv3"]
    over["networks"]["other"]["hosts"] = ["hv[23]"]
    assert refused(over, "overlap").endswith("overlap on hv2: give them separate subnets")


def test_overlapping_networks_defined_everywhere_are_refused_with_no_host_named():
    landscape_layers = {
        "networks": {"a": {"mode": "isolated", "subnet": "10.0.0.0/24", "gateway": "10.0.0.1"}}
    }
    landscape_layers["networks"]["b"] = {
        "mode": "isolated",
        "subnet": "10.0.0.128/25",
        "gateway": "10.0.0.129",
    }
    with pytest.raises(Invalid, match="overlap on every host"):
        landscape.picture(landscape_layers)


def test_two_networks_may_not_share_a_bridge_of_libvirts_nor_two_pools_a_folder():
    over = {"networks": {"service": {"bridge": "virbr5"}, "other": {"mode": "isolated", "bridge": "virbr5"}}}
    assert (
        refused(over, "bridge virbr5")
        == "landscape: networks other and service both use the bridge virbr5 on hv1"
    )
    shared = {
        "networks": {"a": {"mode": "bridge", "bridge": "br0"}, "b": {"mode": "bridge", "bridge": "br0"}}
    }
    assert sorted(landscape.host_picture(layers(shared), "hv1")["networks"]) == ["a", "b", "service"]
    pools = {"pools": {"more": {"type": "dir", "path": "/var/lib/libvirt/images"}}}
    assert (
        refused(pools, "both use")
        == "landscape: pools images and more both use /var/lib/libvirt/images on hv1"
    )


# -- refusals: references and shapes ----------------------------------------------------------
@pytest.mark.parametrize(
    ("nic", "match"),
    [
        (
            {"network": "backend"},
            r"interfaces\[0\].network 'backend' is not a network of the landscape defined on hv1",
        ),
        (
            {"network": "service", "bridge": "br0"},
            r"interfaces\[0\] needs a network or a bridge \(one of them\)",
        ),
        ({"model": "virtio"}, r"interfaces\[0\] needs a network or a bridge"),
        ({"network": "service", "model": "ne2k"}, "model must be one of virtio, e1000, rtl8139"),
        ({"network": "service", "mac": "52:54:00:zz:00:01"}, "mac must be a MAC address"),
        ({"network": "service", "mac": "53:54:00:00:00:01"}, "is a multicast address"),
        ({"network": "service", "mac": 3000000}, "quote the MAC"),
        ({"network": "service", "ip": "192.168.155.300"}, r"interfaces\[0\].ip must be an IPv4 address"),
        ({"network": "service", "ip": "fe80::1"}, "must be an IPv4 address"),
        ({"network": "service", "hostname": "a.b"}, "hostname must be a host name"),
        ({"network": "service", "fqdn": "-x.example"}, "fqdn must be a DNS name"),
        ({"network": "service", "netwrok": "x"}, "has unknown key 'netwrok'"),
        ({"bridge": "br 0"}, "bridge must be a network device name"),
    ],
)
def test_a_nic_is_checked(nic, match):
    sentence = refused({"guests": {"web-1": {"interfaces": [nic]}}}, match)
    assert sentence.startswith("landscape: guest web-1: interfaces[0]")


def test_a_nic_may_name_only_a_network_defined_on_its_guests_host():
    over = {"networks": {"service": {"hosts": ["hv2"]}}}
    assert refused(over, "not a network") == (
        "landscape: guest web-1: interfaces[0].network 'service' "
        "is not a network of the landscape defined on hv1"
    )


@pytest.mark.parametrize(
    ("disk", "match"),
    [
        ({"pool": "nowhere"}, r"disks\[0\].pool 'nowhere' is not a pool of the landscape defined on hv1"),
        ({"size": 1}, r"disks\[0\] needs a pool \(with an optional vol\) or a path \(one of them\)"),
        ({"pool": "images", "path": "/srv/x.img"}, "needs a pool"),
        ({"path": "/srv/x.img", "vol": "x"}, r"disks\[0\].vol needs the pool it is in"),
        ({"path": "srv/x.img"}, "path must be an absolute, normalized path"),
        ({"path": "/srv/../etc/x.img"}, "path must be an absolute, normalized path without '..'"),
        ({"path": "/srv//x.img"}, "normalized"),
        ({"path": "/srv/x.img/"}, "normalized"),
        ({"pool": "images", "vol": "../x"}, r"disks\[0\].vol '../x' is not a valid volume name"),
        ({"pool": "images", "vol": "a/b"}, "is not a valid volume name"),
        ({"pool": "images", "size": 0}, "size must be a whole number of GiB from 1 to 65536, not 0"),
        ({"pool": "images", "size": 10**15}, "size must be a whole number of GiB from 1 to 65536"),
        ({"pool": "images", "size": 1.5}, "size must be a whole number"),
        ({"pool": "images", "size": "10"}, "size must be a whole number"),
        ({"pool": "images", "format": "vmdk"}, "format must be one of qcow2, raw"),
        ({"pool": "images", "bus": "usb"}, "bus must be one of virtio, sata, scsi, ide"),
        ({"pool": "images", "cache": "fast"}, "cache must be one of none, writeback"),
        ({"pool": "images", "perms": "sh"}, "has unknown key 'perms'"),
    ],
)
def test_a_disk_is_checked(disk, match):
    sentence = refused({"guests": {"web-1": {"disks": [disk]}}}, match)
    assert sentence.startswith("landscape: guest web-1: disks[0]")


def test_a_disk_may_name_only_a_pool_defined_on_its_guests_host_and_appear_once():
    assert refused({"pools": {"images": {"hosts": ["hv2"]}}}, "not a pool") == (
        "landscape: guest web-1: disks[0].pool 'images' is not a pool of the landscape defined on hv1"
    )
    twice = {"guests": {"web-1": {"disks": [{"pool": "images", "vol": "a"}, {"pool": "images", "vol": "a"}]}}}
    assert refused(twice, "same disk") == "landscape: guest web-1: disks[1] is the same disk as disks[0]"


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"memory": 0}, "memory must be a whole number of MiB from 64 to 1048576, not 0"),
        ({"memory": 63}, "memory must be a whole number of MiB from 64"),
        ({"memory": 10**15}, "memory must be a whole number of MiB"),
        ({"memory": True}, "memory must be a whole number"),
        ({"vcpus": 0}, "vcpus must be a whole number of vCPUs from 1 to 256, not 0"),
        ({"vcpus": 257}, "vcpus must be a whole number of vCPUs from 1 to 256"),
        ({"host": "hv 1"}, "host 'hv 1' is not a minion id"),
        ({"ip": "192.168.155"}, "ip must be an IPv4 address"),
        ({"hostname": "web_1"}, "hostname must be a host name"),
        ({"fqdn": "web..example"}, "fqdn must be a DNS name"),
        ({"description": "a\x00b"}, "description must be text"),
        ({"description": "x" * 1025}, "description must be text of at most 1024 characters"),
        ({"start": "yes"}, "start must be true or false"),
        ({"autostart": 1}, "autostart must be true or false"),
        ({"vars": [1]}, "vars must be a mapping"),
        ({"interfaces": {"network": "service"}}, "interfaces must be a list"),
        ({"disks": "images"}, "disks must be a list"),
        ({"boot": {"initrd": "/boot/initrd"}}, "boot.kernel is required"),
        ({"boot": {"kernel": "vmlinuz"}}, "boot.kernel must be an absolute"),
        ({"boot": {"kernel": "/boot/vmlinuz", "cmdline": "a\nb"}}, "boot.cmdline must be one line"),
        ({"boot": {"kernel": "/boot/vmlinuz", "append": "x"}}, "boot has unknown key 'append'"),
    ],
)
def test_a_guests_fields_are_checked(fields, match):
    sentence = refused({"guests": {"web-1": fields}}, match)
    assert sentence.startswith("landscape: guest web-1: ")


def test_direct_kernel_boot_merges_from_the_group():
    over = {
        "groups": {"web": {"boot": {"kernel": "/boot/vmlinuz", "initrd": "/boot/initrd.img"}}},
        "guests": {"web-1": {"boot": {"cmdline": "console=ttyS0"}}},
    }
    assert guest_of(over)["boot"] == {
        "kernel": "/boot/vmlinuz",
        "initrd": "/boot/initrd.img",
        "cmdline": "console=ttyS0",
    }
    assert guest_of(over, "web-2")["boot"] == {
        "kernel": "/boot/vmlinuz",
        "initrd": "/boot/initrd.img",
        "cmdline": None,
    }


def test_a_guest_without_a_host_or_a_hostname_it_can_take_is_refused():
    assert refused({"guests": {"web-1": {"host": None}}}, "host is required") == (
        "landscape: guest web-1: host is required (the minion id it runs on), in the guest, "
        "its group web or common"
    )
    assert refused({"guests": {"db_1": {"host": "hv1"}}}, "hostname is required") == (
        "landscape: guest db_1: hostname is required: the name db_1 is not a host name"
    )
    assert guest_of({"guests": {"db_1": {"host": "hv1", "hostname": "db1"}}}, "db_1")["hostname"] == "db1"


@pytest.mark.parametrize(
    ("pool", "match"),
    [
        ({"type": None}, "type is required: one of dir, netfs, logical"),
        ({"type": "zfs"}, "type must be one of dir, netfs, logical"),
        ({"path": None}, "path is required for a dir pool"),
        ({"path": "images"}, "path must be an absolute"),
        ({"source": {"host": "nas"}}, "source is not for a dir pool"),
        ({"type": "netfs"}, "source needs the NFS server's host and dir"),
        ({"type": "netfs", "source": {"host": "nas", "dir": "export"}}, "source.dir must be an absolute"),
        (
            {"type": "netfs", "source": {"host": "nas", "dir": "/x", "format": "cifs"}},
            "source.format must be",
        ),
        (
            {"type": "netfs", "source": {"host": "999.1.1.1", "dir": "/x"}},
            "source.host must be an IPv4 address",
        ),
        ({"type": "logical", "path": None, "build": True}, "build needs source.devices"),
        (
            {"type": "logical", "path": "/dev/other"},
            "path of a logical pool is its volume group's /dev/images",
        ),
        ({"type": "logical", "path": None, "source": {"vg": "a/b"}}, "source.vg 'a/b' is not a volume group"),
        ({"type": "logical", "path": None, "source": {"devices": ["/srv/disk"]}}, "must be block devices"),
        ({"type": "logical", "path": None, "volumes": [{"name": "a", "size": 1, "format": "qcow2"}]}, "raw"),
        ({"volumes": [{"name": "a/b", "size": 1}]}, r"volumes\[0\].name 'a/b' is not a valid volume name"),
        ({"volumes": [{"name": "../x", "size": 1}]}, "is not a valid volume name"),
        ({"volumes": [{"name": "a"}]}, r"volumes\[0\].size is required"),
        (
            {"volumes": [{"name": "a", "size": 0}]},
            "size must be a whole number of GiB from 1 to 65536, not 0",
        ),
        ({"volumes": [{"name": "a", "size": 10**15}]}, "size must be a whole number of GiB"),
        (
            {"volumes": [{"name": "a", "size": 1}, {"name": "a", "size": 2}]},
            "names the volume a a second time",
        ),
        ({"volumes": [{"name": "a", "size": 1, "fmt": "raw"}]}, "unknown key 'fmt'"),
        ({"build": "yes"}, "build must be true or false"),
    ],
)
def test_a_pools_fields_are_checked(pool, match):
    sentence = refused({"pools": {"images": pool}}, match)
    assert sentence.startswith("landscape: pool images")


@pytest.mark.parametrize("bad", ["../x", "a/b", "/etc", "..", ".hidden", "a b", "x" * 65, "{{x}}"])
@pytest.mark.parametrize("section", ["networks", "pools", "groups", "guests"])
def test_names_with_path_parts_are_refused(section, bad):
    with pytest.raises(Invalid, match=r"name .* is not valid: use 1 to 64 letters") as caught:
        landscape.picture({section: {bad: {}}})
    assert "(no '/' or path parts)" in caught.value.sentence


def test_an_explicit_group_with_path_parts_is_refused():
    with pytest.raises(Invalid, match=r"landscape: group name '\.\./x' is not valid"):
        landscape.picture(layers({"guests": {"web-1": {"group": "../x"}}}))


@pytest.mark.parametrize(
    ("section", "name", "key", "kind"),
    [
        ("networks", "service", "netmask", "network"),
        ("pools", "images", "target", "pool"),
        ("groups", "web", "group", "group"),
        ("groups", "web", "ks_repos", "group"),
        ("guests", "web-1", "memroy", "guest"),
        ("guests", "web-1", "hosts", "guest"),
    ],
)
def test_an_unknown_key_in_an_objects_own_layers_is_refused(section, name, key, kind):
    sentence = refused({section: {name: {key: 1}}}, "unknown field")
    assert sentence.startswith(f"landscape: {kind} {name}: unknown field '{key}' (a {kind} takes ")
    assert sentence.endswith("; free data goes under vars)")


@pytest.mark.parametrize(
    ("landscape_layers", "match"),
    [
        ([], "landscape: the landscape must be a mapping of common, hosts, networks, pools, groups, guests"),
        ({"guest": {}}, "landscape: unknown section 'guest'"),
        ({"common": ["a"]}, "landscape: common must be a mapping, not a list"),
        ({"hosts": {"hv1": "x"}}, r"landscape: hosts.hv1 must be a mapping, not a str"),
        ({"hosts": {"hv 1": {}}}, "not a valid host name"),
        ({"guests": {"web-1": ["host", "hv1"]}}, r"landscape: guests.web-1 must be a mapping, not a list"),
        ({"networks": "service"}, "landscape: networks must be a mapping"),
    ],
)
def test_a_layer_that_is_not_a_mapping_is_refused(landscape_layers, match):
    with pytest.raises(Invalid, match=match):
        landscape.picture(landscape_layers)


def test_an_empty_layer_is_an_empty_mapping():
    over = {"hosts": {"hv1": None}, "groups": {"web": None}}
    assert landscape.guest(landscape.merge(BASE, {}) | over, "web-1")["group"] == "web"


def test_sizes_are_bounded_by_the_one_limits_table():
    assert validate.LIMITS["memory"] == 1048576 and validate.LIMITS["disk"] == 65536
    top = {
        "guests": {"web-1": {"memory": 1048576, "vcpus": 256, "disks": [{"pool": "images", "size": 65536}]}}
    }
    web1 = guest_of(top)
    assert (web1["memory"], web1["vcpus"], web1["disks"][0]["size_gib"]) == (1048576, 256, 65536)


# -- the worked landscape of pillar.example --------------------------------------------------------
def worked_landscape():
    return yaml.safe_load((REPO / "pillar" / "pillar.example").read_text())["landscape"]


def test_the_worked_landscape_in_pillar_example_gives_each_host_its_part():
    hv1, hv2 = (landscape.host_picture(worked_landscape(), host) for host in ("hv1", "hv2"))
    assert (sorted(hv1["networks"]), sorted(hv1["pools"]), sorted(hv1["guests"])) == (
        ["backend", "lan", "service"],
        ["images", "shared"],
        ["db-2", "proxy-1", "web-1"],
    )
    assert (sorted(hv2["networks"]), sorted(hv2["pools"]), sorted(hv2["guests"])) == (
        ["backend", "service"],
        ["images", "shared"],
        ["db-1", "satellite", "web-2"],
    )
    whole = landscape.picture(worked_landscape())
    assert (len(whole["networks"]), len(whole["pools"]), len(whole["guests"])) == (3, 2, 6)
    assert whole["hosts"] == ["hv1", "hv2"]
    assert {guest["group"] for guest in whole["guests"].values()} >= {"web", "db"}
    modes = {name: net["mode"] for name, net in hv1["networks"].items()}
    assert modes == {"service": "nat", "backend": "isolated", "lan": "bridge"}
    assert (hv1["networks"]["service"]["forward_dev"], hv2["networks"]["service"]["forward_dev"]) == (
        "eno1",
        "eno2",
    )
    assert hv1["networks"]["lan"]["bridge"] == "br0"
    assert hv1["pools"]["shared"]["source"] == {
        "host": "nas.example.com",
        "dir": "/export/vm",
        "format": "nfs",
    }


def test_the_worked_landscapes_guests_take_their_groups_and_derived_values():
    picture = landscape.host_picture(worked_landscape(), "hv1")
    web1 = picture["guests"]["web-1"]
    assert (web1["memory"], web1["vcpus"], web1["fqdn"], web1["start"]) == (
        2048,
        2,
        "web-1.svc.example.com",
        True,
    )
    assert web1["interfaces"] == [
        {
            "network": "service",
            "bridge": None,
            "model": "virtio",
            "mac": mac_of("web-1", 0),
            "ip": "192.168.155.11",
            "fqdn": "web-1.svc.example.com",
        }
    ]
    assert web1["disks"][0]["vol"] == "web-1-disk0.qcow2"
    service = picture["networks"]["service"]
    assert [entry["guest"] for entry in service["static_hosts"]] == [
        "satellite",
        "web-1",
        "web-2",
        "db-1",
        "db-2",
        "proxy-1",
    ]
    assert [entry["guest"] for entry in service["dns_entries"]] == ["web-1", "web-2", "db-1", "db-2"]
    satellite = landscape.guest(worked_landscape(), "satellite")
    assert satellite["group"] == "satellite" and satellite["interfaces"][1]["mac"] is None
    db1 = landscape.guest(worked_landscape(), "db-1")
    assert (db1["memory"], db1["vars"], db1["disks"][1]["pool"]) == (4096, {"role": "postgres"}, "shared")


def test_a_refusal_names_the_type_of_a_bad_layer_never_its_values():
    """Refusals travel in job returns and state comments: a guest's vars may hold a secret."""
    bad = {"host": "hv1", "vars": {"rootpw": "hunter2-hash"}}
    with pytest.raises(Invalid) as caught:
        landscape.picture({"guests": {"web-1": [bad]}})
    assert "hunter2-hash" not in caught.value.sentence and "not a list" in caught.value.sentence
    with pytest.raises(Invalid) as caught:
        landscape.picture(layers({"guests": {"web-1": {"interfaces": {"secret": "hunter2-hash"}}}}))
    assert "hunter2-hash" not in caught.value.sentence


def test_a_subnet_without_a_gateway_is_refused():
    over = {"networks": {"iso": {"mode": "isolated", "subnet": "10.9.0.0/24"}}}
    refused(over, "network iso: subnet needs the gateway")


def test_a_disk_on_a_logical_pool_is_raw():
    over = {"pools": {"vg": {"type": "logical", "source": {"vg": "vg"}}}}
    assert (
        guest_of(dict(over, guests={"web-1": {"disks": [{"pool": "vg", "size": 5}]}}))["disks"][0]["format"]
        == "raw"
    )
    refused(
        dict(over, guests={"web-1": {"disks": [{"pool": "vg", "size": 5, "format": "qcow2"}]}}),
        r"disks\[0\].format must be raw on a logical pool",
    )
