"""
The console password's encryption across the two languages that use it: the host encrypts with
``cryptography`` (``brine.console_crypto``), the browser decrypts with WebCrypto
(``web/js/console-crypto.js``, run here in node, whose ``crypto.subtle`` is the browser's API).
A Python stand-in for the browser decrypts too; the browser's key and binding pass the checks
the runner and host make.
"""

import base64
import hashlib
import json
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from salt.exceptions import SaltInvocationError

from brine import console_crypto
from support.paths import REPO

WEB = REPO / "web"


def node(script, stdin=""):
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=WEB,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def test_round_trip_in_python():
    keys = console_crypto.request_keys()
    key_text, key = console_crypto.public_key(keys["public_key"])
    assert key_text == keys["public_key"] and key.key_size == 2048
    ciphertext = console_crypto.encrypt(key, "pw3-Xy_9")
    assert len(base64.b64decode(ciphertext)) == 256 and "pw3-Xy_9" not in ciphertext
    assert console_crypto.decrypt(keys["private_key"], ciphertext) == "pw3-Xy_9"
    # OAEP is randomised: the same password never gives the same ciphertext twice.
    assert console_crypto.encrypt(key, "pw3-Xy_9") != ciphertext


def test_what_the_host_encrypts_the_browsers_webcrypto_decrypts():
    keys = console_crypto.request_keys()
    ciphertext = console_crypto.encrypt(console_crypto.public_key(keys["public_key"])[1], "pw3-Xy_9")
    pkcs8 = keys["private_key"].private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    script = """
import { decryptPassword, fromBase64 } from "./js/console-crypto.js";
let text = "";
for await (const chunk of process.stdin) text += chunk;
const { pkcs8, ciphertext } = JSON.parse(text);
const key = await crypto.subtle.importKey(
  "pkcs8", fromBase64(pkcs8), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["decrypt"]);
console.log(JSON.stringify(await decryptPassword(key, ciphertext)));
"""
    stdin = json.dumps({"pkcs8": base64.b64encode(pkcs8).decode(), "ciphertext": ciphertext})
    assert node(script, stdin) == "pw3-Xy_9"


def test_the_browsers_request_passes_the_runners_and_hosts_checks():
    script = """
import { consoleKeys } from "./js/console-crypto.js";
const { secret, binding, publicKey } = await consoleKeys();
console.log(JSON.stringify({ secret, binding, publicKey }));
"""
    keys = node(script)
    assert console_crypto.binding(keys["binding"]) == hashlib.sha256(keys["secret"].encode()).hexdigest()
    assert console_crypto.public_key(keys["publicKey"])[1].key_size == 2048


@pytest.mark.parametrize("value", [None, "", "ab" * 31, "ab" * 33, "g" * 64, 12])
def test_a_binding_is_64_hex_digits(value):
    with pytest.raises(SaltInvocationError, match="binding must be"):
        console_crypto.binding(value)


def test_a_binding_is_kept_in_lower_case():
    assert console_crypto.binding("AB" * 32) == "ab" * 32
