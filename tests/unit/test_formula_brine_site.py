"""
The brine formula's site and logins, rendered by Salt (``salt-call --local state.show_sls brine``,
as the lab renders it): nginx exposes exactly login, logout, the runner client, Brine's event
stream and the console WebSocket, with the security headers on every answer, no CORS, no session
cookie, request limits and an access log without query strings; /etc/pam.d/brine admits only the
brine groups and counts failed logins with pam_faillock. The rendered lab configuration passes
``nginx -t``.
"""

import re
import shutil
import subprocess

import jinja2
import pytest

from support.lab import brinelab
from support.paths import REPO

DEFAULT = {"brine": {"master": {"repo": str(REPO)}}}
SITE = "brine-config-file-nginx-site-file-managed"
PAM = "brine-config-file-pam-service-file-managed"
# What the site serves: location -> what it does.
LOCATIONS = {"/", "~* \\.(js|mjs|css|svg)$", "^~ /api/", "= /api/login", "= /api/logout", "= /api/"}
LOCATIONS |= {"= /stream", "= /console/"}
OPENSSL = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=t"]


def render_template(path, **context):
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(path.parent)), undefined=jinja2.StrictUndefined
    )
    return env.get_template(path.name).render(**context)


@pytest.fixture(scope="module")
def default_states(tmp_path_factory):
    return brinelab.render_brine_formula(tmp_path_factory.mktemp("default"), DEFAULT)


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory):
    return tmp_path_factory.mktemp("lab")


@pytest.fixture(scope="module")
def lab_plan(tmp_path_factory, lab_root):
    states = brinelab.render_brine_formula(tmp_path_factory.mktemp("labf"), brinelab.brine_pillar(lab_root))
    return brinelab.master_plan(states)


@pytest.fixture(scope="module")
def site(default_states):
    args = default_states[SITE]["args"]
    return render_template(REPO / "nginx" / "brine.conf.j2", **args["context"])


def locations(text):
    """location -> its body, of a rendered site (locations hold no nested blocks but `if`)."""
    found = {}
    for match in re.finditer(r"^    location (.+?) \{\n(.*?)^    \}", text, re.M | re.S):
        found[match.group(1)] = match.group(2)
    return found


def test_the_site_serves_exactly_what_the_web_app_calls(site):
    found = locations(site)
    assert set(found) == LOCATIONS
    assert found["^~ /api/"].strip() == "return 404;"
    for name, method, path in (("= /api/login", "POST", "/login"), ("= /api/logout", "POST", "/logout")):
        assert f"if ($request_method != {method})" in found[name] and "return 405;" in found[name]
        assert f"proxy_pass http://brine_salt_api{path};" in found[name]
    assert "proxy_pass http://brine_salt_api/;" in found["= /api/"]
    assert "if ($request_method != POST)" in found["= /api/"]
    stream = found["= /stream"]
    assert "proxy_pass http://brine_stream;" in stream and "proxy_buffering off;" in stream
    assert "if ($request_method != GET)" in stream and "limit_conn brine_stream_addr 4;" in stream
    assert "proxy_read_timeout 1h;" in stream
    assert "server 127.0.0.1:8001;" in site


def test_no_location_drops_the_servers_headers(site):
    for name, body in locations(site).items():
        assert "add_header" not in body, name
    server = site.split("server {", 1)[1]
    for header in (
        "Strict-Transport-Security",
        "X-Frame-Options",
        "Referrer-Policy",
        "X-Content-Type-Options",
    ):
        assert re.search(rf"^    add_header {header} .* always;$", server, re.M), header
    assert "add_header Content-Security-Policy $brine_csp always;" in server


def test_no_cors_and_no_session_cookie(site):
    for header in ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Set-Cookie"):
        assert f"    proxy_hide_header {header};" in site
    assert "Access-Control-Allow" not in site.replace("proxy_hide_header Access-Control-Allow", "")
    for name, body in locations(site).items():
        if "proxy_pass" in body:
            assert 'proxy_set_header Cookie "";' in body, name


