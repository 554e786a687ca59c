"""
The pure parts of the Docker side of Brine's library (``brine.docker_host``, ``brine.docker_shapes``):
Docker's summaries and inspects as Brine's container and image dicts (recorded from Debian's 20.10
engine), the status words, the port checks with real sockets, Docker's errors as coded refusals
(environment values blanked), the bounds, and an engine that is not there. The rest runs against a
real engine in tests/functional/test_docker_host_functional.py.
"""

import os
import socket

import docker
import pytest
import requests

from brine import docker_host
from brine import docker_shapes
from brine.errors import Invalid
from brine.errors import Refused

ID = "f6b1b8accb43cdc3eab608e9bafdab06806b3eefd5c0be0bb6daf8baa4202c76"
IMAGE_ID = "sha256:b9926c235ee81f84ee73621aa3b54c2c8ee2e2a887dbbc2072d8e29312f175ef"
SUMMARY = {
    "Id": ID,
    "Names": ["/w1"],
    "Image": "127.0.0.1:5999/brine/web:1",
    "ImageID": IMAGE_ID,
    "Command": "/bin/httpd -f -v -p 80 -h /www",
    "Created": 1796008426,
    "Ports": [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"PrivatePort": 443, "Type": "tcp"},
    ],
    "Labels": {"org.brine.created-by": "brine", "org.brine.managed": "true"},
    "State": "running",
    "Status": "Up 2 seconds",
}
INSPECT = {
    "Id": ID,
    "Created": "2026-11-30T03:13:46.901732164Z",
    "Path": "/bin/httpd",
    "Args": ["-f", "-v", "-p", "80", "-h", "/www"],
    "State": {
        "Status": "exited",
        "Running": False,
        "Paused": False,
        "Restarting": False,
        "Dead": False,
        "ExitCode": 137,
        "StartedAt": "2026-11-30T03:13:47.096722499Z",
        "FinishedAt": "2026-11-30T03:14:51.285182854Z",
    },
    "Image": IMAGE_ID,
    "Name": "/w1",
    "Config": {
        "Image": "127.0.0.1:5999/brine/web:1",
        "Env": ["SECRET=hunter2-value"],
        "Labels": {"org.brine.created-by": "brine"},
    },
    "HostConfig": {
        "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
    },
    "NetworkSettings": {"Ports": {}},
}


# --- container and image dicts --------------------------------------------------------


def test_a_summary_becomes_a_container_dict_with_the_ipv6_twin_folded():
    assert docker_host.container_dict(SUMMARY) == {
        "name": "w1",
        "id": "f6b1b8accb43",
        "image": "127.0.0.1:5999/brine/web:1",
        "image_id": "b9926c235ee8",
        "state": "running",
        "status": "Up 2 seconds",
        "ports": [{"host_port": 8080, "container_port": 80, "protocol": "tcp", "bind": "0.0.0.0"}],
        "created": 1796008426,
        "restart": None,
        "exit_code": None,
        "command": "/bin/httpd -f -v -p 80 -h /www",
        "managed": True,
    }


def test_a_summary_of_an_exited_container_carries_its_exit_code():
    data = dict(SUMMARY, State="exited", Status="Exited (137) 5 minutes ago", Ports=[])
    assert docker_host.container_dict(data)["exit_code"] == 137


def test_an_inspect_becomes_the_same_dict_with_restart_exit_code_and_no_environment():
    found = docker_host.container_dict(dict(INSPECT, Status="Exited (137) 3 minutes ago"))
    assert found == {
        "name": "w1",
        "id": "f6b1b8accb43",
        "image": "127.0.0.1:5999/brine/web:1",
        "image_id": "b9926c235ee8",
        "state": "exited",
        "status": "Exited (137) 3 minutes ago",
        "ports": [{"host_port": 8080, "container_port": 80, "protocol": "tcp", "bind": "0.0.0.0"}],
        "created": 1796008426,
        "restart": "on-failure:3",
        "exit_code": 137,
        "command": "/bin/httpd -f -v -p 80 -h /www",
        "managed": False,
    }
    assert "hunter2" not in repr(found)


