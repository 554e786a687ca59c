// The console panel's pure parts: who may open a console and when, the WebSocket address, the
// sentences for failures, text typed as keystrokes, and the request's secret and key pair with
// WebCrypto (node's crypto.subtle is the same API as the browser's).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";

import { CALLS } from "../js/calls.js";
import { keyEventsFor, keyFor, keysymOf } from "../js/console-keys.js";
import { bindingOf, consoleKeys, decryptPassword, encryptFor, fromBase64 } from "../js/console-crypto.js";
import { consoleBlocker, consoleUrl, disconnectSentence, socketPath } from "../js/components/console.js";

const OPERATOR = [{ "@runner": ["cluster.inventory", "cluster.vm_info", "cluster.start", "cluster.console"] }];
const VIEWER = [{ "@runner": ["cluster.inventory", "cluster.vm_info"] }];
const ADMIN = [{ "@runner": ["cluster.*"] }];
const running = { name: "lab-vm1", state: "running", graphics: [{ type: "vnc", port: 5900, listen: "10.77.0.11" }] };

describe("consoleBlocker", () => {
  test("operators and admins may open a running VM's console", () => {
    assert.equal(consoleBlocker(running, OPERATOR), null);
    assert.equal(consoleBlocker(running, ADMIN), null);
    assert.equal(consoleBlocker({ ...running, state: "paused" }, OPERATOR), null);
  });
  test("a viewer is told their role may not", () => {
    const blocker = consoleBlocker(running, VIEWER);
    assert.equal(blocker.kind, "role");
    assert.match(blocker.text, /operators and admins/);
  });
  test("a shut-off VM and a VM without VNC say so", () => {
    assert.deepEqual(consoleBlocker({ ...running, state: "shutoff" }, OPERATOR), {
      kind: "off",
      text: "lab-vm1 is shut off: start it to open its console.",
    });
    assert.equal(consoleBlocker({ ...running, graphics: [] }, OPERATOR).kind, "no-graphics");
    assert.equal(consoleBlocker({ ...running, graphics: [{ type: "spice" }] }, OPERATOR).kind, "no-graphics");
  });
  test("without a VM dict (the pop-out window) only the role is checked", () => {
    assert.equal(consoleBlocker(null, OPERATOR, "lab-vm1"), null);
    assert.equal(consoleBlocker(null, VIEWER, "lab-vm1").kind, "role");
  });
});

describe("consoleUrl", () => {
  test("the site's own origin over wss", () => {
    assert.equal(
      consoleUrl("/console/?token=abc", { protocol: "https:", host: "127.0.0.1:8443" }),
      "wss://127.0.0.1:8443/console/?token=abc",
    );
  });
});

describe("socketPath", () => {
  test("the token and the page's secret go together as websockify's token parameter", () => {
    const ticket = { path: "/console/", token: "T".repeat(43) };
    assert.equal(socketPath(ticket, "s-_".repeat(14) + "x"), `/console/?token=${"T".repeat(43)}.${"s-_".repeat(14)}x`);
  });
});

describe("console keys (WebCrypto)", () => {
  test("a 32-byte base64url secret, and only its SHA-256 (hex of its text) as the binding", async () => {
    const keys = await consoleKeys();
    assert.match(keys.secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(keys.binding, createHash("sha256").update(keys.secret, "ascii").digest("hex"));
    assert.equal(await bindingOf(keys.secret), keys.binding);
    assert.notEqual((await consoleKeys()).secret, keys.secret);
  });
  test("an RSA-OAEP 2048 public key in SPKI DER; the private key cannot be exported", async () => {
    const keys = await consoleKeys();
    const der = fromBase64(keys.publicKey);
    assert.equal(der[0], 0x30);
    assert.ok(der.length > 290 && der.length < 300, `SPKI of 2048 bits is 294 bytes, got ${der.length}`);
    assert.equal(keys.privateKey.extractable, false);
    assert.equal(keys.privateKey.algorithm.name, "RSA-OAEP");
    await assert.rejects(crypto.subtle.exportKey("pkcs8", keys.privateKey));
  });
  test("what is encrypted to the public key, only the private key decrypts", async () => {
    const keys = await consoleKeys();
    const ciphertext = await encryptFor(keys.publicKey, "pw3-Xy_9");
    assert.equal(fromBase64(ciphertext).length, 256);
    assert.equal(await decryptPassword(keys.privateKey, ciphertext), "pw3-Xy_9");
    const other = await consoleKeys();
    await assert.rejects(decryptPassword(other.privateKey, ciphertext));
    await assert.rejects(decryptPassword(keys.privateKey, undefined), /no encrypted password/);
  });
  test("cluster.console is sent the binding and the public key, never the secret", () => {
    const kwargs = CALLS.console.kwargs({ name: "lab-vm1", binding: "ab".repeat(32), publicKey: "MIIB" });
    assert.deepEqual(kwargs, { name: "lab-vm1", binding: "ab".repeat(32), public_key: "MIIB" });
    assert.deepEqual(CALLS.console.kwargs({ name: "lab-vm1" }), { name: "lab-vm1" });
  });
});

describe("disconnectSentence", () => {
  test("a refused connection points at the one-time ticket", () => {
    assert.match(disconnectSentence({ clean: false, wasConnected: false, name: "x" }), /works once and only for 30 s/);
  });
  test("a lost connection and a user's disconnect read differently", () => {
    assert.match(disconnectSentence({ clean: false, wasConnected: true, name: "x" }), /was lost/);
    assert.equal(disconnectSentence({ clean: true, wasConnected: true, name: "x", byUser: true }), "Disconnected.");
  });
});

describe("keystrokes", () => {
  test("keysyms are Latin-1 code points, others 0x1000000 + code point", () => {
    assert.equal(keysymOf("a"), 0x61);
    assert.equal(keysymOf("é"), 0xe9);
    assert.equal(keysymOf("€"), 0x10020ac);
  });
  test("shifted characters hold Shift around the key", () => {
    assert.deepEqual(keyEventsFor("$"), [
      [0xffe1, "ShiftLeft", true],
      [0x24, "Digit4", true],
      [0x24, "Digit4", false],
      [0xffe1, "ShiftLeft", false],
    ]);
    assert.deepEqual(keyFor("A"), { keysym: 0x41, code: "KeyA", shift: true });
  });
  test("a command with Enter", () => {
    const events = keyEventsFor("echo brine-$((6*7))\n");
    const downs = events.filter(([, , down]) => down).map(([, code]) => code);
    assert.deepEqual(downs.slice(0, 5), ["KeyE", "KeyC", "KeyH", "KeyO", "Space"]);
    assert.equal(downs.at(-1), "Enter");
    assert.equal(downs.filter((code) => code === "ShiftLeft").length, 6); // $ ( ( * ) )
    assert.equal(events.length % 2, 0);
  });
  test("CR LF is one Enter; characters without a US key go as keysyms only", () => {
    assert.equal(keyEventsFor("\r\n").length, 2);
    assert.deepEqual(keyFor("é"), { keysym: 0xe9, code: null, shift: false });
  });
});
