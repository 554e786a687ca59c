"""
End-to-end: creating VMs on the lab (docs/provisioning.md) through the site and the shell.

An operator creates a VM from a host group: the plan first, then the real thing. The chosen
host runs Debian's virt-install against the lab's install tree (served over HTTP), the
installer fetches the kickstart Brine sealed for that host, writes what it was told onto the
VM's disk and powers off; the host's brine_installs engine starts the VM from its disk and the
stream tells the browser installing → running. Bad input at every entry point is refused with
a code and leaves every host as it was; roles hold. The browser half is test_provision_ui.py.
"""

import json
import subprocess

import pytest

from support.lab import BusRecorder
from support.provision_lab import footprint
from support.provision_lab import install_events
from support.provision_lab import make_catalog
from support.provision_lab import remove_catalog
from support.provision_lab import remove_vm
from support.provision_lab import serial_log
from support.provision_lab import wait_for
from support.provision_lab import where_defined
from support.provisioning import HASH
from support.provisioning import SSH_KEY
from support.provisioning import seal_for_master
from support.site import StreamReader
from support.site import api_login
from support.site import runner

INSTALL_TIMEOUT = 240


@pytest.fixture(scope="module")
def tokens(lab):
    return {role: api_login(lab, role) for role in ("admin", "operator", "viewer")}


@pytest.fixture(scope="module")
def catalog(lab, tokens):
    make_catalog(lab, tokens["admin"])
    yield
    remove_catalog(lab, tokens["admin"])


def _states(stream, name):
    return [event["state"] for event in install_events(stream, name)]


def _create(lab, tokens, name):
    """The plan, then the create, as an operator in the browser: the hash sealed to the master's
    key, never readable in the arguments."""
    status, key = runner(lab, tokens["operator"], "provision.sealing_key")
    assert status == 200 and key["algorithm"] == "RSA-OAEP-256", key
    sealed_hash = seal_for_master(key["key"], HASH)
    kwargs = {"name": name, "host_group": "lab-web", "password_hash_sealed": sealed_hash, "ssh_key": SSH_KEY}
    status, plan = runner(lab, tokens["operator"], "provision.create", test=True, **kwargs)
    assert status == 200 and plan.get("test") is True, plan
    status, created = runner(lab, tokens["operator"], "provision.create", **kwargs)
    assert status == 200 and created.get("state") == "installing", created
    return plan, created


@pytest.fixture(scope="module")
def installed(lab, tokens, catalog):  # pylint: disable=unused-argument
    """One VM created from the host group lab-web by an operator, followed to running."""
    name = "e2e-web1"
    remove_vm(lab, name)
    with BusRecorder(lab) as recorder:
        stream = StreamReader(lab, tokens["viewer"])
        try:
            plan, created = _create(lab, tokens, name)
            wait_for(
                lambda: {"running", "failed"} & set(_states(stream, name)),
                INSTALL_TIMEOUT,
                f"{name} never finished installing",
            )
        finally:
            stream.close()
    yield {
        "name": name,
        "plan": plan,
        "created": created,
        "states": _states(stream, name),
        "bus": recorder.text,
    }
    remove_vm(lab, name)


def test_the_plan_names_a_host_and_shows_the_kickstart_without_the_hash(installed, lab):
    plan = installed["plan"]
    assert plan["host"] in lab.hosts and plan["host"] == installed["created"]["host"]
    assert {h["host"] for h in plan["placement"]["hosts"]} == set(lab.hosts)
    assert (plan["memory"], plan["vcpus"], plan["disk"]) == (128, 1, 1)
    assert [r["name"] for r in plan["repositories"]] == ["lab-base", "lab-tools"]
    assert HASH not in json.dumps(plan) and "<hidden>" in plan["kickstart"]
    assert "url --url=" in plan["kickstart"] and SSH_KEY.split()[1] in plan["kickstart"]


def test_the_install_goes_installing_then_running_and_boots_from_its_disk(installed, lab):
    name, host = installed["name"], installed["created"]["host"]
    assert installed["states"][0] == "installing" and installed["states"][-1] == "running", installed[
        "states"
    ]
    assert where_defined(lab, name) == [host]
    assert lab.domstate(name, host) == "running"
    # The installed system, booted from the VM's own disk, prints what the installer was told.
    log = wait_for(lambda: (t := serial_log(lab, host, name)) and "brine-installed:" in t and t, 120,
                   f"{name} did not boot its installed system")  # fmt: skip
    assert "ready" in log
    xml = lab.virsh(host, "dumpxml", name)
    assert "<kernel>" not in xml and "<boot dev='hd'/>" in xml and installed["plan"]["nics"][0]["mac"] in xml
    # No install marker left behind, and the inventory shows a plain running VM.
    status, info = runner(lab, api_login(lab, "viewer"), "cluster.vm_info", name=name)
    assert status == 200 and info["state"] == "running" and info["install"] is None, info


