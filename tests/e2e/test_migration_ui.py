"""Live migration from the browser, on the lab: drag and drop, eligibility, confirmation,
progress, result, and the guest's own proof that it kept running.

An operator drags lab-vm1 from hv1 onto hv2's card, confirms, watches the progress bar and the
result, and drags it back. Meanwhile a thread asks libvirt on both hosts, again and again,
where the VM runs: never on two hosts at once, and always defined somewhere. The guest prints
``brine-counter N`` every second on its serial port (one log per host): the counter goes on
increasing across the move, so the guest never restarted.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from support.pages import UI_TIMEOUT_MS
from support.pages import BrineUI

pytestmark = pytest.mark.lab

#: The role that migrates (docs/api.md: operators and admins may).
ROLE = os.environ.get("BRINE_MIGRATION_ROLE", "operator")
VM = "lab-vm1"
HOME, AWAY = "hv1", "hv2"
#: A migration of a 128 MiB TCG guest takes seconds; a busy 2-core machine may take much longer.
MIGRATION_TIMEOUT_MS = 180_000
LAB_HOSTS = Path("/var/lib/brine-lab/hosts")
COUNTER = re.compile(rb"brine-counter (\d+)")


def serial_log(host, vm=VM):
    return LAB_HOSTS / host / "log" / "libvirt" / "qemu" / f"{vm}-serial.log"


def counters(host, offset=0):
    """The guest's counter values in a host's serial log, from byte `offset` on."""
    path = serial_log(host)
    if not path.exists():
        return []
    with path.open("rb") as log:
        # The QEMU that a migration starts on the host opens the log afresh (truncated): a file
        # now shorter than the offset holds only what the guest printed since, from its start.
        log.seek(offset if os.fstat(log.fileno()).st_size >= offset else 0)
        return [int(n) for n in COUNTER.findall(log.read())]


def counters_after_move(host, offset, timeout=60):
    """The counter values a guest printed on its new host, waiting until it printed at least two:
    the guest prints each second, but on a loaded machine its first lines after a move can take
    a while to reach virtlogd's file."""
    deadline = time.monotonic() + timeout
    values = counters(host, offset)
    while len(values) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        values = counters(host, offset)
    return values


def log_size(host):
    path = serial_log(host)
    return path.stat().st_size if path.exists() else 0


def domstate(lab, host, vm=VM):
    """A host's libvirt state word for the VM, or None when it is not defined there."""
    result = lab.lab.virsh(host, "domstate", vm, check=False)
    text = result if isinstance(result, str) else getattr(result, "stdout", "")
    return text.strip() or None


def where(lab, vm=VM):
    """{host: libvirt state word or None when not defined there} for both lab hosts.

    The two hosts cannot be read at one instant, so HOME is read before and after AWAY and counts
    as running only when both of its readings say so: a migration in either direction stops the
    source before it resumes the destination, so a guest running on HOME at both readings and on
    AWAY in between really ran on both at once, while one read the moment before a switch-over
    and the other the moment after does not look like it did."""
    before = domstate(lab, HOME, vm)
    away = domstate(lab, AWAY, vm)
    after = domstate(lab, HOME, vm)
    home = "running" if before == after == "running" else (after if after != "running" else before)
    return {HOME: home, AWAY: away}


class Watcher(threading.Thread):
    """Samples where the VM is on both hosts until stopped."""

    def __init__(self, lab):
        super().__init__(daemon=True)
        self.lab = lab
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            self.samples.append(where(self.lab))
            time.sleep(0.2)

    def stop(self):
        self.halt.set()
        self.join(timeout=30)
        return self.samples


def running_hosts(sample):
    return [host for host, state in sample.items() if state == "running"]


def assert_on_one_host(samples):
    assert samples, "the watcher took no samples"
    for sample in samples:
        assert len(running_hosts(sample)) <= 1, f"{VM} ran on two hosts at once: {sample}"
        assert any(state for state in sample.values()), f"{VM} was defined nowhere: {sample}"
    # Neither host running it happens only at the switch-over (both paused) and only briefly.
    gaps = [i for i, sample in enumerate(samples) if not running_hosts(sample)]
    longest, run = 0, 0
    for i in range(len(samples)):
        run = run + 1 if i in gaps else 0
        longest = max(longest, run)
    assert longest <= 3, f"{VM} was running nowhere for {longest} samples in a row: {samples}"


