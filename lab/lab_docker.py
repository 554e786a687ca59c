"""The lab's Docker: an engine on every host, configured by the kvm formula's daemon.json, and the
site's registry on the master side, configured by the brine formula's config.yml (README: Hosts as
code; docs/containers.md).

Each host's dockerd runs in the host's network, UTS and mount namespaces (entered through its
libvirtd, as ``LabBase.nsenter`` does) and, below them, in a child mount namespace of its own where
the cgroup hierarchies are mounted (docker_engine.engine_script): libvirtd's namespace keeps none,
so libvirtd runs QEMU as before. The host's own folders are bind-mounted over /var/lib/docker,
/run/docker and /etc/docker in the host's mount namespace (lab/kvm-pillar.yaml, ``lab:``), so the
host's minion finds the engine's socket where the formula's docker.url says. Docker's iptables
rules live in the host namespace's own tables and go with it.

At ``up`` the lab builds its images offline (docker_engine.IMAGES), pushes them to the registry
through the first host's engine, removes them there, and has every host pull ``PULLED``: the others
stay in the registry only. ``down`` removes every container through its engine (they live in
network namespaces of their own, which ``ip netns pids`` does not find) and kills whatever is left
by its cgroup, before the daemons are stopped.
"""

import concurrent.futures
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import docker
import docker_engine
import yaml
from lab_base import LabBase
from lab_base import LabError
from lab_base import log
from lab_base import read_pid
from lab_hosts import KVM_LAB_PILLAR
from lab_hosts import kvm_settings
from lab_hosts import render_kvm_config

# The lab's images in the registry, and the ones every host pulls at up.
PUSHED = ("brine/web:1", "brine/hello:1")
PULLED = ("brine/web:1",)


def docker_settings():
    """kvm:docker as the kvm formula's map makes it from its defaults and lab/kvm-pillar.yaml
    (the map's derived url, and "hosts" in daemon.json as on a host without systemd)."""
    docker = kvm_settings(None, None)["docker"]
    return {**docker, "url": f"unix://{docker['socket']}", "hosts_in_config": True}


def docker_mounts(host_dir):
    """{target: source}: the host's own Docker folders (lab/kvm-pillar.yaml, lab:docker_mounts)."""
    mounts = yaml.safe_load(KVM_LAB_PILLAR.read_text())["lab"]["docker_mounts"]
    return {target: Path(source.replace("{host}", str(host_dir))) for target, source in mounts.items()}


def in_host(host_dir, path):
    """Where ``path`` inside a host (below one of its Docker mounts) is in the machine's tree."""
    for target, source in docker_mounts(host_dir).items():
        if path == target or path.startswith(target + "/"):
            return source / path[len(target) :].lstrip("/")
    raise LabError(f"{path} is not in a folder of its own on every host (lab:docker_mounts)")


def registry_catalog(url, timeout=5):
    with urllib.request.urlopen(f"{url}/v2/_catalog", timeout=timeout) as answer:
        return answer.read()


def container_cgroup_pids(ids):
    """Processes whose cgroup names one of the container ``ids`` (Docker's /docker/<id>)."""
    found = set()
    if not ids:
        return found
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            text = (proc / "cgroup").read_text()
        except OSError:
            continue
        if any(f"/{cid}" in text for cid in ids):
            found.add(int(proc.name))
    return found


