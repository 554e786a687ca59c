// @ts-check
// The Create VM dialog's logic (docs/provisioning.md, provision.create): a host group's parts
// as the form's defaults (as Minisat filled them in), the form's values to provision.create's
// arguments (only the parts that differ from the group's are sent: they override it), the
// checks the browser makes first, and the plan as the dialog shows it. Pure, no DOM.
//
// The root password is typed here and hashed here (sha512crypt.js), and the hash sealed to the
// Salt master (seal.js): createRequest hands the plaintext back separately from the arguments,
// and only the sealed hash (password_hash_sealed) is ever put in them.

import { nameProblem, SIZES, sizeLimit, wholeNumber } from "./catalog.js";

/**
 * The profile select's value for "my own sizes": no profile can be named so (a name starts
 * with a letter or digit).
 */
export const CUSTOM_SIZE = "_custom";

/**
 * @typedef {object} CreateValues  the form's values (strings as the inputs hold them)
 * @property {string} name
 * @property {string} host_group      "" for none
 * @property {string} profile         a profile's name, CUSTOM_SIZE, or "" (none chosen)
 * @property {string} memory          MiB (used with CUSTOM_SIZE)
 * @property {string} vcpus
 * @property {string} disk            GiB
 * @property {string} os_tree
 * @property {string} activation_key  "" for none (or the group's)
 * @property {string} network
 * @property {string} pool
 * @property {string} host            "" for the default placement (the group's, or any host with room)
 * @property {string} password
 * @property {string} password_confirm
 * @property {string} ssh_key
 * @property {boolean} keep_failed
 */

/** The parts a host group gives and the form lets the user override. */
export const PARTS = Object.freeze(["profile", "memory", "vcpus", "disk", "os_tree", "activation_key", "network", "pool", "host"]);

/**
 * The form's fields as a refusal may name them (field-errors.js): the form's names, with
 * provision.create's argument names where they differ (password_hash_sealed, and the hash it
 * seals, password_hash, are the password field).
 * @type {readonly import("./field-errors.js").NamedField[]}
 */
export const CREATE_FIELDS = Object.freeze([
  { name: "name" },
  { name: "host_group", aliases: ["host group"] },
  { name: "profile" },
  { name: "memory" },
  { name: "vcpus", aliases: ["vCPUs"] },
  { name: "disk" },
  { name: "os_tree", aliases: ["OS tree"] },
  { name: "activation_key", aliases: ["activation key"] },
  { name: "network" },
  { name: "pool", aliases: ["storage pool"] },
  { name: "host" },
  { name: "password", aliases: ["password_hash_sealed", "password_hash", "root password"] },
  { name: "ssh_key", aliases: ["SSH key"] },
]);

/** Codes that are always about one field of the form. */
export const CREATE_ERROR_FIELDS = Object.freeze({ vm_exists: "name", no_room: "host", no_host: "host" });

/** An empty form. @returns {CreateValues} */
export function emptyValues() {
  return {
    name: "",
    host_group: "",
    profile: "",
    memory: "",
    vcpus: "",
    disk: "",
    os_tree: "",
    activation_key: "",
    network: "",
    pool: "",
    host: "",
    password: "",
    password_confirm: "",
    ssh_key: "",
    keep_failed: false,
  };
}

/** @param {unknown} value */
const text = (value) => (value === null || value === undefined ? "" : String(value));

/**
 * A host group's parts as the form's values (null for no group or one not in the catalog):
 * its profile and that profile's sizes, OS tree, key, network, pool, and a host when its
 * placement is one host.
 * @param {any} catalog  {kind: {name: fields}}
 * @param {string} groupName
 * @returns {Record<string, string> | null}
 */
export function groupDefaults(catalog, groupName) {
  const group = groupName ? catalog?.host_groups?.[groupName] : null;
  if (!group || typeof group !== "object") {
    return null;
  }
  const sizes = catalog?.profiles?.[group.profile] ?? {};
  return {
    profile: text(group.profile),
    memory: text(sizes.memory),
    vcpus: text(sizes.vcpus),
    disk: text(sizes.disk),
    os_tree: text(group.os_tree),
    activation_key: text(group.activation_key),
    network: text(group.network),
    pool: text(group.pool),
    host: group.placement?.kind === "host" ? text(group.placement.value) : "",
  };
}

