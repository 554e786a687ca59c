"""End-to-end: browser consoles on the lab (docs/api.md, "Consoles").

A real browser opens a running guest's screen through nginx (/console/, wss), the site's one
websockify and Brine's one-time token plugin, sees the guest's text console, types into it and
closes it. The refusals are checked on the wire, as a browser's WebSocket would meet them:
reused, expired and random tokens, a foreign Origin, a viewer asking for a token, a shut-off
VM. Each is refused with a clear error and nothing reaches a VNC server (websockify's log shows
no connection for them). After a live migration a new token reaches the VM on its new host and
a token issued before fails.
"""

import json
import re
import secrets
import socket
import time

import pytest
from playwright.sync_api import expect

from brine import tokens
from support.console_screen import CONSOLE_TIMEOUT_MS
from support.console_screen import canvas_stats
from support.console_screen import type_like_a_person
from support.console_screen import wait_for_change
from support.console_screen import wait_for_frame
from support.console_ws import ConsoleSocket
from support.pages import BrineUI
from support.site import api_login
from support.site import console_ticket

UI_TIMEOUT_MS = 30_000

# -- helpers --------------------------------------------------------------------------------


def where_is(lab, vm):
    """The host a guest is defined on now."""
    for host in lab.hosts:
        names = lab.virsh(host, "list", "--all", "--name").split()
        if vm in names:
            return host
    raise AssertionError(f"{vm} is on no lab host")


def serial_log(lab, vm):
    host = where_is(lab, vm)
    path = lab.lab.host_dir(host) / "log" / "libvirt" / "qemu" / f"{vm}-serial.log"
    return path.read_text(errors="replace")


