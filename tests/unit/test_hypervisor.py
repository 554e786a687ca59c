"""
The ``hypervisor`` execution module as a Salt face: its arguments are checked before anything is
touched, every libvirt error leaves it as a coded ``CommandExecutionError``, and its lifecycle
refusals follow the vocabulary (a crashed VM is forced off, never started). What it reads and
builds is tested with the library (test_domxml.py, test_libvirt_host.py, test_lifecycle.py).
"""

from unittest import mock

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from brine import console_crypto
from support.loading import load

libvirt = pytest.importorskip("libvirt")

hypervisor = load("_modules/hypervisor.py")


@pytest.fixture
def configure_loader_modules():
    return {
        hypervisor: {
            "__salt__": {"config.get": mock.Mock(return_value="test:///default")},
            "__grains__": {"id": "hv1"},
        }
    }


# --- loading and the connection ----------------------------------------------------


def test_virtual_refuses_to_load_without_libvirt(monkeypatch):
    monkeypatch.setattr(hypervisor, "HAS_LIBVIRT", False)
    loaded, why = hypervisor.__virtual__()
    assert loaded is False
    assert "libvirt-python" in why


def test_virtual_loads_as_hypervisor():
    assert hypervisor.__virtual__() == "hypervisor"


def test_connection_uses_the_configured_uri():
    with mock.patch.object(hypervisor.libvirt, "open", autospec=True) as libvirt_open:
        assert hypervisor._open_connection() is libvirt_open.return_value
    libvirt_open.assert_called_once_with("test:///default")
    hypervisor.__salt__["config.get"].assert_called_once_with("virt:connection:uri")


def test_connection_without_a_configured_uri_uses_libvirts_default():
    hypervisor.__salt__["config.get"].return_value = ""
    with mock.patch.object(hypervisor.libvirt, "open", autospec=True) as libvirt_open:
        hypervisor._open_connection()
    libvirt_open.assert_called_once_with(None)


CALLS = {
    "inventory": {},
    "vm_info": {"name": "lab-vm1"},
    "start": {"name": "lab-vm1"},
    "shutdown": {"name": "lab-vm1", "timeout": 1, "force": True},
    "force_off": {"name": "lab-vm1"},
    "reboot": {"name": "lab-vm1"},
    "pause": {"name": "lab-vm1"},
    "resume": {"name": "lab-vm1"},
    "delete": {"name": "lab-vm1", "remove_disks": True},
    "console": {"name": "lab-vm1", "public_key": console_crypto.request_keys()["public_key"]},
    # Migration section
    "migration_needs": {"name": "lab-vm1"},
    "migration_target_check": {"needs": {"name": "lab-vm1", "uuid": "2b13d5ef-457d-4164-9f62-2b2aee0e69d7"}},
    "migrate": {"name": "lab-vm1", "target": "hv2", "migration_id": "mig-1-abcdef"},
    "migration_abort": {"name": "lab-vm1"},
    "migration_cleanup": {"name": "lab-vm1", "uuid": "2b13d5ef-457d-4164-9f62-2b2aee0e69d7"},
}
# Functions whose VM name is inside another argument (tested in test_hypervisor_migration.py).
NAME_INSIDE = {"migration_target_check"}


def test_calls_cover_every_public_function():
    public = {
        name
        for name, value in vars(hypervisor).items()
        if callable(value)
        and not name.startswith("_")
        and getattr(value, "__module__", None) == hypervisor.__name__
    }
    assert public == set(CALLS)


@pytest.fixture(params=["connecting", "calling"])
def failing_libvirt(request):
    """
    Patch the connection helper so that libvirt fails either when the connection is
    opened or on every call made on it.
    """
    error = libvirt.libvirtError("boom from libvirt")
    conn = mock.create_autospec(libvirt.virConnect, instance=True)
    for attribute in dir(libvirt.virConnect):
        if not attribute.startswith("_") and attribute != "close":
            getattr(conn, attribute).side_effect = error
    with mock.patch.object(hypervisor, "_open_connection", autospec=True) as open_connection:
        if request.param == "connecting":
            open_connection.side_effect = error
        else:
            open_connection.return_value = conn
        yield request.param, open_connection, conn


@pytest.mark.parametrize("function", sorted(CALLS))
def test_libvirt_errors_become_coded_command_execution_errors(failing_libvirt, function):
    failure_point, open_connection, conn = failing_libvirt

    with pytest.raises(CommandExecutionError, match="boom from libvirt") as raised:
        getattr(hypervisor, function)(**CALLS[function])

    assert isinstance(raised.value.__cause__, libvirt.libvirtError)
    open_connection.assert_called_once_with()
    if failure_point == "connecting":
        assert raised.value.code == "libvirt_unavailable"
        assert "cannot connect to libvirt" in str(raised.value)
    else:
        assert raised.value.code == "libvirt_error"
        conn.close.assert_called_once_with()
    assert str(raised.value).startswith(f"[{raised.value.code}] ")


# --- arguments, checked before connecting -----------------------------------------


@pytest.mark.parametrize("function", sorted(set(CALLS) - {"inventory"} - NAME_INSIDE))
def test_bad_names_are_refused_before_connecting(failing_libvirt, function):
    _, open_connection, _ = failing_libvirt
    with pytest.raises(SaltInvocationError) as refused:
        getattr(hypervisor, function)(**{**CALLS[function], "name": "../etc"})
    assert refused.value.code == "invalid_argument"
    open_connection.assert_not_called()


@pytest.fixture
def unreachable_libvirt():
    """libvirtd cannot be reached: a call that gets past its argument checks says so."""
    with mock.patch.object(hypervisor, "_open_connection", autospec=True) as open_connection:
        open_connection.side_effect = libvirt.libvirtError("no libvirtd")
        yield open_connection


