"""brine.sealed: what the master seals for one host opens with that host's key and purpose only."""

import pytest

from brine import sealed
from brine.errors import Invalid
from brine.errors import Refused
from support.provisioning import key_pair
from support.provisioning import seal_for_master

HOST = key_pair()
OTHER = key_pair()
SECRET = "rootpw --iscrypted $6$salt$" + "x" * 86


def test_round_trip_and_nothing_readable():
    box = sealed.seal(HOST[1], SECRET, "provision.install:web1")
    assert sorted(box) == ["data", "key", "nonce", "v"]
    assert "rootpw" not in repr(box) and "$6$" not in repr(box)
    assert sealed.unseal(HOST[0], box, "provision.install:web1") == SECRET


def test_another_key_cannot_open_it():
    box = sealed.seal(HOST[1], SECRET, "provision.install:web1")
    with pytest.raises(Refused):
        sealed.unseal(OTHER[0], box, "provision.install:web1")


def test_another_purpose_cannot_open_it():
    box = sealed.seal(HOST[1], SECRET, "provision.install:web1")
    with pytest.raises(Refused):
        sealed.unseal(HOST[0], box, "provision.install:web2")


def test_tampered_data_is_refused():
    box = sealed.seal(HOST[1], SECRET, "p")
    data = bytearray(box["data"].encode())
    data[5] = ord("A") if data[5] != ord("A") else ord("B")
    with pytest.raises(Refused):
        sealed.unseal(HOST[0], dict(box, data=data.decode()), "p")


@pytest.mark.parametrize(
    "value",
    [None, "text", {}, {"v": 1, "key": "a", "nonce": "b"}, {"v": 2, "key": "a", "nonce": "b", "data": "c"}],
)
def test_malformed_values_are_invalid(value):
    with pytest.raises(Invalid):
        sealed.check(value)


def test_size_bound():
    with pytest.raises(ValueError):
        sealed.seal(HOST[1], "x" * (sealed.MAX_TEXT + 1), "p")


def test_a_hash_the_browser_sealed_opens_with_the_masters_key_only():
    box = seal_for_master(sealed.public_key_der(HOST[1]), SECRET)
    assert sealed.unwrap(HOST[0], box, "password_hash_sealed") == SECRET
    with pytest.raises(Invalid, match="password_hash_sealed"):
        sealed.unwrap(OTHER[0], box, "password_hash_sealed")


@pytest.mark.parametrize("text", [None, "", "not base64!", "QUJD", "A" * 800])
def test_malformed_sealed_hashes_are_invalid(text):
    with pytest.raises(Invalid, match="password_hash_sealed"):
        sealed.unwrap(HOST[0], text, "password_hash_sealed")


def test_a_host_opens_what_was_sealed_to_it_with_its_own_minion_key(tmp_path):
    private, public = key_pair()
    (tmp_path / "minion.pem").write_bytes(private)
    box = sealed.seal(public, "TOKEN=abc", "containers.run:web1")
    assert sealed.unseal_on_host({"pki_dir": str(tmp_path)}, box, "containers.run:web1", "internal", "x") == (
        "TOKEN=abc"
    )
    # A host without its key says so with the caller's code, and never opens anything.
    for opts in ({"pki_dir": str(tmp_path / "elsewhere")}, {}):
        with pytest.raises(Refused, match="cannot read its minion key to open the environment") as refused:
            sealed.unseal_on_host(opts, box, "containers.run:web1", "install_failed", "environment")
        assert refused.value.code == "install_failed"
