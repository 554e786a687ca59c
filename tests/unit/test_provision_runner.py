"""
Unit tests of the ``provision`` runner as a Salt face: the catalog through it, and ``create``
(validation first, placement, the plan, the kickstart sealed for the chosen host only, the
one-at-a-time lock) against a scripted LocalClient (``support.saltfakes``) and a real catalog
folder. The pure parts are tested with the library (test_placement.py, test_catalog*.py,
test_kickstart*.py).
"""

import threading
import time

import pytest

from brine import sealed
from brine.errors import Refused
from support import loading
from support.provisioning import CATALOG
from support.provisioning import HASH
from support.provisioning import SSH_KEY
from support.provisioning import host_keys
from support.provisioning import seal_for_master
from support.provisioning import write_catalog
from support.saltfakes import ScriptedClient
from support.saltfakes import master_opts
from support.saltfakes import raised

HOSTS = ("hv1", "hv2")
GIB_KIB = 1024 * 1024


@pytest.fixture
def keys():
    return host_keys((*HOSTS, "master"))


@pytest.fixture
def runner(tmp_path, monkeypatch, keys):
    module = loading.load("_runners/provision.py")
    opts = master_opts(
        tmp_path, inventory={"timeout": 1}, provision={"catalog_dir": str(tmp_path / "catalog")}
    )
    pki = tmp_path / "pki"
    (pki / "minions").mkdir(parents=True)
    for host, (_private, public) in keys.items():
        (pki / "minions" / host).write_bytes(public)
    (pki / "master.pem").write_bytes(keys["master"][0])
    (pki / "master.pub").write_bytes(keys["master"][1])
    opts["pki_dir"] = str(pki)
    monkeypatch.setattr(module, "__opts__", opts, raising=False)
    monkeypatch.setattr(module, "__pillar__", {}, raising=False)
    monkeypatch.setattr(
        module, "_hosts_matching", lambda where: list(HOSTS) if where["kind"] == "any" else [where["value"]]
    )
    write_catalog(tmp_path / "catalog")
    return module


def capacity(free_gib, taken=()):
    def answer(needs):
        problems = []
        if needs["name"] in taken:
            problems.append(
                {"code": "name_taken", "reason": f"a VM named {needs['name']} is already defined"}
            )
        if needs["memory"] * 1024 > free_gib * GIB_KIB:
            problems.append({"code": "memory", "reason": f"{free_gib} GiB left"})
        return {"free_memory": free_gib * GIB_KIB, "problems": problems}

    return answer


def installs_into(record):
    def install(spec, kickstart):
        record.append((spec, kickstart))
        return {
            "name": spec["name"],
            "uuid": "u-1",
            "volume": f"/img/{spec['name']}.qcow2",
            "state": "installing",
        }

    return install


def use(monkeypatch, runner, hosts):
    client = ScriptedClient(hosts)
    monkeypatch.setattr(runner, "_local_client", lambda: client)
    return client


def test_the_catalog_through_the_runner(runner):
    assert sorted(runner.catalog()) == sorted(CATALOG)
    assert runner.catalog("profiles") == {"profiles": CATALOG["profiles"]}
    ret = runner.catalog_set("profiles", "big", memory="2048", vcpus=2, disk=20)
    assert ret == {"kind": "profiles", "name": "big", "fields": {"memory": 2048, "vcpus": 2, "disk": 20}}
    with pytest.raises(Exception, match="host_groups/web") as info:
        raised(runner.catalog_delete("profiles", "small"))
    assert info.value.code == "in_use"
    assert runner.catalog_delete("profiles", "big") == {"kind": "profiles", "name": "big", "deleted": True}
    assert "big" not in runner.catalog("profiles")["profiles"]


@pytest.mark.parametrize("kind", ["../etc", "profile", "", 5])
def test_unknown_kinds_are_refused(runner, kind):
    with pytest.raises(Exception) as info:
        raised(runner.catalog(kind))
    assert info.value.code == "invalid_argument"


def test_a_plan_names_the_roomiest_host_and_changes_nothing(runner, monkeypatch):
    record = []
    client = use(monkeypatch, runner, {
        "hv1": {"provision.capacity": capacity(2), "provision.install": installs_into(record)},
        "hv2": {"provision.capacity": capacity(5), "provision.install": installs_into(record)},
    })  # fmt: skip
    plan = runner.create("web1", host_group="web", password_hash=HASH, test=True)
    assert plan["test"] is True and plan["host"] == "hv2"
    assert [h["host"] for h in plan["placement"]["hosts"]] == ["hv1", "hv2"]
    assert (plan["memory"], plan["vcpus"], plan["disk"], plan["network"], plan["pool"]) == (
        128,
        1,
        1,
        "lab",
        "default",
    )
    assert plan["nics"][0]["mac"].startswith("52:54:00:")
    assert plan["repositories"] == [
        {"name": "base", "url": "http://repo.lab/base"},
        {"name": "extras", "url": "http://repo.lab/extras"},
    ]
    assert HASH not in plan["kickstart"] and "<hidden>" in plan["kickstart"]
    assert record == [] and [c[1] for c in client.calls] == ["provision.capacity"]


