"""
The kvm formula applied for real to a clean Debian 12 host (a debootstrapped root run in its own
namespaces, see hostroot.py), masterless with ``salt-call --local state.apply kvm``:

- the first apply installs libvirt and QEMU from the Debian mirror, writes the configuration,
  starts virtlogd and libvirtd, sets the sysctls, mounts hugetlbfs and syncs Brine's extensions;
- libvirtd runs with the formula's qemu.conf: a TCG guest defined and started there gets its VNC
  listener on the address the pillar chose;
- a second apply changes nothing, and ``test=True`` afterwards has nothing to do;
- ``kvm.clean`` undoes it: daemons stopped, files and packages removed.

The host shares the machine's network namespace (apt needs the mirror), so its pillar sets the
bridge sysctls to the values the machine already has: the test must not change the shared
machine's kernel settings. Takes about a minute with the package cache warm, a few without.
"""

import json
import os
import time

import pytest

from support import hostroot

pytestmark = [pytest.mark.hostroot, pytest.mark.timeout(1800)]

VNC_ADDRESS = "127.0.0.3"
GUEST = "brine-hostroot-vm"
GUEST_XML = hostroot.guest_xml(GUEST)


def machine_sysctl(key):
    with open("/proc/sys/" + key.replace(".", "/"), encoding="utf-8") as handle:
        return int(handle.read().split()[0])


def pillar():
    keys = [
        "vm.swappiness",
        "net.bridge.bridge-nf-call-iptables",
        "net.bridge.bridge-nf-call-ip6tables",
        "net.bridge.bridge-nf-call-arptables",
    ]
    values = {k: machine_sysctl(k) for k in keys if os.path.exists("/proc/sys/" + k.replace(".", "/"))}
    return {
        "kvm": {
            "tls": {"enabled": False},
            "qemu": {"vnc_listen": VNC_ADDRESS},
            "sysctl": {"values": values},
            "hugepages": {"enabled": True},
            # No bootloader in this root: the drop-in is written, update-grub is skipped, a notice
            # says a reboot is due.
            "kernel": {"cmdline": ["brine.test=1"]},
            # Salt here is the test's own virtual environment, which has saltext-virt from
            # requirements.txt: no pip into it.
            "python_packages": {"bin_env": None},
        }
    }


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    hostroot.require()
    machine_before = {
        k: machine_sysctl(k)
        for k in ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-arptables")
        if os.path.exists("/proc/sys/" + k.replace(".", "/"))
    }
    node = hostroot.Host("brinehost1", tmp_path_factory.mktemp("hostroot")).start()
    try:
        node.write("/srv/pillar/kvm.sls", json.dumps(pillar()))
        # As an installer would for a host where systemd is not PID 1 (see kvm/map.jinja).
        node.salt_config(["kvm"], extra="disable_modules:\n  - systemd_service")
        yield node
    finally:
        node.stop()
        assert {k: machine_sysctl(k) for k in machine_before} == machine_before


@pytest.fixture(scope="module")
def first_apply(host):
    started = time.monotonic()
    result = host.salt_call("state.apply", "kvm")
    print(f"first apply: {time.monotonic() - started:.1f} s")
    ret = hostroot.states(result)
    failed = {k: v["comment"] for k, v in ret.items() if v["result"] is not True}
    assert not failed and result.returncode == 0, failed
    return ret