def test_a_running_container_shows_the_ports_docker_published_and_no_exit_code():
    running = dict(
        INSPECT,
        State={"Status": "running", "Running": True, "ExitCode": 0, "StartedAt": "2026-11-30T03:13:47Z"},
        NetworkSettings={
            "Ports": {
                "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8081"}, {"HostIp": "::", "HostPort": "8081"}],
                "443/tcp": None,
            }
        },
        HostConfig={"RestartPolicy": {"Name": "", "MaximumRetryCount": 0}},
    )
    found = docker_host.container_dict(running)
    assert found["ports"] == [{"host_port": 8081, "container_port": 80, "protocol": "tcp", "bind": "0.0.0.0"}]
    assert (found["exit_code"], found["restart"]) == (None, "no")


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ({"Running": True, "StartedAt": "2026-11-30T03:13:00Z"}, "Up 47 seconds"),
        ({"Running": True, "Paused": True, "StartedAt": "2026-11-30T01:00:00Z"}, "Up 2 hours (Paused)"),
        (
            {"Running": True, "Restarting": True, "ExitCode": 1, "FinishedAt": "2026-11-30T03:13:46Z"},
            "Restarting (1) 1 second ago",
        ),
        ({"StartedAt": "0001-01-01T00:00:00Z"}, "Created"),
        ({"Dead": True}, "Dead"),
        ({"Status": "removing"}, "Removal In Progress"),
        (
            {"ExitCode": 3, "StartedAt": "2026-11-20T00:00:00Z", "FinishedAt": "2026-11-20T00:00:01Z"},
            "Exited (3) 10 days ago",
        ),
    ],
)
def test_status_words_are_made_as_docker_makes_them_when_an_inspect_has_none(state, words):
    now = docker_shapes._epoch("2026-11-30T03:13:47Z")
    assert docker_shapes._status(state, now=now) == words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (3599, "59 minutes"),
        (3600, "About an hour"),
        (47 * 3600, "47 hours"),
        (3 * 86400, "3 days"),
        (20 * 86400, "2 weeks"),
        (90 * 86400, "3 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_durations_read_as_dockers_words(seconds, words):
    assert docker_shapes._human(seconds) == words


def test_image_dicts_from_either_shape_and_a_dangling_image_is_none():
    listed = {"Id": IMAGE_ID, "RepoTags": ["b/web:1", "a/web:1"], "Created": 1796008379, "Size": 1982442}
    assert docker_host.image_dict(listed) == {
        "id": "b9926c235ee8",
        "tags": ["a/web:1", "b/web:1"],
        "ref": "a/web:1",
        "created": 1796008379,
        "size": 1982442,
    }
    dangling = {"Id": IMAGE_ID, "RepoTags": ["<none>:<none>"], "Created": "2026-11-30T03:12:59.5Z", "Size": 5}
    assert docker_host.image_dict(dangling) | {"created": None} == {
        "id": "b9926c235ee8",
        "tags": [],
        "ref": "<none>",
        "created": None,
        "size": 5,
    }
    assert docker_host.image_dict(dangling)["created"] == 1796008379


# --- ports --------------------------------------------------------------------------------


def _mapping(port, protocol="tcp", bind="0.0.0.0"):
    return {"host_port": port, "container_port": 80, "protocol": protocol, "bind": bind}


def _free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_listening_tcp_socket_or_a_bound_udp_one_holds_the_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert docker_host.port_free("127.0.0.1", port, "tcp") is False
        assert docker_host.port_free("0.0.0.0", port, "tcp") is False
        assert docker_host.port_free("127.0.0.1", port, "udp") is True
        refusal = docker_host.port_conflict([_mapping(port)], [])
    assert (refusal.code, refusal.sentence) == (
        "port_in_use",
        f"Host port {port}/tcp (ports[0]) is already in use on this host (0.0.0.0)",
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as bound:
        bound.bind(("127.0.0.1", 0))
        assert docker_host.port_free("127.0.0.1", bound.getsockname()[1], "udp") is False
    assert docker_host.port_free("127.0.0.1", _free_port(), "tcp") is True


def test_an_address_this_host_does_not_have_is_refused():
    with pytest.raises(Invalid, match=r"ports: 192\.0\.2\.77 is not an address of this host"):
        docker_host.port_free("192.0.2.77", _free_port(), "tcp")


def test_a_port_another_container_publishes_while_it_holds_its_ports():
    web = {"name": "web", "state": "running", "ports": [_mapping(8080, bind="127.0.0.1")]}
    refusal = docker_host.port_conflict([_mapping(8081), _mapping(8080)], [web], probe=lambda *a: True)
    assert (refusal.code, refusal.sentence) == (
        "port_in_use",
        "Host port 8080/tcp (ports[1]) is already published by container web",
    )
    for held in ("paused", "restarting"):
        assert docker_host.port_conflict([_mapping(8080)], [dict(web, state=held)], lambda *a: True)
    free = docker_host.port_conflict
    assert free([_mapping(8080)], [dict(web, state="exited")], lambda *a: True) is None
    assert free([_mapping(8080, protocol="udp")], [web], lambda *a: True) is None
    assert free([_mapping(8080, bind="10.0.0.2")], [web], lambda *a: True) is None


# --- errors ------------------------------------------------------------------------------


def _api_error(status, explanation):
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError("x", response=response, explanation=explanation)


def test_dockers_refusals_are_docker_error_with_every_environment_value_blanked():
    with pytest.raises(Refused) as refused, docker_host.docker_errors("Could not run w1", ["s3cret-value"]):
        raise _api_error(500, "cannot use s3cret-value here")
    assert (refused.value.code, refused.value.sentence) == (
        "docker_error",
        "Could not run w1: cannot use *** here",
    )
    assert refused.value.__cause__ is None and "s3cret" not in str(refused.value)


def test_an_engine_that_does_not_answer_is_unavailable_or_a_timeout():
    with pytest.raises(Refused) as refused, docker_host.docker_errors("Could not list"):
        raise requests.exceptions.ConnectionError("Connection aborted.")
    assert refused.value.code == "docker_unavailable"
    with pytest.raises(Refused) as refused, docker_host.docker_errors("Could not list"):
        raise requests.exceptions.ConnectionError("UnixHTTPConnectionPool: Read timed out.")
    assert (refused.value.code, refused.value.sentence) == (
        "timeout",
        "Could not list: the Docker engine did not answer in time",
    )


@pytest.mark.parametrize(
    ("words", "code", "sentence"),
    [
        (
            "driver failed programming external connectivity on endpoint w2 (11a4): "
            "Bind for 0.0.0.0:8080 failed: port is already allocated",
            "port_in_use",
            "Host port 8080 is already in use on this host; w2 was not started",
        ),
        (
            "Error starting userland proxy: listen tcp4 0.0.0.0:18081: bind: address already in use",
            "port_in_use",
            "Host port 18081 is already in use on this host; w2 was not started",
        ),
        (
            "OCI runtime create failed: no PASSWORD=s3cret",
            "docker_error",
            "Could not start w2: OCI runtime create failed: no PASSWORD=***",
        ),
    ],
)
def test_a_failed_start_says_which_port(words, code, sentence):
    refusal = docker_host._start_refusal(_api_error(500, words), "w2", [_mapping(8080)], ["s3cret"])
    assert (refusal.code, refusal.sentence) == (code, sentence)


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("manifest for r:5000/x:1 not found: manifest unknown: manifest unknown", "no_image"),
        (
            "pull access denied for brine/nope, repository does not exist or may require 'docker login'",
            "no_image",
        ),
        ("unauthorized: authentication required", "no_image"),
        (
            'Get "http://127.0.0.1:5998/v2/": dial tcp 127.0.0.1:5998: connect: connection refused',
            "docker_error",
        ),
    ],
)
def test_a_failed_pull_is_no_image_only_when_the_registry_lacks_it(words, code):
    assert docker_host._pull_refusal("r:5000/x:1", words).code == code


