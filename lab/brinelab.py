"""Brine's built-in lab cluster: KVM hosts in namespaces on one machine, with Salt, salt-api and nginx.

Usage (as root):  brinelab.py up [--hosts N] | down [--purge] | status [--json]

Every host ``hvN`` is a network namespace ``brine-hvN`` (a veth into the lab bridge) plus private
mount and UTS namespaces, in which libvirtd, virtlogd and a salt-minion run with their own
``/run/libvirt``, ``/var/lib/libvirt``, ``/etc/libvirt``, ``/var/log/libvirt`` and ``/etc/hosts``.
The salt-master listens on the lab bridge, salt-api on loopback, nginx on https://127.0.0.1:8443/.
All state lives under one folder (``BRINE_LAB_DIR``, default /var/lib/brine-lab); ``cache/``
in it (the guest image, the install tree, the accelerator probe) survives ``down`` unless ``--purge``.

This file is the entry point and the lab's whole: ``Lab`` brings the parts up in order, reports
their status and takes them down. The parts live beside it: lab_base (paths, constants, shared
bookkeeping), lab_hosts (namespaces, libvirtd), lab_salt (master, minions), lab_site (the brine
formula's configuration, salt-api, websockify, nginx), lab_accounts (PAM users, credentials),
lab_guests (the guests, the install tree's server), lab_docker (each host's Docker engine, the
registry and its images), guest (the guest image) and install_tree (the install tree and its
installer, lab/installer).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guest
from lab_accounts import AccountsMixin
from lab_base import BRIDGE
from lab_base import BRIDGE_ADDRESS
from lab_base import CHROMIUM
from lab_base import CHROMIUM_ARGS
from lab_base import GUEST_MEMORY_MIB
from lab_base import GUESTS
from lab_base import LAB_DIR
from lab_base import LIBVIRT_DIRS
from lab_base import MAX_HOSTS
from lab_base import REPO
from lab_base import ROLES
from lab_base import SHARED_IMAGES
from lab_base import SUBNET_PREFIX
from lab_base import TEMPLATES
from lab_base import TREE_URL
from lab_base import URL
from lab_base import VENV_BIN
from lab_base import VNC_PORTS
from lab_base import LabError
from lab_base import host_address
from lab_base import host_names
from lab_base import log
from lab_base import netns
from lab_base import output
from lab_base import pid_alive
from lab_base import read_pid
from lab_base import run
from lab_docker import DockerMixin
from lab_docker import docker_settings
from lab_guests import GuestsMixin
from lab_hosts import KVM_FORMULA
from lab_hosts import KVM_LAB_PILLAR
from lab_hosts import HostsMixin
from lab_hosts import kvm_settings
from lab_hosts import render_kvm_config
from lab_salt import SaltMixin
from lab_site import BRINE_LAB_PILLAR
from lab_site import BRINE_NOT_APPLIED
from lab_site import BRINE_WEBSOCKIFY_STATE
from lab_site import SiteMixin
from lab_site import brine_pillar
from lab_site import master_plan
from lab_site import remove_system_files
from lab_site import render_brine_formula
from lab_site import show_sls_states
from lab_site import write_master_plan

# What tests, benchmarks and scripts import from here; the parts' own modules hold them.
__all__ = [
    "BRIDGE",
    "BRIDGE_ADDRESS",
    "BRINE_LAB_PILLAR",
    "BRINE_NOT_APPLIED",
    "BRINE_WEBSOCKIFY_STATE",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "GUESTS",
    "GUEST_MEMORY_MIB",
    "KVM_FORMULA",
    "KVM_LAB_PILLAR",
    "LAB_DIR",
    "LIBVIRT_DIRS",
    "MAX_HOSTS",
    "REPO",
    "ROLES",
    "SHARED_IMAGES",
    "SUBNET_PREFIX",
    "TEMPLATES",
    "TREE_URL",
    "URL",
    "VENV_BIN",
    "VNC_PORTS",
    "Lab",
    "LabError",
    "brine_pillar",
    "docker_settings",
    "host_address",
    "host_names",
    "kvm_settings",
    "log",
    "main",
    "master_plan",
    "netns",
    "output",
    "pid_alive",
    "read_pid",
    "remove_system_files",
    "render_brine_formula",
    "render_kvm_config",
    "run",
    "show_sls_states",
    "write_master_plan",
]


class Lab(HostsMixin, DockerMixin, SaltMixin, SiteMixin, AccountsMixin, GuestsMixin):
    """Paths and processes of one lab, all below ``root``: its parts, brought up in order."""

    # -- up ---------------------------------------------------------------------------------
    def up(self, count):
        with self.exclusive():
            self._up_locked(count)

    def _up_locked(self, count):
        state = self.load_state()
        if state.get("hosts"):
            problems = self.problems(state)
            if not problems and len(state["hosts"]) == count:
                log("the lab is already up")
                self.print_login(state)
                return
            log(
                "the lab is partly up or has another size ("
                + "; ".join(problems or ["size"])
                + "): taking it down first"
            )
            self.down(purge=False)
        hosts = host_names(count)
        state = {"hosts": hosts, "created_groups": [], "created_users": [], "iptables": []}
        self.save_state(state)
        try:
            self._up(state, hosts)
        except BaseException:
            if os.environ.get("BRINE_LAB_KEEP_ON_FAILURE"):
                log(f"bringing the lab up failed; left as it is for a look (logs under {self.root})")
                raise
            log("bringing the lab up failed; cleaning up what was started")
            self.down(purge=False)
            raise
        self.print_login(state)

    def _up(self, state, hosts):
        # Guests' consoles, credentials, logs and keys live below: only root may look inside.
        os.chmod(self.root, 0o700)
        for folder in (self.cache, self.shared, self.tls, self.salt, self.root / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        log("building the guest image (cached)")
        kernel, initrd = guest.build(self.cache)
        shutil.copy2(kernel, self.shared / "brine-lab-vmlinuz")
        shutil.copy2(initrd, self.shared / "brine-lab-initrd.gz")
        self.make_network(state, hosts)
        for host in hosts:
            self.start_host(host)
        started = time.monotonic()
        self.start_engines(hosts)
        docker_seconds = time.monotonic() - started
        state["domain_type"] = self.domain_type(hosts[0])
        self.save_state(state)
        self.start_install_tree(hosts)
        self.make_accounts(state)
        log("rendering the master's configuration from the brine formula (lab/brine-pillar.yaml)")
        state["system_files"] = sorted(self.master_plan()["system_files"])
        self.save_state(state)
        write_master_plan(self.master_plan())
        started = time.monotonic()
        self.start_registry()
        self.wait_engines(hosts)
        self.seed_images(hosts)
        docker_seconds += time.monotonic() - started
        log(f"Docker's part of up took {docker_seconds:.1f} s")
        self.start_master(hosts, state["domain_type"])
        for host in hosts:
            self.start_minion(host)
        self.accept_and_sync(hosts)
        self.make_guests(hosts, state["domain_type"])
        self.start_api()
        self.start_console_proxy()
        self.start_nginx()
        self.wait_for_url()
        state["up"] = time.time()
        self.save_state(state)

    # -- status -----------------------------------------------------------------------------
    def processes(self, state):
        """name -> pid (or None) for every long-running process of the lab."""
        procs = {
            "salt-master": read_pid(self.salt / "root" / "run" / "salt-master.pid"),
            "salt-api": read_pid(self.salt / "root" / "var" / "run" / "salt-api.pid"),
            "nginx": read_pid(self.nginx / "nginx.pid"),
            "websockify": read_pid(self.root / "websockify.pid"),
            "install-tree": read_pid(self.tree_pid_file),
            "docker-registry": read_pid(self.registry_pid_file),
        }
        for host in state.get("hosts", []):
            procs[f"{host}/libvirtd"] = self.libvirtd_pid(host)
            procs[f"{host}/virtlogd"] = read_pid(self.host_dir(host) / "run" / "libvirt" / "virtlogd.pid")
            procs[f"{host}/salt-minion"] = read_pid(
                self.host_dir(host) / "salt" / "root" / "run" / "salt-minion.pid"
            )
            procs[f"{host}/dockerd"] = self.dockerd_pid(host)
        return procs

    def problems(self, state):
        return [f"{name} is not running" for name, pid in self.processes(state).items() if pid is None]

    def status(self, as_json=False):
        state = self.load_state()
        if not state.get("hosts"):
            print(json.dumps({"up": False}) if as_json else "brine-lab: down")
            return 1
        procs = self.processes(state)
        guests = {}
        for host in state["hosts"]:
            if procs.get(f"{host}/libvirtd"):
                for line in self.virsh(host, "list", "--all", check=False).splitlines():
                    parts = line.split(None, 2)
                    if len(parts) >= 3:
                        guests[parts[1]] = {"host": host, "state": parts[2].strip()}
        healthy = all(procs.values())
        if as_json:
            print(
                json.dumps(
                    {
                        "up": healthy,
                        "url": URL,
                        "hosts": state["hosts"],
                        "processes": procs,
                        "guests": guests,
                        "domain_type": state.get("domain_type"),
                    },
                    indent=2,
                )
            )
        else:
            print(f"brine-lab: {'up' if healthy else 'DEGRADED'} at {URL}")
            for name, pid in procs.items():
                print(f"  {name:<20} {'pid ' + str(pid) if pid else 'NOT RUNNING'}")
            for name, info in sorted(guests.items()):
                print(f"  guest {name:<14} {info['state']:<10} on {info['host']}")
        return 0 if healthy else 1

    # -- down -------------------------------------------------------------------------------
    def down(self, purge=False):
        with self.exclusive():
            self._down_locked(purge)

    def _down_locked(self, purge):
        state = self.load_state()
        hosts = state.get("hosts") or sorted(p.name for p in (self.root / "hosts").glob("hv*"))
        # Containers first: they live in network namespaces of their own, which the sweep of the
        # hosts' namespaces does not find; then again whatever a restart policy started meanwhile.
        self.stop_containers(hosts)
        self.stop_processes(hosts)
        self.kill_container_processes(hosts)
        self.remove_container_cgroups(hosts)
        self.remove_network(state, hosts)
        self.remove_accounts(state)
        remove_system_files(state)
        self.remove_files(purge)
        log("down")

    def stop_processes(self, hosts):
        # Everything of a host lives in its network namespace (qemu, dnsmasq, the daemons); Salt
        # forks workers that outlive their pidfiles, so also end every process that names our
        # folder. Signal them all at once, then wait once.
        pids = {pid for pid in self.processes({"hosts": hosts}).values() if pid}
        for host in hosts:
            if Path(f"/run/netns/{netns(host)}").exists():
                pids.update(int(p) for p in output(["ip", "netns", "pids", netns(host)], check=False).split())
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(str(self.root).encode() in part for part in cmdline):
                pids.add(int(proc.name))
        pids.discard(os.getpid())
        for pid in pids:
            self.signal(pid, signal.SIGTERM)
        self.wait_gone(pids, 10)
        for pid in pids:
            self.signal(pid, signal.SIGKILL)
        self.wait_gone(pids, 5)

    def remove_files(self, purge):
        """Everything below the lab's folder, except the cache unless ``purge``."""
        if self.root.exists():
            for child in self.root.iterdir():
                if child.name != "cache" or purge:
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)
            if purge:
                shutil.rmtree(self.root, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="brine-lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="bring the lab up (harmless when it is up already)")
    up.add_argument(
        "--hosts",
        type=int,
        default=int(os.environ.get("BRINE_LAB_HOSTS", "2")),
        help="number of hypervisor hosts hv1..hvN (default 2, at most 16)",
    )
    down = sub.add_parser("down", help="stop everything and remove every trace")
    down.add_argument("--purge", action="store_true", help="also remove the cached guest image")
    status = sub.add_parser("status", help="show what runs")
    status.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("the lab creates namespaces, bridges and PAM users: run it as root")
    lab = Lab()
    try:
        if args.command == "up":
            if not 1 <= args.hosts <= MAX_HOSTS:
                parser.error(f"--hosts must be between 1 and {MAX_HOSTS}")
            lab.up(args.hosts)
        elif args.command == "down":
            lab.down(purge=args.purge)
        else:
            return lab.status(as_json=args.json)
    except LabError as err:
        print(f"brine-lab: {err}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as err:
        detail = (err.stderr or "").strip() if isinstance(err.stderr, str) else ""
        print(f"brine-lab: {' '.join(map(str, err.cmd))} failed ({err.returncode}) {detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
