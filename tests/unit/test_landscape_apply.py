"""
The landscape kept true on a host (``brine.landscape_apply``): which of a network's differences are live
host updates and which need its definition changed, the updates' order and snippets, and the
plan the landscape formula renders (pools' saltext-virt arguments, every volume once). The states
themselves run against libvirt in tests/functional/test_landscape_states_functional.py.
"""

import copy

from brine import landscape_apply
from support.landscape_pictures import GUESTS
from support.landscape_pictures import NETWORKS
from support.landscape_pictures import POOLS


def described(net):
    """The host module's description of ``net`` as libvirt would have it defined."""
    dhcp, dns = landscape_apply.desired_hosts(net)
    return {
        "name": net["name"],
        "mode": net["mode"],
        "bridge": net["bridge"],
        "domain": net["domain"],
        "forward_dev": net["forward_dev"],
        "subnet": net["subnet"],
        "gateway": net["gateway"],
        "dhcp": net["dhcp"],
        "static_hosts": list(dhcp.values()),
        "dns_hosts": [{"ip": ip, "hostnames": names} for ip, names in dns.items()],
    }


def test_a_network_as_the_landscape_describes_it_needs_nothing():
    net = NETWORKS["service"]
    assert landscape_apply.structure_changes(net, described(net)) == {}
    assert landscape_apply.host_updates(net, described(net)) == []


def test_a_new_static_host_is_an_add_and_a_gone_one_a_delete_deletions_first():
    net = NETWORKS["service"]
    have = described(net)
    want = copy.deepcopy(net)
    gone = want["static_hosts"].pop(0)
    want["static_hosts"].append(
        {"mac": "52:54:00:aa:bb:cc", "ip": "192.168.155.13", "name": "web-3", "guest": "web-3"}
    )
    updates = landscape_apply.host_updates(want, have)
    assert [(command, section) for command, section, _xml, _s in updates] == [
        ("delete", "dhcp"),
        ("add", "dhcp"),
    ]
    assert f'mac="{gone["mac"]}"' in updates[0][2] or f"mac='{gone['mac']}'" in updates[0][2]
    assert "192.168.155.13" in updates[1][2] and "web-3" in updates[1][3]


def test_a_changed_dns_name_is_the_old_entry_deleted_and_the_new_added():
    net = NETWORKS["service"]
    have = described(net)
    want = copy.deepcopy(net)
    want["dns_hosts"][0]["hostnames"] = ["gw"]
    updates = landscape_apply.host_updates(want, have)
    assert [(c, s) for c, s, _x, _t in updates] == [("delete", "dns"), ("add", "dns")]
    assert "<hostname>ks</hostname>" in updates[0][2] and "<hostname>ks</hostname>" not in updates[1][2]


def test_the_range_the_domain_and_the_subnet_are_structure_not_hosts():
    net = NETWORKS["service"]
    have = described(net)
    want = dict(net, domain="other.example.com", dhcp={"start": "192.168.155.150", "end": "192.168.155.199"})
    assert sorted(landscape_apply.structure_changes(want, have)) == ["dhcp", "domain"]
    assert landscape_apply.host_updates(want, have) == []


def test_a_bridge_left_to_libvirt_is_not_compared():
    net = dict(NETWORKS["service"], bridge=None)
    have = dict(described(NETWORKS["service"]), bridge="virbr7")
    assert landscape_apply.structure_changes(net, have) == {}
    assert landscape_apply.structure_changes(dict(net, bridge="virbr9"), have) == {
        "bridge": ("virbr7", "virbr9")
    }


def test_the_plan_gives_each_pool_its_state_arguments_and_each_volume_once():
    picture = {
        "host": "hv1",
        "networks": {},
        "pools": {"images": POOLS["images"]},
        "guests": {"web-1": GUESTS["web-1"]},
    }
    plan = landscape_apply.plan(picture)
    assert plan["pools"]["images"]["virt"]["ptype"] == "dir"
    names = [(v["pool"], v["name"]) for v in plan["volumes"]]
    assert len(names) == len(set(names))
    pool_volumes = [(("images", v["name"])) for v in POOLS["images"]["volumes"]]
    assert names[: len(pool_volumes)] == pool_volumes
    sized = [d for d in GUESTS["web-1"]["disks"] if d["pool"] and d["size_gib"]]
    for disk in sized:
        assert (disk["pool"], disk["vol"]) in names
    for volume in plan["volumes"]:
        assert set(volume) == {"pool", "name", "size_gib", "format"} and volume["size_gib"] >= 1


