"""
Migration over TLS between two clean Debian 12 hosts whose certificates come from the formula.

A real salt-master (loopback, its own ports) serves states/ and Brine's extensions, with the
peer permission the brine formula writes. A CA minion applies ``kvm.tls.ca`` (key, self-signed
CA, signing policy, CA certificate in the mine). Two hosts (debootstrapped roots, see
hostroot.py) run salt-minions and get ``state.apply kvm`` from the master, TLS on: each makes its
own keys and has the CA minion sign its server and client certificates through x509_v2 remote
signing, each under its own per-host signing policy; libvirtd listens for TLS on the host's own
loopback address. Then:

- the CA signs only for each host its own name: hostA asking for hostB's name (and a CA
  certificate) gets a certificate for hostA, not a CA; hostA cannot use hostB's policy; the CA's
  own minion, not a hypervisor, may not even ask (the master's peer rule);
- a running guest migrates live through ``salt-run cluster.migrate`` (Brine's code path, not
  virsh) with QEMU's native migration TLS: the host's job return says ``tls``, a capture of
  the migration port on loopback shows a TLS handshake first and never QEMU's plain stream
  magic, and a migration without ``--tls`` is refused (``migrate_tls_force``);
- with a client certificate from another CA, or with the site CA's certificate for QEMU, hostB
  cannot migrate to hostA (libvirtd's tls_allowed_dn_list), and the guest keeps running;
- the events engine the formula enabled reports a guest started on hostA to the master;
- a second apply on both hosts changes nothing.

The hosts share the machine's network namespace (apt needs the mirror), so they listen on
127.0.0.2 and 127.0.0.3 and resolve each other's names through their own /etc/hosts.
"""

import datetime
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support import hostroot

pytestmark = [pytest.mark.hostroot, pytest.mark.timeout(2400)]

VENV_BIN = hostroot.VENV / "bin"
HOSTS = {"hostA": "127.0.0.2", "hostB": "127.0.0.3"}
GUEST = "brine-tls-vm"
GUEST_XML = hostroot.guest_xml(GUEST)
VIRSH = ("virsh", "-q", "-c", "qemu:///system")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine_sysctls():
    keys = [
        "vm.swappiness",
        "net.bridge.bridge-nf-call-iptables",
        "net.bridge.bridge-nf-call-ip6tables",
        "net.bridge.bridge-nf-call-arptables",
    ]
    values = {}
    for key in keys:
        path = Path("/proc/sys/" + key.replace(".", "/"))
        if path.exists():
            values[key] = int(path.read_text().split()[0])
    return values


