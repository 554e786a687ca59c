"""Test keys for ``brine.signing``: one RSA key per host, and a master's folder of accepted keys."""

import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@functools.cache
def key(host):
    """The (test) minion key of ``host``, the same for the whole run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(host):
    """``host``'s key as Salt writes ``minion.pem`` (traditional OpenSSL PEM, unencrypted)."""
    return key(host).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def public_pem(host):
    """``host``'s public key as the master keeps it in ``pki_dir/minions/<id>``."""
    return (
        key(host)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def accept(folder, *hosts):
    """Write each host's public key into ``folder`` (a master's ``pki_dir/minions``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for host in hosts:
        (folder / host).write_bytes(public_pem(host))
    return folder