/**
 * The form after choosing a host group: every part the user has not changed takes the group's
 * value (no group: they keep theirs, now the user's own choices).
 * @param {CreateValues} values
 * @param {any} catalog
 * @param {ReadonlySet<string>} touched  the parts the user changed
 * @returns {CreateValues}
 */
export function applyGroup(values, catalog, touched) {
  const defaults = groupDefaults(catalog, values.host_group);
  if (!defaults) {
    return values;
  }
  const next = { ...values };
  for (const part of PARTS) {
    const sizePart = part === "memory" || part === "vcpus" || part === "disk";
    // Sizes follow the profile unless the user chose their own.
    const mine = sizePart ? values.profile === CUSTOM_SIZE && touched.has("profile") : touched.has(part);
    if (!mine) {
      next[part] = defaults[part];
    }
  }
  return next;
}

/**
 * The sizes a profile gives, as the form shows them beside it.
 * @param {any} catalog @param {string} profile
 * @returns {{memory: string, vcpus: string, disk: string}}
 */
export function profileSizes(catalog, profile) {
  const sizes = catalog?.profiles?.[profile] ?? {};
  return { memory: text(sizes.memory), vcpus: text(sizes.vcpus), disk: text(sizes.disk) };
}

// One OpenSSH public key line: type, base64 blob, optional comment.
const SSH_KEY_RE =
  /^(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: [^\r\n]*)?$/;

/** Why `key` is not one OpenSSH public key line, or null. @param {string} key */
export function sshKeyProblem(key) {
  if (/[\r\n]/.test(key)) {
    return "Give one key, on one line.";
  }
  return SSH_KEY_RE.test(key) ? null : "Give one OpenSSH public key line: ssh-ed25519 AAAA… comment.";
}

/**
 * provision.create's arguments from the form (without test, and without the password, which
 * comes back apart to be hashed and sealed), or the problems to show at each field.
 *
 * With a host group only the parts that differ from it are sent; without one, os_tree,
 * network, pool and a profile (or memory, vcpus and disk) are needed.
 * @param {CreateValues} values
 * @param {any} catalog
 * @returns {{options: Record<string, unknown>, password: string | null} | {errors: Record<string, string>}}
 */
export function createRequest(values, catalog) {
  /** @type {Record<string, string>} */
  const errors = {};
  /** @type {Record<string, unknown>} */
  const options = {};
  const name = values.name.trim();
  const nameError = nameProblem(name);
  if (nameError) {
    errors.name = nameError.replace("A name", "The VM's name");
  }
  const group = groupDefaults(catalog, values.host_group);
  if (values.host_group && !group) {
    errors.host_group = `The host group ${values.host_group} is not in the catalog (any more).`;
  }
  if (group) {
    options.host_group = values.host_group;
  }
  /** A part: sent when it differs from the group's; needed without a group. @param {string} part @param {string} missing */
  const part = (part, missing) => {
    const value = String(values[part] ?? "").trim();
    if (value === "") {
      if (!group && missing) {
        errors[part] = missing;
      }
    } else if (!group || value !== group[part]) {
      options[part] = value;
    }
  };

  if (values.profile === CUSTOM_SIZE) {
    for (const size of /** @type {const} */ (["memory", "vcpus", "disk"])) {
      const number = wholeNumber(values[size], { min: SIZES[size].min, max: sizeLimit(size), unit: SIZES[size].unit });
      if ("error" in number) {
        errors[size] = number.error;
      } else {
        options[size] = number.value;
      }
    }
  } else {
    part("profile", "Choose a profile, or your own sizes.");
  }
  part("os_tree", "Choose an OS tree.");
  part("activation_key", "");
  part("network", "Give the network of the VM's NIC.");
  part("pool", "Give the storage pool of its disk.");
  part("host", "");

  const password = values.password;
  const sshKey = values.ssh_key.trim();
  if (password !== "" || values.password_confirm !== "") {
    if (password === "") {
      errors.password = "Type the password here too.";
    } else if (password !== values.password_confirm) {
      errors.password_confirm = "The two passwords differ.";
    }
  }
  if (sshKey !== "") {
    const problem = sshKeyProblem(sshKey);
    if (problem) {
      errors.ssh_key = problem;
    } else {
      options.ssh_key = sshKey;
    }
  }
  if (password === "" && sshKey === "" && !errors.password_confirm) {
    errors.password = "Give a root password or an SSH key (or both).";
  }
  options.keep_failed = values.keep_failed === true;

  if (Object.keys(errors).length > 0) {
    return { errors };
  }
  return { options: { name, ...options }, password: password === "" ? null : password };
}