def passes_argument_checks(call):
    with pytest.raises(CommandExecutionError) as raised:
        call()
    return raised.value.code == "libvirt_unavailable"


@pytest.mark.parametrize("name", ["a", "lab-vm1", "Web_01.example+blue", "9lives", "x" * 64, "a-", "a.", 123])
def test_valid_names_are_accepted(unreachable_libvirt, name):
    assert passes_argument_checks(lambda: hypervisor.vm_info(name))


@pytest.mark.parametrize(
    "name",
    ["../etc", "a;rm -rf /", "", "-x", ".hidden", "_x", "+x", "a/b", "a b", "a$b", "a`id`", "x" * 65,
     "vm\n", "vm\x00", "vé", None, True, ["vm"], 1.5],
    ids=repr,
)  # fmt: skip
def test_invalid_names_are_refused(unreachable_libvirt, name):
    with pytest.raises(SaltInvocationError, match="not a valid VM name"):
        hypervisor.vm_info(name)
    unreachable_libvirt.assert_not_called()


@pytest.mark.parametrize(
    "value",
    [True, False, 1, 0, "True", "no", " yes ", "false", "on", "0"],
)
def test_flags(unreachable_libvirt, value):
    assert passes_argument_checks(lambda: hypervisor.delete("lab-vm1", remove_disks=value))


@pytest.mark.parametrize("value", ["maybe", "", None, 2, -1, 0.5, [], "nein"], ids=repr)
def test_ambiguous_flags_are_refused(unreachable_libvirt, value):
    with pytest.raises(SaltInvocationError, match="remove_disks must be true or false"):
        hypervisor.delete("lab-vm1", remove_disks=value)
    unreachable_libvirt.assert_not_called()


@pytest.mark.parametrize("value", [60, 0, "2.5", 0.1])
def test_timeouts(unreachable_libvirt, value):
    assert passes_argument_checks(lambda: hypervisor.shutdown("lab-vm1", timeout=value))


@pytest.mark.parametrize("value", [-1, "soon", None, True, float("nan"), float("inf"), []], ids=repr)
def test_bad_timeouts_are_refused(unreachable_libvirt, value):
    with pytest.raises(SaltInvocationError, match="timeout must be"):
        hypervisor.shutdown("lab-vm1", timeout=value)
    unreachable_libvirt.assert_not_called()


@pytest.mark.parametrize("function", sorted(CALLS))
def test_every_public_function_has_a_cli_example(function):
    docstring = getattr(hypervisor, function).__doc__
    example = docstring.split("CLI Example:", 1)
    assert len(example) == 2, f"{function} has no CLI Example"
    assert f"salt hv1 hypervisor.{function}" in example[1]


# --- a crashed VM, through the module --------------------------------------------

CRASHED_XML = (
    "<domain type='kvm'><name>lab-vm1</name><uuid>u-1</uuid><memory>65536</memory><vcpu>1</vcpu></domain>"
)


@pytest.fixture
def crashed_vm():
    """A host whose one VM crashed and is kept for inspection (on_crash=preserve)."""
    state = [libvirt.VIR_DOMAIN_CRASHED, libvirt.VIR_DOMAIN_CRASHED_PANICKED]
    dom = mock.create_autospec(libvirt.virDomain, instance=True)
    dom.name.return_value = "lab-vm1"
    dom.state.side_effect = lambda *args: list(state)
    dom.XMLDesc.return_value = CRASHED_XML
    dom.destroy.side_effect = lambda: state.__setitem__(slice(None), [libvirt.VIR_DOMAIN_SHUTOFF, 2])
    conn = mock.create_autospec(libvirt.virConnect, instance=True)
    conn.lookupByName.return_value = dom
    conn.domainListGetStats.side_effect = lambda doms, *args: [
        (dom, {"state.state": state[0], "state.reason": state[1], "cpu.time": 1})
    ]
    conn.listAllDomains.return_value = []
    conn.listAllStoragePools.return_value = []
    conn.listAllNetworks.return_value = []
    with mock.patch.object(hypervisor, "_open_connection", autospec=True, return_value=conn):
        yield dom


def test_a_crashed_vm_is_not_started(crashed_vm):
    with pytest.raises(CommandExecutionError) as refused:
        hypervisor.start("lab-vm1")
    assert refused.value.code == "wrong_state"
    assert refused.value.sentence == "lab-vm1 is crashed on hv1, so it cannot be started"
    crashed_vm.create.assert_not_called()


def test_a_crashed_vm_is_forced_off(crashed_vm):
    result = hypervisor.force_off("lab-vm1")
    crashed_vm.destroy.assert_called_once_with()
    assert (result["changed"], result["state"], result["comment"]) == (
        True,
        "shutoff",
        "lab-vm1 was powered off",
    )


# --- the inventory carries the host's Docker engine and containers ------------------------


def test_the_inventory_carries_docker_from_docker_url_and_vms_without_an_engine(tmp_path):
    socket_path = tmp_path / "docker.sock"
    settings = {"virt:connection:uri": "test:///default", "docker.url": f"unix://{socket_path}"}
    hypervisor.__salt__["config.get"].side_effect = settings.get
    inventory = hypervisor.inventory()
    assert sorted(inventory) == ["containers", "docker", "host", "vms"]
    assert inventory["docker"] == {
        "state": "none",
        "version": None,
        "message": f"no Docker socket at {socket_path}",
    }
    assert inventory["containers"] == []
    assert [vm["name"] for vm in inventory["vms"]] == ["test"]