def test_the_mac_is_stable_per_name(runner, monkeypatch):
    use(
        monkeypatch,
        runner,
        {"hv1": {"provision.capacity": capacity(2)}, "hv2": {"provision.capacity": capacity(1)}},
    )
    first = runner.create("web1", host_group="web", ssh_key=SSH_KEY, test=True)["nics"][0]["mac"]
    again = runner.create("web1", host_group="web", ssh_key=SSH_KEY, test=True)["nics"][0]["mac"]
    other = runner.create("web2", host_group="web", ssh_key=SSH_KEY, test=True)["nics"][0]["mac"]
    assert first == again != other


def test_create_seals_the_kickstart_for_the_chosen_host_only(runner, monkeypatch, keys):
    record = []
    client = use(monkeypatch, runner, {
        "hv1": {"provision.capacity": capacity(5), "provision.install": installs_into(record)},
        "hv2": {"provision.capacity": capacity(1), "provision.install": installs_into(record)},
    })  # fmt: skip
    ret = runner.create("web1", host_group="web", password_hash=HASH, ssh_key=SSH_KEY)
    assert ret["state"] == "installing" and ret["host"] == "hv1"
    assert [(c[0], c[1]) for c in client.calls] == [
        ("all", "provision.capacity"),
        ("hv1", "provision.install"),
    ]
    spec, box = record[0]
    assert spec["name"] == "web1" and spec["mac"] == ret["nics"][0]["mac"] and spec["keep_failed"] is False
    # Nothing readable in the job's arguments: the hash travels sealed, for hv1's key only.
    assert HASH not in repr(client.calls) and "rootpw" not in repr(client.calls)
    text = sealed.unseal(keys["hv1"][0], box, "provision.install:web1")
    assert HASH in text and "url --url=" in text
    with pytest.raises(Refused):
        sealed.unseal(keys["hv2"][0], box, "provision.install:web1")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"name": "web;reboot"}, "not a valid VM name"),
        ({"name": "../etc"}, "not a valid VM name"),
        ({"name": "{{7*7}}"}, "not a valid VM name"),
        ({"memory": 0}, "memory"),
        ({"memory": 10**9}, "memory"),
        ({"disk": 0}, "disk"),
        ({"vcpus": 10**9}, "vcpus"),
        ({"host_group": "nope"}, "nope"),
        ({"os_tree": "missing"}, "missing"),
        ({"network": "lab;id"}, "network"),
        ({"password_hash": "hunter2"}, "hash"),
        ({"password_hash": None, "ssh_key": None}, "password_hash"),
        ({"ssh_key": "ssh-ed25519 {{7*7}}"}, "key"),
        ({"host": "hv1/../x"}, "host"),
    ],
)
def test_bad_input_is_refused_before_any_host_is_asked(runner, monkeypatch, kwargs, words):
    client = use(monkeypatch, runner, {h: {"provision.capacity": capacity(5)} for h in HOSTS})
    args = dict({"name": "web1", "host_group": "web", "password_hash": HASH}, **kwargs)
    with pytest.raises(Exception, match=words) as info:
        raised(runner.create(**args))
    assert info.value.code in ("invalid_argument", "no_entry")
    assert client.calls == []


def test_a_name_in_use_anywhere_is_refused(runner, monkeypatch):
    record = []
    client = use(monkeypatch, runner, {
        "hv1": {"provision.capacity": capacity(5), "provision.install": installs_into(record)},
        "hv2": {"provision.capacity": capacity(5, taken=("web1",))},
    })  # fmt: skip
    with pytest.raises(Exception, match="hv2") as info:
        raised(runner.create("web1", host_group="web", password_hash=HASH))
    assert info.value.code == "vm_exists" and record == []
    assert [c[1] for c in client.calls] == ["provision.capacity"]


def test_no_room_says_why_for_each_host(runner, monkeypatch):
    use(
        monkeypatch,
        runner,
        {"hv1": {"provision.capacity": capacity(0)}, "hv2": {"provision.capacity": capacity(0)}},
    )
    with pytest.raises(Exception, match=r"hv1: 0 GiB left; hv2: 0 GiB left") as info:
        raised(runner.create("web1", host_group="web", password_hash=HASH))
    assert info.value.code == "no_room"


