"""
The ``containers`` runner as a Salt face (issue 12, docs/containers.md) against a scripted
LocalClient (``support.saltfakes``, taught list targets here): every host's engine and
containers, images merged across hosts, the registry's catalog, a run placed and its environment
sealed to the chosen host only, every argument checked before any host is asked, and the
operator's and admin's actions with the host's refusals passed on coded. The pure parts are
tests/unit/test_container_hosts.py and test_container_registry.py.
"""

import json
import math

import pytest

from brine import console_crypto
from brine import container_registry
from brine import sealed
from brine import signing
from brine.errors import Invalid
from brine.errors import Refused
from support import loading
from support.provisioning import host_keys
from support.saltfakes import ScriptedClient
from support.saltfakes import master_opts
from support.saltfakes import raised

UP = {"state": "up", "version": "20.10.24+dfsg1", "message": None}
NONE = {"state": "none", "version": None, "message": "no Docker socket at unix:///run/docker.sock"}
NO_ENGINE = "ERROR: [docker_unavailable] no Docker engine at unix:///run/docker.sock"
WEB = {"id": "1ffb213e8dbb", "tags": ["brine/web:1"], "ref": "brine/web:1", "created": 1, "size": 10}
WEB_REGISTRY = dict(WEB, tags=["brine-master:5000/brine/web:1"], ref="brine-master:5000/brine/web:1")
ACTIONS = ("start", "stop", "restart", "pause", "unpause")
HOSTS = ("hv1", "hv2", "hv3")


def box(name, state="running", image="brine/web:1"):
    return {
        "name": name,
        "id": "5d71c7be79d6",
        "image": image,
        "image_id": "1ffb213e8dbb",
        "state": state,
        "status": "Up 2 seconds",
        "ports": [],
        "created": 1796008117,
        "restart": "no",
        "exit_code": None,
        "command": "/bin/httpd -f",
        "managed": False,
    }


def ran(**kwargs):
    """A host's containers.run: the container dict of what it was asked."""
    return dict(box(kwargs["name"], image=kwargs["image"]), pulled=False)


def docker_host(engine=UP, containers=(), images=(), **more):
    """A host's containers module, answering from what it has."""
    up = engine["state"] == "up"
    table = {
        "containers.engine": engine,
        "containers.list": list(containers) if up else NO_ENGINE,
        "containers.images": list(images) if up else NO_ENGINE,
        "containers.run": ran,
    }
    table.update(more)
    return table


class Client(ScriptedClient):
    """ScriptedClient with list targets (fanout.gather(hosts=...)); records each ``cmd`` timeout."""

    def __init__(self, hosts, expected=None):
        super().__init__(hosts, expected)
        self.timeouts = []

    def run_job(self, tgt, fun, kwarg=None, tgt_type="glob", **kwargs):
        if tgt_type != "list":
            return super().run_job(tgt, fun, kwarg=kwarg, tgt_type=tgt_type, **kwargs)
        self.calls.append((tuple(tgt), fun, kwarg))
        matched = [host for host in tgt if host in self.hosts_expected]
        for host in matched:
            entry = self._entry(host, fun, kwarg or {})
            if entry:
                data = {"id": host, "return": entry["ret"], "retcode": entry["retcode"]}
                self.event.queue.append({"tag": f"salt/job/1/ret/{host}", "data": data})
        return {"jid": "1", "minions": matched} if matched else {}

    def cmd(self, tgt, fun, kwarg=None, tgt_type="glob", timeout=None, full_return=False):
        self.timeouts.append(timeout)
        return super().cmd(tgt, fun, kwarg=kwarg, tgt_type=tgt_type, timeout=timeout, full_return=full_return)


@pytest.fixture(scope="module")
def keys():
    return host_keys((*HOSTS, "master"))


