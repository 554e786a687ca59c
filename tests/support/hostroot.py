"""Clean Debian 12 hosts for applying Brine's formulas for real, on one machine without systemd.

A bookworm root is debootstrapped once into a cache folder (``BRINE_HOSTROOT_CACHE``, default
/var/cache/brine-hostroot) and never changed afterwards; every host is an overlay mount of it with
its own upper folder, so each test starts from a fresh host in a second. A host runs like a
container: its own mount, UTS and PID namespaces (``unshare``), proc/sys/dev mounted, a private
/run and /tmp, and ``chroot`` into the overlay. It keeps the machine's network namespace so apt
reaches the Debian mirror; downloaded packages are kept in the cache folder (bind-mounted on
/var/cache/apt/archives) so later runs download nothing.

Salt inside the host is the repository's own virtual environment and its interpreter, bind-mounted
read-only at the same paths (both are Python 3.11 built for Debian 12); the formulas are served
from ``states/`` with a file root that links Brine's ``_modules``/``_engines``/``_states``/``_utils``.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("BRINE_HOSTROOT_CACHE", "/var/cache/brine-hostroot"))
BASE = CACHE / "bookworm"
APT_ARCHIVES = CACHE / "apt-archives"
MIRROR = "http://deb.debian.org/debian"
# Libraries the bind-mounted interpreter and its extension modules load, what Salt's service
# module needs to drive init scripts without systemd as PID 1 (`runlevel`, `update-rc.d`), and
# the init package a Debian 12 installation has (systemd-sysv).
INCLUDE = (
    "libssl3,libffi8,libsqlite3-0,iproute2,procps,sysvinit-utils,init-system-helpers,"
    "mount,ca-certificates,libreadline8,libncursesw6,libuuid1,systemd-sysv"
)
STAMP = f"debootstrap --variant=minbase --include={INCLUDE} bookworm {MIRROR}\n"
VENV = REPO / ".venv"
PYTHON_HOME = Path(os.path.realpath(VENV / "bin" / "python3")).parents[1]


# The host's PID 1: say ready, then reap every child until killed.
INIT = (
    'import os, time; print("ready", flush=True)\n'
    "while True:\n"
    "    try:\n"
    "        os.wait()\n"
    "    except ChildProcessError:\n"
    "        time.sleep(0.5)\n"
)


class HostRootError(Exception):
    """A sentence for whoever runs the tests."""


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def states(result):
    """state id -> its return, from ``salt-call --out=json``'s output of a state run."""
    try:
        data = json.loads(result.stdout)["local"]
    except (ValueError, KeyError) as err:
        raise AssertionError(f"salt-call said: {result.stdout}\n{result.stderr[-3000:]}") from err
    assert isinstance(data, dict), f"render error: {data}"
    return {key.split("_|-")[1]: value for key, value in data.items()}


def require():
    """Skip when a clean host cannot be made here; under CI that is a failure, never a skip."""
    import pytest  # pylint: disable=import-outside-toplevel

    reason = can_run()
    if reason:
        if IN_CI:
            pytest.fail(f"the host-root tests must run in CI, but {reason}", pytrace=False)
        pytest.skip(reason)


def wait_for(predicate, timeout, message):
    """Poll ``predicate`` each second until it holds; AssertionError with ``message`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1)
    raise AssertionError(message)


def guest_xml(name):
    """A minimal TCG guest (firmware only, VNC screen) to start on a formula-built host."""
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><graphics type='vnc' port='-1'/></devices>
</domain>
"""


def run(args, check=True, **kwargs):
    return subprocess.run([str(a) for a in args], check=check, **kwargs)


