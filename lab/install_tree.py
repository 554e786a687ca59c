"""The lab's install tree: what virt-install's ``--location`` boots for an unattended install.

A cache like the guest image (guest.py): built once into ``<lab>/cache/tree`` from Debian packages
(the guest's kernel and busybox, extlinux and syslinux's MBR code) and rebuilt when its recipe
changes; ``brine-lab up`` serves it over HTTP on the lab bridge (lab_base.TREE_URL). Its layout is
Anaconda's, as far as virt-install and the installer read it:

    .treeinfo                   [general] for virt-install, [images-x86_64], [checksums]
    images/pxeboot/vmlinuz      the kernel (the installer's and the installed system's)
    images/pxeboot/initrd.img   the installer (lab/installer: init, install.sh, kickstart.*)
    images/brine/system.img     the installed system's initramfs (lab/installer/boot-init)
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import guest

INSTALLER = Path(__file__).resolve().parent / "installer"
INSTALLER_FILES = ("init", "install.sh", "kickstart.sh", "kickstart.awk", "system-init", "boot-init")
# extlinux (the installed system's boot loader) and syslinux's MBR boot code, both from Debian.
TREE_PACKAGES = ("extlinux", "syslinux-common")
KERNEL = "images/pxeboot/vmlinuz"
INITRD = "images/pxeboot/initrd.img"
SYSTEM = "images/brine/system.img"
# Not a family virt-install knows (Fedora, RHEL, CentOS...), so its generic .treeinfo class reads
# the tree whatever --os-variant says.
FAMILY = "Brine Lab"
VERSION = "1.0"


def treeinfo(checksums, timestamp):
    """The text of the tree's .treeinfo: productmd's format (header, release, tree, images,
    checksums) as Anaconda reads it, with the legacy [general] section virt-install's urldetect
    reads (family, version, arch), and [brine] naming the installed system's initramfs."""
    sections = {
        "header": {"type": "productmd.treeinfo", "version": "1.2"},
        "release": {"name": FAMILY, "short": "BrineLab", "version": VERSION},
        "tree": {"arch": "x86_64", "build_timestamp": str(timestamp), "platforms": "x86_64"},
        "general": {
            "name": f"{FAMILY} {VERSION}",
            "family": FAMILY,
            "version": VERSION,
            "arch": "x86_64",
            "platforms": "x86_64",
            "timestamp": str(timestamp),
        },
        "images-x86_64": {"kernel": KERNEL, "initrd": INITRD},
        "brine": {"system_initrd": SYSTEM},
        "checksums": {path: f"sha256:{digest}" for path, digest in sorted(checksums.items())},
    }
    return "\n".join(
        f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())
        for name, values in sections.items()
    )


def recipe_digest():
    """What the tree is made of: the installer's files, the guest's recipe, the packages."""
    digest = hashlib.sha256(guest.recipe_digest().encode())
    for name in INSTALLER_FILES:
        digest.update(name.encode() + b"\0" + (INSTALLER / name).read_bytes())
    digest.update(" ".join(TREE_PACKAGES).encode())
    digest.update(treeinfo({}, 0).encode())
    return digest.hexdigest()[:16]


def _extlinux_files(unpacked):
    """extlinux, the libraries it links (ldd), and syslinux's mbr.bin: {path in the initrd: file}."""
    extlinux = unpacked / "usr" / "bin" / "extlinux"
    files = {
        "usr/bin/extlinux": extlinux,
        "usr/lib/syslinux/mbr.bin": unpacked / "usr" / "lib" / "syslinux" / "mbr" / "mbr.bin",
    }
    ldd = subprocess.run(["ldd", str(extlinux)], check=True, capture_output=True, text=True).stdout
    for line in ldd.splitlines():
        path = next((word for word in line.split() if word.startswith("/")), None)
        if path:
            files[path.lstrip("/")] = Path(path)
    return files


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build(cache_dir):
    """Return the tree's folder, building it under cache_dir when missing or stale."""
    cache = Path(cache_dir)
    tree, stamp = cache / "tree", cache / "tree.recipe"
    want = recipe_digest()
    if (tree / ".treeinfo").exists() and stamp.exists() and stamp.read_text() == want:
        return tree
    new, old = cache / "tree.new", cache / "tree.old"
    for folder in (new, old):
        shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="brine-tree-") as tmp_name:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)
        unpacked, vmlinuz, version = guest.fetch_packages(tmp, TREE_PACKAGES)
        files = {f"lib/brine/{name}": INSTALLER / name for name in INSTALLER_FILES}
        files.update(_extlinux_files(unpacked))
        installer = guest.initramfs(unpacked, version, tmp / "installer", INSTALLER / "init", files)
        system = guest.initramfs(unpacked, version, tmp / "system", INSTALLER / "boot-init")
        for path in (KERNEL, INITRD, SYSTEM):
            (new / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(vmlinuz, new / KERNEL)
        guest.write_gzip(installer, new / INITRD)
        guest.write_gzip(system, new / SYSTEM)
    checksums = {path: _sha256(new / path) for path in (KERNEL, INITRD, SYSTEM)}
    (new / ".treeinfo").write_text(treeinfo(checksums, int(time.time())))
    if tree.exists():
        tree.rename(old)
    new.rename(tree)
    shutil.rmtree(old, ignore_errors=True)
    stamp.write_text(want)
    return tree
