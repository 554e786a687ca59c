"""The lab's own promises: `up` twice is harmless, the hosts are real and apart, credentials are
private, and `down` leaves nothing behind. Marked `lab_lifecycle`: it takes the lab down and up,
so tests/e2e/conftest.py runs it after every other end-to-end test.
"""

import json
import os
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from support.lab import brinelab

REPO = Path(__file__).resolve().parents[2]
LAB = [sys.executable, str(REPO / "lab" / "brinelab.py")]

pytestmark = [pytest.mark.lab, pytest.mark.lab_lifecycle]


def lab_cli(*args, timeout=600):
    return subprocess.run([*LAB, *args], capture_output=True, text=True, timeout=timeout, check=False)


def traces(root):
    """Everything of the lab that could be left on the machine, as readable strings."""
    found = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    # The lab's hosts' namespaces (brine-hvN; functional tests make brine-* namespaces of their own).
    found += [f"netns {line.split()[0]}" for line in netns.splitlines() if line.startswith("brine-hv")]
    if Path("/sys/class/net/brine-lab0").exists():
        found.append("bridge brine-lab0")
    rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True, check=False).stdout
    found += [f"iptables {line}" for line in rules.splitlines() if "brine-lab0" in line]
    passwd = Path("/etc/passwd").read_text()
    found += [f"user {u}" for u in ("lab-admin", "lab-operator", "lab-viewer") if f"\n{u}:" in f"\n{passwd}"]
    mounts = Path("/proc/self/mountinfo").read_text()
    found += [f"mount {line}" for line in mounts.splitlines() if str(root) in line]
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(root) in cmdline and int(proc.name) != os.getpid():
            found.append(f"process {proc.name}: {cmdline[:120]}")
    if root.exists():
        found += [f"file {p}" for p in root.iterdir() if p.name != "cache"]
    return found


def root_tables():
    """The machine's own iptables (filter and nat), without the lab bridge's rule: Docker's rules
    must stay in the hosts' namespaces."""
    lines = []
    for table in ("filter", "nat"):
        done = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True, check=True)
        lines += [f"{table} {line}" for line in done.stdout.splitlines() if "brine-lab0" not in line]
    return lines


DOCKER_PROGRAMS = ("dockerd", "containerd", "containerd-shim-runc-v2", "docker-registry")


def docker_processes(lab):
    """name -> pid of the lab's Docker processes: each host's engine, containerd and shims (in the
    host's network namespace), and the registry."""
    found = {"docker-registry": brinelab.read_pid(lab.lab.registry_pid_file)}
    for host in lab.hosts:
        pids = subprocess.run(
            ["ip", "netns", "pids", brinelab.netns(host)], capture_output=True, text=True, check=True
        ).stdout.split()
        for pid in pids:
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            if comm in DOCKER_PROGRAMS:
                found[f"{host}/{comm}/{pid}"] = int(pid)
    return found


def test_each_host_has_its_own_docker_engine_and_the_registry_serves_the_lab_images(lab):
    registry = lab.lab.master_plan()["registry"]
    for host in lab.hosts:
        # The engine answers on the socket the minion's docker.url names, inside the host.
        engine = ["curl", "-s", "--unix-socket", "/run/docker/docker.sock"]
        assert lab.lab.nsenter(host, *engine, "http://docker/_ping").stdout == "OK"
        images = json.loads(lab.lab.nsenter(host, *engine, "http://docker/images/json").stdout)
        tags = {tag for image in images for tag in image["RepoTags"] or []}
        assert tags == {"brine-master:5000/brine/web:1"}, (host, tags)
    with urllib.request.urlopen(f"{registry['url']}/v2/_catalog", timeout=5) as answer:
        assert json.load(answer)["repositories"] == ["brine/hello", "brine/web"]
    for repository in ("brine/hello", "brine/web"):
        with urllib.request.urlopen(f"{registry['url']}/v2/{repository}/tags/list", timeout=5) as answer:
            assert json.load(answer)["tags"] == ["1"]
    urls = json.loads(lab.salt("--out=json", "--static", "*", "config.get", "docker.url").stdout)
    assert urls == {host: "unix:///run/docker/docker.sock" for host in lab.hosts}


def test_up_twice_is_harmless_and_credentials_are_private(lab):
    before = lab.lab.processes(lab.lab.load_state())
    second = lab_cli("up", "--hosts", str(len(lab.hosts)))
    assert second.returncode == 0, second.stderr
    assert "already up" in second.stdout
    assert lab.lab.processes(lab.lab.load_state()) == before, "a second up restarted something"
    mode = stat.S_IMODE(lab.lab.credentials.stat().st_mode)
    assert mode == 0o600
    creds = json.loads(lab.lab.credentials.read_text())
    for role, (user, password) in lab.users.items():
        assert creds[role] == {"username": user, "password": password}
        assert password in second.stdout  # up prints the logins


def test_hosts_are_apart_and_told_apart_by_role(lab):
    for host in lab.hosts:
        # Each host has its own UTS namespace (a migration URI needs the host's own name)...
        assert lab.lab.nsenter(host, "hostname").stdout.strip() == host
    # ...and its own libvirtd: a guest is defined on exactly one host.
    listed = {host: lab.virsh(host, "list", "--all", "--name").split() for host in lab.hosts}
    for vm, host in lab.vms.items():
        assert [h for h, names in listed.items() if vm in names] == [host]
    # Hosts are hypervisors by pillar role, not by the `virtual` grain.
    ret = lab.salt("--out=json", "--static", "-I", "brine:roles:hypervisor", "test.ping")
    assert sorted(json.loads(ret.stdout)) == sorted(lab.hosts)


def test_down_leaves_nothing_behind_and_up_comes_back(lab):
    root = lab.lab.root
    # A container that Docker would restart, in a network namespace of its own.
    client = lab.lab.docker_client(lab.hosts[0])
    config = client.create_host_config(restart_policy={"Name": "always"})
    container = client.create_container("brine-master:5000/brine/web:1", host_config=config)
    client.start(container["Id"])
    docker = docker_processes(lab)
    docker["container"] = client.inspect_container(container["Id"])["State"]["Pid"]
    assert all(docker.values()), docker
    for host in lab.hosts:
        assert {f"{host}/dockerd", f"{host}/containerd"} <= {name.rsplit("/", 1)[0] for name in docker}
    tables = root_tables()
    down = lab_cli("down")
    assert down.returncode == 0, down.stderr
    assert traces(root) == []
    assert [name for name, pid in docker.items() if brinelab.pid_alive(pid)] == []
    assert root_tables() == tables
    up = lab_cli("up", "--hosts", str(len(lab.hosts)))
    assert up.returncode == 0, up.stdout + up.stderr
    assert lab.lab.problems(lab.lab.load_state()) == []
    for vm, host in lab.vms.items():
        expected = "shut off" if vm == "lab-vm3" else "running"
        assert lab.domstate(vm, host) == expected
    # The new passwords replace the old ones for the rest of the session.
    creds = json.loads(lab.lab.credentials.read_text())
    lab.users.update({role: (c["username"], c["password"]) for role, c in creds.items()})
