"""
Brine through salt-api as the web UI uses it: PAM logins, the role table,
the cluster runner's inventory and lifecycle actions, and its error sentences.
"""

import pytest
from saltfactories.utils import random_string

from brine import errors

ROLES = ("viewer", "operator", "admin")


@pytest.fixture
def restore_test_vm(salt_cli, hv1):
    yield
    ret = salt_cli.run("brinetest.ensure_running", "test", minion_tgt=hv1.id)
    assert ret.data == "running", ret


@pytest.fixture
def scratch_vm(salt_cli, hv1):
    """
    A shut-off VM defined on hv1 for tests that delete.
    """
    name = random_string("scratch-", uppercase=False)
    ret = salt_cli.run("brinetest.define", name, minion_tgt=hv1.id)
    assert ret.data == "shutoff", ret
    yield name
    salt_cli.run("brinetest.undefine", name, minion_tgt=hv1.id)


# --------------------------------------------------------------------------
# Logging in
# --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_login_returns_a_token_and_the_roles_perms(api, pam_users, master_config, role):
    username, password = pam_users[role]
    response = api.login(username, password)
    assert response.status_code == 200, response.text
    login = response.json()["return"][0]
    assert login["user"] == username
    assert login["eauth"] == "pam"
    assert int(login["token"], 16)
    assert login["perms"] == master_config["external_auth"]["pam"][f"brine-{role}%"]


def test_a_wrong_password_is_401(api, pam_users):
    username, password = pam_users["admin"]
    response = api.login(username, password + "x")
    assert response.status_code == 401


def test_a_user_in_no_brine_group_gets_no_token(api, pam_users):
    # The brine PAM service admits only members of the brine groups (its account stack).
    response = api.login(*pam_users["none"])
    assert response.status_code == 401
    assert "token" not in response.text


def test_the_token_header_alone_is_enough(api, pam_users):
    response = api.login(*pam_users["viewer"])
    # salt-api still sets its session cookie; the UI never sends it back
    assert "session_id" in response.cookies
    token = response.json()["return"][0]["token"]
    call = api.post([{"client": "runner", "fun": "cluster.inventory"}], token=token)
    assert call.status_code == 200, call.text
    assert "hosts" in call.json()["return"][0]


def test_no_token_is_401(api):
    response = api.post([{"client": "runner", "fun": "cluster.inventory"}])
    assert response.status_code == 401


def test_a_made_up_token_is_401(api):
    response = api.post([{"client": "runner", "fun": "cluster.inventory"}], token="0123abcd" * 5)
    assert response.status_code == 401


@pytest.mark.parametrize("client", ["local", "local_async", "wheel", "runner_async", "ssh"])
def test_only_the_runner_client_is_enabled(api, client):
    low = {"client": client, "fun": "test.ping", "tgt": "*"}
    if client == "wheel":
        low["fun"] = "key.list_all"
    response = api.post([low], token=api.token("admin"))
    assert response.status_code == 400
    assert "Client disabled" in response.text


@pytest.mark.parametrize("fun", ["jobs.list_jobs", "salt.cmd", "state.orchestrate"])
def test_even_admin_gets_no_other_runner(api, fun):
    assert api.runner("admin", fun).status_code == 401


# --------------------------------------------------------------------------
# Looking (viewer)
# --------------------------------------------------------------------------


def test_viewer_sees_the_host_and_its_test_vm(api, hv1):
    inventory = api.result("viewer", "cluster.inventory")
    hosts = {host["name"]: host for host in inventory["hosts"]}
    host = hosts[hv1.id]
    assert host["reachable"] is True and host["error"] is None
    assert host["facts"]["uri"] == "test:///default"
    vms = {vm["name"]: vm for vm in host["vms"]}
    assert vms["test"]["state"] == "running"
    assert vms["test"]["host"] == hv1.id
    totals = inventory["totals"]
    assert totals["hosts"] == len(hosts)
    assert totals["hosts_reachable"] == sum(h["reachable"] for h in hosts.values())
    assert totals["vms"] == sum(len(h["vms"]) for h in hosts.values())
    assert totals["vms_running"] >= 1
    assert totals["cpus"] == host["facts"]["cpus"]
    assert isinstance(inventory["collected"], float)


def test_viewer_gets_vm_info_with_its_host(api, hv1):
    vm = api.result("viewer", "cluster.vm_info", name="test")
    assert vm["name"] == "test"
    assert vm["host"] == hv1.id
    assert vm["state"] == "running"


@pytest.mark.parametrize("fun", ["cluster.shutdown", "cluster.force_off", "cluster.pause"])
def test_viewer_cannot_act(api, vm_state, fun):
    response = api.runner("viewer", fun, name="test")
    assert response.status_code in (401, 403)
    assert vm_state() == "running"


# --------------------------------------------------------------------------
# Running VMs (operator)
# --------------------------------------------------------------------------


