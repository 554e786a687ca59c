"""
The host's ``landscape`` execution module, loaded by Salt's loader with a landscape pillar, against
libvirt's ``test:///default`` driver: a second network with DHCP static hosts and DNS hosts, a
directory pool with volumes that domains use by path and by ``<source pool volume>``, beside the
driver's own ``default`` network and ``default-pool`` (which the landscape does not define).

What the test driver cannot do: it keeps no DHCP leases (every ``leases`` is [] here; the lease
mapping is in tests/unit/test_landscape_inventory.py), and its volumes live in memory.
"""

import pytest
import yaml
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError
from saltfactories.utils.functional import Loaders

from support import testdriver
from support.paths import REPO

libvirt = pytest.importorskip("libvirt")

NET = "brine-landscape-net"
POOL = "brine-landscape-pool"
VMS = ("brine-landscape-a", "brine-landscape-b", "brine-landscape-c")
LANDSCAPE = {
    "networks": {NET: {"mode": "nat", "subnet": "192.168.231.0/24", "gateway": "192.168.231.1"}},
    "pools": {POOL: {"type": "dir", "path": f"/{POOL}"}},
}
NETWORK_XML = f"""
<network>
  <name>{NET}</name>
  <forward mode='nat'/>
  <bridge name='virbr231'/>
  <domain name='landscape.test'/>
  <dns>
    <host ip='192.168.231.1'><hostname>gw</hostname><hostname>ks</hostname></host>
  </dns>
  <ip address='192.168.231.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.231.100' end='192.168.231.199'/>
      <host mac='52:54:00:23:01:0A' name='web-1' ip='192.168.231.11'/>
      <host mac='52:54:00:23:01:0b' name='web-2' ip='192.168.231.12'/>
    </dhcp>
  </ip>
</network>
"""


def domain_xml(name, disk):
    return (
        f"<domain type='test'><name>{name}</name><memory unit='MiB'>64</memory>"
        f"<os><type>hvm</type></os><devices>{disk}</devices></domain>"
    )


@pytest.fixture(scope="module")
def pillar_tree(tmp_path_factory):
    path = tmp_path_factory.mktemp("pillar-tree")
    (path / "top.sls").write_text(yaml.safe_dump({"base": {"*": ["landscape"]}}))
    (path / "landscape.sls").write_text(yaml.safe_dump({"landscape": LANDSCAPE}))
    return path


@pytest.fixture(scope="module")
def minion_opts(salt_factories, minion_id, state_tree, pillar_tree):
    """The functional tier's minion (tests/functional/conftest.py) with the landscape as its pillar."""
    factory = salt_factories.salt_minion_daemon(
        minion_id,
        overrides={
            "file_client": "local",
            "file_roots": {"base": [str(state_tree)]},
            "pillar_roots": {"base": [str(pillar_tree)]},
            "module_dirs": [str(REPO / "_modules")],
            "utils_dirs": [str(REPO / "_utils")],
            "virt": {"connection": {"uri": "test:///default"}},
        },
    )
    return factory.config.copy()


@pytest.fixture(scope="module")
def loaders(minion_opts, libvirt_conn):  # pylint: disable=unused-argument
    return Loaders(minion_opts)


def _remove(libvirt_conn):
    testdriver.remove(libvirt_conn, VMS, [NET], [POOL])


@pytest.fixture
def landscape(modules, libvirt_conn):
    """The landscape's network and pool defined and active, with volumes the domains use; removed after."""
    _remove(libvirt_conn)
    network = libvirt_conn.networkDefineXML(NETWORK_XML)
    network.create()
    pool = libvirt_conn.storagePoolDefineXML(
        f"<pool type='dir'><name>{POOL}</name><target><path>/{POOL}</path></target></pool>"
    )
    pool.setAutostart(1)
    pool.create(0)
    for name, fmt in (("disk0.qcow2", "qcow2"), ("free.img", "raw")):
        pool.createXML(
            f"<volume><name>{name}</name><capacity unit='MiB'>64</capacity>"
            f"<target><format type='{fmt}'/></target></volume>",
            0,
        )
    by_path = (
        f"<disk type='file' device='disk'><source file='/{POOL}/disk0.qcow2'/><target dev='vda'/></disk>"
    )
    by_volume = (
        f"<disk type='volume' device='disk'><source pool='{POOL}' volume='disk0.qcow2'/>"
        "<target dev='vda'/></disk>"
    )
    elsewhere = (
        "<disk type='file' device='disk'><source file='/elsewhere/free.img'/><target dev='vda'/></disk>"
    )
    for name, disk in zip(VMS, (by_path, by_volume, elsewhere), strict=True):
        libvirt_conn.defineXML(domain_xml(name, disk))
    libvirt_conn.lookupByName(VMS[0]).create()  # a running user counts too
    yield modules.landscape
    libvirt_conn.lookupByName(VMS[0]).destroy()
    _remove(libvirt_conn)


def by_name(items, name):
    return next(item for item in items if item["name"] == name)


def test_networks_describe_the_landscapes_network_and_the_drivers_own(landscape):
    answer = landscape.networks()
    assert set(answer) == {"networks"}
    assert by_name(answer["networks"], NET) == {
        "name": NET,
        "active": True,
        "autostart": False,
        "persistent": True,
        "managed": True,
        "mode": "nat",
        "bridge": "virbr231",
        "domain": "landscape.test",
        "forward_dev": None,
        "subnet": "192.168.231.0/24",
        "gateway": "192.168.231.1",
        "dhcp": {"start": "192.168.231.100", "end": "192.168.231.199"},
        "static_hosts": [
            {"mac": "52:54:00:23:01:0a", "ip": "192.168.231.11", "name": "web-1"},
            {"mac": "52:54:00:23:01:0b", "ip": "192.168.231.12", "name": "web-2"},
        ],
        "dns_hosts": [{"ip": "192.168.231.1", "hostnames": ["gw", "ks"]}],
        "leases": [],
    }
    default = by_name(answer["networks"], "default")
    assert (default["managed"], default["mode"], default["subnet"]) == (False, "nat", "192.168.122.0/24")


