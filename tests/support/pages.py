"""Page helpers for the web UI's end-to-end tests: the one place that knows the SPA's markup.

The selectors lean on attributes the SPA sets for exactly this purpose and for styling:
``tr[data-vm][data-state]`` rows, ``article[data-host][data-reachable]`` host cards,
``button[data-action]`` lifecycle buttons, ``[data-testid]`` for details on the VM page.
"""

from __future__ import annotations

import json

from playwright.sync_api import Locator
from playwright.sync_api import Page
from playwright.sync_api import expect

#: How long page content may take to appear (a login plus a cluster.inventory round trip).
UI_TIMEOUT_MS = 30_000
#: How long a lifecycle action may take to show in the UI: an ACPI shutdown of a TCG guest
#: takes seconds, and the runner waits up to 60 s for it before answering.
ACTION_TIMEOUT_MS = 90_000

#: ``virsh domstate`` words -> libvirt state names as Brine reports them (docs/api.md).
VIRSH_STATES = {
    "running": "running",
    "idle": "blocked",
    "paused": "paused",
    "in shutdown": "shutdown",
    "shut off": "shutoff",
    "crashed": "crashed",
    "pmsuspended": "pmsuspended",
    "no state": "nostate",
}


def virsh_state(lab, vm: str, host: str | None = None) -> str:
    """The VM's state from libvirt itself, as a Brine state name ("running", "shutoff", ...)."""
    words = lab.virsh(host or lab.vms[vm], "domstate", vm).strip()
    return VIRSH_STATES.get(words, words)


class BrineUI:
    """The SPA in one Playwright page."""

    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"

    # ---- navigation and session ----

    def open(self, route: str = "/") -> None:
        """Load the app at a hash route ("/", "/vm/lab-vm1", "/login")."""
        self.page.goto(f"{self.base_url}#{route}")

    def login(self, username: str, password: str, *, expect_success: bool = True) -> None:
        """Sign in through the form; by default wait until the overview shows data."""
        if not self.page.url.startswith(self.base_url):
            self.open("/")
        expect(self.username_input).to_be_visible(timeout=UI_TIMEOUT_MS)
        self.username_input.fill(username)
        self.password_input.fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        if expect_success:
            expect(self.topbar).to_be_visible(timeout=UI_TIMEOUT_MS)
            expect(self.page.locator("main h1")).to_be_visible(timeout=UI_TIMEOUT_MS)

    def logout(self) -> None:
        self.page.locator("#logout-button").click()
        expect(self.username_input).to_be_visible(timeout=UI_TIMEOUT_MS)

    @property
    def username_input(self) -> Locator:
        return self.page.get_by_label("Username")

    @property
    def password_input(self) -> Locator:
        return self.page.get_by_label("Password")

    @property
    def login_error(self) -> Locator:
        return self.page.locator("#login-error")

    @property
    def login_message(self) -> Locator:
        return self.page.locator('[data-testid="login-message"]')

    @property
    def topbar(self) -> Locator:
        return self.page.locator("#topbar")

    def stored_session(self) -> dict | None:
        """What the SPA keeps in sessionStorage (token, expire, user, perms), or None."""
        raw = self.page.evaluate("() => sessionStorage.getItem('brine.session')")
        return json.loads(raw) if raw else None

    def session_storage_size(self) -> int:
        return self.page.evaluate("() => sessionStorage.length")

    def call_api(self, token: str, low: list[dict]) -> dict:
        """POST a low-state list to /api/ from inside the page, as the SPA would; returns
        {"status": int, "body": str}."""
        return self.page.evaluate(
            """async ([token, low]) => {
                const response = await fetch('/api/', {
                    method: 'POST',
                    headers: {'Accept': 'application/json', 'Content-Type': 'application/json',
                              'X-Auth-Token': token},
                    body: JSON.stringify(low),
                });
                return {status: response.status, body: await response.text()};
            }""",
            [token, low],
        )

    # ---- overview ----

    def host_card(self, host: str) -> Locator:
        return self.page.locator(f'article.host-card[data-host="{host}"]')

    def vm_row(self, vm: str) -> Locator:
        return self.page.locator(f'tr[data-vm="{vm}"]')

    def vm_badge(self, vm: str) -> Locator:
        """The state badge in the VM's table row; its data-state is libvirt's state name."""
        return self.vm_row(vm).locator(".badge")

    def action_button(self, vm: str, action: str) -> Locator:
        """A lifecycle button in the VM's row (action ids: start, shutdown, force_off, ...)."""
        return self.vm_row(vm).locator(f'button[data-action="{action}"]')

    @property
    def action_buttons(self) -> Locator:
        """Every lifecycle button on the current page."""
        return self.page.locator("button[data-action]")

    def expect_vm_state(self, vm: str, state: str, timeout: int = ACTION_TIMEOUT_MS) -> None:
        expect(self.vm_row(vm)).to_have_attribute("data-state", state, timeout=timeout)
        expect(self.vm_badge(vm)).to_have_attribute("data-state", state, timeout=timeout)

    def refresh(self) -> None:
        self.page.locator("#refresh-button").click()

    # ---- VM page ----

    def open_vm_page(self, vm: str) -> None:
        """Follow the VM's link in the table."""
        self.vm_row(vm).get_by_role("link", name=vm).click()
        expect(self.page.locator(f'.vm-page[data-vm="{vm}"]')).to_be_visible(timeout=UI_TIMEOUT_MS)

    def detail(self, testid: str) -> Locator:
        """The value of one item in the VM page's details list (uuid, state, host, ...)."""
        return self.page.locator(f'[data-testid="{testid}"] dd')

    def detail_table(self, testid: str) -> Locator:
        """The disks, nics or graphics table (or its "none" sentence) on the VM page."""
        return self.page.locator(f'[data-testid="{testid}"]')

    @property
    def confirm_dialog(self) -> Locator:
        return self.page.locator("dialog.confirm[open]")

    # ---- layout ----

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the document is wider than the viewport (0 when it fits)."""
        return self.page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
