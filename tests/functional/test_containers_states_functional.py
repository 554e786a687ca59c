"""
The ``containers`` formula applied through Salt's loader (``state.apply containers``) against a real
Docker engine and registry (the ``docker_engine`` fixture), with the containers given as pillar:
a described container is made and started, a second run changes nothing, ``test=True`` says what
would change and changes nothing, a changed port, environment or image recreates it (pulling an
image only the registry has), ``stopped`` and ``absent`` do what they say, a container no entry
names is left alone and one the states did not make is never replaced, a bad entry fails alone,
and no state return ever holds an environment value.
"""

import json

import pytest
from saltfactories.utils.functional import Loaders

from support import dockerd
from support.paths import REPO

pytest.importorskip("docker")

SECRET = "hunter2-not-for-logs"
WEB = "brine-sf-web"
SID = f"containers-{WEB}-containers-described"


@pytest.fixture(scope="module")
def minion_opts(salt_factories, minion_id, docker_engine):
    factory = salt_factories.salt_minion_daemon(
        minion_id,
        overrides={
            "file_client": "local",
            "file_roots": {"base": [str(REPO / "states")]},
            "module_dirs": [str(REPO / "_modules")],
            "states_dirs": [str(REPO / "_states")],
            "utils_dirs": [str(REPO / "_utils")],
            "docker.url": docker_engine.url,
        },
    )
    return factory.config.copy()


@pytest.fixture(scope="module")
def loaders(minion_opts):
    return Loaders(minion_opts)


@pytest.fixture
def engine(docker_engine):
    docker_engine.cleanup()
    yield docker_engine
    docker_engine.cleanup()


def web(**changes):
    """The described web server: the site's registry rule finds brine/web:1 as the registry's."""
    described = {
        "image": "brine/web:1",
        "ports": ["18080:80"],
        "environment": {"GREETING": "hello", "TOKEN": SECRET},
        "restart": "unless-stopped",
    }
    described.update(changes)
    return described


def apply(loaders, containers, test=False):
    pillar = {"containers": containers, "brine": {"containers": {"registry": dockerd.REGISTRY}}}
    ret = loaders.modules.state.apply("containers", pillar=pillar, test=test).raw
    assert isinstance(ret, dict), ret
    # No state return, whatever it did, holds an environment value.
    assert SECRET not in json.dumps(ret, default=str), ret
    return {result["name"]: result for result in ret.values()}


def container(engine, name=WEB):
    found = [c for c in engine.client().containers(all=True) if f"/{name}" in c["Names"]]
    return engine.client().inspect_container(found[0]["Id"]) if found else None


def test_a_described_container_is_made_then_kept(loaders, engine):
    bystander = engine.client().create_container(dockerd.LOCAL, name="brine-sf-bystander")
    first = apply(loaders, {WEB: web()})[WEB]
    assert first["result"] is True, first
    assert first["changes"]["created"] == {
        "image": "brine/web:1",
        "ports": ["18080:80/tcp"],
        "restart": "unless-stopped",
        "environment": ["GREETING", "TOKEN"],
        "id": first["changes"]["created"]["id"],
    }
    data = container(engine)
    assert data["State"]["Running"] and data["Config"]["Image"] == dockerd.LOCAL
    assert f"TOKEN={SECRET}" in data["Config"]["Env"]
    assert data["Config"]["Labels"]["org.brine.managed"] == "true"
    assert len(data["Config"]["Labels"]["org.brine.spec"]) == 64
    assert SECRET not in json.dumps(data["Config"]["Labels"])
    assert engine.fetch(18080) is not None

    second = apply(loaders, {WEB: web()})[WEB]
    assert second["result"] is True and second["changes"] == {}, second
    assert "running as described" in second["comment"]
    assert container(engine)["Id"] == data["Id"]
    # The container no entry names is as it was.
    assert engine.client().inspect_container(bystander["Id"])["State"]["Status"] == "created"


def test_a_dry_run_says_what_would_change_and_changes_nothing(loaders, engine):
    dry = apply(loaders, {WEB: web()}, test=True)[WEB]
    assert dry["result"] is None and "would be created" in dry["comment"], dry
    assert dry["changes"]["created"]["environment"] == ["GREETING", "TOKEN"]
    assert container(engine) is None

    apply(loaders, {WEB: web()})
    before = container(engine)["Id"]
    changed = web(environment={"GREETING": "hello", "TOKEN": SECRET + "-rotated"})
    dry = apply(loaders, {WEB: changed}, test=True)[WEB]
    assert dry["result"] is None, dry
    assert dry["changes"] == {"recreated": ["environment changed (TOKEN)"]}
    assert "would be recreated (environment changed (TOKEN))" in dry["comment"]
    assert container(engine)["Id"] == before and f"TOKEN={SECRET}" in container(engine)["Config"]["Env"]
    # A stopped one would be started.
    engine.client().stop(before, timeout=1)
    dry = apply(loaders, {WEB: web()}, test=True)[WEB]
    assert dry["result"] is None and dry["changes"] == {"state": {"old": "exited", "new": "running"}}, dry
    assert container(engine)["State"]["Status"] == "exited"


