"""
A container's run arguments (``brine.container_spec``, issue 12): image references by Docker's
grammar, names, port mappings, environment and restart policy; the bad input the issue names
(shell metacharacters in a reference, ports 0 and 70000, a port bound twice, a variable with a
line break) refused with a sentence naming the argument.
"""

import re

import pytest

from brine import container_spec
from brine.errors import Invalid


@pytest.mark.parametrize(
    ("ref", "repository", "tag", "digest"),
    [
        ("nginx", "nginx", "latest", None),
        ("nginx:1.25-alpine", "nginx", "1.25-alpine", None),
        ("10.77.0.1:5000/brine/web:2", "10.77.0.1:5000/brine/web", "2", None),
        (
            "registry.lab.example/library/busy_box__x",
            "registry.lab.example/library/busy_box__x",
            "latest",
            None,
        ),
        ("web@sha256:" + "a" * 64, "web", None, "sha256:" + "a" * 64),
    ],
)
def test_an_image_reference_is_split_as_docker_reads_it(ref, repository, tag, digest):
    assert container_spec.image(ref) == {"ref": ref, "repository": repository, "tag": tag, "digest": digest}


@pytest.mark.parametrize(
    "ref",
    [
        "nginx;rm -rf /",
        "$(id)",
        "`id`",
        "nginx && id",
        "nginx|id",
        "web:1.0 --privileged",
        "Web",
        "web:",
        "-web",
        "web:-1",
        "web@md5:abc",
        "../web",
        "web\nother",
        # Docker's tags are ASCII: Python's \w would take these letters.
        "web:caf\u00e9",
        "web:\u0661",
        "",
        "a" * 256,
    ],
)
def test_an_image_reference_with_anything_else_is_refused(ref):
    with pytest.raises(Invalid, match="image"):
        container_spec.image(ref)


def test_names_are_dockers_and_bounded():
    assert container_spec.name("web-1.lab_x") == "web-1.lab_x"
    for bad in ("", "-web", "web 1", "web/1", "a" * 64, None, "web;id"):
        with pytest.raises(Invalid, match="not a valid container name"):
            container_spec.name(bad)


def test_a_port_mapping_from_its_short_form_or_a_mapping():
    assert container_spec.port("8080:80") == {
        "host_port": 8080,
        "container_port": 80,
        "protocol": "tcp",
        "bind": "0.0.0.0",
    }
    assert container_spec.port("127.0.0.1:5353:53/udp")["bind"] == "127.0.0.1"
    assert container_spec.port("[::1]:8443:443")["bind"] == "::1"
    mapping = {"host_port": "8081", "container_port": 80, "protocol": "sctp", "bind": "10.0.0.2"}
    assert container_spec.port(mapping) == {
        "host_port": 8081,
        "container_port": 80,
        "protocol": "sctp",
        "bind": "10.0.0.2",
    }


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0:80", "host_port must be a port from 1 to 65535, not 0"),
        ("70000:80", "host_port must be a port from 1 to 65535, not 70000"),
        ("8080:0", "container_port must be a port"),
        ({"host_port": 8080, "container_port": True}, "container_port must be a port"),
        ("8080:80/icmp", "protocol must be one of tcp, udp, sctp"),
        ("host:8080:80", "is not [address:]host_port:container_port"),
        ({"host_port": 8080, "container_port": 80, "bind": "example.com"}, "bind must be an IP address"),
        ({"host_port": 8080, "container_port": 80, "mode": "x"}, "unknown key 'mode'"),
        (8080, "must be a mapping or host:container"),
    ],
)
def test_a_bad_port_mapping_is_refused(value, words):
    with pytest.raises(Invalid) as caught:
        container_spec.port(value)
    assert words in caught.value.sentence


def test_a_host_port_bound_twice_is_refused_unless_on_other_addresses_or_protocols():
    assert len(container_spec.ports(["8080:80", "8080:80/udp", "8081:81"])) == 3
    assert len(container_spec.ports(["127.0.0.1:8080:80", "10.0.0.2:8080:80"])) == 2
    for twice in (["8080:80", "8080:81"], ["127.0.0.1:8080:80", "8080:81"], ["8080:80", "10.0.0.2:8080:81"]):
        with pytest.raises(Invalid, match=r"ports\[1\] binds host port 8080/tcp again \(ports\[0\] has it\)"):
            container_spec.ports(twice)
    with pytest.raises(Invalid, match="at most 64"):
        container_spec.ports([f"{10000 + i}:80" for i in range(65)])
    assert container_spec.ports(None) == []


