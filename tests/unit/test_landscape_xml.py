"""
The landscape's libvirt XML (``brine.landscape_xml``): golden files of network, pool and domain XML from
a worked landscape (tests/support/landscape_pictures.py), each checked by libvirt's own
``virt-xml-validate``; the ``virNetworkUpdate`` snippets; saltext-virt's pool and volume state
arguments; what the landscape manages in a domain definition and its diff.

After a deliberate change, regenerate the golden files and review their diff:

    BRINE_REGEN_GOLDEN=1 .venv/bin/pytest -q tests/unit/test_landscape_xml.py
    git diff tests/unit/files/landscape/xml/
"""

import copy
from pathlib import Path
from xml.etree import ElementTree

import pytest

from brine import domxml
from brine import landscape_xml
from brine.errors import Invalid
from support.golden import REGEN_ENV
from support.golden import compare as compare_golden
from support.golden import virt_xml_validate
from support.landscape_pictures import DB1_UUID
from support.landscape_pictures import GUESTS
from support.landscape_pictures import NETWORKS
from support.landscape_pictures import POOLS

GOLDEN = Path(__file__).resolve().parent / "files" / "landscape" / "xml"
CASES = {
    "network-nat": lambda: landscape_xml.network_xml(NETWORKS["service"]),
    "network-route": lambda: landscape_xml.network_xml(NETWORKS["backend"]),
    "network-isolated": lambda: landscape_xml.network_xml(NETWORKS["storage"]),
    "network-bridge": lambda: landscape_xml.network_xml(NETWORKS["lan"]),
    "pool-dir": lambda: landscape_xml.pool_xml(POOLS["images"]),
    "pool-netfs": lambda: landscape_xml.pool_xml(POOLS["shared"]),
    "pool-logical": lambda: landscape_xml.pool_xml(POOLS["vmvg"]),
    "domain-kernel-boot": lambda: landscape_xml.domain_xml(GUESTS["web-1"], "kvm"),
    "domain-sata-writeback": lambda: landscape_xml.domain_xml(GUESTS["db-1"], "qemu", uuid=DB1_UUID),
}

# web-1's definition as libvirt gives it back (``XMLDesc(VIR_DOMAIN_XML_INACTIVE)``, with a
# few things only a live XML has): memory in KiB, its own elements, addresses, aliases,
# controllers, a cdrom, the MAC it chose for the NIC that had none.
LIBVIRT_WEB1 = (GOLDEN.parent / "libvirt-web-1-inactive.xml").read_text()


# ---- Golden files


def test_every_golden_file_has_a_case():
    assert sorted(path.stem for path in GOLDEN.glob("*.xml")) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_xml_equals_its_golden_file(case):
    compare_golden(GOLDEN / f"{case}.xml", CASES[case]())


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_golden_file_passes_virt_xml_validate(case):
    result = virt_xml_validate(GOLDEN / f"{case}.xml", case.split("-")[0])
    assert result.returncode == 0, result.stdout + result.stderr


def test_golden_files_compare_by_default_and_are_rewritten_when_asked(tmp_path, monkeypatch):
    path = tmp_path / "files" / "network-x.xml"
    path.parent.mkdir()
    path.write_text("<network/>\n")
    monkeypatch.delenv(REGEN_ENV, raising=False)
    with pytest.raises(AssertionError):
        compare_golden(path, "<network><name>x</name></network>\n")
    assert path.read_text() == "<network/>\n"
    monkeypatch.setenv(REGEN_ENV, "1")
    compare_golden(path, "<network><name>x</name></network>\n")
    assert path.read_text() == "<network><name>x</name></network>\n"


def test_the_same_picture_gives_the_same_bytes():
    assert landscape_xml.network_xml(copy.deepcopy(NETWORKS["service"])) == landscape_xml.network_xml(
        NETWORKS["service"]
    )
    assert landscape_xml.domain_xml(copy.deepcopy(GUESTS["web-1"]), "kvm") == landscape_xml.domain_xml(
        GUESTS["web-1"], "kvm"
    )


# ---- Networks