def test_a_changed_port_environment_or_image_recreates_it(loaders, engine):
    apply(loaders, {WEB: web()})
    first = container(engine)["Id"]

    moved = apply(loaders, {WEB: web(ports=["18081:80"])})[WEB]
    assert moved["result"] is True, moved
    assert moved["changes"]["recreated"] == ["ports 18080:80/tcp → 18081:80/tcp"]
    assert moved["changes"]["id"]["old"] == first[:12]
    assert engine.fetch(18081) is not None and engine.fetch(18080, wait=0) is None

    rotated = apply(loaders, {WEB: web(ports=["18081:80"], environment={"TOKEN": SECRET + "2"})})[WEB]
    assert rotated["changes"]["recreated"] == ["environment changed (GREETING, TOKEN)"], rotated
    assert f"TOKEN={SECRET}2" in container(engine)["Config"]["Env"]

    # An image only the registry has: pulled, and the container made from it.
    image = apply(loaders, {WEB: web(image="brine/hello:1", ports=[])})[WEB]
    assert image["result"] is True, image
    assert "image 127.0.0.1:5999/brine/web:1 → brine/hello:1" in image["changes"]["recreated"]
    assert image["changes"]["pulled"] == dockerd.REGISTRY_ONLY
    assert container(engine)["Config"]["Image"] == dockerd.REGISTRY_ONLY
    again = apply(loaders, {WEB: web(image="brine/hello:1", ports=[])})[WEB]
    assert again["changes"] == {}, again


def test_stopped_is_started_by_running_and_stopped_and_absent_do_what_they_say(loaders, engine):
    apply(loaders, {WEB: web()})
    ident = container(engine)["Id"]
    stopped = apply(loaders, {WEB: {"state": "stopped"}})[WEB]
    assert stopped["result"] is True and stopped["changes"] == {"state": {"old": "running", "new": "exited"}}
    assert apply(loaders, {WEB: {"state": "stopped"}})[WEB]["changes"] == {}

    started = apply(loaders, {WEB: web()})[WEB]
    assert started["changes"] == {"state": {"old": "exited", "new": "running"}}, started
    assert container(engine)["Id"] == ident

    dry = apply(loaders, {WEB: {"state": "absent"}}, test=True)[WEB]
    assert dry["result"] is None and container(engine) is not None
    gone = apply(loaders, {WEB: {"state": "absent"}})[WEB]
    assert gone["result"] is True and gone["changes"]["removed"]["id"] == ident[:12], gone
    assert container(engine) is None
    assert apply(loaders, {WEB: {"state": "absent"}})[WEB]["changes"] == {}
    assert apply(loaders, {WEB: {"state": "stopped"}})[WEB]["result"] is True


def test_a_container_the_states_did_not_make_is_never_replaced(loaders, engine):
    made = engine.client().create_container(dockerd.LOCAL, name=WEB)
    refused = apply(loaders, {WEB: web()})[WEB]
    assert refused["result"] is False and refused["comment"].startswith("[container_exists] "), refused
    assert refused["changes"] == {}
    assert container(engine)["Id"] == made["Id"]


def test_a_bad_entry_fails_its_own_state_and_the_others_apply(loaders, engine):
    results = apply(
        loaders,
        {
            WEB: web(),
            "brine-sf-typo": {"imgae": "brine/web:1"},
            "brine-sf-port": {"image": "brine/web:1", "ports": ["70000:80"]},
            "brine-sf-z-taken": {"image": "brine/web:1", "ports": ["18080:80"]},
            "brine-sf-secret": {"image": "brine/web:1", "environment": {"TOKEN": SECRET + "\nline"}},
        },
    )
    assert results[WEB]["result"] is True, results[WEB]
    assert results["brine-sf-typo"]["comment"].startswith("[invalid_argument] containers:brine-sf-typo")
    assert "unknown key 'imgae'" in results["brine-sf-typo"]["comment"]
    assert "70000" in results["brine-sf-port"]["comment"] and results["brine-sf-port"]["result"] is False
    assert "TOKEN" in results["brine-sf-secret"]["comment"]
    # The host port WEB holds (applied before it: the formula goes in name order).
    taken = results["brine-sf-z-taken"]
    assert taken["result"] is False and taken["comment"].startswith("[port_in_use] "), taken
    assert [c["Names"] for c in engine.client().containers(all=True)] == [[f"/{WEB}"]]


def test_the_hand_written_states_do_the_same(loaders, engine):
    """containers.running, stopped and absent, as a hand-written SLS calls them."""
    states = loaders.states.containers
    made = states.running(name=WEB, image=dockerd.LOCAL, ports=["18082:80"], environment={"TOKEN": SECRET})
    assert made.result is True and made.changes["created"]["ports"] == ["18082:80/tcp"], made.raw
    assert SECRET not in json.dumps(made.raw, default=str)
    again = states.running(name=WEB, image=dockerd.LOCAL, ports=["18082:80"], environment={"TOKEN": SECRET})
    assert again.result is True and again.changes == {}, again.raw
    refused = states.running(name=WEB, image="brine/web:1; rm -rf /")
    assert refused.result is False and str(refused.comment).startswith("[invalid_argument] "), refused.raw
    assert states.stopped(name=WEB).changes == {"state": {"old": "running", "new": "exited"}}
    assert states.absent(name=WEB).changes["removed"]["image"] == dockerd.LOCAL
    assert container(engine) is None
