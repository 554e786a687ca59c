"""
Unattended installs on a host (docs/provisioning.md, The install): ``virt-install`` started with
an argument list, the ``<brine:install>`` marker that says a domain is installing, what the
installer reports on its serial console, and what is left of an install that failed.

The host module (``provision.install``) starts installs; the host's ``brine_installs`` engine
follows them to the end with ``follow``. Nothing here runs a shell or reads a guest: the serial
console log is the host's own file.

:depends: libvirt-python, virt-install (Debian's ``virtinst``)
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from xml.etree import ElementTree

from brine import domxml
from brine import libvirt_host
from brine import placement
from brine import validate
from brine.errors import Invalid
from brine.errors import Refused

try:
    import libvirt
except ImportError:
    libvirt = None

VIRT_INSTALL = "virt-install"
# Seconds virt-install may take to define and start the install (it downloads the tree's
# kernel and initrd first).
VIRT_INSTALL_TIMEOUT = 600
SERIAL_LOG = "/var/log/libvirt/qemu/{name}-serial.log"
# Failed installs whose domain was removed: one small JSON record each, root only. Beside
# libvirt's own state, which is what they are about (and private to each lab host).
RECORDS_DIR = "/var/lib/libvirt/brine/installs"
# What the installer prints on its serial console (lab/installer; any installer may).
_PROGRESS_RE = re.compile(r"^brine-install: progress (\d{1,3})(?: (.{0,200}))?$")
_DONE = "brine-install: done"
_FAILED_RE = re.compile(r"^brine-install: failed ?(.{0,500})$")
_MAC_RE = re.compile(r"52:54:00(:[0-9a-f]{2}){3}\Z")
_PRINTABLE_RE = re.compile(r"[^\x20-\x7e]")


# ---- The spec a runner sends (no secret in it: the kickstart travels sealed).

SPEC_FIELDS = (
    "name",
    "memory",
    "vcpus",
    "disk",
    "pool",
    "network",
    "mac",
    "url",
    "os_variant",
    "keep_failed",
)


def check_spec(spec):
    """``spec`` if it is a whole install spec, checked again on the host; else ``Invalid``."""
    if not isinstance(spec, dict) or sorted(spec) != sorted(SPEC_FIELDS):
        raise Invalid(f"the install spec must have exactly the fields {', '.join(SPEC_FIELDS)}")
    placement.check_sizes_and_names(spec, "the install spec")
    if not isinstance(spec["os_variant"], str) or not validate.VM_NAME_RE.fullmatch(spec["os_variant"]):
        raise Invalid(f"the install spec's os_variant {spec['os_variant']!r} is not a valid name")
    if not isinstance(spec["mac"], str) or not _MAC_RE.match(spec["mac"]):
        raise Invalid(f"the install spec's mac {spec['mac']!r} is not a 52:54:00 MAC address")
    url = spec["url"]
    if not isinstance(url, str) or not re.fullmatch(r"https?://[!-~]{1,2040}", url) or '"' in url:
        raise Invalid(f"the install spec's url {url!r} is not an http(s) URL")
    validate.flag(spec["keep_failed"], "keep_failed")
    return spec


def virt_install_argv(spec, kickstart_path, virt_type, serial_log):
    """The argument list of the ``virt-install`` that starts ``spec``'s install (no shell)."""
    name = spec["name"]
    return [
        VIRT_INSTALL,
        "--connect",
        "qemu:///system",
        "--name",
        name,
        "--memory",
        str(spec["memory"]),
        "--vcpus",
        str(spec["vcpus"]),
        "--virt-type",
        virt_type,
        "--location",
        spec["url"],
        "--os-variant",
        spec["os_variant"],
        "--disk",
        f"pool={spec['pool']},size={spec['disk']},format=qcow2,bus=virtio",
        "--network",
        f"network={spec['network']},mac={spec['mac']},model=virtio",
        "--graphics",
        "vnc",
        "--serial",
        f"pty,log.file={serial_log},log.append=off",
        "--initrd-inject",
        kickstart_path,
        "--extra-args",
        f"inst.ks=file:/{os.path.basename(kickstart_path)} console=tty0 console=ttyS0",
        "--noautoconsole",
        "--noreboot",
    ]


# ---- The marker: <install xmlns="..." state= progress= step= reason= keep= volume= started=/>


def marker_xml(state, **attrs):
    element = ElementTree.Element("install", {"xmlns": domxml.INSTALL_NS, "state": state})
    for key, value in attrs.items():
        if value is not None:
            element.set(key, str(value))
    return ElementTree.tostring(element, encoding="unicode")


def set_marker(dom, state, live, **attrs):
    """Write the marker into the domain's definition (and its live XML when ``live``)."""
    flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if live else 0)
    dom.setMetadata(
        libvirt.VIR_DOMAIN_METADATA_ELEMENT, marker_xml(state, **attrs), "brine", domxml.INSTALL_NS, flags
    )


