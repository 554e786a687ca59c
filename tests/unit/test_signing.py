"""
brine.signing: a host signs its Brine events with its minion key, the master verifies them with
the key it accepted for that host (docs/api.md, Events).
"""

import base64
import logging
import os

import pytest
import salt.crypt

from brine import signing
from support import signkeys

TAG = "brine/vm/hv1/lab-vm1/state"
PAYLOAD = {"host": "hv1", "name": "lab-vm1", "event": "started", "state": "running", "vm": {"cpus": 2}}
NOW = 1_800_000_000.0


def signed(tag=TAG, payload=PAYLOAD, host="hv1", when=NOW):
    return signing.sign(tag, payload, signkeys.key(host), when)


def verify(data, tag=TAG, key_host="hv1", now=NOW):
    return signing.check(tag, data, signkeys.key(key_host).public_key(), now)


# -- sign and check -----------------------------------------------------------------------------------


def test_a_good_signature_passes_and_the_payload_is_unchanged_besides_it():
    data = signed()
    assert verify(data) is None
    assert signing.public(data) == PAYLOAD
    assert set(data[signing.FIELD]) == {"v", "time", "nonce", "sig"}


def test_salts_bookkeeping_added_on_the_way_does_not_break_it():
    data = dict(signed(), _stamp="2026-01-01T00:00", __pub_fun="event.send")
    assert verify(data) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: verify(d, key_host="hv2"), "bad signature"),  # checked with another host's key
        (lambda d: verify(dict(d, state="paused")), "bad signature"),  # payload changed
        (lambda d: verify(dict(d, vm={"cpus": 64})), "bad signature"),  # nested value changed
        (lambda d: verify(dict(d, extra=1)), "bad signature"),  # key added
        (lambda d: verify(d, tag="brine/vm/hv1/lab-vm2/state"), "bad signature"),  # tag changed
        (lambda d: verify(d, now=NOW + signing.MAX_AGE + 1), "signature too old"),
        (lambda d: verify(d, now=NOW - signing.MAX_AGE - 1), "signature from the future"),
        (lambda d: verify(signing.public(d)), "unsigned"),
        (lambda d: verify(dict(d, _brine_sig="x")), "malformed signature"),
        (lambda d: verify(dict(d, _brine_sig=dict(d["_brine_sig"], sig="%%%"))), "malformed signature"),
        (lambda d: verify(dict(d, _brine_sig=dict(d["_brine_sig"], time=NOW + 1))), "bad signature"),
        (lambda d: verify(dict(d, _brine_sig=dict(d["_brine_sig"], nonce="0"))), "bad signature"),
        (lambda d: verify(dict(d, _brine_sig=dict(d["_brine_sig"], v=2))), "malformed signature"),
    ],
)
def test_what_is_not_a_good_fresh_signature_of_this_tag_and_payload_is_refused(change, reason):
    assert change(signed()) == reason


def test_a_signature_by_another_host_key_is_bad():
    assert verify(signed(host="hv2")) == "bad signature"


def test_the_payload_is_sent_as_json_reads_it_back():
    data = signing.sign(TAG, {"host": "hv1", "pair": (1, 2), 3: "x"}, signkeys.key("hv1"), NOW)
    assert data["pair"] == [1, 2] and data["3"] == "x"
    assert verify(data) is None


def test_salts_own_minion_key_files_work(tmp_path):
    """Keys as Salt writes them: minion.pem on the host, the accepted copy on the master."""
    salt.crypt.write_keys(str(tmp_path), "minion", 2048)
    private = signing.private_key((tmp_path / "minion.pem").read_bytes())
    public = signing.public_key((tmp_path / "minion.pub").read_bytes())
    assert signing.check(TAG, signing.sign(TAG, PAYLOAD, private, NOW), public, NOW) is None


@pytest.mark.parametrize("pem", [b"", b"not a key", signkeys.public_pem("hv1")])
def test_a_private_key_that_is_not_one_is_refused(pem):
    with pytest.raises(signing.BadKey):
        signing.private_key(pem)


# -- the master: accepted keys, rotation, replays -----------------------------------------------------------


@pytest.fixture
def accepted(tmp_path):
    folder = signkeys.accept(tmp_path / "minions", "hv1")
    clock = [NOW]
    return folder, signing.Verifier(str(folder), clock=lambda: clock[0]), clock


