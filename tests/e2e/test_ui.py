"""The web UI against the lab: real nginx, salt-api, PAM users, libvirt hosts and QEMU guests,
driven in Debian's Chromium.

Fixtures come from tests/e2e/conftest.py (the lab's): ``lab`` (url, users, virsh(), hosts,
vms), ``browser_page`` (a 1280x800 Playwright page) and ``artifacts_dir`` (screenshots).
"""

from __future__ import annotations

import re
import time
from xml.etree import ElementTree

import pytest
from playwright.sync_api import expect

from support.pages import ACTION_TIMEOUT_MS
from support.pages import UI_TIMEOUT_MS
from support.pages import BrineUI
from support.pages import virsh_state

pytestmark = pytest.mark.lab


@pytest.fixture
def ui(lab, browser_page):
    """The SPA in the test's page, failing the test on a CSP violation or an uncaught error."""
    problems = []
    browser_page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    browser_page.on("pageerror", lambda err: problems.append(f"uncaught: {err}"))
    yield BrineUI(browser_page, lab.url)
    assert problems == [], "the page broke its CSP or threw"


def wait_for_virsh_state(lab, vm, wanted, timeout_s=90):
    """Poll libvirt until the VM reaches `wanted` (a state name) or the time is up."""
    deadline = time.monotonic() + timeout_s
    state = virsh_state(lab, vm)
    while state != wanted and time.monotonic() < deadline:
        time.sleep(0.5)
        state = virsh_state(lab, vm)
    return state


def domain_xml(lab, host, vm):
    """The VM's libvirt definition, parsed."""
    return ElementTree.fromstring(lab.virsh(host, "dumpxml", vm))


@pytest.fixture
def lab_vm2_running(lab):
    """lab-vm2 runs before the test and again after it, whatever the test did to it."""
    if virsh_state(lab, "lab-vm2") != "running":
        lab.virsh(lab.vms["lab-vm2"], "start", "lab-vm2")
    assert wait_for_virsh_state(lab, "lab-vm2", "running") == "running"
    yield "lab-vm2"
    state = virsh_state(lab, "lab-vm2")
    if state == "paused":
        lab.virsh(lab.vms["lab-vm2"], "resume", "lab-vm2")
    elif state != "running":
        lab.virsh(lab.vms["lab-vm2"], "start", "lab-vm2")


def test_operator_sees_both_hosts_and_all_guests(lab, ui, artifacts_dir):
    ui.login(*lab.users["operator"])

    for host in lab.hosts:
        card = ui.host_card(host)
        expect(card).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(card).to_have_attribute("data-reachable", "true")
        expect(card.locator('[data-testid="host-status"]')).to_have_text("Reachable")
        # Capacity bars for memory and vCPUs, with figures.
        expect(card.locator('[role="meter"]')).to_have_count(2)
        expect(card).to_contain_text("libvirt")
    expect(ui.page.locator('[data-testid="totals"]')).to_contain_text(f"{len(lab.hosts)} of {len(lab.hosts)}")

    for vm, host in lab.vms.items():
        row = ui.vm_row(vm)
        expect(row).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(row).to_have_attribute("data-host", host)
        ui.expect_vm_state(vm, virsh_state(lab, vm, host), timeout=UI_TIMEOUT_MS)

    # An operator gets power actions, enabled by state, and no Delete.
    expect(ui.action_button("lab-vm1", "shutdown")).to_be_enabled()
    expect(ui.action_button("lab-vm1", "start")).to_be_disabled()
    expect(ui.action_button("lab-vm3", "start")).to_be_enabled()
    expect(ui.action_button("lab-vm3", "shutdown")).to_be_disabled()
    expect(ui.page.locator('button[data-action="delete"]')).to_have_count(0)

    ui.page.screenshot(path=str(artifacts_dir / "ui-overview-operator.png"), full_page=True)


