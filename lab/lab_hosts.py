"""The lab's hypervisor hosts: the lab bridge, one network namespace per host (a veth into the
bridge), and in each host's private mount and UTS namespaces a virtlogd and a libvirtd configured
from the kvm formula's templates with the lab's pillar (README: Hosts as code)."""

import os
import secrets
import shutil
from pathlib import Path

import jinja2
import yaml
from lab_base import BRIDGE
from lab_base import BRIDGE_ADDRESS
from lab_base import LIBVIRT_PORTS
from lab_base import REPO
from lab_base import SHARED_IMAGES
from lab_base import VNC_PORTS
from lab_base import LabBase
from lab_base import host_address
from lab_base import log
from lab_base import netns
from lab_base import run

# -- host configuration from the kvm formula (README: Hosts as code) --------------------------
KVM_FORMULA = REPO / "states" / "kvm"
KVM_LAB_PILLAR = Path(__file__).resolve().parent / "kvm-pillar.yaml"


def _merge(base, override):
    result = dict(base)
    for key, value in override.items():
        result[key] = (
            _merge(result[key], value)
            if isinstance(value, dict) and isinstance(result.get(key), dict)
            else value
        )
    return result


def kvm_settings(address, vnc_password):
    """The kvm formula's settings for one lab host: the formula's defaults, then the lab's pillar
    (lab/kvm-pillar.yaml), then the host's own address and VNC password."""
    defaults = yaml.safe_load((KVM_FORMULA / "parameters" / "defaults.yaml").read_text())["kvm"]
    settings = _merge(defaults, yaml.safe_load(KVM_LAB_PILLAR.read_text())["kvm"])
    return _merge(
        settings,
        {"libvirtd": {"listen_addr": address}, "qemu": {"vnc_listen": address, "vnc_password": vnc_password}},
    )