def test_dns_hosts_are_one_per_address_in_address_order_with_every_name_once():
    net = dict(
        NETWORKS["service"],
        dns_hosts=[
            {"ip": "192.168.155.100", "hostnames": ["a"]},
            {"ip": "192.168.155.9", "hostnames": ["db"]},
        ],
        dns_entries=[
            {"ip": "192.168.155.9", "hostnames": ["db-1", "db"], "guest": "db-1"},
            {"ip": "192.168.155.11", "hostnames": ["web-1"], "guest": "web-1"},
        ],
    )
    root = ElementTree.fromstring(landscape_xml.network_xml(net))
    hosts = [(host.get("ip"), [name.text for name in host]) for host in root.findall("dns/host")]
    assert hosts == [
        ("192.168.155.9", ["db", "db-1"]),
        ("192.168.155.11", ["web-1"]),
        ("192.168.155.100", ["a"]),
    ]


def test_a_network_without_range_and_static_hosts_has_no_dhcp_and_without_names_no_dns():
    root = ElementTree.fromstring(landscape_xml.network_xml(dict(NETWORKS["storage"], dhcp=None)))
    assert root.find("ip") is not None
    assert root.find("ip/dhcp") is None
    assert root.find("dns") is None
    assert root.find("forward") is None  # isolated
    assert root.find("bridge") is None  # libvirt names it


def test_static_hosts_without_a_range_still_make_dhcp():
    root = ElementTree.fromstring(landscape_xml.network_xml(NETWORKS["backend"]))
    assert root.find("ip/dhcp/range") is None
    assert [host.attrib for host in root.findall("ip/dhcp/host")] == [
        {"mac": "52:54:00:1a:2c:11", "name": "web-1", "ip": "10.20.0.11"}
    ]
    assert root.find("forward").attrib == {"mode": "route"}
    assert root.find("domain") is None


def test_the_uuid_of_a_defined_network_goes_into_its_xml():
    root = ElementTree.fromstring(
        landscape_xml.network_xml(NETWORKS["lan"], uuid="0f35703a-e3ad-405f-af45-750b94487c37")
    )
    assert root.findtext("uuid") == "0f35703a-e3ad-405f-af45-750b94487c37"
    assert ElementTree.fromstring(landscape_xml.network_xml(NETWORKS["lan"])).find("uuid") is None


@pytest.mark.parametrize(
    "change, words",
    [
        ({"mode": "open"}, "mode 'open' is not one of"),
        ({"mode": None}, "mode None is not one of"),
        ({"mode": "bridge", "bridge": None}, "needs the host's bridge"),
        ({"mode": "bridge", "bridge": "br0"}, "a bridge-mode network has no subnet, gateway, dhcp"),
        ({"subnet": None}, "the gateway needs the network's subnet"),
    ],
)
def test_a_network_that_cannot_be_libvirt_xml_is_invalid(change, words):
    with pytest.raises(Invalid) as err:
        landscape_xml.network_xml(dict(NETWORKS["service"], **change))
    assert words in err.value.sentence
    assert err.value.sentence.startswith("network service: ")


def test_the_update_snippets_are_the_elements_of_the_full_xml():
    net = NETWORKS["service"]
    root = ElementTree.fromstring(landscape_xml.network_xml(net))
    in_full = root.findall("ip/dhcp/host")
    snippets = [ElementTree.fromstring(landscape_xml.dhcp_host_xml(entry)) for entry in net["static_hosts"]]
    assert [e.attrib for e in snippets] == [e.attrib for e in in_full]
    assert list(snippets[0].attrib) == ["mac", "name", "ip"]
    for host in root.findall("dns/host"):
        snippet = ElementTree.fromstring(landscape_xml.dns_host_xml(host.get("ip"), [n.text for n in host]))
        assert snippet.attrib == host.attrib
        assert [n.text for n in snippet] == [n.text for n in host]


def test_the_snippets_read_as_libvirt_takes_them():
    entry = {"mac": "52:54:00:1a:2b:13", "ip": "192.168.155.13", "name": "web-3", "guest": "web-3"}
    assert (
        landscape_xml.dhcp_host_xml(entry)
        == '<host mac="52:54:00:1a:2b:13" name="web-3" ip="192.168.155.13" />'
    )
    assert landscape_xml.dns_host_xml("192.168.155.13", ["web-3.svc.example.com", "web-3"]) == (
        '<host ip="192.168.155.13">'
        "<hostname>web-3.svc.example.com</hostname><hostname>web-3</hostname>"
        "</host>"
    )


