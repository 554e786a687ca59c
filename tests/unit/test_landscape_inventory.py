"""
What a host has of the landscape (``brine.host_networks``, ``brine.host_pools``,
``brine.landscape_inventory``): networks and pools read from their XML (fixtures in
``files/host_landscape``), volumes' users from the domains' disks, managed names from the landscape
picture, and the start/stop/refresh actions with their refusals, against stand-in libvirt
objects. The real test driver is tests/functional/test_landscape_functional.py.
"""

import pytest

from brine import host_networks
from brine import host_pools
from brine import landscape_inventory
from brine.errors import Invalid
from brine.errors import Refused
from support.paths import REPO

libvirt = pytest.importorskip("libvirt")

FILES = REPO / "tests" / "unit" / "files" / "host_landscape"


def fixture(name):
    return (FILES / name).read_text()


def libvirt_error(code, message="libvirt says no"):
    err = libvirt.libvirtError(message)
    err.get_error_code = lambda: code
    err.get_error_message = lambda: message
    return err


def named(xml_text, name):
    """``xml_text`` with its first ``<name>`` replaced."""
    start, end = xml_text.index("<name>") + len("<name>"), xml_text.index("</name>")
    return xml_text[:start] + name + xml_text[end:]


class FakeNetwork:
    def __init__(self, xml_text, active=True, autostart=True, persistent=True, leases=None):
        self.xml, self.active, self.auto, self.persistent = xml_text, active, autostart, persistent
        self.lease_list = leases if leases is not None else []
        self.calls = []
        self.gone = False

    def name(self):
        return host_networks.parse(self.xml)["name"]

    def _check(self):
        if self.gone:
            raise libvirt_error(libvirt.VIR_ERR_NO_NETWORK, "Network not found")

    def isActive(self):
        self._check()
        return int(self.active)

    def autostart(self):
        return int(self.auto)

    def isPersistent(self):
        return int(self.persistent)

    def XMLDesc(self, flags=0):
        self._check()
        return self.xml

    def DHCPLeases(self):
        self.calls.append("DHCPLeases")
        if isinstance(self.lease_list, Exception):
            raise self.lease_list
        return self.lease_list

    def create(self):
        self.calls.append("create")
        self.active = True

    def destroy(self):
        self.calls.append("destroy")
        self.active = False


class FakeVolume:
    def __init__(self, xml_text, gone=False):
        self.xml, self.gone = xml_text, gone

    def name(self):
        return host_pools.parse_volume(self.xml)["name"]

    def XMLDesc(self, flags=0):
        if self.gone:
            raise libvirt_error(libvirt.VIR_ERR_NO_STORAGE_VOL, "Storage volume not found")
        return self.xml


class FakePool:
    def __init__(self, xml_text, volumes=(), active=True, autostart=False, persistent=True, info=None):
        self.xml, self.vols, self.active, self.auto, self.persistent = (
            xml_text,
            list(volumes),
            active,
            autostart,
            persistent,
        )
        self.sizes = info or [2, 100, 40, 60]
        self.calls = []

    def name(self):
        return host_pools.parse_pool(self.xml)["name"]

    def isActive(self):
        return int(self.active)

    def autostart(self):
        return int(self.auto)

    def isPersistent(self):
        return int(self.persistent)

    def XMLDesc(self, flags=0):
        return self.xml

    def info(self):
        return self.sizes

    def listAllVolumes(self, flags=0):
        self.calls.append("listAllVolumes")
        if not self.active:
            raise libvirt_error(libvirt.VIR_ERR_OPERATION_INVALID, "storage pool is not active")
        return self.vols

    def create(self, flags=0):
        self.calls.append(("create", flags))
        self.active = True

    def destroy(self):
        self.calls.append("destroy")
        self.active = False

    def refresh(self, flags=0):
        self.calls.append(("refresh", flags))


