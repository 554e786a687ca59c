"""
Golden files of the kickstart templates: each case renders one template for one representative
context, compares the text byte for byte with ``tests/unit/files/kickstart/<template>-<case>.ks``
and runs pykickstart's own ``ksvalidator`` on the file for the case's version.

After a deliberate change of a template, regenerate the files and review their diff:

    BRINE_REGEN_GOLDEN=1 .venv/bin/pytest -q tests/unit/test_kickstart_golden.py
    git diff tests/unit/files/kickstart/
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from brine import kickstart
from support.kickstarts import ECDSA384_KEY
from support.kickstarts import ED25519_KEY
from support.kickstarts import PASSWORD_HASH

GOLDEN = Path(__file__).resolve().parent / "files" / "kickstart"
REGENERATE = os.environ.get("BRINE_REGEN_GOLDEN") == "1"

CASES = {
    # Every field: two repositories, two NICs, hash and key, the Salt minion, a plain layout.
    "rhel-full": {
        "template": "rhel",
        "context": {
            "name": "web_01",
            "hostname": "web01.lab.example.com",
            "os_variant": "rhel9.4",
            "url": "http://mirror.example.com/rhel9/BaseOS/x86_64/os/",
            "repositories": [
                {"name": "appstream", "url": "http://mirror.example.com/rhel9/AppStream/x86_64/os/"},
                {"name": "nginx", "url": "https://nginx.example.com/rhel/9/$basearch/"},
            ],
            "nics": [
                {"mac": "52:54:00:AA:00:01", "network": "default"},
                {"mac": "52:54:00:aa:00:02", "device": "eth1"},
            ],
            "lang": "de_DE.UTF-8",
            "keyboard": "de-nodeadkeys",
            "timezone": "Europe/Berlin",
            "password_hash": PASSWORD_HASH,
            "ssh_key": ED25519_KEY,
            "packages": ["@^minimal-environment", "salt-minion", "-iwl7260-firmware"],
            "services": ["sshd", "chronyd"],
            "firewall": ["ssh", "http", "https"],
            "selinux": "enforcing",
            "partitioning": "plain",
            "disk": 40,
            "salt_master": "salt.lab.example.com",
            "minion_id": "web01.lab.example.com",
        },
    },
    # A key and no password (root locked), on RHEL 10, the firewall off, the defaults elsewhere.
    "rhel-keyonly": {
        "template": "rhel",
        "context": {
            "name": "db1",
            "os_variant": "almalinux10.0",
            "url": "https://repo.almalinux.org/almalinux/10/BaseOS/x86_64/os/",
            "nics": [{"mac": "52:54:00:12:34:56"}],
            "ssh_key": ECDSA384_KEY,
            "firewall": False,
            "disk": 20,
        },
    },
    # Fedora with the defaults.
    "rhel-fedora": {
        "template": "rhel",
        "context": {
            "name": "f40",
            "os_variant": "fedora40",
            "url": "https://dl.fedoraproject.org/pub/fedora/linux/releases/40/Everything/x86_64/os/",
            "password_hash": PASSWORD_HASH,
        },
    },
    "minimal-basic": {
        "template": "minimal",
        "context": {
            "name": "lab-vm1",
            "os_variant": "centos-stream9",
            "url": "http://10.0.0.1:8080/tree/",
            "repositories": [{"name": "brine-lab", "url": "http://10.0.0.1:8080/repo/"}],
            "nics": [{"mac": "52:54:00:00:00:01"}],
            "password_hash": PASSWORD_HASH,
            "ssh_key": ED25519_KEY,
            "packages": ["@core", "vim-minimal"],
        },
    },
}


def ksvalidator():
    """pykickstart's ``ksvalidator`` beside the Python that runs the tests (the project's .venv)."""
    beside = Path(sys.executable).parent / "ksvalidator"
    return str(beside) if beside.exists() else shutil.which("ksvalidator")


def test_every_template_has_a_golden_case_and_every_golden_file_a_case():
    assert {case["template"] for case in CASES.values()} == set(kickstart.template_names())
    assert all(name.startswith(case["template"] + "-") for name, case in CASES.items())
    assert sorted(path.stem for path in GOLDEN.glob("*.ks")) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_rendering_equals_its_golden_file(case):
    text = kickstart.render(CASES[case]["template"], CASES[case]["context"])
    path = GOLDEN / f"{case}.ks"
    if REGENERATE:
        path.write_bytes(text.encode())
    assert path.read_bytes() == text.encode()


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_golden_file_passes_ksvalidator_for_its_version(case):
    program = ksvalidator()
    assert program, "pykickstart's ksvalidator is not installed (requirements.txt)"
    version = kickstart.version_for(CASES[case]["context"]["os_variant"])
    result = subprocess.run(
        [program, "-v", version, str(GOLDEN / f"{case}.ks")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
