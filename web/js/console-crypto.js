// @ts-check
// The browser's half of a console request (docs/api.md, Consoles), with WebCrypto only.
//
// Per request the browser makes
// - a random secret (32 bytes, base64url) it keeps, and sends only its SHA-256 (hex, of the
//   secret's ASCII text) as `binding`; websockify wants the secret itself, so a console token
//   read anywhere else (an event, a job return) opens nothing;
// - an RSA-OAEP key pair (2048 bits, SHA-256) whose private key cannot be exported: the
//   public key (SPKI DER, base64) goes with the request, the VM's host encrypts the VNC
//   password to it, and only this page can decrypt it.

const RSA_OAEP = { name: "RSA-OAEP", hash: "SHA-256" };

/** @param {Uint8Array} bytes */
export function toBase64(bytes) {
  let text = "";
  for (const byte of bytes) {
    text += String.fromCharCode(byte);
  }
  return btoa(text);
}

/** @param {Uint8Array} bytes base64url without padding */
export function toBase64Url(bytes) {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** @param {string} text @returns {Uint8Array<ArrayBuffer>} */
export function fromBase64(text) {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

/** @param {ArrayBuffer} buffer */
function toHex(buffer) {
  return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * The SHA-256 (hex) of a secret's ASCII text: what the runner's `binding` is.
 * @param {string} secret
 * @param {Crypto} [webCrypto]
 */
export async function bindingOf(secret, webCrypto = globalThis.crypto) {
  return toHex(await webCrypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)));
}

/**
 * @typedef {object} ConsoleKeys
 * @property {string} secret      stays in the page; goes only to websockify, in the socket's URL
 * @property {string} binding     SHA-256 hex of the secret, sent with cluster.console
 * @property {string} publicKey   SPKI DER in base64, sent with cluster.console
 * @property {CryptoKey} privateKey  non-extractable; decrypts password_encrypted
 */

/**
 * A fresh secret and key pair for one console request.
 * @param {Crypto} [webCrypto]
 * @returns {Promise<ConsoleKeys>}
 */
export async function consoleKeys(webCrypto = globalThis.crypto) {
  const secret = toBase64Url(webCrypto.getRandomValues(new Uint8Array(32)));
  const pair = await webCrypto.subtle.generateKey(
    { ...RSA_OAEP, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    false,
    ["encrypt", "decrypt"],
  );
  const spki = await webCrypto.subtle.exportKey("spki", pair.publicKey);
  return {
    secret,
    binding: await bindingOf(secret, webCrypto),
    publicKey: toBase64(new Uint8Array(spki)),
    privateKey: pair.privateKey,
  };
}

/**
 * The VNC password from the runner's `password_encrypted` (base64 RSA-OAEP).
 * @param {CryptoKey} privateKey
 * @param {string} ciphertext
 * @param {Crypto} [webCrypto]
 */
export async function decryptPassword(privateKey, ciphertext, webCrypto = globalThis.crypto) {
  if (typeof ciphertext !== "string" || !ciphertext) {
    throw new Error("the console ticket carries no encrypted password");
  }
  const plain = await webCrypto.subtle.decrypt(RSA_OAEP, privateKey, fromBase64(ciphertext));
  return new TextDecoder().decode(plain);
}

/**
 * What the host does, in the browser's terms (for tests and tools): `text` encrypted to a
 * public key given as SPKI DER in base64.
 * @param {string} publicKey
 * @param {string} text
 * @param {Crypto} [webCrypto]
 */
export async function encryptFor(publicKey, text, webCrypto = globalThis.crypto) {
  const key = await webCrypto.subtle.importKey("spki", fromBase64(publicKey), RSA_OAEP, false, ["encrypt"]);
  return toBase64(new Uint8Array(await webCrypto.subtle.encrypt(RSA_OAEP, key, new TextEncoder().encode(text))));
}