# --- bounds and checks --------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 10001, -1, True, "x", None, 1.5e9, 2.5, "nan"])
def test_tail_is_bounded(value):
    with pytest.raises(Invalid, match="tail must be a whole number from 1 to 10000"):
        docker_host.bounded(value, "tail", docker_host.TAIL_MAX)


def test_timeouts_are_bounded_numbers_of_seconds_as_the_runner_gives_them():
    assert docker_host.bounded("600", "timeout", docker_host.WAIT_MAX, "seconds") == 600
    assert docker_host.bounded(10.0, "timeout", docker_host.WAIT_MAX, "seconds") == 10
    assert docker_host.bounded(1.5, "timeout", docker_host.WAIT_MAX, "seconds") == 1.5
    assert docker_host.bounded(10.0, "tail", docker_host.TAIL_MAX) == 10
    for bad in (601, 0.5, "nan", "inf", None, False):
        with pytest.raises(Invalid, match="timeout must be a number of seconds from 1 to 600"):
            docker_host.bounded(bad, "timeout", docker_host.WAIT_MAX, "seconds")


def test_labels_are_checked_and_brine_always_signs_its_containers():
    labels = docker_host._labels({"org.brine.managed": "true", "org.brine.created-by": "someone"})
    assert labels == {"org.brine.managed": "true", "org.brine.created-by": "brine"}
    assert docker_host._labels(None) == {"org.brine.created-by": "brine"}
    for bad in ({"Bad Key": "x"}, {"k": 1}, {"k": "x" * 4097}, "k=v", {f"k{i}": "" for i in range(33)}):
        with pytest.raises(Invalid, match="label"):
            docker_host._labels(bad)


