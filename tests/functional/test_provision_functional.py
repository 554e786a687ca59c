"""
Functional tests of provisioning on a host against real libvirt (``test:///default``): the
``provision`` module's capacity answer through Salt's loader, starting an install (the
kickstart's private file, the marker), and following it to its end (``brine.install_follow``:
progress into the marker, done → started from disk, failed → removed with a record, or kept).
virt-install itself runs on the lab (tests/e2e/test_provision.py).
"""

import os
import stat

import libvirt
import pytest
from saltfactories.utils import random_string

from brine import install
from brine import install_follow

HOST = "hv-test"


@pytest.fixture
def serial_logs(tmp_path, monkeypatch):
    monkeypatch.setattr(install, "SERIAL_LOG", str(tmp_path / "{name}-serial.log"))
    return tmp_path


@pytest.fixture
def records_dir(tmp_path):
    return str(tmp_path / "records")


@pytest.fixture
def test_pool(libvirt_conn, tmp_path):
    target = tmp_path / "pool"
    target.mkdir()
    created = libvirt_conn.storagePoolCreateXML(
        f"<pool type='dir'><name>{random_string('pool-', uppercase=False)}</name>"
        f"<target><path>{target}</path></target></pool>",
        0,
    )
    yield created
    for volume in created.listAllVolumes(0):
        volume.delete(0)
    created.destroy()


@pytest.fixture
def new_vm(libvirt_conn, test_pool):
    """A defined, shut-off VM with a volume of its own, as virt-install leaves one; removed after."""
    names = []

    def make(running=False):
        name = random_string("inst-", uppercase=False)
        names.append(name)
        volume = test_pool.createXML(
            f"<volume><name>{name}.qcow2</name><capacity unit='MiB'>64</capacity>"
            "<target><format type='qcow2'/></target></volume>",
            0,
        )
        dom = libvirt_conn.defineXML(
            f"<domain type='test'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
            "<os><type>hvm</type></os><devices><disk type='file' device='disk'>"
            f"<driver name='qemu' type='qcow2'/><source file='{volume.path()}'/>"
            "<target dev='vda' bus='virtio'/></disk></devices></domain>"
        )
        if running:
            dom.create()
        return dom, volume.path()

    yield make
    for name in names:
        try:
            dom = libvirt_conn.lookupByName(name)
        except libvirt.libvirtError:
            continue
        if dom.isActive():
            dom.destroy()
        dom.undefine()


def volume_exists(conn, path):
    """The test driver's volumes live in libvirt only: ask it, not the file system."""
    try:
        conn.storageVolLookupByPath(path)
        return True
    except libvirt.libvirtError:
        return False


def say(serial_logs, dom, *lines):
    (serial_logs / f"{dom.name()}-serial.log").write_text("".join(f"{line}\n" for line in lines))


def test_capacity_through_the_loader(modules):
    ret = modules.provision.capacity(
        {"name": "new-vm", "memory": 128, "vcpus": 1, "disk": 1, "network": "default", "pool": "default-pool"}
    )
    assert sorted(ret) == ["free_memory", "host", "problems"]
    assert isinstance(ret["free_memory"], int) and ret["free_memory"] >= 0
    codes = {p["code"] for p in ret["problems"]}
    assert codes <= {"memory", "pool"}  # the test driver's host is small; its network is there
    taken = modules.provision.capacity(
        {"name": "test", "memory": 128, "vcpus": 1, "disk": 1, "network": "default", "pool": "default-pool"}
    )
    assert [p["code"] for p in taken["problems"]] == ["name_taken"]  # the test driver's own VM
    missing = modules.provision.capacity(
        {"name": "fresh", "memory": 128, "vcpus": 1, "disk": 1, "network": "nope", "pool": "nope"}
    )
    assert {p["code"] for p in missing["problems"]} >= {"network", "pool"}


@pytest.mark.parametrize(
    "needs",
    [None, {"name": "x"}, {"name": "a;b", "memory": 1, "vcpus": 1, "disk": 1, "network": "n", "pool": "p"}],
)
def test_capacity_refuses_malformed_needs(modules, needs):
    with pytest.raises(Exception, match="invalid_argument"):
        modules.provision.capacity(needs)


