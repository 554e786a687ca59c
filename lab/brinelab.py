"""Brine's built-in lab cluster: KVM hosts in namespaces on one machine, with Salt, salt-api and nginx.

Usage (as root):  brinelab.py up [--hosts N] | down [--purge] | status [--json]

Every host ``hvN`` is a network namespace ``brine-hvN`` (a veth into the lab bridge) plus private
mount and UTS namespaces, in which libvirtd, virtlogd and a salt-minion run with their own
``/run/libvirt``, ``/var/lib/libvirt``, ``/etc/libvirt``, ``/var/log/libvirt`` and ``/etc/hosts``.
The salt-master listens on the lab bridge, salt-api on loopback, nginx on https://127.0.0.1:8443/.
All state lives under one folder (``BRINE_LAB_DIR``, default /var/lib/brine-lab); ``cache/``
in it (the guest image, the accelerator probe) survives ``down`` unless ``--purge``.
"""

import argparse
import contextlib
import fcntl
import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jinja2
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guest

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
# Consoles: the guests' VNC ports, which answer only the master's websockify.
VNC_PORTS = "5900:5999"
ROLES = ("admin", "operator", "viewer")
MAX_HOSTS = 16
GUEST_MEMORY_MIB = 128
# The lab's guests: name -> (host index, running after up).
GUESTS = {"lab-vm1": (1, True), "lab-vm2": (2, True), "lab-vm3": (1, False)}
# Where the shared image folder appears inside every host: the same path on all of them,
# like an NFS mount, so a guest's disk and kernel are reachable wherever it runs.
SHARED_IMAGES = "/var/lib/libvirt/images"
LIBVIRT_DIRS = ("/run/libvirt", "/var/lib/libvirt", "/etc/libvirt", "/var/log/libvirt", "/var/cache/libvirt")


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


# -- the master's configuration from the brine formula (README: Hosts as code) ---------------
BRINE_LAB_PILLAR = Path(__file__).resolve().parent / "brine-pillar.yaml"
BRINE_WEBSOCKIFY_STATE = "brine-config-file-websockify-unit-file-managed"
# What of the brine formula the lab does not apply itself: packages are setup.sh's, and the lab
# starts its daemons itself (no init system here), websockify with the service's command line.
BRINE_NOT_APPLIED = {"pkg.installed", "service.running", "cmd.run", "module.run"}


def _fill(value, names):
    if isinstance(value, dict):
        return {key: _fill(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, names) for item in value]
    if isinstance(value, str):
        for name, replacement in names.items():
            value = value.replace("{" + name + "}", str(replacement))
    return value


def brine_pillar(root):
    """lab/brine-pillar.yaml with the lab's folder, this checkout and the venv's bin folder."""
    return _fill(yaml.safe_load(BRINE_LAB_PILLAR.read_text()), {"lab": root, "repo": REPO, "venv": VENV_BIN})


def show_sls_states(result):
    """state id -> {"fun": "module.function", "args": {...}} of a ``state.show_sls`` answer."""
    states = {}
    for state_id, body in result.items():
        for module, items in body.items():
            if module.startswith("__"):
                continue
            args, fun = {}, None
            for item in items:
                if isinstance(item, dict):
                    args.update(item)
                elif isinstance(item, str) and fun is None:
                    fun = f"{module}.{item}"
            states[state_id] = {"fun": fun, "args": args}
    return states


def render_brine_formula(work, pillar):
    """The brine formula's states as Salt renders them with ``pillar``: ``salt-call --local
    state.show_sls brine`` with file_roots at states/ (the formula's map, defaults and checks)."""
    work = Path(work)
    (work / "pillar").mkdir(parents=True, exist_ok=True)
    (work / "pillar" / "top.sls").write_text("base:\n  '*':\n    - brine\n")
    (work / "pillar" / "brine.sls").write_text(json.dumps(pillar))
    (work / "minion").write_text(
        json.dumps(
            {
                "id": "brine-lab-master",
                "file_client": "local",
                "root_dir": str(work),
                "file_roots": {"base": [str(REPO / "states")]},
                "pillar_roots": {"base": [str(work / "pillar")]},
                "log_level_logfile": "quiet",
            }
        )
    )
    done = run(
        [VENV_BIN / "salt-call", "--local", "-c", work, "--out=json", "state.show_sls", "brine"],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
    )
    try:
        result = json.loads(done.stdout)["local"]
    except (ValueError, KeyError) as err:
        detail = done.stderr.strip() or done.stdout.strip()
        raise LabError(f"rendering the brine formula failed: {detail}") from err
    if isinstance(result, list):
        detail = "; ".join(map(str, result))
        raise LabError(f"the brine formula does not render with the lab's pillar: {detail}")
    return show_sls_states(result)