def wait_for(predicate, timeout, message, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(message)


def websockify_log(lab):
    path = lab.lab.root / "websockify.log"
    return path.read_text(errors="replace") if path.exists() else ""


def vnc_connections(lab):
    """How many times websockify has connected to a VNC server so far."""
    return websockify_log(lab).count("connecting to:")


@pytest.fixture(name="operator_token", scope="module")
def _operator_token(lab):
    return api_login(lab, "operator")


@pytest.fixture(name="ui")
def _ui(browser_page, lab):
    return BrineUI(browser_page, lab.url)


def open_vm(ui, lab, role, vm):
    ui.open(f"/vm/{vm}")
    ui.login(*lab.users[role], expect_success=False)
    expect(ui.page.locator(f'.vm-page[data-vm="{vm}"]')).to_be_visible(timeout=UI_TIMEOUT_MS)
    return ui.page.locator('[data-testid="console"]')


# -- in the browser -------------------------------------------------------------------------


def test_an_operator_opens_a_console_sees_the_text_screen_types_and_closes_it(ui, lab, artifacts_dir):
    page = ui.page
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    panel = open_vm(ui, lab, "operator", "lab-vm1")
    expect(panel).to_have_attribute("data-console-state", "idle")
    connections_before = vnc_connections(lab)

    panel.get_by_role("button", name="Connect").click()
    expect(panel).to_have_attribute("data-console-state", "connected", timeout=CONSOLE_TIMEOUT_MS)
    expect(panel.locator('[data-testid="console-status"]')).to_have_text(
        re.compile(r"Connected to lab-vm1 on hv\d")
    )
    first = wait_for_frame(page)
    # The guest's VGA text console: 80x25 characters of 9x16 pixels.
    assert (first["width"], first["height"]) == (720, 400), first
    assert vnc_connections(lab) == connections_before + 1
    page.wait_for_timeout(500)
    panel.screenshot(path=str(artifacts_dir / "console-connected.png"))

    # A refresh re-renders the VM page around the panel: the console stays connected, on the
    # same VNC connection.
    ui.refresh()
    expect(page.locator("#refresh-button")).to_have_attribute("aria-busy", "false", timeout=UI_TIMEOUT_MS)
    page.wait_for_timeout(500)
    expect(panel).to_have_attribute("data-console-state", "connected")
    assert vnc_connections(lab) == connections_before + 1

    # Real key presses through noVNC's keyboard handling: the shell on tty1 writes to the serial
    # port, whose log libvirt keeps on the host.
    marker = f"brine-console-{secrets.token_hex(4)}"
    before = canvas_stats(page)["hash"]
    page.locator('[data-testid="console-screen"] canvas').click()
    type_like_a_person(page, f"echo {marker} > /dev/ttyS0\n")
    wait_for(
        lambda: marker in serial_log(lab, "lab-vm1"),
        60,
        f"{marker} typed into the console never reached the guest's serial port",
    )
    wait_for_change(page, before)

    # The paste box types text as keystrokes (shifted characters included): $((6*7)) is 42.
    before = canvas_stats(page)["hash"]
    tag = secrets.token_hex(4)
    panel.get_by_role("button", name="Paste text…").click()
    panel.locator('[data-testid="console-paste-text"]').fill(f"echo brine-$((6*7))-{tag} > /dev/ttyS0\n")
    panel.get_by_role("button", name="Type it").click()
    wait_for(
        lambda: f"brine-42-{tag}" in serial_log(lab, "lab-vm1"),
        60,
        "text pasted into the console never reached the guest's shell",
    )
    wait_for_change(page, before)
    page.wait_for_timeout(1000)
    panel.screenshot(path=str(artifacts_dir / "console-typed.png"))

    panel.get_by_role("button", name="Disconnect").click()
    expect(panel).to_have_attribute("data-console-state", "idle")
    expect(panel.locator('[data-testid="console-screen"] canvas')).to_have_count(0)
    expect(panel.get_by_role("button", name="Connect")).to_be_enabled()
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_the_pop_out_window_shows_the_console_on_its_own(ui, lab, artifacts_dir):
    panel = open_vm(ui, lab, "operator", "lab-vm1")
    with ui.page.context.expect_page() as popup_info:
        panel.get_by_role("button", name="Pop out").click()
    popup = popup_info.value
    popup.set_viewport_size({"width": 1000, "height": 640})
    window_panel = popup.locator('[data-testid="console"]')
    expect(window_panel).to_have_attribute("data-console-state", "connected", timeout=CONSOLE_TIMEOUT_MS)
    wait_for_frame(popup)
    popup.wait_for_timeout(500)
    popup.screenshot(path=str(artifacts_dir / "console-popout.png"))
    expect(panel.locator('[data-testid="console-message"]')).to_have_text(re.compile("its own window"))
    popup.close()


def test_clear_messages_for_a_shut_off_vm_and_a_viewer(ui, lab, artifacts_dir):
    panel = open_vm(ui, lab, "operator", "lab-vm3")
    expect(panel.locator('[data-testid="console-message"]')).to_have_text(
        "lab-vm3 is shut off: start it to open its console."
    )
    expect(panel.locator('[data-testid="console-connect"]')).to_be_hidden()
    expect(panel.locator('[data-testid="console-connect"]')).to_be_disabled()
    panel.screenshot(path=str(artifacts_dir / "console-vm-off.png"))

    ui.logout()
    panel = open_vm(ui, lab, "viewer", "lab-vm1")
    expect(panel.locator('[data-testid="console-message"]')).to_contain_text(
        "Your role may not open consoles"
    )
    expect(panel.locator('[data-testid="console-connect"]')).to_be_hidden()
    expect(panel.locator('[data-testid="console-connect"]')).to_be_disabled()
    panel.screenshot(path=str(artifacts_dir / "console-viewer.png"))


# -- refusals on the wire -------------------------------------------------------------------


def assert_refused(sock, words):
    assert sock.status == 403, sock.headers
    assert re.search(words, sock.headers.split("\r\n", 1)[0]), sock.headers


def test_a_token_works_once(lab, operator_token):
    status, ticket = console_ticket(lab, operator_token, "lab-vm1")
    assert status == 200 and isinstance(ticket, dict), ticket
    assert ticket["path"] == "/console/" and ticket["ttl"] == 30
    with ConsoleSocket(ticket["bound"]) as first:
        assert first.status == 101, first.headers
        assert first.message() == (2, b"RFB 003.008\n")
        before = vnc_connections(lab)
        with ConsoleSocket(ticket["bound"]) as again:
            assert_refused(again, "already used")
        assert vnc_connections(lab) == before


def test_a_token_without_its_browsers_secret_is_refused_and_stays_its_owners(lab, operator_token):
    """A token read from an event, a job return or a log opens nothing without the secret."""
    _, ticket = console_ticket(lab, operator_token, "lab-vm1")
    _, other = console_ticket(lab, operator_token, "lab-vm1")
    before = vnc_connections(lab)
    with ConsoleSocket(ticket["token"]) as sock:
        assert_refused(sock, "without the secret")
    with ConsoleSocket(f"{ticket['token']}.{other['secret']}") as sock:
        assert_refused(sock, "another browser session")
    assert vnc_connections(lab) == before
    with ConsoleSocket(ticket["bound"]) as sock:
        assert sock.status == 101 and sock.message() == (2, b"RFB 003.008\n")


def test_the_console_record_says_who_opened_which_console_without_secrets(lab, operator_token):
    # The lab's record (brine:master:websockify:record in lab/brine-pillar.yaml), in its folder.
    record = lab.lab.root / "consoles.log"
    _, ticket = console_ticket(lab, operator_token, "lab-vm1")
    with ConsoleSocket(ticket["bound"]) as sock:
        assert sock.status == 101
    fingerprint = tokens.fingerprint(ticket["token"])
    lines = [json.loads(line) for line in record.read_text().splitlines() if fingerprint in line]
    assert [line["event"] for line in lines] == ["issued", "redeemed"], lines
    assert lines[0]["user"] == lab.users["operator"][0] and lines[0]["vm"] == "lab-vm1"
    assert lines[1]["client"] == "127.0.0.1"
    text = record.read_text()
    for secret in (ticket["token"], ticket["secret"], ticket["password"]):
        assert secret not in text
    assert record.stat().st_mode & 0o777 == 0o600


def vnc_password_auth(address, port, password):
    """VNC authentication (RFB 3.8, type 2) straight at a guest's VNC server: True if accepted."""
    from Cryptodome.Cipher import DES  # pylint: disable=import-outside-toplevel

    # VNC's DES key is the password (8 bytes, zero padded) with each byte's bits reversed.
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in password.encode()[:8].ljust(8, b"\0"))
    with socket.create_connection((address, port), timeout=10) as sock:
        assert sock.recv(12) == b"RFB 003.008\n"
        sock.sendall(b"RFB 003.008\n")
        count = sock.recv(1)[0]
        assert 2 in sock.recv(count)
        sock.sendall(b"\x02")
        challenge = b""
        while len(challenge) < 16:
            challenge += sock.recv(16 - len(challenge))
        sock.sendall(DES.new(key, DES.MODE_ECB).encrypt(challenge))
        return sock.recv(4) == b"\0\0\0\0"


