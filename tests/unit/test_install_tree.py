"""
The lab's install tree (lab/install_tree.py) and its installer's kickstart reader
(lab/installer/kickstart.awk): the .treeinfo virt-install and the installer read, and the
kickstarts the installer takes or refuses, run with busybox as the installer runs them.
"""

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from support.paths import REPO

sys.path.insert(0, str(REPO / "lab"))
try:
    import install_tree
finally:
    sys.path.remove(str(REPO / "lab"))

INSTALLER = REPO / "lab" / "installer"
BUSYBOX = shutil.which("busybox")
needs_busybox = pytest.mark.skipif(not BUSYBOX, reason="busybox is not installed (setup.sh installs it)")

US = "\x1f"  # the separator of fields in the reader's facts
HASH = "$6$rounds=5000$salt$Ab/cd.EF0123456789"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrine root@lab"
GOOD = f"""# a kickstart as Brine renders them
text
url --url=http://10.77.0.1:8090/
repo --name=appstream --baseurl=http://10.77.0.1:8090/AppStream  # a comment
repo --name "extras" --baseurl http://10.77.0.1:8090/extras
lang en_US.UTF-8
keyboard --vckeymap=us --xlayouts='us'
timezone Europe/Berlin --utc
network --device=52:54:00:12:34:56 --bootproto=dhcp --activate
network --hostname=t1.lab
rootpw --iscrypted '{HASH}'
user --name=admin --groups=wheel,adm --iscrypted --password={HASH}
sshkey --username=root "{KEY}"
sshkey --username=admin "{KEY}"
bootloader --append="panic=10"
zerombr
clearpart --all --initlabel
autopart
%packages --ignoremissing
@^minimal-environment
# not a package
vim-minimal
-iwl*
%end
%post --log=/root/post.log
echo "{{{{7*7}}}}" > /etc/motd
# kept
%end
reboot
"""