def test_operator_shuts_a_guest_down_and_starts_it_again(lab, ui, lab_vm2_running):
    vm = lab_vm2_running
    ui.login(*lab.users["operator"])
    ui.expect_vm_state(vm, "running", timeout=UI_TIMEOUT_MS)

    ui.action_button(vm, "shutdown").click()
    # While Salt works the row is busy and every button of it is disabled.
    expect(ui.vm_row(vm)).to_have_attribute("aria-busy", "true")
    expect(ui.action_button(vm, "start")).to_be_disabled()
    ui.expect_vm_state(vm, "shutoff", timeout=ACTION_TIMEOUT_MS)
    expect(ui.vm_row(vm)).not_to_have_attribute("aria-busy", "true")
    assert lab.virsh(lab.vms[vm], "domstate", vm).strip() == "shut off"

    expect(ui.action_button(vm, "start")).to_be_enabled()
    ui.action_button(vm, "start").click()
    ui.expect_vm_state(vm, "running", timeout=ACTION_TIMEOUT_MS)
    assert lab.virsh(lab.vms[vm], "domstate", vm).strip() == "running"
    expect(ui.action_button(vm, "shutdown")).to_be_enabled()


def test_viewer_gets_no_actions_and_the_api_refuses_them(lab, ui, artifacts_dir):
    assert virsh_state(lab, "lab-vm1") == "running"
    ui.login(*lab.users["viewer"])
    for vm in lab.vms:
        expect(ui.vm_row(vm)).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(ui.action_buttons).to_have_count(0)
    expect(ui.page.get_by_role("columnheader", name="Actions")).to_have_count(0)
    ui.page.screenshot(path=str(artifacts_dir / "ui-overview-viewer.png"), full_page=True)

    ui.open_vm_page("lab-vm1")
    expect(ui.detail("uuid")).not_to_be_empty()
    expect(ui.action_buttons).to_have_count(0)

    # Hiding buttons is a courtesy; salt-api must refuse the call itself.
    token = ui.stored_session()["token"]
    answer = ui.call_api(
        token, [{"client": "runner", "fun": "cluster.shutdown", "kwarg": {"name": "lab-vm1"}}]
    )
    assert answer["status"] in (401, 403), answer
    assert virsh_state(lab, "lab-vm1") == "running"
    # The same token still reads the inventory: the refusal was about the function.
    answer = ui.call_api(token, [{"client": "runner", "fun": "cluster.inventory"}])
    assert answer["status"] == 200, answer


def test_wrong_password_shows_an_error_and_stores_no_token(lab, ui):
    username, password = lab.users["operator"]
    ui.open("/")
    ui.login(username, password + "-wrong", expect_success=False)
    expect(ui.login_error).to_have_text("Wrong username or password.", timeout=UI_TIMEOUT_MS)
    assert ui.stored_session() is None
    assert ui.session_storage_size() == 0
    expect(ui.topbar).to_be_hidden()
    expect(ui.password_input).to_have_value("")
    assert ui.page.url.endswith("#/login")


def test_vm_page_shows_the_details_libvirt_has(lab, ui, artifacts_dir):
    vm, host = "lab-vm1", lab.vms["lab-vm1"]
    ui.login(*lab.users["operator"])
    expect(ui.vm_row(vm)).to_be_visible(timeout=UI_TIMEOUT_MS)
    ui.open_vm_page(vm)
    assert ui.page.url.endswith(f"#/vm/{vm}")

    expect(ui.page.get_by_role("heading", level=1)).to_have_text(vm)
    expect(ui.detail("uuid")).to_have_text(lab.virsh(host, "domuuid", vm).strip())
    expect(ui.detail("state")).to_contain_text("Running")
    expect(ui.detail("host")).to_have_text(host)
    expect(ui.detail("vcpus")).to_contain_text(re.compile(r"\d"))
    expect(ui.detail("memory")).to_contain_text("MiB")
    expect(ui.detail("cpu-time")).to_contain_text("s")
    expect(ui.detail("persistent")).to_have_text("Yes")
    domain = domain_xml(lab, host, vm)
    expect(ui.detail("domain-type")).to_contain_text(domain.get("type"))

    # Disks, NICs, graphics: every one libvirt has is in its table (or the table says none).
    targets = [target.get("dev") for target in domain.findall("./devices/disk/target")]
    if targets:
        for target in targets:
            expect(ui.detail_table("disks")).to_contain_text(target)
    else:
        expect(ui.detail_table("disks")).to_have_text("This VM has no disks.")
    macs = [mac.get("address") for mac in domain.findall("./devices/interface/mac")]
    if macs:
        for mac in macs:
            expect(ui.detail_table("nics")).to_contain_text(mac.lower())
    else:
        expect(ui.detail_table("nics")).to_have_text("This VM has no network interfaces.")
    for graphics in domain.findall("./devices/graphics"):
        expect(ui.detail_table("graphics")).to_contain_text(graphics.get("type"))

    # The lifecycle buttons are here too, enabled for a running VM.
    expect(ui.page.locator('.vm-head button[data-action="shutdown"]')).to_be_enabled()
    expect(ui.page.locator('.vm-head button[data-action="start"]')).to_be_disabled()
    ui.page.screenshot(path=str(artifacts_dir / "ui-vm-page.png"), full_page=True)


