"""
Secrets the master sends one host, sealed to that host's minion key (docs/provisioning.md).

A rendered kickstart carries the root password's hash: it must not sit in a job's arguments,
the job cache, the event bus or a log, all of which more people read than should. The master
seals it with the public key it accepted for the host (``<pki_dir>/minions/<id>``); only the
host's ``<pki_dir>/minion.pem`` opens it. A random AES-256-GCM key encrypts the text and is
itself wrapped with RSA-OAEP (SHA-256); the purpose (for example ``provision.install:web1``)
is authenticated data, so a sealed value cannot be replayed for another VM or another use.

``cryptography`` is one of Salt's own requirements: every host and the master have it.
"""

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from brine import console_crypto
from brine import signing
from brine.errors import Invalid
from brine.errors import Refused

VERSION = 1
# A kickstart is a few KiB; anything far larger is not one of ours.
MAX_TEXT = 256 * 1024
FIELDS = ("v", "key", "nonce", "data")


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def seal(public_pem, text, purpose):
    """``text`` (str) sealed for the holder of the private half of ``public_pem`` (bytes)."""
    raw = text.encode("utf-8")
    if len(raw) > MAX_TEXT:
        raise ValueError(f"a sealed text holds at most {MAX_TEXT} bytes")
    key = signing.public_key(public_pem)
    data_key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    return {
        "v": VERSION,
        "key": _b64(key.encrypt(data_key, console_crypto.oaep())),
        "nonce": _b64(nonce),
        "data": _b64(AESGCM(data_key).encrypt(nonce, raw, purpose.encode("utf-8"))),
    }


def check(sealed):
    """``sealed`` if it has the shape ``seal`` returns, else ``Invalid`` (before any key is read)."""
    if not isinstance(sealed, dict) or sorted(sealed) != sorted(FIELDS) or sealed["v"] != VERSION:
        raise Invalid("the sealed value must be what brine.sealed.seal returns (v, key, nonce, data)")
    for field in FIELDS[1:]:
        value = sealed[field]
        if not isinstance(value, str) or not value or len(value) > MAX_TEXT * 2:
            raise Invalid(f"the sealed value's {field} must be base64 text")
    return sealed


def unseal(private_pem, sealed, purpose):
    """The text ``seal`` sealed for ``purpose``; ``Refused`` when this key or purpose cannot open it."""
    check(sealed)
    try:
        wrapped, nonce, data = (base64.b64decode(sealed[f], validate=True) for f in FIELDS[1:])
    except (binascii.Error, ValueError) as err:
        raise Invalid(f"the sealed value is not base64: {err}") from None
    key = signing.private_key(private_pem)
    try:
        data_key = key.decrypt(wrapped, console_crypto.oaep())
        return AESGCM(data_key).decrypt(nonce, data, purpose.encode("utf-8")).decode("utf-8")
    except (ValueError, InvalidTag):
        raise Refused(
            "invalid_argument", f"the sealed value was not sealed for this host's key and {purpose}"
        ) from None


def unseal_on_host(opts, sealed, purpose, code, what):
    """
    ``unseal`` with this host's own minion key (``<pki_dir>/minion.pem`` of the minion ``opts``);
    a key the host cannot read is ``Refused`` with ``code``, the sentence naming ``what`` was sealed.
    """
    path = signing.minion_key_path(opts)
    try:
        with open(path, "rb") as key_file:
            pem = key_file.read()
    except (OSError, TypeError) as err:
        raise Refused(code, f"this host cannot read its minion key to open the {what}: {err}") from None
    return unseal(pem, sealed, purpose)


# ---- A short secret a browser seals to the master's key (the root password's hash).

# RSA-OAEP with SHA-256 of a 4096-bit key is 512 bytes: 700 characters of base64 leave room.
WRAPPED_TEXT_MAX = 700


def public_key_der(public_pem):
    """The base64 SPKI DER of a PEM public key: what WebCrypto's importKey("spki") takes."""
    der = signing.public_key(public_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _b64(der)


def unwrap(private_pem, text, argument):
    """
    The string a browser encrypted with RSA-OAEP (SHA-256) to the public half of
    ``private_pem``, from its base64 ``text``; ``Invalid`` naming ``argument`` otherwise.
    """
    if not isinstance(text, str) or not text or len(text) > WRAPPED_TEXT_MAX:
        raise Invalid(f"{argument} must be base64 of RSA-OAEP ciphertext (provision.sealing_key's key)")
    try:
        base64.b64decode(text, validate=True)
        return console_crypto.decrypt(signing.private_key(private_pem), text)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Invalid(f"{argument} was not sealed with this master's key (provision.sealing_key)") from None