def _formula_source(source):
    if source.startswith("salt://"):
        return REPO / "states" / source[len("salt://") :]
    return Path(source)


def master_plan(states):
    """What the brine formula's configuration states write, for the lab to write the same:
    {"files": {path: (text, mode)}, "directories": [..], "symlinks": {path: target},
    "websockify": the service's settings (program, args, pythonpath, token_dir, listen),
    "nginx_site": the site's values, "nginx_main": the main configuration's settings}.
    A state the lab does not know stops it: the lab must not quietly drift from the formula."""
    plan = {"files": {}, "directories": [], "symlinks": {}}
    for state_id, state in sorted(states.items()):
        fun, args = state["fun"], state["args"]
        if state_id == BRINE_WEBSOCKIFY_STATE:
            plan["websockify"] = args["context"]["websockify"]
        elif fun in BRINE_NOT_APPLIED:
            continue
        elif fun == "file.managed":
            if "contents" in args:
                text = args["contents"] if args["contents"].endswith("\n") else args["contents"] + "\n"
            elif args.get("template") == "jinja":
                source = _formula_source(args["source"])
                env = jinja2.Environment(
                    loader=jinja2.FileSystemLoader(str(source.parent)),
                    undefined=jinja2.StrictUndefined,
                    keep_trailing_newline=True,
                )
                text = env.get_template(source.name).render(**args.get("context", {}))
            elif not args.get("template"):
                text = _formula_source(args["source"]).read_text()
            else:
                raise LabError(f"the lab cannot write {state_id} (template {args['template']})")
            plan["files"][args["name"]] = (text, int(str(args.get("mode", "0644")), 8))
            if state_id == "brine-config-file-nginx-site-file-managed":
                plan["nginx_site"] = args["context"]
            elif state_id == "brine-config-file-nginx-main-file-managed":
                plan["nginx_main"] = args["context"]["main"]
        elif fun == "file.directory":
            plan["directories"].append(args["name"])
        elif fun == "file.symlink":
            plan["symlinks"][args["name"]] = args["target"]
        else:
            raise LabError(f"the brine formula has a state the lab does not apply: {state_id} ({fun})")
    missing = {"websockify", "nginx_site", "nginx_main"} - set(plan)
    if missing:
        raise LabError(f"the brine formula rendered for the lab lacks {', '.join(sorted(missing))}")
    return plan


def write_master_plan(plan):
    """Write the formula's files, folders and symlinks, as applying its config states would."""
    for name, (text, mode) in plan["files"].items():
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(path, mode)
    for path in plan["directories"]:
        Path(path).mkdir(parents=True, exist_ok=True)
    for path, target in plan["symlinks"].items():
        link = Path(path)
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)


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