def test_admin_may_delete_only_a_shut_off_guest_and_is_asked_first(lab, ui):
    assert virsh_state(lab, "lab-vm3") == "shutoff"
    ui.login(*lab.users["admin"])
    expect(ui.vm_row("lab-vm3")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(ui.action_button("lab-vm1", "delete")).to_be_disabled()
    expect(ui.action_button("lab-vm3", "delete")).to_be_enabled()

    ui.action_button("lab-vm3", "delete").click()
    dialog = ui.confirm_dialog
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Delete lab-vm3?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    # Cancelled: nothing was asked of Salt, the guest is still defined.
    assert virsh_state(lab, "lab-vm3") == "shutoff"
    expect(ui.vm_row("lab-vm3")).to_be_visible()


def test_a_refused_or_expired_session_goes_back_to_login(lab, ui):
    ui.login(*lab.users["operator"])
    # salt-api refuses a token it does not know: any 401 sends the user back to login.
    ui.page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem('brine.session'));
            s.token = 'not-a-token';
            sessionStorage.setItem('brine.session', JSON.stringify(s));
        }"""
    )
    ui.refresh()
    expect(ui.login_message).to_contain_text("no longer accepts", timeout=UI_TIMEOUT_MS)
    assert ui.stored_session() is None

    ui.login(*lab.users["operator"])
    ui.page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem('brine.session'));
            s.expire = Date.now() / 1000 - 1;
            sessionStorage.setItem('brine.session', JSON.stringify(s));
        }"""
    )
    ui.page.reload()
    expect(ui.login_message).to_have_text("Your session expired. Please sign in again.")
    assert ui.stored_session() is None


def test_sign_out_forgets_the_token_and_salt_api_drops_it(lab, ui):
    ui.login(*lab.users["operator"])
    token = ui.stored_session()["token"]
    ui.logout()
    expect(ui.login_message).to_have_text("You have signed out.")
    assert ui.session_storage_size() == 0
    answer = ui.call_api(token, [{"client": "runner", "fun": "cluster.inventory"}])
    assert answer["status"] == 401, answer


def test_narrow_screen_stacks_the_table_and_fits(lab, ui, artifacts_dir):
    ui.page.set_viewport_size({"width": 390, "height": 844})
    ui.login(*lab.users["operator"])
    for vm in lab.vms:
        expect(ui.vm_row(vm)).to_be_visible(timeout=UI_TIMEOUT_MS)
    # Rows are cards: laid out as a grid, header row hidden, nothing wider than the screen.
    assert ui.vm_row("lab-vm1").evaluate("el => getComputedStyle(el).display") == "grid"
    assert ui.horizontal_overflow() == 0
    ui.page.screenshot(path=str(artifacts_dir / "ui-narrow-overview.png"), full_page=True)

    ui.open_vm_page("lab-vm1")
    assert ui.horizontal_overflow() == 0
    ui.page.screenshot(path=str(artifacts_dir / "ui-narrow-vm-page.png"), full_page=True)
