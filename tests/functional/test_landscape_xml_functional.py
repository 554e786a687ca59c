"""
The landscape's golden XML (tests/unit/files/landscape/xml, ``brine.landscape_xml``) taken by libvirt itself:
each network, pool and domain defined on the in-process ``test:///default`` driver and read
back; networks started and changed live with the ``virNetworkUpdate`` snippets; a defined
object defined again under its own UUID. Every test removes what it defined.
"""

import contextlib
from pathlib import Path
from xml.etree import ElementTree

import pytest

from brine import domxml
from brine import landscape_xml
from support.landscape_pictures import DB1_UUID
from support.landscape_pictures import GUESTS
from support.landscape_pictures import NETWORKS
from support.landscape_pictures import POOLS

libvirt = pytest.importorskip("libvirt")

GOLDEN = Path(__file__).resolve().parents[1] / "unit" / "files" / "landscape" / "xml"
NETWORK_FILES = {
    "service": "network-nat",
    "backend": "network-route",
    "storage": "network-isolated",
    "lan": "network-bridge",
}
POOL_FILES = {"images": "pool-dir", "shared": "pool-netfs", "vmvg": "pool-logical"}
DOMAIN_FILES = {"web-1": "domain-kernel-boot", "db-1": "domain-sata-writeback"}
BOTH = libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE | libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG


def golden(stem):
    return (GOLDEN / f"{stem}.xml").read_text()


@contextlib.contextmanager
def defined_network(conn, xml_text):
    net = conn.networkDefineXML(xml_text)
    try:
        yield net
    finally:
        if net.isActive():
            net.destroy()
        net.undefine()


@pytest.mark.parametrize("name", sorted(NETWORK_FILES))
def test_each_golden_network_defines_starts_and_reads_back(libvirt_conn, name):
    with defined_network(libvirt_conn, golden(NETWORK_FILES[name])) as net:
        net.create()
        assert net.isActive()
        root = ElementTree.fromstring(net.XMLDesc(0))
        wanted = ElementTree.fromstring(landscape_xml.network_xml(NETWORKS[name]))
        assert root.findtext("name") == name
        for path in ("forward", "domain", "ip", "ip/dhcp/range"):
            assert (root.find(path) is None) == (wanted.find(path) is None), path
            if wanted.find(path) is not None:
                assert wanted.find(path).attrib.items() <= root.find(path).attrib.items(), path
        assert [h.attrib for h in root.findall("ip/dhcp/host")] == [
            h.attrib for h in wanted.findall("ip/dhcp/host")
        ]
        assert [(h.get("ip"), [n.text for n in h]) for h in root.findall("dns/host")] == [
            (ip, names) for ip, names in landscape_xml.dns_hosts(NETWORKS[name])
        ]
        if NETWORKS[name]["bridge"]:
            assert root.find("bridge").get("name") == NETWORKS[name]["bridge"]


def test_a_network_is_defined_again_only_under_its_own_uuid(libvirt_conn):
    with defined_network(libvirt_conn, golden("network-nat")) as net:
        with pytest.raises(libvirt.libvirtError, match="already exists with uuid"):
            libvirt_conn.networkDefineXML(landscape_xml.network_xml(NETWORKS["service"]))
        changed = dict(NETWORKS["service"], dhcp={"start": "192.168.155.100", "end": "192.168.155.150"})
        again = libvirt_conn.networkDefineXML(landscape_xml.network_xml(changed, uuid=net.UUIDString()))
        assert again.UUIDString() == net.UUIDString()
        assert ElementTree.fromstring(again.XMLDesc(0)).find("ip/dhcp/range").get("end") == "192.168.155.150"


def test_a_static_host_and_its_dns_names_are_added_and_removed_on_a_running_network(libvirt_conn):
    entry = {"mac": "52:54:00:1a:2b:13", "ip": "192.168.155.13", "name": "web-3", "guest": "web-3"}
    names = ["web-3.svc.example.com", "web-3"]
    with defined_network(libvirt_conn, golden("network-nat")) as net:
        net.create()
        for section, snippet in (
            (libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST, landscape_xml.dhcp_host_xml(entry)),
            (libvirt.VIR_NETWORK_SECTION_DNS_HOST, landscape_xml.dns_host_xml(entry["ip"], names)),
        ):
            net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, section, -1, snippet, BOTH)
        assert net.isActive()
        assert has_host(net, entry, names)
        net.destroy()  # the test driver reads no inactive XML of a running network: stop it
        assert has_host(net, entry, names)  # and the definition has it too
        net.create()
        for section, snippet in (
            (libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST, landscape_xml.dhcp_host_xml(entry)),
            (libvirt.VIR_NETWORK_SECTION_DNS_HOST, landscape_xml.dns_host_xml(entry["ip"], names)),
        ):
            net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, section, -1, snippet, BOTH)
        assert net.isActive()
        assert not has_host(net, entry, names)
        root = ElementTree.fromstring(net.XMLDesc(0))
        assert len(root.findall("ip/dhcp/host")) == len(NETWORKS["service"]["static_hosts"])
        net.destroy()
        assert not has_host(net, entry, names)


