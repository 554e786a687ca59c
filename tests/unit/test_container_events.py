"""
Docker's events in Brine's words (brine.container_events): which actions are forwarded, the
tags and payloads, and that nothing of Docker's attributes (labels) leaks into them. The Docker
events here are copies of what Debian's 20.10 engine sends (API 1.41).
"""

import pytest

from brine import container_events
from brine import event_queue

CONTAINER_ID = "5aeb7b1cb0445585c71b236e4c2bc37098c616c6764a25af8927e6d1888980f0"
IMAGE_ID = "sha256:1aaacc6ba77800f02478074f903553e9d245352d1c47cf6ca44f504342855f0e"


def container_event(action, name="web1", **attributes):
    """A container event as Docker sends it: labels (here a secret one) among the attributes."""
    attributes = {"image": "127.0.0.1:5999/brine/web:1", "name": name, "db_password": "hunter2", **attributes}
    return {
        "status": action,
        "id": CONTAINER_ID,
        "from": "127.0.0.1:5999/brine/web:1",
        "Type": "container",
        "Action": action,
        "Actor": {"ID": CONTAINER_ID, "Attributes": attributes},
        "scope": "local",
        "time": 1796008535,
        "timeNano": 1796008535095837530,
    }


def image_event(action, actor_id, name):
    return {
        "status": action,
        "id": actor_id,
        "Type": "image",
        "Action": action,
        "Actor": {"ID": actor_id, "Attributes": {"name": name}},
        "scope": "local",
        "time": 1796008536,
    }


@pytest.mark.parametrize(
    ("action", "word"),
    [
        ("create", "created"),
        ("start", "started"),
        ("stop", "stopped"),
        ("die", "died"),
        ("pause", "paused"),
        ("unpause", "unpaused"),
        ("restart", "restarted"),
        ("destroy", "removed"),
        ("oom", "oom"),
    ],
)
def test_a_forwarded_container_action_is_one_item_with_brines_word(action, word):
    assert container_events.items(container_event(action, exitCode="137")) == [("container", "web1", word)]


def test_the_words_are_the_contracts():
    assert set(container_events.CONTAINER_EVENTS) == {
        "created",
        "started",
        "stopped",
        "paused",
        "unpaused",
        "restarted",
        "removed",
        "renamed",
        "died",
        "oom",
    }
    assert container_events.IMAGE_EVENTS == ("pulled", "removed", "tagged", "untagged", "imported")


@pytest.mark.parametrize(
    "action",
    [
        "kill",  # a die follows it
        "exec_create: sh -c echo $DB_PASSWORD",
        "exec_start: sh -c echo $DB_PASSWORD",
        "exec_die",
        "health_status: healthy",
        "attach",
        "detach",
        "resize",
        "top",
        "commit",
        "copy",
        "export",
        "update",
        "archive-path",
        "extract-to-dir",
        "prune",
        "Start",
        "",
    ],
)
def test_other_container_actions_are_dropped(action):
    assert container_events.items(container_event(action)) == []


def test_a_rename_speaks_of_the_old_name_and_the_new_one():
    event = container_event("rename", name="web2", oldName="/web1")
    assert container_events.items(event) == [
        ("container", "web1", "renamed"),
        ("container", "web2", "renamed"),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/web1", [("container", "web1", "started")]),
        ("web.1_a-b", [("container", "web.1_a-b", "started")]),
        ("bad/name", []),
        ("has space", []),
        ("-dash", []),
        ("", []),
        (None, []),
        (7, []),
        ("x" * 63, [("container", "x" * 63, "started")]),
        ("x" * 64, []),
    ],
)
def test_a_name_that_cannot_be_a_tag_segment_is_not_forwarded(name, expected):
    assert container_events.items(container_event("start", name=name)) == expected


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "start",
        {},
        {"Type": "container"},
        {"Type": "container", "Action": "start"},
        {"Type": "container", "Action": "start", "Actor": "web1"},
        {"Type": "container", "Action": "start", "Actor": {"Attributes": ["web1"]}},
        {"Type": "network", "Action": "connect", "Actor": {"Attributes": {"name": "bridge"}}},
        {"Type": "volume", "Action": "create", "Actor": {"Attributes": {"name": "data"}}},
        {"status": "start", "id": CONTAINER_ID},  # the pre-1.22 shape: no Type or Action
    ],
)
def test_what_is_not_a_readable_container_or_image_event_is_dropped(event):
    assert container_events.items(event) == []