class FakeDomain:
    def __init__(self, xml_text):
        self.xml = xml_text
        self.flags = []

    def name(self):
        return host_pools.disk_references(self.xml)[0]

    def XMLDesc(self, flags=0):
        self.flags.append(flags)
        return self.xml


class FakeConn:
    def __init__(self, networks=(), pools=(), domains=()):
        self.networks, self.pools, self.domains = list(networks), list(pools), list(domains)

    def listAllNetworks(self, flags=0):
        assert flags == 0  # active or not
        return self.networks

    def listAllStoragePools(self, flags=0):
        assert flags == 0
        return self.pools

    def listAllDomains(self, flags=0):
        assert flags == 0
        return self.domains

    def networkLookupByName(self, name):
        for network in self.networks:
            if network.name() == name and not network.gone:
                return network
        raise libvirt_error(libvirt.VIR_ERR_NO_NETWORK, f"Network not found: {name}")

    def storagePoolLookupByName(self, name):
        for pool in self.pools:
            if pool.name() == name:
                return pool
        raise libvirt_error(libvirt.VIR_ERR_NO_STORAGE_POOL, f"Storage pool not found: {name}")


NOTHING = {"networks": set(), "pools": set()}


# -- networks: the XML ---------------------------------------------------------------------------


def test_a_nat_network_reads_its_first_ipv4_address_dhcp_and_dns():
    assert host_networks.parse(fixture("network-nat.xml")) == {
        "name": "service",
        "mode": "nat",
        "bridge": "virbr1",
        "domain": "example.com",
        "forward_dev": None,
        "subnet": "192.168.155.0/24",
        "gateway": "192.168.155.1",
        "dhcp": {"start": "192.168.155.100", "end": "192.168.155.199"},
        "static_hosts": [
            {"mac": "52:54:00:0a:0b:0c", "ip": "192.168.155.11", "name": "web-1"},
            {"mac": "52:54:00:0a:0b:0d", "ip": "192.168.155.12", "name": "web-2"},
        ],
        "dns_hosts": [
            {"ip": "192.168.155.1", "hostnames": ["gw", "ks"]},
            {"ip": "192.168.155.5", "hostnames": ["mirror"]},
        ],
    }


def test_an_isolated_network_has_no_forward_and_a_prefix_without_dhcp():
    parsed = host_networks.parse(fixture("network-isolated.xml"))
    assert (parsed["mode"], parsed["bridge"], parsed["domain"]) == ("isolated", "virbr2", None)
    assert (parsed["subnet"], parsed["gateway"]) == ("10.20.0.0/24", "10.20.0.1")
    assert (parsed["dhcp"], parsed["static_hosts"], parsed["dns_hosts"]) == (None, [], [])


def test_a_bridged_network_has_the_hosts_bridge_and_no_addresses():
    parsed = host_networks.parse(fixture("network-bridge.xml"))
    assert (parsed["mode"], parsed["bridge"], parsed["subnet"], parsed["gateway"]) == (
        "bridge",
        "br0",
        None,
        None,
    )
    assert parsed["dhcp"] is None


@pytest.mark.parametrize(
    ("forward", "mode"),
    [
        ("<forward/>", "nat"),  # libvirt's default mode
        ("<forward mode='route'/>", "route"),
        ("<forward mode='open'/>", "open"),
        ("<forward mode='nat'/>", "nat"),
        ("", "isolated"),
    ],
)
def test_the_mode_is_the_forward_mode(forward, mode):
    assert host_networks.parse(f"<network><name>n</name>{forward}</network>")["mode"] == mode


def test_forward_modes_brine_does_not_name_are_other():
    assert host_networks.parse(fixture("network-hostdev.xml"))["mode"] == "other"


# -- networks: state and leases ---------------------------------------------------------------


LEASES = [
    {"type": 1, "mac": "52:54:00:0a:0b:0c", "ipaddr": "fd00:155::111", "hostname": "web-1", "expirytime": 9},
    {"type": 0, "mac": "52:54:00:0A:0B:0D", "ipaddr": "192.168.155.12", "hostname": "web-2", "expirytime": 8},
    {"type": 0, "mac": "52:54:00:0a:0b:0c", "ipaddr": "192.168.155.11", "hostname": None, "expirytime": 7},
]


