"""Live migration on the lab, through Salt as an operator's shell would do it
(``salt-run cluster.migrate``): a running guest moves hv1 -> hv2 and back without stopping,
faults (the target's libvirtd killed mid-way, an abort) leave it running on the source with
nothing on the target, and refusals come with clear errors before anything is touched.

Each check of where the guest runs reads the target, then the source, then the target again
with virsh inside the hosts' namespaces: "running on both" is only counted when the first
target read and the source read agree, "running nowhere" only when the source read and the
second target read agree, so the order of the reads cannot fake either.
"""

import json
import re
import subprocess
import threading
import time

import pytest

from support.lab import kill_libvirtd
from support.lab import master_bus
from support.lab import start_libvirtd

VM = "lab-vm1"
COUNTER = re.compile(rb"brine-counter (\d+)")
ACTIVE = ("running", "paused", "idle", "in shutdown")
# A migration slow enough to act on while it runs: 1 MiB/s for a guest with ~20 MiB in use.
SLOW = "bandwidth=1"


def salt_run_popen(lab, *args):
    program = brinelab_bin(lab, "salt-run")
    return subprocess.Popen(
        [program, "-c", str(lab.lab.master_conf_dir), "--out=json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def brinelab_bin(lab, name):
    import brinelab  # pylint: disable=import-outside-toplevel

    return str(brinelab.VENV_BIN / name)


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def runner_sentence(out):
    """The sentence of a runner's exception in salt-run's JSON output."""
    try:
        text = json.loads(out)
    except ValueError:
        return out.strip()
    return str(text).strip().splitlines()[-1]


def state_on(lab, host, vm=VM):
    done = lab.lab.nsenter(host, "virsh", "-q", "-c", "qemu:///system", "domstate", vm, check=False)
    return done.stdout.strip() if done.returncode == 0 else "absent"


def defined_names(lab, host):
    done = lab.lab.nsenter(
        host, "virsh", "-q", "-c", "qemu:///system", "list", "--all", "--name", check=False
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def last_counter(lab, host, vm=VM):
    path = lab.lab.host_dir(host) / "log" / "libvirt" / "qemu" / f"{vm}-serial.log"
    try:
        found = COUNTER.findall(path.read_bytes())
    except OSError:
        return None
    return int(found[-1]) if found else None


def wait_until(predicate, timeout=60, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen within {timeout} s")


class Watcher(threading.Thread):
    """Reads the guest's state on target, source, target again until stopped."""

    def __init__(self, lab, source, target):
        super().__init__(daemon=True)
        self.lab, self.source, self.target = lab, source, target
        self.checks = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            first = state_on(self.lab, self.target)
            source = state_on(self.lab, self.source)
            second = state_on(self.lab, self.target)
            self.checks.append((first, source, second))

    def stop(self):
        self.done.set()
        self.join(30)

    def assert_one_host_at_every_check(self):
        assert self.checks, "no check was made"
        for first, source, second in self.checks:
            assert not (first == "running" and source == "running"), f"running on both hosts: {self.checks}"
            assert source in ACTIVE or second in ACTIVE, f"running nowhere: {self.checks}"


def migration_events(bus, migration_id):
    return [
        tag.rsplit("/", 1)[1] for tag, _ in bus.seen if tag.startswith(f"brine/migration/{migration_id}/")
    ]


def where_is(lab):
    return {host: state_on(lab, host) for host in lab.hosts}


@pytest.fixture
def guest_home(lab):
    """lab-vm1 running on hv1 before the test, and put back there after it, whatever happened."""
    home = lab.vms[VM]
    for host in lab.hosts:
        start_libvirtd(lab, host)
    assert state_on(lab, home) == "running", where_is(lab)
    yield home
    for host in lab.hosts:
        start_libvirtd(lab, host)
    elsewhere = [host for host in lab.hosts if host != home and state_on(lab, host) == "running"]
    if elsewhere and state_on(lab, home) == "absent":
        lab.salt_run("cluster.migrate", VM, home, timeout=300)
    assert state_on(lab, home) == "running", where_is(lab)


def other_host(lab, host):
    return next(h for h in lab.hosts if h != host)


def test_migrate_a_running_guest_there_and_back(lab, guest_home):
    home = guest_home
    away = other_host(lab, home)
    for source, target in ((home, away), (away, home)):
        before = wait_until(lambda s=source: last_counter(lab, s), what=f"a counter on {source}")
        with master_bus(lab) as bus:
            watcher = Watcher(lab, source, target)
            watcher.start()
            code, out, err = finish(salt_run_popen(lab, "cluster.migrate", VM, target, "max_downtime=100"))
            watcher.stop()
            assert code == 0, out + err
            result = json.loads(out)
            assert (result["vm"], result["source"], result["target"]) == (VM, source, target), out
            assert result["vm_info"]["state"] == "running" and result["vm_info"]["host"] == target
            _, done = bus.wait_for(
                lambda tag, _d, i=result["id"]: tag == f"brine/migration/{i}/done", what="the done event"
            )
            assert done["total_time"] > 0 and done["downtime"] is not None
            assert done["source"] == source and done["target"] == target
            assert migration_events(bus, result["id"])[0] == "started"
            # What the UI moves the VM between hosts with: the engines' lifecycle events on both
            # hosts, and the source's job-completed event with libvirt's statistics.
            bus.wait_for(
                lambda tag, d, t=target: (
                    tag == f"brine/vm/{t}/{VM}/state"
                    and d.get("event") in ("started", "resumed")
                    and d.get("detail") == "migrated"
                ),
                what=f"{VM} started on {target}",
            )
            bus.wait_for(
                lambda tag, d, s=source: (
                    tag == f"brine/vm/{s}/{VM}/state"
                    and (d.get("event"), d.get("detail")) == ("stopped", "migrated")
                ),
                what=f"{VM} stopped on {source}",
            )
            _, job = bus.wait_for(
                lambda tag, d, s=source: (
                    tag == f"brine/vm/{s}/{VM}/job" and d.get("event") == "job_completed"
                ),
                what="the job completed event",
            )
            assert "time_elapsed" in job["stats"]
        watcher.assert_one_host_at_every_check()
        assert state_on(lab, target) == "running"
        assert state_on(lab, source) == "absent"  # undefined on the source after success
        # The guest kept counting on the target: no reboot, no gap back to zero.
        wait_until(
            lambda t=target, b=before: (last_counter(lab, t) or 0) > b + 1,
            60,
            f"the counter on {target} going past {before}",
        )


def test_killing_the_target_libvirtd_mid_migration_leaves_the_vm_on_the_source(lab, guest_home):
    source, target = guest_home, other_host(lab, guest_home)
    with master_bus(lab) as bus:
        proc = salt_run_popen(lab, "cluster.migrate", VM, target, SLOW)
        try:
            _, progress = bus.wait_for(
                lambda tag, d: (
                    tag.startswith("brine/migration/") and tag.endswith("/progress") and d.get("vm") == VM
                ),
                timeout=120,
                what="a progress event",
            )
            assert progress["data_total"] > 0 and 0 <= progress["percent"] <= 100
            kill_libvirtd(lab, target)
            code, out, err = finish(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
            start_libvirtd(lab, target)
        assert code != 0, out
        error = out + err
        print("runner error:", runner_sentence(out))
        assert f"migration of {VM} to {target}" in error and f"{VM} is running on {source}" in error, error
        _, failed = bus.wait_for(
            lambda tag, _d, i=progress["id"]: tag == f"brine/migration/{i}/failed", what="the failed event"
        )
        assert failed["aborted"] is False and failed["error"]
    assert state_on(lab, source) == "running"
    # After its restart the target's libvirtd drops the half-arrived domain: nothing stays.
    wait_until(lambda: VM not in defined_names(lab, target), 60, f"{VM} gone from {target}")
    assert "running" in where_is(lab)[source]


def test_abort_mid_way_leaves_the_vm_on_the_source(lab, guest_home):
    source, target = guest_home, other_host(lab, guest_home)
    with master_bus(lab) as bus:
        proc = salt_run_popen(lab, "cluster.migrate", VM, target, SLOW)
        try:
            _, progress = bus.wait_for(
                lambda tag, d: tag.endswith("/progress") and d.get("vm") == VM,
                timeout=120,
                what="a progress event",
            )
            # A second migration of the same VM is refused while this one runs, not queued.
            second = lab.salt_run("cluster.migrate", VM, target)
            assert "already being migrated" in second.stdout + second.stderr
            aborted = lab.salt_run("--out=json", "cluster.migration_abort", VM)
            assert json.loads(aborted.stdout) == {
                "id": progress["id"],
                "vm": VM,
                "source": source,
                "target": target,
                "aborted": True,
            }
            code, out, err = finish(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert code != 0 and f"the migration of {VM} to {target} was aborted" in out + err
        _, failed = bus.wait_for(
            lambda tag, _d, i=progress["id"]: tag == f"brine/migration/{i}/failed", what="the failed event"
        )
        assert failed["aborted"] is True
    assert state_on(lab, source) == "running"
    assert VM not in defined_names(lab, target)


@pytest.mark.parametrize(
    "args,expected",
    [
        (("no-such-vm", "hv2"), "no VM named no-such-vm on any hypervisor host"),
        ((VM, "hv9"), "hv9 is not a hypervisor host Brine knows"),
        ((VM, "hv1"), f"{VM} is already on hv1"),
        ((f"{VM};reboot", "hv2"), "is not a valid VM name"),
        (("../lab-vm1", "hv2"), "is not a valid VM name"),
        (("$(reboot)", "hv2"), "is not a valid VM name"),
        ((VM, "hv2;reboot"), "is not a valid host name"),
        ((VM, "../../etc/passwd"), "is not a valid host name"),
        (("lab-vm3", "hv2"), "lab-vm3 is not running, so only its definition can move"),
    ],
)
def test_refusals_say_why(lab, guest_home, args, expected):
    before = where_is(lab)
    done = lab.salt_run("cluster.migrate", *args)
    assert expected in done.stdout + done.stderr
    assert where_is(lab) == before


def test_a_target_without_capacity_is_refused(lab, guest_home):
    """hv2 is told to keep (reserve) more memory than it has, so a 128 MiB guest no longer fits."""
    target = other_host(lab, guest_home)
    grain = json.dumps({"capacity": {"reserved_memory": 10**12}})
    assert lab.salt(target, "grains.setval", "brine", grain).returncode == 0
    try:
        check = lab.salt_run("--out=json", "cluster.migration_check", VM, target)
        verdict = json.loads(check.stdout)[target]
        assert verdict["eligible"] is False
        assert any("of memory left for VMs" in reason for reason in verdict["reasons"]), verdict
        refused = lab.salt_run("cluster.migrate", VM, target)
        assert f"{target} cannot take {VM}" in refused.stdout + refused.stderr
    finally:
        # A dict grain goes only with force=True.
        lab.salt(target, "grains.delkey", "brine", "force=True")
        assert "reserved_memory" not in lab.salt(target, "grains.get", "brine").stdout
    assert json.loads(lab.salt_run("--out=json", "cluster.migration_check", VM, target).stdout)[target][
        "eligible"
    ]
    assert state_on(lab, guest_home) == "running" and VM not in defined_names(lab, target)


def test_targets_for_a_drag(lab, guest_home):
    targets = json.loads(lab.salt_run("--out=json", "cluster.migration_targets", VM).stdout)
    assert set(targets) == set(lab.hosts)
    assert targets[guest_home] == {
        "eligible": False,
        "reasons": [f"{VM} is already on {guest_home}"],
        "offers": [],
    }
    assert all(targets[h]["eligible"] for h in lab.hosts if h != guest_home), targets
    stopped = json.loads(lab.salt_run("--out=json", "cluster.migration_targets", "lab-vm3").stdout)
    away = other_host(lab, lab.vms["lab-vm3"])
    assert stopped[away]["offers"] == ["offline"] and not stopped[away]["eligible"]


def test_offline_migration_moves_the_definition_of_a_stopped_vm(lab):
    vm, home = "lab-vm3", lab.vms["lab-vm3"]
    away = other_host(lab, home)
    assert state_on(lab, home, vm) == "shut off"
    try:
        for source, target in ((home, away), (away, home)):
            done = lab.salt_run("--out=json", "cluster.migrate", vm, target, "offline=True", timeout=300)
            result = json.loads(done.stdout)
            assert (result["source"], result["target"]) == (source, target), done.stdout
            assert state_on(lab, target, vm) == "shut off" and state_on(lab, source, vm) == "absent"
    finally:
        if state_on(lab, home, vm) == "absent" and state_on(lab, away, vm) == "shut off":
            lab.salt_run("cluster.migrate", vm, home, "offline=True", timeout=300)
    assert state_on(lab, home, vm) == "shut off"