class DockerMixin(LabBase):
    """The hosts' Docker engines and the master side's registry."""

    # -- paths ------------------------------------------------------------------------------
    def docker_socket(self, host):
        return in_host(self.host_dir(host), docker_settings()["socket"])

    def docker_pid_file(self, host):
        return in_host(self.host_dir(host), "/run/docker/docker.pid")

    def dockerd_pid(self, host):
        return read_pid(self.docker_pid_file(host))

    def docker_client(self, host, timeout=60):
        return docker.APIClient(base_url=f"unix://{self.docker_socket(host)}", timeout=timeout)

    @property
    def registry_pid_file(self):
        return self.root / "registry.pid"

    def container_ids(self, host):
        """The containers a host's engine has made (its data root's containers/ folder)."""
        folder = in_host(self.host_dir(host), docker_settings()["data_root"]) / "containers"
        try:
            return {p.name for p in folder.iterdir() if len(p.name) == 64}
        except OSError:
            return set()

    # -- up ---------------------------------------------------------------------------------
    def docker_host_mounts(self, host):
        """The bind mounts start_host makes in the host's mount namespace (folders made here)."""
        mounts = docker_mounts(self.host_dir(host))
        for source in mounts.values():
            source.mkdir(parents=True, exist_ok=True)
        return mounts

    def start_engines(self, hosts):
        """Start every host's dockerd (not waiting: wait_engines does) with the kvm formula's
        daemon.json rendered with the lab's pillar."""
        settings = docker_settings()
        for host in hosts:
            base = self.host_dir(host)
            config = in_host(base, settings["config"])
            config.parent.mkdir(parents=True, exist_ok=True)
            render_kvm_config("daemon.json.jinja", config, docker=settings)
            # Outside the host's /run/containerd: dockerd would use a containerd of the machine's
            # that listens there instead of starting its own.
            containerd = base / "docker" / "containerd"
            containerd.mkdir(parents=True, exist_ok=True)
            script = docker_engine.engine_script(
                host, settings["config"], {"/run/containerd": containerd}, pidfile="/run/docker/docker.pid"
            )
            pid = self.libvirtd_pid(host)
            if pid is None:
                raise LabError(f"host {host} is not running (no libvirtd)")
            # The script is ours, with paths from our own folder; no user data goes into it.
            docker_engine.start_engine(docker_engine.enter_host(pid), script, base / "docker" / "dockerd.log")

    def wait_engines(self, hosts):
        def answers(host):
            return self.docker_client(host, timeout=5).ping()

        for host in hosts:
            log_file = self.host_dir(host) / "docker" / "dockerd.log"
            self.wait(lambda h=host: answers(h), 60, f"dockerd on {host} did not start (see {log_file})")
            log(f"{host}: dockerd running (pid {self.dockerd_pid(host)})")

    def start_registry(self):
        """docker-registry as the brine formula's service runs it: ``serve <config>``, its
        config.yml and storage folder written by write_master_plan."""
        registry = self.master_plan().get("registry")
        if not registry:
            raise LabError("the brine formula rendered for the lab has no registry (brine:master:registry)")
        log(f"starting docker-registry on {registry['listen']}")
        with open(self.root / "registry.log", "ab") as out:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                ["docker-registry", "serve", registry["config"]],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd="/",
            )
        self.registry_pid_file.write_text(f"{proc.pid}\n")
        self.wait(
            lambda: registry_catalog(registry["url"], timeout=2) is not None,
            30,
            f"docker-registry did not start (see {self.root / 'registry.log'})",
        )

    def seed_images(self, hosts):
        """The lab's images built offline, pushed to the registry through the first host's engine
        and removed there; then every host pulls PULLED from the registry."""
        name = self.master_plan()["registry"]["name"]
        cache = self.cache / "containers"
        client = self.docker_client(hosts[0], timeout=120)
        for image in PUSHED:
            repository, _sep, tag = f"{name}/{image}".rpartition(":")
            docker_engine.import_image(client, cache, image, repository=repository)
            for line in client.push(repository, tag=tag, stream=True, decode=True):
                if "error" in line:
                    raise LabError(f"pushing {repository}:{tag} to the registry failed: {line['error']}")
            client.remove_image(f"{repository}:{tag}")

        def pull(host):
            pulling = self.docker_client(host, timeout=120)
            for image in PULLED:
                repository, _sep, tag = f"{name}/{image}".rpartition(":")
                for line in pulling.pull(repository, tag=tag, stream=True, decode=True):
                    if "error" in line:
                        raise LabError(f"{host} could not pull {repository}:{tag}: {line['error']}")

        with concurrent.futures.ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            list(pool.map(pull, hosts))
        log(f"images in the registry {name}: {', '.join(PUSHED)}; on every host: {', '.join(PULLED)}")

    # -- down -------------------------------------------------------------------------------
    def stop_containers(self, hosts):
        """Remove every container through its host's engine, then kill by cgroup what is left
        (an engine that does not answer). Returns the pids killed that way."""
        for host in hosts:
            if not self.docker_socket(host).exists():
                continue
            try:
                client = self.docker_client(host, timeout=15)
                for container in client.containers(all=True):
                    client.remove_container(container["Id"], force=True)
            except Exception as err:  # pylint: disable=broad-except
                log(f"{host}: the engine did not remove its containers ({err}); killing them")
        return self.kill_container_processes(hosts)

    def kill_container_processes(self, hosts):
        ids = set().union(*(self.container_ids(host) for host in hosts)) if hosts else set()
        pids = container_cgroup_pids(ids)
        pids.discard(os.getpid())
        for pid in pids:
            self.signal(pid, signal.SIGKILL)
        self.wait_gone(pids, 5)
        return pids

    def remove_container_cgroups(self, hosts):
        """The containers' cgroups Docker leaves behind when it is killed (the machine's
        hierarchies hold them: the engines mount the same ones)."""
        ids = set().union(*(self.container_ids(host) for host in hosts)) if hosts else set()
        for cid in ids:
            for folder in Path("/sys/fs/cgroup").glob(f"*/docker/{cid}"):
                try:
                    folder.rmdir()
                except OSError:
                    pass