def test_a_second_create_with_the_same_name_is_refused_and_changes_nothing(installed, lab, tokens):
    before = footprint(lab)
    status, ret = runner(lab, tokens["operator"], "provision.create", name=installed["name"],
                         host_group="lab-web", ssh_key=SSH_KEY)  # fmt: skip
    assert status == 200 and ret["error"]["code"] == "vm_exists", ret
    assert footprint(lab) == before


BAD = [
    ({"name": "web;reboot"}, "invalid_argument"),
    ({"name": "../../etc/passwd"}, "invalid_argument"),
    ({"name": "$(id)"}, "invalid_argument"),
    ({"name": "{{7*7}}"}, "invalid_argument"),
    ({"memory": 0}, "invalid_argument"),
    ({"memory": 10**9}, "invalid_argument"),
    ({"disk": 10**9}, "invalid_argument"),
    ({"host_group": "no-such-group"}, "no_entry"),
    ({"os_tree": "no-such-tree"}, "no_entry"),
    ({"password_hash": "plaintext-password"}, "invalid_argument"),
    ({"ssh_key": "ssh-ed25519 not-a-key; rm -rf /"}, "invalid_argument"),
    ({"host": "hv9"}, "no_host"),
    ({"memory": 1048576}, "no_room"),
]


@pytest.mark.parametrize(("change", "code"), BAD)
def test_bad_input_through_the_site_is_refused_and_nothing_is_created(lab, tokens, catalog, change, code):  # pylint: disable=unused-argument
    before = footprint(lab)
    kwargs = dict({"name": "e2e-bad", "host_group": "lab-web", "ssh_key": SSH_KEY}, **change)
    status, ret = runner(lab, tokens["operator"], "provision.create", **kwargs)
    assert status == 200 and ret.get("error", {}).get("code") == code, ret
    assert "Traceback" not in ret["error"]["message"]
    assert footprint(lab) == before


@pytest.mark.parametrize(
    ("kind", "fields", "code"),
    [
        ("profiles", {"memory": 0, "vcpus": 1, "disk": 1}, "invalid_argument"),
        ("os_trees", {"url": "ftp://x/", "os_variant": "rhel9.0", "kickstart": "rhel"}, "invalid_argument"),
        (
            "os_trees",
            {"url": "file:///etc/", "os_variant": "rhel9.0", "kickstart": "rhel"},
            "invalid_argument",
        ),
        (
            "os_trees",
            {"url": "http://x/", "os_variant": "rhel9.0", "kickstart": "{{7*7}}"},
            "invalid_argument",
        ),
        ("views", {"products": ["nope"]}, "no_entry"),
    ],
)
def test_bad_catalog_entries_are_refused(lab, tokens, catalog, kind, fields, code):  # pylint: disable=unused-argument
    status, ret = runner(lab, tokens["admin"], "provision.catalog_set", kind=kind, name="e2e-bad", **fields)
    assert status == 200 and ret["error"]["code"] == code, ret
    status, content = runner(lab, tokens["viewer"], "provision.catalog", kind=kind)
    assert "e2e-bad" not in content[kind]


def test_the_shell_refuses_the_same_way_and_creates_nothing(lab, catalog):  # pylint: disable=unused-argument
    before = footprint(lab)
    done = lab.salt_run(
        "--out=json", "provision.create", "bad;name", "host_group=lab-web", f"ssh_key={SSH_KEY}"
    )
    assert done.returncode == 1 and json.loads(done.stdout)["error"]["code"] == "invalid_argument", (
        done.stdout
    )
    done = lab.salt_run(
        "--out=json", "provision.create", "e2e-shell", "host_group=lab-web", "password_hash=secret"
    )
    assert done.returncode == 1 and "hash" in json.loads(done.stdout)["error"]["message"]
    assert footprint(lab) == before


