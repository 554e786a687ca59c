"""
Unit tests of consoles on both sides: the host's ``hypervisor.console`` (which VNC server, which
address, the per-session password; the pure parts in ``brine.vnc``) and the runner's
``cluster.console`` (checks the browser's binding and public key, asks the VM's host, checks the
answered address against the master's view of the host and the port against
``brine:console:ports``, writes a one-time token bound to the browser's secret into
``brine:console:token_dir`` and a line into the console record, refuses without writing anything
when the host refuses or answers a foreign target, follows a VM that moved), read back with the
store websockify's plugin uses. No return carries the VNC password, only its ciphertext.
"""

import json
import os
import re
import socket
import time
from unittest import mock
from xml.etree import ElementTree

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from brine import console_crypto
from brine import tokens
from brine import vnc
from support import loading
from support.saltfakes import cached_map
from support.saltfakes import cluster_runner
from support.saltfakes import master_cache
from support.saltfakes import use_client
from support.saltfakes import vm_info_on

libvirt = pytest.importorskip("libvirt")

KEYS = console_crypto.request_keys()

VNC_XML = """
<domain type='qemu' id='3'><name>lab-vm1</name><devices>
  <graphics type='vnc' port='5901' autoport='yes' listen='{listen}'>
    <listen type='address' address='{listen}'/>
  </graphics>
</devices></domain>
"""


def graphics_of(listen="10.77.0.11"):
    return vnc.graphics(VNC_XML.format(listen=listen), "lab-vm1", "hv1")


@pytest.fixture
def hypervisor(monkeypatch):
    """The host module with the dunders Salt's loader would give it, on libvirt's test driver."""
    module = loading.load("_modules/hypervisor.py")
    settings = {"virt:connection:uri": "test:///default"}
    monkeypatch.setattr(module, "__salt__", {"config.get": settings.get}, raising=False)
    monkeypatch.setattr(module, "__grains__", {"id": "hv1"}, raising=False)
    monkeypatch.setattr(module, "__opts__", {}, raising=False)
    return module


# --------------------------------------------------------------------------
# Host side
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [0, -1, 301, "abc", "1.5", 2.5, None, True])
def test_console_ttl_is_checked(ttl):
    with pytest.raises(SaltInvocationError):
        vnc.ttl(ttl)


def test_console_ttl_accepts_cli_spellings():
    assert vnc.ttl("30") == 30
    assert vnc.ttl(300) == 300


def test_the_vnc_port_and_listen_address_are_read_from_the_live_xml():
    graphics = graphics_of()
    assert graphics.get("port") == "5901"
    assert vnc.address(graphics, "lab-vm1", "hv1") == "10.77.0.11"


def test_a_configured_console_address_wins():
    assert vnc.address(graphics_of("0.0.0.0"), "lab-vm1", "hv1", "192.0.2.5") == "192.0.2.5"


@pytest.mark.parametrize("listen,words", [("127.0.0.1", "loopback"), ("0.0.0.0", "every address")])
def test_unreachable_or_ambiguous_listen_addresses_are_refused(listen, words):
    with pytest.raises(CommandExecutionError, match=words) as info:
        vnc.address(graphics_of(listen), "lab-vm1", "hv1")
    assert info.value.code == "no_console"


def test_a_vm_without_vnc_has_no_console():
    xml = "<domain><name>x</name><devices><graphics type='spice' port='5900'/></devices></domain>"
    with pytest.raises(CommandExecutionError, match="has no graphics") as info:
        vnc.graphics(xml, "x", "hv1")
    assert info.value.code == "no_console"


def test_a_vnc_server_without_a_port_has_no_console():
    xml = "<domain><name>x</name><devices><graphics type='vnc' port='-1' autoport='yes'/></devices></domain>"
    with pytest.raises(CommandExecutionError, match="no VNC port"):
        vnc.graphics(xml, "x", "hv1")