def test_names_and_ids_are_checked_before_docker_is_asked():
    assert docker_host._target("web-1") == "web-1"
    assert docker_host._target(ID) == ID
    for bad in ("web;id", "", None, "a" * 65, "../x"):
        with pytest.raises(Invalid, match="name must be a container's name or id"):
            docker_host._target(bad)
    with pytest.raises(Invalid, match="action must be one of start, stop"):
        docker_host.act(None, "web", "kill")


def test_log_lines_are_cut_and_bounded():
    raw = b"a\n" + b"x" * 5000 + b"\n\xff\n"
    assert docker_host._log_lines(raw) == ["a", "x" * 4096, "\ufffd"]
    many = ("y" * 4000 + "\n") * 400
    kept = docker_host._log_lines(many)
    assert 250 < len(kept) < 263 and sum(len(line) + 1 for line in kept) <= docker_host.LOGS_BYTES_MAX


@pytest.mark.parametrize(
    ("action", "state", "force", "refusal"),
    [
        ("start", "running", False, "w1 is already running"),
        ("start", "paused", False, "w1 is paused; unpause it"),
        ("stop", "exited", False, "w1 is not running (exited)"),
        ("stop", "created", False, "w1 is not running (created)"),
        ("pause", "paused", False, "w1 is already paused"),
        ("pause", "exited", False, "w1 is not running (exited)"),
        ("unpause", "running", False, "w1 is not paused (running)"),
        ("remove", "running", False, "w1 is running; stop it first or remove it with force"),
        ("remove", "running", True, None),
        ("remove", "exited", False, None),
        ("restart", "exited", False, None),
        ("stop", "paused", False, None),
        ("start", "exited", False, None),
    ],
)
def test_which_state_allows_which_action(action, state, force, refusal):
    assert docker_host._refuse_state({"name": "w1", "state": state}, action, force) == refusal


# --- no engine ----------------------------------------------------------------------------


def test_no_socket_is_no_engine_and_the_inventory_is_empty(tmp_path):
    url = f"unix://{tmp_path}/docker.sock"
    assert docker_host.engine(url) == {
        "state": "none",
        "version": None,
        "message": f"no Docker socket at {tmp_path}/docker.sock",
    }
    assert docker_host.inventory(url) == {"docker": docker_host.engine(url), "containers": []}
    with pytest.raises(Refused) as refused:
        docker_host.connect(url)
    assert refused.value.code == "docker_unavailable"


def test_a_socket_nobody_answers_on_is_an_engine_down(tmp_path):
    path = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(path))  # bound, never listening: connections are refused
        found = docker_host.engine(f"unix://{path}", timeout=1)
        assert (found["state"], found["version"]) == ("down", None)
        assert found["message"].startswith(f"The Docker engine at unix://{path} does not answer")
        assert docker_host.inventory(f"unix://{path}")["containers"] == []
    assert os.path.exists(path)
