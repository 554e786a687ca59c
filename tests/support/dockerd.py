"""A real Docker engine and a real registry for functional tests, in a network namespace of their own.

``PrivateEngine`` starts Debian's dockerd as the lab does (lab/docker_engine.py: its own network,
mount and UTS namespaces, data root, exec root, socket and bridge) and Debian's docker-registry on
that namespace's loopback, where dockerd pulls without TLS (Docker treats 127.0.0.0/8 registries
as insecure by default). Nothing reaches the machine's own tables, sockets or Docker.

``REGISTRY_ONLY`` is in the registry and not on the engine; ``LOCAL`` is on both. Tests that
change the engine remove what they made (``engine.cleanup()`` removes every container).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .paths import REPO

sys.path.insert(0, str(REPO / "lab"))
import docker_engine
from lab_base import LAB_DIR

REGISTRY_PORT = 5999
REGISTRY = f"127.0.0.1:{REGISTRY_PORT}"
LOCAL = f"{REGISTRY}/brine/web:1"
REGISTRY_ONLY = f"{REGISTRY}/brine/hello:1"
BRIDGE_IP = "172.30.77.1/24"
# Where the images' busybox is kept between runs: the lab's own cache.
CACHE = LAB_DIR / "cache" / "containers"


def available():
    """Why no engine can start here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, dockerd)"
    for program in ("dockerd", "docker-registry", "ip"):
        if not shutil.which(program):
            return f"{program} is not installed (./setup.sh installs docker.io and docker-registry)"
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker Python package is missing (requirements.txt)"
    return None


class PrivateEngine:
    """dockerd and docker-registry in the network namespace ``netns``, files below ``root``."""

    def __init__(self, root, cache, netns=None):
        self.root = Path(root)
        self.cache = Path(cache)
        self.netns = netns or f"brine-tdk-{os.getpid()}"
        self.socket = self.root / "run" / "docker.sock"
        self.url = f"unix://{self.socket}"
        self.processes = []

    # -- up ----------------------------------------------------------------------------------
    def start(self):
        for sub in ("data", "run", "etc", "registry"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)
        config = self.root / "etc" / "daemon.json"
        config.write_text(
            json.dumps(
                {
                    "data-root": str(self.root / "data"),
                    "exec-root": str(self.root / "run" / "exec"),
                    "pidfile": str(self.root / "run" / "dockerd.pid"),
                    "hosts": [self.url],
                    "bip": BRIDGE_IP,
                    "log-level": "warn",
                },
                indent=2,
            )
        )
        self.processes.append(
            docker_engine.start_engine(
                docker_engine.enter_netns(self.netns),
                docker_engine.engine_script("brine-test-engine", config),
                self.root / "dockerd.log",
            )
        )
        registry_config = self.root / "etc" / "registry.yml"
        registry_config.write_text(
            "version: 0.1\nlog:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.root / 'registry'}\n"
            f"http:\n  addr: {REGISTRY}\n"
        )
        with open(self.root / "registry.log", "ab") as log:
            self.processes.append(
                subprocess.Popen(
                    ["ip", "netns", "exec", self.netns, "docker-registry", "serve", str(registry_config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        self.wait_ready()
        self.seed()
        return self

    def client(self, timeout=60):
        import docker

        return docker.APIClient(base_url=self.url, timeout=timeout)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                self.client(timeout=5).ping()
                if self.in_netns(["curl", "-sf", "-m", "5", f"http://{REGISTRY}/v2/"]).returncode == 0:
                    return
            except Exception as err:
                last = err
            time.sleep(0.3)
        raise RuntimeError(f"dockerd or docker-registry did not start ({last}); see {self.root}/*.log")

    def seed(self):
        """Both images into the registry; only ``LOCAL`` stays on the engine."""
        client = self.client(timeout=120)
        for image, ref in (("brine/web:1", LOCAL), ("brine/hello:1", REGISTRY_ONLY)):
            repository, _sep, tag = ref.rpartition(":")
            docker_engine.import_image(client, self.cache, image, repository=repository)
            for line in client.push(repository, tag=tag, stream=True, decode=True):
                if "error" in line:
                    raise RuntimeError(f"pushing {ref} failed: {line['error']}")
        client.remove_image(REGISTRY_ONLY)

    # -- use ---------------------------------------------------------------------------------
    def pids(self):
        """The processes in the engine's network namespace (dockerd, containerd, the registry)."""
        listed = subprocess.run(
            ["ip", "netns", "pids", self.netns], check=False, capture_output=True, text=True
        )
        return [int(pid) for pid in listed.stdout.split()]

    def in_netns(self, args, **kwargs):
        """Run ``args`` in the engine's network namespace (where its published ports are)."""
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
            **kwargs,
        )

    def fetch(self, port, host="127.0.0.1", wait=10):
        """The page served on ``host:port`` in the engine's namespace, or None when nothing answers
        within ``wait`` seconds (a container's server takes a moment to listen)."""
        deadline = time.monotonic() + wait
        while True:
            done = self.in_netns(["curl", "-sf", "-m", "5", f"http://{host}:{port}/"])
            if done.returncode == 0 or time.monotonic() > deadline:
                return done.stdout if done.returncode == 0 else None
            time.sleep(0.3)

    def cleanup(self):
        """Remove every container (and ``REGISTRY_ONLY`` if a test pulled it)."""
        client = self.client()
        for container in client.containers(all=True):
            client.remove_container(container["Id"], force=True)
        for image in client.images(name=REGISTRY_ONLY.rpartition(":")[0]):
            client.remove_image(image["Id"], force=True)

    # -- down --------------------------------------------------------------------------------
    def stop(self):
        try:
            self.cleanup()
        except Exception:
            pass
        for pid in self.pids() + [p.pid for p in self.processes]:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", self.netns], check=False)
        shutil.rmtree(self.root, ignore_errors=True)