def test_an_outcome_under_test_is_pending_and_says_what_would_change():
    out = landscape_apply.Outcome(test=True)
    assert out.comment("as described") == "as described" and out.result is True
    out.change("started", True, "Network x started.")
    assert out.result is None and out.comment("") == "Network x started."


def test_the_plan_names_a_guests_vars_but_never_carries_their_values():
    guest = dict(GUESTS["web-1"], vars={"rootpw": "s3cret-hash", "role": "web"})
    plan = landscape_apply.plan({"host": "hv1", "networks": {}, "pools": {}, "guests": {"web-1": guest}})
    assert plan["guests"]["web-1"]["vars"] == ["role", "rootpw"]
    assert "s3cret-hash" not in repr(plan)


def test_the_plan_marks_a_guest_the_master_saw_elsewhere_but_not_here():
    picture = {"host": "hv1", "networks": {}, "pools": {}, "guests": {"web-1": GUESTS["web-1"]}}
    plan = landscape_apply.plan(picture, {"web-1": ["hv1", "hv2"], "other": ["hv3"]})
    assert plan["guests"]["web-1"]["elsewhere"] == ["hv2"]
    assert landscape_apply.plan(picture)["guests"]["web-1"]["elsewhere"] == []


def test_a_changed_uplink_is_structure():
    net = NETWORKS["service"]
    assert landscape_apply.structure_changes(dict(net, forward_dev="eth9"), described(net)) == {
        "forward_dev": (net["forward_dev"], "eth9")
    }


def test_a_bridged_networks_domain_names_its_guests_and_is_never_compared():
    """libvirt's XML of a bridge-mode network has no domain: comparing it would redefine the
    network at every highstate."""
    lan = NETWORKS["lan"]
    have = dict(described(lan), domain=None)
    assert landscape_apply.structure_changes(dict(lan, domain="lan.example.com"), have) == {}


class _Pool:
    """A pool (libvirt's method names) that knows one volume and counts refreshes."""

    def __init__(self):
        self.refreshed = 0
        self.created = []

    def isActive(self):
        return True

    def storageVolLookupByName(self, name):
        if name != "have.qcow2":
            raise _missing_volume()
        return object()

    def refresh(self, _flags):
        self.refreshed += 1

    def autostart(self):
        return 1

    def XMLDesc(self, _flags):
        return "<pool type='dir'><name>images</name></pool>"

    def createXML(self, xml, _flags):
        self.created.append(xml)


def _missing_volume():
    err = landscape_apply.libvirt.libvirtError("no volume")
    err.get_error_code = lambda: landscape_apply.libvirt.VIR_ERR_NO_STORAGE_VOL
    return err


class _Conn:
    def __init__(self, pool):
        self.pool = pool

    def storagePoolLookupByName(self, _name):
        return self.pool


def test_a_dry_run_or_a_diff_never_refreshes_a_pool_and_a_real_run_refreshes_before_creating():
    pool = _Pool()
    conn = _Conn(pool)
    volume = {"pool": "images", "name": "new.qcow2", "size_gib": 1, "format": "qcow2"}
    dry = landscape_apply.ensure_volume(conn, volume, test=True)
    assert dry.result is None and "created" in dry.changes and pool.refreshed == 0 and pool.created == []
    notes = landscape_apply.pool_differences(conn, {"name": "images", "autostart": False}, [volume])
    assert notes == ["Volume new.qcow2 is missing.", "Pool images's autostart is on."]
    assert pool.refreshed == 0
    landscape_apply.ensure_volume(conn, volume, test=False)
    assert pool.refreshed == 1 and len(pool.created) == 1
    had = landscape_apply.ensure_volume(conn, dict(volume, name="have.qcow2"), test=False)
    assert had.changes == {} and pool.refreshed == 1