def render_kvm_config(template, target, mode=0o644, **context):
    """Render one of the kvm formula's configuration templates, as the formula would."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(KVM_FORMULA / "files" / "default")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    target = Path(target)
    target.write_text(env.get_template(template).render(**context))
    os.chmod(target, mode)


class HostsMixin(LabBase):
    """The lab's network and its hosts' libvirt daemons."""

    def make_network(self, state, hosts):
        log(f"creating bridge {BRIDGE} and {len(hosts)} host namespaces")
        if not Path(f"/sys/class/net/{BRIDGE}").exists():
            run(["ip", "link", "add", BRIDGE, "type", "bridge"])
        run(["ip", "addr", "replace", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE])
        run(["ip", "link", "set", BRIDGE, "up"])
        # Docker sets the FORWARD policy to DROP, which silently cuts hosts off from each other.
        rule = ["FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]
        if run(["iptables", "-C", *rule], check=False, capture_output=True).returncode != 0:
            run(["iptables", "-I", *rule])
            state["iptables"].append(rule)
            self.save_state(state)
        hosts_file = ["127.0.0.1 localhost", f"{BRIDGE_ADDRESS} salt brine-master"]
        hosts_file += [f"{host_address(h)} {h}" for h in hosts]
        (self.root / "etc-hosts").write_text("\n".join(hosts_file) + "\n")
        # Hosts have no route to the machine's resolver: fail name look-ups at once instead of
        # letting every one of them (Salt's grains do several) time out.
        (self.root / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        for host in hosts:
            self.make_host_namespace(host, hosts)

    @staticmethod
    def make_host_namespace(host, hosts):
        """The host's network namespace, its veth into the lab bridge, and its firewall."""
        ns, veth = netns(host), f"brine-{host}-v"
        if not Path(f"/run/netns/{ns}").exists():
            run(["ip", "netns", "add", ns])
        if not Path(f"/sys/class/net/{veth}").exists():
            run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        run(["ip", "link", "set", veth, "master", BRIDGE, "up"])
        run(["ip", "-n", ns, "addr", "replace", f"{host_address(host)}/24", "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", ns, "route", "replace", "default", "via", BRIDGE_ADDRESS])
        # Consoles: guests' VNC ports answer only the master, where websockify runs.
        vnc_rule = [
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            f"{VNC_PORTS}",
            "!",
            "-s",
            BRIDGE_ADDRESS,
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        ]
        # libvirt's TCP port and the migration ports: only the other lab hosts, in this order (the
        # guests' networks, the master's address and other local users are refused).
        # New connections only: the hosts' own outgoing connections may use a local port in the
        # migration range, and their answers must come back.
        ports = ["INPUT", "-p", "tcp", "--syn", "-m", "multiport", "--dports", LIBVIRT_PORTS]
        rules = [[*ports, "-s", host_address(peer), "-j", "ACCEPT"] for peer in hosts if peer != host]
        rules.append([*ports, "-j", "REJECT", "--reject-with", "tcp-reset"])
        iptables = ["ip", "netns", "exec", ns, "iptables"]
        for rule in [vnc_rule, *rules]:
            if run([*iptables, "-C", *rule], check=False, capture_output=True).returncode:
                run([*iptables, "-A", *rule])

    def write_host_config(self, host):
        """The host's private /etc/libvirt, with the kvm formula's libvirtd.conf and qemu.conf."""
        base = self.host_dir(host)
        for sub in ("run/libvirt", "lib/libvirt", "log/libvirt/qemu", "cache/libvirt", "salt"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        # Where virt-install puts an install's kernel and initrd, as Debian's libvirt package makes
        # it (without it virt-install falls back to root's home folder, outside the host's folder).
        (base / "lib" / "libvirt" / "boot").mkdir(mode=0o711, exist_ok=True)
        etc = base / "etc" / "libvirt"
        if not etc.exists():
            shutil.copytree("/etc/libvirt", etc, symlinks=True)
        # Networks and pools the Debian package autostarts belong to a real machine, not here.
        shutil.rmtree(etc / "qemu" / "networks" / "autostart", ignore_errors=True)
        # libvirtd.conf and qemu.conf from the kvm formula's templates with the lab's pillar.
        # Consoles: VNC on the host's lab-bridge address, password auth on with a secret nobody
        # is told (each console session sets its own short-lived password).
        kvm = kvm_settings(host_address(host), secrets.token_urlsafe(6))
        render_kvm_config(
            "libvirtd.conf.jinja", etc / "libvirtd.conf", libvirtd=kvm["libvirtd"], tls=kvm["tls"]
        )
        render_kvm_config("qemu.conf.jinja", etc / "qemu.conf", mode=0o600, qemu=kvm["qemu"])
        return etc

    def start_host(self, host):
        """Start virtlogd and libvirtd for one host in its own mount and UTS namespaces (with
        Docker's folders mounted there: lab_docker starts the engine later)."""
        base = self.host_dir(host)
        etc = self.write_host_config(host)
        mounts = {
            "/run/libvirt": base / "run" / "libvirt",
            "/var/lib/libvirt": base / "lib" / "libvirt",
            "/etc/libvirt": etc,
            "/var/log/libvirt": base / "log" / "libvirt",
            "/var/cache/libvirt": base / "cache" / "libvirt",
        }
        (base / "lib" / "libvirt" / "images").mkdir(parents=True, exist_ok=True)
        # Docker's folders (lab_docker.DockerMixin): the host's own, so its minion sees its
        # engine's socket.
        mounts.update(self.docker_host_mounts(host))
        script = ["set -e", f"hostname {host}"]
        for target, source in mounts.items():
            script.append(f"mkdir -p {target} && mount --bind '{source}' {target}")
        script += [
            f"mount --bind '{self.shared}' {SHARED_IMAGES}",
            f"mount --bind '{self.root / 'etc-hosts'}' /etc/hosts",
            f"mount --bind '{self.root / 'resolv.conf'}' /etc/resolv.conf",
            "virtlogd -d -p /run/libvirt/virtlogd.pid",
            "libvirtd -d --listen -p /run/libvirt/libvirtd.pid",
        ]
        # The script is ours, with paths from our own folder; no user data goes into it.
        run(
            [
                "ip",
                "netns",
                "exec",
                netns(host),
                "unshare",
                "--mount",
                "--uts",
                "--propagation",
                "private",
                "--",
                "/bin/sh",
                "-c",
                "\n".join(script),
            ]
        )
        self.wait(
            (base / "run" / "libvirt" / "libvirt-sock").exists,
            30,
            f"libvirtd on {host} did not start (see {base}/log/libvirt/libvirtd.log)",
        )
        log(f"{host}: libvirtd running (pid {self.libvirtd_pid(host)})")

    @staticmethod
    def remove_network(state, hosts):
        """Take down what make_network made: namespaces, veths, the bridge, the FORWARD rule."""
        for host in hosts:
            run(["ip", "netns", "del", netns(host)], check=False, capture_output=True)
            run(["ip", "link", "del", f"brine-{host}-v"], check=False, capture_output=True)
        if Path(f"/sys/class/net/{BRIDGE}").exists():
            run(["ip", "link", "del", BRIDGE], check=False)
        for rule in state.get("iptables", []):
            run(["iptables", "-D", *rule], check=False, capture_output=True)
