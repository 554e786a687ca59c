"""
Brine's Docker library (``brine.docker_host``) against a REAL Docker engine and registry (the
``docker_engine`` fixture: Debian's dockerd and docker-registry in a network namespace of their
own): a container run with a port mapping serves its page through the mapped port; the actions,
logs, images and pulls; and every bad input of issue 12 refused with a code before anything starts,
the engine's containers unchanged.

This test process stands for the minion: ``port_free`` probes ports in its namespace, while the
engine publishes in its own. So a listener here is one the pre-check finds, and a listener in the
engine's namespace is one only Docker's start finds (its refusal path, with the clean-up).
"""

import socket
import subprocess
import sys

import pytest

from brine import container_spec
from brine import docker_host
from brine.errors import Invalid
from brine.errors import Refused
from support import dockerd

EXIT_IMAGE = "brine-test/exit:1"
EXIT_COMMAND = '["/bin/sh", "-c", "echo one; sleep 1; echo two >&2; exit 3"]'


@pytest.fixture
def client(docker_engine):
    client = docker_engine.client()
    try:
        yield client
    finally:
        docker_engine.cleanup()
        client.close()


@pytest.fixture(scope="module")
def exit_image(docker_engine):
    """A local image whose command prints two lines and exits 3 (made from ``dockerd.LOCAL``)."""
    client = docker_engine.client()
    made = client.create_container(dockerd.LOCAL)
    client.commit(made["Id"], repository=EXIT_IMAGE.partition(":")[0], tag="1", changes=f"CMD {EXIT_COMMAND}")
    client.remove_container(made["Id"], force=True)
    yield EXIT_IMAGE
    client.remove_image(EXIT_IMAGE, force=True)


def names(client):
    return [c["name"] for c in docker_host.containers(client)]


def web(name, *ports, **more):
    return container_spec.spec(dockerd.LOCAL, name=name, ports=list(ports), **more)


def test_the_engine_and_its_images(docker_engine, client):
    found = docker_host.engine(docker_engine.url)
    assert found["state"] == "up" and found["version"].startswith("20.10") and found["message"] is None
    listed = docker_host.images(client)
    local = next(image for image in listed if image["ref"] == dockerd.LOCAL)
    assert sorted(local) == ["created", "id", "ref", "size", "tags"]
    assert len(local["id"]) == 12 and local["size"] > 0 and local["tags"] == [dockerd.LOCAL]
    assert dockerd.REGISTRY_ONLY not in [image["ref"] for image in listed]
    assert docker_host.inventory(docker_engine.url) == {"docker": found, "containers": []}


def test_a_run_container_serves_its_page_through_the_mapped_port(docker_engine, client):
    ran = docker_host.run(
        client, web("web1", "18080:80", environment={"GREETING": "s3cret-v"}, restart="always")
    )
    assert ran["pulled"] is False
    assert (ran["name"], ran["image"], ran["state"], ran["restart"]) == (
        "web1",
        dockerd.LOCAL,
        "running",
        "always",
    )
    assert ran["ports"] == [{"host_port": 18080, "container_port": 80, "protocol": "tcp", "bind": "0.0.0.0"}]
    assert ran["status"].startswith("Up") and ran["exit_code"] is None and ran["managed"] is False
    assert "s3cret-v" not in repr(ran)
    assert "Hello from a Brine container" in docker_engine.fetch(18080)
    inspected = client.inspect_container("web1")
    assert "GREETING=s3cret-v" in inspected["Config"]["Env"]
    assert inspected["Config"]["Labels"]["org.brine.created-by"] == "brine"
    listed = docker_host.containers(client)
    assert [c["id"] for c in listed] == [ran["id"]]
    assert docker_host.describe(client, "web1")["ports"] == ran["ports"]
    assert docker_host.inventory(docker_engine.url)["containers"][0]["name"] == "web1"


def test_extra_labels_mark_what_the_states_made(client):
    ran = docker_host.run(
        client, web("managed1"), labels={"org.brine.managed": "true", "org.brine.spec": "abc"}
    )
    assert ran["managed"] is True
    assert client.inspect_container("managed1")["Config"]["Labels"]["org.brine.spec"] == "abc"


