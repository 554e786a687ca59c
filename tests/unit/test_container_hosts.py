"""
Unit tests of ``brine.container_hosts``: the hosts' answers to the ``containers`` host module as
the runner's entries, local images merged by id, placement, default names, a run's arguments
and its environment (plain and sealed), never repeating an environment value.
"""

import re

import pytest

from brine import container_hosts
from brine import sealed
from brine.errors import Invalid
from brine.errors import Refused
from support.saltfakes import answer

UP = {"state": "up", "version": "20.10.24+dfsg1", "message": None}
NONE = {"state": "none", "version": None, "message": "no Docker socket at unix:///run/docker.sock"}
DOWN = {"state": "down", "version": None, "message": "the engine does not answer"}
WEB = {"id": "1ffb213e8dbb", "tags": ["brine/web:1"], "ref": "brine/web:1", "created": 1, "size": 10}
WEB_REGISTRY = dict(WEB, tags=["brine-master:5000/brine/web:1"], ref="brine-master:5000/brine/web:1")
HELLO = {"id": "aaaabbbbcccc", "tags": ["brine/hello:1"], "ref": "brine/hello:1", "created": 2, "size": 5}


def box(name, state="running"):
    return {"name": name, "id": "5d71c7be79d6", "image": "brine/web:1", "state": state, "ports": []}


# ---- Answers


def test_answers_sort_hosts_into_returns_and_coded_errors():
    entries = {
        "hv1": answer([box("a")]),
        "hv2": answer("ERROR: [docker_unavailable] no Docker engine at unix:///run/docker.sock", 1),
        "hv3": answer({"not": "a list"}),
        "hv5": False,
    }
    found = container_hosts.answers(
        ["hv1", "hv2", "hv3", "hv4", "hv5"], entries, "containers.list", 2, container_hosts.containers_shape
    )
    assert found == {
        "hv1": ([box("a")], None),
        "hv2": (None, ("docker_unavailable", "no Docker engine at unix:///run/docker.sock")),
        "hv3": (None, ("host_error", "answered containers.list with data Brine does not understand")),
        "hv4": (None, ("unreachable", "did not answer within 2 s")),
        "hv5": (None, ("unreachable", "did not answer within 2 s")),
    }


def test_a_host_asked_by_name_that_the_master_does_not_know_is_unreachable():
    found = container_hosts.answers([], {}, "containers.engine", 1, container_hosts.engine_shape, ["hv9"])
    assert found == {"hv9": (None, ("unreachable", "did not answer within 1 s"))}


@pytest.mark.parametrize(
    ("shape", "good", "bad"),
    [
        (container_hosts.engine_shape, UP, [{"state": "sideways"}, [], None]),
        (container_hosts.containers_shape, [box("a")], [[{"id": "x"}], {"name": "a"}, [None]]),
        (container_hosts.images_shape, [WEB], [[{"id": "x"}], [{"tags": []}], WEB]),
    ],
)
def test_shapes(shape, good, bad):
    assert shape(good)
    assert not any(shape(value) for value in bad)


def test_listing_gives_every_host_its_engine_and_the_containers_of_those_up():
    engines = {
        "hv1": (UP, None),
        "hv2": (NONE, None),
        "hv3": (DOWN, None),
        "hv4": (None, ("unreachable", "did not answer within 2 s")),
        "hv5": (UP, None),
        "hv6": (UP, None),
    }
    lists = {
        "hv1": ([box("web"), box("old", "exited")], None),
        "hv5": (None, ("docker_unavailable", "the engine stopped answering")),
    }
    hosts = {entry["host"]: entry for entry in container_hosts.listing(engines, lists)["hosts"]}
    assert list(hosts) == ["hv1", "hv2", "hv3", "hv4", "hv5", "hv6"]
    assert hosts["hv1"] == {
        "host": "hv1",
        "answered": True,
        "error": None,
        "docker": UP,
        "containers": [dict(box("web"), host="hv1"), dict(box("old", "exited"), host="hv1")],
    }
    assert hosts["hv2"] == {"host": "hv2", "answered": True, "error": None, "docker": NONE, "containers": []}
    assert hosts["hv3"]["docker"] == DOWN and hosts["hv3"]["containers"] == []
    assert hosts["hv4"] == {
        "host": "hv4",
        "answered": False,
        "error": {"code": "unreachable", "message": "did not answer within 2 s"},
        "docker": None,
        "containers": [],
    }
    assert hosts["hv5"]["answered"] is False and hosts["hv5"]["docker"] == UP
    assert hosts["hv5"]["error"] == {"code": "docker_unavailable", "message": "the engine stopped answering"}
    assert hosts["hv6"]["answered"] is False and hosts["hv6"]["error"]["code"] == "unreachable"