def test_an_active_network_carries_its_state_and_leases_ipv4_first():
    network = FakeNetwork(fixture("network-nat.xml"), autostart=False, leases=LEASES)
    described = host_networks.describe(network, {"service"})
    assert {key: described[key] for key in ("name", "active", "autostart", "persistent", "managed")} == {
        "name": "service",
        "active": True,
        "autostart": False,
        "persistent": True,
        "managed": True,
    }
    assert described["leases"] == [
        {"mac": "52:54:00:0a:0b:0c", "ip": "192.168.155.11", "hostname": None, "expires": 7},
        {"mac": "52:54:00:0a:0b:0d", "ip": "192.168.155.12", "hostname": "web-2", "expires": 8},
        {"mac": "52:54:00:0a:0b:0c", "ip": "fd00:155::111", "hostname": "web-1", "expires": 9},
    ]
    assert list(described) == [
        "name", "active", "autostart", "persistent", "managed", "mode", "bridge", "domain",
        "forward_dev", "subnet", "gateway", "dhcp", "static_hosts", "dns_hosts", "leases",
    ]  # fmt: skip


def test_an_inactive_network_has_no_leases_and_is_not_asked_for_them():
    network = FakeNetwork(fixture("network-nat.xml"), active=False, leases=LEASES)
    described = host_networks.describe(network, set())
    assert (described["active"], described["managed"], described["leases"]) == (False, False, [])
    assert "DHCPLeases" not in network.calls


def test_leases_are_best_effort():
    unsupported = libvirt_error(libvirt.VIR_ERR_NO_SUPPORT, "not supported")
    network = FakeNetwork(fixture("network-nat.xml"), leases=unsupported)
    assert host_networks.describe(network, set())["leases"] == []


def test_every_network_by_name_and_one_that_went_away_is_left_out():
    gone = FakeNetwork(named(fixture("network-nat.xml"), "gone"))
    gone.gone = True
    conn = FakeConn(
        networks=[FakeNetwork(fixture("network-nat.xml")), gone, FakeNetwork(fixture("network-bridge.xml"))]
    )
    assert [network["name"] for network in host_networks.list_all(conn, set())] == ["lan", "service"]


def test_other_libvirt_errors_while_listing_networks_are_not_hidden():
    class Broken(FakeNetwork):
        def XMLDesc(self, flags=0):
            raise libvirt_error(libvirt.VIR_ERR_INTERNAL_ERROR, "boom")

    with pytest.raises(libvirt.libvirtError):
        host_networks.list_all(FakeConn(networks=[Broken(fixture("network-nat.xml"))]), set())


# -- pools: volumes and their users ---------------------------------------------------------------


def test_a_volume_reads_its_path_format_and_sizes_in_bytes():
    assert host_pools.parse_volume(fixture("volume-qcow2.xml")) == {
        "name": "web-1-disk0.qcow2",
        "path": "/srv/images/web-1-disk0.qcow2",
        "format": "qcow2",
        "capacity": 10737418240,
        "allocation": 1073741824,
    }
    other_unit = (
        "<volume><name>v</name><capacity unit='KiB'>4</capacity><allocation>512</allocation></volume>"
    )
    assert host_pools.parse_volume(other_unit) == {
        "name": "v",
        "path": None,
        "format": None,
        "capacity": 4096,
        "allocation": 512,
    }


def test_a_domain_refers_to_volumes_by_path_and_by_pool_and_volume():
    name, paths, volumes = host_pools.disk_references(fixture("domain-disks.xml"))
    assert name == "web-1"
    # The path as written is normalised; the cdrom without a source and the network disk name none.
    assert paths == {"/srv/images/web-1-disk0.qcow2", "/dev/vg0/web-1-swap"}
    assert volumes == {("images", "web-data.img")}


