"""
The host's ``containers`` execution module, loaded by Salt's loader, against a REAL Docker engine
and registry (the ``docker_engine`` fixture): ``docker.url`` is the engine's socket and
``brine:containers:registry`` its registry, as a host's minion configuration has them; the minion's
key (``pki_dir/minion.pem``) is a key pair made here, so an environment sealed to it opens.

Issue 12's host side: a web server run with a port mapping serves its page through the mapped
port, is stopped and removed; an image only the registry has is pulled; every bad input is a coded
error with nothing started; ``hypervisor.inventory`` carries the engine and its containers.
"""

import json

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from brine import sealed
from support import dockerd
from support.paths import REPO
from support.provisioning import key_pair

KEYS = key_pair()
OTHER_KEYS = key_pair()
ENV_IMAGE = "brine-test/env:1"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("pki")
    (path / "minion.pem").write_bytes(KEYS[0])
    return path


@pytest.fixture(scope="module")
def minion_opts(salt_factories, minion_id, state_tree, docker_engine, pki_dir):
    factory = salt_factories.salt_minion_daemon(
        minion_id,
        overrides={
            "file_client": "local",
            "file_roots": {"base": [str(state_tree)]},
            "module_dirs": [str(REPO / "_modules")],
            "utils_dirs": [str(REPO / "_utils")],
            "virt": {"connection": {"uri": "test:///default"}},
            "docker.url": docker_engine.url,
            "brine": {"containers": {"registry": dockerd.REGISTRY}},
        },
    )
    opts = factory.config.copy()
    opts["pki_dir"] = str(pki_dir)
    return opts


@pytest.fixture
def containers(modules, docker_engine):
    try:
        yield modules.containers
    finally:
        docker_engine.cleanup()


@pytest.fixture(scope="module")
def env_image(docker_engine):
    """A local image whose command prints its environment and exits (made from ``dockerd.LOCAL``)."""
    client = docker_engine.client()
    made = client.create_container(dockerd.LOCAL)
    client.commit(made["Id"], repository=ENV_IMAGE.partition(":")[0], tag="1", changes='CMD ["/bin/env"]')
    client.remove_container(made["Id"], force=True)
    yield ENV_IMAGE
    client.remove_image(ENV_IMAGE, force=True)


def code_of(raised):
    return raised.value.code


def test_the_module_loads_with_list_and_knows_its_engine(modules):
    assert "containers.list" in modules and "containers.list_" not in modules
    engine = modules.containers.engine()
    assert engine["state"] == "up" and engine["version"].startswith("20.10")


def test_a_web_server_serves_through_its_mapped_port_then_stops_and_goes(containers, docker_engine):
    ran = containers.run("brine/web:1", name="web1", ports=["18180:80"], restart="unless-stopped")
    assert (ran["name"], ran["image"], ran["state"], ran["pulled"]) == (
        "web1",
        dockerd.LOCAL,
        "running",
        False,
    )
    assert ran["ports"] == [{"host_port": 18180, "container_port": 80, "protocol": "tcp", "bind": "0.0.0.0"}]
    assert "Hello from a Brine container" in docker_engine.fetch(18180)
    assert [c["name"] for c in containers.list()] == ["web1"]
    assert any("response:200" in line for line in containers.logs("web1")["lines"])
    assert containers.pause("web1")["state"] == "paused"
    assert containers.unpause("web1")["state"] == "running"
    assert containers.restart("web1")["state"] == "running"
    assert containers.stop("web1")["state"] == "exited"
    assert docker_engine.fetch(18180, wait=0) is None
    with pytest.raises(CommandExecutionError) as raised:
        containers.stop("web1")
    assert code_of(raised) == "wrong_state"
    assert containers.start("web1")["state"] == "running"
    with pytest.raises(CommandExecutionError) as raised:
        containers.remove("web1")
    assert code_of(raised) == "wrong_state"
    assert containers.remove("web1", force="true") == {"name": "web1", "removed": True}
    assert containers.list() == []
    with pytest.raises(CommandExecutionError) as raised:
        containers.start("web1")
    assert code_of(raised) == "no_container"


def test_an_image_only_the_registry_has_is_pulled_when_run(containers):
    assert dockerd.REGISTRY_ONLY not in [image["ref"] for image in containers.images()]
    ran = containers.run("brine/hello:1", name="hello1")
    assert (ran["image"], ran["pulled"]) == (dockerd.REGISTRY_ONLY, True)
    assert dockerd.REGISTRY_ONLY in [image["ref"] for image in containers.images()]


def test_pull_reads_an_unqualified_reference_through_the_registry(containers):
    pulled = containers.pull("brine/hello:1")
    assert pulled["ref"] == dockerd.REGISTRY_ONLY and sorted(pulled) == [
        "created",
        "id",
        "ref",
        "size",
        "tags",
    ]
    with pytest.raises(CommandExecutionError) as raised:
        containers.pull("brine/nope:1")
    assert code_of(raised) == "no_image"


