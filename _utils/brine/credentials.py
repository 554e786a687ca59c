"""
The root credentials a kickstart carries: a SHA-512 crypt hash and an OpenSSH public key, each
checked, and the redaction that keeps the hash out of plans and logs.

Brine never takes a plaintext password (docs/provisioning.md): the browser hashes it. A refusal
never repeats the value it refuses, since a mistaken value may be a password.
"""

import base64
import binascii
import re
import struct

from brine.errors import Invalid

# glibc's SHA-512 crypt: $6$, optional rounds, a salt of up to 16 characters, 86 characters of hash.
_CRYPT_ALPHABET = r"[./A-Za-z0-9]"
SHA512_CRYPT_RE = re.compile(
    rf"\$6\$(?:rounds=(?P<rounds>[1-9][0-9]{{0,8}})\$)?{_CRYPT_ALPHABET}{{1,16}}\${_CRYPT_ALPHABET}{{86}}"
)
ROUNDS_MIN = 1000
# Other crypt schemes, named in the refusal so a person knows what they gave.
_OTHER_SCHEMES = {"1": "MD5", "2a": "bcrypt", "2b": "bcrypt", "2y": "bcrypt", "5": "SHA-256", "y": "yescrypt"}
_SCHEME_RE = re.compile(r"\$([0-9a-z]{1,2})\$")

SSH_KEY_TYPES = frozenset(
    (
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "ssh-rsa",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    )
)
SSH_KEY_MAX = 8192
RSA_BITS_MIN = 2048
# A key's comment: printable ASCII without quotes, backslash or backtick, so it stays one
# argument of a quoted kickstart option.
_COMMENT_RE = re.compile(r"[ !#-&(-\[\]-_a-~]{0,512}")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")

HIDDEN = "<hidden>"
# Any crypt hash ($id$...), a --password/--passphrase option's value, and the positional secret
# of rootpw and sshpw (every argument that is not an option).
_ANY_CRYPT_RE = re.compile(r"\$(?:1|2[aby]?|5|6|7|y|gy)\$[^\s\"']+")
_SECRET_OPTION_RE = re.compile(r"(--(?:password|passphrase)(?:=|\s+))(\"[^\"]*\"|'[^']*'|\S+)")
_POSITIONAL_SECRET_LINE_RE = re.compile(r"^(\s*(?:rootpw|sshpw)\b)(.*)$", re.MULTILINE)


def check_password_hash(value):
    """
    ``value`` if it is a SHA-512 crypt hash (``$6$[rounds=N$]salt$hash``), else ``Invalid``.
    The refusal never repeats the value (it may be a plaintext password typed in the wrong place).
    """
    if not isinstance(value, str):
        raise Invalid("password_hash must be a SHA-512 crypt hash ($6$...) as text")
    match = SHA512_CRYPT_RE.fullmatch(value)
    if match:
        rounds = match.group("rounds")
        if rounds is not None and int(rounds) < ROUNDS_MIN:
            raise Invalid(f"password_hash has rounds below {ROUNDS_MIN}: hash the password again")
        return value
    scheme = _SCHEME_RE.match(value)
    if scheme and scheme.group(1) in _OTHER_SCHEMES:
        raise Invalid(
            f"password_hash is a {_OTHER_SCHEMES[scheme.group(1)]} crypt hash; Brine takes only "
            "SHA-512 crypt hashes ($6$...)"
        )
    if value.startswith("$6$"):
        raise Invalid("password_hash is not a well-formed SHA-512 crypt hash ($6$[rounds=N$]salt$hash)")
    raise Invalid(
        "password_hash must be a SHA-512 crypt hash ($6$...): Brine never takes a plaintext password "
        "(the browser hashes it, or use `openssl passwd -6`)"
    )


def _ssh_string(blob, offset):
    """The SSH wire-format string at ``offset`` of ``blob`` and the offset after it."""
    if offset + 4 > len(blob):
        raise ValueError("truncated")
    (length,) = struct.unpack(">I", blob[offset : offset + 4])
    end = offset + 4 + length
    if end > len(blob):
        raise ValueError("truncated")
    return blob[offset + 4 : end], end


def _key_blob_problem(key_type, body):
    """Why the base64 ``body`` is not a ``key_type`` public key, or None."""
    if not _BASE64_RE.fullmatch(body):
        return "its key body is not base64"
    try:
        blob = base64.b64decode(body, validate=True)
        name, offset = _ssh_string(blob, 0)
        if name != key_type.encode():
            return f"its key body holds a key of another type than {key_type}"
        if key_type == "ssh-rsa":
            _exponent, offset = _ssh_string(blob, offset)
            modulus, offset = _ssh_string(blob, offset)
            if int.from_bytes(modulus, "big").bit_length() < RSA_BITS_MIN:
                return f"its RSA key has fewer than {RSA_BITS_MIN} bits"
    except (binascii.Error, ValueError):
        return "its key body does not decode"
    return None


def check_ssh_key(value):
    """
    ``value`` as one OpenSSH public key line, ``<type> <base64> [comment]`` with single spaces
    (surrounding whitespace, such as a file's final newline, dropped), else ``Invalid``. Types:
    ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (2048 bits or more) and the security-key
    types sk-*; the body must decode to a key of that type; the comment is printable ASCII
    without quotes, backslash or backtick; at most 8 KiB in all.
    """
    if not isinstance(value, str):
        raise Invalid("ssh_key must be one OpenSSH public key line as text")
    line = value.strip()
    if len(line) > SSH_KEY_MAX:
        raise Invalid(f"ssh_key is longer than {SSH_KEY_MAX} characters: give one public key line")
    if "\n" in line or "\r" in line:
        raise Invalid("ssh_key must be one OpenSSH public key line, not several lines")
    parts = line.split(None, 2)
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        raise Invalid(
            "ssh_key must be an OpenSSH public key line starting with its type ("
            + ", ".join(sorted(SSH_KEY_TYPES))
            + "), with no options before it"
        )
    problem = _key_blob_problem(parts[0], parts[1])
    if problem:
        raise Invalid(f"ssh_key is not a valid {parts[0]} public key: {problem}")
    comment = parts[2] if len(parts) == 3 else ""
    if not _COMMENT_RE.fullmatch(comment):
        raise Invalid("ssh_key's comment must be printable ASCII without quotes, backslash or backtick")
    return " ".join(part for part in (parts[0], parts[1], comment) if part)


def _hide_positional(match):
    words = match.group(2).split(" ")
    return match.group(1) + " ".join(w if not w or w.startswith("--") else HIDDEN for w in words)


def redacted(text):
    """
    ``text`` (a kickstart) with every secret replaced by ``<hidden>``: crypt hashes wherever they
    are, the values of ``--password``/``--passphrase`` options, and the password argument of
    ``rootpw`` and ``sshpw``. What plans, logs and error messages may show.
    """
    text = _ANY_CRYPT_RE.sub(HIDDEN, text)
    text = _SECRET_OPTION_RE.sub(lambda m: m.group(1) + HIDDEN, text)
    return _POSITIONAL_SECRET_LINE_RE.sub(_hide_positional, text)