def place_vm(lab, host):
    """Put lab-vm1 back running on `host`, whatever a failed test left behind."""
    states = where(lab)
    if states.get(host) == "running":
        return
    other = AWAY if host == HOME else HOME
    if states.get(other) in ("running", "paused"):
        if states[other] == "paused":
            lab.virsh(other, "resume", VM)
        lab.salt_run("cluster.migrate", VM, host, timeout=300)
    states = where(lab)
    if states.get(host) == "paused":
        lab.virsh(host, "resume", VM)
    elif states.get(host) == "shut off":
        lab.virsh(host, "start", VM)


@pytest.fixture
def vm_home(lab):
    """lab-vm1 runs on hv1 before and after the test."""
    place_vm(lab, HOME)
    assert where(lab)[HOME] == "running"
    yield VM
    place_vm(lab, HOME)


@pytest.fixture
def ui(lab, browser_page):
    problems = []
    browser_page.on("pageerror", lambda err: problems.append(f"uncaught: {err}"))
    browser_page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    yield BrineUI(browser_page, lab.url)
    assert problems == [], "the page broke its CSP or threw"


def handle(ui, vm=VM):
    return ui.vm_row(vm).locator(".drag-handle")


def start_drag(ui, vm=VM):
    """Press the mouse on the VM's drag handle and start moving (HTML5 drag begins)."""
    box = handle(ui, vm).bounding_box()
    ui.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    ui.page.mouse.down()
    ui.page.mouse.move(box["x"] + 30, box["y"] + 5, steps=3)


def hover_card(ui, host):
    box = ui.host_card(host).bounding_box()
    ui.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 60, steps=5)
    ui.page.mouse.move(box["x"] + box["width"] / 2 + 4, box["y"] + 64, steps=2)


def panel(ui, vm=VM):
    return ui.page.locator(f'.migrations [data-migration-vm="{vm}"]')


def confirm(ui, artifacts_dir=None, *, bandwidth=None):
    dialog = ui.page.locator("dialog.migrate-confirm[open]")
    expect(dialog).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(dialog).to_contain_text(f"Migrate {VM} to")
    if bandwidth is not None:
        dialog.locator("summary", has_text="Advanced").click()
        expect(dialog.get_by_label("Live (the VM keeps running while it moves)")).to_be_checked()
        expect(
            dialog.get_by_label("Offline (move the definition of a VM that is not running)")
        ).to_be_disabled()
        dialog.get_by_label("Bandwidth limit (MiB/s)").fill(str(bandwidth))
    if artifacts_dir is not None:
        ui.page.screenshot(path=str(artifacts_dir / "migration-2-confirm.png"))
    dialog.locator("button[data-confirm]").click()
    expect(dialog).to_have_count(0)


