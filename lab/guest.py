"""The lab's tiny guest: Debian's cloud kernel and a busybox initramfs, built from Debian packages.

The image is a cache: it is built once into ``<lab>/cache/image`` and reused by every ``up``.
Its helpers (``fetch_packages``, ``initramfs``, ``write_gzip``) also build the lab's install tree
(install_tree.py).
"""

import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
KERNEL_PACKAGE = "linux-image-cloud-amd64"
BUSYBOX_PACKAGE = "busybox-static"
# Modules the guest's /init loads; their dependencies come along through modules.dep.
GUEST_MODULES = [
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "kernel/drivers/virtio/virtio_balloon.ko",
    "kernel/net/core/failover.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/drivers/net/virtio_net.ko",
    "kernel/drivers/block/virtio_blk.ko",
    "kernel/drivers/input/evdev.ko",
    "kernel/drivers/acpi/button.ko",
]
FOLDERS = ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "run", "root", "usr/bin", "usr/sbin")


def _run(args, **kwargs):
    return subprocess.run(args, check=True, **kwargs)


def recipe_digest():
    digest = hashlib.sha256()
    for name in ("init", "udhcpc.script"):
        digest.update((HERE / "guest" / name).read_bytes())
    digest.update("\n".join(GUEST_MODULES).encode())
    return digest.hexdigest()[:16]


def fetch_packages(workdir, packages=()):
    """Download the kernel, busybox and ``packages`` from Debian (``apt-get download``, nothing
    installed) and unpack them into ``workdir/unpacked``: returns (unpacked, vmlinuz, version)."""
    debs = Path(workdir) / "debs"
    debs.mkdir()
    # apt-get download runs as _apt when it can; a world-writable folder keeps it quiet.
    os.chmod(debs, 0o777)
    _run(
        ["apt-get", "download", "-q", KERNEL_PACKAGE, BUSYBOX_PACKAGE, *packages],
        cwd=debs,
        stdout=subprocess.DEVNULL,
    )
    meta = next(debs.glob(f"{KERNEL_PACKAGE}_*.deb"))
    depends = _run(["dpkg-deb", "-f", str(meta), "Depends"], capture_output=True, text=True)
    real_kernel = depends.stdout.split("(")[0].strip()
    _run(["apt-get", "download", "-q", real_kernel], cwd=debs, stdout=subprocess.DEVNULL)
    unpacked = Path(workdir) / "unpacked"
    for deb in debs.glob("*.deb"):
        _run(["dpkg-deb", "-x", str(deb), str(unpacked)])
    vmlinuz = next((unpacked / "boot").glob("vmlinuz-*"))
    return unpacked, vmlinuz, vmlinuz.name[len("vmlinuz-") :]


def initramfs(unpacked, version, root, init, files=None):
    """An initramfs filled in ``root`` from the unpacked packages (busybox, the guest's modules,
    ``init`` as /init, ``files`` as {path in the archive: source}): returns the cpio archive."""
    root = Path(root)
    for folder in (*FOLDERS, f"lib/modules/{version}"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    files = {
        "bin/busybox": unpacked / "bin" / "busybox",
        "init": init,
        "etc/udhcpc.script": HERE / "guest" / "udhcpc.script",
        **(files or {}),
    }
    for name, source in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, root / name)
    os.chmod(root / "init", 0o755)
    os.chmod(root / "etc" / "udhcpc.script", 0o755)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "profile").write_text('export PS1="$(hostname) # "\n')
    src_modules = unpacked / "lib" / "modules" / version
    for module in GUEST_MODULES:
        target = root / "lib" / "modules" / version / module
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src_modules / module, target)
    for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        if (src_modules / name).exists():
            shutil.copy2(src_modules / name, root / "lib" / "modules" / version / name)
    _run(["depmod", "-b", str(root), version])
    cpio_list = _run(["find", "."], cwd=root, capture_output=True).stdout
    archive = _run(
        ["cpio", "--quiet", "-o", "-H", "newc"], cwd=root, input=cpio_list, capture_output=True
    ).stdout
    return archive


def write_gzip(archive, target):
    with gzip.open(target, "wb", compresslevel=6) as out:
        out.write(archive)


def build(cache_dir):
    """Return (kernel_path, initrd_path), building them under cache_dir when missing or stale."""
    image_dir = Path(cache_dir) / "image"
    kernel, initrd, stamp = image_dir / "vmlinuz", image_dir / "initrd.gz", image_dir / "recipe"
    if kernel.exists() and initrd.exists() and stamp.exists() and stamp.read_text() == recipe_digest():
        return kernel, initrd
    image_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="brine-guest-") as tmp_name:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)
        unpacked, vmlinuz, version = fetch_packages(tmp)
        archive = initramfs(unpacked, version, tmp / "initramfs", HERE / "guest" / "init")
        write_gzip(archive, image_dir / "initrd.gz.new")
        shutil.copy2(vmlinuz, image_dir / "vmlinuz.new")
    os.replace(image_dir / "vmlinuz.new", kernel)
    os.replace(image_dir / "initrd.gz.new", initrd)
    stamp.write_text(recipe_digest())
    return kernel, initrd