def test_stop_start_pause_unpause_restart_and_remove(client):
    docker_host.run(client, web("web1", "18082:80"))
    assert docker_host.act(client, "web1", "pause")["state"] == "paused"
    with pytest.raises(Refused, match=r"\[wrong_state\] web1 is already paused"):
        docker_host.act(client, "web1", "pause")
    assert docker_host.act(client, "web1", "unpause")["state"] == "running"
    stopped = docker_host.act(client, "web1", "stop")
    assert stopped["state"] == "exited" and isinstance(stopped["exit_code"], int)
    assert stopped["status"].startswith(f"Exited ({stopped['exit_code']})")
    with pytest.raises(Refused, match=r"\[wrong_state\] web1 is not running \(exited\)"):
        docker_host.act(client, "web1", "stop")
    assert docker_host.act(client, "web1", "start")["state"] == "running"
    assert docker_host.act(client, "web1", "restart")["state"] == "running"
    with pytest.raises(Refused, match=r"\[wrong_state\] web1 is running; stop it first"):
        docker_host.act(client, "web1", "remove")
    assert docker_host.act(client, "web1", "remove", force=True) == {"name": "web1", "removed": True}
    assert docker_host.describe(client, "web1") is None and names(client) == []
    for action in docker_host.ACTIONS:
        with pytest.raises(Refused, match=r"\[no_container\] There is no container named web1"):
            docker_host.act(client, "web1", action)


def test_logs_are_the_last_lines_of_output_and_errors(docker_engine, client, exit_image):
    ran = docker_host.run(client, container_spec.spec(exit_image, name="short"), wait=30)
    assert (ran["state"], ran["exit_code"], ran["logs"]) == ("exited", 3, ["one", "two"])
    assert docker_host.logs(client, "short") == {"name": "short", "lines": ["one", "two"], "tail": 100}
    assert docker_host.logs(client, "short", tail=1)["lines"] == ["two"]
    docker_host.run(client, web("web1", "18083:80"))
    assert docker_engine.fetch(18083)
    assert any("response:200" in line for line in docker_host.logs(client, "web1")["lines"])
    with pytest.raises(Refused, match=r"\[no_container\]"):
        docker_host.logs(client, "ghost")
    with pytest.raises(Invalid, match="tail must be a whole number from 1 to 10000"):
        docker_host.logs(client, "web1", tail=10001)


def test_waiting_for_a_container_that_keeps_running_is_bounded(client):
    ran = docker_host.run(client, web("web1"), wait=1)
    assert (ran["state"], ran["exit_code"]) == ("running", None) and isinstance(ran["logs"], list)


def test_an_image_only_the_registry_has_is_pulled(client):
    assert docker_host.resolve(client, dockerd.REGISTRY_ONLY) == (dockerd.REGISTRY_ONLY, False)
    ran = docker_host.run(client, container_spec.spec(dockerd.REGISTRY_ONLY, name="hello1"))
    assert ran["pulled"] is True and ran["image"] == dockerd.REGISTRY_ONLY
    assert dockerd.REGISTRY_ONLY in [image["ref"] for image in docker_host.images(client)]
    assert docker_host.resolve(client, dockerd.REGISTRY_ONLY) == (dockerd.REGISTRY_ONLY, True)


def test_an_unqualified_reference_is_read_through_the_sites_registry(client):
    assert docker_host.resolve(client, "brine/web:1", dockerd.REGISTRY) == (dockerd.LOCAL, True)
    ran = docker_host.run(
        client, container_spec.spec("brine/hello:1", name="hello2"), registry=dockerd.REGISTRY
    )
    assert (ran["image"], ran["pulled"]) == (dockerd.REGISTRY_ONLY, True)


def test_pull_returns_the_image_and_an_unknown_one_is_no_image(client):
    pulled = docker_host.pull(client, dockerd.REGISTRY_ONLY)
    assert pulled["ref"] == dockerd.REGISTRY_ONLY and len(pulled["id"]) == 12
    with pytest.raises(
        Refused, match=r"\[no_image\] The image 127.0.0.1:5999/brine/nope:1 is not in its registry"
    ):
        docker_host.pull(client, f"{dockerd.REGISTRY}/brine/nope:1")
    with pytest.raises(Invalid, match="timeout must be a number of seconds from 1 to 3600"):
        docker_host.pull(client, dockerd.REGISTRY_ONLY, timeout=0)


