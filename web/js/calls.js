// @ts-check
// Every runner function the app calls, declared once: the Salt function, the keyword
// arguments it is sent (built from the app's arguments), and the lifecycle action it backs.
// The API layer (api.js) sends exactly these, the permission check (perms.js mayRun) asks
// Salt's ACL about exactly these, and the action buttons (actions.js) find their call here.
// A new runner call is one entry here (and, for a button, one in actions.js).

/**
 * @typedef {Record<string, unknown>} Kwargs
 * @typedef {{name?: string, target?: string, removeDisks?: boolean, options?: Record<string, unknown>,
 *   binding?: string, publicKey?: string, kind?: string, fields?: Record<string, unknown>, host?: string,
 *   test?: boolean, tail?: number, force?: boolean}} CallArgs
 * @typedef {object} CallSpec
 * @property {string} fun           the runner function, "module.function"
 * @property {"runner"} client      the netapi client it goes through (and Salt's ACL checks)
 * @property {(args: CallArgs) => Kwargs | undefined} kwargs   what is sent (undefined: none)
 * @property {string | null} action the lifecycle action id it backs (actions.js), or null
 */

/** @param {CallArgs} args */
const byName = ({ name }) => ({ name });

/** The entries whose value is not undefined (an argument not given is not sent). @param {Kwargs} kwargs */
const given = (kwargs) => Object.fromEntries(Object.entries(kwargs).filter(([, value]) => value !== undefined));

/** One host's, or (without a host) every host's. @param {CallArgs} args */
const byHost = ({ host }) => (host === undefined ? undefined : { host });

/** One object (a network, a pool) on one host. @param {CallArgs} args */
const onHost = ({ host, name }) => given({ host, name });

/**
 * The arguments provision.create takes besides name and test (docs/provisioning.md): exactly
 * these are sent, so nothing else the dialog holds (a typed password above all) can slip in.
 * The root password's hash goes only sealed to the Salt master (password_hash_sealed, seal.js):
 * a runner's arguments are on the event bus and in the job cache, so password_hash is never sent.
 */
export const CREATE_PARTS = Object.freeze([
  "host_group",
  "profile",
  "memory",
  "vcpus",
  "disk",
  "os_tree",
  "activation_key",
  "network",
  "pool",
  "host",
  "password_hash_sealed",
  "ssh_key",
]);

/** RSA-OAEP ciphertext in base64: what password_hash_sealed is (a crypt hash, "$6$...", is not). */
const SEALED_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * provision.create's kwargs: the name, the parts given (unset ones, undefined, null or "", are
 * left out: the host group's or the runner's defaults apply), keep_failed and test. Throws when
 * password_hash_sealed is not base64 (a hash put there unsealed is a bug, and is not sent).
 * @param {CallArgs} args
 */
function createKwargs({ name, options = {}, test = false }) {
  /** @type {Kwargs} */
  const kwarg = given({ name });
  for (const part of CREATE_PARTS) {
    const value = options[part];
    if (value !== undefined && value !== null && value !== "") {
      kwarg[part] = value;
    }
  }
  if ("password_hash_sealed" in kwarg && !(typeof kwarg.password_hash_sealed === "string" && SEALED_RE.test(kwarg.password_hash_sealed))) {
    throw new Error("password_hash_sealed must be the sealed hash (base64), never the hash itself.");
  }
  kwarg.keep_failed = options.keep_failed === true;
  kwarg.test = test === true;
  return kwarg;
}

/**
 * The arguments containers.run takes (docs/containers.md): exactly these are sent. The browser
 * never sends `environment` (plain values): every value goes sealed to the Salt master in
 * secret_environment ({NAME: base64 RSA-OAEP}, seal.js), because a runner's arguments are on
 * the event bus and in the job cache.
 */
export const RUN_PARTS = Object.freeze(["image", "name", "host", "ports", "secret_environment", "restart", "detach", "timeout"]);

/**
 * containers.run's kwargs: the parts given (undefined, null or "" are left out). Throws when
 * an environment value is not sealed (base64) or `environment` is given at all: a plain value
 * put there is a bug, and is not sent.
 * @param {CallArgs} args
 */
function runKwargs({ options = {} }) {
  if (options.environment !== undefined && options.environment !== null) {
    throw new Error("the browser sends environment values only sealed (secret_environment), never in clear.");
  }
  /** @type {Kwargs} */
  const kwarg = {};
  for (const part of RUN_PARTS) {
    const value = options[part];
    if (value !== undefined && value !== null && value !== "") {
      kwarg[part] = value;
    }
  }
  const secrets = kwarg.secret_environment;
  if (secrets !== undefined) {
    const values = secrets && typeof secrets === "object" && !Array.isArray(secrets) ? Object.values(secrets) : [null];
    if (!values.every((value) => typeof value === "string" && SEALED_RE.test(value))) {
      throw new Error("secret_environment must hold sealed values (base64), never the values themselves.");
    }
  }
  return kwarg;
}