def test_images_are_merged_by_id_with_the_hosts_that_have_them():
    untagged = {"id": "0123456789ab", "tags": [], "ref": "<none>", "created": 3, "size": 1}
    merged = container_hosts.merged_images(
        {
            "hv2": ([WEB_REGISTRY, HELLO], None),
            "hv1": ([WEB, untagged], None),
            "hv3": (None, ("docker_unavailable", "no Docker engine")),
        }
    )
    assert merged["images"] == [
        dict(HELLO, hosts=["hv2"]),
        dict(WEB, tags=["brine/web:1", "brine-master:5000/brine/web:1"], hosts=["hv1", "hv2"]),
        dict(untagged, hosts=["hv1"]),
    ]
    assert merged["hosts"] == [
        {"host": "hv1", "answered": True, "error": None},
        {"host": "hv2", "answered": True, "error": None},
        {
            "host": "hv3",
            "answered": False,
            "error": {"code": "docker_unavailable", "message": "no Docker engine"},
        },
    ]


# ---- Placement


@pytest.mark.parametrize(
    ("image", "registry", "names"),
    [
        ("brine/web:1", None, {"brine/web:1"}),
        ("brine/web:1", "brine-master:5000", {"brine/web:1", "brine-master:5000/brine/web:1"}),
        ("web", "brine-master:5000", {"web:latest", "brine-master:5000/web:latest"}),
        ("brine-master:5000/brine/web:1", "other:5000", {"brine-master:5000/brine/web:1"}),
        ("localhost/web:2", "other:5000", {"localhost/web:2"}),
        ("docker.io/library/busybox:1", None, {"docker.io/library/busybox:1", "busybox:1"}),
        ("web@sha256:" + "a" * 64, "brine-master:5000", set()),
    ],
)
def test_the_names_a_host_lists_an_image_under(image, registry, names):
    assert container_hosts.local_names(image, registry) == names


def test_a_host_has_an_image_by_tag_through_the_registry_or_by_id():
    assert container_hosts.has_image([WEB_REGISTRY], "brine/web:1", "brine-master:5000")
    assert not container_hosts.has_image([WEB_REGISTRY], "brine/web:1")
    assert not container_hosts.has_image([WEB], "brine/web:2")
    assert container_hosts.has_image([WEB], "1ffb213e8dbb")
    assert container_hosts.has_image([WEB], "1ffb213e8dbb" + "0" * 52)
    assert not container_hosts.has_image([WEB], "1ffb213e8dbc")


def test_a_host_with_the_image_and_the_fewest_running_containers_is_chosen():
    lists = {
        "hv1": ([box("a"), box("b")], None),
        "hv2": ([box("c"), box("d", "exited"), box("e", "paused")], None),
        "hv3": ([], None),
    }
    images = {"hv1": ([WEB], None), "hv2": ([WEB_REGISTRY], None), "hv3": ([HELLO], None)}
    host, why = container_hosts.place("brine/web:1", lists, images, "brine-master:5000")
    assert host == "hv2"
    assert why == "hv2 has brine/web:1 and runs 1 container, the fewest of the hosts that have it (hv1, hv2)"


