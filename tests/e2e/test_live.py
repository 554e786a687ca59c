"""Live updates in the browser: a change made on a host from the shell shows without a reload.

The SPA reads Brine's event stream /stream (through nginx, with the user's token in X-Auth-Token);
the `brine_events` engine on each lab host fires `brine/vm/<host>/<vm>/state` for libvirt's
lifecycle events. The SPA's safety refresh is 5 minutes, so a change that shows within the
test's (generous) timeout, with no inventory call in between, came from the events.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
from playwright.sync_api import expect

from support.pages import UI_TIMEOUT_MS
from support.pages import BrineUI
from support.pages import virsh_state

pytestmark = pytest.mark.lab

#: Generous for a 2-core machine shared by four people, far below the 5 min safety refresh.
EVENT_TIMEOUT_MS = 60_000


@pytest.fixture
def ui(lab, browser_page):
    problems = []
    browser_page.on("pageerror", lambda err: problems.append(f"uncaught: {err}"))
    yield BrineUI(browser_page, lab.url)
    assert problems == [], "the page threw"


@pytest.fixture
def inventory_calls(browser_page):
    """Every cluster.inventory call the page makes, as a list that grows."""
    calls = []

    def on_request(request):
        if request.method == "POST" and request.url.endswith("/api/"):
            try:
                low = json.loads(request.post_data or "[]")
            except ValueError:
                return
            if any(item.get("fun") == "cluster.inventory" for item in low):
                calls.append(time.monotonic())

    browser_page.on("request", on_request)
    return calls


def resume_if_paused(lab, vm):
    if virsh_state(lab, vm) == "paused":
        lab.virsh(lab.vms[vm], "resume", vm)


@pytest.fixture
def lab_vm1_running(lab):
    """lab-vm1 runs on its host before and after the test."""
    vm = "lab-vm1"
    resume_if_paused(lab, vm)
    assert virsh_state(lab, vm) == "running", "lab-vm1 should be running on hv1 at the start"
    yield vm
    resume_if_paused(lab, vm)


def mark_page(page):
    """Put a marker in the page's JS world: it is gone if the page reloads."""
    page.evaluate("() => { window.__brineNoReload = true; }")


def page_was_not_reloaded(page):
    return page.evaluate("() => window.__brineNoReload === true")


def descendants(pid):
    """Process ids under `pid` (this test's Playwright driver and its Chromium)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def drop_browser_connections(port=8443):
    """Cut this test's browser's TCP connections to the site (as a network fault would), with
    `ss -K`; other people's browsers are left alone. Returns how many were cut."""
    ours = descendants(os.getpid())
    listing = subprocess.run(
        ["ss", "-tnpH", "state", "established", "dst", f"127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ports = set()
    for line in listing.splitlines():
        pids = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        local = re.search(rf"127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:{port}\b", line)
        if local and pids & ours:
            ports.add(local.group(1))
    for local_port in ports:
        subprocess.run(
            ["ss", "-K", "-tn", "dst", f"127.0.0.1:{port}", "sport", "=", f":{local_port}"],
            capture_output=True,
            check=True,
        )
    return len(ports)


def wait_live(ui):
    expect(ui.page.locator("#live-status")).to_have_attribute("data-live", "live", timeout=UI_TIMEOUT_MS)


def test_virsh_suspend_and_resume_show_without_reload(lab, ui, lab_vm1_running, inventory_calls):
    vm = lab_vm1_running
    host = lab.vms[vm]
    ui.login(*lab.users["viewer"])  # a viewer gets live updates too
    ui.expect_vm_state(vm, "running", timeout=UI_TIMEOUT_MS)
    wait_live(ui)
    mark_page(ui.page)
    time.sleep(1)  # let the sign-in's own inventory calls finish
    before = len(inventory_calls)

    lab.virsh(host, "suspend", vm)
    ui.expect_vm_state(vm, "paused", timeout=EVENT_TIMEOUT_MS)
    lab.virsh(host, "resume", vm)
    ui.expect_vm_state(vm, "running", timeout=EVENT_TIMEOUT_MS)

    assert page_was_not_reloaded(ui.page)
    assert len(inventory_calls) == before, "the change came from an inventory refetch, not from events"


def test_salt_cli_lifecycle_shows_on_the_vm_page(lab, ui, lab_vm1_running):
    """`salt hv1 hypervisor.pause/resume` from the shell reaches an open VM page."""
    vm = lab_vm1_running
    host = lab.vms[vm]
    ui.login(*lab.users["operator"])
    ui.open_vm_page(vm)
    wait_live(ui)
    mark_page(ui.page)
    badge = ui.page.locator(".vm-head .badge")
    expect(badge).to_have_attribute("data-state", "running", timeout=UI_TIMEOUT_MS)

    assert lab.salt(host, "hypervisor.pause", vm).returncode == 0
    expect(badge).to_have_attribute("data-state", "paused", timeout=EVENT_TIMEOUT_MS)
    # The buttons follow the state: Resume is offered, Pause is not.
    expect(ui.page.locator('.vm-head button[data-action="resume"]')).to_be_enabled(timeout=EVENT_TIMEOUT_MS)
    expect(ui.page.locator('.vm-head button[data-action="pause"]')).to_be_disabled()

    assert lab.salt(host, "hypervisor.resume", vm).returncode == 0
    expect(badge).to_have_attribute("data-state", "running", timeout=EVENT_TIMEOUT_MS)
    assert page_was_not_reloaded(ui.page)


def test_reconnects_and_refetches_what_it_missed(lab, ui, lab_vm1_running, inventory_calls):
    """The stream drops (its connection is cut and the browser is offline for a while); a change
    made meanwhile shows once the stream is back, from the refetch that follows the reconnection."""
    vm = lab_vm1_running
    host = lab.vms[vm]
    ui.login(*lab.users["operator"])
    ui.expect_vm_state(vm, "running", timeout=UI_TIMEOUT_MS)
    wait_live(ui)
    mark_page(ui.page)

    ui.page.context.set_offline(True)  # new connections fail ...
    assert drop_browser_connections() >= 1  # ... and the open stream is cut
    expect(ui.page.locator("#live-status")).to_have_attribute("data-live", "down", timeout=UI_TIMEOUT_MS)
    lab.virsh(host, "suspend", vm)  # its event goes by while the page is not listening
    time.sleep(2)
    expect(ui.vm_row(vm)).to_have_attribute("data-state", "running")
    before = len(inventory_calls)
    ui.page.context.set_offline(False)

    wait_live(ui)
    ui.expect_vm_state(vm, "paused", timeout=EVENT_TIMEOUT_MS)
    assert len(inventory_calls) > before, "the reconnection should refetch the inventory"
    assert page_was_not_reloaded(ui.page)
