"""The lab's ground: where things are, its constants, running commands, and the bookkeeping every
part of the lab shares (its lock, its state file, reaching a host's namespaces, waiting)."""

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jinja2

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "templates"
VENV_BIN = Path(sys.executable).parent
LAB_DIR = Path(os.environ.get("BRINE_LAB_DIR", "/var/lib/brine-lab"))

BRIDGE = "brine-lab0"
SUBNET_PREFIX = "10.77.0"
BRIDGE_ADDRESS = f"{SUBNET_PREFIX}.1"
# The site as lab/brine-pillar.yaml has the brine formula serve it (nginx:listen), and where the
# salt-api, websockify (loopback, behind nginx) and guests' VNC ports are come from there too.
URL = "https://127.0.0.1:8443/"
# The browser that tests and benchmarks drive against the lab: Debian's Chromium, headless, with
# nothing that reaches for the network this machine does not have.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The lab's install tree (install_tree.py), served over HTTP on the lab bridge for virt-install's
# --location and the installer it boots (docs/provisioning.md, The lab's install tree).
TREE_PORT = 8090
TREE_URL = f"http://{BRIDGE_ADDRESS}:{TREE_PORT}/"
# Consoles: the guests' VNC ports, which answer only the master's websockify.
VNC_PORTS = "5900:5999"
# libvirtd's TCP port and QEMU's migration ports (qemu.conf's default range), which answer only
# the other lab hosts.
LIBVIRT_PORTS = "16509,49152:49215"
ROLES = ("admin", "operator", "viewer")
MAX_HOSTS = 16
GUEST_MEMORY_MIB = 128
# The lab's guests: name -> (host index, running after up).
GUESTS = {"lab-vm1": (1, True), "lab-vm2": (2, True), "lab-vm3": (1, False)}
# Where the shared image folder appears inside every host: the same path on all of them,
# like an NFS mount, so a guest's disk and kernel are reachable wherever it runs.
SHARED_IMAGES = "/var/lib/libvirt/images"
# The lab's landscape (docs/landscape.md), in the hosts' pillar as brine/landscape.sls.
LANDSCAPE_PILLAR = Path(__file__).resolve().parent / "landscape.yaml"
LIBVIRT_DIRS = ("/run/libvirt", "/var/lib/libvirt", "/etc/libvirt", "/var/log/libvirt", "/var/cache/libvirt")


class LabError(Exception):
    """A sentence for the person running the lab."""


_START = time.monotonic()


def log(message):
    print(f"brine-lab [{time.monotonic() - _START:5.1f}s] {message}", flush=True)


def run(args, check=True, **kwargs):
    return subprocess.run([str(a) for a in args], check=check, **kwargs)


def output(args, check=True):
    return run(args, check=check, capture_output=True, text=True).stdout


def host_names(count):
    return [f"hv{i}" for i in range(1, count + 1)]


def host_address(host):
    return f"{SUBNET_PREFIX}.{10 + int(host[2:])}"


def netns(host):
    return f"brine-{host}"


def pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


def read_pid(path):
    try:
        pid = int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


class LabBase:
    """Paths of one lab, all below ``root``, and the bookkeeping its parts share."""

    def __init__(self, root=LAB_DIR):
        self.root = Path(root)
        self.cache = self.root / "cache"
        self.salt = self.root / "salt"
        self.master_conf_dir = self.salt / "etc"
        self.nginx = self.root / "nginx"
        self.tls = self.root / "tls"
        self.shared = self.root / "shared-images"
        self.state_file = self.root / "lab.json"
        self.credentials = self.root / "credentials.json"
        self.console_tokens = self.root / "console-tokens"
        self.tree_pid_file = self.root / "tree-http.pid"
        self._lock, self._lock_depth = None, 0
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        self._master_plan = None

    # -- bookkeeping ------------------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self):
        """One up or down at a time, across processes: a second waits for the first instead of
        tearing into it. Re-entrant within a process (up may call down)."""
        if self._lock_depth == 0:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.root.parent / f".{self.root.name}.lock", "w", encoding="utf-8")  # pylint: disable=consider-using-with
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                self._lock.close()
                self._lock = None

    def load_state(self):
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def save_state(self, state):
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_file)

    def host_dir(self, host):
        return self.root / "hosts" / host

    def render(self, template, target, mode=0o644, **values):
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.env.get_template(template).render(**values))
        os.chmod(target, mode)

    def libvirtd_pid(self, host):
        return read_pid(self.host_dir(host) / "run" / "libvirt" / "libvirtd.pid")

    def nsenter(self, host, *args, check=True, capture=True, timeout=60):
        pid = self.libvirtd_pid(host)
        if pid is None:
            raise LabError(f"host {host} is not running (no libvirtd)")
        return run(
            ["nsenter", "-t", pid, "-m", "-u", "-n", "--", *args],
            check=check,
            capture_output=capture,
            text=True,
            timeout=timeout,
        )

    def virsh(self, host, *args, check=True):
        return self.nsenter(host, "virsh", "-q", "-c", "qemu:///system", *args, check=check).stdout

    @staticmethod
    def wait(predicate, timeout, message):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except (OSError, subprocess.SubprocessError):
                pass
            time.sleep(0.3)
        raise LabError(message)

    @staticmethod
    def signal(pid, sig):
        try:
            os.kill(int(pid), sig)
        except (ProcessLookupError, ValueError):
            pass

    def wait_gone(self, pids, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
            time.sleep(0.1)