@pytest.fixture
def runner(tmp_path, monkeypatch, keys):
    module = loading.load("_runners/containers.py")
    opts = master_opts(tmp_path, inventory={"timeout": 1})
    pki = tmp_path / "pki"
    (pki / "minions").mkdir(parents=True)
    for host in ("hv1", "hv2"):  # hv3's key is not accepted
        (pki / "minions" / host).write_bytes(keys[host][1])
    (pki / "master.pem").write_bytes(keys["master"][0])
    (pki / "master.pub").write_bytes(keys["master"][1])
    opts["pki_dir"] = str(pki)
    monkeypatch.setattr(module, "__opts__", opts, raising=False)
    monkeypatch.setattr(module, "__pillar__", {}, raising=False)
    return module


def use(monkeypatch, runner, hosts, expected=None):
    client = Client(hosts, expected)
    monkeypatch.setattr(runner, "_local_client", lambda: client)
    return client


def browser_sealed(keys, text):
    """``text`` sealed as the browser seals it: RSA-OAEP to the master's public key."""
    return console_crypto.encrypt(signing.public_key(keys["master"][1]), text)


# ---- Reading: containers, images, the registry.


def test_list_asks_every_engine_then_the_containers_of_those_up(runner, monkeypatch):
    client = use(
        monkeypatch,
        runner,
        {
            "hv1": docker_host(containers=[box("web"), box("old", "exited")]),
            "hv2": docker_host(NONE),
            "hv4": {"containers.engine": "ERROR: [host_error] 'containers.engine' is not available."},
        },
        expected=["hv1", "hv2", "hv3", "hv4"],
    )
    assert runner.list_() == {
        "hosts": [
            {
                "host": "hv1",
                "answered": True,
                "error": None,
                "docker": UP,
                "containers": [dict(box("web"), host="hv1"), dict(box("old", "exited"), host="hv1")],
            },
            {"host": "hv2", "answered": True, "error": None, "docker": NONE, "containers": []},
            {
                "host": "hv3",
                "answered": False,
                "error": {"code": "unreachable", "message": "did not answer within 1 s"},
                "docker": None,
                "containers": [],
            },
            {
                "host": "hv4",
                "answered": False,
                "error": {"code": "host_error", "message": "'containers.engine' is not available."},
                "docker": None,
                "containers": [],
            },
        ]
    }
    assert client.calls == [("all", "containers.engine", None), (("hv1",), "containers.list", None)]


def test_list_of_one_host_asks_that_host_only(runner, monkeypatch):
    client = use(monkeypatch, runner, {"hv1": docker_host(containers=[box("web")]), "hv2": docker_host()})
    hosts = runner.list_("hv1")["hosts"]
    assert [(h["host"], [c["name"] for c in h["containers"]]) for h in hosts] == [("hv1", ["web"])]
    assert client.calls == [(("hv1",), "containers.engine", None), (("hv1",), "containers.list", None)]


def test_list_of_a_host_the_master_does_not_know_says_it_did_not_answer(runner, monkeypatch):
    client = use(monkeypatch, runner, {"hv1": docker_host()})
    assert runner.list_(host="hv9") == {
        "hosts": [
            {
                "host": "hv9",
                "answered": False,
                "error": {"code": "unreachable", "message": "did not answer within 1 s"},
                "docker": None,
                "containers": [],
            }
        ]
    }
    assert client.calls == [(("hv9",), "containers.engine", None)]


def test_the_list_function_is_called_list(runner):
    assert runner.__func_alias__ == {"list_": "list"}
    with pytest.raises(Invalid) as invalid:
        raised(runner.list_(hosts="hv1"))
    assert invalid.value.sentence == "containers.list has no argument hosts (its arguments: host)"


