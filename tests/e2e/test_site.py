"""The site as nginx serves it in the lab: TLS, headers, the /api/ proxy, limits, no secrets."""

import http.client
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.lab


def fetch(url, data=None, headers=None):
    """(status, headers, body) of a request to the lab, its self-signed certificate accepted."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_the_app_is_served_over_tls_with_a_strict_policy(lab):
    status, headers, body = fetch(lab.url)
    assert status == 200 and b"<script" in body
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "nginx/" not in headers.get("Server", "")
    status, headers, _ = fetch(lab.url + "js/app.js")
    assert status == 200 and "javascript" in headers["Content-Type"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_plain_http_is_not_served(lab):
    with pytest.raises((urllib.error.URLError, http.client.HTTPException, ConnectionError)):
        urllib.request.urlopen(lab.url.replace("https://", "http://"), timeout=10)


def test_api_is_proxied_and_requires_a_login(lab):
    status, _, _ = fetch(
        lab.url + "api/",
        data=json.dumps([{"client": "runner", "fun": "cluster.inventory"}]).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 401
    user, password = lab.users["viewer"]
    status, headers, body = fetch(
        lab.url + "api/login",
        data=json.dumps({"username": user, "password": password, "eauth": "pam"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    assert json.loads(body)["return"][0]["token"]
    # salt-api's session cookie is never needed by the app; nginx keeps it off cross-site requests.
    cookie = headers.get("Set-Cookie", "")
    if cookie:
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie


def test_salt_api_is_reachable_only_on_loopback(lab):
    for host in lab.hosts:
        # From a host's network namespace, the master's bridge address has no salt-api.
        probe = lab.lab.nsenter(
            host,
            "curl",
            "-s",
            "-m",
            "3",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "http://10.77.0.1:8000/",
            check=False,
        )
        assert probe.stdout.strip() in ("", "000")


def test_oversized_requests_are_refused(lab):
    status, _, _ = fetch(
        lab.url + "api/login", data=b"x" * (256 * 1024), headers={"Content-Type": "application/json"}
    )
    assert status == 413


def test_no_credentials_in_static_files(lab):
    passwords = [password for _user, password in lab.users.values()]
    for path in (REPO / "web").rglob("*"):
        if path.is_file() and "node_modules" not in path.parts:
            text = path.read_text(errors="replace")
            assert not any(p in text for p in passwords), path