# ---- Domains


def test_the_domain_type_is_kvm_or_qemu():
    for domain_type in ("kvm", "qemu"):
        assert (
            ElementTree.fromstring(landscape_xml.domain_xml(GUESTS["db-1"], domain_type)).get("type")
            == domain_type
        )
    with pytest.raises(Invalid) as err:
        landscape_xml.domain_xml(GUESTS["db-1"], "xen")
    assert err.value.sentence == "guest db-1: domain type 'xen' is not one of kvm, qemu"


def test_target_devices_are_named_as_libvirt_names_them():
    assert [landscape_xml.target_dev("virtio", i) for i in (0, 1, 25, 26, 27, 701, 702)] == [
        "vda",
        "vdb",
        "vdz",
        "vdaa",
        "vdab",
        "vdzz",
        "vdaaa",
    ]
    assert landscape_xml.target_dev("ide", 2) == "hdc"


def test_each_bus_counts_its_own_targets_and_sata_and_scsi_share_sd():
    disk = GUESTS["db-1"]["disks"][1]
    buses = ["virtio", "sata", "scsi", "ide", "virtio", None]
    guest = dict(GUESTS["db-1"], disks=[dict(disk, bus=bus) for bus in buses])
    root = ElementTree.fromstring(landscape_xml.domain_xml(guest, "kvm"))
    assert [t.attrib for t in root.findall("devices/disk/target")] == [
        {"dev": "vda", "bus": "virtio"},
        {"dev": "sda", "bus": "sata"},
        {"dev": "sdb", "bus": "scsi"},
        {"dev": "hda", "bus": "ide"},
        {"dev": "vdb", "bus": "virtio"},
        {"dev": "vdc", "bus": "virtio"},  # no bus: virtio
    ]


def test_a_path_under_dev_is_a_block_disk_and_others_are_files():
    root = ElementTree.fromstring(landscape_xml.domain_xml(GUESTS["db-1"], "kvm"))
    block = root.findall("devices/disk")[1]
    assert block.get("type") == "block"
    assert block.find("source").attrib == {"dev": "/dev/vmvg/db-1-data"}
    root = ElementTree.fromstring(landscape_xml.domain_xml(GUESTS["web-1"], "kvm"))
    assert root.findall("devices/disk")[1].find("source").attrib == {"file": "/srv/data/web-1-data.img"}


def test_what_is_not_given_is_left_out():
    guest = dict(
        GUESTS["web-1"],
        description=None,
        boot={"kernel": "/boot/vmlinuz", "initrd": None, "cmdline": None},
        group=None,
    )
    root = ElementTree.fromstring(landscape_xml.domain_xml(guest, "kvm"))
    assert root.find("uuid") is None
    assert root.find("description") is None
    assert [e.tag for e in root.find("os")] == ["type", "kernel"]
    assert root.find(f"metadata/{{{domxml.LANDSCAPE_NS}}}guest").attrib == {}
    bridge_nic = root.findall("devices/interface")[1]
    assert bridge_nic.find("mac") is None
    assert root.findall("devices/disk")[1].find("driver").attrib == {"name": "qemu", "type": "raw"}


@pytest.mark.parametrize(
    "change, words",
    [
        ({"disks": [{"pool": None, "vol": None, "path": None, "bus": "virtio"}]}, "a disk needs a pool"),
        ({"disks": [{"pool": "images", "vol": "x", "path": None, "bus": "usb"}]}, "disk bus 'usb' is not"),
        ({"interfaces": [{"network": None, "bridge": None}]}, "an interface needs a network or a bridge"),
    ],
)
def test_a_guest_that_cannot_be_libvirt_xml_is_invalid(change, words):
    with pytest.raises(Invalid) as err:
        landscape_xml.domain_xml(dict(GUESTS["web-1"], **change), "kvm")
    assert words in err.value.sentence
    assert err.value.sentence.startswith("guest web-1: ")


