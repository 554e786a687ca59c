"""
brine.container_desired: a pillar entry checked, the labels a described container carries, and what
differs from the container Docker has, in words that never hold an environment value.
"""

import pytest

from brine import container_desired
from brine.errors import Invalid

SECRET = "s3cr3t-value"


def spec(image="brine/web:1", ports=None, environment=None, restart=None, name="web1"):
    return container_desired.entry(
        name,
        {
            "image": image,
            "ports": ["8080:80"] if ports is None else ports,
            "environment": {"GREETING": "hello", "TOKEN": SECRET} if environment is None else environment,
            "restart": restart,
        },
    )["spec"]


def inspected(described, env=None, image=None, state="running", labels=None):
    """Docker's inspect_container dict of a container made from ``described`` (as docker_host
    makes it: the labels, the port bindings, the image's PATH in the environment)."""
    env = dict(described["environment"]) if env is None else env
    bindings = {}
    for mapping in described["ports"]:
        bindings.setdefault(f"{mapping['container_port']}/{mapping['protocol']}", []).append(
            {"HostIp": mapping["bind"], "HostPort": str(mapping["host_port"])}
        )
    restart = described["restart"]
    return {
        "Id": "5d71c7be79d6" + "0" * 52,
        "State": {"Status": state},
        "Config": {
            "Image": image or described["image"]["ref"],
            "Env": ["PATH=/bin", *(f"{key}={value}" for key, value in env.items())],
            "Labels": container_desired.labels(described) if labels is None else labels,
        },
        "HostConfig": {
            "PortBindings": bindings,
            "RestartPolicy": {"Name": restart["name"], "MaximumRetryCount": restart["max_retries"]},
        },
    }


# -- the pillar entry ------------------------------------------------------------------------------
def test_an_entry_is_running_by_default_with_its_spec_checked():
    checked = container_desired.entry("web1", {"image": "brine/web:1", "ports": ["8080:80"]})
    assert checked["state"] == "running" and checked["name"] == "web1"
    assert checked["spec"]["image"]["ref"] == "brine/web:1"
    assert checked["spec"]["ports"][0]["host_port"] == 8080


def test_stopped_and_absent_need_no_image():
    assert container_desired.entry("web1", {"state": "absent"}) == {
        "name": "web1",
        "state": "absent",
        "spec": None,
    }
    assert container_desired.entry("web1", {"state": "stopped"})["spec"] is None
    # An image given with them is checked, as the rest of the description is.
    with pytest.raises(Invalid, match="ports"):
        container_desired.entry("web1", {"state": "absent", "image": "brine/web:1", "ports": ["0:80"]})


@pytest.mark.parametrize(
    ("name", "description", "words"),
    [
        ("web1", ["brine/web:1"], "containers:web1 must be a mapping"),
        ("web1", {"imgae": "brine/web:1"}, "unknown key 'imgae'"),
        ("web1", {"image": "brine/web:1", "state": "paused"}, "state must be running, stopped or absent"),
        ("web1", {}, "containers:web1: image must be a reference"),
        ("web1", None, "containers:web1: image must be a reference"),
        ("web1", {"image": "brine/web:1; rm -rf /"}, "is not an image reference"),
        ("web1", {"image": "brine/web:1", "ports": ["0:80"]}, "ports[0].host_port must be a port"),
        ("web1", {"image": "brine/web:1", "ports": ["70000:80"]}, "from 1 to 65535"),
        ("bad name", {"image": "brine/web:1"}, "is not a valid container name"),
    ],
)
def test_a_bad_entry_is_refused_with_a_coded_sentence_naming_it(name, description, words):
    with pytest.raises(Invalid) as err:
        container_desired.entry(name, description)
    assert err.value.code == "invalid_argument"
    assert str(err.value).startswith("[invalid_argument] ")
    assert words in str(err.value), str(err.value)


def test_an_environment_value_is_never_in_a_refusal():
    with pytest.raises(Invalid) as err:
        container_desired.entry("web1", {"image": "brine/web:1", "environment": {"TOKEN": SECRET + "\nx"}})
    assert SECRET not in str(err.value) and "TOKEN" in str(err.value)


# -- labels --------------------------------------------------------------------------------------
def test_the_digest_is_stable_and_ignores_the_order_of_ports_and_variables():
    one = spec(ports=["8080:80", "127.0.0.1:8081:81/udp"], environment={"A": "1", "B": "2"})
    two = spec(ports=["127.0.0.1:8081:81/udp", "8080:80"], environment={"B": "2", "A": "1"})
    assert container_desired.digest(one) == container_desired.digest(two)
    assert len(container_desired.digest(one)) == 64
    for other in (
        spec(image="brine/web:2"),
        spec(ports=["8081:80"]),
        spec(restart="always"),
        spec(environment={"GREETING": "hello"}),
    ):
        assert container_desired.digest(other) != container_desired.digest(spec())


