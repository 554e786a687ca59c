"""
Integration tests: a real salt-master configured from Brine's master.d
snippets, real minions on libvirt's ``test:///default`` driver, a real
salt-api, and real PAM users in the brine-* groups. Tests talk to salt-api
over HTTP exactly as the web UI does: ``POST /login``, then ``POST /`` with
only the ``X-Auth-Token`` header (no cookie is ever sent back).

Needs root (to create PAM users and groups) and, like the lab, Salt in the
virtualenv this runs from.
"""

import grp
import json
import os
import pathlib
import secrets
import subprocess
import sys

import jinja2
import pytest
import requests
import salt.utils.dictupdate
import salt.utils.yaml
from pytestskipmarkers.utils import ports
from saltfactories.utils import random_string

from brine import errors

REPO = pathlib.Path(__file__).resolve().parents[2]
TEST_URI = "test:///default"
ROLES = ("viewer", "operator", "admin")
HTTP_TIMEOUT = 180


def _run(*cmd, stdin=None):
    subprocess.run(cmd, input=stdin, text=True, check=True, capture_output=True)


def _exists(database, name):
    return subprocess.run(["getent", database, name], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="session")
def pam_users():
    """
    ``{role: (username, password)}`` for one PAM user per Brine group, plus
    ``"none"``: a user in no Brine group. Creates the groups that are missing
    and removes exactly the users and groups it created.
    """
    if os.geteuid() != 0:
        pytest.fail("the integration tests create PAM users and groups: run them as root")
    made_groups, made_users, users = [], [], {}
    try:
        for role in ROLES:
            group = f"brine-{role}"
            if not _exists("group", group):
                _run("groupadd", group)
                made_groups.append(group)
        for role in (*ROLES, "none"):
            username = random_string(f"brt-{role}-", uppercase=False)
            password = secrets.token_urlsafe(18)
            groups = [] if role == "none" else ["--groups", f"brine-{role}"]
            _run(
                "useradd",
                "--no-create-home",
                "--no-user-group",
                "--gid",
                "nogroup",
                "--shell",
                "/usr/sbin/nologin",
                *groups,
                username,
            )
            made_users.append(username)
            _run("chpasswd", stdin=f"{username}:{password}\n")
            users[role] = (username, password)
        yield users
    finally:
        for username in made_users:
            subprocess.run(["userdel", username], capture_output=True, check=False)
        for group in made_groups:
            # The lab uses the same machine-wide groups: leave a group that others joined since.
            if not grp.getgrnam(group).gr_mem:
                subprocess.run(["groupdel", group], capture_output=True, check=False)


@pytest.fixture(scope="session")
def pam_python(tmp_path_factory):
    """
    Salt runs its PAM check as ``<auth.pam.python> salt/auth/pam.py``, resolving
    symlinks, which would turn the venv's python into the base interpreter
    that cannot import salt. A script that execs the venv's python keeps the
    venv.
    """
    wrapper = tmp_path_factory.mktemp("pam-python") / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.fixture(scope="session")
def pam_service(tmp_path_factory):
    """
    The brine formula's PAM service (only the brine groups, pam_faillock), rendered from its own
    template under a name of this run's, with a tally folder of its own: logins here are
    judged as on a site, whatever /etc/pam.d/brine this machine has or lacks.
    """
    template = REPO / "states" / "brine" / "files" / "default" / "pam.jinja"
    defaults = salt.utils.yaml.safe_load((REPO / "states/brine/parameters/defaults.yaml").read_text())
    faillock = dict(defaults["master"]["pam"]["faillock"], dir=str(tmp_path_factory.mktemp("faillock")))
    text = jinja2.Template(template.read_text()).render(
        groups=["brine-admin", "brine-operator", "brine-viewer"], faillock=faillock
    )
    name = random_string("brine-it-", uppercase=False)
    path = pathlib.Path("/etc/pam.d") / name
    path.write_text(text, encoding="utf-8")
    yield name
    path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def host_ids():
    """
    Minion ids: two hypervisor hosts and one minion that is not a host.
    """
    return {
        "hv1": random_string("hv1-", uppercase=False),
        "hv2": random_string("hv2-", uppercase=False),
        "office": random_string("office-", uppercase=False),
    }


