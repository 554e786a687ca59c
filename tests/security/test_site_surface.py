"""The lab's site as an attacker meets it, with real HTTP clients: nginx exposes exactly login,
logout, the runner client, Brine's stream and the console WebSocket; no CORS grant; the security
headers on every answer; no session cookie; logins only for the brine groups, slowed when they
fail; the hosts' libvirt and migration ports closed to all but the other hosts; the lab's folder
and logs closed to other users; no console token in the access log."""

import concurrent.futures
import http.client
import json
import secrets
import ssl
import stat
import subprocess
import time

import pytest

from support.lab import brinelab

pytestmark = pytest.mark.lab

HIDDEN = ["events", "hook", "stats", "token", "run", "minions", "jobs", "keys", "ws", "login/x", "logout/"]
HEADERS = {
    "Strict-Transport-Security": "max-age=",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
FOREIGN = "https://evil.example"


def request(method, path, body=None, headers=None, source="127.0.0.1"):
    """(status, headers, body) of one request to the lab's site, from a loopback ``source``."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(
        "127.0.0.1", 8443, context=context, timeout=30, source_address=(source, 0)
    )
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        answer = conn.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        conn.close()


def login(username, password, source="127.0.0.1"):
    return request(
        "POST", "/api/login", {"username": username, "password": password, "eauth": "pam"}, source=source
    )


@pytest.fixture(scope="module")
def throwaway(lab):
    """A local account with a password outside the brine groups, and one inside brine-viewer."""
    users = {}
    for kind in ("outsider", "viewer"):
        name = f"brt-sec-{kind[:3]}-{secrets.token_hex(3)}"
        groups = ["--groups", "brine-viewer"] if kind == "viewer" else []
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", *groups, name],
            check=True,
            capture_output=True,
        )
        password = secrets.token_urlsafe(12)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        users[kind] = (name, password)
    yield users
    for name, _password in users.values():
        subprocess.run(["userdel", name], capture_output=True, check=False)
        # faillock's record of the account (the lab's tally folder, lab/brine-pillar.yaml).
        (lab.lab.root / "faillock" / name).unlink(missing_ok=True)


@pytest.mark.parametrize("path", HIDDEN)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_salt_apis_other_endpoints_are_not_found(lab, method, path):  # pylint: disable=unused-argument
    status, _, _ = request(method, f"/api/{path}", body={} if method == "POST" else None)
    assert status == 404


def test_no_cors_grant_for_a_foreign_origin(lab):
    user, password = lab.users["viewer"]
    status, headers, _ = request(
        "POST", "/api/login", {"username": user, "password": password, "eauth": "pam"}, {"Origin": FOREIGN}
    )
    assert status == 200
    assert not [name for name in headers if name.lower().startswith("access-control-")]
    for path in ("/api/", "/api/login", "/stream", "/"):
        preflight = {"Origin": FOREIGN, "Access-Control-Request-Method": "POST"}
        status, headers, _ = request("OPTIONS", path, headers=preflight)
        assert status in (404, 405), path
        assert not [name for name in headers if name.lower().startswith("access-control-")], path


def test_every_location_carries_the_security_headers(lab):  # pylint: disable=unused-argument
    answers = {
        "/": request("GET", "/"),
        "/js/app.js": request("GET", "/js/app.js"),
        "/api/login": request("POST", "/api/login", {"username": "x", "password": "y", "eauth": "pam"}),
        "/api/": request("POST", "/api/", [{"client": "runner", "fun": "cluster.inventory"}]),
        "/api/logout": request("POST", "/api/logout", {}),
        "/stream": request("GET", "/stream"),
        "/console/": request("GET", "/console/?token=x", headers={"Origin": "https://127.0.0.1:8443"}),
        "a 404": request("GET", "/no-such-page"),
        "a hidden endpoint": request("GET", "/api/events"),
        "a wrong method": request("GET", "/api/login"),
    }
    for where, (status, headers, _) in answers.items():
        for name, value in HEADERS.items():
            assert value in (headers.get(name) or ""), (where, status, name)
        assert "Set-Cookie" not in headers, where
    assert answers["/"][0] == 200 and answers["a 404"][0] == 404 and answers["a wrong method"][0] == 405


def test_the_session_cookie_is_no_credential(lab):
    user, password = lab.users["viewer"]
    status, headers, body = login(user, password)
    assert status == 200 and "Set-Cookie" not in headers
    token = json.loads(body)["return"][0]["token"]
    call = [{"client": "runner", "fun": "cluster.inventory"}]
    assert request("POST", "/api/", call, {"Cookie": f"session_id={token}"})[0] == 401
    assert request("POST", "/api/", call, {"X-Auth-Token": token})[0] == 200


def test_an_account_outside_the_brine_groups_gets_no_token(lab, throwaway):  # pylint: disable=unused-argument
    status, _, body = login(*throwaway["outsider"], source="127.0.0.71")
    assert status == 401 and b"token" not in body
    status, _, body = login(*throwaway["viewer"], source="127.0.0.71")
    assert status == 200 and json.loads(body)["return"][0]["token"]


def test_repeated_failed_logins_lock_the_account_for_a_while(lab, throwaway):  # pylint: disable=unused-argument
    user, password = throwaway["viewer"]
    assert login(user, password, source="127.0.0.72")[0] == 200
    # pam_faillock (deny=5): five wrong passwords, then the right one is refused as well.
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(lambda i: login(user, f"wrong-{i}", source="127.0.0.72")[0], range(5)))
    assert statuses == [401] * 5
    assert login(user, password, source="127.0.0.72")[0] == 401


def test_logins_at_speed_from_one_address_get_429(lab):
    plan = lab.lab.master_plan()["nginx_site"]["limits"]
    # Far more than the burst at once, from an address of its own (the suite logs in from 127.0.0.1).
    count = plan["login_burst"] * 2 + 10
    body = {"eauth": "pam"}
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(
            pool.map(lambda _i: request("POST", "/api/login", body, source="127.0.0.73")[0], range(count))
        )
    assert 429 in statuses and 200 not in statuses
    # Another address is not held up by it.
    assert request("POST", "/api/login", body, source="127.0.0.74")[0] != 429


def connects(address, port, netns=None):
    """Whether a TCP connection to address:port succeeds, from the master or a host's namespace."""
    probe = f"exec 3<>/dev/tcp/{address}/{port}"
    prefix = ["ip", "netns", "exec", netns] if netns else []
    done = subprocess.run([*prefix, "timeout", "5", "bash", "-c", probe], capture_output=True, check=False)
    return done.returncode == 0


@pytest.fixture
def migration_listener(lab):
    """Something listening on a migration port of the second host, as QEMU does during a migration."""
    host = lab.hosts[1]
    port = 49215
    script = (
        "import socket,time\n"
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('0.0.0.0', {port}))\n"
        "s.listen(8); time.sleep(60)\n"
    )
    proc = subprocess.Popen(["ip", "netns", "exec", f"brine-{host}", "python3", "-c", script])  # pylint: disable=consider-using-with
    time.sleep(0.5)
    yield host, port
    proc.kill()
    proc.wait()