def test_starting_an_install_keeps_the_kickstart_private_and_marks_the_domain(
    libvirt_conn, test_pool, serial_logs
):
    name = random_string("start-", uppercase=False)
    spec = {
        "name": name, "memory": 128, "vcpus": 1, "disk": 1, "pool": test_pool.name(), "network": "default",
        "mac": "52:54:00:01:02:03", "url": "http://tree.lab/el9/", "os_variant": "rhel9.0",
        "keep_failed": False,
    }  # fmt: skip
    seen = {}

    def fake_virt_install(argv, **kwargs):
        """Stands in for virt-install: checks the kickstart file as it finds it, defines the VM."""
        path = argv[argv.index("--initrd-inject") + 1]
        seen["mode"] = stat.S_IMODE(os.stat(path).st_mode)
        seen["text"] = open(path, encoding="utf-8").read()
        seen["argv"] = argv
        libvirt_conn.defineXML(
            f"<domain type='test'><name>{name}</name><memory unit='MiB'>128</memory>"
            "<os><type>hvm</type></os></domain>"
        ).create()

        class Done:
            returncode, stderr = 0, ""

        return Done()

    started = install.start(libvirt_conn, spec, "rootpw --iscrypted $6$x$y\n", "qemu", run=fake_virt_install)
    try:
        path = seen["argv"][seen["argv"].index("--initrd-inject") + 1]
        assert seen["mode"] == 0o600 and seen["text"].startswith("rootpw") and not os.path.exists(path)
        assert "$6$" not in " ".join(seen["argv"])
        assert seen["argv"][:2] == ["virt-install", "--connect"] and "inst.ks=file:/ks.cfg" in " ".join(
            seen["argv"]
        )
        dom = libvirt_conn.lookupByName(name)
        assert install.marker(dom, inactive=True)["state"] == "installing"
        assert install.marker(dom, inactive=False)["keep"] == "no"
        assert started["name"] == name
        # A second install of the same name is refused before virt-install runs.
        with pytest.raises(Exception, match="vm_exists"):
            install.start(libvirt_conn, spec, "x", "qemu", run=None)
    finally:
        dom = libvirt_conn.lookupByName(name)
        dom.destroy()
        dom.undefine()


def test_virt_install_failing_is_install_failed_and_removes_the_kickstart(libvirt_conn, serial_logs):
    spec = {
        "name": random_string("fail-", uppercase=False), "memory": 128, "vcpus": 1, "disk": 1, "pool": "p",
        "network": "n", "mac": "52:54:00:01:02:03", "url": "http://tree.lab/", "os_variant": "rhel9.0",
        "keep_failed": False,
    }  # fmt: skip
    paths = []

    def failing(argv, **kwargs):
        paths.append(argv[argv.index("--initrd-inject") + 1])

        class Done:
            returncode, stderr = (
                1,
                "ERROR    Error validating install location: Could not find an installable distribution\n",
            )

        return Done()

    with pytest.raises(Exception, match=r"\[install_failed\].*installable distribution"):
        install.start(libvirt_conn, spec, "text", "qemu", run=failing)
    assert not os.path.exists(paths[0])


def test_progress_goes_into_the_marker_and_an_event_once(libvirt_conn, new_vm, serial_logs, records_dir):
    dom, volume = new_vm(running=True)
    install.set_marker(dom, "installing", live=True, keep="no", volume=volume, progress=0)
    say(
        serial_logs,
        dom,
        "booting",
        "brine-install: progress 10 reading the kickstart",
        "brine-install: progress 40 writing the disk",
    )
    payload = install_follow.check(libvirt_conn, dom, HOST, records_dir)
    assert payload == install_follow.event(HOST, dom.name(), "installing", 40, "writing the disk")
    assert install.marker(dom, inactive=False)["progress"] == "40"
    assert install_follow.check(libvirt_conn, dom, HOST, records_dir) is None  # nothing new
    assert [d.name() for d in install_follow.installing(libvirt_conn)].count(dom.name()) == 1


def test_done_clears_the_marker_and_starts_the_vm_from_its_disk(
    libvirt_conn, new_vm, serial_logs, records_dir
):
    dom, volume = new_vm()
    install.set_marker(dom, "installing", live=False, keep="no", volume=volume)
    say(serial_logs, dom, "brine-install: progress 90 finishing", "brine-install: done")
    payload = install_follow.check(libvirt_conn, dom, HOST, records_dir)
    assert payload["state"] == "running" and payload["progress"] == 100
    assert dom.isActive() and install.marker(dom) is None