def test_drag_to_hv2_and_back(lab, ui, vm_home, artifacts_dir):
    ui.login(*lab.users[ROLE])
    expect(ui.page.locator("#live-status")).to_have_attribute("data-live", "live", timeout=UI_TIMEOUT_MS)
    ui.page.evaluate("() => { window.__brineNoReload = true; }")
    expect(ui.vm_row(VM)).to_have_attribute("data-host", HOME, timeout=UI_TIMEOUT_MS)

    # While dragging, every host card says whether it can take the VM, and why not.
    start_drag(ui)
    hover_card(ui, AWAY)
    expect(ui.host_card(AWAY)).to_have_attribute("data-drop", "eligible", timeout=UI_TIMEOUT_MS)
    expect(ui.host_card(HOME)).to_have_attribute("data-drop", "ineligible")
    expect(ui.host_card(HOME)).to_have_attribute("title", re.compile(rf"{HOME} cannot take {VM}: .+"))
    expect(ui.host_card(HOME).locator(".drop-reasons li").first).to_be_visible()
    described = ui.host_card(HOME).get_attribute("aria-describedby")
    expect(ui.page.locator(f"#{described}")).to_contain_text("Cannot take")
    ui.page.screenshot(path=str(artifacts_dir / "migration-1-drag.png"))
    ui.page.mouse.up()

    # Drop -> confirmation (with a bandwidth cap so the move takes long enough to watch).
    size_away = log_size(AWAY)
    before_move = counters(HOME)
    assert before_move, "the guest's serial counter is not in hv1's log"
    watcher = Watcher(lab)
    watcher.start()
    try:
        confirm(ui, artifacts_dir, bandwidth=8)
        expect(panel(ui)).to_be_visible(timeout=UI_TIMEOUT_MS)
        try:
            expect(panel(ui).locator("progress")).to_be_visible(timeout=10_000)
            expect(panel(ui)).to_have_attribute("data-phase", "running", timeout=MIGRATION_TIMEOUT_MS)
            expect(panel(ui).locator('[data-testid="migration-detail"]')).to_have_text(
                re.compile(r"^[1-9]\d*% · .+ left"), timeout=30_000
            )
            ui.page.screenshot(path=str(artifacts_dir / "migration-3-progress.png"))
        except AssertionError:
            pass  # a fast machine may finish before the first progress event: the result still shows
        expect(panel(ui)).to_have_attribute("data-phase", "done", timeout=MIGRATION_TIMEOUT_MS)
        result = panel(ui).locator('[data-testid="migration-result"]')
        expect(result).to_contain_text(f"{VM} now runs on {AWAY}: moved in")
        expect(result).to_contain_text("downtime")
        ui.page.screenshot(path=str(artifacts_dir / "migration-4-result.png"))
        # The overview followed, from events, without a reload.
        ui.expect_vm_state(VM, "running", timeout=UI_TIMEOUT_MS)
        expect(ui.vm_row(VM)).to_have_attribute("data-host", AWAY, timeout=UI_TIMEOUT_MS)
        expect(ui.vm_row(VM)).to_have_count(1)
        time.sleep(3)  # let the guest print on its new host
    finally:
        samples = watcher.stop()
    assert_on_one_host(samples)
    assert where(lab) == {HOME: None, AWAY: "running"}
    after_move = counters_after_move(AWAY, size_away)
    assert after_move, "the guest printed nothing on hv2 after the move"
    assert after_move[0] > before_move[-1] - 1 and after_move == sorted(after_move), (
        f"the counter restarted or went back: hv1 ended at {before_move[-1]}, hv2 printed {after_move[:5]}…"
    )
    assert ui.page.evaluate("() => window.__brineNoReload === true")

    # And back to hv1.
    panel(ui).get_by_role("button", name=f"Dismiss the migration of {VM}").click()
    size_home = log_size(HOME)
    last_away = counters(AWAY, size_away)[-1]
    watcher = Watcher(lab)
    watcher.start()
    try:
        start_drag(ui)
        hover_card(ui, HOME)
        expect(ui.host_card(HOME)).to_have_attribute("data-drop", "eligible", timeout=UI_TIMEOUT_MS)
        expect(ui.host_card(AWAY)).to_have_attribute("data-drop", "ineligible")
        ui.page.mouse.up()
        confirm(ui)
        expect(panel(ui)).to_have_attribute("data-phase", "done", timeout=MIGRATION_TIMEOUT_MS)
        expect(ui.vm_row(VM)).to_have_attribute("data-host", HOME, timeout=UI_TIMEOUT_MS)
        time.sleep(3)
    finally:
        samples = watcher.stop()
    assert_on_one_host(samples)
    assert where(lab) == {HOME: "running", AWAY: None}
    back_home = counters_after_move(HOME, size_home)
    assert back_home and back_home[0] > last_away - 1 and back_home == sorted(back_home)
    assert ui.page.evaluate("() => window.__brineNoReload === true")


def test_drop_on_ineligible_host_only_says_why(lab, ui, vm_home, artifacts_dir):
    ui.login(*lab.users[ROLE])
    start_drag(ui)
    hover_card(ui, HOME)
    expect(ui.host_card(HOME)).to_have_attribute("data-drop", "ineligible", timeout=UI_TIMEOUT_MS)
    ui.page.mouse.up()

    notice = ui.page.locator('[data-notice-key="migrate-refused"]')
    expect(notice).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(notice).to_contain_text(f"{HOME} cannot take {VM}:")
    ui.page.screenshot(path=str(artifacts_dir / "migration-5-refused.png"))
    expect(ui.page.locator("dialog[open]")).to_have_count(0)
    expect(panel(ui)).to_have_count(0)
    time.sleep(2)
    assert where(lab) == {HOME: "running", AWAY: None}


