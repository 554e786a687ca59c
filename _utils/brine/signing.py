"""
Brine's events signed by the host that sends them, and checked on the master (docs/api.md,
Events; docs/design.md, Brine's event stream).

Salt fires a host's event on the master bus as the whole load it sent, and also takes a batch
of events from a host and fires each exactly as the host wrote it: the ``id`` Salt checked is
then no proof of who sent an event. So a host signs each Brine event with its own Salt minion
key (``<minion pki_dir>/minion.pem``, readable by root, as the minion runs), and the master's
stream verifies it with the public key it accepted for that host (``<master pki_dir>/minions/
<id>``).

What is signed: the canonical JSON (sorted keys, no spaces, ASCII) of ``{"v": 1, "tag": <tag>,
"time": <unix seconds>, "nonce": <random hex>, "data": <payload>}``, the payload without its
top-level ``_`` keys (Salt's ``__pub_*`` and ``_stamp``, and the signature itself). The
signature goes in the payload as ``_brine_sig: {"v": 1, "time": …, "nonce": …, "sig":
<base64>}``: RSA PKCS#1 v1.5 with SHA-256.
A sender sends the payload as JSON reads it back, so what the master re-encodes is what was
signed. The master drops an event older (or newer) than ``MAX_AGE`` seconds, and one whose
signature it has already seen within that time (a replay).

Plain Python and ``cryptography`` (one of Salt's own requirements); keys are passed in as paths
or bytes, the clock as a function.
"""

import base64
import binascii
import collections
import json
import logging
import os
import secrets
import threading
import time

from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

log = logging.getLogger(__name__)

FIELD = "_brine_sig"
VERSION = 1
# Seconds an event stays valid after it was signed (and how far a host's clock may run ahead).
MAX_AGE = 120
# Seconds before a sender with no key tries to read it again.
RETRY_SECONDS = 60


class BadKey(Exception):
    """A key that cannot be read or is not an RSA key."""


def public(payload):
    """The payload without Salt's bookkeeping and the signature (top-level keys starting with ``_``)."""
    return {key: value for key, value in payload.items() if not str(key).startswith("_")}


def message(tag, when, nonce, payload):
    """The bytes a host signs: canonical JSON of the version, tag, time, nonce and public payload."""
    body = {"v": VERSION, "tag": tag, "time": when, "nonce": nonce, "data": public(payload)}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str).encode()