def test_special_characters_are_escaped_and_read_back():
    description = "A & B <admin@example.com> say \"hi\" 'there' ]]>"
    cmdline = "console=ttyS0 ks=\"http://ks/?a=1&b=<2>\" x='y'"
    path = '/srv/data/o\'brien & "co" <1>.img'
    guest = dict(
        GUESTS["web-1"],
        description=description,
        boot=dict(GUESTS["web-1"]["boot"], cmdline=cmdline),
        disks=[dict(GUESTS["web-1"]["disks"][1], path=path)],
    )
    text = landscape_xml.domain_xml(guest, "kvm")
    assert "&amp;" in text and "&lt;" in text
    root = ElementTree.fromstring(text)
    assert root.findtext("description") == description
    assert root.findtext("os/cmdline") == cmdline
    assert root.find("devices/disk/source").get("file") == path
    view = landscape_xml.managed_view(text)
    assert (view["description"], view["boot"]["cmdline"], view["disks"][0]["path"]) == (
        description,
        cmdline,
        path,
    )


def test_the_landscape_mark_is_in_the_domains_metadata():
    root = ElementTree.fromstring(landscape_xml.domain_xml(GUESTS["web-1"], "kvm"))
    assert domxml.parse_landscape(root) == {"group": "web"}
    assert domxml.parse_landscape(ElementTree.fromstring("<domain><metadata/></domain>")) is None


# ---- What the landscape manages, and its diff


WEB1_VIEW = {
    "description": "Web server 1 (front & back)",
    "group": "web",
    "memory": 2048,
    "vcpus": 2,
    "boot": {
        "kernel": "/var/lib/libvirt/boot/vmlinuz",
        "initrd": "/var/lib/libvirt/boot/initrd.img",
        "cmdline": "console=ttyS0 inst.ks=http://ks.svc.example.com/ks?host=web-1&os=alma9",
    },
    "disks": [
        {
            "kind": "volume",
            "pool": "images",
            "volume": "web-1-disk0.qcow2",
            "path": None,
            "format": "qcow2",
            "cache": "none",
            "bus": "virtio",
            "target": "vda",
        },
        {
            "kind": "file",
            "pool": None,
            "volume": None,
            "path": "/srv/data/web-1-data.img",
            "format": "raw",
            "cache": None,
            "bus": "virtio",
            "target": "vdb",
        },
    ],
    "interfaces": [
        {"type": "network", "source": "service", "mac": "52:54:00:1a:2b:11", "model": "virtio"},
        {"type": "bridge", "source": "br0", "mac": None, "model": "e1000"},
    ],
}


def test_the_managed_view_of_a_definition():
    assert landscape_xml.managed_view(landscape_xml.domain_xml(GUESTS["web-1"], "kvm")) == WEB1_VIEW
    assert landscape_xml.guest_view(GUESTS["web-1"]) == WEB1_VIEW
    db1 = landscape_xml.guest_view(GUESTS["db-1"])
    assert db1["boot"] is None and db1["description"] is None and db1["group"] == "db"
    assert [(d["kind"], d["path"], d["cache"], d["target"]) for d in db1["disks"]] == [
        ("volume", None, "writeback", "sda"),
        ("block", "/dev/vmvg/db-1-data", "writeback", "sdb"),
    ]


def test_libvirts_own_additions_do_not_change_the_managed_view():
    assert virt_xml_validate(GOLDEN.parent / "libvirt-web-1-inactive.xml", "domain").returncode == 0
    current = landscape_xml.managed_view(LIBVIRT_WEB1)
    expected = copy.deepcopy(WEB1_VIEW)
    expected["interfaces"][1]["mac"] = "52:54:00:c3:44:d4"  # libvirt chose it; the cdrom is not managed
    assert current == expected
    assert landscape_xml.view_diff(current, landscape_xml.guest_view(GUESTS["web-1"])) == ""