def volume_xml(name, path, fmt="raw"):
    return (
        f"<volume><name>{name}</name><capacity unit='bytes'>10</capacity>"
        f"<allocation unit='bytes'>5</allocation><target><path>{path}</path>"
        f"<format type='{fmt}'/></target></volume>"
    )


def domain_with_disk(name, disk):
    return f"<domain><name>{name}</name><devices>{disk}</devices></domain>"


def test_users_are_every_domain_on_a_volume_by_either_reference_sorted():
    users = host_pools.Users(
        [
            fixture("domain-disks.xml"),
            domain_with_disk("db-1", "<disk type='file'><source file='/srv/images/web-data.img'/></disk>"),
            domain_with_disk("app-1", "<disk type='file'><source file='/srv/images/web-data.img'/></disk>"),
        ]
    )
    assert users.of("images", "web-data.img", "/srv/images/web-data.img") == ["app-1", "db-1", "web-1"]
    assert users.of("images", "web-1-disk0.qcow2", "/srv/images/web-1-disk0.qcow2") == ["web-1"]
    # A volume of the same name in another pool is another volume.
    assert users.of("other", "web-data.img", "/srv/other/web-data.img") == []
    assert users.of("images", "free.img", None) == []


def test_an_active_pool_has_its_sizes_and_volumes_with_their_users():
    pool = FakePool(
        fixture("pool-dir.xml"),
        volumes=[
            FakeVolume(volume_xml("web-data.img", "/srv/images/web-data.img")),
            FakeVolume(fixture("volume-qcow2.xml")),
        ],
        info=[2, 107374182400, 21474836480, 85899345920],
    )
    users = host_pools.Users([fixture("domain-disks.xml")])
    assert host_pools.describe(pool, {"images"}, users) == {
        "name": "images",
        "type": "dir",
        "active": True,
        "autostart": False,
        "persistent": True,
        "managed": True,
        "path": "/srv/images",
        "capacity": 107374182400,
        "allocation": 21474836480,
        "available": 85899345920,
        "volumes": [
            {
                "name": "web-1-disk0.qcow2",
                "path": "/srv/images/web-1-disk0.qcow2",
                "format": "qcow2",
                "capacity": 10737418240,
                "allocation": 1073741824,
                "users": ["web-1"],
            },
            {
                "name": "web-data.img",
                "path": "/srv/images/web-data.img",
                "format": "raw",
                "capacity": 10,
                "allocation": 5,
                "users": ["web-1"],
            },
        ],
    }


def test_an_inactive_pool_has_no_sizes_and_no_volumes():
    pool = FakePool(fixture("pool-dir.xml"), volumes=[FakeVolume(fixture("volume-qcow2.xml"))], active=False)
    described = host_pools.describe(pool, set(), host_pools.Users())
    assert (described["capacity"], described["allocation"], described["available"]) == (None, None, None)
    assert (described["active"], described["managed"], described["volumes"]) == (False, False, [])
    assert "listAllVolumes" not in pool.calls


def test_a_pool_stopped_while_it_is_described_is_inactive():
    class Stopping(FakePool):
        def listAllVolumes(self, flags=0):
            self.active = False
            return super().listAllVolumes(flags)

    described = host_pools.describe(Stopping(fixture("pool-dir.xml")), set(), host_pools.Users())
    assert (described["active"], described["capacity"], described["volumes"]) == (False, None, [])


def test_a_volume_deleted_while_the_pool_is_described_is_left_out():
    pool = FakePool(
        fixture("pool-dir.xml"),
        volumes=[
            FakeVolume(fixture("volume-qcow2.xml"), gone=True),
            FakeVolume(volume_xml("b", "/srv/images/b")),
        ],
    )
    assert [v["name"] for v in host_pools.describe(pool, set(), host_pools.Users())["volumes"]] == ["b"]