def private_key(pem):
    """An RSA private key from PEM bytes (a Salt ``minion.pem``), else ``BadKey``."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise BadKey(f"not a readable private key: {err}") from err
    if not isinstance(key, rsa.RSAPrivateKey):
        raise BadKey("not an RSA private key")
    return key


def public_key(pem):
    """An RSA public key from PEM bytes (the master's ``minions/<id>``), else ``BadKey``."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise BadKey(f"not a readable public key: {err}") from err
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadKey("not an RSA public key")
    return key


def sign(tag, payload, key, when):
    """
    ``payload`` as a host sends it: JSON values only, plus ``_brine_sig`` signed with ``key``
    (an RSA private key) for ``tag`` at unix time ``when``.
    """
    data = json.loads(json.dumps(public(payload), default=str))
    when, nonce = round(float(when), 3), secrets.token_hex(8)
    signature = key.sign(message(tag, when, nonce, data), padding.PKCS1v15(), hashes.SHA256())
    data[FIELD] = {"v": VERSION, "time": when, "nonce": nonce, "sig": base64.b64encode(signature).decode()}
    return data


def _envelope(payload):
    """(time, nonce, signature bytes) of a payload's ``_brine_sig``, or (None, reason)."""
    envelope = payload.get(FIELD) if isinstance(payload, dict) else None
    if envelope is None:
        return None, "unsigned"
    if not isinstance(envelope, dict) or envelope.get("v") != VERSION:
        return None, "malformed signature"
    when, nonce, sig = envelope.get("time"), envelope.get("nonce"), envelope.get("sig")
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        return None, "malformed signature"
    if not isinstance(nonce, str) or not isinstance(sig, str):
        return None, "malformed signature"
    try:
        return (when, nonce, base64.b64decode(sig, validate=True)), None
    except (binascii.Error, ValueError):
        return None, "malformed signature"


def check(tag, payload, key, now, max_age=MAX_AGE):
    """None when ``payload`` carries a good, fresh signature of ``tag`` by ``key``; else why not."""
    found, reason = _envelope(payload)
    if reason:
        return reason
    when, nonce, signature = found
    if now - when > max_age:
        return "signature too old"
    if when - now > max_age:
        return "signature from the future"
    try:
        key.verify(signature, message(tag, when, nonce, payload), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return "bad signature"
    return None


def valid_host_id(host):
    """True when ``host`` can name a key file: Salt's minion ids never hold a slash or start with a dot."""
    return isinstance(host, str) and bool(host) and "/" not in host and "\0" not in host and host[0] != "."


class Verifier:
    """
    The master's side: ``verify(host, tag, payload)`` → None, or why the event is dropped.

    Public keys are read from ``key_dir/<host>`` (the master's ``pki_dir/minions``: accepted
    keys only) and cached; the file is stat'ed at each event and read again when it changed,
    so a rotated key is picked up and a deleted one stops verifying at once. Signatures seen
    within ``max_age`` are remembered, and a repeat is dropped.
    """

    def __init__(self, key_dir, max_age=MAX_AGE, clock=time.time, master_key=None):
        self.key_dir = key_dir
        # The master's own public key (``<pki_dir>/master.pub``): what its runners sign with.
        self.master_key = master_key
        self.max_age = max_age
        self.clock = clock
        self.keys = {}  # host -> (stat identity, key)
        self.seen = collections.OrderedDict()  # signature -> time it may be forgotten, oldest first

    def key(self, host):
        """The public key accepted for ``host``, or (None, reason)."""
        if not valid_host_id(host):
            return None, "no accepted key for the host"
        return self._load(host, os.path.join(self.key_dir, host))

    def _load(self, name, path):
        """The public key in ``path``, cached under ``name`` while the file stays the same."""
        try:
            stat = os.stat(path)
        except OSError:
            self.keys.pop(name, None)
            return None, "no accepted key for the host"
        identity = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        cached = self.keys.get(name)
        if cached and cached[0] == identity:
            return cached[1], None
        try:
            with open(path, "rb") as handle:
                key = public_key(handle.read())
        except (OSError, BadKey) as err:
            log.warning("brine: cannot use the key %s: %s", path, err)
            return None, "no accepted key for the host"
        self.keys[name] = (identity, key)
        return key, None

    def verify(self, host, tag, payload):
        key, reason = self.key(host)
        if reason:
            return reason
        return self._check(key, tag, payload)

    def verify_master(self, tag, payload):
        """None when the master itself signed ``payload`` (a runner's event), else why not."""
        if not self.master_key:
            return "no master key to check with"
        key, reason = self._load("\0master", self.master_key)
        if reason:
            return reason
        return self._check(key, tag, payload)

    def _check(self, key, tag, payload):
        now = self.clock()
        reason = check(tag, payload, key, now, self.max_age)
        if reason:
            return reason
        sig = payload[FIELD]["sig"]
        while self.seen and next(iter(self.seen.values())) <= now:
            self.seen.popitem(last=False)
        if sig in self.seen:
            return "replayed"
        self.seen[sig] = now + 2 * self.max_age
        return None


class Sender:
    """
    A host's ``send(tag, data)`` for Brine's events: signs with the minion's key at
    ``key_path`` and hands the signed payload to ``send`` (Salt's ``event.send``).

    Without a readable key it logs an error (once, then again only if the reason changes),
    sends the event unsigned, which the master's stream drops, and tries the key again after
    ``RETRY_SECONDS``: a host without its key must not stop working, and must not go unnoticed.
    """

    def __init__(self, send, key_path, clock=time.time):
        self.send = send
        self.key_path = key_path
        self.clock = clock
        self.lock = threading.Lock()
        self.signing_key = None
        self.error = None
        self.retry_at = 0.0

    def _key(self):
        with self.lock:
            if self.signing_key is not None or time.monotonic() < self.retry_at:
                return self.signing_key
            try:
                if not self.key_path:
                    raise BadKey("the minion's pki_dir is not known")
                with open(self.key_path, "rb") as handle:
                    self.signing_key = private_key(handle.read())
            except (OSError, BadKey) as err:
                self.retry_at = time.monotonic() + RETRY_SECONDS
                if str(err) != self.error:
                    self.error = str(err)
                    log.error(
                        "brine: cannot sign Brine's events with %s (%s): they go out unsigned and "
                        "the master's event stream drops them",
                        self.key_path,
                        err,
                    )
            return self.signing_key

    def __call__(self, tag, data):
        key = self._key()
        if key is None:
            return self.send(tag, data)
        return self.send(tag, sign(tag, data, key, self.clock()))


def minion_key_path(opts):
    """``<pki_dir>/minion.pem`` of a minion's ``__opts__``, or None when it has no pki_dir."""
    pki_dir = (opts or {}).get("pki_dir")
    return os.path.join(pki_dir, "minion.pem") if pki_dir else None


def minion_sender(send, opts):
    """The ``Sender`` of a minion: its ``event.send`` and the key in its ``pki_dir``."""
    return Sender(send, minion_key_path(opts))


def master_sender(fire, opts):
    """The ``Sender`` of the master's runners: ``fire(tag, data)`` and ``<pki_dir>/master.pem``."""
    pki_dir = (opts or {}).get("pki_dir")
    return Sender(fire, os.path.join(pki_dir, "master.pem") if pki_dir else None)