def test_the_diff_shows_a_memory_change_and_a_nic_model_change():
    current = landscape_xml.managed_view(LIBVIRT_WEB1)
    desired = landscape_xml.guest_view(
        dict(
            GUESTS["web-1"],
            memory=4096,
            interfaces=[
                GUESTS["web-1"]["interfaces"][0],
                dict(GUESTS["web-1"]["interfaces"][1], model="virtio"),
            ],
        )
    )
    assert landscape_xml.view_diff(current, desired).splitlines() == [
        "--- current",
        "+++ desired",
        "@@ -24,8 +24,8 @@",
        ' interfaces[0].source: "service"',
        ' interfaces[0].type: "network"',
        ' interfaces[1].mac: "52:54:00:c3:44:d4"',
        '-interfaces[1].model: "e1000"',
        '+interfaces[1].model: "virtio"',
        ' interfaces[1].source: "br0"',
        ' interfaces[1].type: "bridge"',
        "-memory: 2048",
        "+memory: 4096",
        " vcpus: 2",
    ]


def test_the_diff_is_empty_when_equal_and_a_given_mac_is_compared():
    view = landscape_xml.guest_view(GUESTS["db-1"])
    assert landscape_xml.view_diff(view, copy.deepcopy(view)) == ""
    moved = copy.deepcopy(view)
    moved["interfaces"][0]["mac"] = "52:54:00:ff:ff:ff"
    lines = landscape_xml.view_diff(moved, view).splitlines()
    assert '-interfaces[0].mac: "52:54:00:ff:ff:ff"' in lines
    assert '+interfaces[0].mac: "52:54:00:1a:2b:09"' in lines


def test_the_diff_names_a_disk_and_a_nic_more_or_less():
    view = landscape_xml.guest_view(GUESTS["web-1"])
    fewer = copy.deepcopy(view)
    del fewer["disks"][1]
    fewer["interfaces"] = []
    lines = landscape_xml.view_diff(fewer, view).splitlines()
    assert "-interfaces: []" in lines
    assert '+interfaces[0].source: "service"' in lines
    assert '+disks[1].path: "/srv/data/web-1-data.img"' in lines


def test_a_guest_not_yet_defined_diffs_against_nothing():
    view = landscape_xml.guest_view(GUESTS["db-1"])
    lines = landscape_xml.view_diff({}, view).splitlines()
    assert lines[:3] == ["--- current", "+++ desired", f"@@ -0,0 +1,{len(landscape_xml.view_lines(view))} @@"]
    assert all(line.startswith("+") for line in lines[2:] if not line.startswith("@@"))
    assert landscape_xml.view_lines({}) == []


def test_nics_without_a_mac_keep_the_one_libvirt_chose_when_defined_again():
    current = landscape_xml.managed_view(LIBVIRT_WEB1)
    guest = landscape_xml.with_current_macs(GUESTS["web-1"], current)
    assert [nic["mac"] for nic in guest["interfaces"]] == ["52:54:00:1a:2b:11", "52:54:00:c3:44:d4"]
    assert GUESTS["web-1"]["interfaces"][1]["mac"] is None  # a copy
    assert landscape_xml.with_current_macs(GUESTS["web-1"], {}) == GUESTS["web-1"]
    one_more = dict(
        GUESTS["web-1"], interfaces=[*GUESTS["web-1"]["interfaces"], GUESTS["web-1"]["interfaces"][1]]
    )
    assert landscape_xml.with_current_macs(one_more, current)["interfaces"][2]["mac"] is None
    root = ElementTree.fromstring(landscape_xml.domain_xml(guest, "kvm"))
    assert root.findall("devices/interface")[1].find("mac").get("address") == "52:54:00:c3:44:d4"


def test_view_lines_are_stable_key_value_lines():
    lines = landscape_xml.view_lines(landscape_xml.guest_view(GUESTS["db-1"]))
    assert lines[:3] == ["boot: null", "description: null", 'disks[0].bus: "sata"']
    assert "memory: 4096" in lines
    assert lines == landscape_xml.view_lines(landscape_xml.guest_view(copy.deepcopy(GUESTS["db-1"])))


# ---- Pools and volumes