def test_running_in_the_foreground_waits_for_the_exit_and_opens_a_sealed_environment(containers, env_image):
    box = sealed.seal(KEYS[1], json.dumps({"TOKEN": "s3cret-v"}), "containers.run:env1")
    done = containers.run(
        env_image,
        name="env1",
        environment={"PLAIN": "yes"},
        sealed_environment=box,
        detach=False,
        timeout=30.0,
    )
    assert (done["state"], done["exit_code"]) == ("exited", 0)
    assert "TOKEN=s3cret-v" in done["logs"] and "PLAIN=yes" in done["logs"]
    assert "s3cret-v" not in repr({key: value for key, value in done.items() if key != "logs"})


@pytest.mark.parametrize(
    ("box", "arguments", "words"),
    [
        ((OTHER_KEYS[1], "containers.run:env2"), {}, "was not sealed for this host's key"),
        ((KEYS[1], "containers.run:other"), {}, "was not sealed for this host's key"),
        ((KEYS[1], "containers.run:env2"), {"name": None}, "name is needed with sealed_environment"),
    ],
)
def test_a_sealed_environment_opens_only_with_this_hosts_key_for_this_name(containers, box, arguments, words):
    sealed_box = sealed.seal(box[0], json.dumps({"TOKEN": "s3cret-v"}), box[1])
    with pytest.raises((CommandExecutionError, SaltInvocationError)) as raised:
        containers.run(ENV_IMAGE, **{"name": "env2", "sealed_environment": sealed_box, **arguments})
    assert code_of(raised) == "invalid_argument" and words in str(raised.value)
    assert containers.list() == []


def test_a_sealed_environment_is_checked_like_a_plain_one(containers):
    for text in (json.dumps({"TOKEN": "one\ntwo"}), json.dumps(["TOKEN"]), "not json"):
        box = sealed.seal(KEYS[1], text, "containers.run:env3")
        with pytest.raises(SaltInvocationError) as raised:
            containers.run(dockerd.LOCAL, name="env3", sealed_environment=box)
        assert code_of(raised) == "invalid_argument" and "two" not in str(raised.value)
    assert containers.list() == []


@pytest.mark.parametrize(
    "arguments",
    [
        {"image": "web;rm -rf /"},
        {"image": "$(x)"},
        {"image": "brine/web:1 --privileged"},
        {"image": "brine/web:1", "ports": ["0:80"]},
        {"image": "brine/web:1", "ports": ["70000:80"]},
        {"image": "brine/web:1", "ports": [{"host_port": 18181, "container_port": 70000}]},
        {"image": "brine/web:1", "environment": {"GREETING": "one\ntwo"}},
        {"image": "brine/web:1", "environment": ["GREETING=one\ntwo"]},
        {"image": "brine/web:1", "timeout": 0},
        {"image": "brine/web:1", "timeout": 601},
        {"image": "brine/web:1", "detach": "maybe"},
    ],
)
def test_bad_input_is_a_clear_error_and_nothing_starts(containers, arguments):
    with pytest.raises(SaltInvocationError) as raised:
        containers.run(**{"name": "bad1", **arguments})
    assert code_of(raised) == "invalid_argument" and "two" not in str(raised.value)
    assert containers.list() == []


def test_a_taken_host_port_or_name_is_refused_and_nothing_more_starts(containers):
    first = containers.run("brine/web:1", name="web1", ports=["18182:80"])
    for arguments, code, words in (
        ({"name": "web2", "ports": ["18182:80"]}, "port_in_use", "Host port 18182/tcp"),
        (
            {"name": "web1", "ports": ["18183:80"]},
            "container_exists",
            "A container named web1 already exists",
        ),
        ({"name": "web3", "image": "brine/nope:1"}, "no_image", "brine/nope:1"),
    ):
        with pytest.raises(CommandExecutionError) as raised:
            containers.run(**{"image": "brine/web:1", **arguments})
        assert code_of(raised) == code and words in str(raised.value)
        assert [c["id"] for c in containers.list()] == [first["id"]]


def test_bounds_on_logs(containers):
    containers.run("brine/web:1", name="web1")
    for tail in (0, 10001, "all"):
        with pytest.raises(SaltInvocationError, match="tail must be a whole number from 1 to 10000"):
            containers.logs("web1", tail=tail)
    assert containers.logs("web1", tail=10000)["tail"] == 10000


def test_the_hypervisor_inventory_carries_the_engine_and_its_containers(modules, containers):
    ran = containers.run("brine/web:1", name="web1", ports=["18184:80"])
    inventory = modules.hypervisor.inventory()
    assert inventory["docker"] == modules.containers.engine()
    expected = {key: value for key, value in ran.items() if key != "pulled"}
    assert [dict(c, status=None) for c in inventory["containers"]] == [dict(expected, status=None)]
    assert "vms" in inventory and "host" in inventory
