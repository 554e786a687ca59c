"""
End-to-end: the landscape (docs/landscape.md) on the lab, through highstate and the shell.

lab/landscape.yaml (in the hosts' pillar) describes two networks, a pool and two guests of the lab's
tiny kind. A dry run shows what would change and changes nothing; a highstate makes it all; a
second changes nothing; the running guest leases its static address on the NAT network (seen in
libvirt's leases and from inside the guest); a static host added to the pillar reaches the
running network live, its dnsmasq never restarted; a changed guest shows its diff first; the
lab's own guests, which the landscape does not name, are never touched. A bad landscape changes
nothing on any host. In the browser, a viewer sees a host's networks with their static hosts and
leases, and an admin its pools with their volumes and the VMs that use them.
"""

import copy
import json
import time

import pytest
from playwright.sync_api import expect

from brine import landscape
from support import landscape_lab
from support.pages import BrineUI
from support.site import api_login
from support.site import runner

UI_TIMEOUT_MS = 30_000
WEB1_MAC_PREFIX = "52:54:00:"


@pytest.fixture(scope="module")
def tokens(lab):
    return {role: api_login(lab, role) for role in ("admin", "operator", "viewer")}


@pytest.fixture(scope="module")
def lab_xml(lab):
    """The lab's own guests' definitions before any highstate."""
    return {vm: lab.virsh(host, "dumpxml", "--inactive", vm) for vm, host in lab.vms.items()}


@pytest.fixture(scope="module")
def applied(lab, lab_xml):
    """The lab's landscape: first a dry run (its answer kept), then a highstate (its answer kept)."""
    landscape_lab.remove_landscape(lab)
    landscape_lab.restore_landscape(lab)
    before = landscape_lab.footprint(lab)
    dry_code, dry = landscape_lab.highstate(lab, test=True)
    after_dry = landscape_lab.footprint(lab)
    code, first = landscape_lab.highstate(lab)
    yield {"dry": (dry_code, dry), "before": before, "after_dry": after_dry, "first": (code, first)}
    landscape_lab.remove_landscape(lab)
    landscape_lab.restore_landscape(lab)


def test_a_dry_run_shows_the_changes_and_makes_none(lab, applied):
    code, dry = applied["dry"]
    assert code == 0, dry
    assert applied["before"] == applied["after_dry"]
    hv1 = landscape_lab.by_name(dry[lab.hosts[0]])
    assert hv1["web-1"]["result"] is None
    # The new guest's definition, as the diff of what the landscape manages.
    assert "+memory: 128" in hv1["web-1"]["changes"]["diff"], hv1["web-1"]
    assert hv1["svc"]["changes"].get("defined") is True


def test_highstate_makes_the_networks_pool_and_guests(lab, applied):
    code, first = applied["first"]
    assert code == 0, first
    assert landscape_lab.failed(first) == {host: [] for host in first}
    for host in lab.hosts:
        active = lab.virsh(host, "net-list", "--name").split()
        assert {"svc", "backplane"} <= set(active), (host, active)
        assert "landscape" in lab.virsh(host, "pool-list", "--name").split()
        autostart = lab.virsh(host, "net-info", "svc")
        assert "Autostart:      yes" in autostart, autostart
    hv1, hv2 = lab.hosts[0], lab.hosts[1]
    assert lab.domstate("web-1", hv1) == "running"
    assert lab.domstate("web-2", hv2) == "shut off"
    volumes = sorted(p.name for p in (lab.lab.shared / "landscape").iterdir())
    assert volumes == ["web-1-disk0.qcow2", "web-2-data.img", "web-2-disk0.qcow2"]
    xml = lab.virsh(hv2, "dumpxml", "--inactive", "web-2")
    assert "<source file='/var/lib/libvirt/images/landscape/web-2-data.img'" in xml
    assert "cache='writethrough'" in xml and "bus='sata'" in xml


def test_a_second_highstate_changes_nothing(lab, applied):
    code, second = landscape_lab.highstate(lab)
    assert code == 0, second
    assert landscape_lab.changed(second) == {host: [] for host in second}, second


def test_the_lab_guests_are_left_alone(lab, applied, lab_xml):
    for vm, host in lab.vms.items():
        assert lab.virsh(host, "dumpxml", "--inactive", vm) == lab_xml[vm], vm


def test_the_guest_leases_its_static_address(lab, applied):
    hv1 = lab.hosts[0]
    deadline = time.monotonic() + 90
    lease = None
    while time.monotonic() < deadline and lease != "192.168.150.11":
        lease = landscape_lab.serial_lease(lab, hv1, "web-1")
        time.sleep(1)
    assert lease == "192.168.150.11", "the guest did not say it leased its static address"
    leases = lab.virsh(hv1, "net-dhcp-leases", "svc")
    assert "192.168.150.11/24" in leases and "web-1" in leases, leases
    mac = next(line.split()[2] for line in leases.splitlines() if "192.168.150.11/24" in line)
    assert mac.startswith(WEB1_MAC_PREFIX)
    # The same MAC the landscape derives (what the runner shows from the pillar).
    status, shown = runner(lab, api_login(lab, "viewer"), "landscape.show", guest="web-1")
    assert status == 200 and shown["guest"]["interfaces"][0]["mac"] == mac, shown