def test_a_failed_install_is_removed_with_its_volume_and_recorded(
    libvirt_conn, new_vm, serial_logs, records_dir
):
    dom, volume = new_vm()
    name = dom.name()
    assert volume_exists(libvirt_conn, volume)
    install.set_marker(dom, "installing", live=False, keep="no", volume=volume)
    say(serial_logs, dom, "brine-install: failed the kickstart has no url")
    payload = install_follow.check(libvirt_conn, dom, HOST, records_dir)
    assert payload == install_follow.event(HOST, name, "failed", reason="the kickstart has no url")
    assert name not in [d.name() for d in libvirt_conn.listAllDomains(0)]
    assert not volume_exists(libvirt_conn, volume)
    assert [(r["name"], r["reason"], r["kept"]) for r in install.records(records_dir)] == [
        (name, "the kickstart has no url", False)
    ]
    assert install.forget(records_dir, name) and install.records(records_dir) == []


def test_a_silent_power_off_is_a_failure_too(libvirt_conn, new_vm, serial_logs, records_dir):
    dom, volume = new_vm()
    install.set_marker(dom, "installing", live=False, keep="no", volume=volume)
    payload = install_follow.check(libvirt_conn, dom, HOST, records_dir)
    assert payload["state"] == "failed" and "without reporting" in payload["reason"]


def test_a_failed_install_asked_to_be_kept_stays_marked_failed(
    libvirt_conn, new_vm, serial_logs, records_dir
):
    dom, volume = new_vm()
    install.set_marker(dom, "installing", live=False, keep="yes", volume=volume)
    say(serial_logs, dom, "brine-install: failed no disk")
    payload = install_follow.check(libvirt_conn, dom, HOST, records_dir)
    assert payload["state"] == "failed"
    assert install.marker(dom)["state"] == "failed" and volume_exists(libvirt_conn, volume)
    assert install.records(records_dir)[0]["kept"] is True
    # Not installing any more: the engine leaves it alone from now on.
    assert install_follow.check(libvirt_conn, dom, HOST, records_dir) is None


def test_installs_lists_installing_domains_and_failure_records(
    modules, libvirt_conn, new_vm, monkeypatch, tmp_path
):
    monkeypatch.setattr(install, "RECORDS_DIR", str(tmp_path / "records"))
    dom, volume = new_vm(running=True)
    install.set_marker(dom, "installing", live=True, keep="no", volume=volume, progress=30, step="copying")
    install.record_failure(str(tmp_path / "records"), "gone-vm", "no url", kept=False)
    ret = modules.provision.installs()
    assert {"name": dom.name(), "progress": 30, "step": "copying"} in ret["installing"]
    assert [(f["name"], f["reason"]) for f in ret["failed"]] == [("gone-vm", "no url")]
    assert modules.provision.dismiss("gone-vm")["changed"] is True
    assert modules.provision.installs()["failed"] == []


def test_the_engine_follows_only_installing_domains_and_lets_go_at_the_end(
    libvirt_conn, new_vm, serial_logs, records_dir
):
    from support.loading import load

    engine = load("_engines/brine_installs.py", "brine_installs_engine")
    fired = []
    follower = engine.Follower(
        HOST, "test:///default", lambda tag, data: fired.append((tag, data)), 1, records_dir
    )
    installing, _ = new_vm(running=True)
    finished, volume = new_vm()
    plain, _ = new_vm(running=True)
    install.set_marker(installing, "installing", live=True, keep="no", progress=0)
    install.set_marker(finished, "installing", live=False, keep="no", volume=volume)
    say(serial_logs, installing, "brine-install: progress 30 copying")
    say(serial_logs, finished, "brine-install: done")
    assert {d.name() for d in engine.install_follow.installing(libvirt_conn)} >= {
        installing.name(),
        finished.name(),
    }
    still = follower.look(libvirt_conn, [installing, finished, plain])
    assert still == {installing.name()}  # finished is running from its disk now, plain was never ours
    assert finished.isActive() and install.marker(finished) is None
    assert [(t.rsplit("/", 2)[-2], d["state"]) for t, d in fired] == [
        (installing.name(), "installing"),
        (finished.name(), "running"),
    ]
