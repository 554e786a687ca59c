"""
The ``landscape`` formula applied through Salt's loader (``state.apply landscape``) against libvirt's
``test:///default`` driver: saltext-virt's pool and volume states, Brine's ``landscape.network`` and
``landscape.guest``, with the landscape given as pillar. A first run makes everything, a second changes
nothing, a static host added to the pillar reaches the running network live (the network is
never restarted), a changed guest shows its diff under ``test=True`` before it is redefined with
its uuid, and a domain the landscape does not name is left alone.

The test driver keeps no files and runs no dnsmasq: the lab's end-to-end test
(tests/e2e/test_landscape.py) proves the same against real libvirtd with a guest that leases.
"""

import copy

import pytest
from saltfactories.utils.functional import Loaders

from brine import landscape_apply
from support import testdriver
from support.paths import REPO

libvirt = pytest.importorskip("libvirt")

NET = "brine-sf-net"
POOL = "brine-sf-pool"
GUESTS = ("brine-sf-web-1", "brine-sf-web-2")
BYSTANDER = "brine-sf-bystander"


def landscape(host):
    return {
        "common": {"memory": 128},
        "networks": {
            NET: {
                "mode": "nat",
                "bridge": "virbr232",
                "domain": "sf.test",
                "subnet": "192.168.232.0/24",
                "gateway": "192.168.232.1",
                "dhcp": {"start": "192.168.232.100", "end": "192.168.232.199"},
            }
        },
        "pools": {POOL: {"type": "dir", "path": f"/{POOL}"}},
        "guests": {
            GUESTS[0]: {
                "host": host,
                "ip": "192.168.232.11",
                "interfaces": [{"network": NET}],
                "disks": [{"pool": POOL, "size": 1}],
            },
        },
    }


@pytest.fixture(scope="module")
def minion_opts(salt_factories, minion_id, state_tree):
    factory = salt_factories.salt_minion_daemon(
        minion_id,
        overrides={
            "file_client": "local",
            "file_roots": {"base": [str(REPO / "states")]},
            "module_dirs": [str(REPO / "_modules")],
            "states_dirs": [str(REPO / "_states")],
            "utils_dirs": [str(REPO / "_utils")],
            "virt": {"connection": {"uri": "test:///default"}},
            "brine": {"provision": {"virt_type": "qemu"}},
        },
    )
    return factory.config.copy()


@pytest.fixture(scope="module")
def loaders(minion_opts, libvirt_conn):  # pylint: disable=unused-argument
    return Loaders(minion_opts)


def _remove(conn):
    testdriver.remove(conn, (*GUESTS, BYSTANDER), [NET], [POOL])


@pytest.fixture
def clean(libvirt_conn):
    _remove(libvirt_conn)
    yield
    _remove(libvirt_conn)


def apply(loaders, pillar, test=False, elsewhere=None):
    given = {"landscape": pillar, "brine": {"landscape_elsewhere": elsewhere or {}}}
    ret = loaders.modules.state.apply("landscape", pillar=given, test=test).raw
    assert isinstance(ret, dict), ret
    return {result["name"]: result for result in ret.values()}


def test_the_formula_makes_the_landscape_then_keeps_it(loaders, libvirt_conn, minion_id, clean):
    bystander = libvirt_conn.defineXML(
        f"<domain type='test'><name>{BYSTANDER}</name><memory unit='MiB'>64</memory>"
        "<os><type>hvm</type></os></domain>"
    )
    before = bystander.XMLDesc(0)
    # A dry run on a host that has none of it yet: every state would change, none fails.
    dry = apply(loaders, landscape(minion_id), test=True)
    assert {name: r["result"] for name, r in dry.items()} == dict.fromkeys(dry, None), dry
    assert "created" in dry[f"{GUESTS[0]}-disk0.qcow2"]["changes"]
    assert NET not in libvirt_conn.listNetworks() + libvirt_conn.listDefinedNetworks()
    first = apply(loaders, landscape(minion_id))
    assert all(r["result"] is True for r in first.values()), first
    net = libvirt_conn.networkLookupByName(NET)
    assert net.isActive() and net.autostart()
    pool = libvirt_conn.storagePoolLookupByName(POOL)
    assert pool.isActive() and f"{GUESTS[0]}-disk0.qcow2" in pool.listVolumes()
    dom = libvirt_conn.lookupByName(GUESTS[0])
    # The volume's path on this host, as a file disk (what migrations and inventories understand).
    assert "<source file='/brine-sf-pool/brine-sf-web-1-disk0.qcow2'" in dom.XMLDesc(0)
    assert "ip='192.168.232.11'" in net.XMLDesc(0)

    # The pool's permissions as libvirt shows them go back to virt.pool_running (it compares).
    shown = landscape_apply.with_current_permissions(libvirt_conn, {"pools": {POOL: {"virt": {}}}})
    xml_mode = libvirt_conn.storagePoolLookupByName(POOL).XMLDesc(0).split("<mode>")[1].split("<")[0]
    assert shown["pools"][POOL]["virt"]["permissions"]["mode"] == xml_mode

    second = apply(loaders, landscape(minion_id))
    assert {name: r["changes"] for name, r in second.items() if r["changes"]} == {}, second
    assert libvirt_conn.lookupByName(BYSTANDER).XMLDesc(0) == before