def can_run():
    """None when hosts can run here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "needs root (mount and PID namespaces, chroot)"
    if not shutil.which("debootstrap") and not (BASE / ".brine-hostroot").exists():
        return "debootstrap is not installed (setup.sh installs it)"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "the kernel has no overlayfs"
    return None


def ensure_base():
    """Debootstrap the cached bookworm root once (about a minute with a good mirror)."""
    stamp = BASE / ".brine-hostroot"
    if stamp.exists() and stamp.read_text() == STAMP:
        return BASE
    CACHE.mkdir(parents=True, exist_ok=True)
    building = CACHE / "bookworm.building"
    shutil.rmtree(building, ignore_errors=True)
    run(
        ["debootstrap", "--variant=minbase", f"--include={INCLUDE}", "bookworm", building, MIRROR],
        capture_output=True,
        timeout=1200,
    )
    # As in container images: packages do not start services while they install; the formulas
    # start what they manage. (A real host's package scripts would start them, then the states
    # restart them with their configuration.)
    policy = building / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    (building / ".brine-hostroot").write_text(STAMP)
    if BASE.exists():
        # An older recipe: hosts started from it are gone with their test runs.
        shutil.rmtree(BASE)
    building.rename(BASE)
    return BASE


class Host:
    """One clean host: an overlay of the cached root, run in its own namespaces."""

    def __init__(self, name, workdir, hosts_entries=None, extra_binds=None, lowers=(), netns=None):
        self.name = name
        # Extra read-only layers above the base root (e.g. a stopped host's upper folder with
        # packages installed), and the network namespace to run in (None: the machine's).
        self.lowers = [str(p) for p in lowers]
        self.netns = netns
        self.dir = Path(workdir) / name
        self.root = self.dir / "merged"
        self.hosts_entries = hosts_entries or {}
        self.extra_binds = extra_binds or {}
        self.pid = None
        self._unshare = None

    # The file root served to the host's salt-call: the formulas and Brine's extensions.
    def _file_root(self):
        fileroot = self.dir / "fileroot"
        fileroot.mkdir(parents=True, exist_ok=True)
        for folder in ("_modules", "_engines", "_states", "_utils"):
            link = fileroot / folder
            if not link.is_symlink():
                link.symlink_to(f"/srv/brine/{folder}")
        return fileroot

    def start(self):
        ensure_base()
        for sub in ("upper", "work", "merged"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        # Each host has its own archive folder (apt locks it), seeded with hard links to the
        # cached packages; stop() links new downloads back into the cache.
        APT_ARCHIVES.mkdir(parents=True, exist_ok=True)
        archives = self.dir / "archives"
        (archives / "partial").mkdir(parents=True, exist_ok=True)
        self._link_debs(APT_ARCHIVES, archives)
        self._file_root()
        (self.dir / "hosts").write_text(
            "127.0.0.1 localhost\n" + "".join(f"{ip} {n}\n" for n, ip in self.hosts_entries.items())
        )
        root = self.root
        binds = {
            archives: "/var/cache/apt/archives",
            PYTHON_HOME: PYTHON_HOME,
            VENV: VENV,
            REPO: "/srv/brine",
            self.dir / "fileroot": "/srv/brine-fileroot",
            self.dir / "hosts": "/etc/hosts",
            "/etc/resolv.conf": "/etc/resolv.conf",
            **self.extra_binds,
        }
        read_only = {PYTHON_HOME, VENV, REPO}
        script = [
            "set -e",
            f"hostname {self.name}",
            f"mount -t overlay overlay -o lowerdir={':'.join([*self.lowers, str(BASE)])},"
            f"upperdir={self.dir}/upper,workdir={self.dir}/work {root}",
            f"mount -t proc proc {root}/proc",
            f"mount --rbind /sys {root}/sys",
            f"mount --rbind /dev {root}/dev",
            # Its own /dev/shm: libqb (corosync, pacemaker) names shared memory by PID.
            f"mount -t tmpfs -o mode=1777 tmpfs {root}/dev/shm",
            f"mount -t tmpfs -o mode=0755 tmpfs {root}/run",
            f"mount -t tmpfs -o mode=1777 tmpfs {root}/tmp",
        ]
        for source, inside in binds.items():
            target = f"{root}{inside}"
            if Path(source).is_dir():
                script.append(f"mkdir -p '{target}'")
            else:
                script.append(f"mkdir -p '{os.path.dirname(target)}' && touch '{target}'")
            script.append(f"mount --bind '{source}' '{target}'")
            if Path(source) in {Path(p) for p in read_only}:
                script.append(f"mount -o remount,bind,ro '{target}'")
        # PID 1 must reap orphans (libvirt waits for its daemonized QEMU probes to disappear):
        # a few lines of Python from the bind-mounted interpreter.
        script.append(f"exec chroot {root} {PYTHON_HOME}/bin/python3 -c '{INIT}'")
        # The script holds only our own paths and the host name the test chose.
        self._unshare = subprocess.Popen(  # pylint: disable=consider-using-with
            [
                *(["ip", "netns", "exec", self.netns] if self.netns else []),
                "unshare",
                "--mount",
                "--uts",
                "--pid",
                "--fork",
                "--propagation",
                "private",
                "--",
                "/bin/sh",
                "-c",
                "\n".join(script),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        line = self._unshare.stdout.readline()
        if line.strip() != "ready":
            self._unshare.kill()
            raise HostRootError(f"host {self.name} did not start: {self._unshare.stderr.read()}")
        self.pid = self._sleep_pid()
        return self

    def _sleep_pid(self):
        children = Path(f"/proc/{self._unshare.pid}/task/{self._unshare.pid}/children").read_text().split()
        # unshare --fork: its child is PID 1 of the new namespace (sh, then exec'd to chroot/sleep).
        return int(children[0])

    def exec(self, *args, check=True, timeout=600, env=None, input=None):  # pylint: disable=redefined-builtin
        """Run a command inside the host (its namespaces and root), capture its output."""
        environment = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "HOME": "/root",
            "DEBIAN_FRONTEND": "noninteractive",
        }
        environment.update(env or {})
        result = run(
            [
                "nsenter",
                "-t",
                self.pid,
                "-m",
                "-u",
                "-p",
                "-n",
                "-r",
                "-w",
                "--",
                "/usr/bin/env",
                "-i",
                *[f"{k}={v}" for k, v in environment.items()],
                *args,
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        if check and result.returncode != 0:
            raise HostRootError(
                f"{' '.join(map(str, args))} on {self.name} failed "
                f"({result.returncode}): {result.stderr.strip()[-2000:]}"
            )
        return result

    def path(self, path):
        """A path inside the host, reachable from outside through its PID 1's root."""
        return Path(f"/proc/{self.pid}/root") / str(path).lstrip("/")

    def write(self, path, text, mode=0o644):
        target = self.path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(mode)

    def salt_config(self, pillar, extra=""):
        """A masterless minion config (file_client: local) and this host's pillar."""
        self.write("/srv/pillar/top.sls", "base:\n  '*':\n" + "".join(f"    - {p}\n" for p in pillar))
        self.write(
            "/etc/salt/minion",
            "\n".join(
                [
                    f"id: {self.name}",
                    "file_client: local",
                    "file_roots:",
                    "  base:",
                    "    - /srv/brine/states",
                    "    - /srv/brine-fileroot",
                    "pillar_roots:",
                    "  base:",
                    "    - /srv/pillar",
                    "log_level_logfile: info",
                    extra,
                ]
            )
            + "\n",
        )

    def salt_call(self, *args, timeout=900):
        return self.exec(
            VENV / "bin" / "salt-call",
            "--local",
            "--out=json",
            "--retcode-passthrough",
            *args,
            check=False,
            timeout=timeout,
        )

    @staticmethod
    def _link_debs(source, target):
        for deb in source.glob("*.deb"):
            if not (target / deb.name).exists():
                try:
                    os.link(deb, target / deb.name)
                except OSError:
                    shutil.copy2(deb, target / deb.name)

    def stop(self, keep=False):
        """End every process of the host (its PID namespace) and unmount everything; with
        ``keep`` its folder stays (its upper folder can then be a lower layer of other hosts)."""
        if (self.dir / "archives").is_dir():
            self._link_debs(self.dir / "archives", APT_ARCHIVES)
        if self._unshare is not None and self._unshare.poll() is None:
            # PID 1 of the namespace going away ends every process in it.
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self._unshare.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self._unshare.pid, signal.SIGKILL)
                self._unshare.wait(timeout=30)
        # The mounts lived in the host's own mount namespace and are gone with it; the upper
        # folder is the only trace.
        deadline = time.monotonic() + 10
        while not keep and time.monotonic() < deadline:
            try:
                shutil.rmtree(self.dir)
                break
            except OSError:
                time.sleep(0.5)


if __name__ == "__main__":
    print(ensure_base(), file=sys.stderr)