def test_the_master_verifies_with_the_key_it_accepted_and_drops_a_replay(accepted):
    _, verifier, _ = accepted
    data = signed()
    assert verifier.verify("hv1", TAG, data) is None
    assert verifier.verify("hv1", TAG, data) == "replayed"
    assert verifier.verify("hv1", TAG, signed()) is None  # the same event again, signed again


def test_replays_are_forgotten_once_too_old_to_pass_anyway(accepted):
    _, verifier, clock = accepted
    for _ in range(5):
        assert verifier.verify("hv1", TAG, signed(when=clock[0])) is None
        clock[0] += signing.MAX_AGE
    assert len(verifier.seen) <= 2


@pytest.mark.parametrize("host", ["hv2", "../minions/hv1", ".hv1", "", None])
def test_no_key_no_event(accepted, host):
    _, verifier, _ = accepted
    assert verifier.verify(host, TAG, signed()) == "no accepted key for the host"


def test_a_rotated_key_is_read_again_and_a_deleted_one_stops_verifying(accepted):
    folder, verifier, _ = accepted
    assert verifier.verify("hv1", TAG, signed()) is None
    # hv1 gets a new key (here: hv2's) and the master accepts it.
    (folder / "hv1").write_bytes(signkeys.public_pem("hv2"))
    os.utime(folder / "hv1", ns=(1, 1))
    assert verifier.verify("hv1", TAG, signed(host="hv2")) is None
    assert verifier.verify("hv1", TAG, signed()) == "bad signature"
    (folder / "hv1").unlink()  # salt-key -d hv1
    assert verifier.verify("hv1", TAG, signed(host="hv2")) == "no accepted key for the host"


def test_an_unreadable_accepted_key_drops_the_event(accepted, caplog):
    folder, verifier, _ = accepted
    (folder / "hv1").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        assert verifier.verify("hv1", TAG, signed()) == "no accepted key for the host"
    assert "cannot use the key" in caplog.text and "hv1" in caplog.text


# -- the host: one sender for the engine and the migration -------------------------------------------------


def test_the_sender_signs_with_the_minion_key_in_pki_dir(tmp_path):
    (tmp_path / "minion.pem").write_bytes(signkeys.private_pem("hv1"))
    sent = []
    send = signing.minion_sender(lambda tag, data: sent.append((tag, data)), {"pki_dir": str(tmp_path)})
    send(TAG, PAYLOAD)
    send(TAG, PAYLOAD)
    assert [tag for tag, _ in sent] == [TAG, TAG]
    verifier = signing.Verifier(str(signkeys.accept(tmp_path / "minions", "hv1")))
    assert [verifier.verify("hv1", TAG, data) for _, data in sent] == [None, None]
    assert sent[0][1][signing.FIELD]["sig"] != sent[1][1][signing.FIELD]["sig"]


@pytest.mark.parametrize("opts", [{"pki_dir": "/nonexistent/brine-pki"}, {}])
def test_without_its_key_a_host_says_so_once_and_sends_unsigned(opts, caplog):
    sent = []
    send = signing.minion_sender(lambda tag, data: sent.append((tag, data)), opts)
    with caplog.at_level(logging.ERROR):
        send(TAG, PAYLOAD)
        send(TAG, PAYLOAD)
    assert sent == [(TAG, PAYLOAD), (TAG, PAYLOAD)]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "cannot sign Brine's events" in errors[0].getMessage()


def test_a_key_that_appears_later_is_used_after_the_retry_pause(tmp_path, monkeypatch):
    sent = []
    send = signing.Sender(lambda tag, data: sent.append(data), str(tmp_path / "minion.pem"))
    send(TAG, PAYLOAD)
    (tmp_path / "minion.pem").write_bytes(signkeys.private_pem("hv1"))
    send(TAG, PAYLOAD)
    monkeypatch.setattr(send, "retry_at", 0.0)
    send(TAG, PAYLOAD)
    assert [signing.FIELD in data for data in sent] == [False, False, True]


def test_the_signature_is_base64_of_a_2048_bit_rsa_signature():
    assert len(base64.b64decode(signed()[signing.FIELD]["sig"])) == 256
