// @ts-check
// Sealing a secret to the Salt master (docs/provisioning.md, provision.sealing_key), with
// WebCrypto only: RSA-OAEP with SHA-256 (and MGF1 with SHA-256, no label), to the master's
// public key as provision.sealing_key returns it ({key: SPKI DER in base64, algorithm:
// "RSA-OAEP-256"}). A runner's arguments are on the master's event bus and in the job cache,
// which more people can read than should: the root password's hash goes in them only sealed
// (password_hash_sealed), and so does every environment value of a container the browser runs
// (containers.run's secret_environment); only the master's private key opens them.
//
// The key is held in memory only (per dialog: sealerFor), never in storage.

import { fromBase64, toBase64 } from "./console-crypto.js";

/** The algorithm provision.sealing_key names, and the only one sealed to. */
export const SEALING_ALGORITHM = "RSA-OAEP-256";
/** The smallest RSA key sealed to (bits). */
export const MIN_MODULUS_BITS = 2048;

const RSA_OAEP = { name: "RSA-OAEP", hash: "SHA-256" };
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The SPKI key (base64) from provision.sealing_key's answer; throws when the answer is not an
 * RSA-OAEP-256 key.
 * @param {unknown} answer
 * @returns {string}
 */
export function sealingKeyOf(answer) {
  const { key, algorithm } = /** @type {{key?: unknown, algorithm?: unknown}} */ (answer ?? {});
  if (algorithm !== SEALING_ALGORITHM) {
    throw new Error(`the Salt master's sealing key is for ${JSON.stringify(algorithm ?? null)}, not ${SEALING_ALGORITHM}`);
  }
  if (typeof key !== "string" || !BASE64_RE.test(key)) {
    throw new Error("the Salt master's sealing key is not a base64 SPKI key");
  }
  return key;
}

/**
 * The master's public key, ready to encrypt to (an RSA key of at least 2048 bits).
 * @param {string} spki  SPKI DER in base64
 * @param {Crypto} [webCrypto]
 * @returns {Promise<CryptoKey>}
 */
export async function importSealingKey(spki, webCrypto = globalThis.crypto) {
  if (!webCrypto?.subtle) {
    throw new Error("this browser has no WebCrypto here (it needs the site's HTTPS)");
  }
  const key = await webCrypto.subtle.importKey("spki", fromBase64(spki), RSA_OAEP, false, ["encrypt"]);
  const bits = /** @type {RsaHashedKeyAlgorithm} */ (key.algorithm).modulusLength;
  if (!(bits >= MIN_MODULUS_BITS)) {
    throw new Error(`the Salt master's sealing key has ${bits} bits, fewer than ${MIN_MODULUS_BITS}`);
  }
  return key;
}

/**
 * The most UTF-8 bytes one RSA-OAEP (SHA-256) block of `key` holds: its modulus in bytes less
 * twice the hash and two (RFC 8017, 7.1.1): 190 for a 2048-bit key, 446 for 4096 bits.
 * @param {CryptoKey} key
 */
export function maxSealBytes(key) {
  const bits = /** @type {RsaHashedKeyAlgorithm} */ (key.algorithm).modulusLength;
  return Math.floor(bits / 8) - 2 * 32 - 2;
}

/** How many bytes `text` is in UTF-8 (what is sealed). @param {string} text */
export const utf8Length = (text) => new TextEncoder().encode(text).length;

/**
 * `text` (UTF-8) encrypted to `key` with RSA-OAEP SHA-256, in base64. An empty text is sealed
 * too (an environment variable may be empty; the sealed text shows nothing of it); one longer
 * than maxSealBytes(key) is refused before WebCrypto is asked.
 * @param {CryptoKey} key
 * @param {string} text
 * @param {Crypto} [webCrypto]
 * @returns {Promise<string>}
 */
export async function sealText(key, text, webCrypto = globalThis.crypto) {
  if (typeof text !== "string") {
    throw new TypeError("only text can be sealed");
  }
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > maxSealBytes(key)) {
    throw new RangeError(`a sealed text holds at most ${maxSealBytes(key)} bytes, not ${bytes.length}`);
  }
  const sealed = await webCrypto.subtle.encrypt(RSA_OAEP, key, bytes);
  return toBase64(new Uint8Array(sealed));
}

/**
 * `text` (UTF-8) encrypted to `key` with RSA-OAEP SHA-256, in base64; an empty text is refused
 * (a password's hash is never empty).
 * @param {CryptoKey} key
 * @param {string} text
 * @param {Crypto} [webCrypto]
 * @returns {Promise<string>}
 */
export async function seal(key, text, webCrypto = globalThis.crypto) {
  if (typeof text !== "string" || text === "") {
    throw new TypeError("there is nothing to seal");
  }
  return sealText(key, text, webCrypto);
}

/**
 * The master's key, asked for once (`fetchAnswer`: provision.sealing_key) and kept after; a
 * failed fetch or import is not kept, so the next call asks again. The key lives as long as
 * the function (one dialog).
 * @param {() => Promise<unknown>} fetchAnswer
 * @param {Crypto} [webCrypto]
 * @returns {() => Promise<CryptoKey>}
 */
export function sealingKeyFor(fetchAnswer, webCrypto = globalThis.crypto) {
  /** @type {Promise<CryptoKey> | null} */
  let pending = null;
  return () => {
    if (!pending) {
      pending = fetchAnswer().then((answer) => importSealingKey(sealingKeyOf(answer), webCrypto));
      pending.catch(() => {
        pending = null;
      });
    }
    return pending;
  };
}

/**
 * A sealer that asks for the master's key once (`fetchAnswer`: provision.sealing_key) and
 * seals every text to it after; a failed fetch or import is not kept, so the next seal asks
 * again. The key lives as long as the sealer (one dialog).
 * @param {() => Promise<unknown>} fetchAnswer
 * @param {Crypto} [webCrypto]
 * @returns {(text: string) => Promise<string>}
 */
export function sealerFor(fetchAnswer, webCrypto = globalThis.crypto) {
  const keyOf = sealingKeyFor(fetchAnswer, webCrypto);
  return async (text) => seal(await keyOf(), text, webCrypto);
}