def test_environment_from_a_mapping_or_key_value_lines():
    assert container_spec.environment(["A=1", "B=x=y", "EMPTY="]) == {"A": "1", "B": "x=y", "EMPTY": ""}
    assert container_spec.environment({"PORT": 8080}) == {"PORT": "8080"}
    assert container_spec.environment(None) == {}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"A": "one\ntwo"}, "must be one line"),
        ({"A": "x\r"}, "must be one line"),
        ({"A": "x\0"}, "must be one line"),
        ({"A": "x" * 32769}, "at most 32768 characters"),
        ({"1A": "x"}, "name '1A' must be letters"),
        ({"A-B": "x"}, "name 'A-B' must be letters"),
        ({"A": ["x"]}, "must be text"),
        (["NOVALUE"], "must be KEY=value"),
        ({f"K{i}": "x" for i in range(129)}, "at most 128 variables"),
    ],
)
def test_bad_environment_is_refused_and_never_repeats_the_value(value, words):
    with pytest.raises(Invalid) as caught:
        container_spec.environment(value)
    assert words in caught.value.sentence
    assert "one\ntwo" not in caught.value.sentence


def test_restart_policies_are_dockers_with_bounded_retries():
    assert container_spec.restart_policy(None) == {"name": "no", "max_retries": 0}
    assert container_spec.restart_policy("unless-stopped") == {"name": "unless-stopped", "max_retries": 0}
    assert container_spec.restart_policy("on-failure:5") == {"name": "on-failure", "max_retries": 5}
    for bad in ("sometimes", "always:3", "on-failure:x", "on-failure:101"):
        with pytest.raises(Invalid, match="restart"):
            container_spec.restart_policy(bad)


def test_a_whole_spec_is_checked_and_checking_it_again_changes_nothing():
    checked = container_spec.spec(
        "brine/web:1", name="web1", ports=["8080:80"], environment=["A=1"], restart="on-failure:3"
    )
    assert checked == {
        "image": {"ref": "brine/web:1", "repository": "brine/web", "tag": "1", "digest": None},
        "name": "web1",
        "ports": [{"host_port": 8080, "container_port": 80, "protocol": "tcp", "bind": "0.0.0.0"}],
        "environment": {"A": "1"},
        "restart": {"name": "on-failure", "max_retries": 3},
    }
    assert container_spec.spec(**checked) == checked
    bare = container_spec.spec("web")
    assert (bare["name"], bare["ports"], bare["environment"], bare["restart"]["name"]) == (None, [], {}, "no")
    assert container_spec.spec(**bare) == bare


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"image": "web;rm -rf /"}, "image"),
        ({"image": "$(x)"}, "image"),
        ({"image": "web 1"}, "image"),
        ({"image": None}, "image"),
        ({"image": "web", "name": "a b"}, "not a valid container name"),
        ({"image": "web", "ports": ["0:80"]}, "host_port must be a port from 1 to 65535, not 0"),
        ({"image": "web", "ports": ["70000:80"]}, "not 70000"),
        ({"image": "web", "ports": ["8080:80", "8080:81"]}, "again"),
        ({"image": "web", "environment": {"A": "x\ny"}}, "must be one line"),
        ({"image": "web", "restart": "sometimes"}, "restart"),
    ],
)
def test_a_spec_with_any_bad_part_is_refused(arguments, words):
    with pytest.raises(Invalid) as caught:
        container_spec.spec(**arguments)
    assert words in caught.value.sentence


@pytest.mark.parametrize(
    ("ref", "domain"),
    [
        ("brine/web:1", None),
        ("web", None),
        ("brine-master:5000/brine/web:1", "brine-master:5000"),
        ("registry.lab.example/web", "registry.lab.example"),
        ("localhost/web", "localhost"),
        ("127.0.0.1:5999/brine/hello:1", "127.0.0.1:5999"),
    ],
)
def test_a_reference_names_a_registry_by_dockers_rule(ref, domain):
    assert container_spec.domain(ref) == domain


def test_an_unqualified_reference_goes_under_the_sites_registry():
    assert container_spec.qualified("brine/web:1", "brine-master:5000") == "brine-master:5000/brine/web:1"
    assert container_spec.qualified("other:5000/web:1", "brine-master:5000") == "other:5000/web:1"
    assert container_spec.qualified("brine/web:1", None) == "brine/web:1"


def test_a_default_name_is_the_images_last_path_part_and_four_hex_digits():
    assert container_spec.default_name("brine-master:5000/brine/web:1", "3fa2") == "web-3fa2"
    assert re.fullmatch(r"hello-[0-9a-f]{4}", container_spec.default_name("hello@sha256:" + "a" * 64))
    assert len(container_spec.default_name("x" * 120, "abcd")) == 63