/** @type {Readonly<Record<string, Readonly<CallSpec>>>} */
export const CALLS = Object.freeze({
  inventory: { fun: "cluster.inventory", client: "runner", kwargs: () => undefined, action: null },
  start: { fun: "cluster.start", client: "runner", kwargs: byName, action: "start" },
  shutdown: { fun: "cluster.shutdown", client: "runner", kwargs: byName, action: "shutdown" },
  reboot: { fun: "cluster.reboot", client: "runner", kwargs: byName, action: "reboot" },
  pause: { fun: "cluster.pause", client: "runner", kwargs: byName, action: "pause" },
  resume: { fun: "cluster.resume", client: "runner", kwargs: byName, action: "resume" },
  force_off: { fun: "cluster.force_off", client: "runner", kwargs: byName, action: "force_off" },
  delete: {
    fun: "cluster.delete",
    client: "runner",
    kwargs: ({ name, removeDisks = false }) => ({ name, remove_disks: Boolean(removeDisks) }),
    action: "delete",
  },
  migration_targets: { fun: "cluster.migration_targets", client: "runner", kwargs: byName, action: null },
  migrate: {
    fun: "cluster.migrate",
    client: "runner",
    // Options left unset (undefined, null, "") are omitted: the runner's defaults apply.
    kwargs: ({ name, target, options = {} }) => {
      /** @type {Kwargs} */
      const kwarg = { name, target };
      for (const [key, value] of Object.entries(options)) {
        if (value !== undefined && value !== null && value !== "") {
          kwarg[key] = value;
        }
      }
      return kwarg;
    },
    action: null,
  },
  migration_abort: { fun: "cluster.migration_abort", client: "runner", kwargs: byName, action: null },
  // binding: SHA-256 of the browser's console secret; public_key: its RSA-OAEP key (console-crypto.js).
  console: {
    fun: "cluster.console",
    client: "runner",
    kwargs: ({ name, binding, publicKey }) => ({
      name,
      ...(binding === undefined ? {} : { binding }),
      ...(publicKey === undefined ? {} : { public_key: publicKey }),
    }),
    action: null,
  },
  // Provisioning (docs/provisioning.md, Runner provision): the catalog, creates, installs.
  catalog: {
    fun: "provision.catalog",
    client: "runner",
    kwargs: ({ kind }) => (kind === undefined ? undefined : { kind }),
    action: null,
  },
  // Whole fields (the runner replaces the entry); kind and name come last so no field can change them.
  catalog_set: {
    fun: "provision.catalog_set",
    client: "runner",
    kwargs: ({ kind, name, fields = {} }) => given({ ...fields, kind, name }),
    action: null,
  },
  catalog_delete: {
    fun: "provision.catalog_delete",
    client: "runner",
    kwargs: ({ kind, name }) => given({ kind, name }),
    action: null,
  },
  kickstarts: { fun: "provision.kickstarts", client: "runner", kwargs: () => undefined, action: null },
  // The Salt master's public key ({key: SPKI DER base64, algorithm: "RSA-OAEP-256"}) that the
  // password's hash is sealed to before create (seal.js).
  sealing_key: { fun: "provision.sealing_key", client: "runner", kwargs: () => undefined, action: null },
  create: { fun: "provision.create", client: "runner", kwargs: createKwargs, action: null },
  installs: { fun: "provision.installs", client: "runner", kwargs: () => undefined, action: null },
  dismiss: {
    fun: "provision.dismiss",
    client: "runner",
    kwargs: ({ name, host }) => given({ name, host }),
    action: null,
  },
  // The landscape (docs/landscape.md, "What the hosts have"): every host's libvirt networks and storage
  // pools (one host with `host`), and the admins' start, stop and refresh of one on its host.
  landscape_networks: { fun: "landscape.networks", client: "runner", kwargs: byHost, action: null },
  landscape_pools: { fun: "landscape.pools", client: "runner", kwargs: byHost, action: null },
  network_start: { fun: "landscape.network_start", client: "runner", kwargs: onHost, action: null },
  network_stop: { fun: "landscape.network_stop", client: "runner", kwargs: onHost, action: null },
  pool_start: { fun: "landscape.pool_start", client: "runner", kwargs: onHost, action: null },
  pool_stop: { fun: "landscape.pool_stop", client: "runner", kwargs: onHost, action: null },
  pool_refresh: { fun: "landscape.pool_refresh", client: "runner", kwargs: onHost, action: null },
  // Containers on the hosts (docs/containers.md): the reads (viewers), run and the lifecycle of
  // one container on its host (operators), remove (admins).
  containers_list: { fun: "containers.list", client: "runner", kwargs: byHost, action: null },
  container_images: { fun: "containers.images", client: "runner", kwargs: byHost, action: null },
  container_registry: { fun: "containers.registry", client: "runner", kwargs: () => undefined, action: null },
  container_run: { fun: "containers.run", client: "runner", kwargs: runKwargs, action: null },
  container_start: { fun: "containers.start", client: "runner", kwargs: onHost, action: null },
  container_stop: { fun: "containers.stop", client: "runner", kwargs: onHost, action: null },
  container_restart: { fun: "containers.restart", client: "runner", kwargs: onHost, action: null },
  container_pause: { fun: "containers.pause", client: "runner", kwargs: onHost, action: null },
  container_unpause: { fun: "containers.unpause", client: "runner", kwargs: onHost, action: null },
  container_logs: {
    fun: "containers.logs",
    client: "runner",
    kwargs: ({ host, name, tail }) => given({ host, name, tail }),
    action: null,
  },
  container_remove: {
    fun: "containers.remove",
    client: "runner",
    kwargs: ({ host, name, force }) => given({ host, name, force: force === true ? true : undefined }),
    action: null,
  },
});

/**
 * The declaration of call `id`; throws for an undeclared one (a typo is a bug, not a no-op).
 * @param {string} id
 * @returns {Readonly<CallSpec>}
 */
export function callSpec(id) {
  if (!Object.hasOwn(CALLS, id)) {
    throw new Error(`No runner call "${id}" is declared in calls.js.`);
  }
  return CALLS[id];
}
