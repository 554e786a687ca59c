"""
brine.container_apply with a fake Docker (``inspect_container`` answered from a table, and
``docker_host.run`` / ``act`` recorded): which calls each case makes, in which order, that
``test`` makes none, and the refusals. The real engine is in
tests/functional/test_containers_states_functional.py.
"""

import docker.errors
import pytest

from brine import container_apply
from brine import container_desired
from brine import docker_host
from brine.errors import Refused

SECRET = "s3cr3t"


def spec(**changes):
    description = {"image": "brine/web:1", "ports": ["8080:80"], "environment": {"TOKEN": SECRET}}
    description.update(changes)
    return container_desired.entry("web1", description)["spec"]


def inspected(described, state="running", labels=None, image=None):
    return {
        "Id": "ab" * 32,
        "State": {"Status": state},
        "Config": {
            "Image": image or described["image"]["ref"],
            "Env": [f"{key}={value}" for key, value in described["environment"].items()],
            "Labels": container_desired.labels(described) if labels is None else labels,
        },
        "HostConfig": {
            "PortBindings": {
                f"{p['container_port']}/{p['protocol']}": [
                    {"HostIp": p["bind"], "HostPort": str(p["host_port"])}
                ]
                for p in described["ports"]
            },
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        },
    }


class FakeDocker:
    """The engine's containers by name, and every change asked of docker_host."""

    def __init__(self, monkeypatch, data=None):
        self.data = data
        self.calls = []
        self.refuse_run = None
        monkeypatch.setattr(docker_host, "run", self.run)
        monkeypatch.setattr(docker_host, "act", self.act)

    def inspect_container(self, name):
        if self.data is None:
            raise docker.errors.NotFound("no such container")
        return self.data

    def run(self, client, described, registry=None, wait=None, labels=None):
        self.calls.append(("run", described["name"], registry, labels))
        if self.refuse_run:
            raise self.refuse_run
        return {"id": "cd" * 6, "image": f"{registry}/{described['image']['ref']}", "pulled": True}

    def act(self, client, name, action, force=False):
        self.calls.append((action, name))
        if action == "remove":
            self.data = None
            return {"name": name, "removed": True}
        new = {"start": "running", "unpause": "running", "stop": "exited"}[action]
        self.data = {**self.data, "State": {"Status": new}}
        return {"name": name, "state": new}


def test_an_absent_container_is_run_with_the_labels(monkeypatch):
    fake = FakeDocker(monkeypatch)
    described = spec()
    outcome = container_apply.running(fake, described, "reg:5000")
    assert fake.calls == [("run", "web1", "reg:5000", container_desired.labels(described))]
    assert outcome.result is True
    assert outcome.changes["created"]["environment"] == ["TOKEN"]
    assert outcome.changes["pulled"] == "reg:5000/brine/web:1"
    assert "pulled" in outcome.comment and SECRET not in repr(outcome.changes) + outcome.comment


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, {"created"}),
        ("differs", {"recreated"}),
        ("exited", {"state"}),
    ],
)
def test_test_mode_touches_nothing(monkeypatch, data, expected):
    described = spec()
    if data == "differs":
        data = inspected(spec(ports=["8081:80"]))
    elif data == "exited":
        data = inspected(described, state="exited")
    fake = FakeDocker(monkeypatch, data)
    outcome = container_apply.running(fake, described, test=True)
    assert fake.calls == [] and outcome.result is None
    assert set(outcome.changes) == expected


def test_a_container_the_states_did_not_make_is_refused(monkeypatch):
    fake = FakeDocker(monkeypatch, inspected(spec(), labels={}))
    with pytest.raises(Refused) as err:
        container_apply.running(fake, spec())
    assert err.value.code == "container_exists" and fake.calls == []


def test_a_different_running_container_is_stopped_removed_and_run_again(monkeypatch):
    fake = FakeDocker(monkeypatch, inspected(spec()))
    outcome = container_apply.running(fake, spec(environment={"TOKEN": SECRET + "x"}))
    assert [call[0] for call in fake.calls] == ["stop", "remove", "run"]
    assert outcome.changes["recreated"] == ["environment changed (TOKEN)"]
    assert outcome.changes["id"] == {"old": "ab" * 6, "new": "cd" * 6}
    assert SECRET not in repr(outcome.changes) + outcome.comment


def test_a_recreation_whose_run_is_refused_says_the_old_one_is_gone(monkeypatch):
    fake = FakeDocker(monkeypatch, inspected(spec(), state="exited"))
    fake.refuse_run = Refused("port_in_use", "Host port 8081/tcp is already in use on this host")
    with pytest.raises(Refused) as err:
        container_apply.running(fake, spec(ports=["8081:80"]))
    assert [call[0] for call in fake.calls] == ["remove", "run"]
    assert err.value.code == "port_in_use"
    assert "web1 was removed to be recreated (ports 8080:80/tcp → 8081:80/tcp)" in str(err.value)


@pytest.mark.parametrize(
    ("state", "action"), [("exited", "start"), ("created", "start"), ("paused", "unpause")]
)
def test_a_described_container_not_running_is_started(monkeypatch, state, action):
    fake = FakeDocker(monkeypatch, inspected(spec(), state=state))
    outcome = container_apply.running(fake, spec())
    assert fake.calls == [(action, "web1")]
    assert outcome.changes == {"state": {"old": state, "new": "running"}}


def test_running_as_described_is_no_change(monkeypatch):
    fake = FakeDocker(monkeypatch, inspected(spec()))
    outcome = container_apply.running(fake, spec())
    assert (outcome.result, outcome.changes, fake.calls) == (True, {}, [])


def test_stopped_unpauses_a_paused_one_first(monkeypatch):
    fake = FakeDocker(monkeypatch, inspected(spec(), state="paused"))
    outcome = container_apply.stopped(fake, "web1")
    assert fake.calls == [("unpause", "web1"), ("stop", "web1")]
    assert outcome.changes == {"state": {"old": "paused", "new": "exited"}}


@pytest.mark.parametrize("state", ["exited", None])
def test_stopped_has_nothing_to_do_when_not_running_or_absent(monkeypatch, state):
    fake = FakeDocker(monkeypatch, None if state is None else inspected(spec(), state=state))
    outcome = container_apply.stopped(fake, "web1")
    assert (outcome.result, outcome.changes, fake.calls) == (True, {}, [])


def test_absent_stops_then_removes_any_container_of_the_name(monkeypatch):
    fake = FakeDocker(monkeypatch, inspected(spec(), labels={}))
    outcome = container_apply.absent(fake, "web1")
    assert fake.calls == [("stop", "web1"), ("remove", "web1")]
    assert outcome.changes == {"removed": {"id": "ab" * 6, "image": "brine/web:1"}}
    assert container_apply.absent(fake, "web1").changes == {}


def test_described_dispatches_on_the_entry_state(monkeypatch):
    fake = FakeDocker(monkeypatch, inspected(spec()))
    entry = container_desired.entry("web1", {"state": "absent"})
    assert container_apply.described(fake, entry, test=True).changes["removed"]["id"] == "ab" * 6
    entry = container_desired.entry("web1", {"state": "stopped"})
    assert container_apply.described(fake, entry, test=True).changes["state"]["old"] == "running"
    assert fake.calls == []
