"""Benchmark: from "Create" to a running VM on the lab, beside virt-install by hand.

Brine: an operator's ``provision.create`` through the site (salt-api behind nginx, the hash
sealed as the browser sends it), timed from the call to its answer, to the first ``installing``
event on Brine's event stream and to the ``running`` event (installed, started from its disk).
Anchor: the same install by hand on the same host, the way a pile of virsh scripts does it:
``virt-install`` with the same arguments and kickstart (nsenter into the host), waiting for the
installer's ``done``, ``virsh start``, waiting for the installed system's ``ready`` line.
Prints each run, the medians and the ratio Brine / by hand. Never asserts a time.

Run as root:  .venv/bin/python bench/provision.py [--runs 3]
Holds /run/brine-e2e.lock (the lab is shared); brings the lab up when it is down (and leaves it
up). Each run's VM is removed afterwards, with its disk.
"""

import argparse
import fcntl
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "lab"), str(REPO / "_utils"), str(REPO / "tests")]
import brinelab  # noqa: E402  pylint: disable=wrong-import-position

from brine import install  # noqa: E402  pylint: disable=wrong-import-position
from brine import kickstart  # noqa: E402  pylint: disable=wrong-import-position
from support.provision_lab import install_events  # noqa: E402  pylint: disable=wrong-import-position
from support.provision_lab import make_catalog  # noqa: E402  pylint: disable=wrong-import-position
from support.provision_lab import remove_vm  # noqa: E402  pylint: disable=wrong-import-position
from support.provision_lab import serial_log  # noqa: E402  pylint: disable=wrong-import-position
from support.provision_lab import wait_for  # noqa: E402  pylint: disable=wrong-import-position
from support.provisioning import HASH  # noqa: E402  pylint: disable=wrong-import-position
from support.provisioning import seal_for_master  # noqa: E402  pylint: disable=wrong-import-position
from support.site import StreamReader  # noqa: E402  pylint: disable=wrong-import-position
from support.site import api_login  # noqa: E402  pylint: disable=wrong-import-position
from support.site import runner  # noqa: E402  pylint: disable=wrong-import-position

LOCK = "/run/brine-e2e.lock"
TIMEOUT = 300


class Handle:
    """What the test helpers need of the lab (tests/support/labfixtures.LabHandle's parts)."""

    def __init__(self, lab):
        state = lab.load_state()
        self.lab, self.url, self.hosts = lab, brinelab.URL, state["hosts"]
        credentials = json.loads(lab.credentials.read_text())
        self.users = {role: (c["username"], c["password"]) for role, c in credentials.items()}

    def virsh(self, host, *args):
        return self.lab.virsh(host, *args)


def through_brine(handle, name, operator, key):
    stream = StreamReader(handle, operator)
    try:
        started = time.monotonic()
        status, created = runner(handle, operator, "provision.create", name=name, host_group="lab-web",
                                 password_hash_sealed=seal_for_master(key, HASH))  # fmt: skip
        answered = time.monotonic() - started
        assert status == 200 and created.get("state") == "installing", created

        def seen(state):
            return any(event["state"] == state for event in install_events(stream, name))

        wait_for(lambda: seen("installing"), TIMEOUT, f"{name}: no installing event", pause=0.05)
        first = time.monotonic() - started
        wait_for(lambda: seen("running") or seen("failed"), TIMEOUT, f"{name}: never ended", pause=0.05)
        assert seen("running"), f"{name}'s install failed: {stream.text[-500:]}"
        return created["host"], {
            "answer": answered,
            "installing": first,
            "running": time.monotonic() - started,
        }
    finally:
        stream.close()


def by_hand(handle, name, host, plan):
    """virt-install and virsh in the host, as a script would: (seconds to the installed system)."""
    text = kickstart.render("rhel", {"name": name, "os_variant": "rhel9.0", "url": plan["url"],
                                     "repositories": plan["repositories"], "password_hash": HASH,
                                     "nics": [{"mac": plan["nics"][0]["mac"]}]})  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="brine-bench-ks-"))
    spec = dict(
        name=name, memory=128, vcpus=1, disk=1, pool="default", network="lab", mac=plan["nics"][0]["mac"],
        url=plan["url"], os_variant="rhel9.0", keep_failed=False,
    )  # fmt: skip
    try:
        (folder / "ks.cfg").write_text(text)
        argv = install.virt_install_argv(
            spec, str(folder / "ks.cfg"), "qemu", install.SERIAL_LOG.format(name=name)
        )
        started = time.monotonic()
        handle.lab.nsenter(host, *argv, timeout=TIMEOUT)
        wait_for(
            lambda: "brine-install: done" in serial_log(handle, host, name), TIMEOUT, "no done", pause=0.05
        )
        wait_for(
            lambda: "shut off" in handle.virsh(host, "domstate", name), TIMEOUT, "never stopped", pause=0.05
        )
        handle.virsh(host, "start", name)
        wait_for(lambda: "brine-installed:" in serial_log(handle, host, name), TIMEOUT, "no boot", pause=0.05)
        return time.monotonic() - started
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with open(LOCK, "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lab = brinelab.Lab()
        state = lab.load_state()
        if not state.get("hosts") or lab.problems(state):
            lab.up(2)
        handle = Handle(lab)
        make_catalog(handle, api_login(handle, "admin"))
        operator = api_login(handle, "operator")
        key = runner(handle, operator, "provision.sealing_key")[1]["key"]
        brine_runs, hand_runs = [], []
        for i in range(args.runs):
            name = f"bench-create-{i}"
            remove_vm(handle, name)
            host, times = through_brine(handle, name, operator, key)
            plan = runner(handle, operator, "provision.create", name=f"bench-hand-{i}", host=host,
                          host_group="lab-web", ssh_key=None, password_hash_sealed=seal_for_master(key, HASH),
                          test=True)[1]  # fmt: skip
            remove_vm(handle, name)
            hand = by_hand(handle, f"bench-hand-{i}", host, plan)
            remove_vm(handle, f"bench-hand-{i}")
            brine_runs.append(times)
            hand_runs.append(hand)
            print(
                f"  {i + 1}. Brine: answer {times['answer']:.2f} s, installing {times['installing']:.2f} s,"
                f" running {times['running']:.2f} s on {host}; by hand: {hand:.2f} s",
                flush=True,
            )
    brine = statistics.median(r["running"] for r in brine_runs)
    hand = statistics.median(hand_runs)
    print(f"\nCreate → running (TCG guest, 128 MiB, 1 GiB disk), median of {args.runs}:")
    print(f"  Brine (provision.create through the site, events):   {brine:6.2f} s")
    answer = statistics.median(r["answer"] for r in brine_runs)
    first = statistics.median(r["installing"] for r in brine_runs)
    print(f"    the call's answer                                  {answer:6.2f} s")
    print(f"    first 'installing' event                           {first:6.2f} s")
    print(f"  by hand (virt-install, wait, virsh start, wait):     {hand:6.2f} s")
    print(f"  ratio Brine / by hand:                               {brine / hand:6.2f}")


if __name__ == "__main__":
    main()
