"""brine.install: the install spec a host accepts, virt-install's argument list, the serial lines."""

import pytest

from brine import install
from brine.errors import Invalid

SPEC = {
    "name": "web1",
    "memory": 128,
    "vcpus": 1,
    "disk": 1,
    "pool": "default",
    "network": "lab",
    "mac": "52:54:00:ab:cd:ef",
    "url": "http://192.168.123.1:8090/tree/",
    "os_variant": "rhel9.0",
    "keep_failed": False,
}


def test_a_whole_spec_passes():
    assert install.check_spec(dict(SPEC)) == SPEC


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"name": "a;b"}, "not a valid VM name"),
        ({"pool": "../x"}, "pool"),
        ({"network": "lab net"}, "network"),
        ({"memory": 0}, "memory"),
        ({"disk": 10**9}, "disk"),
        ({"mac": "aa:bb:cc:dd:ee:ff"}, "mac"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "http://x/ a"}, "url"),
        ({"url": 'http://x/"'}, "url"),
        ({"keep_failed": "maybe"}, "keep_failed"),
        ({"extra": 1}, "exactly the fields"),
    ],
)
def test_a_bad_spec_is_refused(change, words):
    with pytest.raises(Invalid, match=words):
        install.check_spec(dict(SPEC, **change))


def test_virt_install_gets_an_argument_list_with_everything_in_its_place():
    argv = install.virt_install_argv(
        SPEC, "/tmp/brine-ks-x/ks.cfg", "qemu", "/var/log/libvirt/qemu/web1-serial.log"
    )
    assert argv[0] == "virt-install"
    pairs = dict(zip(argv[1::2], argv[2::2], strict=False))
    assert pairs["--name"] == "web1" and pairs["--memory"] == "128" and pairs["--virt-type"] == "qemu"
    assert pairs["--location"] == SPEC["url"] and pairs["--os-variant"] == "rhel9.0"
    assert pairs["--disk"] == "pool=default,size=1,format=qcow2,bus=virtio"
    assert pairs["--network"] == "network=lab,mac=52:54:00:ab:cd:ef,model=virtio"
    assert pairs["--initrd-inject"] == "/tmp/brine-ks-x/ks.cfg"
    assert "inst.ks=file:/ks.cfg" in pairs["--extra-args"]
    assert "log.file=/var/log/libvirt/qemu/web1-serial.log" in pairs["--serial"]
    assert "--noautoconsole" in argv


def test_the_serial_lines_an_installer_prints():
    report = install.read_serial(
        "SeaBIOS\r\nbrine-install: progress 10 reading the kickstart\r\n"
        "brine-install: progress 55 writing the disk\r\nnoise\n"
    )
    assert report == {"progress": 55, "step": "writing the disk", "outcome": None, "reason": None}
    assert install.read_serial("brine-install: progress 90 x\nbrine-install: done\n")["outcome"] == "done"
    failed = install.read_serial("brine-install: failed rootpw is not crypted\n")
    assert (failed["outcome"], failed["reason"]) == ("failed", "rootpw is not crypted")
    assert install.read_serial("brine-install: progress 400 x")["progress"] == 100
    assert install.read_serial("")["outcome"] is None


def test_what_an_installer_prints_is_cleaned_before_it_goes_anywhere():
    report = install.read_serial("brine-install: failed \x1b[31mbad\x07 thing")
    assert report["reason"] == "[31mbad  thing"
    assert len(install.read_serial("brine-install: failed " + "x" * 1000)["reason"] or "") <= 300


def test_failure_records(tmp_path):
    folder = str(tmp_path / "records")
    assert install.records(folder) == []
    install.record_failure(folder, "web1", "no url", kept=False)
    install.record_failure(folder, "web2", "no disk", kept=True)
    assert [(r["name"], r["reason"], r["kept"]) for r in install.records(folder)] == [
        ("web1", "no url", False),
        ("web2", "no disk", True),
    ]
    assert oct((tmp_path / "records" / "web1.json").stat().st_mode & 0o777) == "0o600"
    assert install.forget(folder, "web1") and not install.forget(folder, "web1")