def test_roles_viewers_read_operators_create_admins_change_the_catalog(lab, tokens, catalog):  # pylint: disable=unused-argument
    status, content = runner(lab, tokens["viewer"], "provision.catalog")
    assert status == 200 and "lab-web" in content["host_groups"]
    status, _ = runner(
        lab, tokens["viewer"], "provision.create", name="e2e-viewer", host_group="lab-web", ssh_key=SSH_KEY
    )
    assert status in (401, 403)
    status, _ = runner(
        lab, tokens["operator"], "provision.catalog_set", kind="profiles", name="x", memory=1, vcpus=1, disk=1
    )
    assert status in (401, 403)
    status, ret = runner(lab, tokens["admin"], "provision.catalog_delete", kind="profiles", name="tiny")
    assert (
        status == 200
        and ret["error"]["code"] == "in_use"
        and "host_groups/lab-web" in ret["error"]["message"]
    )


def test_the_hash_travels_sealed_and_stays_off_the_bus_and_the_hosts_files(installed, lab):
    """The password hash is only ever sealed for its host: not on the bus, not in the job
    cache, not in a file on any host but the VM's own disk (where the installed system's
    shadow file holds it, as on any installed machine)."""
    assert "provision.install" in installed["bus"] and HASH not in installed["bus"]
    jobs = lab.salt_run("--out=json", "jobs.list_jobs", timeout=120)
    assert HASH not in jobs.stdout
    root = lab.lab.root
    # All of the lab's folder (the job cache, logs, the catalog, every host's libvirt folders)
    # but the image cache and the VMs' disks (grep's --exclude-dir would match any "cache").
    folders = [str(p) for p in root.iterdir() if p.name not in ("cache", "shared-images")]
    args = ["grep", "-rlaF", "--", HASH, *folders]
    found = subprocess.run(args, capture_output=True, text=True, check=False).stdout.split()
    assert found == [], f"the password hash is in {found}"
    disk = lab.lab.shared / f"{installed['name']}.qcow2"
    assert disk.exists()


def _create_and_wait_for_installing(lab, tokens, name, **extra):
    remove_vm(lab, name)
    stream = StreamReader(lab, tokens["viewer"])
    status, created = runner(lab, tokens["operator"], "provision.create", name=name, host_group="lab-web",
                             ssh_key=SSH_KEY, **extra)  # fmt: skip
    assert status == 200 and created.get("state") == "installing", created
    wait_for(lambda: install_events(stream, name), INSTALL_TIMEOUT, f"{name}: no install event")
    return stream, created["host"]


def test_an_install_that_dies_is_removed_and_recorded_until_dismissed(lab, tokens, catalog):  # pylint: disable=unused-argument
    """The installer's VM powered off without 'done' (here: destroyed mid-install): the host
    removes the domain and its new disk, reports failed with the reason, and keeps a record
    that provision.installs lists until an operator dismisses it."""
    name = "e2e-dies"
    stream, host = _create_and_wait_for_installing(lab, tokens, name)
    lab.virsh(host, "destroy", name)
    failed = wait_for(lambda: [e for e in install_events(stream, name) if e["state"] == "failed"], 60,
                      f"{name}: no failed event")  # fmt: skip
    stream.close()
    assert "without reporting that it was done" in failed[0]["reason"]
    assert where_defined(lab, name) == [] and f"{name}.qcow2" not in footprint(lab)[1]
    status, listed = runner(lab, tokens["viewer"], "provision.installs")
    mine = [i for i in listed["installs"] if i["name"] == name]
    assert status == 200 and mine and mine[0]["state"] == "failed" and mine[0]["host"] == host, listed
    status, ret = runner(lab, tokens["operator"], "provision.dismiss", name=name, host=host)
    assert status == 200 and ret["changed"] is True, ret
    status, listed = runner(lab, tokens["viewer"], "provision.installs")
    assert name not in [i["name"] for i in listed["installs"]]


def test_a_failed_install_asked_to_be_kept_stays_for_debugging(lab, tokens, catalog):  # pylint: disable=unused-argument
    name = "e2e-kept"
    stream, host = _create_and_wait_for_installing(lab, tokens, name, keep_failed=True)
    lab.virsh(host, "destroy", name)
    wait_for(
        lambda: [e for e in install_events(stream, name) if e["state"] == "failed"], 60, f"{name}: not failed"
    )
    stream.close()
    try:
        assert where_defined(lab, name) == [host] and f"{name}.qcow2" in footprint(lab)[1]
        status, info = runner(lab, tokens["viewer"], "cluster.vm_info", name=name)
        assert status == 200 and info["install"]["state"] == "failed" and info["state"] == "shutoff", info
    finally:
        remove_vm(lab, name)
        runner(lab, tokens["operator"], "provision.dismiss", name=name, host=host)