def test_every_domains_inactive_xml_is_read_once_per_call_not_once_per_volume():
    domains = [
        FakeDomain(fixture("domain-disks.xml")),
        FakeDomain(domain_with_disk("db-1", "<disk type='file'><source file='/srv/b/one.img'/></disk>")),
    ]
    pools = [
        FakePool(fixture("pool-dir.xml"), volumes=[FakeVolume(fixture("volume-qcow2.xml"))]),
        FakePool(
            named(fixture("pool-dir.xml"), "b"),
            volumes=[
                FakeVolume(volume_xml("one.img", "/srv/b/one.img")),
                FakeVolume(volume_xml("two", "/srv/b/2")),
            ],
        ),
    ]
    found = host_pools.list_all(FakeConn(pools=pools, domains=domains), {"b"})
    assert [(pool["name"], pool["managed"]) for pool in found] == [("b", True), ("images", False)]
    assert [v["users"] for v in found[0]["volumes"]] == [["db-1"], []]
    assert found[1]["volumes"][0]["users"] == ["web-1"]
    assert [dom.flags for dom in domains] == [[libvirt.VIR_DOMAIN_XML_INACTIVE]] * 2


# -- managed: the landscape picture --------------------------------------------------------------------


def test_no_landscape_manages_nothing_and_asks_no_picture():
    def picture(layers, host):
        raise AssertionError("no landscape, no picture")

    assert landscape_inventory.managed_names(picture, {}, "hv1") == (NOTHING, None)


def test_the_picture_of_the_host_names_what_is_managed():
    asked = []

    def picture(layers, host):
        asked.append((layers, host))
        return {"host": host, "networks": {"service": {}}, "pools": {"images": {}, "iso": {}}, "guests": {}}

    layers = {"networks": {"service": {"mode": "nat"}}}
    assert landscape_inventory.managed_names(picture, layers, "hv1") == (
        {"networks": {"service"}, "pools": {"images", "iso"}},
        None,
    )
    assert asked == [(layers, "hv1")]


def test_an_invalid_landscape_manages_nothing_and_says_why():
    def picture(layers, host):
        raise Invalid("guest web-1: ip 10.0.0.5 is outside the subnet of network service")

    assert landscape_inventory.managed_names(picture, {"guests": {}}, "hv1") == (
        NOTHING,
        "guest web-1: ip 10.0.0.5 is outside the subnet of network service",
    )


def test_a_failing_picture_does_not_fail_the_inventory(caplog):
    def picture(layers, host):
        raise KeyError("mode")

    managed, error = landscape_inventory.managed_names(picture, {"networks": {}}, "hv1")
    assert managed == NOTHING
    assert error == "the landscape picture could not be made: KeyError: 'mode'"
    assert "The landscape picture of hv1 failed" in caplog.text


def test_a_landscape_error_is_added_only_when_there_is_one():
    assert landscape_inventory.with_landscape_error({"networks": []}, None) == {"networks": []}
    assert landscape_inventory.with_landscape_error({"pools": []}, "bad") == {
        "pools": [],
        "landscape_error": "bad",
    }


# -- actions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["service", "lab-net.1", "a+b", 7])
def test_names_follow_the_vm_name_rule(name):
    assert landscape_inventory.object_name(name, "network") == str(name)


@pytest.mark.parametrize("name", ["../etc", "a/b", "", "-x", ".hidden", "x" * 65, "net\n", None, True])
@pytest.mark.parametrize("kind", ["network", "pool"])
def test_bad_names_are_invalid_naming_the_kind(name, kind):
    with pytest.raises(Invalid) as invalid:
        landscape_inventory.object_name(name, kind)
    assert f"is not a valid {landscape_inventory.NOUNS[kind]} name" in invalid.value.sentence


def conn_with(network_active=True, pool_active=True, network_persistent=True):
    return FakeConn(
        networks=[
            FakeNetwork(fixture("network-nat.xml"), active=network_active, persistent=network_persistent)
        ],
        pools=[FakePool(fixture("pool-dir.xml"), active=pool_active)],
    )


