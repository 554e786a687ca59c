"""
Shared fixtures of the provisioning tests: a small catalog, a known root password and its
SHA-512 crypt hash, an SSH key, and RSA key pairs standing in for hosts' minion keys.
"""

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from brine import catalog_store
from brine import console_crypto

# The plaintext never reaches Brine; tests search every place for it after a create.
PLAINTEXT = "Plain-Text-Root-Pw-7319"
# openssl passwd -6 -salt brinesalt1234567 Plain-Text-Root-Pw-7319
HASH = (
    "$6$brinesalt1234567$"
    "deiWUDAPBFs1L6RFKQsxIUXXh9wgT0tWiwFLxgADiOstQ2Gk.6MXirXNtTi/mYgeLO9KS8BmdvgaAzR1zJXjj."
)
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPkqMaSN2z/AFYF1eBacZN9gJnGTs6i1nEjM6wW1KtvS brine-test"

CATALOG = {
    "profiles": {"small": {"memory": 128, "vcpus": 1, "disk": 1}},
    "os_trees": {
        "el9": {"url": "http://192.168.123.1:8090/tree/", "os_variant": "rhel9.0", "kickstart": "rhel"},
    },
    "products": {"base": {"url": "http://repo.lab/base"}, "extras": {"url": "http://repo.lab/extras"}},
    "views": {"core": {"products": ["base"]}, "more": {"products": ["base", "extras"]}},
    "activation_keys": {"lab": {"views": ["core", "more"]}},
    "host_groups": {
        "web": {
            "profile": "small",
            "os_tree": "el9",
            "activation_key": "lab",
            "network": "lab",
            "pool": "default",
            "placement": {"kind": "any"},
        }
    },
}


def write_catalog(folder, content=None):
    """Store ``content`` (default ``CATALOG``) in a catalog folder, through the store."""
    store = catalog_store.Store(str(folder))
    for kind in ("profiles", "os_trees", "products", "views", "activation_keys", "host_groups"):
        for name, fields in (content or CATALOG).get(kind, {}).items():
            store.set(kind, name, fields)
    return store


def key_pair():
    """(private PEM, public PEM) of a new 2048-bit RSA key, as a minion's key files hold them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def host_keys(hosts):
    return {host: key_pair() for host in hosts}


def seal_for_master(spki_b64, text):
    """``text`` sealed as the browser seals a password hash: RSA-OAEP (SHA-256) to the master's
    key as ``provision.sealing_key`` gives it (SPKI DER, base64); base64 of the ciphertext."""
    return console_crypto.encrypt(serialization.load_der_public_key(base64.b64decode(spki_b64)), text)