def test_libvirt_and_migration_ports_answer_only_the_other_hosts(lab, migration_listener):
    host, port = migration_listener
    target = brinelab.host_address(host)
    other = next(h for h in lab.hosts if h != host)
    # From the master's address (10.77.0.1, the bridge) and the machine: refused.
    assert not connects(target, 16509)
    assert not connects(target, port)
    # From the other host: libvirt (the migration's control connection) and QEMU's port answer.
    assert connects(target, 16509, netns=f"brine-{other}")
    assert connects(target, port, netns=f"brine-{other}")


def test_the_lab_folder_and_nginx_logs_are_root_only(lab):
    root = lab.lab.root
    assert stat.S_IMODE(root.stat().st_mode) & 0o077 == 0
    for log in ("access.log", "error.log"):
        path = lab.lab.nginx / log
        assert path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert stat.S_IMODE(lab.lab.credentials.stat().st_mode) == 0o600


def test_no_console_token_in_the_access_log(lab):
    token = "tok" + secrets.token_hex(8)
    request("GET", f"/console/?token={token}", headers={"Origin": "https://127.0.0.1:8443"})
    request("GET", f"/?token={token}")
    access = lab.lab.nginx / "access.log"
    deadline = time.monotonic() + 5
    while "GET /console/ " not in access.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    text = access.read_text()
    assert "GET /console/ " in text
    assert token not in text and token not in (lab.lab.nginx / "error.log").read_text()