def test_pool_state_arguments_for_saltext_virt():
    assert landscape_xml.pool_state(POOLS["images"]) == {
        "ptype": "dir",
        "target": "/var/lib/libvirt/images/landscape",
        "permissions": {"mode": "0711", "owner": 0, "group": 0},
        "source": None,
        "autostart": True,
    }
    assert landscape_xml.pool_state(POOLS["shared"]) == {
        "ptype": "netfs",
        "target": "/srv/shared",
        "permissions": None,
        "source": {"dir": "/export/vm", "hosts": ["nfs.example.com"], "format": "nfs"},
        "autostart": True,
    }
    assert landscape_xml.pool_state(POOLS["vmvg"]) == {
        "ptype": "logical",
        "target": "/dev/vmvg",
        "permissions": None,
        "source": {"name": "vmvg", "devices": [{"path": "/dev/sdb"}, {"path": "/dev/sdc"}]},
        "autostart": False,
    }


def test_an_lvm_pool_without_devices_names_only_its_volume_group():
    pool = dict(POOLS["vmvg"], source={"vg": "vmvg", "devices": []})
    assert landscape_xml.pool_state(pool)["source"] == {"name": "vmvg"}
    root = ElementTree.fromstring(landscape_xml.pool_xml(pool))
    assert root.find("source/device") is None
    assert root.findtext("source/name") == "vmvg"


def test_an_nfs_pool_format_defaults_to_nfs():
    pool = dict(POOLS["shared"], source={"host": "10.0.0.5", "dir": "/export/vm", "format": None})
    assert landscape_xml.pool_state(pool)["source"]["format"] == "nfs"


@pytest.mark.parametrize(
    "pool, words",
    [
        (dict(POOLS["images"], type="iscsi"), "type 'iscsi' is not one of dir, netfs, logical"),
        (dict(POOLS["images"], path="/srv/a&b"), "path '/srv/a&b' has a character saltext-virt cannot"),
        (dict(POOLS["shared"], source={"host": "nfs", "dir": "/x'y"}), "source dir"),
        (dict(POOLS["shared"], source={"host": "fd00::5", "dir": "/x"}), "must be a host name or IPv4"),
        (dict(POOLS["shared"], source={"host": "nfs", "dir": None}), "needs source host and dir"),
        (dict(POOLS["vmvg"], source={"vg": None}), "needs source vg"),
        (dict(POOLS["vmvg"], source={"vg": "vg", "devices": ["/dev/<x>"]}), "source devices"),
    ],
)
def test_a_pool_saltext_virt_cannot_define_is_invalid(pool, words):
    with pytest.raises(Invalid) as err:
        landscape_xml.pool_state(pool)
    assert words in err.value.sentence
    assert err.value.sentence.startswith(f"pool {pool['name']}: ")


def test_a_volume_has_its_size_in_bytes_and_its_format_except_in_a_logical_pool():
    qcow2 = ElementTree.fromstring(landscape_xml.volume_xml(POOLS["images"]["volumes"][0], "dir"))
    assert qcow2.findtext("name") == "web-1-disk0.qcow2"
    assert qcow2.find("capacity").get("unit") == "bytes" and qcow2.findtext("capacity") == str(20 * 1024**3)
    assert qcow2.find("target/format").get("type") == "qcow2" and qcow2.findtext("allocation") == "0"
    raw = ElementTree.fromstring(
        landscape_xml.volume_xml({"name": "db", "size_gib": 1, "format": "raw"}, "logical")
    )
    assert raw.find("target") is None and raw.find("allocation") is None


def test_virt_xml_validate_refuses_what_libvirt_refuses(tmp_path):
    """The validation is real: it fails a network whose prefix is no number."""
    bad = tmp_path / "bad.xml"
    bad.write_text("<network><name>x</name><ip address='10.0.0.1' prefix='nope'/></network>")
    assert virt_xml_validate(bad, "network").returncode != 0


def test_cache_default_is_libvirts_own_choice_written_as_no_attribute():
    guest = copy.deepcopy(GUESTS["db-1"])
    guest["disks"][0]["cache"] = "default"
    driver = ElementTree.fromstring(landscape_xml.domain_xml(guest, "kvm")).find("devices/disk/driver")
    assert "cache" not in driver.attrib