class Master:
    """A salt-master and the CA minion, under one temporary folder, on loopback."""

    def __init__(self, root):
        self.root = Path(root)
        self.conf = self.root / "master-etc"
        self.ports = {"publish_port": free_port(), "ret_port": free_port()}
        self.procs = []

    def start(self, pillar_files):
        fileroot = self.root / "fileroot"
        fileroot.mkdir(parents=True)
        for folder in ("_modules", "_engines", "_states", "_utils"):
            (fileroot / folder).symlink_to(hostroot.REPO / folder)
        pillar = self.root / "pillar"
        pillar.mkdir()
        for name, text in pillar_files.items():
            (pillar / name).write_text(text)
        self.conf.mkdir()
        (self.conf / "master").write_text(
            json.dumps(
                {
                    "root_dir": str(self.root / "master-root"),
                    "interface": "127.0.0.1",
                    **self.ports,
                    "auto_accept": True,
                    "file_roots": {"base": [str(hostroot.REPO / "states"), str(fileroot)]},
                    "pillar_roots": {"base": [str(pillar)]},
                    # Brine's runners and library, as the brine formula's brine-paths.conf says.
                    "runner_dirs": [str(hostroot.REPO / "_runners")],
                    "utils_dirs": [str(hostroot.REPO / "_utils")],
                    # What the brine formula's brine-paths.conf grants with x509_peers [hostA, hostB]:
                    # only the hypervisors may ask the CA to sign.
                    "peer": {"^(hostA|hostB)$": ["x509.sign_remote_certificate"]},
                    "log_level_logfile": "info",
                }
            )
        )
        self.procs.append(
            subprocess.Popen(  # pylint: disable=consider-using-with
                [VENV_BIN / "salt-master", "-c", self.conf],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        self.start_ca()

    def ca_minion_config(self):
        ca_root = self.root / "ca-root"
        (self.root / "ca-etc" / "minion.d").mkdir(parents=True, exist_ok=True)
        (self.root / "ca-etc" / "minion").write_text(
            json.dumps(
                {
                    "id": "brine-ca",
                    "master": "127.0.0.1",
                    "master_port": self.ports["ret_port"],
                    "publish_port": self.ports["publish_port"],
                    "root_dir": str(ca_root),
                    "default_include": "minion.d/*.conf",
                    "log_level_logfile": "info",
                }
            )
        )

    def start_ca(self):
        self.ca_minion_config()
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [VENV_BIN / "salt-minion", "-c", self.root / "ca-etc"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def restart_ca(self):
        ca = self.procs.pop()
        ca.terminate()
        ca.wait(timeout=60)
        self.start_ca()

    def salt(self, target, *args, timeout=900):
        result = subprocess.run(
            [VENV_BIN / "salt", "-c", self.conf, "--out=json", "--static", "-t", str(timeout), target, *args],
            capture_output=True,
            text=True,
            timeout=timeout + 60,
            check=False,
        )
        try:
            return json.loads(result.stdout)
        except ValueError as err:
            raise AssertionError(f"salt {target} {args}: {result.stdout} {result.stderr[-2000:]}") from err

    def run(self, *args, timeout=900):
        """salt-run with this master's configuration: (return, exit code, stderr)."""
        result = subprocess.run(
            [VENV_BIN / "salt-run", "-c", self.conf, "--out=json", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        try:
            return json.loads(result.stdout), result.returncode, result.stderr
        except ValueError:
            return result.stdout, result.returncode, result.stderr

    def ping(self, minion):
        try:
            return self.salt(minion, "test.ping", timeout=5).get(minion) is True
        except AssertionError:
            return False

    def stop(self):
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        # Salt forks workers that outlive their parents: end what still names our folder.
        for proc_dir in Path("/proc").glob("[0-9]*"):
            try:
                cmdline = (proc_dir / "cmdline").read_bytes()
            except OSError:
                continue
            if str(self.root).encode() in cmdline and int(proc_dir.name) != os.getpid():
                try:
                    os.kill(int(proc_dir.name), 9)
                except ProcessLookupError:
                    pass


def minion_states(ret, minion):
    data = ret.get(minion)
    assert isinstance(data, dict), f"{minion}: {data}"
    return {key.split("_|-")[1]: value for key, value in data.items()}


def rogue_client_pair(host):
    """A client key and certificate for `host`, and the CA that signed them: one the site never
    heard of."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Rogue CA")])
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return (
        key_pem,
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        ca_cert.public_bytes(serialization.Encoding.PEM).decode(),
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    hostroot.require()
    root = tmp_path_factory.mktemp("tls-site")
    master = Master(root)
    sysctls = machine_sysctls()
    pillar = {
        "top.sls": "base:\n  'brine-ca':\n    - ca\n  'host*':\n    - host\n",
        "ca.sls": json.dumps(
            {
                "kvm": {
                    "tls": {"enabled": False, "hosts": list(HOSTS)},
                    "ca": {
                        "key": str(root / "ca" / "ca.key"),
                        "cert": str(root / "ca" / "ca.crt"),
                        "issued_copypath": str(root / "ca" / "issued"),
                    },
                    "minion": {"config_dir": str(root / "ca-etc" / "minion.d"), "restart": False},
                }
            }
        ),
        "host.sls": (
            "{% set address = {'hostA': '127.0.0.2', 'hostB': '127.0.0.3'}[grains.id] %}\n"
            + json.dumps(
                {
                    "brine": {"roles": ["hypervisor"]},
                    "kvm": {
                        "tls": {
                            "ca_server": "brine-ca",
                            "ca_cert_source": str(root / "ca" / "ca.crt"),
                            "hosts": list(HOSTS),
                            "key_algo": "ec",
                        },
                        "libvirtd": {"listen_addr": "__ADDRESS__"},
                        "sysctl": {"values": sysctls},
                        # Salt here is the test's own virtual environment, which has
                        # saltext-virt from requirements.txt: no pip into it.
                        "python_packages": {"bin_env": None},
                    },
                }
            ).replace("__ADDRESS__", "{{ address }}")
        ),
    }
    hosts = {}
    try:
        master.start(pillar)
        hostroot.wait_for(lambda: master.ping("brine-ca"), 120, "the CA minion did not answer the master")
        ca = minion_states(master.salt("brine-ca", "state.apply", "kvm.tls.ca"), "brine-ca")
        assert all(v["result"] for v in ca.values()), ca
        # The snippet (signing policy, mine function) takes effect when the minion restarts.
        master.restart_ca()
        hostroot.wait_for(lambda: master.ping("brine-ca"), 120, "the CA minion did not come back")
        master.salt("brine-ca", "mine.update")
        for name in HOSTS:
            host = hostroot.Host(name, root, hosts_entries=HOSTS).start()
            hosts[name] = host
            host.write(
                "/etc/salt/minion",
                json.dumps(
                    {
                        "id": name,
                        "master": "127.0.0.1",
                        "master_port": master.ports["ret_port"],
                        "publish_port": master.ports["publish_port"],
                        "log_level_logfile": "info",
                        # As an installer would for a host where systemd is not PID 1 (kvm/map.jinja).
                        "disable_modules": ["systemd_service"],
                    }
                ),
            )
            host.exec("sh", "-c", f"{VENV_BIN}/salt-minion -d")
        for name in HOSTS:
            hostroot.wait_for(
                lambda name=name: master.ping(name), 180, f"{name}'s minion did not answer the master"
            )
        yield master, hosts
    finally:
        for host in hosts.values():
            host.stop()
        master.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def applied(site):
    master, hosts = site
    started = time.monotonic()
    ret = master.salt("host*", "state.apply", "kvm", timeout=1500)
    print(f"kvm with TLS on both hosts: {time.monotonic() - started:.1f} s")
    for name in hosts:
        result = minion_states(ret, name)
        failed = {k: v["comment"] for k, v in result.items() if v["result"] is not True}
        assert not failed, f"{name}: {failed}"
    return ret


def test_each_host_has_its_own_key_and_a_certificate_from_the_site_ca(site, applied):  # pylint: disable=unused-argument
    master, hosts = site
    ca_cert = x509.load_pem_x509_certificate((master.root / "ca" / "ca.crt").read_bytes())
    for name, host in hosts.items():
        for role in ("server", "client"):
            cert = x509.load_pem_x509_certificate(host.path(f"/etc/pki/libvirt/{role}cert.pem").read_bytes())
            key = serialization.load_pem_private_key(
                host.path(f"/etc/pki/libvirt/private/{role}key.pem").read_bytes(), None
            )
            assert cert.issuer == ca_cert.subject
            cert.verify_directly_issued_by(ca_cert)
            assert cert.public_key().public_numbers() == key.public_key().public_numbers()
            assert oct(host.path(f"/etc/pki/libvirt/private/{role}key.pem").stat().st_mode & 0o777) == "0o600"
        server = x509.load_pem_x509_certificate(host.path("/etc/pki/libvirt/servercert.pem").read_bytes())
        names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert name in names.get_values_for_type(x509.DNSName)
        # The CA key stayed with the CA.
        assert not host.path("/etc/pki/brine-ca").exists()
        listening = host.exec("sh", "-c", "cat /proc/net/tcp").stdout
        port = f"{int(HOSTS[name].split('.')[-1]):02X}00007F:{16514:04X}"
        assert port in listening, f"libvirtd is not listening for TLS on {HOSTS[name]}:16514"


class MigrationCapture:
    """Every TCP payload on loopback to or from QEMU's migration ports (49152-49215), captured
    with a packet socket while a migration runs (the hosts share this network namespace)."""

    PORTS = range(49152, 49216)

    def __init__(self):
        self.payloads = []  # (connection, bytes) in order
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        self._sock.close()

    def _read(self):
        while not self._stop.is_set():
            try:
                frame, addr = self._sock.recvfrom(262144)
            except TimeoutError:
                continue
            if addr[2] == socket.PACKET_OUTGOING:
                continue  # loopback shows each packet twice: keep the incoming copy
            packet = frame[14:]  # loopback frames carry an Ethernet header
            if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != 6:
                continue
            ip_len = (packet[0] & 0x0F) * 4
            tcp = packet[ip_len:]
            sport, dport = int.from_bytes(tcp[0:2], "big"), int.from_bytes(tcp[2:4], "big")
            payload = tcp[(tcp[12] >> 4) * 4 :]
            if payload and (sport in self.PORTS or dport in self.PORTS):
                self.payloads.append(((sport, dport), payload))

    def stream(self, connection):
        return b"".join(data for conn, data in self.payloads if conn == connection)


def start_guest(host):
    host.write("/root/guest.xml", GUEST_XML)
    host.exec(*VIRSH, "define", "/root/guest.xml")
    host.exec(*VIRSH, "start", GUEST)


def migrate_job_return(master, source):
    """What hypervisor.migrate returned on ``source`` (the master's job cache)."""
    jobs, _, _ = master.run("jobs.list_jobs", "search_function=hypervisor.migrate")
    jid = max(jobs)
    ret, _, _ = master.run("jobs.lookup_jid", jid)
    return ret[source]


def test_cluster_migrate_moves_a_running_guest_with_qemus_tls(site, applied):  # pylint: disable=unused-argument
    """Brine's own path (salt-run cluster.migrate -> hypervisor.migrate on the source) between two
    formula-built hosts: the migration stream on the wire is TLS from its first byte, and holds
    none of QEMU's plain stream (which starts with the magic "QEVM"); the hosts refuse a
    migration that does not ask for TLS (qemu.conf's migrate_tls_force)."""
    master, hosts = site
    source, target = hosts["hostA"], hosts["hostB"]
    conf = source.path("/etc/libvirt/qemu.conf").read_text()
    assert "migrate_tls_force = 1" in conf and 'migrate_tls_x509_cert_dir = "/etc/pki/qemu"' in conf
    start_guest(source)
    try:
        plain = source.exec(
            *VIRSH, "migrate", "--live", "--p2p", GUEST, "qemu+tls://hostB/system", check=False, timeout=300
        )
        assert plain.returncode != 0 and "VIR_MIGRATE_TLS" in plain.stderr, plain.stderr
        assert source.exec(*VIRSH, "domstate", GUEST).stdout.strip() == "running"

        started = time.monotonic()
        with MigrationCapture() as capture:
            ret, code, err = master.run("cluster.migrate", GUEST, "hostB", timeout=600)
        print(f"cluster.migrate with QEMU's migration TLS: {time.monotonic() - started:.1f} s")
        assert code == 0, f"{ret} {err[-2000:]}"
        assert ret["source"] == "hostA" and ret["target"] == "hostB", ret
        assert target.exec(*VIRSH, "domstate", GUEST).stdout.strip() == "running"
        assert GUEST not in source.exec(*VIRSH, "list", "--all", "--name").stdout
        assert migrate_job_return(master, "hostA")["tls"] is True

        # The guest's memory crossed in a TLS session: the source's first bytes to the target's
        # migration port are a TLS handshake record, and QEMU's stream magic appears nowhere.
        assert capture.payloads, "no migration traffic was captured on loopback"
        to_target = [conn for conn, _ in capture.payloads if conn[1] in MigrationCapture.PORTS]
        assert to_target, capture.payloads[:3]
        first = capture.stream(to_target[0])
        assert first[:1] == b"\x16" and first[1:2] == b"\x03", first[:16]
        everything = b"".join(data for _, data in capture.payloads)
        assert b"QEVM" not in everything
        # 64 MiB of guest memory, mostly zero pages: at least a header for each of 16384 pages.
        total = len(everything)
        assert total > 16384 * 8, f"only {total} bytes captured: not the guest's memory"
        print(f"captured {total} bytes of migration stream, all TLS")
    finally:
        for host in hosts.values():
            host.exec(*VIRSH, "destroy", GUEST, check=False)
            host.exec(*VIRSH, "undefine", GUEST, check=False)


def test_libvirtd_refuses_other_cas_and_qemus_own_certificate(site, applied):  # pylint: disable=unused-argument
    """hostB presents, as its libvirt client certificate, one from a CA hostA does not trust, then
    the site CA's certificate for its own QEMU (O=Brine QEMU migration): hostA's libvirtd lets in
    only "CN=<host>" (tls_allowed_dn_list), so a QEMU process's key never opens libvirtd."""
    _, hosts = site
    source, target = hosts["hostA"], hosts["hostB"]
    start_guest(target)
    key_path, cert_path = "/etc/pki/libvirt/private/clientkey.pem", "/etc/pki/libvirt/clientcert.pem"
    ca_path = "/etc/pki/CA/cacert.pem"
    saved = {p: target.path(p).read_text() for p in (key_path, cert_path, ca_path)}
    rogue_key, rogue_cert, rogue_ca = rogue_client_pair("hostB")
    qemu_pair = tuple(target.path(f"/etc/pki/qemu/client-{part}.pem").read_text() for part in ("key", "cert"))
    try:
        for label, (key, cert, ca) in {
            "another CA": (rogue_key, rogue_cert, saved[ca_path] + rogue_ca),
            "QEMU's certificate": (*qemu_pair, saved[ca_path]),
        }.items():
            # hostB trusts what it presents, so its own libvirt sends it: the refusal is hostA's.
            target.write(key_path, key, mode=0o600)
            target.write(cert_path, cert)
            target.write(ca_path, ca)
            refused = target.exec(
                *VIRSH,
                "migrate",
                "--live",
                "--p2p",
                "--tls",
                "--persistent",
                "--undefinesource",
                GUEST,
                "qemu+tls://hostA/system",
                check=False,
                timeout=300,
            )
            assert refused.returncode != 0, f"{label}: {refused.stdout}"
            print(f"{label} refused: {refused.stderr.strip()}")
            assert "Our own certificate" not in refused.stderr, refused.stderr
            if label == "QEMU's certificate":
                # Signed by the site CA, so it is hostA's DN list that says no.
                log = source.path("/var/log/libvirt/libvirtd.log").read_text()
                assert "tls_allowed_dn_list" in log, log[-2000:]
            assert target.exec(*VIRSH, "domstate", GUEST).stdout.strip() == "running"
            assert GUEST not in source.exec(*VIRSH, "list", "--all", "--name").stdout
    finally:
        for path, text in saved.items():
            target.write(path, text, mode=0o600 if path == key_path else 0o644)
        for host in hosts.values():
            host.exec(*VIRSH, "destroy", GUEST, check=False)
            host.exec(*VIRSH, "undefine", GUEST, check=False)


def ask_ca(master, minion, policy, cn):
    """``minion`` asks the CA to sign a certificate for ``cn`` under ``policy``: PEM, or the error."""
    ret = master.salt(
        minion,
        "x509.create_certificate",
        "ca_server=brine-ca",
        f"signing_policy={policy}",
        "private_key=/etc/pki/libvirt/private/clientkey.pem"
        if minion != "brine-ca"
        else f"private_key={master.root / 'ca' / 'ca.key'}",
        f"CN={cn}",
        f"subjectAltName=DNS:{cn}",
        "basicConstraints=critical, CA:true",
        timeout=120,
    )
    return ret.get(minion)


def test_the_site_ca_signs_only_for_each_host_its_own_name(site, applied):  # pylint: disable=unused-argument
    master, _ = site
    # hostA asks under its own policy for hostB's name, and a CA certificate: it gets its own.
    pem = ask_ca(master, "hostA", "brine_libvirt:hostA", "hostB")
    assert isinstance(pem, str) and "BEGIN CERTIFICATE" in pem, pem
    cert = x509.load_pem_x509_certificate(pem.encode())
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["hostA"]
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["hostA"]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usages = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert usages == {x509.oid.ExtendedKeyUsageOID.SERVER_AUTH, x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH}
    # Another host's policy is not hostA's to use.
    other = ask_ca(master, "hostA", "brine_libvirt:hostB", "hostB")
    assert "BEGIN CERTIFICATE" not in str(other), other
    assert "not permitted" in str(other), other
    # A minion that is not a hypervisor (the CA's own) may not even ask (the master's peer rule).
    outsider = ask_ca(master, "brine-ca", "brine_libvirt:hostA", "hostA")
    assert "BEGIN CERTIFICATE" not in str(outsider), outsider


def test_events_engine_the_formula_enabled_reports_a_guest(site, applied):  # pylint: disable=unused-argument
    """The minion reads engines when it starts: restart hostA's minion (the formula would, through
    the salt-minion service, which these hosts do not have), then start a guest there."""
    master, hosts = site
    host = hosts["hostA"]
    assert "brine_events" in host.exec("cat", "/etc/salt/minion.d/brine-kvm.conf").stdout

    def listen(tag):
        return subprocess.Popen(  # pylint: disable=consider-using-with
            [VENV_BIN / "salt-run", "-c", master.conf, "state.event", tag, "count=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    pid = host.exec("cat", "/var/run/salt-minion.pid").stdout.strip()
    host.exec("kill", pid)
    stopped = lambda: host.exec("kill", "-0", pid, check=False).returncode != 0  # noqa: E731
    hostroot.wait_for(stopped, 60, "hostA's minion did not stop")
    host.exec("sh", "-c", f"{VENV_BIN}/salt-minion -d")
    hostroot.wait_for(lambda: master.ping("hostA"), 120, "hostA's minion did not come back")
    listener = listen(f"brine/vm/hostA/{GUEST}/state")
    try:
        time.sleep(5)  # the listener subscribes to the master's bus
        host.write("/root/guest.xml", GUEST_XML)
        host.exec(*VIRSH, "create", "/root/guest.xml")
        out, _ = listener.communicate(timeout=120)
    finally:
        listener.kill()
        host.exec(*VIRSH, "destroy", GUEST, check=False)
    # state.event prints "<tag>\t<data as JSON>" per event, then its own return. A minion's event
    # reaches the master wrapped by Salt: Brine's payload is under "data". Starting a guest gives
    # "started" then "resumed", which the engine may send as one (the latest per VM).
    tag, _, data = out.strip().splitlines()[0].partition("\t")
    assert tag == f"brine/vm/hostA/{GUEST}/state", out
    wrapped = json.loads(data)
    assert wrapped["id"] == "hostA", wrapped
    event = wrapped["data"]
    assert event["event"] in ("started", "resumed") and event["state"] == "running", event
    assert event["host"] == "hostA" and event["name"] == GUEST
    # Signed with hostA's own minion key (brine.signing), which the master's stream checks.
    assert event["_brine_sig"]["sig"], event


def test_second_apply_with_tls_changes_nothing(site, applied):  # pylint: disable=unused-argument
    master, hosts = site
    ret = master.salt("host*", "state.apply", "kvm")
    for name in hosts:
        changed = {k: v["changes"] for k, v in minion_states(ret, name).items() if v["changes"]}
        assert changed == {}, f"{name}: {changed}"


def test_a_changed_vnc_password_never_shows_in_the_state_return(site, applied):  # pylint: disable=unused-argument
    """qemu.conf holds the VNC password: applying a new one changes the file, and the state
    return (what the master's job cache and the minion's log keep) never shows it."""
    master, hosts = site
    secret = "brine-vnc-" + os.urandom(8).hex()
    pillar = json.dumps({"kvm": {"qemu": {"vnc_password": secret}}})
    ret = master.salt("hostA", "state.apply", "kvm.config.file", f"pillar={pillar}")
    result = minion_states(ret, "hostA")["kvm-config-file-qemu-conf-file-managed"]
    assert result["result"] is True and result["changes"], result
    assert secret not in json.dumps(ret)
    assert f'vnc_password = "{secret}"' in hosts["hostA"].path("/etc/libvirt/qemu.conf").read_text()
