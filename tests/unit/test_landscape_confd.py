"""
A miniascape ``conf.d`` tree read as it is into the landscape's layers (docs/landscape.md, Layers; issue 11,
item 1), and the ``brine_landscape`` ext_pillar that serves it to hypervisor hosts. The fixture under
tests/unit/files/landscape/confd is modeled on miniascape's own default tree (2012-2013).
"""

import logging
import shutil

import pytest
import salt.cache
import yaml

from brine import config
from brine import hostmap
from brine import landscape
from brine import landscape_confd
from brine.errors import Invalid
from support.loading import load
from support.paths import REPO

FIXTURE = REPO / "tests" / "unit" / "files" / "landscape" / "confd"
META = {
    "site": "default",
    "guest": {
        "subdir": "guests.d",
        "files": ["common/*.yml", "sysgroups.d/%(group)s/*.yml", "guests.d/%(name)s/*.yml"],
    },
    "network": {"subdir": "networks.d", "files": ["common/*.yml", "networks.d/%(name)s/*.yml"]},
    "storage": {"subdir": "storages.d", "files": ["common/*.yml", "storages.d/%(name)s.yml"]},
    "host": {"subdir": "host.d", "files": ["common/*.yml", "host.d/*.yml"]},
}


@pytest.fixture
def tree(tmp_path):
    """A copy of the fixture tree, to change."""
    target = tmp_path / "conf.d"
    shutil.copytree(FIXTURE, target)
    return target


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))


def minimal(tmp_path, meta=None):
    """A tree of one network, one pool, one guest, to build on."""
    root = tmp_path / "mini"
    write(root / "META" / "00.yml", meta or META)
    write(root / "default" / "networks.d" / "net" / "00.yml", {"mode": "isolated"})
    write(root / "default" / "storages.d" / "pool.yml", {"type": "dir", "target": {"path": "/srv/pool"}})
    write(root / "default" / "guests.d" / "vm-1" / "00.yml", {"interfaces": [{"network": "net"}]})
    return root


# -- the fixture tree, as it is ---------------------------------------------------------------
def test_the_miniascape_tree_loads_into_the_layers_with_brines_keys():
    layers = landscape_confd.load(FIXTURE, host="hv1")
    assert sorted(layers) == ["common", "groups", "guests", "hosts", "networks", "pools"]
    common = layers["common"]
    assert (common["host"], common["domain"], common["memory"], common["vcpus"]) == (
        "hv1",
        "m2.local",
        512,
        1,
    )
    assert common["virtinst"]["os_variant"] == "rhel6" and "ram" not in common["virtinst"]
    assert common["ks_repos"] == [] and common["templates"]["virtinst"]["dst"] == "vmbuild.sh"
    assert common["disks"] == [
        {"pool": "default", "format": "qcow2", "cache": "none", "size": 6, "bus": "virtio"}
    ]
    assert layers["hosts"] == {
        "*": {
            "isomntdir": "/srv/content",
            "isodatadir": "/srv/images",
            "bridge": "virbr5",
            "host_templates": yaml.safe_load((FIXTURE / "default/host.d/00.yml").read_text())[
                "host_templates"
            ],
        }
    }
    assert layers["networks"]["service"] == {
        "mode": "nat",
        "bridge": "virbr5",
        "domain": "m2.local",
        "gateway": "192.168.155.254",
        "subnet": "192.168.155.0/24",
        "dhcp": {"start": "192.168.155.200", "end": "192.168.155.250"},
    }
    assert layers["networks"]["default"]["subnet"] == "192.168.122.0/24"
    assert layers["pools"] == {
        "default": {"type": "dir", "path": "/var/lib/libvirt/images"},
        "srv-0": {
            "type": "dir",
            "path": "/srv/libvirt/images",
            "vars": {"target": {"permissions": {"mode": "0711"}}},
        },
    }
    assert sorted(layers["groups"]) == ["rhel-6-cluster", "rhs"]
    cluster = layers["groups"]["rhel-6-cluster"]
    assert cluster["memory"] == 1024
    assert [disk.get("vol") for disk in cluster["disks"]] == [None, "rhel-6-cluster-data-1.img"]
    assert "perms" not in cluster["disks"][1] and cluster["vars"]["disks"][1]["perms"] == "sh"
    assert cluster["vars"]["hosts"][0] == {"ip": "192.168.122.111", "hostname": "rhel-6-cluster-default-1"}
    assert sorted(cluster["vars"]) == ["cluster", "defaultgw", "disks", "hosts", "ks_repos", "templates"]
    assert sorted(layers["guests"]) == ["rhel-6-cluster-1", "rhel-6-cluster-2", "rhs-1", "rhs-2"]


