"""
Unit tests of consoles on both sides: the host's ``hypervisor.console`` (which VNC server, which
address, the per-session password; the pure parts in ``brine.vnc``) and the runner's
``cluster.console`` (asks the VM's host, writes a one-time token for exactly that host's address
and port into ``brine:console:token_dir``, refuses without writing anything when the host
refuses, follows a VM that moved), read back with the store websockify's plugin uses.
"""

import os
import time
from unittest import mock
from xml.etree import ElementTree

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from brine import tokens
from brine import vnc
from support import loading
from support.saltfakes import cached_map
from support.saltfakes import cluster_runner
from support.saltfakes import master_cache
from support.saltfakes import use_client
from support.saltfakes import vm_info_on

libvirt = pytest.importorskip("libvirt")

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
        hypervisor.console("test")
    assert info.value.code == "no_console"


def test_a_bad_name_is_refused_before_connecting(hypervisor):
    with mock.patch.object(hypervisor, "_open_connection") as opened:
        with pytest.raises(SaltInvocationError):
            hypervisor.console("../x")
        opened.assert_not_called()


# --------------------------------------------------------------------------
# Runner side
# --------------------------------------------------------------------------


def console_on(address, port=5901):
    def console(name, ttl):
        assert ttl == 30
        return {
            "name": name,
            "host": "?",
            "protocol": "vnc",
            "address": address,
            "port": port,
            "password": "pw123456",
            "valid_to": int(time.time()) + ttl,
        }

    return console


@pytest.fixture
def token_dir(tmp_path):
    return str(tmp_path / "console-tokens")


@pytest.fixture
def runner(tmp_path, monkeypatch, token_dir):
    return cluster_runner(tmp_path, monkeypatch, inventory={"timeout": 1}, console={"token_dir": token_dir})


@pytest.fixture
def cache(runner):
    return master_cache(runner)


def test_console_issues_a_token_for_exactly_the_vms_vnc_server(runner, cache, token_dir, monkeypatch):
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    client = use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on("10.77.0.11")}})
    answer = runner.console("lab-vm1")
    assert client.calls == [("hv1", "hypervisor.console", {"name": "lab-vm1", "ttl": 30})]
    assert answer["path"] == f"/console/?token={answer['token']}"
    assert answer["password"] == "pw123456" and answer["host"] == "hv1" and answer["ttl"] == 30
    assert answer["expires"] == pytest.approx(time.time() + 30, abs=5)
    record = tokens.redeem(token_dir, answer["token"])
    assert (record["address"], record["port"], record["vm"], record["host"]) == (
        "10.77.0.11",
        5901,
        "lab-vm1",
        "hv1",
    )


def test_a_refusing_host_gets_no_token_written(runner, cache, token_dir, monkeypatch):
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
    with pytest.raises(CommandExecutionError, match="shut off") as info:
        runner.console("lab-vm3")
    assert info.value.code == "not_running"
    assert not os.path.exists(token_dir) or not os.listdir(token_dir)


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
    answer = runner.console("lab-vm1")
    assert answer["host"] == "hv2"
    record = tokens.redeem(token_dir, answer["token"])
    assert (record["address"], record["port"]) == ("10.77.0.12", 5900)
    assert cached_map(cache)["hv2"] == ["lab-vm1"]


@pytest.mark.parametrize("address,port", [("", 5901), ("10.77.0.11", None), ("10.77.0.11", 70000)])
def test_a_host_answer_without_a_target_is_an_error(runner, cache, token_dir, monkeypatch, address, port):
    cache.store("brine/inventory", "hv1", {"vms": ["lab-vm1"]})
    use_client(monkeypatch, runner, {"hv1": {"hypervisor.console": console_on(address, port)}})
    with pytest.raises(CommandExecutionError, match="did not say where") as info:
        runner.console("lab-vm1")
    assert info.value.code == "host_error"
    assert not os.path.exists(token_dir) or not os.listdir(token_dir)


def test_console_checks_the_name_first(runner, monkeypatch):
    client = use_client(monkeypatch, runner, {})
    with pytest.raises(SaltInvocationError):
        runner.console("bad name")
    assert client.calls == []