def test_a_static_host_reaches_the_running_network_live(lab, applied):
    hv1 = lab.hosts[0]
    pid = landscape_lab.dnsmasq_pid(lab, hv1, "svc")
    doc = landscape_lab.lab_landscape()
    doc["landscape"]["guests"]["web-3"] = {
        "host": lab.hosts[1],
        "ip": "192.168.150.13",
        "interfaces": [{"network": "svc"}],
        "boot": copy.deepcopy(doc["landscape"]["guests"]["web-2"]["boot"]),
    }
    landscape_lab.give_landscape(lab, doc)
    try:
        ret = lab.salt(hv1, "--out=json", "--static", "state.apply", "landscape", timeout=300)
        states = landscape_lab.by_name(json.loads(ret.stdout)[hv1])
        svc = states["svc"]
        assert svc["result"] is True, svc
        assert "live" in svc["comment"] and "192.168.150.13" in svc["comment"], svc
        assert "redefined" not in svc["changes"], svc
        live = lab.virsh(hv1, "net-dumpxml", "svc")
        assert "ip='192.168.150.13'" in live, live
        assert landscape_lab.dnsmasq_pid(lab, hv1, "svc") == pid, "the network's dnsmasq was restarted"
        hosts_file = lab.lab.host_dir(hv1) / "lib" / "libvirt" / "dnsmasq" / "svc.hostsfile"
        assert "192.168.150.13" in hosts_file.read_text()
    finally:
        landscape_lab.restore_landscape(lab)
        lab.salt(hv1, "--out=json", "--static", "state.apply", "landscape", timeout=300)
        lab.salt(lab.hosts[1], "--out=json", "--static", "state.apply", "landscape", timeout=300)
    assert "ip='192.168.150.13'" not in lab.virsh(hv1, "net-dumpxml", "svc")


def test_a_changed_guest_shows_its_diff_first(lab, applied, tokens):
    hv2 = lab.hosts[1]
    doc = landscape_lab.lab_landscape()
    doc["landscape"]["guests"]["web-2"]["memory"] = 160
    landscape_lab.give_landscape(lab, doc)
    try:
        status, diff = runner(lab, tokens["viewer"], "landscape.diff", host=hv2)
        assert status == 200, diff
        guest = diff["hosts"][0]["guests"]["web-2"]
        assert "-memory: 128" in guest["diff"] and "+memory: 160" in guest["diff"], guest
        ret = lab.salt(hv2, "--out=json", "--static", "state.apply", "landscape", "test=True", timeout=300)
        dry = landscape_lab.by_name(json.loads(ret.stdout)[hv2])["web-2"]
        assert dry["result"] is None and "+memory: 160" in dry["changes"]["diff"], dry
        assert "<memory unit='KiB'>131072</memory>" in lab.virsh(hv2, "dumpxml", "--inactive", "web-2")
        ret = lab.salt(hv2, "--out=json", "--static", "state.apply", "landscape", timeout=300)
        assert "<memory unit='KiB'>163840</memory>" in lab.virsh(hv2, "dumpxml", "--inactive", "web-2")
    finally:
        landscape_lab.restore_landscape(lab)
        lab.salt(hv2, "--out=json", "--static", "state.apply", "landscape", timeout=300)
    status, diff = runner(lab, tokens["viewer"], "landscape.diff", host=hv2)
    assert diff["hosts"][0]["guests"]["web-2"]["diff"] == "", diff


def _bad_landscapes():
    def overlapping(layers):
        layers["networks"]["backplane"]["subnet"] = "192.168.150.0/25"
        layers["networks"]["backplane"]["gateway"] = "192.168.150.2"

    def outside(layers):
        layers["guests"]["web-1"]["ip"] = "192.168.151.11"

    def path_name(layers):
        layers["pools"]["landscape"]["volumes"] = [{"name": "../escape.img", "size": 1}]

    def size_zero(layers):
        layers["guests"]["web-1"]["disks"][0]["size"] = 0

    def size_huge(layers):
        layers["guests"]["web-1"]["disks"][0]["size"] = 10**15

    return {
        "overlapping subnets": (overlapping, "overlap"),
        "address outside the subnet": (outside, "192.168.151.11"),
        "a name with path parts": (path_name, "../escape.img"),
        "a size of 0": (size_zero, "size"),
        "a size of 10^15": (size_huge, "size"),
    }


@pytest.mark.parametrize("case", sorted(_bad_landscapes()))
def test_a_bad_landscape_changes_nothing(lab, applied, tokens, case):
    change, words = _bad_landscapes()[case]
    doc = landscape_lab.lab_landscape()
    change(doc["landscape"])
    before = landscape_lab.footprint(lab)
    landscape_lab.give_landscape(lab, doc)
    try:
        _code, results = landscape_lab.highstate(lab)
        for host in lab.hosts:
            # Nothing rendered: the host answers the render error, a list of sentences.
            answer = results[host]
            assert isinstance(answer, list), (host, answer)
            assert words in " ".join(answer), (host, answer)
        status, shown = runner(lab, tokens["viewer"], "landscape.show", guest="web-1")
        assert status == 200 and shown["error"]["code"] == "invalid_argument", shown
        assert words in shown["error"]["message"], shown
    finally:
        landscape_lab.restore_landscape(lab)
    assert landscape_lab.footprint(lab) == before