def test_images_merge_across_hosts_with_the_hosts_that_have_each(runner, monkeypatch):
    client = use(
        monkeypatch,
        runner,
        {
            "hv1": docker_host(images=[WEB]),
            "hv2": docker_host(images=[WEB_REGISTRY]),
            "hv3": docker_host(NONE),
        },
    )
    assert runner.images() == {
        "images": [dict(WEB, tags=["brine/web:1", "brine-master:5000/brine/web:1"], hosts=["hv1", "hv2"])],
        "hosts": [
            {"host": "hv1", "answered": True, "error": None},
            {"host": "hv2", "answered": True, "error": None},
            {
                "host": "hv3",
                "answered": False,
                "error": {
                    "code": "docker_unavailable",
                    "message": "no Docker engine at unix:///run/docker.sock",
                },
            },
        ],
    }
    assert client.calls == [("all", "containers.images", None)]
    assert runner.images("hv2")["images"][0]["hosts"] == ["hv2"]
    assert client.calls[-1] == (("hv2",), "containers.images", None)


@pytest.mark.parametrize("fun", ["list_", "images"])
def test_a_bad_host_is_refused_before_any_host_is_asked(runner, monkeypatch, fun):
    client = use(monkeypatch, runner, {})
    with pytest.raises(Invalid, match="is not a valid host name for host"):
        raised(getattr(runner, fun)(host="../hv1"))
    assert client.calls == []


def test_the_registry_is_read_from_the_configured_registry_and_url(runner, monkeypatch):
    asked = []
    monkeypatch.setattr(
        container_registry, "catalog", lambda registry, url: asked.append((registry, url)) or {"images": []}
    )
    runner.__opts__["brine"]["containers"] = {
        "registry": "brine-master:5000",
        "registry_url": "http://10.77.0.1:5000",
    }
    assert runner.registry() == {"images": []}
    runner.__opts__["brine"]["containers"] = {"registry": "r.example"}
    runner.registry()
    assert asked == [("brine-master:5000", "http://10.77.0.1:5000"), ("r.example", None)]


def test_without_a_registry_the_registry_holds_nothing(runner):
    assert runner.registry() == {"registry": None, "images": [], "error": None}


# ---- Running a container: placement.


def test_a_run_goes_to_a_host_with_the_image_that_runs_the_fewest_containers(runner, monkeypatch):
    client = use(
        monkeypatch,
        runner,
        {
            "hv1": docker_host(containers=[box("a"), box("b")], images=[WEB]),
            "hv2": docker_host(containers=[box("c"), box("d", "exited")], images=[WEB]),
            "hv3": docker_host(images=[]),
            "hv4": docker_host(NONE),
        },
    )
    ret = runner.run("brine/web:1", name="web1", ports=["8080:80"])
    assert ret == dict(
        box("web1"),
        host="hv2",
        pulled=False,
        placed="hv2 has brine/web:1 and runs 1 container, the fewest of the hosts that have it (hv1, hv2)",
    )
    assert client.calls == [
        ("all", "containers.list", None),
        (("hv1", "hv2", "hv3"), "containers.images", None),
        (
            "hv2",
            "containers.run",
            {
                "image": "brine/web:1",
                "name": "web1",
                "ports": [{"host_port": 8080, "container_port": 80, "protocol": "tcp", "bind": "0.0.0.0"}],
                "restart": "no",
                "detach": True,
            },
        ),
    ]
    # The run may pull first: the runner waits the inventory timeout and the pull's bound.
    assert client.timeouts == [1 + 300]


def test_a_reference_without_a_registry_finds_the_image_under_the_sites_registry(runner, monkeypatch):
    runner.__opts__["brine"]["containers"] = {"registry": "brine-master:5000"}
    use(
        monkeypatch,
        runner,
        {"hv1": docker_host(images=[]), "hv2": docker_host(containers=[box("a")], images=[WEB_REGISTRY])},
    )
    assert runner.run("brine/web:1")["host"] == "hv2"


def test_when_no_host_has_the_image_the_least_busy_host_pulls_it(runner, monkeypatch):
    use(
        monkeypatch,
        runner,
        {
            "hv1": docker_host(containers=[box("a")], images=[WEB]),
            "hv2": docker_host(
                containers=[], images=[WEB], **{"containers.run": lambda **kw: dict(ran(**kw), pulled=True)}
            ),
        },
    )
    ret = runner.run("brine/hello:1")
    assert ret["host"] == "hv2" and ret["pulled"] is True
    assert ret["placed"] == (
        "no host has brine/hello:1: hv2 has a Docker engine up and runs 0 containers, the fewest of the "
        "hosts with one (hv1, hv2); it pulls the image"
    )
    assert ret["name"].startswith("hello-")


