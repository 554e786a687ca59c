"""The lab's guests: the accelerator probe (KVM where a probe guest boots, else TCG), the lab
network and shared storage pool on every host, the guests of ``GUESTS`` defined and booted, and
the install tree new guests are installed from, served over HTTP on the lab bridge."""

import json
import os
import subprocess
import sys
from pathlib import Path

import install_tree
from lab_base import BRIDGE_ADDRESS
from lab_base import GUEST_MEMORY_MIB
from lab_base import GUESTS
from lab_base import SHARED_IMAGES
from lab_base import TREE_PORT
from lab_base import TREE_URL
from lab_base import LabBase
from lab_base import LabError
from lab_base import log
from lab_base import netns
from lab_base import run


class GuestsMixin(LabBase):
    """Domains on the lab's hosts."""

    def domain_type(self, host):
        """kvm if a probe guest boots under KVM here, else qemu (TCG). Cached per kernel."""
        probe_file = self.cache / "accelerator"
        key = f"{os.uname().release} {(self.cache / 'image' / 'recipe').read_text()}"
        if probe_file.exists():
            cached = json.loads(probe_file.read_text())
            if cached.get("key") == key:
                return cached["domain_type"]
        result = "qemu"
        if Path("/dev/kvm").exists():
            log("probing whether KVM can boot the guest (once per machine)")
            xml = self.domain_xml("brine-kvm-probe", "kvm", disk=False, network=False)
            self.virsh_define_start(host, xml, transient=True)
            serial = self.host_dir(host) / "log" / "libvirt" / "qemu" / "brine-kvm-probe-serial.log"
            try:
                self.wait(lambda: "ready" in serial.read_text(errors="replace"), 20, "")
                result = "kvm"
            except LabError:
                pass
            self.virsh(host, "destroy", "brine-kvm-probe", check=False)
        probe_file.write_text(json.dumps({"key": key, "domain_type": result}))
        log(
            f"guests use domain type '{result}'"
            + (" (KVM could not boot the guest)" if result == "qemu" else "")
        )
        return result

    def domain_xml(self, name, domain_type, disk=True, network=True):
        return self.env.get_template("domain.xml.j2").render(
            name=name,
            domain_type=domain_type,
            memory_mib=GUEST_MEMORY_MIB,
            images=SHARED_IMAGES,
            disk=disk,
            network=network,
        )

    def virsh_define_start(self, host, xml, transient=False, start=True):
        xml_path = self.root / "tmp" / f"{host}-domain.xml"
        xml_path.parent.mkdir(parents=True, exist_ok=True)
        xml_path.write_text(xml)
        if transient:
            self.virsh(host, "create", xml_path)
            return
        self.virsh(host, "define", xml_path)
        if start:
            name = xml.split("<name>", 1)[1].split("</name>", 1)[0]
            self.virsh(host, "start", name)

    def make_guests(self, hosts, domain_type):
        log("defining the lab network, storage pool and guests")
        for host in hosts:
            net_xml = self.root / "tmp" / "network.xml"
            net_xml.write_text(self.env.get_template("network.xml.j2").render())
            self.virsh(host, "net-define", net_xml)
            self.virsh(host, "net-autostart", "lab")
            self.virsh(host, "net-start", "lab")
            self.virsh(host, "pool-define-as", "default", "dir", "--target", SHARED_IMAGES)
            self.virsh(host, "pool-autostart", "default")
            self.virsh(host, "pool-start", "default")
        for name, (index, running) in GUESTS.items():
            host = hosts[(index - 1) % len(hosts)]
            self.virsh(host, "vol-create-as", "default", f"{name}.qcow2", "64M", "--format", "qcow2")
            self.virsh_define_start(host, self.domain_xml(name, domain_type), start=running)
        for host in hosts:
            self.virsh(host, "pool-refresh", "default")
        for name, (index, running) in GUESTS.items():
            if running:
                host = hosts[(index - 1) % len(hosts)]
                serial = self.host_dir(host) / "log" / "libvirt" / "qemu" / f"{name}-serial.log"
                self.wait(
                    lambda serial=serial: "ready" in serial.read_text(errors="replace"),
                    60,
                    f"guest {name} did not boot on {host} (see {serial})",
                )
        log("guests booted")

    def start_install_tree(self, hosts):
        """Build the install tree (cached) and serve it on the lab bridge with Python's static
        HTTP server, checked from every host's namespace, where virt-install fetches it (and the
        installers, through their host's NAT)."""
        log("building the install tree (cached)")
        tree = install_tree.build(self.cache)
        log(f"serving the install tree at {TREE_URL}")
        log_file = self.root / "tree-http.log"
        server = [sys.executable, "-m", "http.server", str(TREE_PORT), "--bind", BRIDGE_ADDRESS]
        with open(log_file, "ab") as out:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [*server, "--directory", tree],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd="/",
            )
        self.tree_pid_file.write_text(f"{proc.pid}\n")
        curl = ["curl", "-sf", "-o", "/dev/null", f"{TREE_URL}.treeinfo"]
        for host in hosts:
            fetch = ["ip", "netns", "exec", netns(host), *curl]
            self.wait(
                lambda fetch=fetch: run(fetch, check=False).returncode == 0,
                30,
                f"{host} cannot fetch the install tree from {TREE_URL} (see {log_file})",
            )