def test_a_guests_miniascape_keys_become_brines_and_the_rest_goes_under_vars():
    rhs1 = landscape_confd.load(FIXTURE)["guests"]["rhs-1"]
    assert {key: value for key, value in rhs1.items() if key != "vars"} == {
        "description": "GlusterFS-1 Server",
        "hostname": "rhs-1",
        "fqdn": "rhs-1.m2.local",
        "ip": "192.168.155.51",
        "interfaces": [
            {
                "mac": "52:54:00:05:00:51",
                "ip": "192.168.155.51",
                "hostname": "rhs-1",
                "fqdn": "rhs-1.m2.local",
                "network": "service",
            }
        ],
        "disks": [{"pool": "default", "size": 5}, {"pool": "default", "vol": "rhs-1-data-1", "size": 1}],
    }
    assert rhs1["vars"]["interfaces"][0]["device"] == "eth0"
    assert rhs1["vars"]["ks_repos"][0]["name"] == "RHEL 6 x86_64 - ScalableFileSystem"
    cluster = landscape_confd.load(FIXTURE)["guests"]["rhel-6-cluster-1"]
    assert cluster["interfaces"][1] == {
        "mac": "52:54:00:02:01:11",
        "ip": "192.168.122.111",
        "hostname": "rhel-6-cluster-default-1",
        "network": "default",
    }
    assert cluster["vars"]["interfaces"][1]["bootproto"] == "static"


def test_the_miniascape_tree_gives_the_expected_picture():
    picture = landscape.host_picture(landscape_confd.load(FIXTURE, host="hv1"), "hv1")
    assert sorted(picture["networks"]) == ["default", "service"]
    assert sorted(picture["pools"]) == ["default", "srv-0"]
    assert sorted(picture["guests"]) == ["rhel-6-cluster-1", "rhel-6-cluster-2", "rhs-1", "rhs-2"]
    service = picture["networks"]["service"]
    assert (service["mode"], service["bridge"], service["gateway"], service["domain"]) == (
        "nat",
        "virbr5",
        "192.168.155.254",
        "m2.local",
    )
    assert service["static_hosts"] == [
        {"mac": "52:54:00:05:00:51", "ip": "192.168.155.51", "name": "rhs-1.m2.local", "guest": "rhs-1"},
        {"mac": "52:54:00:05:00:52", "ip": "192.168.155.52", "name": "rhs-2.m2.local", "guest": "rhs-2"},
        {
            "mac": "52:54:00:05:01:11",
            "ip": "192.168.155.111",
            "name": "rhel-6-cluster-1.m2.local",
            "guest": "rhel-6-cluster-1",
        },
        {
            "mac": "52:54:00:05:01:12",
            "ip": "192.168.155.112",
            "name": "rhel-6-cluster-2.m2.local",
            "guest": "rhel-6-cluster-2",
        },
    ]
    default = picture["networks"]["default"]
    assert (default["bridge"], default["domain"], default["subnet"]) == (
        "virbr0",
        "example.com",
        "192.168.122.0/24",
    )
    assert [(entry["name"], entry["ip"]) for entry in default["static_hosts"]] == [
        ("rhel-6-cluster-default-1", "192.168.122.111"),
        ("rhel-6-cluster-default-2", "192.168.122.112"),
    ]
    assert default["dns_entries"] == []
    assert picture["pools"]["default"]["path"] == "/var/lib/libvirt/images"
    rhs1 = picture["guests"]["rhs-1"]
    assert (rhs1["group"], rhs1["memory"], rhs1["vcpus"], rhs1["fqdn"]) == ("rhs", 512, 1, "rhs-1.m2.local")
    assert [(d["vol"], d["size_gib"], d["format"]) for d in rhs1["disks"]] == [
        ("rhs-1-disk0.qcow2", 5, "qcow2"),
        ("rhs-1-data-1", 1, "qcow2"),
    ]
    assert rhs1["vars"]["rhs"]["volume"] == "vol01"
    cluster = picture["guests"]["rhel-6-cluster-2"]
    assert (cluster["group"], cluster["memory"]) == ("rhel-6-cluster", 1024)
    assert [nic["network"] for nic in cluster["interfaces"]] == ["service", "default"]
    assert [(d["vol"], d["format"]) for d in cluster["disks"]] == [
        ("rhel-6-cluster-2-disk0.qcow2", "qcow2"),
        ("rhel-6-cluster-data-1.img", "raw"),
    ]


