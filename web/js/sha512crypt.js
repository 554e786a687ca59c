// @ts-check
// SHA-512 crypt ("$6$..."), the password hash glibc's crypt(3) and kickstart's
// `rootpw --iscrypted` read, computed in the browser so a root password never leaves the page:
// Brine only ever receives the hash, and that sealed to the Salt master's key (seal.js;
// docs/provisioning.md). The algorithm is Ulrich Drepper's
// "Unix crypt using SHA-256 and SHA-512" (the specification glibc implements), written here on
// WebCrypto's SHA-512 (crypto.subtle.digest); the node tests compare it with
// `openssl passwd -6`. Pure apart from the random salt.

/** The crypt alphabet: salts are made of it, and the hash is written in it. */
export const CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const ROUNDS_DEFAULT = 5000;
export const ROUNDS_MIN = 1000;
export const ROUNDS_MAX = 999999999;
export const SALT_MAX = 16;

const SALT_RE = /^[./0-9A-Za-z]*$/;

// The order in which the 64 bytes of the last digest are written, three at a time (the spec's
// b64_from_24bit calls for SHA-512); the 64th byte is written alone at the end.
const ORDER = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

/** @param {Uint8Array[]} parts @returns {Promise<Uint8Array>} */
async function sha512(parts) {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-512", joined));
}

/** `digest` repeated to `length` bytes (whole copies, then the start of one more). @param {Uint8Array} digest @param {number} length */
function stretch(digest, length) {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) {
    out[i] = digest[i % digest.length];
  }
  return out;
}

/** `value` repeated `times` times. @param {Uint8Array} value @param {number} times */
function repeat(value, times) {
  const out = new Uint8Array(value.length * times);
  for (let i = 0; i < times; i += 1) {
    out.set(value, i * value.length);
  }
  return out;
}

/** The spec's b64_from_24bit: `count` characters for three bytes, low bits first. */
function encode24(b2, b1, b0, count) {
  let word = (b2 << 16) | (b1 << 8) | b0;
  let text = "";
  for (let i = 0; i < count; i += 1) {
    text += CRYPT_ALPHABET[word & 0x3f];
    word >>>= 6;
  }
  return text;
}

/** @param {Uint8Array} digest the final 64 bytes */
function encodeDigest(digest) {
  return ORDER.map(([a, b, c]) => encode24(digest[a], digest[b], digest[c], 4)).join("") + encode24(0, 0, digest[63], 2);
}

/**
 * The SHA-512 crypt hash of `password` with `salt`: "$6$<salt>$<86 characters>", or
 * "$6$rounds=<n>$<salt>$..." when `rounds` is given (clamped to 1000..999999999, as glibc
 * does; without it the spec's default of 5000 rounds is used and not written).
 * The salt is at most 16 characters of the crypt alphabet (longer ones are cut to 16, as
 * glibc and OpenSSL do); the password is taken as UTF-8.
 * @param {string} password
 * @param {{salt: string, rounds?: number}} options
 * @returns {Promise<string>}
 */
export async function sha512crypt(password, { salt, rounds }) {
  if (typeof password !== "string") {
    throw new TypeError("The password must be a string.");
  }
  if (typeof salt !== "string" || !SALT_RE.test(salt)) {
    throw new TypeError("The salt must be made of the crypt alphabet ./0-9A-Za-z.");
  }
  const custom = rounds !== undefined;
  const count = custom ? clampRounds(rounds) : ROUNDS_DEFAULT;
  const encoder = new TextEncoder();
  const key = encoder.encode(password);
  const saltText = salt.slice(0, SALT_MAX);
  const saltBytes = encoder.encode(saltText);

  // Digest B: password, salt, password.
  const b = await sha512([key, saltBytes, key]);
  // Digest A: password, salt, B stretched to the password's length, then per bit of that
  // length (lowest first) B for a 1 and the password for a 0.
  /** @type {Uint8Array[]} */
  const aParts = [key, saltBytes, stretch(b, key.length)];
  for (let bits = key.length; bits > 0; bits >>>= 1) {
    aParts.push(bits & 1 ? b : key);
  }
  let c = await sha512(aParts);
  // The P sequence: the digest of the password repeated once per byte, stretched to its length.
  const p = stretch(await sha512([repeat(key, key.length)]), key.length);
  // The S sequence: the digest of the salt repeated 16 + A[0] times, cut to the salt's length.
  const s = stretch(await sha512([repeat(saltBytes, 16 + c[0])]), saltBytes.length);

  for (let i = 0; i < count; i += 1) {
    /** @type {Uint8Array[]} */
    const parts = [i & 1 ? p : c];
    if (i % 3 !== 0) {
      parts.push(s);
    }
    if (i % 7 !== 0) {
      parts.push(p);
    }
    parts.push(i & 1 ? c : p);
    c = await sha512(parts);
  }
  return `$6$${custom ? `rounds=${count}$` : ""}${saltText}$${encodeDigest(c)}`;
}

/** @param {number} rounds */
function clampRounds(rounds) {
  if (!Number.isInteger(rounds)) {
    throw new TypeError("The rounds must be a whole number.");
  }
  return Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, rounds));
}

/**
 * A random salt of `length` characters of the crypt alphabet (64 of them, so a random byte's
 * low six bits pick one without bias).
 * @param {number} [length]
 */
export function randomSalt(length = SALT_MAX) {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => CRYPT_ALPHABET[byte & 0x3f]).join("");
}

/**
 * Hash a password for `rootpw --iscrypted`: SHA-512 crypt with a fresh 16-character salt and
 * the default 5000 rounds.
 * @param {string} password
 * @returns {Promise<string>}
 */
export function hashPassword(password) {
  return sha512crypt(password, { salt: randomSalt() });
}

/** Does `text` look like a SHA-512 crypt hash ("$6$[rounds=N$]salt$86 characters")? @param {unknown} text */
export function isSha512Crypt(text) {
  return typeof text === "string" && /^\$6\$(?:rounds=\d+\$)?[./0-9A-Za-z]{0,16}\$[./0-9A-Za-z]{86}$/.test(text);
}
