"""Argument checks shared by every Salt face: each spelling of a valid value, nothing else."""

import pytest

from brine import validate
from brine.errors import Invalid


@pytest.mark.parametrize("name", ["lab-vm1", "a", "A.b_c+d-e", "x" * 64, 123])
def test_vm_names_brine_accepts(name):
    assert validate.vm_name(name) == str(name)


@pytest.mark.parametrize("name", ["", "-vm", ".vm", "vm/1", "vm;rm", "x" * 65, None, True, "vm 1", "ünï"])
def test_vm_names_brine_refuses_with_the_invalid_argument_code(name):
    with pytest.raises(Invalid, match="not a valid VM name") as caught:
        validate.vm_name(name)
    assert caught.value.code == "invalid_argument"


@pytest.mark.parametrize(
    "value,expected", [(True, True), ("no", False), ("ON", True), (0, False), ("1", True)]
)
def test_flags_accept_every_spelling_salt_passes(value, expected):
    assert validate.flag(value, "force") is expected


@pytest.mark.parametrize("value", ["maybe", 2, None, "", [True]])
def test_flags_refuse_anything_else(value):
    with pytest.raises(Invalid, match="force must be true or false"):
        validate.flag(value, "force")


def test_seconds_are_finite_non_negative_and_within_a_maximum():
    assert validate.seconds("2.5") == 2.5
    assert validate.seconds(0) == 0
    for bad in (-1, "inf", "nan", True, "soon", None):
        with pytest.raises(Invalid):
            validate.seconds(bad)
    with pytest.raises(Invalid, match="at most 60 seconds"):
        validate.seconds(61, maximum=60)


def test_positive_ints_are_whole_numbers_above_zero():
    assert validate.positive_int(" 50 ", "bandwidth", "MiB/s") == 50
    assert validate.positive_int(None, "bandwidth", "MiB/s") is None
    assert validate.positive_int("", "bandwidth", "MiB/s") is None
    for bad in (0, -3, "1.5", True, "lots"):
        with pytest.raises(Invalid, match="bandwidth must be"):
            validate.positive_int(bad, "bandwidth", "MiB/s")
    with pytest.raises(Invalid, match="at most 10 MiB/s"):
        validate.positive_int(11, "bandwidth", "MiB/s", maximum=10)


@pytest.mark.parametrize("host", ["hv1", "hv1.example.com", "a" * 253])
def test_host_ids(host):
    assert validate.host_id(host) == host


@pytest.mark.parametrize("host", ["", "-hv", "hv/1", "a" * 254, 7, None])
def test_bad_host_ids(host):
    with pytest.raises(Invalid, match="is not a valid host name for target"):
        validate.host_id(host)