def test_a_host_that_refuses_to_install_is_passed_on_with_its_code(runner, monkeypatch):
    use(monkeypatch, runner, {
        "hv1": {"provision.capacity": capacity(5),
                "provision.install": "ERROR: [install_failed] virt-install refused web1: no tree"},
    })  # fmt: skip
    monkeypatch.setattr(runner, "_hosts_matching", lambda where: ["hv1"])
    with pytest.raises(Exception, match="hv1: virt-install refused web1") as info:
        raised(runner.create("web1", host_group="web", password_hash=HASH))
    assert info.value.code == "install_failed"


def test_racing_creates_for_the_last_room_cannot_both_succeed(runner, monkeypatch):
    """Two creates at once with room for one VM: the lock makes the second see the first's VM."""
    defined = []

    def answer(needs):
        time.sleep(0.05)  # the fan-out takes a while: both creates would be inside it together
        full = len(defined) >= 1
        problems = [{"code": "memory", "reason": "no memory left"}] if full else []
        return {"free_memory": 0 if full else GIB_KIB, "problems": problems}

    def install(spec, kickstart):
        defined.append(spec["name"])
        return {"name": spec["name"], "uuid": "u", "volume": None, "state": "installing"}

    monkeypatch.setattr(runner, "_hosts_matching", lambda where: ["hv1"])
    monkeypatch.setattr(
        runner,
        "_local_client",
        lambda: ScriptedClient({"hv1": {"provision.capacity": answer, "provision.install": install}}),
    )
    results = {}

    def create(name):
        results[name] = runner.create(name, host_group="web", password_hash=HASH)

    threads = [threading.Thread(target=create, args=(n,)) for n in ("a1", "a2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.get("error", {}).get("code", "ok") for r in results.values())
    assert codes == ["no_room", "ok"] and len(defined) == 1


def test_the_browser_seals_the_hash_to_the_master_and_the_runner_opens_it(runner, monkeypatch, keys):
    answer = runner.sealing_key()
    assert answer["algorithm"] == "RSA-OAEP-256"
    box = seal_for_master(answer["key"], HASH)
    record = []
    client = use(
        monkeypatch,
        runner,
        {h: {"provision.capacity": capacity(5), "provision.install": installs_into(record)} for h in HOSTS},
    )
    ret = runner.create("web1", host_group="web", password_hash_sealed=box)
    assert ret["state"] == "installing" and HASH not in repr(ret) and HASH not in repr(client.calls)
    host = ret["host"]
    assert HASH in sealed.unseal(keys[host][0], record[0][1], "provision.install:web1")
    with pytest.raises(Exception, match="not both") as info:
        raised(runner.create("web2", host_group="web", password_hash_sealed=box, password_hash=HASH))
    assert info.value.code == "invalid_argument"
    with pytest.raises(Exception, match="sealing_key"):
        raised(runner.create("web2", host_group="web", password_hash_sealed="QUJD"))


class FakeCkMinions:
    """Salt's matcher on the master's caches: hypervisors hv1-hv3, hv2 and hv3 in rack r1."""

    def __init__(self, opts):
        self.opts = opts

    def check_minions(self, expr, tgt_type):
        table = {
            ("brine:roles:hypervisor", "pillar"): ["hv1", "hv2", "hv3"],
            ("site:rack:r1", "grain"): ["hv2", "hv3", "db9"],
            ("brine:zone:z2", "pillar"): ["hv3"],
        }
        return {"minions": table.get((expr, tgt_type), [])}


@pytest.mark.parametrize(
    ("where", "hosts"),
    [
        ({"kind": "any"}, ["hv1", "hv2", "hv3"]),
        ({"kind": "host", "value": "hv2"}, ["hv2"]),
        ({"kind": "grain", "key": "site:rack", "value": "r1"}, ["hv2", "hv3"]),  # db9 is no hypervisor
        ({"kind": "pillar", "key": "brine:zone", "value": "z2"}, ["hv3"]),
        ({"kind": "grain", "key": "site:rack", "value": "r9"}, []),
    ],
)
def test_the_placement_names_the_candidate_hosts(tmp_path, monkeypatch, where, hosts):
    import salt.utils.minions

    module = loading.load("_runners/provision.py")
    monkeypatch.setattr(module, "__opts__", master_opts(tmp_path), raising=False)
    monkeypatch.setattr(salt.utils.minions, "CkMinions", FakeCkMinions)
    assert module._hosts_matching(where) == hosts  # pylint: disable=protected-access


def test_a_placement_on_an_unknown_host_is_no_host(tmp_path, monkeypatch):
    import salt.utils.minions

    module = loading.load("_runners/provision.py")
    monkeypatch.setattr(module, "__opts__", master_opts(tmp_path), raising=False)
    monkeypatch.setattr(salt.utils.minions, "CkMinions", FakeCkMinions)
    with pytest.raises(Exception, match="db9 is not a hypervisor host") as info:
        module._hosts_matching({"kind": "host", "value": "db9"})  # pylint: disable=protected-access
    assert info.value.code == "no_host"
