"""A host that stops answering is shown as unreachable with the reason; the rest still show."""

import os
import re
import signal

import pytest
from playwright.sync_api import expect

from support.pages import UI_TIMEOUT_MS
from support.pages import BrineUI

pytestmark = pytest.mark.lab


@pytest.fixture
def silent_host(lab):
    """The last lab host with its salt-minion stopped; the minion is started again afterwards."""
    host = lab.hosts[-1]
    state = lab.lab.load_state()
    pid = lab.lab.processes(state)[f"{host}/salt-minion"]
    os.kill(pid, signal.SIGTERM)
    lab.lab.wait(lambda: lab.lab.processes(state)[f"{host}/salt-minion"] is None, 30, "minion did not stop")
    yield host
    lab.lab.start_minion(host)
    lab.lab.wait(
        lambda: host in lab.salt("--out=json", "--static", "-t", "5", host, "test.ping").stdout,
        90,
        f"{host}'s minion did not come back",
    )


def test_silent_host_is_unreachable_and_others_still_show(lab, browser_page, silent_host, artifacts_dir):
    ui = BrineUI(browser_page, lab.url)
    ui.login(*lab.users["viewer"])
    card = ui.host_card(silent_host)
    expect(card).to_contain_text("Unreachable", timeout=UI_TIMEOUT_MS)
    expect(card).to_contain_text(re.compile("did not answer within", re.I), timeout=UI_TIMEOUT_MS)
    expect(browser_page.get_by_text("1 unreachable")).to_be_visible()
    # The other hosts and their guests are still there.
    for vm, host in lab.vms.items():
        if host != silent_host:
            expect(ui.vm_row(vm)).to_be_visible()
    browser_page.screenshot(path=str(artifacts_dir / "ui-unreachable-host.png"), full_page=True)