@pytest.mark.parametrize(
    ("action", "actor_id", "name", "expected"),
    [
        # Docker 20.10's own events (a pull of a tag, a tag, an untag, a delete, an import, loads).
        (
            "pull",
            "127.0.0.1:5999/brine/hello:1",
            "127.0.0.1:5999/brine/hello",
            ("image", "127.0.0.1:5999/brine/hello:1", "pulled"),
        ),
        ("tag", IMAGE_ID, "127.0.0.1:5999/other:2", ("image", "127.0.0.1:5999/other:2", "tagged")),
        ("untag", IMAGE_ID, IMAGE_ID, ("image", "1aaacc6ba778", "untagged")),
        ("delete", IMAGE_ID, IMAGE_ID, ("image", "1aaacc6ba778", "removed")),
        ("import", IMAGE_ID, IMAGE_ID, ("image", "1aaacc6ba778", "imported")),
        ("load", IMAGE_ID, "brine/web:1", ("image", "brine/web:1", "imported")),
        ("load", IMAGE_ID, IMAGE_ID, ("image", "1aaacc6ba778", "imported")),
        # Nothing Brine can read as a reference or an ID: the event still goes, without a ref.
        ("pull", "bad ref; rm -rf /", "", ("image", None, "pulled")),
        ("delete", "sha256:short", None, ("image", None, "removed")),
        ("tag", IMAGE_ID, "a" * 300, ("image", "1aaacc6ba778", "tagged")),
    ],
)
def test_an_image_event_names_its_reference_else_its_short_id(action, actor_id, name, expected):
    assert container_events.items(image_event(action, actor_id, name)) == [expected]


@pytest.mark.parametrize("action", ["push", "save", "prune", "import: x", "Pull"])
def test_other_image_actions_are_dropped(action):
    assert container_events.items(image_event(action, "brine/web:1", "brine/web")) == []


def test_tags():
    assert container_events.container_tag("hv2", "web1") == "brine/container/hv2/web1/state"
    assert container_events.images_tag("hv2") == "brine/images/hv2/changed"


CONTAINER = {
    "name": "web1",
    "id": "5aeb7b1cb044",
    "image": "brine-master:5000/brine/web:1",
    "image_id": "1aaacc6ba778",
    "state": "running",
    "status": "Up 2 seconds",
    "ports": [{"host_port": 8080, "container_port": 80, "protocol": "tcp", "bind": "0.0.0.0"}],
    "created": 1796008117,
    "restart": "no",
    "exit_code": None,
    "command": "/bin/httpd -f -p 80",
    "managed": True,
}


def test_a_container_payload_carries_the_contracts_keys_only():
    described = dict(CONTAINER, environment={"DB_PASSWORD": "hunter2"}, labels={"secret": "x"}, env=["A=b"])
    assert container_events.container_data("hv2", "web1", "started", described) == {
        "host": "hv2",
        "name": "web1",
        "event": "started",
        "container": CONTAINER,
    }


def test_a_gone_container_has_none():
    assert container_events.container_data("hv2", "web1", "removed", None) == {
        "host": "hv2",
        "name": "web1",
        "event": "removed",
        "container": None,
    }


def test_an_image_payload():
    assert container_events.image_data("hv2", "pulled", "brine/hello:1") == {
        "host": "hv2",
        "event": "pulled",
        "ref": "brine/hello:1",
    }


def test_the_queue_keeps_one_item_per_container_and_reference_and_one_resync():
    events = event_queue.CoalescingQueue(10, container_events.key, always=[("resync",)])
    for action in ("create", "start", "pause", "unpause", "kill", "die", "stop"):
        for item in container_events.items(container_event(action)):
            events.put(item)
    for item in container_events.items(container_event("start", name="web2")):
        events.put(item)
    for action in ("untag", "delete"):
        events.put(container_events.items(image_event(action, IMAGE_ID, IMAGE_ID))[0])
    events.put(("resync", "engine started"))
    events.put(("resync", "reconnected to Docker after 3.0 s"))
    assert [events.get_nowait() for _ in range(events.qsize())] == [
        ("container", "web1", "stopped"),
        ("container", "web2", "started"),
        ("image", "1aaacc6ba778", "removed"),
        ("resync", "reconnected to Docker after 3.0 s"),
    ]


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("unix:///run/docker.sock", "/run/docker.sock"),
        ("unix:///srv/lab/hv2/run/docker.sock", "/srv/lab/hv2/run/docker.sock"),
        ("tcp://127.0.0.1:2375", None),
        ("unix://", None),
        (None, None),
    ],
)
def test_the_socket_of_a_unix_url(url, path):
    assert container_events.socket_path(url) == path