def test_the_labels_hold_no_environment_value_nor_a_digest_of_one():
    described = spec()
    labels = container_desired.labels(described)
    assert labels[container_desired.MANAGED_LABEL] == "true"
    assert labels[container_desired.ENVIRONMENT_LABEL] == "GREETING,TOKEN"
    assert SECRET not in str(labels)
    # A change of value alone leaves the labels as they are: the value is compared with the
    # container's environment, never hashed into a label.
    assert container_desired.labels(spec(environment={"GREETING": "hello", "TOKEN": "other"})) == labels


def test_managed_is_the_label():
    described = spec()
    assert container_desired.is_managed(inspected(described))
    assert not container_desired.is_managed(inspected(described, labels={}))
    assert not container_desired.is_managed({"Config": {"Labels": None}})


def test_the_summary_names_variables_only():
    assert container_desired.summary(spec(restart="on-failure:3")) == {
        "image": "brine/web:1",
        "ports": ["8080:80/tcp"],
        "restart": "on-failure:3",
        "environment": ["GREETING", "TOKEN"],
    }


def test_port_text_writes_docker_short_form():
    assert container_desired.port_text(
        {"bind": "127.0.0.1", "host_port": 8080, "container_port": 80, "protocol": "udp"}
    ) == ("127.0.0.1:8080:80/udp")
    assert container_desired.port_text(
        {"bind": "::1", "host_port": 8080, "container_port": 80, "protocol": "tcp"}
    ) == ("[::1]:8080:80/tcp")


# -- what differs --------------------------------------------------------------------------------
def test_the_container_made_from_a_description_does_not_differ():
    described = spec(ports=["8080:80", "127.0.0.1:8081:80"], restart="on-failure:2")
    assert container_desired.differences(described, inspected(described)) == []


def test_the_registry_rule_ref_does_not_differ():
    described = spec()
    data = inspected(described, image="brine-master:5000/brine/web:1")
    assert container_desired.differences(described, data, "brine-master:5000") == []


def test_each_part_that_differs_is_said():
    before = spec()
    data = inspected(before)
    assert container_desired.differences(spec(image="brine/web:2"), data) == [
        "image brine/web:1 → brine/web:2"
    ]
    assert container_desired.differences(spec(ports=["8081:80/udp"]), data) == [
        "ports 8080:80/tcp → 8081:80/udp"
    ]
    assert container_desired.differences(spec(ports=[]), data) == ["ports 8080:80/tcp → none"]
    assert container_desired.differences(spec(restart="always"), data) == ["restart no → always"]


def test_the_environment_differs_by_names_only():
    before = spec()
    data = inspected(before)
    changed = spec(environment={"GREETING": "hello", "TOKEN": "new-" + SECRET, "EXTRA": "x"})
    words = container_desired.differences(changed, data)
    assert words == ["environment changed (EXTRA, TOKEN)"]
    assert SECRET not in str(words)
    # A variable the description no longer gives is named too.
    assert container_desired.differences(spec(environment={"GREETING": "hello"}), data) == [
        "environment changed (TOKEN)"
    ]


def test_a_value_changed_in_the_container_itself_differs():
    """The values are compared with what the container runs with, not with a label."""
    described = spec()
    data = inspected(described, env={"GREETING": "hello", "TOKEN": "tampered"})
    assert container_desired.differences(described, data) == ["environment changed (TOKEN)"]


def test_a_spec_label_of_another_description_differs_even_when_no_part_is_seen():
    described = spec()
    labels = {**container_desired.labels(described), container_desired.SPEC_LABEL: "0" * 64}
    assert container_desired.differences(described, inspected(described, labels=labels)) == [
        "its description changed"
    ]


def test_names_too_long_for_a_label_leave_the_names_label_out_and_still_differ():
    many = {f"VARIABLE_{index:03d}_{'X' * 100}": "1" for index in range(40)}
    described = spec(environment=many)
    labels = container_desired.labels(described)
    assert container_desired.ENVIRONMENT_LABEL not in labels
    data = inspected(described)
    assert container_desired.differences(described, data) == []
    fewer = dict(list(many.items())[1:])
    assert container_desired.differences(spec(environment=fewer), data) == ["its description changed"]