def test_a_tie_goes_to_the_first_host_by_name():
    lists = {"hv2": ([], None), "hv1": ([], None)}
    images = {"hv1": ([WEB], None), "hv2": ([WEB], None)}
    assert container_hosts.place("brine/web:1", lists, images)[0] == "hv1"


def test_without_a_host_that_has_the_image_any_host_with_an_engine_up_pulls_it():
    lists = {
        "hv1": ([box("a")], None),
        "hv2": ([], None),
        "hv3": (None, ("docker_unavailable", "no Docker engine")),
    }
    images = {"hv1": ([HELLO], None), "hv2": ([], None)}
    host, why = container_hosts.place("brine/web:1", lists, images)
    assert host == "hv2"
    assert why == (
        "no host has brine/web:1: hv2 has a Docker engine up and runs 0 containers, the fewest of the "
        "hosts with one (hv1, hv2); it pulls the image"
    )


def test_no_host_with_an_engine_up_is_no_room_with_every_reason():
    lists = {
        "hv1": (None, ("docker_unavailable", "no Docker engine at unix:///run/docker.sock")),
        "hv2": (None, ("unreachable", "did not answer within 10 s")),
        "hv3": ([], None),
    }
    images = {"hv3": (None, ("docker_unavailable", "the engine stopped answering"))}
    with pytest.raises(Refused) as refused:
        container_hosts.place("brine/web:1", lists, images)
    assert refused.value.code == "no_room"
    assert refused.value.sentence == (
        "no host has a Docker engine that can run brine/web:1 (hv1: no Docker engine at "
        "unix:///run/docker.sock; hv2: did not answer within 10 s; hv3: the engine stopped answering)"
    )


def test_no_hosts_at_all_is_no_room():
    with pytest.raises(Refused, match="there are no hosts") as refused:
        container_hosts.place("brine/web:1", {}, {})
    assert refused.value.code == "no_room"


# ---- A run's arguments


def test_a_run_without_a_name_gets_the_images_last_part_and_four_hex_digits():
    names = {container_hosts.run_arguments("brine-master:5000/brine/web:1")["name"] for _ in range(20)}
    assert all(re.fullmatch(r"web-[0-9a-f]{4}", name) for name in names) and len(names) > 1
    assert container_hosts.run_arguments("web", name="")["name"].startswith("web-")
    assert re.fullmatch(r"x{58}-[0-9a-f]{4}", container_hosts.run_arguments("x" * 200 + ":1")["name"])


def test_run_arguments_are_checked_and_normalised():
    assert container_hosts.run_arguments(
        "brine/web:1", "web1", "127.0.0.1:8080:80", "on-failure:3", "false", "30"
    ) == {
        "image": "brine/web:1",
        "name": "web1",
        "ports": [{"host_port": 8080, "container_port": 80, "protocol": "tcp", "bind": "127.0.0.1"}],
        "restart": "on-failure:3",
        "detach": False,
        "timeout": 30.0,
    }
    kwarg = container_hosts.run_arguments("brine/web:1")
    assert kwarg["ports"] == [] and kwarg["restart"] == "no" and kwarg["detach"] is True
    assert "timeout" not in kwarg and kwarg["name"].startswith("web-")
    assert container_hosts.run_arguments("web", restart="on-failure")["restart"] == "on-failure"


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"image": "web;rm -rf /"}, "is not an image reference"),
        ({"image": "web$(id)"}, "is not an image reference"),
        ({"image": "Web:1"}, "is not an image reference"),
        ({"image": "web", "name": "a b"}, "is not a valid container name"),
        ({"image": "web", "ports": ["0:80"]}, "ports[0].host_port must be a port from 1 to 65535"),
        ({"image": "web", "ports": ["70000:80"]}, "ports[0].host_port must be a port from 1 to 65535"),
        ({"image": "web", "ports": "8080:80;x"}, "is not [address:]host_port"),
        ({"image": "web", "restart": "sometimes"}, "restart must be one of"),
        ({"image": "web", "detach": "maybe"}, "detach must be true or false"),
        ({"image": "web", "timeout": 0}, "timeout must be from 1 to 600 seconds"),
        ({"image": "web", "timeout": 601}, "timeout must be at most 600 seconds"),
        ({"image": "web", "timeout": "soon"}, "timeout must be a number of seconds"),
    ],
)
def test_bad_run_arguments_are_refused_naming_them(arguments, words):
    with pytest.raises(Invalid) as invalid:
        container_hosts.run_arguments(**arguments)
    assert words in invalid.value.sentence