def test_the_session_password_expires():
    valid_to = 1795220369
    element = ElementTree.fromstring(vnc.password_xml(graphics_of(), "s3cret!!", valid_to))
    assert element.get("passwd") == "s3cret!!"
    assert element.get("passwdValidTo") == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(valid_to))
    assert element.get("port") == "5901" and element.get("type") == "vnc"


def test_a_vm_without_graphics_is_refused_on_a_real_libvirt(hypervisor):
    # test:///default's running domain "test" has no graphics device.
    with pytest.raises(CommandExecutionError, match="has no graphics") as info:
        hypervisor.console("test", public_key=KEYS["public_key"])
    assert info.value.code == "no_console"


@pytest.mark.parametrize("name,key", [("../x", KEYS["public_key"]), ("lab-vm1", None), ("lab-vm1", "AAAA")])
def test_a_bad_name_or_key_is_refused_before_connecting(hypervisor, name, key):
    with mock.patch.object(hypervisor, "_open_connection") as opened:
        with pytest.raises(SaltInvocationError):
            hypervisor.console(name, public_key=key)
        opened.assert_not_called()


# --------------------------------------------------------------------------
# Runner side
# --------------------------------------------------------------------------

PASSWORD = "pw123456"


def refused(call):
    """``(code, sentence)`` of a refused runner call: returned by the face, or raised."""
    try:
        ret = call()
    except (CommandExecutionError, SaltInvocationError) as exc:
        return exc.code, exc.sentence
    assert isinstance(ret, dict) and isinstance(ret.get("error"), dict), ret
    return ret["error"]["code"], ret["error"]["message"]


def console_on(address, port=5901):
    def console(name, ttl, public_key):
        assert ttl == 30
        key = console_crypto.public_key(public_key)[1]
        return {
            "name": name,
            "host": "?",
            "protocol": "vnc",
            "address": address,
            "port": port,
            "password_encrypted": console_crypto.encrypt(key, PASSWORD),
            "valid_to": int(time.time()) + ttl,
        }

    return console


def ask(runner, name="lab-vm1", keys=KEYS):
    return runner.console(name, binding=keys["binding"], public_key=keys["public_key"])


def known_host(cache, host, address):
    """The host's pillar in the master's cache says where its console is."""
    cache.store("pillar", host, {"brine": {"console": {"address": address}}})


@pytest.fixture
def token_dir(tmp_path):
    return str(tmp_path / "console-tokens")


@pytest.fixture
def record(tmp_path):
    return tmp_path / "log" / "brine" / "consoles.log"


@pytest.fixture
def runner(tmp_path, monkeypatch, token_dir, record):
    module = cluster_runner(
        tmp_path,
        monkeypatch,
        inventory={"timeout": 1},
        console={"token_dir": token_dir, "record": str(record)},
    )
    monkeypatch.setattr(module, "__user__", "alice", raising=False)
    return module


@pytest.fixture
def cache(runner):
    cache = master_cache(runner)
    known_host(cache, "hv1", "10.77.0.11")
    known_host(cache, "hv2", "10.77.0.12")
    return cache


def nothing_issued(token_dir, record):
    return (not os.path.exists(token_dir) or not os.listdir(token_dir)) and not record.exists()


def test_console_issues_a_token_for_exactly_the_vms_vnc_server(runner, cache, token_dir, monkeypatch):
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    client = use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on("10.77.0.11")}})
    answer = ask(runner)
    assert client.calls == [
        ("hv1", "hypervisor.console", {"name": "lab-vm1", "ttl": 30, "public_key": KEYS["public_key"]})
    ]
    assert answer["path"] == "/console/" and answer["host"] == "hv1" and answer["ttl"] == 30
    assert "password" not in answer
    assert console_crypto.decrypt(KEYS["private_key"], answer["password_encrypted"]) == PASSWORD
    assert answer["expires"] == pytest.approx(time.time() + 30, abs=5)
    record = tokens.redeem(token_dir, answer["token"], KEYS["secret"])
    assert (record["address"], record["port"], record["vm"], record["host"]) == (
        "10.77.0.11",
        5901,
        "lab-vm1",
        "hv1",
    )
    assert record["binding"] == KEYS["binding"]