def vnc_address(lab, vm):
    display = lab.virsh(where_is(lab, vm), "domdisplay", vm).strip()
    address = display.split("//", 1)[1].rsplit(":", 1)[0]
    return address, 5900 + int(display.rsplit(":", 1)[1])


def test_an_unused_token_and_its_vnc_password_expire_after_30_seconds(lab, operator_token):
    address, port = vnc_address(lab, "lab-vm1")
    # A fresh ticket's password lets a VNC client in (the session's password works) ...
    _, fresh = console_ticket(lab, operator_token, "lab-vm1")
    assert vnc_password_auth(address, port, fresh["password"])
    assert not vnc_password_auth(address, port, "wrong-pw")
    # ... and neither the token nor the password works 30 s later.
    _, ticket = console_ticket(lab, operator_token, "lab-vm1")
    time.sleep(31)
    before = vnc_connections(lab)
    with ConsoleSocket(ticket["bound"]) as sock:
        assert_refused(sock, "expired")
    assert vnc_connections(lab) == before
    assert not vnc_password_auth(address, port, ticket["password"])


@pytest.mark.parametrize(
    "token", [f"{secrets.token_urlsafe(32)}.{secrets.token_urlsafe(32)}", "../../../etc/passwd", ""]
)
def test_a_random_or_malformed_token_is_refused(lab, token):
    before = vnc_connections(lab)
    with ConsoleSocket(token) as sock:
        assert sock.status == 403, sock.headers
        if token:
            assert_refused(sock, "unknown|malformed")
    assert vnc_connections(lab) == before


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "https://127.0.0.1:8443.evil.example", "null", None]
)
def test_a_foreign_origin_is_refused_and_does_not_spend_the_token(lab, operator_token, origin):
    _, ticket = console_ticket(lab, operator_token, "lab-vm1")
    before = vnc_connections(lab)
    with ConsoleSocket(ticket["bound"], origin=origin) as sock:
        assert sock.status == 403, sock.headers
    assert vnc_connections(lab) == before
    # nginx turned it away before websockify saw it: the token still works from our own origin.
    with ConsoleSocket(ticket["bound"]) as sock:
        assert sock.status == 101 and sock.message()[1].startswith(b"RFB ")