def test_no_host_with_an_engine_up_is_no_room_and_nothing_runs(runner, monkeypatch):
    client = use(monkeypatch, runner, {"hv1": docker_host(NONE)}, expected=["hv1", "hv2"])
    with pytest.raises(Refused) as refused:
        raised(runner.run("brine/web:1"))
    assert refused.value.code == "no_room"
    assert refused.value.sentence == (
        "no host has a Docker engine that can run brine/web:1 (hv1: no Docker engine at "
        "unix:///run/docker.sock; hv2: did not answer within 1 s)"
    )
    assert [call[1] for call in client.calls] == ["containers.list"]


def test_a_run_on_a_named_host_asks_that_host_only(runner, monkeypatch):
    client = use(monkeypatch, runner, {"hv1": docker_host(), "hv2": docker_host()})
    ret = runner.run("brine/web:1", name="web1", host="hv1", restart="always", detach=False, timeout=20)
    assert (ret["host"], ret["placed"]) == ("hv1", "hv1 was asked for")
    assert client.calls == [
        (
            "hv1",
            "containers.run",
            {
                "image": "brine/web:1",
                "name": "web1",
                "ports": [],
                "restart": "always",
                "detach": False,
                "timeout": 20.0,
            },
        )
    ]
    # Not detached, the host waits for the container's end too.
    assert client.timeouts == [math.ceil(1 + 300 + 20)]


@pytest.mark.parametrize(
    ("answer", "code", "sentence"),
    [
        (
            "ERROR: [container_exists] a container named web1 already exists",
            "container_exists",
            "hv1: a container named web1 already exists",
        ),
        (
            "ERROR: [port_in_use] host port 8080/tcp is already in use",
            "port_in_use",
            "hv1: host port 8080/tcp is already in use",
        ),
        (
            "ERROR: [no_image] brine/nope:1 is not in the registry",
            "no_image",
            "hv1: brine/nope:1 is not in the registry",
        ),
        ("ERROR: [invalid_argument] ports[0] is wrong", "invalid_argument", "hv1: ports[0] is wrong"),
    ],
)
def test_a_hosts_refusal_of_a_run_comes_back_coded(runner, monkeypatch, answer, code, sentence):
    use(monkeypatch, runner, {"hv1": docker_host(**{"containers.run": answer})})
    with pytest.raises((Refused, Invalid)) as refused:
        raised(runner.run("brine/web:1", name="web1", host="hv1"))
    assert (refused.value.code, refused.value.sentence) == (code, sentence)


# ---- Running a container: the environment reaches its host sealed, never in clear.


def test_the_environment_reaches_the_host_only_sealed_to_its_key(runner, monkeypatch, keys):
    client = use(monkeypatch, runner, {"hv1": docker_host(images=[]), "hv2": docker_host(images=[WEB])})
    runner.run(
        "brine/web:1",
        name="web1",
        environment={"MODE": "plain-value-1"},
        secret_environment={"PASSWORD": browser_sealed(keys, "secret-value-2")},
    )
    host, fun, kwarg = client.calls[-1]
    assert (host, fun) == ("hv2", "containers.run")
    assert "environment" not in kwarg and "secret_environment" not in kwarg
    published = json.dumps(client.calls)
    assert "plain-value-1" not in published and "secret-value-2" not in published
    text = sealed.unseal(keys["hv2"][0], kwarg["sealed_environment"], "containers.run:web1")
    assert json.loads(text) == {"MODE": "plain-value-1", "PASSWORD": "secret-value-2"}
    # Only hv2's key opens it, and only for this container.
    with pytest.raises(Refused):
        sealed.unseal(keys["hv1"][0], kwarg["sealed_environment"], "containers.run:web1")
    with pytest.raises(Refused):
        sealed.unseal(keys["hv2"][0], kwarg["sealed_environment"], "containers.run:web2")


