"""The lab for end-to-end tests: the master's event bus, and faults
injected into a lab host's libvirtd (killed and restarted inside the host's namespaces)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import salt.config
import salt.utils.event

from support.paths import REPO

if str(REPO / "lab") not in sys.path:
    sys.path.insert(0, str(REPO / "lab"))

import brinelab


@contextlib.contextmanager
def master_bus(lab):
    """Yield a listener on the lab master's event bus, subscribed before the caller acts."""
    opts = salt.config.master_config(str(lab.lab.master_conf_dir / "master"))
    with salt.utils.event.get_event("master", sock_dir=opts["sock_dir"], opts=opts, listen=True) as bus:
        bus.subscribe("brine/")
        yield EventLog(bus)


class BusRecorder:
    """
    Everything on the lab master's event bus while it is open (every tag: jobs' publications
    with their arguments, returns, Brine's events), as raw text, for tests that search it.
    """

    def __init__(self, lab):
        self.lab = lab
        self.texts = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)

    def _listen(self):
        opts = salt.config.master_config(str(self.lab.lab.master_conf_dir / "master"))
        with salt.utils.event.get_event("master", sock_dir=opts["sock_dir"], opts=opts, listen=True) as bus:
            bus.subscribe("")
            self._ready.set()
            while not self._stop.is_set():
                event = bus.get_event(wait=0.5, full=True, auto_reconnect=True)
                if event:
                    self.texts.append(f"{event.get('tag')} {json.dumps(event.get('data'), default=str)}")

    def __enter__(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join(5)

    @property
    def text(self):
        return "\n".join(self.texts)


def payload(data):
    """Brine's data of an event: a host's events arrive wrapped as Salt's minion events."""
    if isinstance(data, dict) and data.get("cmd") == "_minion_event" and isinstance(data.get("data"), dict):
        return data["data"]
    return data


class EventLog:
    """Events seen on the bus, kept so that a wait can look back at what came earlier."""

    def __init__(self, bus):
        self.bus = bus
        self.seen = []

    def wait_for(self, predicate, timeout=60, what="an event"):
        """The first (tag, data) seen, or arriving within ``timeout``, for which predicate is true."""
        for tag, data in self.seen:
            if predicate(tag, data):
                return tag, data
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self.bus.get_event(
                wait=min(1, deadline - time.monotonic()), full=True, auto_reconnect=True
            )
            if not event or not str(event.get("tag", "")).startswith("brine/"):
                continue
            item = (event["tag"], payload(event.get("data")))
            self.seen.append(item)
            if predicate(*item):
                return item
        raise AssertionError(f"{what} did not arrive within {timeout} s; saw {[t for t, _ in self.seen]}")

    def tags(self, prefix):
        return [tag for tag, _ in self.seen if tag.startswith(prefix)]


def kill_libvirtd(lab, host):
    """SIGKILL the host's libvirtd, as a crash would; its guests' QEMU processes keep running."""
    pid = lab.lab.libvirtd_pid(host)
    assert pid, f"libvirtd of {host} is not running"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while brinelab.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return pid


def start_libvirtd(lab, host):
    """Start the host's libvirtd again inside its namespaces (entered through its virtlogd)."""
    if lab.lab.libvirtd_pid(host):
        return
    run_dir = lab.lab.host_dir(host) / "run" / "libvirt"
    anchor = brinelab.read_pid(run_dir / "virtlogd.pid")
    assert anchor, f"virtlogd of {host} is not running either: the lab is broken"
    subprocess.run(
        [
            "nsenter",
            "-t",
            str(anchor),
            "-m",
            "-u",
            "-n",
            "--",
            "libvirtd",
            "-d",
            "--listen",
            "-p",
            "/run/libvirt/libvirtd.pid",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if lab.lab.libvirtd_pid(host):
            done = lab.lab.nsenter(host, "virsh", "-q", "-c", "qemu:///system", "list", check=False)
            if done.returncode == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"libvirtd of {host} did not come back")