def test_without_a_host_the_trees_guests_have_none():
    layers = landscape_confd.load(FIXTURE)
    assert "host" not in layers["common"]
    with pytest.raises(Invalid, match="guest rhel-6-cluster-1: host is required"):
        landscape.picture(layers)
    with pytest.raises(Invalid, match="not a valid host name"):
        landscape_confd.load(FIXTURE, host="hv1/..")


# -- META and the order of files --------------------------------------------------------------
def test_meta_files_merge_in_name_order(tmp_path):
    root = minimal(tmp_path)
    write(root / "other" / "networks.d" / "net" / "00.yml", {"mode": "route"})
    write(root / "META" / "10_site.yml", {"site": "other"})
    assert landscape_confd.load(root)["networks"] == {"net": {"mode": "route"}}
    write(root / "META" / "05_site.yml", {"site": "default", "storage": None})
    assert landscape_confd.load(root)["networks"] == {"net": {"mode": "route"}}
    (root / "META" / "10_site.yml").rename(root / "META" / "01_site.yml")
    layers = landscape_confd.load(root)
    assert layers["networks"] == {"net": {"mode": "isolated"}} and layers["pools"] == {}


def test_files_merge_in_the_metas_order_of_globs_and_each_globs_in_sorted_order(tmp_path):
    meta = landscape.merge(META, {"network": {"files": ["networks.d/%(name)s/*.yml", "extra/%(name)s.yml"]}})
    root = minimal(tmp_path, meta)
    write(root / "default" / "networks.d" / "net" / "10.yml", {"mode": "nat", "domain": "ten.example"})
    write(root / "default" / "networks.d" / "net" / "05.yml", {"mode": "route", "bridge": "virbr9"})
    write(root / "default" / "extra" / "net.yml", {"domain": "extra.example"})
    assert landscape_confd.load(root)["networks"]["net"] == {
        "mode": "nat",
        "bridge": "virbr9",
        "domain": "extra.example",
    }
    meta["network"]["files"].reverse()
    write(root / "META" / "00.yml", meta)
    assert landscape_confd.load(root)["networks"]["net"]["domain"] == "ten.example"


def test_common_files_load_once_into_common_and_shared_globs_into_every_object(tmp_path, monkeypatch):
    meta = landscape.merge(
        META, {"guest": {"files": ["common/*.yml", "guests.d/all.yml", "guests.d/%(name)s/*.yml"]}}
    )
    root = minimal(tmp_path, meta)
    write(root / "default" / "common" / "00.yml", {"memory": 256, "swap": 512})
    write(root / "default" / "guests.d" / "all.yml", {"vcpus": 2})
    write(root / "default" / "guests.d" / "vm-2" / "00.yml", {"vcpus": 3})
    loads = []
    real = yaml.safe_load
    monkeypatch.setattr(landscape_confd.yaml, "safe_load", lambda text: loads.append(text) or real(text))
    layers = landscape_confd.load(root)
    assert layers["common"] == {"memory": 256, "swap": 512}
    assert layers["guests"]["vm-1"]["vcpus"] == 2 and layers["guests"]["vm-2"]["vcpus"] == 3
    assert "all" not in layers["guests"]
    for shared in ("common/00.yml", "guests.d/all.yml"):
        assert loads.count((root / "default" / shared).read_bytes()) == 1