def test_operator_shuts_down_and_starts_a_vm(api, vm_state, hv1, restore_test_vm):
    ret = api.result("operator", "cluster.shutdown", name="test")
    assert ret["action"] == "shutdown"
    assert ret["changed"] is True
    assert ret["state"] == "shutoff"
    assert ret["host"] == hv1.id
    assert vm_state() == "shutoff"
    assert api.result("viewer", "cluster.vm_info", name="test")["state"] == "shutoff"

    ret = api.result("operator", "cluster.start", name="test")
    assert ret["changed"] is True and ret["state"] == "running"
    assert vm_state() == "running"


def test_operator_pauses_and_resumes_a_vm(api, vm_state, restore_test_vm):
    ret = api.result("operator", "cluster.pause", name="test")
    assert ret["changed"] is True and ret["state"] == "paused"
    assert vm_state() == "paused"
    ret = api.result("operator", "cluster.resume", name="test")
    assert ret["changed"] is True and ret["state"] == "running"
    assert vm_state() == "running"


def test_operator_powers_off_a_vm(api, vm_state, restore_test_vm):
    ret = api.result("operator", "cluster.force_off", name="test")
    assert ret["changed"] is True and ret["state"] == "shutoff"
    assert vm_state() == "shutoff"


def test_test_mode_changes_nothing(api, vm_state):
    ret = api.result("operator", "cluster.shutdown", name="test", test=True)
    assert ret["changed"] is False
    assert "would" in ret["comment"]
    assert vm_state() == "running"


def test_a_refusal_comes_back_as_the_hosts_sentence(api, hv1):
    line = api.error("operator", "cluster.start", name="test")
    # The host's code comes through with its sentence, the host named first.
    assert line.startswith("[already_running] ")
    code, sentence = errors.parse(line)
    assert code == "already_running" and sentence.startswith(f"{hv1.id}: ")
    assert "test" in sentence and "running" in sentence
    assert "ERROR" not in sentence and "Traceback" not in sentence


def test_operator_cannot_delete(api, vm_state, scratch_vm):
    response = api.runner("operator", "cluster.delete", name=scratch_vm)
    assert response.status_code in (401, 403)
    assert vm_state(scratch_vm) == "shutoff"


# --------------------------------------------------------------------------
# Deleting (admin)
# --------------------------------------------------------------------------


def test_admin_delete_in_test_mode_keeps_the_vm(api, vm_state, scratch_vm):
    ret = api.result("admin", "cluster.delete", name=scratch_vm, test=True)
    assert ret["changed"] is False
    assert vm_state(scratch_vm) == "shutoff"


def test_admin_deletes_a_vm(api, vm_state, scratch_vm):
    api.result("viewer", "cluster.inventory")  # the runner now knows where it is
    ret = api.result("admin", "cluster.delete", name=scratch_vm)
    assert ret["changed"] is True and ret["state"] == "deleted"
    assert vm_state(scratch_vm) == "undefined"
    names = [vm["name"] for host in api.result("viewer", "cluster.inventory")["hosts"] for vm in host["vms"]]
    assert scratch_vm not in names
    assert api.error("viewer", "cluster.vm_info", name=scratch_vm) == (
        f"[no_vm] no VM named {scratch_vm} on any hypervisor host"
    )


# --------------------------------------------------------------------------
# Names the runner cannot act on
# --------------------------------------------------------------------------


def test_an_unknown_vm_name_is_a_sentence(api):
    assert api.error("operator", "cluster.shutdown", name="no-such-vm") == (
        "[no_vm] no VM named no-such-vm on any hypervisor host"
    )


@pytest.mark.parametrize("name", ["../etc/passwd", "-rf", "a b", "x;reboot"])
def test_a_bad_vm_name_is_refused_before_any_host(api, name):
    # no "<host>: " in front: the runner refused it itself
    assert api.error("operator", "cluster.start", name=name).startswith(
        f"[invalid_argument] {name!r} is not a valid VM name: "
    )


@pytest.mark.parametrize(
    "role,fun,kwarg,expected",
    [
        ("viewer", "cluster.inventory", {"timeout": 1e12}, "[invalid_argument] "),
        (
            "operator",
            "cluster.migrate",
            {"name": "test", "target": "x", "bandwith": 5},
            "[invalid_argument] ",
        ),
        ("operator", "cluster.start", {}, "[invalid_argument] "),
        (
            "operator",
            "cluster.migrate",
            {"name": "test", "target": "x", "bandwidth": 2**65},
            "[invalid_argument] ",
        ),
    ],
    ids=["timeout out of range", "unknown argument", "missing argument", "bandwidth out of range"],
)
def test_refusals_are_structured_without_internals(api, role, fun, kwarg, expected):
    # api.error asserts the {"error": {code, message}} shape and that no traceback, source
    # line or docstring comes back.
    assert api.error(role, fun, **kwarg).startswith(expected)
