// SHA-512 crypt in the browser (js/sha512crypt.js) against OpenSSL's `passwd -6`, which
// implements the same specification (Drepper's, as glibc does).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";

import { CRYPT_ALPHABET, hashPassword, isSha512Crypt, randomSalt, sha512crypt } from "../js/sha512crypt.js";

/** OpenSSL's answer, with an argument list (no shell). */
function openssl(password, salt) {
  return execFileSync("openssl", ["passwd", "-6", "-salt", salt, password], { encoding: "utf8" }).trim();
}

/** glibc's crypt(3) through Python's crypt module, or null where there is none. */
function glibcCrypt(password, setting) {
  try {
    return execFileSync(
      "python3",
      ["-W", "ignore", "-c", "import crypt, sys; print(crypt.crypt(sys.argv[1], sys.argv[2]))", password, setting],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    ).trim();
  } catch {
    return null;
  }
}

const PASSWORDS = [
  "hello",
  "p",
  "correct horse battery staple",
  "Tr0ub4dor&3 $HOME `id` ; rm -rf / 'quoted' \"double\"",
  "x".repeat(63),
  "y".repeat(64),
  "z".repeat(65),
  "long ".repeat(50), // 250 bytes: nearly four digests' worth (OpenSSL stops at 256)
  "pässwörd",
  "пароль-密码-🔐",
];
const SALTS = ["abc", "saltsalt", "abcdefghijklmnop", "./09AZaz", "a"];

describe("sha512crypt equals openssl passwd -6", () => {
  for (const [i, password] of PASSWORDS.entries()) {
    const salt = SALTS[i % SALTS.length];
    test(`password #${i} (${[...password].length} characters) with salt ${salt}`, async () => {
      assert.equal(await sha512crypt(password, { salt }), openssl(password, salt));
    });
  }
  test("a salt longer than 16 characters is cut to 16, as OpenSSL and glibc do", async () => {
    const hash = await sha512crypt("hello", { salt: "abcdefghijklmnopqrstu" });
    assert.equal(hash, openssl("hello", "abcdefghijklmnopqrstu"));
    assert.ok(hash.startsWith("$6$abcdefghijklmnop$"));
  });
  // OpenSSL cuts passwords at 256 characters; glibc (Python's crypt module, where there is
  // one) takes them whole, and so does the spec.
  const glibc = glibcCrypt("long ".repeat(60), "$6$abcdefghijklmnop");
  test("a 300-byte password equals glibc's crypt", { skip: glibc === null && "no Python crypt module here" }, async () => {
    assert.equal(await sha512crypt("long ".repeat(60), { salt: "abcdefghijklmnop" }), glibc);
  });
});

describe("rounds=N", () => {
  for (const rounds of [1000, 5000, 10000, 12345]) {
    test(`rounds=${rounds} is written and used`, async () => {
      const hash = await sha512crypt("pässwörd long enough", { salt: "roundsalt", rounds });
      assert.equal(hash, openssl("pässwörd long enough", `rounds=${rounds}$roundsalt`));
      assert.ok(hash.startsWith(`$6$rounds=${rounds}$roundsalt$`));
    });
  }
  test("fewer than 1000 rounds are raised to 1000, as glibc does", async () => {
    const hash = await sha512crypt("hello", { salt: "abc", rounds: 10 });
    assert.equal(hash, openssl("hello", "rounds=10$abc"));
    assert.ok(hash.startsWith("$6$rounds=1000$abc$"));
  });
  test("without rounds the default 5000 is used and not written", async () => {
    const plain = await sha512crypt("hello", { salt: "abc" });
    const explicit = await sha512crypt("hello", { salt: "abc", rounds: 5000 });
    assert.equal(plain.split("$").at(-1), explicit.split("$").at(-1));
    assert.ok(!plain.includes("rounds="));
  });
  test("rounds must be a whole number", async () => {
    await assert.rejects(sha512crypt("hello", { salt: "abc", rounds: 1.5 }), TypeError);
  });
});

describe("salts and the helpers", () => {
  test("a salt outside the crypt alphabet is refused (no $, no spaces)", async () => {
    await assert.rejects(sha512crypt("hello", { salt: "a$b" }), TypeError);
    await assert.rejects(sha512crypt("hello", { salt: "a b" }), TypeError);
  });
  test("randomSalt: 16 characters of the crypt alphabet, different each time", () => {
    const salts = new Set(Array.from({ length: 20 }, () => randomSalt()));
    assert.equal(salts.size, 20);
    for (const salt of salts) {
      assert.equal(salt.length, 16);
      assert.ok([...salt].every((ch) => CRYPT_ALPHABET.includes(ch)), salt);
    }
  });
  test("hashPassword: $6$<16 random characters>$..., which OpenSSL computes the same", async () => {
    const hash = await hashPassword("s3cret!");
    assert.match(hash, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    assert.ok(isSha512Crypt(hash));
    assert.equal(hash, openssl("s3cret!", hash.split("$")[2]));
    assert.ok(!hash.includes("s3cret"));
  });
  test("isSha512Crypt", () => {
    assert.ok(!isSha512Crypt("s3cret!"));
    assert.ok(!isSha512Crypt("$1$abc$def"));
    assert.ok(isSha512Crypt(`$6$rounds=6000$abc$${"a".repeat(86)}`));
  });
});