def test_the_group_placeholder_is_the_guests_explicit_group_else_its_name_without_a_number(tmp_path):
    root = minimal(tmp_path)
    write(root / "default" / "sysgroups.d" / "vm" / "00.yml", {"memory": 1024, "ks_repos": ["a"]})
    write(root / "default" / "sysgroups.d" / "front" / "00.yml", {"memory": 2048})
    write(root / "default" / "guests.d" / "lb-1" / "00.yml", {"group": "front"})
    layers = landscape_confd.load(root)
    assert layers["groups"] == {
        "vm": {"memory": 1024, "vars": {"ks_repos": ["a"]}},
        "front": {"memory": 2048},
    }
    assert layers["guests"]["lb-1"] == {"group": "front"}


def test_an_entry_without_files_of_its_own_is_not_an_object():
    layers = landscape_confd.load(FIXTURE)
    assert "rhel-5-cluster-1" not in layers["guests"]
    assert (FIXTURE / "default" / "guests.d" / "rhel-5-cluster-1.yml.off").is_file()


def test_a_networks_netmask_may_come_from_host_d_or_common(tmp_path):
    root = minimal(tmp_path)
    write(root / "default" / "networks.d" / "net" / "00.yml", {"mode": "nat", "network": "10.1.0.0"})
    with pytest.raises(Invalid, match=r"landscape: conf.d network net: network 10.1.0.0 has no netmask"):
        landscape_confd.load(root)
    write(root / "default" / "common" / "00.yml", {"netmask": "255.255.0.0"})
    assert landscape_confd.load(root)["networks"]["net"]["subnet"] == "10.1.0.0/16"
    write(root / "default" / "host.d" / "00.yml", {"netmask": "255.255.255.0"})
    assert landscape_confd.load(root)["networks"]["net"]["subnet"] == "10.1.0.0/24"
    write(root / "default" / "networks.d" / "net" / "00.yml", {"mode": "nat", "network": "10.1.0.1"})
    with pytest.raises(Invalid, match=r"network 10.1.0.1 with netmask 255.255.255.0 is not an IPv4 subnet"):
        landscape_confd.load(root)


def test_brine_keys_in_a_tree_pass_as_they_are(tmp_path):
    root = minimal(tmp_path)
    write(
        root / "default" / "guests.d" / "vm-1" / "00.yml",
        {"host": "hv2", "memory": 768, "interfaces": [{"network": "net", "mac": "RANDOM"}], "vars": {"a": 1}},
    )
    vm = landscape_confd.load(root, host="hv1")["guests"]["vm-1"]
    assert vm == {
        "host": "hv2",
        "memory": 768,
        "interfaces": [{"network": "net"}],
        "vars": {"a": 1, "interfaces": [{"network": "net", "mac": "RANDOM"}]},
    }


# -- what the tree may not do -----------------------------------------------------------------
def test_yaml_is_never_executed_nor_templated(tmp_path):
    root = minimal(tmp_path)
    marker = tmp_path / "ran"
    write(root / "default" / "common" / "00.yml", f'x: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(
        Invalid, match=r"landscape: conf.d file default/common/00.yml is not YAML Brine can read"
    ):
        landscape_confd.load(root)
    assert not marker.exists()
    write(root / "default" / "common" / "00.yml", "description: '{{ 7 * 7 }}'\n")
    assert landscape_confd.load(root)["common"]["description"] == "{{ 7 * 7 }}"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "- a\n- b\n",
            r"landscape: conf.d file default/guests.d/vm-1/00.yml is not a mapping \(it holds a list\)",
        ),
        ("just text\n", r"is not a mapping \(it holds a str\)"),
        ("a: [\n", "is not YAML Brine can read"),
    ],
)
def test_a_file_that_is_not_a_mapping_is_refused_naming_it(tmp_path, text, match):
    root = minimal(tmp_path)
    write(root / "default" / "guests.d" / "vm-1" / "00.yml", text)
    with pytest.raises(Invalid, match=match):
        landscape_confd.load(root)


def test_an_empty_file_is_an_empty_layer(tmp_path):
    root = minimal(tmp_path)
    write(root / "default" / "guests.d" / "vm-1" / "10.yml", "")
    assert landscape_confd.load(root)["guests"]["vm-1"] == {
        "interfaces": [{"network": "net"}],
        "vars": {"interfaces": [{"network": "net"}]},
    }


