"""A Docker engine inside a network namespace, and the small images the lab and the tests run.

Each lab host (and each functional test's engine) runs Debian's ``dockerd`` in its own network
namespace plus private mount and UTS namespaces, with its own data root, exec root, socket and
bridge, configured by a ``daemon.json`` (the lab's comes from the kvm formula's template). Docker's
iptables rules (its FORWARD policy DROP among them) then live in that namespace's own tables and
go with it: the machine's tables and the lab bridge never see them.

``ip netns exec`` mounts a fresh /sys for the namespace, which hides the machine's cgroup
hierarchies; dockerd refuses to start without them ("Devices cgroup isn't mounted"), so the
script mounts the cgroup v1 controllers again (the same hierarchies, not new ones).

Images are built offline (nothing is pulled from the internet): a root filesystem of Debian's
static busybox plus a few files, imported with a command (``IMAGES``).
"""

import io
import json
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

BUSYBOX_PACKAGE = "busybox-static"
CGROUP_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids")
# The busybox applets the images link; /bin/sh runs their commands.
APPLETS = ("sh", "httpd", "echo", "cat", "sleep", "ls", "date", "wget", "hostname", "env", "seq")

# The lab's images: {repository:tag: {"cmd": [...], "files": {path: text}}}. `web` serves a page on
# port 80; `hello` prints a numbered line every second (for logs); `env` prints its environment.
IMAGES = {
    "brine/web:1": {
        # A shell as PID 1 that exits on SIGTERM (PID 1 has no default handler: `docker stop`
        # would wait 10 s and kill it), with httpd in the foreground of its `wait`.
        "cmd": ["/bin/sh", "-c", "trap 'exit 0' TERM INT; /bin/httpd -f -v -p 80 -h /www & wait"],
        "expose": "80/tcp",
        "files": {
            "www/index.html": "<!doctype html><title>Brine</title><h1>Hello from a Brine container</h1>\n"
        },
    },
    "brine/hello:1": {
        "cmd": [
            "/bin/sh",
            "-c",
            "trap 'exit 0' TERM INT; i=0; "
            'while true; do i=$((i+1)); echo "hello from brine $i"; sleep 1 & wait $!; done',
        ],
        "files": {},
    },
}


def engine_script(host_name, config, mounts=None, pidfile=None):
    """The /bin/sh script that starts dockerd with ``config`` (a daemon.json path) in a new mount
    and UTS namespace: the host's name, the cgroup hierarchies, ``mounts`` ({target: source},
    bind-mounted) and dockerd in the foreground, with its pid in ``pidfile`` when given (as
    Debian's init script passes ``-p``). Every value is ours (paths of our own folders)."""
    lines = ["set -e", f"hostname {host_name}", "mount -t tmpfs -o mode=755 brine-cgroup /sys/fs/cgroup"]
    for controller in CGROUP_CONTROLLERS:
        path = f"/sys/fs/cgroup/{controller}"
        lines.append(f"mkdir -p {path} && mount -t cgroup -o {controller} cgroup {path}")
    for target, source in (mounts or {}).items():
        lines.append(f"mkdir -p '{target}' && mount --bind '{source}' '{target}'")
    pid = f" --pidfile '{pidfile}'" if pidfile else ""
    lines.append(f"exec dockerd --config-file '{config}'{pid}")
    return "\n".join(lines)


def enter_netns(netns):
    """The command prefix that runs a program in the network namespace ``netns`` and new mount
    and UTS namespaces of its own (a functional test's engine)."""
    return ["ip", "netns", "exec", netns, "unshare", "--mount", "--uts", "--propagation", "private", "--"]


def enter_host(pid):
    """The command prefix that runs a program in the network, mount and UTS namespaces of the
    process ``pid`` (a lab host's libvirtd), below them in a mount namespace of its own (where the
    cgroup hierarchies are mounted, out of libvirtd's sight)."""
    return [
        "nsenter",
        "-t",
        str(pid),
        "-m",
        "-u",
        "-n",
        "--",
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
    ]


def start_engine(enter, script, log_path):
    """Run ``script`` (``engine_script``'s) with the namespace prefix ``enter`` (``enter_netns``,
    ``enter_host``), detached, its output appended to ``log_path``: returns the Popen of the shell
    that becomes dockerd."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(  # the daemon outlives this call  # pylint: disable=consider-using-with
            [*enter, "/bin/sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def busybox(cache):
    """Debian's static busybox, downloaded once into ``cache`` (apt-get download, nothing installed)."""
    cache = Path(cache)
    binary = cache / "busybox-static" / "bin" / "busybox"
    if binary.exists():
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        os.chmod(work, 0o777)  # apt-get download runs as _apt when it can
        subprocess.run(
            ["apt-get", "download", "-q", BUSYBOX_PACKAGE], cwd=work, check=True, stdout=subprocess.DEVNULL
        )
        deb = next(Path(work).glob("*.deb"))
        unpacked = Path(work) / "unpacked"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
        target = cache / "busybox-static" / "bin"
        target.mkdir(parents=True, exist_ok=True)
        (unpacked / "bin" / "busybox").replace(target / "busybox")
    return binary


def rootfs(cache, image):
    """The root filesystem of ``image`` (a key of ``IMAGES``) as tar bytes."""
    recipe = IMAGES[image]
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for folder in ("bin", "tmp", "etc", "www"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(busybox(cache)), arcname="bin/busybox")
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(info)
        files = {"etc/passwd": "root:x:0:0:root:/:/bin/sh\n", "etc/group": "root:x:0:\n", **recipe["files"]}
        for path, text in files.items():
            raw = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(raw), 0o644
            tar.addfile(info, io.BytesIO(raw))
    return data.getvalue()


def changes(image):
    """Dockerfile instructions ``docker import`` applies to ``image``: its command (and port)."""
    recipe = IMAGES[image]
    # The exec form is JSON: a quote inside an argument must be escaped, or Docker takes the
    # whole line for the shell form.
    result = ["CMD " + json.dumps(recipe["cmd"])]
    if recipe.get("expose"):
        result.append(f"EXPOSE {recipe['expose']}")
    return result


def import_image(client, cache, image, repository=None):
    """Import ``image`` into the engine behind ``client`` (a docker.APIClient) as ``repository``
    (default: the image's own repository) with the image's tag; returns the image ID."""
    name, _sep, tag = image.partition(":")
    with tempfile.NamedTemporaryFile(suffix=".tar") as tar:
        tar.write(rootfs(cache, image))
        tar.flush()
        client.import_image(src=tar.name, repository=repository or name, tag=tag, changes=changes(image))
    return client.inspect_image(f"{repository or name}:{tag}")["Id"]