def test_first_apply_installs_configures_and_starts(host, first_apply):
    assert first_apply["kvm-package-install-pkg-installed"]["changes"]
    assert "libvirt-daemon-system-sysv" in first_apply["kvm-package-install-pkg-installed"]["changes"]
    for state_id in (
        "kvm-config-file-libvirtd-conf-file-managed",
        "kvm-config-file-qemu-conf-file-managed",
        "kvm-service-running-libvirtd-service-running",
        "kvm-hugepages-mount-mounted",
        "kvm-minion-snippet-file-managed",
        "kvm-minion-saltutil-sync_all",
    ):
        assert first_apply[state_id]["changes"], state_id
    processes = host.exec("ps", "-eo", "args").stdout
    assert "/usr/sbin/libvirtd" in processes and "/usr/sbin/virtlogd" in processes
    assert 'vnc_listen = "127.0.0.3"' in host.exec("cat", "/etc/libvirt/qemu.conf").stdout
    assert "hugetlbfs /dev/hugepages hugetlbfs" in host.exec("cat", "/proc/mounts").stdout
    snippet = host.exec("cat", "/etc/salt/minion.d/brine-kvm.conf").stdout
    assert "brine_events" in snippet and "brine_installs" in snippet
    # Installs (docs/provisioning.md): virt-install from the formula's packages.
    assert host.exec("test", "-x", "/usr/bin/virt-install").returncode == 0
    dropin = host.exec("cat", "/etc/default/grub.d/60-brine-kvm.cfg").stdout
    assert 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT brine.test=1"' in dropin
    assert not first_apply["kvm-kernel-update-grub-cmd-run"]["changes"]
    assert "reboot" in first_apply["kvm-kernel-reboot-test-show_notification"]["comment"]
    synced = host.exec("ls", "/var/cache/salt/minion/extmods/modules").stdout.split()
    assert "hypervisor.py" in synced and "provision.py" in synced


def test_guest_starts_with_the_formulas_qemu_conf(host, first_apply):  # pylint: disable=unused-argument
    host.write("/root/guest.xml", GUEST_XML)
    virsh = ("virsh", "-q", "-c", "qemu:///system")
    host.exec(*virsh, "define", "/root/guest.xml")
    try:
        host.exec(*virsh, "start", GUEST)
        assert host.exec(*virsh, "domstate", GUEST).stdout.strip() == "running"
        live = host.exec(*virsh, "dumpxml", GUEST).stdout
        assert f"listen='{VNC_ADDRESS}'" in live, live
        qemu = [
            line
            for line in host.exec("ps", "-eo", "user:20,args").stdout.splitlines()
            if "qemu-system-x86_64" in line and GUEST in line
        ]
        assert qemu and qemu[0].split()[0] == "libvirt-qemu", qemu
    finally:
        host.exec(*virsh, "destroy", GUEST, check=False)
        host.exec(*virsh, "undefine", GUEST, check=False)


def test_second_apply_changes_nothing(host, first_apply):  # pylint: disable=unused-argument
    ret = hostroot.states(host.salt_call("state.apply", "kvm"))
    changed = {k: v["changes"] for k, v in ret.items() if v["changes"]}
    assert changed == {}
    assert all(v["result"] is True for v in ret.values())


def test_test_mode_afterwards_has_nothing_to_do(host, first_apply):  # pylint: disable=unused-argument
    ret = hostroot.states(host.salt_call("state.apply", "kvm", "test=True"))
    pending = {k: v["comment"] for k, v in ret.items() if v["result"] is not True or v["changes"]}
    assert pending == {}


def test_clean_undoes_the_formula(host, first_apply):  # pylint: disable=unused-argument
    """Last: kvm.clean stops the daemons, removes the formula's files and the packages."""
    ret = hostroot.states(host.salt_call("state.apply", "kvm.clean"))
    failed = {k: v["comment"] for k, v in ret.items() if v["result"] is not True}
    assert not failed, failed
    processes = host.exec("ps", "-eo", "args").stdout
    assert "/usr/sbin/libvirtd" not in processes and "/usr/sbin/virtlogd" not in processes
    for path in (
        "/etc/libvirt/qemu.conf",
        "/etc/sysctl.d/60-brine-kvm.conf",
        "/etc/salt/minion.d/brine-kvm.conf",
    ):
        assert not host.path(path).exists(), path
    assert host.exec("dpkg-query", "-W", "-f", "${Status}", "libvirt-daemon-system", check=False).stdout in (
        "",
        "deinstall ok config-files",
    )