def test_a_static_host_goes_live_and_a_changed_guest_shows_its_diff(loaders, libvirt_conn, minion_id, clean):
    apply(loaders, landscape(minion_id))
    net = libvirt_conn.networkLookupByName(NET)
    uuid = libvirt_conn.lookupByName(GUESTS[0]).UUIDString()
    changed = landscape(minion_id)
    changed["guests"][GUESTS[1]] = {
        "host": "elsewhere",
        "ip": "192.168.232.12",
        "interfaces": [{"network": NET}],
    }
    changed["guests"][GUESTS[0]]["memory"] = 160
    dry = apply(loaders, changed, test=True)
    assert dry[GUESTS[0]]["result"] is None, dry[NET]["comment"]
    assert "+memory: 160" in dry[GUESTS[0]]["changes"]["diff"], dry[GUESTS[0]]
    assert "192.168.232.12" in dry[NET]["comment"], dry[NET]
    assert "ip='192.168.232.12'" not in net.XMLDesc(0)

    done = apply(loaders, changed)
    assert done[NET]["result"] is True and "live" in done[NET]["comment"], done[NET]
    assert "redefined" not in done[NET]["changes"]
    assert net.isActive() and "ip='192.168.232.12'" in net.XMLDesc(0)
    assert "brine-sf-web-2.sf.test" in net.XMLDesc(0)
    dom = libvirt_conn.lookupByName(GUESTS[0])
    assert dom.UUIDString() == uuid
    assert dom.maxMemory() == 160 * 1024

    # The guest elsewhere is not this host's: only its address reached this host's network.
    with pytest.raises(libvirt.libvirtError):
        libvirt_conn.lookupByName(GUESTS[1])
    back = apply(loaders, landscape(minion_id))
    assert "ip='192.168.232.12'" not in net.XMLDesc(0) and back[NET]["result"] is True


def test_a_structural_change_is_redefined_and_said(loaders, libvirt_conn, minion_id, clean):
    apply(loaders, landscape(minion_id))
    changed = copy.deepcopy(landscape(minion_id))
    changed["networks"][NET]["domain"] = "other.test"
    changed["guests"][GUESTS[0]]["fqdn"] = "brine-sf-web-1.sf.test"
    done = apply(loaders, changed)
    assert done[NET]["changes"]["redefined"]["domain"] == {"old": "sf.test", "new": "other.test"}
    assert "restart" in done[NET]["comment"], done[NET]


def test_an_invalid_landscape_changes_nothing(loaders, libvirt_conn, minion_id, clean):
    bad = landscape(minion_id)
    bad["guests"][GUESTS[0]]["disks"][0]["size"] = 0
    ret = loaders.modules.state.apply("landscape", pillar={"landscape": bad}).raw
    assert isinstance(ret, list) and "size" in " ".join(ret), ret
    assert NET not in libvirt_conn.listNetworks() + libvirt_conn.listDefinedNetworks()


def test_a_guest_the_master_saw_on_another_host_is_not_made_again(loaders, libvirt_conn, minion_id, clean):
    """Migrated away (brine:landscape_elsewhere, from the master's VM map): not defined here, said so."""
    done = apply(loaders, landscape(minion_id), elsewhere={GUESTS[0]: ["hv9"]})
    guest = done[GUESTS[0]]
    assert guest["result"] is True and guest["changes"] == {}, guest
    assert "is on hv9" in guest["comment"] and "left alone" in guest["comment"], guest
    with pytest.raises(libvirt.libvirtError):
        libvirt_conn.lookupByName(GUESTS[0])
    # Once it is back here (defined), the landscape keeps it as before.
    apply(loaders, landscape(minion_id))
    again = apply(loaders, landscape(minion_id), elsewhere={GUESTS[0]: ["hv9"]})
    assert again[GUESTS[0]]["changes"] == {} and "left alone" not in again[GUESTS[0]]["comment"]