def test_the_wait_for_a_run_allows_a_pull_and_a_wait_for_the_end():
    assert container_hosts.run_wait({"detach": True, "timeout": 99}, 10) == 310
    assert container_hosts.run_wait({"detach": False}, 10) == 370
    assert container_hosts.run_wait({"detach": False, "timeout": 5}, 10) == 315


@pytest.mark.parametrize(("value", "lines"), [(None, 100), ("", 100), (20, 20), ("10000", 10000)])
def test_tail(value, lines):
    assert container_hosts.tail(value) == lines


@pytest.mark.parametrize("value", [0, 10001, "x", -1, True])
def test_bad_tails_are_refused(value):
    with pytest.raises(Invalid, match="tail"):
        container_hosts.tail(value)


# ---- The environment


def opener(opened):
    def unwrap(text, argument):
        opened.append(argument)
        if text.startswith("sealed:"):
            return text.removeprefix("sealed:")
        raise Invalid(f"{argument} was not sealed with this master's key (provision.sealing_key)")

    return unwrap


def test_plain_and_sealed_values_make_one_environment():
    opened = []
    env = container_hosts.environment(
        ["MODE=prod", "EMPTY="], {"PASSWORD": "sealed:hunter2", "TOKEN": "sealed:t0k"}, opener(opened)
    )
    assert env == {"MODE": "prod", "EMPTY": "", "PASSWORD": "hunter2", "TOKEN": "t0k"}
    assert opened == ["secret_environment[PASSWORD]", "secret_environment[TOKEN]"]
    assert container_hosts.environment({"A": 1}, None, opener([])) == {"A": "1"}
    assert container_hosts.environment(None, {}, opener([])) == {}


@pytest.mark.parametrize(
    ("plain", "secret", "words"),
    [
        ({"A": "x\ny-secret"}, None, "environment variable A must be one line"),
        (None, {"B": "sealed:x\ry-secret"}, "environment variable B must be one line"),
        (None, {"B": "sealed:nul\0-secret"}, "environment variable B must be one line"),
        ({"1A": "v-secret"}, None, "environment variable name '1A'"),
        (None, {"A B": "sealed:v-secret"}, "environment variable name 'A B'"),
        ({"A": "v-secret"}, {"A": "sealed:w-secret"}, "A is in both environment and secret_environment"),
        (None, {"K": "garbage-secret"}, "secret_environment[K] was not sealed"),
        (None, "K=v-secret", "secret_environment must be a mapping"),
        (None, {f"K{i}": "sealed:v-secret" for i in range(129)}, "at most 128 variables"),
    ],
)
def test_bad_environments_are_refused_without_repeating_a_value(plain, secret, words):
    opened = []
    with pytest.raises(Invalid) as invalid:
        container_hosts.environment(plain, secret, opener(opened))
    assert words in invalid.value.sentence
    assert "secret" not in invalid.value.sentence.replace("secret_environment", "")


def test_secret_keys_are_checked_before_any_value_is_opened():
    opened = []
    with pytest.raises(Invalid):
        container_hosts.environment(None, {"GOOD": "sealed:v", "BAD KEY": "sealed:w"}, opener(opened))
    assert opened == []


def test_the_environment_text_is_bounded_by_what_a_sealed_text_holds():
    assert container_hosts.environment_text({"B": "2", "A": "1"}) == '{"A": "1", "B": "2"}'
    big = {f"K{i}": "v" * 32768 for i in range(9)}
    with pytest.raises(Invalid, match=f"at most {sealed.MAX_TEXT} bytes"):
        container_hosts.environment_text(big)