def _master_d():
    """
    The settings of every master.d snippet, merged the way ``include`` does.
    """
    config = {}
    for path in sorted((REPO / "master.d").glob("*.conf")):
        with path.open(encoding="utf-8") as handle:
            salt.utils.dictupdate.update(config, salt.utils.yaml.safe_load(handle) or {})
    return config


@pytest.fixture(scope="session")
def master_config(tmp_path_factory, pam_python, pam_service, host_ids):
    if not (REPO / "_modules" / "hypervisor.py").exists():
        pytest.fail("_modules/hypervisor.py is missing: the runner has no host module to call")
    file_root = tmp_path_factory.mktemp("file-root")
    (file_root / "_modules").symlink_to(REPO / "_modules")
    # Brine's library, served to hosts as _utils (saltutil.sync_utils) like a site serves it.
    (file_root / "_utils").symlink_to(REPO / "_utils")
    pillar_root = tmp_path_factory.mktemp("pillar-root")
    hosts = ",".join([host_ids["hv1"], host_ids["hv2"]])
    (pillar_root / "top.sls").write_text(
        f"base:\n  'L@{hosts}':\n    - match: compound\n    - hypervisor\n", encoding="utf-8"
    )
    (pillar_root / "hypervisor.sls").write_text("brine:\n  roles:\n    - hypervisor\n", encoding="utf-8")
    config = _master_d()
    # Only what a test run must change: free ports, the venv's PAM python,
    # the checkout's runners, modules, engines and library, a short timeout to wait for hosts.
    config["rest_cherrypy"]["port"] = ports.get_unused_localhost_port()
    stream = {
        "listen": f"127.0.0.1:{ports.get_unused_localhost_port()}",
        "salt_api": f"http://127.0.0.1:{config['rest_cherrypy']['port']}",
    }
    salt.utils.dictupdate.update(
        config,
        {
            "auth.pam.python": pam_python,
            "auth.pam.service": pam_service,
            "runner_dirs": [str(REPO / "_runners")],
            # The runner imports Brine's library (_utils/brine) through utils_dirs.
            "utils_dirs": [str(REPO / "_utils")],
            # Brine's event stream, as the brine formula enables it (brine-paths.conf).
            "engines_dirs": [str(REPO / "_engines")],
            "engines": [{"brine_stream": {}}],
            "file_roots": {"base": [str(file_root), str(REPO / "tests/integration/files")]},
            "pillar_roots": {"base": [str(pillar_root)]},
            "brine": {"inventory": {"timeout": 5}, "stream": stream},
        },
    )
    return config


@pytest.fixture(scope="session")
def salt_master(salt_factories, master_config):
    factory = salt_factories.salt_master_daemon(random_string("brine-master-"), overrides=master_config)
    with factory.started():
        yield factory


@pytest.fixture(scope="session")
def salt_cli(salt_master):
    return salt_master.salt_cli(timeout=120)


def minion_factory(salt_master, minion_id, **overrides):
    return salt_master.salt_minion_daemon(
        minion_id,
        overrides={"virt": {"connection": {"uri": TEST_URI}}, **overrides},
    )


def sync_modules(salt_cli, minion_id):
    """Brine's library first (the modules import it), then the modules."""
    for fun in ("saltutil.sync_utils", "saltutil.sync_modules"):
        ret = salt_cli.run(fun, minion_tgt=minion_id)
        assert ret.returncode == 0, ret


@pytest.fixture(scope="session")
def hv1(salt_master, salt_cli, host_ids):
    """
    The hypervisor host the tests act on. It runs jobs in threads, and
    ``brinetest.hold`` keeps the test driver's state between jobs, so what one
    call changes the next one sees.
    """
    factory = minion_factory(salt_master, host_ids["hv1"], multiprocessing=False)
    with factory.started():
        sync_modules(salt_cli, factory.id)
        ret = salt_cli.run("brinetest.hold", minion_tgt=factory.id)
        assert ret.returncode == 0 and ret.data == TEST_URI, ret
        yield factory


