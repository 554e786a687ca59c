"""
A VM's VNC server for one console session (``brine.vnc``): which states show a screen, which
``<graphics>`` element serves it, where websockify reaches it, and the session password.
(tests/unit/test_console_issue.py covers the listen addresses and the password's expiry.)
"""

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from brine import vnc

VNC = "<graphics type='vnc' port='5901' listen='10.77.0.11'/>"


def domain(*graphics):
    return f"<domain><name>x</name><devices>{''.join(graphics)}</devices></domain>"


@pytest.mark.parametrize("value, seconds", [(1, 1), ("30", 30), (" 300 ", 300)])
def test_ttl_accepts_whole_seconds_up_to_the_maximum(value, seconds):
    assert vnc.ttl(value) == seconds


@pytest.mark.parametrize("value", [0, 301, "1.5", 2.5, None, True, [], "30s"], ids=repr)
def test_ttl_refuses_anything_else_with_the_invalid_argument_code(value):
    with pytest.raises(
        SaltInvocationError, match="ttl must be a whole number of seconds from 1 to 300"
    ) as info:
        vnc.ttl(value)
    assert info.value.code == "invalid_argument"


@pytest.mark.parametrize("state", sorted(vnc.CONSOLE_STATES))
def test_running_and_paused_vms_show_a_screen(state):
    vnc.check_state("x", "hv1", state)


@pytest.mark.parametrize(
    "state, phrase",
    [
        ("shutoff", "shut off"),
        ("crashed", "crashed"),
        ("pmsuspended", "pmsuspended"),
        ("shutdown", "shutdown"),
    ],
)
def test_other_states_are_not_running(state, phrase):
    with pytest.raises(CommandExecutionError) as info:
        vnc.check_state("x", "hv1", state)
    assert info.value.code == "not_running"
    assert info.value.sentence == f"x is {phrase} on hv1: start it to open its console"


def test_the_first_vnc_server_serves_even_after_other_graphics():
    spice = "<graphics type='spice' port='5930'/>"
    assert vnc.graphics(domain(spice, VNC), "x", "hv1").get("port") == "5901"


@pytest.mark.parametrize(
    "graphics",
    [
        "<graphics type='vnc' socket='/run/x.vnc'/>",
        "<graphics type='vnc'><listen type='socket' socket='/run/x.vnc'/></graphics>",
    ],
)
def test_a_vnc_server_on_a_unix_socket_has_no_console(graphics):
    with pytest.raises(CommandExecutionError, match="UNIX socket") as info:
        vnc.graphics(domain(graphics), "x", "hv1")
    assert info.value.code == "no_console"


def test_the_configured_address_wins_even_over_loopback():
    element = vnc.graphics(domain("<graphics type='vnc' port='5901' listen='127.0.0.1'/>"), "x", "hv1")
    assert vnc.address(element, "x", "hv1", configured="192.0.2.5") == "192.0.2.5"


def test_passwords_are_as_long_as_vnc_reads():
    passwords = {vnc.new_password() for _ in range(20)}
    assert all(len(password) == vnc.PASSWORD_LENGTH for password in passwords)
    assert len(passwords) == 20


def test_the_password_xml_drops_the_connected_policy():
    element = vnc.graphics(domain("<graphics type='vnc' port='5901' connected='keep'/>"), "x", "hv1")
    assert "connected=" not in vnc.password_xml(element, "p", 0)
