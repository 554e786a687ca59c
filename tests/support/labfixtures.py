"""Fixtures of the tiers that run on the lab (``tests/e2e``, ``tests/security``): the built-in lab
cluster (real QEMU guests, Salt, salt-api, nginx) and a real browser (Playwright driving Debian's
Chromium). A pytest plugin, loaded by ``tests/conftest.py``, so both tiers share one lab.

The lab is used as it is when it is already up; otherwise it is brought up for the session and
taken down afterwards. Under CI (``CI=true``) these tests must run: anything that keeps them
from running is an error, never a skip.
"""

import json
import os
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pytest

from support.lab import brinelab
from support.paths import REPO

CHROMIUM = brinelab.CHROMIUM
CHROMIUM_ARGS = brinelab.CHROMIUM_ARGS
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _cannot_run(reason):
    if IN_CI:
        pytest.fail(f"end-to-end tests must run in CI, but {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(items):
    """Tests marked ``lab_lifecycle`` take the shared lab down and up: they run after all others."""
    items.sort(key=lambda item: item.get_closest_marker("lab_lifecycle") is not None)


@dataclass
class LabHandle:
    """What a test needs of the lab."""

    lab: brinelab.Lab
    url: str
    hosts: list
    users: dict
    vms: dict = field(default_factory=dict)

    def virsh(self, host, *args):
        """Run virsh against a host's own libvirtd, inside its namespaces; return stdout."""
        return self.lab.virsh(host, *args)

    def domstate(self, vm, host):
        return self.virsh(host, "domstate", vm).strip()

    def salt(self, *args, timeout=120):
        """Run the salt CLI against the lab master; return the completed process."""
        return self.lab.salt_cmd("salt", *args, timeout=timeout, check=False)

    def salt_run(self, *args, timeout=120):
        return self.lab.salt_cmd("salt-run", *args, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def lab():
    if os.geteuid() != 0:
        _cannot_run("the lab needs root (namespaces, bridges, PAM users)")
    if not Path(CHROMIUM).exists():
        _cannot_run(f"{CHROMIUM} is missing (run ./setup.sh)")
    handle = brinelab.Lab()
    state = handle.load_state()
    started_here = False
    if not state.get("hosts") or handle.problems(state):
        handle.up(int(os.environ.get("BRINE_LAB_HOSTS", "2")))
        started_here = True
        state = handle.load_state()
    credentials = json.loads(handle.credentials.read_text())
    hosts = state["hosts"]
    vms = {name: hosts[(index - 1) % len(hosts)] for name, (index, _running) in brinelab.GUESTS.items()}
    yield LabHandle(
        lab=handle,
        url=brinelab.URL,
        hosts=hosts,
        vms=vms,
        users={role: (c["username"], c["password"]) for role, c in credentials.items()},
    )
    if started_here and not os.environ.get("BRINE_LAB_KEEP"):
        handle.down()


@pytest.fixture(scope="session")
def artifacts_dir():
    path = Path(os.environ.get("BRINE_ARTIFACTS", REPO / "artifacts")) / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def browser_page(browser, lab):  # pylint: disable=redefined-outer-name,unused-argument
    context = browser.new_context(viewport={"width": 1280, "height": 800}, ignore_https_errors=True)
    page = context.new_page()
    yield page
    context.close()