class Lab:
    """Paths and processes of one lab, all below ``root``."""

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
        self._lock, self._lock_depth = None, 0
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        self._master_plan = None

    def master_plan(self):
        """The master's configuration: the brine formula rendered by Salt with the lab's pillar."""
        if self._master_plan is None:
            states = render_brine_formula(self.root / "formula", brine_pillar(self.root))
            self._master_plan = master_plan(states)
        return self._master_plan

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

    def salt_cmd(self, program, *args, check=True, timeout=120):
        return run(
            [VENV_BIN / program, "-c", self.master_conf_dir, *args],
            check=check,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

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
        for folder in (self.cache, self.shared, self.tls, self.salt, self.root / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        log("building the guest image (cached)")
        kernel, initrd = guest.build(self.cache)
        shutil.copy2(kernel, self.shared / "brine-lab-vmlinuz")
        shutil.copy2(initrd, self.shared / "brine-lab-initrd.gz")
        self.make_network(state, hosts)
        for host in hosts:
            self.start_host(host)
        self.make_accounts(state)
        log("rendering the master's configuration from the brine formula (lab/brine-pillar.yaml)")
        write_master_plan(self.master_plan())
        self.start_master(hosts)
        for host in hosts:
            self.start_minion(host)
        self.accept_and_sync(hosts)
        state["domain_type"] = self.domain_type(hosts[0])
        self.save_state(state)
        self.make_guests(hosts, state["domain_type"])
        self.start_api()
        self.start_console_proxy()
        self.start_nginx()
        self.wait_for_url()
        state["up"] = time.time()
        self.save_state(state)

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
            if (
                run(
                    ["ip", "netns", "exec", ns, "iptables", "-C", *vnc_rule], check=False, capture_output=True
                ).returncode
                != 0
            ):
                run(["ip", "netns", "exec", ns, "iptables", "-I", *vnc_rule])

    def start_host(self, host):
        """Start virtlogd and libvirtd for one host in its own mount and UTS namespaces."""
        base = self.host_dir(host)
        for sub in ("run/libvirt", "lib/libvirt", "log/libvirt/qemu", "cache/libvirt", "salt"):
            (base / sub).mkdir(parents=True, exist_ok=True)
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
        mounts = {
            "/run/libvirt": base / "run" / "libvirt",
            "/var/lib/libvirt": base / "lib" / "libvirt",
            "/etc/libvirt": etc,
            "/var/log/libvirt": base / "log" / "libvirt",
            "/var/cache/libvirt": base / "cache" / "libvirt",
        }
        (base / "lib" / "libvirt" / "images").mkdir(parents=True, exist_ok=True)
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

    def make_accounts(self, state):
        """A real PAM user per role, in the role's group; passwords are generated each up."""
        credentials = {}
        for role in ROLES:
            group, user = f"brine-{role}", f"lab-{role}"
            try:
                grp.getgrnam(group)
            except KeyError:
                run(["groupadd", "--system", group])
                state["created_groups"].append(group)
            try:
                pwd.getpwnam(user)
            except KeyError:
                run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user])
                state["created_users"].append(user)
            run(["usermod", "--append", "--groups", group, user])
            password = secrets.token_urlsafe(12)
            run(["chpasswd"], input=f"{user}:{password}\n", text=True)
            credentials[role] = {"username": user, "password": password}
            self.save_state(state)
        old_umask = os.umask(0o077)
        try:
            self.credentials.write_text(json.dumps(credentials, indent=2) + "\n")
        finally:
            os.umask(old_umask)
        os.chmod(self.credentials, 0o600)

    def start_master(self, hosts):
        log("starting salt-master")
        # file_roots, runner_dirs, utils_dirs, the console token folder and the salt-api and eauth
        # snippets are the brine formula's, in master.d/ (written by write_master_plan).
        pillar = self.salt / "pillar"
        (pillar / "brine").mkdir(parents=True, exist_ok=True)
        (pillar / "top.sls").write_text(
            "base:\n" + "".join(f"  '{h}':\n    - brine.hypervisor\n" for h in hosts)
        )
        (pillar / "brine" / "hypervisor.sls").write_text(
            "# Lab hosts are hypervisors: the role Brine's runners target.\n"
            "brine:\n  roles:\n    - hypervisor\n"
            # Migration between lab hosts: plain TCP (lab only; real hosts use qemu+tls), and
            # the image folder is one bind-mounted folder on every host, shared storage libvirt
            # cannot recognise (see README, Migration).
            "  migration:\n    uri: 'qemu+tcp://{host}/system'\n"
            # 50 ms keeps the idle lab guests' downtime under 100 ms (bench/migration.py).
            "    max_downtime: 50\n"
            f"    unsafe_shared_storage:\n      - {SHARED_IMAGES}\n"
        )
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
        minion_keys = self.salt / "root" / "etc" / "salt" / "pki" / "master" / "minions"
        minion_keys.mkdir(parents=True, exist_ok=True)
        for host in hosts:
            # Pre-seed each minion's key pair, as an installer would, so no key waits unaccepted.
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
        )
        self.nsenter(host, VENV_BIN / "salt-minion", "-c", base / "etc", "-d")

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

    def start_api(self):
        log("starting salt-api")
        run([VENV_BIN / "salt-api", "-c", self.master_conf_dir, "-d"])
        # Where the formula's nginx site sends /api/ (the formula's brine-api.conf listens there).
        host, port = self.master_plan()["nginx_site"]["api_upstream"].rsplit(":", 1)
        self.wait(
            lambda: (
                run(["curl", "-s", "-o", "/dev/null", f"http://{host}:{port}/"], check=False).returncode == 0
            ),
            30,
            "salt-api did not start",
        )

    # -- consoles -----------------------------------------------------------------------------
    def start_console_proxy(self):
        """The site's one websockify, with Brine's token plugin (README: Consoles), started as
        the brine formula's service starts it: its program, arguments and PYTHONPATH."""
        log("starting websockify for consoles")
        websockify = self.master_plan()["websockify"]
        # What the service does before it starts (the init script's mkdir and chmod).
        tokens = Path(websockify["token_dir"])
        tokens.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(tokens, 0o700)
        env = dict(os.environ, PYTHONPATH=websockify["pythonpath"])
        log_file = self.root / "websockify.log"
        with open(log_file, "ab") as out:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [websockify["program"], *websockify["args"]],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd="/",
            )
        (self.root / "websockify.pid").write_text(f"{proc.pid}\n")
        host, port = websockify["listen"].rsplit(":", 1)
        self.wait(
            lambda: (
                run(["curl", "-s", "-o", "/dev/null", f"http://{host}:{port}/"], check=False).returncode == 0
            ),
            30,
            f"websockify did not start (see {log_file})",
        )

    def start_nginx(self):
        """nginx with the formula's site and main configuration (written by write_master_plan)."""
        log("starting nginx")
        plan = self.master_plan()
        # The lab's certificate is self-signed, where the lab's pillar says the site's is.
        cert, key = Path(plan["nginx_site"]["tls_cert"]), Path(plan["nginx_site"]["tls_key"])
        if not cert.exists():
            cert.parent.mkdir(parents=True, exist_ok=True)
            run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "365",
                    "-subj",
                    "/CN=brine-lab",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout",
                    key,
                    "-out",
                    cert,
                ],
                capture_output=True,
            )
            os.chmod(key, 0o600)
        config = plan["nginx_main"]["config"]
        run(["nginx", "-t", "-q", "-c", config], capture_output=True)
        run(["nginx", "-c", config])

    def wait_for_url(self):
        self.wait(
            lambda: run(["curl", "-sk", "-o", "/dev/null", "-f", URL], check=False).returncode == 0,
            30,
            f"{URL} did not answer",
        )

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

    def print_login(self, state):
        creds = json.loads(self.credentials.read_text())
        print(
            f"\nBrine lab is up: {len(state['hosts'])} hosts ({', '.join(state['hosts'])}), "
            f"guests {', '.join(GUESTS)} (domain type {state.get('domain_type')})"
        )
        print(f"  URL:    {URL}   (self-signed certificate)")
        for role in ROLES:
            print(f"  {role:<8} login: {creds[role]['username']:<13} password: {creds[role]['password']}")
        print(f"  Credentials are kept in {self.credentials} (mode 0600).")
        print(f"  Shell:  {VENV_BIN}/salt -c {self.master_conf_dir} '*' hypervisor.inventory")
        print(f"          {VENV_BIN}/salt-run -c {self.master_conf_dir} cluster.inventory\n")

    # -- status -----------------------------------------------------------------------------
    def processes(self, state):
        """name -> pid (or None) for every long-running process of the lab."""
        procs = {
            "salt-master": read_pid(self.salt / "root" / "run" / "salt-master.pid"),
            "salt-api": read_pid(self.salt / "root" / "var" / "run" / "salt-api.pid"),
            "nginx": read_pid(self.nginx / "nginx.pid"),
            "websockify": read_pid(self.root / "websockify.pid"),
        }
        for host in state.get("hosts", []):
            procs[f"{host}/libvirtd"] = self.libvirtd_pid(host)
            procs[f"{host}/virtlogd"] = read_pid(self.host_dir(host) / "run" / "libvirt" / "virtlogd.pid")
            procs[f"{host}/salt-minion"] = read_pid(
                self.host_dir(host) / "salt" / "root" / "run" / "salt-minion.pid"
            )
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
        for host in hosts:
            run(["ip", "netns", "del", netns(host)], check=False, capture_output=True)
            run(["ip", "link", "del", f"brine-{host}-v"], check=False, capture_output=True)
        if Path(f"/sys/class/net/{BRIDGE}").exists():
            run(["ip", "link", "del", BRIDGE], check=False)
        for rule in state.get("iptables", []):
            run(["iptables", "-D", *rule], check=False, capture_output=True)
        for user in state.get("created_users", []):
            run(["userdel", user], check=False, capture_output=True)
        for group in state.get("created_groups", []):
            # Others (the integration tests, a real admin) may use the same group: keep it then.
            try:
                if grp.getgrnam(group).gr_mem:
                    continue
            except KeyError:
                continue
            run(["groupdel", group], check=False, capture_output=True)
        if self.root.exists():
            for child in self.root.iterdir():
                if child.name != "cache" or purge:
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)
            if purge:
                shutil.rmtree(self.root, ignore_errors=True)
        log("down")

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