def test_symlinks_in_the_tree_are_refused(tmp_path):
    root = minimal(tmp_path)
    outside = tmp_path / "secret.yml"
    outside.write_text("password: x\n")
    (root / "default" / "guests.d" / "vm-1" / "10.yml").symlink_to(outside)
    with pytest.raises(Invalid, match=r"landscape: conf.d default/guests.d/vm-1/10.yml is a symlink"):
        landscape_confd.load(root)
    (root / "default" / "guests.d" / "vm-1" / "10.yml").unlink()
    (root / "default" / "guests.d" / "vm-2").symlink_to(tmp_path)
    with pytest.raises(Invalid, match=r"default/guests.d/vm-2 is a symlink"):
        landscape_confd.load(root)


@pytest.mark.parametrize(
    ("category", "files", "match"),
    [
        ("guest", ["../../etc/*.yml"], r"must stay inside the site folder \(no '..'\)"),
        ("guest", ["guests.d/%(name)s/../../../x.yml"], "must stay inside"),
        ("guest", ["/etc/salt/*.yml"], "must be a path relative to the site folder"),
        ("guest", ["guests.d/%(host)s.yml"], r"has %\(host\)s; it may have %\(name\)s, %\(group\)s"),
        ("network", ["sysgroups.d/%(group)s/*.yml"], r"has %\(group\)s; it may have %\(name\)s"),
        ("host", ["host.d/%(name)s.yml"], "it may have no placeholder"),
        ("guest", ["guests.d/%(name/*.yml"], "broken placeholder"),
        ("guest", "guests.d/*.yml", "files must be a list of globs"),
    ],
)
def test_meta_globs_stay_inside_the_site_folder(tmp_path, category, files, match):
    root = minimal(tmp_path, landscape.merge(META, {category: {"files": files}}))
    with pytest.raises(Invalid, match=match):
        landscape_confd.load(root)


def test_meta_subdirs_and_sites_are_plain_folders_of_the_tree(tmp_path):
    for meta, match in (
        ({"guest": {"subdir": "../guests.d"}}, "must stay inside"),
        ({"guest": {"subdir": "guests.*"}}, "must be a folder, not a glob"),
        ({"guest": "guests.d"}, "guest must be a mapping of subdir and files"),
        ({"site": "../default"}, "site '../default' is not the name of a folder"),
    ):
        root = minimal(tmp_path, landscape.merge(META, meta))
        with pytest.raises(Invalid, match=match):
            landscape_confd.load(root)
        shutil.rmtree(root)


def test_a_tree_without_meta_or_a_folder_is_refused(tmp_path):
    with pytest.raises(Invalid, match="is not a folder"):
        landscape_confd.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(Invalid, match=r"has no META/\*.yml"):
        landscape_confd.load(tmp_path / "empty")


def test_an_object_folder_with_a_bad_name_is_refused_naming_it(tmp_path):
    root = minimal(tmp_path)
    write(root / "default" / "guests.d" / "bad name" / "00.yml", {})
    with pytest.raises(
        Invalid, match=r"landscape: conf.d default/guests.d/bad name: 'bad name' is not a valid name"
    ):
        landscape_confd.load(root)


def test_a_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    root = minimal(tmp_path)
    monkeypatch.setattr(landscape_confd, "FILE_MAX", 10)
    with pytest.raises(Invalid, match=r"landscape: conf.d file META/00.yml is larger than 10 bytes"):
        landscape_confd.load(root)


# -- the ext_pillar ---------------------------------------------------------------------------
HYPERVISOR = {"brine": {"roles": ["hypervisor"]}}


@pytest.fixture
def pillar_module(tmp_path):
    module = load("_pillar/brine_landscape.py")
    module.__opts__ = {
        "id": "master_master",
        # The master's cache, where the cluster runner keeps its VM map (brine.hostmap).
        "cachedir": str(tmp_path / "cache"),
        "brine": {"landscape": {"confd": str(FIXTURE), "host": "hv1"}},
    }
    return module