def read(tmp_path, text):
    """Run the installer's kickstart reader on ``text``: (exit status, {fact: text}, output)."""
    (tmp_path / "ks.cfg").write_text(text)
    out = tmp_path / "facts"
    result = subprocess.run(
        [BUSYBOX, "sh", str(INSTALLER / "kickstart.sh"), str(tmp_path / "ks.cfg"), str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    facts = {path.name: path.read_text() for path in out.iterdir()} if out.exists() else {}
    return result.returncode, facts, result.stdout + result.stderr


def test_treeinfo_names_the_kernel_and_initrd_for_virt_install_and_the_installer():
    text = install_tree.treeinfo({"images/pxeboot/vmlinuz": "ab" * 32}, 1700000000)
    parsed = configparser.ConfigParser()
    parsed.read_string(text)
    assert parsed["header"]["type"] == "productmd.treeinfo"
    assert dict(parsed["general"]) == {
        "name": "Brine Lab 1.0",
        "family": "Brine Lab",
        "version": "1.0",
        "arch": "x86_64",
        "platforms": "x86_64",
        "timestamp": "1700000000",
    }
    assert dict(parsed["images-x86_64"]) == {
        "kernel": "images/pxeboot/vmlinuz",
        "initrd": "images/pxeboot/initrd.img",
    }
    assert parsed["brine"]["system_initrd"] == "images/brine/system.img"
    assert parsed["checksums"]["images/pxeboot/vmlinuz"] == "sha256:" + "ab" * 32
    # No family virt-install knows: its generic .treeinfo class takes the tree as it is.
    for known in ("Fedora", "Red Hat Enterprise Linux|RHEL", "CentOS", "Scientific", "SUSE", "openSUSE"):
        assert not re.match(f".*({known}).*", parsed["general"]["family"])


def test_the_tree_is_rebuilt_when_an_installer_file_changes(tmp_path, monkeypatch):
    copy = tmp_path / "installer"
    shutil.copytree(INSTALLER, copy)
    monkeypatch.setattr(install_tree, "INSTALLER", copy)
    before = install_tree.recipe_digest()
    with open(copy / "install.sh", "a", encoding="utf-8") as script:
        script.write("# changed\n")
    assert install_tree.recipe_digest() != before


@pytest.mark.skipif(not shutil.which("virt-install"), reason="virt-install (virtinst) is not installed")
def test_virt_install_finds_the_kernel_and_initrd_with_a_rhel_variant(tmp_path):
    tree = tmp_path / "tree"
    for path in (install_tree.KERNEL, install_tree.INITRD):
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_bytes(b"stand-in")
    (tree / ".treeinfo").write_text(install_tree.treeinfo({}, 0))
    (tmp_path / "ks.cfg").write_text("url --url=http://x/\n")
    args = ["--connect", "test:///default", "--name", "t1", "--memory", "128", "--vcpus", "1"]
    args += ["--location", str(tree), "--os-variant", "rhel9.0", "--disk", "none", "--network", "none"]
    args += ["--graphics", "none", "--initrd-inject", str(tmp_path / "ks.cfg")]
    args += ["--extra-args", "inst.ks=file:/ks.cfg console=ttyS0", "--print-xml", "1", "--debug"]
    result = subprocess.run(
        ["virt-install", *args],
        # virt-install keeps its log in $XDG_CACHE_HOME/virt-manager: the test's folder, not ~.
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Detected class=_GenericTreeinfoDistro" in result.stderr
    assert re.search(r"<kernel>[^<]*vmlinuz</kernel>", result.stdout)
    assert re.search(r"<initrd>[^<]*initrd\.img</initrd>", result.stdout)
    assert "<cmdline>inst.ks=file:/ks.cfg console=ttyS0</cmdline>" in result.stdout


@needs_busybox
def test_the_installer_reads_the_tree_it_is_served(tmp_path):
    (tmp_path / ".treeinfo").write_text(install_tree.treeinfo({install_tree.SYSTEM: "cd" * 32}, 0))
    script = f'. "{INSTALLER / "install.sh"}"; TREEINFO="{tmp_path / ".treeinfo"}"; '
    script += "treeinfo images-x86_64 kernel; treeinfo brine system_initrd; treeinfo general name; "
    script += f"treeinfo checksums {install_tree.SYSTEM}"
    result = subprocess.run(
        [BUSYBOX, "sh", "-c", script],
        env={"BRINE_INSTALL_NO_MAIN": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == [
        install_tree.KERNEL,
        install_tree.SYSTEM,
        "Brine Lab 1.0",
        "sha256:" + "cd" * 32,
    ]


@needs_busybox
def test_a_good_kickstart_gives_every_fact_the_installer_writes(tmp_path):
    status, facts, output = read(tmp_path, GOOD)
    assert status == 0, output
    assert facts["url"] == "http://10.77.0.1:8090/\n"
    assert facts["hostname"] == "t1.lab\n"
    assert facts["repos"] == (
        f"appstream{US}http://10.77.0.1:8090/AppStream\nextras{US}http://10.77.0.1:8090/extras\n"
    )
    assert facts["networks"] == f"52:54:00:12:34:56{US}dhcp{US}{US}{US}{US}\n"
    assert facts["rootpw"] == HASH + "\n"
    assert facts["users"] == f"admin{US}{HASH}{US}wheel,adm\n"
    assert facts["sshkeys"] == f"root{US}{KEY}\nadmin{US}{KEY}\n"
    assert facts["packages"] == "@^minimal-environment\nvim-minimal\n-iwl*\n"
    assert facts["packages.options"] == "--ignoremissing\n"
    assert facts["post.1"] == 'echo "{{7*7}}" > /etc/motd\n# kept\n'
    assert (facts["timezone"], facts["timezone.utc"]) == ("Europe/Berlin\n", "utc\n")
    assert (facts["lang"], facts["keyboard"]) == ("en_US.UTF-8\n", "us\n")
    assert facts["bootloader.append"] == "panic=10\n"
    assert facts["commands"].split() == ["text", "bootloader", "zerombr", "clearpart", "autopart", "reboot"]
    assert "errors" not in facts and "rootpw.lock" not in facts


@needs_busybox
@pytest.mark.parametrize(
    "words",
    [
        '"ssh-ed25519 AAAA a b"',
        "'ssh-ed25519 AAAA it\"s'",
        '"ssh-ed25519 AAAA \\"q\\" \\\\ x"',
        "ssh-ed25519\\ AAAA\\ c  # a comment",
        "\"ssh-ed25519 AAAA \"x'y z'",
    ],
)
def test_words_are_split_as_pykickstart_splits_them(tmp_path, words):
    line = f"sshkey --username=root {words}"
    expected = shlex.split(line, comments=True)[2]
    status, facts, output = read(tmp_path, f"url --url=http://x/\nnetwork --hostname=h\n{line}\n")
    assert status == 0, output
    assert facts["sshkeys"] == f"root{US}{expected}\n"


@needs_busybox
def test_a_locked_root_with_a_key_is_enough(tmp_path):
    text = f'url --url=http://x/\nnetwork --hostname=h\nrootpw --lock\nsshkey --username=root "{KEY}"\n'
    status, facts, output = read(tmp_path, text)
    assert status == 0, output
    assert facts["rootpw.lock"] == "locked\n" and "rootpw" not in facts


BASE = "url --url=http://x/\nnetwork --hostname=h\n"


@needs_busybox
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (BASE + "rootpw s3cret\n", "line 3: rootpw: a plaintext password is refused"),
        (BASE + "rootpw --plaintext s3cret\n", "line 3: rootpw: a plaintext password is refused"),
        (BASE + "rootpw --iscrypted s3cret\n", "line 3: rootpw --iscrypted: the password is not a crypt"),
        (BASE + f"rootpw --iscrypted '{HASH}'\nuser --name=bob --password=s3cret\n", "user bob: a plaintext"),
        ("network --hostname=h\n" + f"rootpw --iscrypted '{HASH}'\n", "no install source (url --url="),
        ("url --url=http://x/\n" + f"rootpw --iscrypted '{HASH}'\n", "no host name (network --hostname="),
        (BASE, "no way to log in: neither rootpw --iscrypted nor sshkey"),
        (BASE + "rootpw --lock\n", "no way to log in"),
        ("url --url=ftp://x/\n", "url: the install tree must be an http:// or https:// URL"),
        ("url --mirrorlist=http://x/\n", "url: only --url=<install tree> is supported"),
        (BASE + "frobnicate --now\n", "line 3: unknown kickstart command frobnicate"),
        (BASE + "%include /tmp/part.ks\n", "%include is not supported"),
        (BASE + "%packages\nvim\n", "%packages does not end with %end"),
        (BASE + "%packages\nvim\n%post\n%end\n", "line 5: %packages does not end with %end"),
        (BASE + 'repo --name="open --baseurl=http://x/\n', "line 3: a quote is not closed"),
        (BASE + "repo --name=../etc --baseurl=http://x/\n", "repo: --name is missing or not a plain name"),
        (BASE + "repo --name=a --baseurl=file:///x\n", "repo a: --baseurl must be an http://"),
        (BASE + "repo --name=a --baseurl=http://x/\nrepo --name=a --baseurl=http://y/\n", "a: given twice"),
        (BASE + f'sshkey --username=carol "{KEY}"\n', "line 3: sshkey: no user carol"),
        (BASE + 'sshkey --username=root "not a key"\n', "sshkey: not one OpenSSH public key"),
        ("url --url=http://x/\nnetwork --hostname=bad_name!\n", "network --hostname: not a host name"),
        (BASE + f"rootpw --iscrypted '{HASH}'\ntimezone ../../etc/passwd\n", "timezone: not a time zone"),
        (BASE + f"user --name=bob --groups='a b' --iscrypted --password={HASH}\n", "--groups is not a list"),
        (BASE + f"rootpw --iscrypted '{HASH}'\nuser --name=bob\nuser --name=bob\n", "user bob: given twice"),
        (BASE + f"rootpw --iscrypted '{HASH}'\nlang en\x1fUS\n", "line 4: control characters are refused"),
    ],
)
def test_a_bad_kickstart_is_refused_with_its_reason(tmp_path, text, reason):
    status, facts, output = read(tmp_path, text)
    assert status == 1
    assert reason in output
    assert output.strip() == facts["errors"].strip()


@needs_busybox
def test_a_refusal_never_repeats_the_password_hash(tmp_path):
    status, _, output = read(tmp_path, f"rootpw --iscrypted '{HASH}'\nuser --name=x --password=Hunter2pw\n")
    assert status == 1 and "Hunter2pw" not in output and HASH not in output


@needs_busybox
def test_empty_fields_reach_the_installer_in_their_place(tmp_path):
    text = BASE + f"rootpw --iscrypted '{HASH}'\nnetwork --bootproto=dhcp\nuser --name=bob --groups=wheel\n"
    status, facts, output = read(tmp_path, text)
    assert status == 0, output
    assert facts["networks"] == f"{US}dhcp{US}{US}{US}{US}\n"
    assert facts["users"] == f"bob{US}{US}wheel\n"
    script = 'US=$(printf "\\037"); IFS="$US" read -r name hash groups <"$1"; echo "$name|$hash|$groups"'
    result = subprocess.run(
        [BUSYBOX, "sh", "-c", script, "sh", str(tmp_path / "facts" / "users")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "bob||wheel\n"