def test_keyboard_migrate_to_menu(lab, ui, vm_home, artifacts_dir):
    """Keyboard users get the same choice through "Migrate to…" (here only looked at, then cancelled)."""
    ui.login(*lab.users[ROLE])
    button = ui.vm_row(VM).locator("button[data-migrate]")
    expect(button).to_have_text("Migrate to…", timeout=UI_TIMEOUT_MS)
    button.focus()
    ui.page.keyboard.press("Enter")
    dialog = ui.page.locator("dialog.migrate-choose[open]")
    expect(dialog).to_be_visible()
    away = dialog.locator(f'[data-target-host="{AWAY}"]')
    home = dialog.locator(f'[data-target-host="{HOME}"]')
    expect(away).to_have_attribute("data-drop", "eligible", timeout=UI_TIMEOUT_MS)
    expect(away.get_by_role("button", name=AWAY)).to_be_enabled()
    expect(away.get_by_role("button", name=AWAY)).to_be_focused()
    expect(home.get_by_role("button", name=HOME)).to_be_disabled()
    expect(home.locator(".target-reasons li").first).to_be_visible()
    ui.page.screenshot(path=str(artifacts_dir / "migration-6-keyboard-menu.png"))
    ui.page.keyboard.press("Enter")  # hv2 -> the same confirmation as a drop
    confirm_dialog = ui.page.locator("dialog.migrate-confirm[open]")
    expect(confirm_dialog).to_contain_text(f"Migrate {VM} to {AWAY}?")
    ui.page.keyboard.press("Escape")
    expect(ui.page.locator("dialog[open]")).to_have_count(0)
    expect(panel(ui)).to_have_count(0)
    assert where(lab) == {HOME: "running", AWAY: None}


def test_viewer_sees_no_migration(lab, ui):
    ui.login(*lab.users["viewer"])
    expect(ui.vm_row(VM)).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(ui.page.locator(".drag-handle")).to_have_count(0)
    expect(ui.page.locator("button[data-migrate]")).to_have_count(0)
    ui.open_vm_page(VM)
    expect(ui.page.locator(".drag-handle")).to_have_count(0)
    expect(ui.page.locator("button[data-migrate]")).to_have_count(0)
    expect(ui.page.locator('[data-testid="migrate-targets"]')).to_have_count(0)


def test_drag_from_the_vm_page_and_abort(lab, ui, vm_home, artifacts_dir):
    """The VM page has its own drag handle and host tiles; Abort in the panel stops the move and
    the VM stays where it was, running, with nothing left on the target."""
    ui.login(*lab.users[ROLE])
    ui.open_vm_page(VM)
    page_handle = ui.page.locator(".vm-head .drag-handle")
    tile = ui.page.locator(f'.migrate-target[data-host="{AWAY}"]')
    expect(page_handle).to_be_visible(timeout=UI_TIMEOUT_MS)
    box = page_handle.bounding_box()
    ui.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    ui.page.mouse.down()
    target = tile.bounding_box()
    ui.page.mouse.move(target["x"] + 20, target["y"] + 10, steps=5)
    ui.page.mouse.move(target["x"] + 24, target["y"] + 12, steps=2)
    expect(tile).to_have_attribute("data-drop", "eligible", timeout=UI_TIMEOUT_MS)
    expect(ui.page.locator(f'.migrate-target[data-host="{HOME}"]')).to_have_attribute(
        "data-drop", "ineligible"
    )
    target = tile.bounding_box()  # where it is now that the marks are in
    ui.page.mouse.move(target["x"] + 20, target["y"] + 10, steps=2)
    ui.page.screenshot(path=str(artifacts_dir / "migration-7-vm-page-drag.png"))
    ui.page.mouse.up()

    # 1 MiB/s keeps it going long enough to abort.
    dialog = ui.page.locator("dialog.migrate-confirm[open]")
    expect(dialog).to_be_visible(timeout=UI_TIMEOUT_MS)
    dialog.locator("summary", has_text="Advanced").click()
    dialog.get_by_label("Bandwidth limit (MiB/s)").fill("1")
    dialog.locator("button[data-confirm]").click()
    abort = panel(ui).locator("button[data-abort]")
    expect(abort).to_be_enabled(timeout=MIGRATION_TIMEOUT_MS)
    abort.click()
    expect(panel(ui)).to_have_attribute("data-phase", "failed", timeout=MIGRATION_TIMEOUT_MS)
    expect(panel(ui).locator('[data-testid="migration-result"]')).to_contain_text("aborted")
    expect(panel(ui).locator('[data-testid="migration-result"]')).to_contain_text(f"still running on {HOME}")
    ui.page.screenshot(path=str(artifacts_dir / "migration-8-aborted.png"))
    expect(ui.page.locator(".vm-head .badge")).to_have_attribute("data-state", "running")
    expect(ui.detail("host")).to_have_text(HOME)
    deadline = time.monotonic() + 60
    while where(lab) != {HOME: "running", AWAY: None} and time.monotonic() < deadline:
        time.sleep(0.5)
    assert where(lab) == {HOME: "running", AWAY: None}
