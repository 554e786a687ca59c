"""
What a browser sends with a console request, checked, and the host's side of keeping the VNC
password out of every return (docs/api.md, Consoles).

* ``binding``: the SHA-256 (64 hex digits) of a random secret the browser keeps; the token
  record stores it and websockify's plugin requires the secret (``brine.tokens``).
* ``public_key``: an RSA public key (SPKI DER, base64, 2048 to 4096 bits) the browser made for
  this request with WebCrypto; its private key never leaves the browser (non-extractable). The
  host encrypts the VNC password it set with RSA-OAEP (SHA-256, MGF1-SHA-256, no label), the
  parameters WebCrypto's ``{name: "RSA-OAEP", hash: "SHA-256"}`` uses, and returns only the
  ciphertext (base64). The job return, the event bus and the job cache carry nothing that
  opens the console.

``cryptography`` is one of Salt's own requirements, so every host and the master have it.
"""

import base64
import binascii
import hashlib
import re
import secrets

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

from brine.errors import Invalid

BINDING_RE = re.compile(r"^[0-9a-fA-F]{64}$")
KEY_BITS_MIN = 2048
KEY_BITS_MAX = 4096
# A 4096-bit RSA key in SPKI DER is 550 bytes; base64 of 1024 bytes leaves room and no more.
KEY_TEXT_MAX = 1368
_BASE64_RE = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def binding(value):
    """The browser session's binding as 64 lower-case hex digits, else ``Invalid``."""
    if not isinstance(value, str) or not BINDING_RE.match(value):
        raise Invalid(
            "binding must be the SHA-256 of the browser's console secret as 64 hex digits "
            "(a console request needs one)"
        )
    return value.lower()


def public_key(value):
    """
    ``value`` (SPKI DER in base64) as an RSA public key of 2048 to 4096 bits, else ``Invalid``.
    Returns ``(text, key)``: the text as received (what the runner sends on) and the key.
    """
    if not isinstance(value, str) or not value or len(value) > KEY_TEXT_MAX or not _BASE64_RE.match(value):
        raise Invalid(
            "public_key must be the browser's RSA-OAEP public key, SPKI DER in base64 "
            f"(at most {KEY_TEXT_MAX} characters; a console request needs one)"
        )
    try:
        key = serialization.load_der_public_key(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise Invalid("public_key is not a public key in SPKI DER (base64)") from None
    if not isinstance(key, rsa.RSAPublicKey) or not KEY_BITS_MIN <= key.key_size <= KEY_BITS_MAX:
        raise Invalid(f"public_key must be an RSA key of {KEY_BITS_MIN} to {KEY_BITS_MAX} bits")
    return value, key


def oaep():
    """RSA-OAEP as WebCrypto's {name: \"RSA-OAEP\", hash: \"SHA-256\"} does it (MGF1-SHA-256, no label)."""
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def encrypt(key, text):
    """``text`` encrypted for the browser holding ``key``'s private half: base64 of RSA-OAEP."""
    return base64.b64encode(key.encrypt(text.encode("utf-8"), oaep())).decode("ascii")


def decrypt(private_key, ciphertext):
    """The browser's side, for tests and tools written in Python: ``encrypt`` undone."""
    return private_key.decrypt(base64.b64decode(ciphertext), oaep()).decode("utf-8")


def request_keys():
    """
    What ``web/js/console-crypto.js`` makes for one console request, in Python (for tests,
    benchmarks and scripts): ``{secret, binding, public_key, private_key}``.
    """
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS_MIN)
    spki = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "secret": secret,
        "binding": hashlib.sha256(secret.encode("ascii")).hexdigest(),
        "public_key": base64.b64encode(spki).decode("ascii"),
        "private_key": private_key,
    }