def test_no_answer_or_call_carries_the_password(runner, cache, monkeypatch):
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    client = use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on("10.77.0.11")}})
    answer = ask(runner)
    assert PASSWORD not in json.dumps(answer) and PASSWORD not in json.dumps(client.calls)
    assert KEYS["secret"] not in json.dumps(answer) and KEYS["secret"] not in json.dumps(client.calls)


@pytest.mark.parametrize(
    "binding,key,words",
    [
        (None, KEYS["public_key"], "binding must be"),
        ("ab" * 31, KEYS["public_key"], "binding must be"),
        ("zz" * 32, KEYS["public_key"], "binding must be"),
        (KEYS["binding"], None, "public_key must be"),
        (KEYS["binding"], "A" * 2000, "public_key must be"),
        (KEYS["binding"], "not base64!", "public_key must be"),
        (KEYS["binding"], "QUJD", "not a public key"),
    ],
)
def test_the_binding_and_public_key_are_required_and_checked_first(runner, monkeypatch, binding, key, words):
    client = use_client(monkeypatch, runner, {})
    code, sentence = refused(lambda: runner.console("lab-vm1", binding=binding, public_key=key))
    assert re.search(words, sentence) and code == "invalid_argument", sentence
    assert client.calls == []


def test_a_small_or_non_rsa_key_is_refused():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import rsa

    def spki(private):
        der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return __import__("base64").b64encode(der).decode()

    for private in (rsa.generate_private_key(65537, 1024), ec.generate_private_key(ec.SECP256R1())):
        with pytest.raises(SaltInvocationError, match="RSA key of 2048 to 4096 bits"):
            console_crypto.public_key(spki(private))


def test_a_refusing_host_gets_no_token_written(runner, cache, token_dir, record, monkeypatch):
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm3"]})
    use_client(
        monkeypatch,
        runner,
        {
            "hv1": {
                "hypervisor.console": (
                    "ERROR: [not_running] lab-vm3 is shut off on hv1: start it to open its console"
                ),
                "hypervisor.vm_info": vm_info_on("lab-vm3"),
            }
        },
    )
    code, sentence = refused(lambda: ask(runner, "lab-vm3"))
    assert re.search("shut off", sentence), sentence
    assert code == "not_running"
    assert nothing_issued(token_dir, record)


def test_console_follows_a_vm_that_moved(runner, cache, token_dir, monkeypatch):
    # The map still says hv1, but the VM was migrated to hv2.
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    use_client(
        monkeypatch,
        runner,
        {
            "hv1": {
                "hypervisor.console": "ERROR: [no_vm] There is no VM named lab-vm1 on hv1",
                "hypervisor.vm_info": vm_info_on(),
            },
            "hv2": {
                "hypervisor.console": console_on("10.77.0.12", 5900),
                "hypervisor.vm_info": vm_info_on("lab-vm1"),
            },
        },
    )
    answer = ask(runner)
    assert answer["host"] == "hv2"
    record = tokens.redeem(token_dir, answer["token"], KEYS["secret"])
    assert (record["address"], record["port"]) == ("10.77.0.12", 5900)
    assert cached_map(cache)["hv2"] == ["lab-vm1"]


@pytest.mark.parametrize("address,port", [("", 5901), ("10.77.0.11", None), ("10.77.0.11", 70000)])
def test_a_host_answer_without_a_target_is_an_error(
    runner, cache, token_dir, record, monkeypatch, address, port
):
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on(address, port)}})
    code, sentence = refused(lambda: ask(runner))
    assert re.search("did not say where", sentence), sentence
    assert code == "host_error"
    assert nothing_issued(token_dir, record)


def test_console_checks_the_name_first(runner, monkeypatch):
    client = use_client(monkeypatch, runner, {})
    assert refused(lambda: ask(runner, "bad name"))[0] == "invalid_argument"
    assert client.calls == []