def test_a_default_name_is_chosen_before_the_environment_is_sealed_for_it(runner, monkeypatch, keys):
    client = use(monkeypatch, runner, {"hv1": docker_host(images=[WEB])})
    ret = runner.run("brine/web:1", environment=["A=1"])
    kwarg = client.calls[-1][2]
    assert kwarg["name"] == ret["name"] and ret["name"].startswith("web-")
    text = sealed.unseal(keys["hv1"][0], kwarg["sealed_environment"], f"containers.run:{ret['name']}")
    assert json.loads(text) == {"A": "1"}


def test_a_host_whose_key_the_master_has_not_accepted_gets_no_environment(runner, monkeypatch):
    client = use(monkeypatch, runner, {"hv3": docker_host()})
    with pytest.raises(Invalid) as invalid:
        raised(runner.run("brine/web:1", host="hv3", environment={"A": "1"}))
    assert invalid.value.code == "no_host"
    assert client.calls == []
    # Without an environment there is nothing to seal.
    assert runner.run("brine/web:1", host="hv3")["host"] == "hv3"


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"image": "web;rm -rf /"}, "is not an image reference"),
        ({"image": "web`id`"}, "is not an image reference"),
        ({"image": "web", "name": "web 1"}, "is not a valid container name"),
        ({"image": "web", "ports": ["0:80"]}, "ports[0].host_port must be a port from 1 to 65535"),
        ({"image": "web", "ports": ["8080:70000"]}, "ports[0].container_port must be a port from 1 to 65535"),
        ({"image": "web", "restart": "often"}, "restart must be one of"),
        ({"image": "web", "host": "hv1;x"}, "is not a valid host name for host"),
        ({"image": "web", "detach": "perhaps"}, "detach must be true or false"),
        ({"image": "web", "timeout": 601}, "timeout must be at most 600 seconds"),
        (
            {"image": "web", "environment": {"A": "line\nsecret-value"}},
            "environment variable A must be one line",
        ),
        (
            {"image": "web", "secret_environment": {"A": "c2VjcmV0LXZhbHVl"}},
            "secret_environment[A] was not sealed",
        ),
        ({"image": "web", "secret_environment": {"A": 5}}, "secret_environment[A] must be base64"),
        ({"image": "web", "bogus": 1}, "containers.run has no argument bogus"),
    ],
)
def test_bad_arguments_are_refused_before_any_host_is_asked(runner, monkeypatch, arguments, words):
    client = use(monkeypatch, runner, {"hv1": docker_host(images=[WEB])})
    with pytest.raises(Invalid) as invalid:
        raised(runner.run(**arguments))
    assert words in invalid.value.sentence
    assert "secret-value" not in invalid.value.sentence
    assert client.calls == []


def test_a_secret_sealed_to_the_master_that_breaks_the_rules_is_refused_without_its_value(
    runner, monkeypatch, keys
):
    client = use(monkeypatch, runner, {"hv1": docker_host(images=[WEB])})
    with pytest.raises(Invalid) as invalid:
        raised(runner.run("web", secret_environment={"A": browser_sealed(keys, "two\nlines-secret-value")}))
    assert invalid.value.sentence.startswith("environment variable A must be one line")
    assert "secret-value" not in invalid.value.sentence
    assert client.calls == []


# ---- An operator's actions, an admin's remove, logs.


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_runs_on_its_host_and_returns_the_container_with_its_host(runner, monkeypatch, action):
    state = {"stop": "exited", "pause": "paused"}.get(action, "running")
    client = use(monkeypatch, runner, {"hv2": {f"containers.{action}": lambda name: box(name, state)}})
    assert getattr(runner, action)("hv2", "web1") == dict(box("web1", state), host="hv2")
    assert client.calls == [("hv2", f"containers.{action}", {"name": "web1"})]