@pytest.fixture(scope="session")
def office(salt_master, salt_cli, host_ids):
    """
    A running minion that is not a hypervisor host but could answer
    ``hypervisor.inventory`` if asked: it must never be asked.
    """
    factory = minion_factory(salt_master, host_ids["office"])
    with factory.started():
        sync_modules(salt_cli, factory.id)
        yield factory


@pytest.fixture(scope="module")
def hv2_factory(salt_master, host_ids):
    """
    A second hypervisor host, started only by the tests that need it. Its key
    is deleted when the test module ends, so that the master stops expecting
    it and later tests do not wait for it.
    """
    factory = minion_factory(salt_master, host_ids["hv2"])
    yield factory
    salt_master.salt_key_cli().run("--delete", factory.id, "--yes")


class SaltApi:
    """
    salt-api as the web UI calls it. Every request is a fresh connection with
    no cookie jar: the token travels in the X-Auth-Token header only.
    """

    def __init__(self, url, users):
        self.url = url
        self.users = users
        self._tokens = {}

    def login(self, username, password):
        return requests.post(
            f"{self.url}/login",
            json={"username": username, "password": password, "eauth": "pam"},
            headers={"Accept": "application/json"},
            timeout=HTTP_TIMEOUT,
        )

    def token(self, role):
        if role not in self._tokens:
            response = self.login(*self.users[role])
            assert response.status_code == 200, response.text
            self._tokens[role] = response.json()["return"][0]["token"]
        return self._tokens[role]

    def post(self, lowstate, token=None):
        headers = {"Accept": "application/json"}
        if token:
            headers["X-Auth-Token"] = token
        return requests.post(f"{self.url}/", json=lowstate, headers=headers, timeout=HTTP_TIMEOUT)

    def runner(self, role, fun, **kwarg):
        """
        POST one runner call as ``role``; the response.
        """
        low = {"client": "runner", "fun": fun}
        if kwarg:
            low["kwarg"] = kwarg
        return self.post([low], token=self.token(role))

    def result(self, role, fun, **kwarg):
        """
        ``return[0]`` of a runner call that must be let through.
        """
        response = self.runner(role, fun, **kwarg)
        assert response.status_code == 200, response.text
        return response.json()["return"][0]

    def error(self, role, fun, **kwarg):
        """
        ``[<code>] <message>`` of a runner call that was refused. A refusal comes back as
        ``{"error": {"code", "message"}, "retcode": 1}`` in ``return[0]`` (brine.face), never
        as Salt's traceback or a dump of the function's docstring.
        """
        ret = self.result(role, fun, **kwarg)
        assert isinstance(ret, dict) and set(ret) == {"error", "retcode"}, ret
        error = ret["error"]
        assert set(error) == {"code", "message"} and ret["retcode"] == 1, ret
        assert errors.parse(f"[{error['code']}] x")[0] == error["code"], f"unknown code {error['code']}"
        text = json.dumps(ret)
        for internal in ("Traceback", 'File \\"', "CLI Example", "Passed invalid arguments"):
            assert internal not in text, ret
        return f"[{error['code']}] {error['message']}"


@pytest.fixture(scope="session")
def salt_api(salt_master, hv1, office):
    factory = salt_master.salt_api_daemon()
    with factory.started():
        yield factory


@pytest.fixture(scope="session")
def api(salt_api, salt_master, pam_users):
    port = salt_master.config["rest_cherrypy"]["port"]
    return SaltApi(f"http://127.0.0.1:{port}", pam_users)


@pytest.fixture(scope="session")
def stream_url(salt_api, salt_master):
    """Brine's event stream (the master engine brine_stream), as nginx reaches it."""
    return f"http://{salt_master.config['brine']['stream']['listen']}/stream"


@pytest.fixture
def vm_state(salt_cli, hv1):
    """
    ``vm_state(name)``: the domain's state on hv1 read straight from libvirt
    (``"undefined"`` when there is none), not through Brine.
    """

    def read(name="test"):
        ret = salt_cli.run("brinetest.state", name, minion_tgt=hv1.id)
        assert ret.returncode == 0, ret
        return ret.data

    return read