/**
 * The arguments with the password's hash, sealed to the Salt master (seal.js), in them: the
 * only form of it that leaves the page. Never the hash itself: the arguments are on the
 * master's event bus and in its job cache.
 * @param {Record<string, unknown>} options
 * @param {string | null} sealedHash  base64 RSA-OAEP ciphertext, or null without a password
 * @returns {Record<string, unknown>}
 */
export function withSealedPassword(options, sealedHash) {
  return sealedHash ? { ...options, password_hash_sealed: sealedHash } : { ...options };
}

// A crypt hash ($1$, $5$, $6$, $y$, $2b$ ...): hidden wherever the plan shows text.
const CRYPT_HASH_RE = /\$(?:1|2[abxy]?|5|6|7|y|gy|sha1|md5)\$[^\s"']+/g;

/** `text` with any password hash in it replaced by <hidden> (the runner hides it already). @param {string} text */
export function hideSecrets(text) {
  return String(text ?? "").replace(CRYPT_HASH_RE, "<hidden>");
}

/**
 * @typedef {{host: string, fits: boolean, chosen: boolean, free_memory: number | null, problems: string[]}} PlanHost
 * @typedef {object} PlanView
 * @property {string} name
 * @property {string} host
 * @property {string} host_group      "" when none
 * @property {string} profile         "" for sizes given on their own
 * @property {number | null} memory   MiB
 * @property {number | null} vcpus
 * @property {number | null} disk     GiB
 * @property {string} os_tree
 * @property {string} os_variant
 * @property {string} url
 * @property {string} network
 * @property {string} pool
 * @property {string} volume
 * @property {{network: string, mac: string}[]} nics
 * @property {{name: string, url: string}[]} repositories
 * @property {PlanHost[]} hosts       the chosen host first, then those that fit, then the others
 * @property {string} kickstart       with any password hash hidden
 */

/** @param {unknown} value */
const numberOrNull = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);

/**
 * The plan provision.create returns, in the shape the dialog shows (missing parts empty).
 * @param {any} plan
 * @returns {PlanView}
 */
export function planView(plan) {
  const chosenHost = text(plan?.host ?? plan?.placement?.host);
  const hosts = (Array.isArray(plan?.placement?.hosts) ? plan.placement.hosts : []).map((entry) => ({
    host: text(entry?.host),
    fits: entry?.fits === true,
    chosen: text(entry?.host) === chosenHost,
    free_memory: numberOrNull(entry?.free_memory),
    problems: Array.isArray(entry?.problems) ? entry.problems.map(String) : [],
  }));
  const rank = (/** @type {PlanHost} */ entry) => (entry.chosen ? 0 : entry.fits ? 1 : 2);
  hosts.sort((a, b) => rank(a) - rank(b) || a.host.localeCompare(b.host));
  return {
    name: text(plan?.name),
    host: chosenHost,
    host_group: text(plan?.host_group),
    profile: text(plan?.profile),
    memory: numberOrNull(plan?.memory),
    vcpus: numberOrNull(plan?.vcpus),
    disk: numberOrNull(plan?.disk),
    os_tree: text(plan?.os_tree),
    os_variant: text(plan?.os_variant),
    url: text(plan?.url),
    network: text(plan?.network),
    pool: text(plan?.pool),
    volume: text(plan?.volume),
    nics: (Array.isArray(plan?.nics) ? plan.nics : []).map((nic) => ({ network: text(nic?.network), mac: text(nic?.mac) })),
    repositories: (Array.isArray(plan?.repositories) ? plan.repositories : []).map((repo) => ({
      name: text(repo?.name),
      url: text(repo?.url),
    })),
    hosts,
    kickstart: hideSecrets(text(plan?.kickstart)),
  };
}
