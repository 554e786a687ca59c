"""
The landscape on the lab (docs/landscape.md, lab/landscape.yaml), for the end-to-end tier: the pillar a test
gives the hosts, highstates and their results, what the hosts have (to prove that a refusal
changed nothing), and the clean-up that leaves the shared lab as it was.
"""

import copy
import json
import re

import yaml

from support.paths import REPO

LANDSCAPE_YAML = REPO / "lab" / "landscape.yaml"
HYPERVISORS = "I@brine:roles:hypervisor"
GUESTS = ("web-1", "web-2", "web-3")
NETWORKS = ("svc", "backplane")
POOL = "landscape"
POOL_FOLDER = "landscape"


def lab_landscape():
    """The lab's landscape as lab/landscape.yaml has it (a fresh copy to change)."""
    return copy.deepcopy(yaml.safe_load(LANDSCAPE_YAML.read_text()))


def pillar_file(lab):
    return lab.lab.salt / "pillar" / "brine" / "landscape.sls"


def give_landscape(lab, landscape):
    """Put ``landscape`` (the whole pillar document, ``{"landscape": ...}``) in the hosts' pillar and make
    them read it."""
    pillar_file(lab).write_text(json.dumps(landscape, indent=1))
    ret = lab.salt("-C", HYPERVISORS, "--out=json", "--static", "saltutil.refresh_pillar", "wait=True")
    assert ret.returncode == 0, ret.stdout + ret.stderr


def restore_landscape(lab):
    pillar_file(lab).write_text(LANDSCAPE_YAML.read_text())
    lab.salt("-C", HYPERVISORS, "--out=json", "--static", "saltutil.refresh_pillar", "wait=True")


def highstate(lab, test=False, timeout=300):
    """A highstate of every hypervisor host: ``(exit code, {host: {state id: result}})``; a host
    whose states did not render answers a list of sentences instead."""
    args = ["-C", HYPERVISORS, "--out=json", "--static", "-t", str(timeout), "state.apply"]
    if test:
        args.append("test=True")
    ret = lab.salt(*args, timeout=timeout + 60)
    try:
        return ret.returncode, json.loads(ret.stdout)
    except ValueError as err:
        raise AssertionError(f"highstate answered no JSON: {ret.stdout} {ret.stderr}") from err


def by_name(states):
    """``{state name: result}`` of one host's highstate answer (the id tells kind and object)."""
    return {result["name"]: result for result in states.values()} if isinstance(states, dict) else {}


def changed(results):
    """``{host: [state ids with changes]}`` of a highstate's answer."""
    return {
        host: sorted(sid for sid, result in states.items() if result.get("changes"))
        for host, states in results.items()
        if isinstance(states, dict)
    }


def failed(results):
    return {
        host: sorted(sid for sid, result in states.items() if result.get("result") is False)
        for host, states in results.items()
        if isinstance(states, dict)
    }


def footprint(lab):
    """Every network, pool and domain on every host, and the files of the landscape's pool folder:
    what a refused change must leave as it was."""
    hosts = {}
    for host in lab.hosts:
        hosts[host] = {
            "networks": sorted(lab.virsh(host, "net-list", "--all", "--name").split()),
            "pools": sorted(lab.virsh(host, "pool-list", "--all", "--name").split()),
            "domains": sorted(lab.virsh(host, "list", "--all", "--name").split()),
        }
    folder = lab.lab.shared / POOL_FOLDER
    files = sorted(path.name for path in folder.iterdir()) if folder.exists() else []
    return hosts, files


def dnsmasq_pid(lab, host, network):
    """The pid of the dnsmasq serving ``network`` on ``host`` (libvirt's pid file)."""
    path = lab.lab.host_dir(host) / "run" / "libvirt" / "network" / f"{network}.pid"
    return int(path.read_text().split()[0])


def serial_lease(lab, host, guest):
    """The address the guest says it leased on eth0 (its /etc/udhcpc.script prints it on the
    serial port), or None."""
    serial = lab.lab.host_dir(host) / "log" / "libvirt" / "qemu" / f"{guest}-serial.log"
    if not serial.exists():
        return None
    found = re.findall(r"brine-guest: lease (\S+) on eth0", serial.read_text(errors="replace"))
    return found[-1] if found else None


def remove_landscape(lab):
    """Take every landscape object of the lab's landscape (and the tests' extra guest) away, quietly."""
    for host in lab.hosts:
        for guest in GUESTS:
            lab.lab.virsh(host, "destroy", guest, check=False)
            lab.lab.virsh(host, "undefine", guest, check=False)
        for network in NETWORKS:
            lab.lab.virsh(host, "net-destroy", network, check=False)
            lab.lab.virsh(host, "net-undefine", network, check=False)
        lab.lab.virsh(host, "pool-destroy", POOL, check=False)
        lab.lab.virsh(host, "pool-undefine", POOL, check=False)
    folder = lab.lab.shared / POOL_FOLDER
    if folder.exists():
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    for host in lab.hosts:
        for guest in GUESTS:
            serial = lab.lab.host_dir(host) / "log" / "libvirt" / "qemu" / f"{guest}-serial.log"
            serial.unlink(missing_ok=True)