def test_pools_describe_volumes_with_the_domains_that_use_them(landscape):
    answer = landscape.pools()
    pool = by_name(answer["pools"], POOL)
    assert {key: pool[key] for key in ("type", "active", "autostart", "persistent", "managed", "path")} == {
        "type": "dir",
        "active": True,
        "autostart": True,
        "persistent": True,
        "managed": True,
        "path": f"/{POOL}",
    }
    assert pool["capacity"] > 0 and pool["allocation"] >= 2 * 64 * 1024**2 and pool["available"] >= 0
    assert pool["volumes"] == [
        {
            "name": "disk0.qcow2",
            "path": f"/{POOL}/disk0.qcow2",
            "format": "qcow2",
            "capacity": 64 * 1024**2,
            "allocation": 64 * 1024**2,
            "users": ["brine-landscape-a", "brine-landscape-b"],
        },
        {
            "name": "free.img",
            "path": f"/{POOL}/free.img",
            "format": "raw",
            "capacity": 64 * 1024**2,
            "allocation": 64 * 1024**2,
            "users": [],
        },
    ]
    assert by_name(answer["pools"], "default-pool")["managed"] is False


def test_a_network_stops_and_starts_once_each(landscape, libvirt_conn):
    stopped = landscape.network_stop(NET)
    assert (stopped["name"], stopped["active"], stopped["leases"], stopped["managed"]) == (
        NET,
        False,
        [],
        True,
    )
    assert not libvirt_conn.networkLookupByName(NET).isActive()
    with pytest.raises(CommandExecutionError, match=rf"\[wrong_state\] The network {NET} is not active on "):
        landscape.network_stop(NET)
    started = landscape.network_start(NET)
    assert started["active"] is True and started["subnet"] == "192.168.231.0/24"
    with pytest.raises(
        CommandExecutionError, match=rf"\[wrong_state\] The network {NET} is already active on "
    ):
        landscape.network_start(NET)


def test_a_pool_stops_refreshes_only_when_active_and_starts(landscape, libvirt_conn):
    stopped = landscape.pool_stop(POOL)
    assert (stopped["active"], stopped["capacity"], stopped["available"], stopped["volumes"]) == (
        False,
        None,
        None,
        [],
    )
    assert not libvirt_conn.storagePoolLookupByName(POOL).isActive()
    with pytest.raises(CommandExecutionError, match=r"\[wrong_state\] .* start it before refreshing it"):
        landscape.pool_refresh(POOL)
    with pytest.raises(CommandExecutionError, match=r"\[wrong_state\] .* is not active on "):
        landscape.pool_stop(POOL)
    started = landscape.pool_start(POOL)
    assert started["active"] is True and [v["name"] for v in started["volumes"]] == [
        "disk0.qcow2",
        "free.img",
    ]
    refreshed = landscape.pool_refresh(POOL)
    assert refreshed["active"] is True and by_name(refreshed["volumes"], "disk0.qcow2")["users"] == list(
        VMS[:2]
    )
    with pytest.raises(CommandExecutionError, match=r"\[wrong_state\] .* is already active on "):
        landscape.pool_start(POOL)


def test_a_transient_network_a_stop_removes_is_answered_inactive(landscape, libvirt_conn):
    transient = "brine-landscape-transient"
    libvirt_conn.networkCreateXML(
        f"<network><name>{transient}</name><ip address='192.168.232.1' netmask='255.255.255.0'/></network>"
    )
    try:
        stopped = landscape.network_stop(transient)
    finally:
        for network in libvirt_conn.listAllNetworks(0):
            if network.name() == transient:
                network.destroy()
    assert (stopped["name"], stopped["active"], stopped["persistent"], stopped["mode"]) == (
        transient,
        False,
        False,
        "isolated",
    )
    assert transient not in [network.name() for network in libvirt_conn.listAllNetworks(0)]


@pytest.mark.parametrize(
    ("action", "code", "sentence"),
    [
        ("network_start", "no_network", "There is no network named brine-ghost on "),
        ("network_stop", "no_network", "There is no network named brine-ghost on "),
        ("pool_start", "no_pool", "There is no storage pool named brine-ghost on "),
        ("pool_stop", "no_pool", "There is no storage pool named brine-ghost on "),
        ("pool_refresh", "no_pool", "There is no storage pool named brine-ghost on "),
    ],
)
def test_unknown_names_are_refused_with_their_kinds_code(landscape, action, code, sentence):
    with pytest.raises(CommandExecutionError, match=rf"^\[{code}\] {sentence}"):
        getattr(landscape, action)("brine-ghost")


@pytest.mark.parametrize("name", ["../etc", "a/b", "", "-x", "x" * 65])
def test_bad_names_are_refused_and_nothing_changes(landscape, libvirt_conn, name):
    with pytest.raises(SaltInvocationError, match=r"^\[invalid_argument\] .* is not a valid network name"):
        landscape.network_stop(name)
    with pytest.raises(SaltInvocationError, match=r"is not a valid storage pool name"):
        landscape.pool_stop(name)
    assert (
        libvirt_conn.networkLookupByName(NET).isActive()
        and libvirt_conn.storagePoolLookupByName(POOL).isActive()
    )