# ---- In the browser (the same applied landscape)


@pytest.fixture(name="ui")
def _ui(lab, browser_page):
    problems = []
    browser_page.on("pageerror", lambda err: problems.append(f"uncaught: {err}"))
    yield BrineUI(browser_page, lab.url)
    assert problems == [], "the page threw"


def test_the_browser_shows_a_hosts_networks_with_static_hosts_and_leases(ui, lab, applied, artifacts_dir):
    hv1 = lab.hosts[0]
    # The lease exists before the page looks (the lease test above may not have run first).
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and landscape_lab.serial_lease(lab, hv1, "web-1") != "192.168.150.11":
        time.sleep(1)
    mac = landscape.guest(landscape_lab.lab_landscape()["landscape"], "web-1")["interfaces"][0]["mac"]
    ui.open("/")
    ui.login(*lab.users["viewer"])
    page = ui.page
    ui.host_card(hv1).get_by_test_id("host-networks-link").click()
    table = page.get_by_test_id("networks-table")
    row = table.get_by_test_id("network-row-svc")
    expect(row).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(row).to_contain_text("192.168.150.0/24")
    expect(row.get_by_test_id("managed-badge")).to_have_text("as code")
    # A viewer gets no buttons.
    expect(page.get_by_test_id("network-stop-svc")).to_have_count(0)
    page.get_by_test_id("network-toggle-svc").click()
    details = page.get_by_test_id("network-details-svc")
    expect(details.get_by_test_id(f"static-host-{mac}")).to_contain_text("192.168.150.11")
    expect(details.get_by_test_id(f"lease-{mac}")).to_contain_text("192.168.150.11", timeout=UI_TIMEOUT_MS)
    # libvirt's own lab network is there too, not as code.
    expect(table.get_by_test_id("network-row-lab")).to_have_attribute("data-managed", "false")
    page.screenshot(path=str(artifacts_dir / "landscape-networks.png"), full_page=True)


def test_the_browser_shows_pools_with_volumes_and_their_users_and_admins_act(ui, lab, applied, artifacts_dir):
    hv2 = lab.hosts[1]
    ui.open(f"/hosts/{hv2}/storage")
    ui.login(*lab.users["admin"])
    page = ui.page
    row = page.get_by_test_id("pool-row-landscape")
    expect(row).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(row).to_have_attribute("data-managed", "true")
    page.get_by_test_id("pool-toggle-landscape").click()
    volumes = page.get_by_test_id("volumes-landscape")
    expect(volumes.get_by_test_id("volume-web-2-data.img")).to_contain_text("web-2")
    page.screenshot(path=str(artifacts_dir / "landscape-storage.png"), full_page=True)
    # An admin refreshes the pool.
    page.get_by_test_id("pool-refresh-landscape").click()
    expect(page.get_by_test_id("pool-refresh-landscape")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    expect(row).to_have_attribute("data-active", "true")
    # A network stopped from a shell: the page follows libvirt's event, no reload; the admin
    # starts it again with its button.
    page.get_by_test_id("landscape-tab-networks").click()
    backplane = page.get_by_test_id("network-row-backplane")
    expect(backplane).to_have_attribute("data-active", "true", timeout=UI_TIMEOUT_MS)
    lab.virsh(hv2, "net-destroy", "backplane")
    expect(backplane).to_have_attribute("data-active", "false", timeout=UI_TIMEOUT_MS)
    page.get_by_test_id("network-start-backplane").click()
    expect(backplane).to_have_attribute("data-active", "true", timeout=UI_TIMEOUT_MS)
    assert "backplane" in lab.virsh(hv2, "net-list", "--name").split()


def test_a_migrated_guest_is_not_made_again_where_the_landscape_puts_it(lab, applied, tokens):
    hv1, hv2 = lab.hosts[0], lab.hosts[1]
    status, moved = runner(lab, tokens["operator"], "cluster.migrate", name="web-1", target=hv2)
    assert status == 200 and "error" not in moved, moved
    try:
        assert lab.domstate("web-1", hv2) == "running"
        ret = lab.salt(hv1, "--out=json", "--static", "state.apply", "landscape", timeout=300)
        web1 = landscape_lab.by_name(json.loads(ret.stdout)[hv1])["web-1"]
        assert web1["result"] is True and web1["changes"] == {}, web1
        assert f"is on {hv2}" in web1["comment"] and "left alone" in web1["comment"], web1
        assert "web-1" not in lab.virsh(hv1, "list", "--all", "--name").split()
    finally:
        status, back = runner(lab, tokens["operator"], "cluster.migrate", name="web-1", target=hv1)
        assert status == 200 and "error" not in back, back
