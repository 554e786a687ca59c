"""The lab's Salt: the salt-master on the lab bridge (its master.d/ snippets are the brine
formula's, written by the site's master plan), and a salt-minion inside every host's namespaces,
its key pre-seeded, Brine's modules synced to it."""

import json
import os
import shutil
import signal
import sys

from lab_base import BRIDGE_ADDRESS
from lab_base import LANDSCAPE_PILLAR
from lab_base import SHARED_IMAGES
from lab_base import VENV_BIN
from lab_base import LabBase
from lab_base import host_address
from lab_base import log
from lab_base import read_pid
from lab_base import run
from lab_docker import docker_settings


class SaltMixin(LabBase):
    """The salt-master and the hosts' salt-minions."""

    def salt_cmd(self, program, *args, check=True, timeout=120):
        return run(
            [VENV_BIN / program, "-c", self.master_conf_dir, *args],
            check=check,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def write_master_pillar(self, hosts, domain_type):
        """The lab hosts' pillar: hypervisors that migrate over plain TCP, each with its VNC address,
        installing new VMs with the lab's domain type (kvm, or qemu where KVM cannot boot a guest)."""
        pillar = self.salt / "pillar"
        (pillar / "brine").mkdir(parents=True, exist_ok=True)
        each = (
            "    - brine.hypervisor\n    - brine.host-{host}\n    - brine.landscape\n"
            "    - brine.containers-{host}\n"
        )
        top = "".join(f"  '{h}':\n" + each.format(host=h) for h in hosts)
        (pillar / "top.sls").write_text("base:\n" + top)
        # The lab's landscape (networks, a pool and guests as code): in the pillar, applied by a
        # highstate only when asked (lab/landscape.yaml says how).
        shutil.copy2(LANDSCAPE_PILLAR, pillar / "brine" / "landscape.sls")
        # The state top a site writes for its hypervisors; the lab's hosts get the kvm formula's
        # configuration rendered at up (they cannot install packages), so only the landscape and
        # the containers described in their pillar (none unless a test gives some) here.
        (self.salt / "srv").mkdir(parents=True, exist_ok=True)
        (self.salt / "srv" / "top.sls").write_text(
            "base:\n  'brine:roles:hypervisor':\n    - match: pillar\n    - landscape\n    - containers\n"
        )
        for host in hosts:
            # The master's record of where each host's VNC is: cluster.console checks every
            # answer against it (README, Consoles), and the host answers with the same value.
            (pillar / "brine" / f"host-{host}.sls").write_text(
                f"brine:\n  console:\n    address: {host_address(host)}\n"
            )
            # The containers the host keeps as code (docs/containers.md): none unless a test
            # writes some here.
            (pillar / "brine" / f"containers-{host}.sls").write_text("containers: {}\n")
        (pillar / "brine" / "hypervisor.sls").write_text(
            "# Lab hosts are hypervisors: the role Brine's runners target.\n"
            "brine:\n  roles:\n    - hypervisor\n"
            # Migration between lab hosts: plain TCP (lab only; real hosts use qemu+tls), and
            # the image folder is one bind-mounted folder on every host, shared storage libvirt
            # cannot recognise (see README, Migration).
            "  migration:\n    uri: 'qemu+tcp://{host}/system'\n"
            # No QEMU migration TLS in the lab: its hosts have no certificates (lab only).
            "    tls: false\n"
            # 50 ms keeps the idle lab guests' downtime under 100 ms (bench/migration.py).
            "    max_downtime: 50\n"
            f"    unsafe_shared_storage:\n      - {SHARED_IMAGES}\n"
            # virt-install's --virt-type for new VMs: what the lab's probe found (lab_guests).
            f"  provision:\n    virt_type: {domain_type}\n"
            # The site's registry (the brine formula's, lab/brine-pillar.yaml): an image named
            # without a registry is looked up there (docs/containers.md).
            f"  containers:\n    registry: {self.master_plan()['registry']['name']}\n"
        )
        return pillar

    def start_master(self, hosts, domain_type):
        log("starting salt-master")
        # file_roots, runner_dirs, utils_dirs, the console token folder and the salt-api and eauth
        # snippets are the brine formula's, in master.d/ (written by write_master_plan).
        pillar = self.write_master_pillar(hosts, domain_type)
        pam_python = self.salt / "pam-python"
        pam_python.write_text(f"#!/bin/sh\nexec '{sys.executable}' \"$@\"\n")
        os.chmod(pam_python, 0o755)
        self.render(
            "master.conf.j2",
            self.master_conf_dir / "master",
            salt_root=self.salt / "root",
            conf_file=self.master_conf_dir / "master",
            bridge_address=BRIDGE_ADDRESS,
            pillar_dir=pillar,
            pam_python=pam_python,
        )
        run([VENV_BIN / "salt-master", "-c", self.master_conf_dir, "-d"])
        pid_path = self.salt / "root" / "run" / "salt-master.pid"
        self.wait(lambda: read_pid(pid_path), 30, "salt-master did not start")
        self.seed_minion_keys(hosts)

    def seed_minion_keys(self, hosts):
        """Pre-seed each minion's key pair, as an installer would, so no key waits unaccepted."""
        minion_keys = self.salt / "root" / "etc" / "salt" / "pki" / "master" / "minions"
        minion_keys.mkdir(parents=True, exist_ok=True)
        for host in hosts:
            pki = self.host_dir(host) / "salt" / "root" / "etc" / "salt" / "pki" / "minion"
            pki.mkdir(parents=True, exist_ok=True)
            if not (pki / "minion.pem").exists():
                run(
                    [
                        VENV_BIN / "salt-key",
                        "-c",
                        self.master_conf_dir,
                        "--gen-keys=minion",
                        f"--gen-keys-dir={pki}",
                    ],
                    capture_output=True,
                )
            shutil.copy2(pki / "minion.pub", minion_keys / host)

    def start_minion(self, host):
        base = self.host_dir(host) / "salt"
        self.render(
            "minion.conf.j2",
            base / "etc" / "minion",
            host=host,
            minion_root=base / "root",
            bridge_address=BRIDGE_ADDRESS,
            docker_url=docker_settings()["url"],
        )
        # virt-install (the host's provision.install) always keeps a log in
        # $XDG_CACHE_HOME/virt-manager: the host's own folder, not the machine's /root/.cache.
        cache = f"XDG_CACHE_HOME={self.host_dir(host) / 'cache'}"
        self.nsenter(host, "env", cache, VENV_BIN / "salt-minion", "-c", base / "etc", "-d")

    def accept_and_sync(self, hosts):
        log("waiting for minions, syncing Brine's modules to them")

        def answered():
            out = self.salt_cmd(
                "salt", "--out=json", "--static", "-t", "5", "*", "test.ping", check=False
            ).stdout
            try:
                return set(json.loads(out or "{}")) >= set(hosts)
            except ValueError:
                return False

        self.wait(answered, 90, "minions did not answer the master")
        self.salt_cmd("salt", "--out=json", "--static", "-t", "60", "*", "saltutil.sync_all")
        self.salt_cmd("salt", "--out=json", "--static", "-t", "30", "*", "saltutil.refresh_pillar")
        # A minion starts its engines (brine_events) only at start-up, from what is synced by
        # then: restart the minions once now that the engine is there.
        for host in hosts:
            self.restart_minion(host)
        self.wait(answered, 90, "minions did not answer the master after their restart")

    def restart_minion(self, host):
        pid_path = self.host_dir(host) / "salt" / "root" / "run" / "salt-minion.pid"
        pid = read_pid(pid_path)
        if pid:
            self.signal(pid, signal.SIGTERM)
            self.wait_gone([pid], 20)
        self.start_minion(host)
        self.wait(lambda: read_pid(pid_path), 30, f"salt-minion on {host} did not restart")
