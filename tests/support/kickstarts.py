"""
Credentials and contexts for the tests of ``brine.kickstart``: a SHA-512 crypt hash of a known
password and real OpenSSH public keys (their private halves were thrown away).
"""

# `openssl passwd -6 -salt abcdefgh secret`
PASSWORD = "secret"
PASSWORD_HASH = (
    "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG."
)
# The same password with explicit rounds and a short salt (glibc's crypt(3), "$6$rounds=5000$abc").
PASSWORD_HASH_ROUNDS = (
    "$6$rounds=5000$abc$"
    "IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8RadRt2qvUHYRLr/TsVArtr91iR1"
)
ED25519_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPftHKdkn/M3sW0coeu/cNWtyj0a1/3RrJvfIG+iWR4 ops@brine"
ECDSA384_KEY = (
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBAjK1HV3nHYcja5om7gAqkY9wHyHZHW4"
    "PCEz2ra5LWvkjHn451JerIC5TRDP/10LtjUmv23RSiKWOTHL+ofVum5mJim0mAGf7iRDXN5GGBUptMw3fh7gWSdXrK69tU9WNw== x"
)


def context(**changes):
    """The least context a kickstart renders from, with ``changes`` on top."""
    base = {
        "name": "lab-vm1",
        "os_variant": "rhel9.4",
        "url": "http://10.0.0.1/rhel9/os/",
        "password_hash": PASSWORD_HASH,
    }
    base.update(changes)
    return base