def clear_marker(dom):
    dom.setMetadata(
        libvirt.VIR_DOMAIN_METADATA_ELEMENT, None, None, domxml.INSTALL_NS, libvirt.VIR_DOMAIN_AFFECT_CONFIG
    )


def marker(dom, inactive=True):
    """The domain's marker as a dict (``domxml.parse_install``), or None."""
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
    return domxml.parse_domain(dom.XMLDesc(flags)).get("install")


# ---- Starting an install


def _clean_text(text, limit=300):
    return _PRINTABLE_RE.sub(" ", text or "").strip()[:limit]


def start(conn, spec, kickstart, virt_type, run=subprocess.run):
    """
    Start ``spec``'s install: the kickstart in a private temporary file (removed whatever
    happens), ``virt-install`` with an argument list, then the marker on the new domain.
    Returns the domain's first facts. ``Refused`` (``vm_exists``, ``install_failed``) when it
    cannot.
    """
    name = spec["name"]
    try:
        conn.lookupByName(name)
        raise Refused("vm_exists", f"a VM named {name} is already defined on {conn.getHostname()}")
    except libvirt.libvirtError as err:
        if not libvirt_host.is_missing(err):
            raise
    serial_log = SERIAL_LOG.format(name=name)
    if os.path.exists(serial_log):
        os.unlink(serial_log)  # a previous VM of that name: its lines are not this install's
    folder = tempfile.mkdtemp(prefix="brine-ks-")
    try:
        path = os.path.join(folder, "ks.cfg")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as out:
            out.write(kickstart)
        argv = virt_install_argv(spec, path, virt_type, serial_log)
        try:
            done = run(argv, capture_output=True, text=True, timeout=VIRT_INSTALL_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise Refused(
                "install_failed", f"virt-install did not start {name} within {VIRT_INSTALL_TIMEOUT} s"
            ) from None
        except OSError as err:
            raise Refused("install_failed", f"virt-install could not run: {err.strerror}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or "").splitlines() if line.strip()]
        raise Refused(
            "install_failed", f"virt-install refused {name}: {_clean_text(lines[-1] if lines else '')}"
        )
    dom = conn.lookupByName(name)
    volume = _first_disk(dom)
    set_marker(
        dom,
        "installing",
        live=dom.isActive(),
        keep="yes" if spec["keep_failed"] else "no",
        volume=volume,
        started=int(time.time()),
        progress=0,
    )
    return {"name": name, "uuid": dom.UUIDString(), "volume": volume, "serial_log": serial_log}


def _first_disk(dom):
    disks = domxml.parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))["disks"]
    paths = [d["path"] for d in disks if d.get("device") == "disk" and d.get("path")]
    return paths[0] if paths else None


# ---- What the installer said


def read_serial(text):
    """
    ``{"progress", "step", "outcome", "reason"}`` from the installer's serial lines so far:
    outcome ``done``, ``failed`` or None (still going, or silent).
    """
    report = {"progress": None, "step": None, "outcome": None, "reason": None}
    for raw in (text or "").splitlines():
        line = raw.strip()
        match = _PROGRESS_RE.match(line)
        if match:
            report["progress"] = min(int(match.group(1)), 100)
            report["step"] = _clean_text(match.group(2) or "", 120) or None
        elif line == _DONE:
            report.update(outcome="done", progress=100, step="done")
        else:
            failed = _FAILED_RE.match(line)
            if failed:
                report.update(outcome="failed", reason=_clean_text(failed.group(1)) or "the installer failed")
    return report


def read_serial_file(path, limit=1024 * 1024):
    """The last ``limit`` bytes of a serial log, as text ('' when there is none)."""
    try:
        with open(path, "rb") as log_file:
            log_file.seek(0, os.SEEK_END)
            size = log_file.tell()
            log_file.seek(max(0, size - limit))
            return log_file.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


# ---- Failed installs


def _record_path(folder, name):
    return os.path.join(folder, f"{name}.json")


def record_failure(folder, name, reason, kept):
    os.makedirs(folder, mode=0o700, exist_ok=True)
    record = {"name": name, "state": "failed", "reason": reason, "kept": bool(kept), "at": int(time.time())}
    tmp = _record_path(folder, name) + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
        json.dump(record, out)
    os.replace(tmp, _record_path(folder, name))
    return record


def records(folder):
    """The failed installs recorded on this host, oldest first."""
    found = []
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    for entry in names:
        if entry.endswith(".json"):
            try:
                with open(os.path.join(folder, entry), encoding="utf-8") as record:
                    found.append(json.load(record))
            except (OSError, ValueError):
                continue
    return sorted(found, key=lambda r: r.get("at", 0))


def forget(folder, name):
    """Remove the record of ``name``'s failed install; True when there was one."""
    try:
        os.unlink(_record_path(folder, name))
        return True
    except FileNotFoundError:
        return False