# --------------------------------------------------------------------------
# The target: the host's known management address and a console port, whatever it answers
# --------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["10.77.0.12", "127.0.0.1", "192.0.2.7", "hv1"])
def test_an_address_that_is_not_the_hosts_is_refused(runner, cache, token_dir, record, monkeypatch, address):
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on(address)}})
    code, sentence = refused(lambda: ask(runner))
    assert re.search("not hv1's management address", sentence), sentence
    assert code == "no_console"
    assert "brine:console:address in hv1's pillar: 10.77.0.11" in sentence
    assert nothing_issued(token_dir, record)


@pytest.mark.parametrize("port", [22, 5899, 6000, 16509])
def test_a_port_outside_the_console_ports_is_refused(runner, cache, token_dir, record, monkeypatch, port):
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on("10.77.0.11", port)}})
    code, sentence = refused(lambda: ask(runner))
    assert re.search(f"port {port} .* outside the console ports 5900-5999", sentence), sentence
    assert code == "no_console"
    assert nothing_issued(token_dir, record)


def test_the_console_ports_are_configurable(tmp_path, monkeypatch, token_dir, record):
    console = {"token_dir": token_dir, "record": str(record), "ports": [6100, 6110]}
    runner = cluster_runner(tmp_path, monkeypatch, inventory={"timeout": 1}, console=console)
    cache = master_cache(runner)
    known_host(cache, "hv1", "10.77.0.11")
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on("10.77.0.11", 6105)}})
    assert ask(runner)["host"] == "hv1"
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on("10.77.0.11", 5901)}})
    _code, sentence = refused(lambda: ask(runner))
    assert re.search("outside the console ports 6100-6110", sentence), sentence


def test_without_a_pillar_address_the_hosts_name_resolves_on_the_master(runner, monkeypatch, token_dir):
    cache = master_cache(runner)  # no pillar for hv1 in the master's cache
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    resolved = {"hv1": ["10.77.0.11", "fd00::11"]}

    def getaddrinfo(host, port, family=0, kind=0, *args):
        if host not in resolved:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, kind, 6, "", (address, 0)) for address in resolved[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on("10.77.0.11")}})
    assert ask(runner)["host"] == "hv1"
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on("10.77.0.99")}})
    _code, sentence = refused(lambda: ask(runner))
    assert re.search(r"the addresses hv1 resolves to on the master: 10\.77\.0\.11, fd00::11", sentence), (
        sentence
    )
    resolved.clear()
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on("10.77.0.11")}})
    _code, sentence = refused(lambda: ask(runner))
    assert re.search("resolves to on the master: none", sentence), sentence


# --------------------------------------------------------------------------
# The record: who opened which console and when
# --------------------------------------------------------------------------


def test_the_record_says_who_opened_which_console_and_holds_no_secret(
    runner, cache, token_dir, record, monkeypatch
):
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on("10.77.0.11")}})
    answer = ask(runner)
    (line,) = record.read_text().splitlines()
    entry = json.loads(line)
    assert {key: entry[key] for key in ("event", "user", "vm", "host", "address", "port")} == {
        "event": "issued",
        "user": "alice",
        "vm": "lab-vm1",
        "host": "hv1",
        "address": "10.77.0.11",
        "port": 5901,
    }
    assert entry["token"] == tokens.fingerprint(answer["token"]) and len(entry["token"]) == 12
    assert entry["expires"] == answer["expires"] and entry["time"].endswith("Z")
    text = record.read_text()
    for secret in (answer["token"], KEYS["secret"], KEYS["binding"], PASSWORD, answer["password_encrypted"]):
        assert secret not in text
    assert os.stat(record).st_mode & 0o777 == 0o600
    assert os.stat(record.parent).st_mode & 0o777 == 0o700


def test_a_console_that_cannot_be_recorded_is_not_opened(runner, cache, token_dir, record, monkeypatch):
    record.parent.mkdir(parents=True)
    record.mkdir()  # a folder where the file should be: no line can be written
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on("10.77.0.11")}})
    code, sentence = refused(lambda: ask(runner))
    assert re.search("could not write the console record", sentence), sentence
    assert code == "internal"
    assert os.listdir(token_dir) == []
