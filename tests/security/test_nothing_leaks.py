"""Nothing leaks between users, tried on the lab with real HTTP and WebSocket clients: a viewer
listening on Brine's event stream while an operator opens a console sees no token, no secret and
no password; a console token copied from anywhere is useless without the secret that only the
browser that asked for it holds; events a host fakes for another host never reach a browser;
refusals are structured and carry no internals; out-of-range numbers are refused before anything
starts."""

import json
import secrets

import pytest

from support.console_ws import ConsoleSocket
from support.site import StreamReader
from support.site import api_login
from support.site import console_ticket
from support.site import runner

pytestmark = pytest.mark.lab

VM = "lab-vm1"


def where(lab, vm):
    for host in lab.hosts:
        if vm in lab.virsh(host, "list", "--all", "--name").split():
            return host
    raise AssertionError(f"{vm} is on no lab host")


@pytest.fixture(scope="module")
def scene(lab):
    """
    A viewer reads the stream while an operator opens a console and works, and one host fakes
    events for another; what the viewer received, and what the operator was given.
    """
    source = where(lab, VM)
    other = next(host for host in lab.hosts if host != source)
    viewer = api_login(lab, "viewer")
    operator = api_login(lab, "operator")
    reader = StreamReader(lab, viewer)
    assert reader.status == 200
    marker = f"forged-{secrets.token_hex(6)}"
    try:
        status, ticket = console_ticket(lab, operator, VM)
        assert status == 200 and "token" in ticket, ticket
        runner(lab, operator, "cluster.inventory")
        # One host fakes events of the other, by Salt's single and batched event routes.
        forged = {"host": other, "name": "lab-vm2", "state": marker, "vm": None}
        tag = f"brine/vm/{other}/lab-vm2/state"
        sent = lab.salt("--out=json", source, "event.send", tag, f"data={json.dumps(forged)}")
        assert sent.returncode == 0, sent.stderr
        batch = {"events": [{"tag": tag, "data": {"cmd": "_minion_event", "id": other, "data": forged}}]}
        sent = lab.salt(
            "--out=json", source, "event.fire_master", "{}", "brine/ignored", f"preload={json.dumps(batch)}"
        )
        assert sent.returncode == 0, sent.stderr
        # A real change afterwards, which the viewer must see: the stream works and came after.
        lab.virsh(source, "suspend", VM)
        lab.virsh(source, "resume", VM)
        real = f"brine/vm/{source}/{VM}/state"
        assert reader.wait_for(lambda r: real in r.tags(), timeout=60), reader.text[-2000:]
    finally:
        reader.close()
    return {"reader": reader, "ticket": ticket, "marker": marker, "source": source, "other": other}


def test_the_viewer_saw_brine_events_and_nothing_else(scene):
    tags = scene["reader"].tags()
    assert tags and all(tag.startswith(("brine/", "salt/minion/")) for tag in tags), tags
    assert not [tag for tag in tags if tag.startswith(("salt/run/", "salt/job/", "salt/netapi/"))]


def test_the_viewer_saw_no_token_secret_or_password(scene):
    text, ticket = scene["reader"].text, scene["ticket"]
    for secret in (ticket["token"], ticket["secret"], ticket["password"], ticket["password_encrypted"]):
        assert secret not in text
    assert "password" not in text


def test_events_a_host_forged_for_another_host_never_arrive(scene):
    assert scene["marker"] not in scene["reader"].text


def test_a_copied_token_is_useless_without_the_browsers_secret(scene):
    ticket = scene["ticket"]
    with ConsoleSocket(ticket["token"]) as bare:
        assert bare.status == 403, bare.headers
    with ConsoleSocket(f"{ticket['token']}.{secrets.token_urlsafe(32)}") as wrong:
        assert wrong.status == 403, wrong.headers
    # The refusals did not spend it: the session that asked for it still gets in.
    with ConsoleSocket(ticket["bound"]) as right:
        assert right.status == 101, right.headers
        opcode, banner = right.message()
        assert opcode == 2 and banner.startswith(b"RFB ")


def test_refusals_through_the_site_are_structured_without_internals(lab):
    operator = api_login(lab, "operator")
    status, ret = runner(lab, operator, "cluster.start", name=VM)
    assert status == 200
    assert ret["error"]["code"] == "already_running", ret
    status, ret = runner(lab, operator, "cluster.start", nmae=VM)
    assert ret["error"]["code"] == "invalid_argument", ret
    text = json.dumps(ret)
    assert "Traceback" not in text and "CLI Example" not in text


@pytest.mark.parametrize(
    "fun,kwarg",
    [
        ("cluster.migrate", {"target": "OTHER", "bandwidth": 2**70}),
        ("cluster.migrate", {"target": "OTHER", "max_downtime": 10**9}),
        ("cluster.shutdown", {"timeout": 10**9}),
        ("cluster.inventory", {"timeout": 10**12}),
    ],
    ids=["bandwidth", "max_downtime", "shutdown timeout", "inventory timeout"],
)
def test_out_of_range_numbers_are_refused_before_anything_starts(lab, fun, kwarg):
    source = where(lab, VM)
    other = next(host for host in lab.hosts if host != source)
    kwarg = {key: (other if value == "OTHER" else value) for key, value in kwarg.items()}
    if fun != "cluster.inventory":
        kwarg["name"] = VM
    viewer_or_operator = api_login(lab, "operator")
    status, ret = runner(lab, viewer_or_operator, fun, **kwarg)
    assert status == 200 and ret["error"]["code"] == "invalid_argument", ret
    assert where(lab, VM) == source
    assert lab.domstate(VM, source) == "running"