def test_the_pillar_is_the_tree_for_hypervisor_hosts_only(pillar_module):
    served = pillar_module.ext_pillar("hv1", HYPERVISOR)
    assert served == {"landscape": landscape_confd.load(FIXTURE, host="hv1")}
    assert pillar_module.ext_pillar("hv1", {}) == {}
    assert pillar_module.ext_pillar("web", {"brine": {"roles": ["ca"]}}) == {}
    assert pillar_module.ext_pillar("hv1", None) == {}


def test_the_pillars_own_landscape_merges_over_the_tree(pillar_module):
    own = {
        "landscape": {
            "hosts": {"hv1": {"forward_dev": "eno1"}},
            "guests": {"rhs-1": {"memory": 2048}, "rhs-2": None, "extra-1": {"host": "hv2"}},
        }
    }
    layers = pillar_module.ext_pillar("hv1", {**HYPERVISOR, **own})["landscape"]
    assert layers["guests"]["rhs-1"]["memory"] == 2048
    assert layers["guests"]["rhs-1"]["description"] == "GlusterFS-1 Server"
    assert "rhs-2" not in layers["guests"] and layers["guests"]["extra-1"] == {"host": "hv2"}
    assert layers["hosts"]["hv1"] == {"forward_dev": "eno1"} and "*" in layers["hosts"]


def test_the_options_of_the_pillar_win_over_the_masters_configuration(pillar_module, tree):
    write(tree / "default" / "networks.d" / "service" / "10.yml", {"domain": "other.example"})
    layers = pillar_module.ext_pillar("hv1", HYPERVISOR, confd=str(tree), host="hv9")["landscape"]
    assert layers["networks"]["service"]["domain"] == "other.example"
    assert layers["common"]["host"] == "hv9"


def test_without_a_tree_the_pillar_adds_nothing(pillar_module):
    pillar_module.__opts__ = {}
    assert pillar_module.settings({}) == (None, None)
    assert (config.default("landscape:confd"), config.default("landscape:host")) == ("", "")
    assert pillar_module.ext_pillar("hv1", {**HYPERVISOR, "landscape": {"guests": {}}}) == {}


def test_a_broken_tree_is_a_pillar_error_not_a_crash(pillar_module, tree, caplog):
    write(tree / "default" / "guests.d" / "rhs-1" / "00.yml", "- not\n- a mapping\n")
    pillar_module.__opts__["brine"]["landscape"]["confd"] = str(tree)
    with caplog.at_level(logging.ERROR):
        served = pillar_module.ext_pillar("hv1", HYPERVISOR)
    assert served == {
        "_errors": [
            "brine_landscape: landscape: conf.d file default/guests.d/rhs-1/00.yml "
            "is not a mapping (it holds a list)"
        ]
    }
    assert "rhs-1/00.yml is not a mapping" in caplog.text
    pillar_module.__opts__["brine"]["landscape"]["confd"] = str(tree / "nowhere")
    assert "is not a folder" in pillar_module.ext_pillar("hv1", HYPERVISOR)["_errors"][0]


def test_the_pillar_module_loads_under_its_name(pillar_module):
    assert pillar_module.__virtual__() == "brine_landscape"


def test_guests_the_master_last_saw_on_another_host_are_named_for_the_host(pillar_module):
    cache = salt.cache.factory(pillar_module.__opts__)
    hostmap.write(cache, {"hv1": ["rhs-2", "lab-vm1"], "hv2": ["rhs-1", "other"]})
    served = pillar_module.ext_pillar("hv1", HYPERVISOR)
    # rhs-1 is the tree's (its host hv1) but the master saw it on hv2; rhs-2 is where it belongs.
    assert served["brine"] == {"landscape_elsewhere": {"rhs-1": ["hv2"]}}
    # Seen from hv2, the one it holds is no other host's; rhs-2 is on hv1.
    assert pillar_module.ext_pillar("hv2", HYPERVISOR)["brine"] == {"landscape_elsewhere": {"rhs-2": ["hv1"]}}
    # Without a tree, the pillar's own guests count the same way.
    pillar_module.__opts__["brine"]["landscape"]["confd"] = ""
    own = {"landscape": {"guests": {"rhs-1": {"host": "hv1"}}}}
    assert pillar_module.ext_pillar("hv1", {**HYPERVISOR, **own}) == {
        "brine": {"landscape_elsewhere": {"rhs-1": ["hv2"]}}
    }
