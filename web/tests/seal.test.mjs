// Sealing the root password's hash to the Salt master (js/seal.js): RSA-OAEP SHA-256 to the
// key provision.sealing_key gives (SPKI DER, base64), with node's WebCrypto (the browser's API).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { fromBase64, toBase64 } from "../js/console-crypto.js";
import { importSealingKey, seal, sealerFor, sealingKeyOf, SEALING_ALGORITHM } from "../js/seal.js";
import { hashPassword } from "../js/sha512crypt.js";

const RSA_OAEP = { name: "RSA-OAEP", hash: "SHA-256" };
const { subtle } = globalThis.crypto;

/** A key pair standing in for the master's, and provision.sealing_key's answer for it. */
async function masterKeys(modulusLength = 2048) {
  const pair = await subtle.generateKey({ ...RSA_OAEP, modulusLength, publicExponent: new Uint8Array([1, 0, 1]) }, true, ["encrypt", "decrypt"]);
  const key = toBase64(new Uint8Array(await subtle.exportKey("spki", pair.publicKey)));
  return { privateKey: pair.privateKey, answer: { key, algorithm: SEALING_ALGORITHM } };
}

/** What the runner does: decrypt base64 ciphertext with the master's private key. */
async function unseal(privateKey, sealed) {
  return new TextDecoder().decode(await subtle.decrypt(RSA_OAEP, privateKey, fromBase64(sealed)));
}

const master = await masterKeys();

describe("sealing a password hash to the master's key", () => {
  test("round trip: the hash, sealed to the SPKI key, opens with the private key", async () => {
    const hash = await hashPassword("Plain-Text-Secret-42");
    const key = await importSealingKey(sealingKeyOf(master.answer));
    const sealed = await seal(key, hash);
    assert.match(sealed, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.equal(fromBase64(sealed).length, 256, "one RSA block of a 2048-bit key");
    assert.ok(!sealed.includes("$") && !sealed.includes(hash));
    assert.equal(await unseal(master.privateKey, sealed), hash);
  });
  test("OAEP is randomised: the same hash never seals to the same text twice", async () => {
    const key = await importSealingKey(master.answer.key);
    const hash = "$6$abcdefghijklmnop$" + "x".repeat(86);
    const [a, b] = [await seal(key, hash), await seal(key, hash)];
    assert.notEqual(a, b);
    assert.equal(await unseal(master.privateKey, b), hash);
  });
  test("a 4096-bit master key works too (and a UTF-8 text comes back as it went)", async () => {
    const big = await masterKeys(4096);
    const sealed = await seal(await importSealingKey(big.answer.key), "$6$rounds=9999$sält$ünïcode");
    assert.equal(fromBase64(sealed).length, 512);
    assert.equal(await unseal(big.privateKey, sealed), "$6$rounds=9999$sält$ünïcode");
  });
  test("nothing to seal is refused", async () => {
    const key = await importSealingKey(master.answer.key);
    await assert.rejects(seal(key, ""), TypeError);
  });
});

describe("provision.sealing_key's answer", () => {
  test("only an RSA-OAEP-256 key in base64 is taken", () => {
    assert.equal(sealingKeyOf(master.answer), master.answer.key);
    assert.throws(() => sealingKeyOf({ ...master.answer, algorithm: "RSA-OAEP" }), /RSA-OAEP-256/);
    assert.throws(() => sealingKeyOf({ key: master.answer.key }), /RSA-OAEP-256/);
    assert.throws(() => sealingKeyOf({ algorithm: SEALING_ALGORITHM }), /base64 SPKI/);
    assert.throws(() => sealingKeyOf({ algorithm: SEALING_ALGORITHM, key: "-----BEGIN PUBLIC KEY-----" }), /base64 SPKI/);
    assert.throws(() => sealingKeyOf(null), /RSA-OAEP-256/);
  });
  test("a key that is not an RSA SPKI key, or one under 2048 bits, is refused", async () => {
    await assert.rejects(importSealingKey(toBase64(new Uint8Array(64))));
    const small = await masterKeys(1024);
    await assert.rejects(importSealingKey(small.answer.key), /1024 bits/);
  });
  test("a key imported to seal cannot decrypt, nor be exported", async () => {
    const key = await importSealingKey(master.answer.key);
    assert.deepEqual(key.usages, ["encrypt"]);
    assert.equal(key.extractable, false);
  });
});

describe("sealerFor: the key asked for once per dialog", () => {
  test("one provision.sealing_key call for any number of seals", async () => {
    let calls = 0;
    const sealText = sealerFor(async () => {
      calls += 1;
      return master.answer;
    });
    const sealed = await Promise.all([sealText("$6$a$b"), sealText("$6$c$d")]);
    assert.equal(await sealText("$6$e$f").then((text) => unseal(master.privateKey, text)), "$6$e$f");
    assert.equal(calls, 1);
    assert.deepEqual(await Promise.all(sealed.map((text) => unseal(master.privateKey, text))), ["$6$a$b", "$6$c$d"]);
  });
  test("a failed fetch, or a wrong answer, is not kept: the next seal asks again", async () => {
    const answers = [Promise.reject(new Error("salt-api is down")), Promise.resolve({ key: master.answer.key, algorithm: "RSA1_5" }), Promise.resolve(master.answer)];
    answers[0].catch(() => {});
    let calls = 0;
    const sealText = sealerFor(() => answers[calls++]);
    await assert.rejects(sealText("$6$a$b"), /salt-api is down/);
    await assert.rejects(sealText("$6$a$b"), /RSA-OAEP-256/);
    assert.equal(await unseal(master.privateKey, await sealText("$6$a$b")), "$6$a$b");
    assert.equal(calls, 3);
  });
  test("the key is kept in memory only: neither seal.js nor the dialog touches storage", () => {
    for (const file of ["../js/seal.js", "../js/components/create-vm.js"]) {
      const source = readFileSync(new URL(file, import.meta.url), "utf8");
      assert.doesNotMatch(source, /localStorage|sessionStorage|indexedDB|document\.cookie|caches\./, file);
    }
  });
});