def test_an_image_neither_here_nor_in_the_registry_starts_nothing(client):
    with pytest.raises(Refused, match=r"\[no_image\]"):
        docker_host.run(client, container_spec.spec("brine/nope:1", name="nope"), registry=dockerd.REGISTRY)
    assert names(client) == []


@pytest.mark.parametrize(
    "arguments",
    [
        {"image": "web;rm -rf /"},
        {"image": "$(x)"},
        {"image": "brine/web:1 --privileged"},
        {"image": dockerd.LOCAL, "ports": ["0:80"]},
        {"image": dockerd.LOCAL, "ports": ["70000:80"]},
        {"image": dockerd.LOCAL, "ports": ["18084:80", "18084:81"]},
        {"image": dockerd.LOCAL, "environment": {"GREETING": "one\ntwo"}},
        {"image": dockerd.LOCAL, "name": "a b"},
        {"image": dockerd.LOCAL, "restart": "sometimes"},
    ],
)
def test_bad_input_is_invalid_and_starts_nothing(client, arguments):
    before = docker_host.containers(client)
    with pytest.raises(Invalid) as refused:
        docker_host.run(client, dict({"name": "bad1"}, **arguments))
    assert refused.value.code == "invalid_argument" and "two" not in refused.value.sentence
    assert docker_host.containers(client) == before


def test_a_name_taken_is_container_exists(client):
    first = docker_host.run(client, web("web1"))
    with pytest.raises(Refused, match=r"\[container_exists\] A container named web1 already exists"):
        docker_host.run(client, web("web1", "18085:80"))
    assert [c["id"] for c in docker_host.containers(client)] == [first["id"]]


def test_a_host_port_another_container_publishes_is_port_in_use(client):
    docker_host.run(client, web("web1", "18086:80"))
    before = docker_host.containers(client)
    with pytest.raises(
        Refused, match=r"\[port_in_use\] Host port 18086/tcp \(ports\[1\]\) is already published by"
    ):
        docker_host.run(client, web("web2", "18087:80", "127.0.0.1:18086:81"))
    assert docker_host.containers(client) == before


def test_a_host_port_a_socket_listens_on_is_port_in_use_before_anything_is_made(client):
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 18088))
        listener.listen()
        with pytest.raises(
            Refused, match=r"\[port_in_use\] Host port 18088/tcp \(ports\[0\]\) is already in use"
        ):
            docker_host.run(client, web("web3", "18088:80"))
    assert names(client) == []


def test_a_start_docker_refuses_leaves_nothing_behind(docker_engine, client):
    """A listener only the engine's namespace has: the pre-check cannot see it, Docker's start fails,
    and the container it created is removed again."""
    docker_host.run(client, web("web1"))
    before = docker_host.containers(client)
    script = (
        "import socket, time; s = socket.socket(); s.bind(('0.0.0.0', 18089)); s.listen(); "
        "print('up', flush=True); time.sleep(120)"
    )
    listener = subprocess.Popen(
        ["ip", "netns", "exec", docker_engine.netns, sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout.readline().strip() == "up"
        with pytest.raises(Refused) as refused:
            docker_host.run(client, web("web4", "18089:80", environment={"TOKEN": "s3cret-v"}))
    finally:
        listener.kill()
        listener.wait()
    assert (refused.value.code, refused.value.sentence) == (
        "port_in_use",
        "Host port 18089 is already in use on this host; web4 was not started",
    )
    assert docker_host.containers(client) == before


def test_starting_a_stopped_container_whose_port_another_took_is_port_in_use(client):
    """A stopped container holds no port: another may publish it; starting the first is refused
    with the port named, and it stays as it was."""
    docker_host.run(client, web("web1", "18095:80"))
    docker_host.act(client, "web1", "stop")
    docker_host.run(client, web("web2", "18095:80"))
    for action in ("start", "restart"):
        with pytest.raises(Refused) as refused:
            docker_host.act(client, "web1", action)
        assert (refused.value.code, refused.value.sentence) == (
            "port_in_use",
            "Host port 18095 is already in use on this host; web1 was not started",
        )
        assert docker_host.describe(client, "web1")["state"] in ("exited", "created")