def test_limits_and_an_access_log_without_query_strings(site):
    assert "limit_req_zone $binary_remote_addr zone=brine_login:1m rate=5r/m;" in site
    assert "limit_req zone=brine_login burst=5 nodelay;" in locations(site)["= /api/login"]
    for name in ("= /api/", "= /api/logout", "= /stream"):
        assert "limit_req zone=brine_api burst=40 nodelay;" in locations(site)[name]
    assert "limit_req_status 429;" in site
    log_format = re.search(r"log_format brine_site (.*?);", site, re.S).group(1)
    assert "$uri" in log_format
    for variable in ("$request ", "$request_uri", "$args", "$query_string", "$arg_"):
        assert variable not in log_format
    assert "access_log /var/log/nginx/brine-access.log brine_site;" in site


def test_the_pam_service_admits_only_the_brine_groups(default_states):
    args = default_states[PAM]["args"]
    assert args["name"] == "/etc/pam.d/brine"
    text = render_template(REPO / "states/brine/files/default/pam.jinja", **args["context"])
    lines = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    account = [line for line in lines if line[0] == "account"]
    assert [line[-1] for line in account[1:-1]] == ["brine-admin", "brine-operator", "brine-viewer"]
    assert all(line[1:3] == ["[success=done", "default=ignore]"] for line in account[1:-1])
    assert account[-1] == ["account", "required", "pam_deny.so"]
    auth = [" ".join(line) for line in lines if line[0] == "auth"]
    assert auth[0].startswith("auth requisite pam_faillock.so preauth") and "deny=5 unlock_time=60" in auth[0]
    assert any("pam_faillock.so authfail" in line for line in auth) and auth[-1].endswith("pam_deny.so")


def test_the_lab_writes_the_pam_service_in_place_and_its_tally_in_its_folder(lab_plan, lab_root):
    assert set(lab_plan["system_files"]) == {"/etc/pam.d/brine"}
    text, mode = lab_plan["system_files"]["/etc/pam.d/brine"]
    assert mode == 0o644 and f"dir={lab_root}/faillock" in text
    assert not any(name.startswith("/etc/") for name in lab_plan["files"])


def test_the_eauth_snippet_names_the_pam_service():
    text = (REPO / "master.d" / "brine-eauth.conf").read_text()
    assert re.search(r"^auth\.pam\.service: brine$", text, re.M)


@pytest.mark.parametrize(
    "override,message",
    [
        (
            {"nginx": {"stream_upstream": "0.0.0.0:8001"}},
            "brine:master:nginx:stream_upstream must be on loopback",
        ),
        (
            {"nginx": {"limits": {"login_rate": "fast"}}},
            "brine:master:nginx:limits:login_rate must be a rate",
        ),
        ({"pam": {"faillock": {"deny": 0}}}, "brine:master:pam:faillock:deny must be a whole number"),
    ],
    ids=["stream", "rate", "deny"],
)
def test_bad_values_stop_the_render(tmp_path, override, message):
    pillar = {"brine": {"master": {"repo": str(REPO), **override}}}
    with pytest.raises(brinelab.LabError, match=re.escape(message)):
        brinelab.render_brine_formula(tmp_path, pillar)


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed (run ./setup.sh)")
def test_nginx_accepts_the_lab_configuration(lab_plan, lab_root):
    # Everything but the machine-wide PAM service, all below the lab's (temporary) folder.
    brinelab.write_master_plan({**lab_plan, "system_files": {}})
    tls = lab_root / "tls"
    tls.mkdir(exist_ok=True)
    subprocess.run(
        [*OPENSSL, "-keyout", str(tls / "brine.key"), "-out", str(tls / "brine.crt")],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        ["nginx", "-t", "-c", lab_plan["nginx_main"]["config"]], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