def has_host(net, entry, names):
    """Whether the network's XML has ``entry`` as a static host and its names, both or neither."""
    root = ElementTree.fromstring(net.XMLDesc(0))
    dhcp = {"mac": entry["mac"], "name": entry["name"], "ip": entry["ip"]} in [
        h.attrib for h in root.findall("ip/dhcp/host")
    ]
    dns = [[n.text for n in h] for h in root.findall(f"dns/host[@ip='{entry['ip']}']")]
    assert dns == ([names] if dhcp else [])
    return dhcp


@pytest.mark.parametrize("name", sorted(POOL_FILES))
def test_each_golden_pool_defines_and_reads_back(libvirt_conn, name):
    pool = libvirt_conn.storagePoolDefineXML(golden(POOL_FILES[name]))
    try:
        root = ElementTree.fromstring(pool.XMLDesc(0))
        state = landscape_xml.pool_state(POOLS[name])
        assert root.get("type") == state["ptype"]
        assert root.findtext("name") == name
        assert root.findtext("target/path") == state["target"]
        source = state["source"] or {}
        assert [d.get("path") for d in root.findall("source/device")] == [
            d["path"] for d in source.get("devices") or []
        ]
        assert [h.get("name") for h in root.findall("source/host")] == source.get("hosts", [])
        dir_element = root.find("source/dir")
        assert (dir_element.get("path") if dir_element is not None else None) == source.get("dir")
        if "name" in source:
            assert root.findtext("source/name") == source["name"]
        if "format" in source:
            assert root.find("source/format").get("type") == source["format"]
        pool.create()
        assert pool.isActive()
        pool.destroy()
    finally:
        pool.undefine()


@pytest.mark.parametrize("name", sorted(DOMAIN_FILES))
def test_each_golden_domain_defines_and_its_managed_view_is_unchanged(libvirt_conn, name):
    dom = libvirt_conn.defineXML(golden(DOMAIN_FILES[name]))
    try:
        inactive = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        assert (
            landscape_xml.view_diff(
                landscape_xml.managed_view(inactive), landscape_xml.guest_view(GUESTS[name])
            )
            == ""
        )
        assert domxml.parse_landscape(ElementTree.fromstring(inactive)) == {"group": GUESTS[name]["group"]}
        if name == "db-1":
            assert dom.UUIDString() == DB1_UUID
    finally:
        dom.undefine()


def test_a_changed_guest_is_defined_again_under_its_uuid_and_the_diff_goes_away(libvirt_conn):
    dom = libvirt_conn.defineXML(landscape_xml.domain_xml(GUESTS["web-1"], "kvm"))
    try:
        with pytest.raises(libvirt.libvirtError, match="already exists with uuid"):
            libvirt_conn.defineXML(landscape_xml.domain_xml(GUESTS["web-1"], "kvm"))
        changed = dict(GUESTS["web-1"], memory=3072, vcpus=3)
        before = landscape_xml.managed_view(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        assert (
            "+memory: 3072" in landscape_xml.view_diff(before, landscape_xml.guest_view(changed)).splitlines()
        )
        again = libvirt_conn.defineXML(landscape_xml.domain_xml(changed, "kvm", uuid=dom.UUIDString()))
        after = landscape_xml.managed_view(again.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        assert landscape_xml.view_diff(after, landscape_xml.guest_view(changed)) == ""
        # Without a MAC in the XML libvirt chooses a new one at each definition...
        assert after["interfaces"][1]["mac"] != before["interfaces"][1]["mac"]
        # ...so a definition made again carries the current one over.
        kept = landscape_xml.with_current_macs(dict(changed, vcpus=4), after)
        again = libvirt_conn.defineXML(landscape_xml.domain_xml(kept, "kvm", uuid=dom.UUIDString()))
        final = landscape_xml.managed_view(again.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        assert final["vcpus"] == 4
        assert final["interfaces"][1]["mac"] == after["interfaces"][1]["mac"]
    finally:
        libvirt_conn.lookupByName("web-1").undefine()