@pytest.mark.parametrize(
    ("kind", "code", "sentence"),
    [
        ("network", "no_network", "There is no network named ghost on hv1"),
        ("pool", "no_pool", "There is no storage pool named ghost on hv1"),
    ],
)
def test_an_unknown_name_is_refused_with_its_kinds_code(kind, code, sentence):
    with pytest.raises(Refused) as refused:
        landscape_inventory.act(conn_with(), kind, "start", "ghost", "hv1", NOTHING)
    assert (refused.value.code, refused.value.sentence) == (code, sentence)


@pytest.mark.parametrize(
    ("kind", "action", "name", "active", "sentence"),
    [
        ("network", "start", "service", True, "The network service is already active on hv1"),
        ("network", "stop", "service", False, "The network service is not active on hv1"),
        ("pool", "start", "images", True, "The storage pool images is already active on hv1"),
        ("pool", "stop", "images", False, "The storage pool images is not active on hv1"),
        (
            "pool",
            "refresh",
            "images",
            False,
            "The storage pool images is not active on hv1; start it before refreshing it",
        ),
    ],
)
def test_an_action_the_state_does_not_allow_is_wrong_state_and_changes_nothing(
    kind, action, name, active, sentence
):
    conn = conn_with(network_active=active, pool_active=active)
    with pytest.raises(Refused) as refused:
        landscape_inventory.act(conn, kind, action, name, "hv1", NOTHING)
    assert (refused.value.code, refused.value.sentence) == ("wrong_state", sentence)
    assert conn.networks[0].calls == [] and conn.pools[0].calls == []


def test_starting_and_stopping_a_network_returns_its_dict_afterwards():
    conn = conn_with(network_active=False)
    managed = {"networks": {"service"}, "pools": set()}
    started = landscape_inventory.act(conn, "network", "start", "service", "hv1", managed)
    assert (started["name"], started["active"], started["managed"]) == ("service", True, True)
    stopped = landscape_inventory.act(conn, "network", "stop", "service", "hv1", managed)
    assert (stopped["active"], stopped["leases"]) == (False, [])
    assert conn.networks[0].calls[0] == "create" and "destroy" in conn.networks[0].calls


def test_pool_actions_call_libvirt_and_return_the_pools_dict():
    conn = conn_with(pool_active=False)
    started = landscape_inventory.act(conn, "pool", "start", "images", "hv1", NOTHING)
    assert started["active"] is True and started["capacity"] == 100
    refreshed = landscape_inventory.act(conn, "pool", "refresh", "images", "hv1", NOTHING)
    assert refreshed["active"] is True
    stopped = landscape_inventory.act(conn, "pool", "stop", "images", "hv1", NOTHING)
    assert (stopped["active"], stopped["volumes"], stopped["capacity"]) == (False, [], None)
    assert [c for c in conn.pools[0].calls if c != "listAllVolumes"] == [
        ("create", 0),
        ("refresh", 0),
        "destroy",
    ]


def test_a_transient_network_a_stop_removes_is_answered_as_it_was_inactive():
    network = FakeNetwork(fixture("network-nat.xml"), persistent=False, leases=LEASES)
    conn = FakeConn(networks=[network])
    original_destroy = network.destroy

    def destroy():
        original_destroy()
        network.gone = True  # libvirt forgets a transient network once it stops

    network.destroy = destroy
    stopped = landscape_inventory.act(conn, "network", "stop", "service", "hv1", NOTHING)
    assert (stopped["name"], stopped["active"], stopped["persistent"], stopped["leases"]) == (
        "service",
        False,
        False,
        [],
    )
    assert stopped["subnet"] == "192.168.155.0/24"


def test_an_action_a_kind_does_not_offer_is_a_programming_error():
    with pytest.raises(ValueError):
        landscape_inventory.act(conn_with(), "network", "refresh", "service", "hv1", NOTHING)