def test_a_viewer_gets_no_token(lab):
    token = api_login(lab, "viewer")
    status, body = console_ticket(lab, token, "lab-vm1")
    assert status == 401, body


def test_no_token_for_a_shut_off_vm(lab, operator_token):
    status, answer = console_ticket(lab, operator_token, "lab-vm3")
    assert status == 200 and answer["error"]["code"] == "not_running", answer
    message = answer["error"]["message"]
    assert "lab-vm3 is shut off" in message and "start it to open its console" in message
    assert not [
        p
        for p in lab.lab.console_tokens.iterdir()
        if p.suffix == ".token" and json.loads(p.read_text()).get("vm") == "lab-vm3"
    ]


def test_guests_vnc_servers_answer_only_the_master_and_only_with_a_password(lab):
    host = where_is(lab, "lab-vm1")
    address, port = vnc_address(lab, "lab-vm1")
    assert address.startswith("10.77.0.") and address != "10.77.0.1", (address, port)
    # From the master (10.77.0.1): VNC offers password authentication only (type 2).
    with socket.create_connection((address, port), timeout=10) as sock:
        assert sock.recv(12) == b"RFB 003.008\n"
        sock.sendall(b"RFB 003.008\n")
        count = sock.recv(1)[0]
        assert list(sock.recv(count)) == [2]
    # From any other address on the lab network (another host): refused.
    other = next(h for h in lab.hosts if h != host)
    probe = lab.lab.nsenter(
        other,
        "python3",
        "-c",
        f"import socket; socket.create_connection(('{address}', {port}), 5)",
        check=False,
    )
    assert probe.returncode != 0 and "refused" in (probe.stderr or "").lower(), probe.stderr


# -- after a migration ----------------------------------------------------------------------


@pytest.fixture(name="migrated_vm2")
def _migrated_vm2(lab):
    """lab-vm2 moved live to another host, and back afterwards."""
    home = where_is(lab, "lab-vm2")
    away = next(h for h in lab.hosts if h != home)

    def migrate(source, target):
        lab.lab.nsenter(
            source,
            "virsh",
            "-c",
            "qemu:///system",
            "migrate",
            "--live",
            "--p2p",
            "--persistent",
            "--undefinesource",
            "--unsafe",
            "lab-vm2",
            f"qemu+tcp://{target}/system",
            timeout=180,
        )

    yield home, away, migrate
    if where_is(lab, "lab-vm2") != home:
        migrate(away, home)


def test_after_a_migration_the_console_reaches_the_new_host_and_old_tokens_fail(
    lab, operator_token, migrated_vm2
):
    home, away, migrate = migrated_vm2
    status, old = console_ticket(lab, operator_token, "lab-vm2")
    assert status == 200 and old["host"] == home, old
    migrate(home, away)
    assert where_is(lab, "lab-vm2") == away

    status, new = console_ticket(lab, operator_token, "lab-vm2")
    assert status == 200 and isinstance(new, dict), new
    assert new["host"] == away
    with ConsoleSocket(new["bound"]) as sock:
        assert sock.status == 101 and sock.message() == (2, b"RFB 003.008\n")

    # The token issued before the move points at the old host, where nothing answers now.
    with ConsoleSocket(old["bound"]) as sock:
        got_banner = False
        if sock.status == 101:
            try:
                opcode, payload = sock.message()
                got_banner = opcode == 2 and payload.startswith(b"RFB")
            except (ConnectionError, OSError):
                pass
        assert not got_banner, "a token issued before the migration still reached a VNC server"


def test_nginx_limits_consoles_per_client_address(lab, operator_token):
    tickets = [console_ticket(lab, operator_token, "lab-vm1")[1] for _ in range(5)]
    sockets = []
    try:
        for ticket in tickets[:4]:
            sock = ConsoleSocket(ticket["bound"])
            sockets.append(sock)
            assert sock.status == 101 and sock.message()[1].startswith(b"RFB ")
        with ConsoleSocket(tickets[4]["bound"]) as fifth:
            assert fifth.status == 429, fifth.headers
        sockets.pop().close()
        time.sleep(1)
        # Turned away by nginx, the fifth token was not spent.
        with ConsoleSocket(tickets[4]["bound"]) as fifth:
            assert fifth.status == 101 and fifth.message()[1].startswith(b"RFB ")
    finally:
        for sock in sockets:
            sock.close()
