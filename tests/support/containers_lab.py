"""Containers on the lab (docs/containers.md) for the end-to-end tests: each host's own Docker
engine, seen from the test through the engine's socket (``lab.lab.docker_client``) and from
inside the host's network namespace, and the containers pillar a host keeps as code."""

import json
import subprocess

from lab_base import netns

# Every container the tests make is named with this prefix, so clean-up never touches others.
PREFIX = "e2e-"
WEB = "brine-master:5000/brine/web:1"
HELLO = "brine-master:5000/brine/hello:1"
HYPERVISORS = "I@brine:roles:hypervisor"


def names(lab, host):
    """The names of every container on ``host``'s engine, stopped ones too."""
    client = lab.lab.docker_client(host)
    return sorted(name.lstrip("/") for c in client.containers(all=True) for name in c["Names"])


def state(lab, host, name):
    """Docker's state word for ``name`` on ``host``, or None when there is no such container."""
    client = lab.lab.docker_client(host)
    found = client.containers(all=True, filters={"name": f"^/{name}$"})
    return found[0]["State"] if found else None


def has_image(lab, host, ref):
    client = lab.lab.docker_client(host)
    return any(ref in (image.get("RepoTags") or []) for image in client.images())


def remove_image(lab, host, ref):
    client = lab.lab.docker_client(host)
    if has_image(lab, host, ref):
        client.remove_image(ref, force=True)


def clean(lab):
    """Remove every container the tests made (``PREFIX``) on every host."""
    for host in lab.hosts:
        client = lab.lab.docker_client(host)
        for name in names(lab, host):
            if name.startswith(PREFIX):
                client.remove_container(name, force=True)


def fetch(lab, host, port, path="/"):
    """The page at ``127.0.0.1:<port>`` in ``host``'s network namespace (where the engine
    publishes), or None when nothing answers."""
    done = subprocess.run(
        ["ip", "netns", "exec", netns(host), "curl", "-sf", "-m", "5", f"http://127.0.0.1:{port}{path}"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout if done.returncode == 0 else None


def pillar_file(lab, host):
    return lab.lab.salt / "pillar" / "brine" / f"containers-{host}.sls"


def give_containers(lab, host, described):
    """Put ``described`` ({name: entry}) in ``host``'s containers pillar and make it read it."""
    pillar_file(lab, host).write_text(json.dumps({"containers": described}, indent=1))
    ret = lab.salt(host, "--out=json", "--static", "saltutil.refresh_pillar", "wait=True")
    assert ret.returncode == 0, ret.stdout + ret.stderr


def apply_containers(lab, host, test=False, timeout=180):
    """``state.apply containers`` on ``host``: ``(exit code, {state id: result})``."""
    args = [host, "--out=json", "--static", "-t", str(timeout), "state.apply", "containers"]
    if test:
        args.append("test=True")
    ret = lab.salt(*args, timeout=timeout + 60)
    try:
        return ret.returncode, json.loads(ret.stdout)[host]
    except (ValueError, KeyError) as err:
        raise AssertionError(f"state.apply answered no JSON: {ret.stdout} {ret.stderr}") from err