def test_a_stop_may_take_dockers_grace_period(runner, monkeypatch):
    client = use(monkeypatch, runner, {"hv2": {"containers.stop": lambda name: box(name, "exited")}})
    runner.stop("hv2", "web1")
    assert client.timeouts == [1 + 30]


def test_remove_passes_force_on_and_names_the_host(runner, monkeypatch):
    client = use(
        monkeypatch,
        runner,
        {"hv2": {"containers.remove": lambda name, force: {"name": name, "removed": True}}},
    )
    assert runner.remove("hv2", "web1", force="true") == {"host": "hv2", "name": "web1", "removed": True}
    assert runner.remove("hv2", "web1") == {"host": "hv2", "name": "web1", "removed": True}
    assert [call[2] for call in client.calls] == [
        {"name": "web1", "force": True},
        {"name": "web1", "force": False},
    ]


def test_logs_pass_the_tail_on(runner, monkeypatch):
    client = use(
        monkeypatch,
        runner,
        {"hv2": {"containers.logs": lambda name, tail: {"name": name, "lines": ["hello"], "tail": tail}}},
    )
    assert runner.logs("hv2", "hello1", tail=20) == {
        "host": "hv2",
        "name": "hello1",
        "lines": ["hello"],
        "tail": 20,
    }
    assert runner.logs("hv2", "hello1")["tail"] == 100
    assert [call[2] for call in client.calls] == [
        {"name": "hello1", "tail": 20},
        {"name": "hello1", "tail": 100},
    ]


@pytest.mark.parametrize(
    ("fun", "args", "words"),
    [
        ("logs", ("hv2", "web1", 0), "tail must be more than 0 lines"),
        ("logs", ("hv2", "web1", 10001), "tail must be at most 10000 lines"),
        ("logs", ("hv2", "web1", "all"), "tail must be a whole number of lines"),
        ("remove", ("hv2", "web1", "maybe"), "force must be true or false"),
        ("start", ("hv2", "../web1"), "is not a valid container name"),
        ("stop", ("hv 2", "web1"), "is not a valid host name for host"),
        ("pause", ("hv2",), "containers.pause needs the argument name"),
    ],
)
def test_bad_action_arguments_are_refused_before_the_host_is_asked(runner, monkeypatch, fun, args, words):
    client = use(monkeypatch, runner, {})
    with pytest.raises(Invalid) as invalid:
        raised(getattr(runner, fun)(*args))
    assert words in invalid.value.sentence
    assert client.calls == []


@pytest.mark.parametrize(
    ("fun", "answer", "code"),
    [
        ("start", "ERROR: [no_container] There is no container named web1 on hv2", "no_container"),
        ("pause", "ERROR: [wrong_state] web1 is not running", "wrong_state"),
        ("remove", "ERROR: [wrong_state] web1 is running; stop it or force the removal", "wrong_state"),
        (
            "logs",
            "ERROR: [docker_unavailable] no Docker engine at unix:///run/docker.sock",
            "docker_unavailable",
        ),
    ],
)
def test_a_hosts_refusal_of_an_action_comes_back_coded_with_the_host(runner, monkeypatch, fun, answer, code):
    use(monkeypatch, runner, {"hv2": {f"containers.{fun}": answer}})
    with pytest.raises(Refused) as refused:
        raised(getattr(runner, fun)("hv2", "web1"))
    assert refused.value.code == code
    assert refused.value.sentence == "hv2: " + answer.split("] ", 1)[1]


def test_an_action_on_a_host_that_does_not_answer_is_unreachable(runner, monkeypatch):
    use(monkeypatch, runner, {})
    with pytest.raises(Refused) as refused:
        raised(runner.restart("hv2", "web1"))
    assert (refused.value.code, refused.value.sentence) == ("unreachable", "hv2: did not answer within 31 s")


def test_every_public_function_has_a_cli_example(runner):
    for name in ("list_", "images", "registry", "run", *ACTIONS, "remove", "logs"):
        function = getattr(runner, name)
        assert "CLI Example:" in function.__doc__ and "salt-run containers." in function.__doc__, name
