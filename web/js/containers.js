// @ts-check
// Containers on the hypervisor hosts (docs/containers.md, issue 12): what the inventory says of
// each host's Docker engine and containers, what a row of the tables shows, the actions each
// state and role offers, the events that change a container in place, the local images across
// hosts. Pure data and functions, no DOM: slices/ hold the picture, components/ draw it, the
// node tests check it. The Run Container dialog's checks and arguments are container-run.js's.

import { formatBytes, naturalCompare, orDash } from "./format.js";
import { errorInfo } from "./landscape.js";
import { mayRun } from "./perms.js";

/**
 * @typedef {{state: "up" | "down" | "none", version: string | null, message: string | null}} Engine
 * @typedef {{host_port: number, container_port: number, protocol: string, bind: string}} PortMapping
 * @typedef {object} Container   a container dict (docs/containers.md, Shapes)
 * @property {string} name
 * @property {string} [id]
 * @property {string} [image]
 * @property {string} [state]
 * @property {string} [status]
 * @property {PortMapping[]} [ports]
 * @property {number} [created]
 * @property {string} [restart]
 * @property {number | null} [exit_code]
 * @property {boolean} [managed]
 * @typedef {import("./landscape.js").ErrorInfo} ErrorInfo
 */

// ---- where the pages are ----

/** The cluster's containers page, or one host's. @param {string} [host] */
export function containersHref(host) {
  return host === undefined ? "#/containers" : `#/hosts/${encodeURIComponent(host)}/containers`;
}

/** May the user read the hosts' containers (containers.list: the link in the top bar and on the host cards)? @param {unknown} perms */
export function mayReadContainers(perms) {
  return mayRun(perms, "containers_list");
}

// ---- engines and containers as the inventory has them ----

/** Docker's container states as words, and the tone of their badge. */
const STATES = Object.freeze({
  created: { label: "Created", tone: "info" },
  running: { label: "Running", tone: "ok" },
  paused: { label: "Paused", tone: "warn" },
  restarting: { label: "Restarting", tone: "warn" },
  exited: { label: "Exited", tone: "off" },
  dead: { label: "Dead", tone: "danger" },
  removing: { label: "Removing", tone: "info" },
});

/** The states Docker names, in its order. */
export const CONTAINER_STATES = Object.freeze(Object.keys(STATES));

/**
 * {label, tone} of a container's state; an exited one says its exit code ("Exited (137)").
 * @param {string | undefined} state @param {number | null} [exitCode]
 */
export function containerState(state, exitCode = null) {
  const known = state && Object.hasOwn(STATES, state) ? STATES[/** @type {keyof typeof STATES} */ (state)] : null;
  const base = known ?? { label: state ? String(state) : "Unknown", tone: "off" };
  if (state === "exited" && typeof exitCode === "number") {
    return { label: `${base.label} (${exitCode})`, tone: base.tone };
  }
  return base;
}

/**
 * What one host's entry of the inventory says about its engine:
 *   unreachable  the host did not answer (error: its sentence)
 *   unknown      it answered without saying (a host whose Brine modules are older)
 *   none         no Docker socket at the configured address: the host has no engine
 *   down         there is one, but it does not answer (message: why)
 *   up           version
 * @param {any} host   an entry of cluster.inventory's hosts
 * @returns {{status: "unreachable" | "unknown" | "none" | "down" | "up", version: string | null, message: string | null}}
 */
export function engineOf(host) {
  if (!host?.reachable) {
    const error = typeof host?.error === "string" && host.error ? host.error : null;
    return { status: "unreachable", version: null, message: error };
  }
  const docker = host.docker;
  const state = docker && typeof docker === "object" ? docker.state : null;
  const version = typeof docker?.version === "string" && docker.version ? docker.version : null;
  const message = typeof docker?.message === "string" && docker.message ? docker.message : null;
  if (state === "up" || state === "down" || state === "none") {
    return { status: state, version, message };
  }
  return { status: "unknown", version: null, message: null };
}

/**
 * Why a host shows no containers, in words (null when its engine is up).
 * @param {string} host
 * @param {ReturnType<typeof engineOf>} engine
 */
export function engineSentence(host, engine) {
  switch (engine.status) {
    case "unreachable":
      return `${host} did not answer${engine.message ? `: ${engine.message.replace(/\.$/, "")}` : ""}.`;
    case "none":
      return `${host} has no Docker engine.`;
    case "down":
      return `${host}'s Docker engine does not answer${engine.message ? `: ${engine.message.replace(/\.$/, "")}` : ""}.`;
    case "unknown":
      return `${host} did not say whether it runs Docker (its Brine modules may be older than the master's).`;
    default:
      return null;
  }
}

/** @param {unknown} list @returns {Container[]} */
const containerList = (list) =>
  (Array.isArray(list) ? list : [])
    .filter((item) => item && typeof item === "object" && typeof item.name === "string")
    .sort((a, b) => naturalCompare(a.name, b.name));

/**
 * What the page of one host shows:
 *   loading      the inventory is not read yet
 *   missing      the master knows no host of that name
 *   unreachable, unknown, none, down   no table: engineSentence says why
 *   up           its containers (by name) and its engine
 * @param {any} inventory
 * @param {string} host
 */
export function hostContainers(inventory, host) {
  if (!inventory) {
    return { status: "loading", engine: null, containers: [] };
  }
  const entry = (inventory.hosts ?? []).find((/** @type {any} */ candidate) => candidate?.name === host);
  if (!entry) {
    return { status: "missing", engine: null, containers: [] };
  }
  const engine = engineOf(entry);
  return { status: engine.status, engine, containers: engine.status === "up" ? containerList(entry.containers).map((item) => ({ ...item, host })) : [] };
}

/**
 * Every container of every host whose engine is up, each with its `host`, by name then host;
 * and a note for each host that shows none because of its engine (or its silence).
 * @param {any} inventory
 */
export function clusterContainers(inventory) {
  /** @type {(Container & {host: string})[]} */
  const containers = [];
  /** @type {{host: string, status: string, sentence: string}[]} */
  const notes = [];
  const hosts = [...(inventory?.hosts ?? [])].sort((a, b) => naturalCompare(String(a?.name), String(b?.name)));
  for (const host of hosts) {
    const engine = engineOf(host);
    if (engine.status === "up") {
      for (const container of containerList(host.containers)) {
        containers.push({ ...container, host: host.name });
      }
    } else {
      notes.push({ host: host.name, status: engine.status, sentence: /** @type {string} */ (engineSentence(host.name, engine)) });
    }
  }
  containers.sort((a, b) => naturalCompare(a.name, b.name) || naturalCompare(a.host, b.host));
  return { containers, notes, hostsUp: hosts.filter((host) => engineOf(host).status === "up").map((host) => String(host.name)) };
}

/**
 * The hosts a container can be run on: reachable, with their engine up, by name.
 * @param {any} inventory
 * @returns {string[]}
 */
export function runHosts(inventory) {
  return (inventory?.hosts ?? [])
    .filter((/** @type {any} */ host) => engineOf(host).status === "up")
    .map((/** @type {any} */ host) => String(host.name))
    .sort(naturalCompare);
}

/** "0.0.0.0" and "::" bind every address: not worth saying. @param {unknown} bind */
const bindsAll = (bind) => bind === undefined || bind === null || bind === "" || bind === "0.0.0.0" || bind === "::";

/**
 * One published port as people read it: "8080→80/tcp", "127.0.0.1:8080→80/tcp",
 * "[::1]:8080→80/udp" (the address only when it is not every address).
 * @param {Partial<PortMapping>} port
 */
export function formatPortMapping(port) {
  const bind = bindsAll(port?.bind) ? "" : String(port?.bind).includes(":") ? `[${port?.bind}]:` : `${port?.bind}:`;
  return `${bind}${port?.host_port ?? "?"}→${port?.container_port ?? "?"}/${port?.protocol ?? "tcp"}`;
}

/**
 * How long ago an epoch time was, from now (both unix seconds): "just now", "42 s ago",
 * "5 min ago", "3 h ago", "2 d ago"; a dash when unknown.
 * @param {unknown} then @param {number} now
 */
export function formatAgo(then, now) {
  if (then === null || then === undefined || then === "" || !Number.isFinite(Number(then))) {
    return "—";
  }
  const seconds = Math.floor(now - Number(then));
  if (seconds < 5) {
    return "just now";
  }
  if (seconds < 60) {
    return `${seconds} s ago`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ago`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    return `${hours} h ago`;
  }
  return `${Math.floor(hours / 24)} d ago`;
}

/** Unix seconds as a full local date and time (a title). @param {unknown} then */
function fullDate(then) {
  const date = new Date(Number(then) * 1000);
  return Number.isFinite(Number(then)) && !Number.isNaN(date.getTime()) ? date.toLocaleString() : "";
}

/**
 * A container as its row shows it.
 * @param {Container & {host?: string}} container
 * @param {number} now   unix seconds
 */
export function containerRow(container, now) {
  const state = typeof container.state === "string" ? container.state : "unknown";
  return {
    name: String(container.name),
    host: typeof container.host === "string" ? container.host : "",
    id: typeof container.id === "string" ? container.id : "",
    image: orDash(container.image),
    state,
    stateInfo: containerState(state, container.exit_code ?? null),
    status: typeof container.status === "string" ? container.status : "",
    ports: (Array.isArray(container.ports) ? container.ports : []).filter((port) => port && typeof port === "object").map(formatPortMapping),
    created: formatAgo(container.created, now),
    createdAt: fullDate(container.created),
    restart: typeof container.restart === "string" && container.restart !== "no" ? container.restart : "",
    managed: container.managed === true,
  };
}

// ---- actions ----

/**
 * @typedef {object} ContainerAction
 * @property {string} id          the declared runner call (calls.js)
 * @property {string} verb        "start", ..., "logs", "remove" (data-action, test ids)
 * @property {string} label
 * @property {string} busyLabel
 * @property {string} done        "started", ...
 * @property {readonly string[]} enabledIn   the states where it applies
 * @property {string} needs       those states as words
 * @property {boolean} [danger]
 * @property {boolean} [dialog]   it opens a dialog (Logs, Remove's confirmation)
 */

/** @type {readonly Readonly<ContainerAction>[]} */
export const CONTAINER_ACTIONS = Object.freeze(
  /** @type {ContainerAction[]} */ ([
    { id: "container_start", verb: "start", label: "Start", busyLabel: "Starting…", done: "started", enabledIn: ["created", "exited"], needs: "created or exited" },
    // A container in a restart loop must be stoppable too.
    { id: "container_stop", verb: "stop", label: "Stop", busyLabel: "Stopping…", done: "stopped", enabledIn: ["running", "restarting"], needs: "running" },
    { id: "container_restart", verb: "restart", label: "Restart", busyLabel: "Restarting…", done: "restarted", enabledIn: ["running"], needs: "running" },
    { id: "container_pause", verb: "pause", label: "Pause", busyLabel: "Pausing…", done: "paused", enabledIn: ["running"], needs: "running" },
    { id: "container_unpause", verb: "unpause", label: "Unpause", busyLabel: "Unpausing…", done: "unpaused", enabledIn: ["paused"], needs: "paused" },
    { id: "container_logs", verb: "logs", label: "Logs", busyLabel: "Logs", done: "read", enabledIn: CONTAINER_STATES.filter((state) => state !== "removing"), needs: "not being removed", dialog: true },
    {
      id: "container_remove",
      verb: "remove",
      label: "Remove",
      busyLabel: "Removing…",
      done: "removed",
      enabledIn: CONTAINER_STATES.filter((state) => state !== "removing"),
      needs: "not being removed already",
      danger: true,
      dialog: true,
    },
  ]).map((action) => Object.freeze({ ...action, enabledIn: Object.freeze([...action.enabledIn]) })),
);

/** The states in which Remove has to stop the container first (force). */
export const ACTIVE_STATES = Object.freeze(["running", "paused", "restarting"]);

/**
 * The actions the user's role offers for one container (Salt's ACL sees host and name); a
 * viewer gets none, an operator all but Remove, an admin all.
 * @param {unknown} perms @param {string} host @param {string} name
 */
export function offeredContainerActions(perms, host, name) {
  return CONTAINER_ACTIONS.filter((action) => mayRun(perms, action.id, { host, name }));
}

/**
 * The buttons a row shows: the offered actions that apply in its state (Logs and Remove in
 * every state but "removing").
 * @param {unknown} perms @param {{host: string, name: string, state: string}} row
 */
export function rowActions(perms, row) {
  return offeredContainerActions(perms, row.host, row.name).filter((action) => action.enabledIn.includes(row.state));
}

/** The key of one container's action under way (the containerBusy slice). @param {string} host @param {string} name */
export const containerKey = (host, name) => `${host}/${name}`;

/** "container web1 on hv2" @param {string} host @param {string} name */
export const containerPhrase = (host, name) => `container ${name} on ${host}`;

/**
 * Remove's question, and whether it forces (a container that runs is stopped at once).
 * @param {string} host @param {string} name @param {string} state
 */
export function removeQuestion(host, name, state) {
  const force = ACTIVE_STATES.includes(state);
  return {
    title: `Remove container ${name} on ${host}?`,
    body: force
      ? `${name} is ${state}: Docker stops it at once (no clean shutdown) and removes it with everything written inside it. Its image stays on ${host}.`
      : `This removes ${name} with everything written inside it. Its image stays on ${host}.`,
    confirmLabel: force ? "Stop and remove" : "Remove",
    force,
  };
}

/** How many of its last lines the Logs dialog can ask for (containers.logs' tail). */
export const LOG_TAILS = Object.freeze([50, 100, 500, 1000]);

// ---- events and answers: a container changed in place ----

/** @param {any} container */
const isContainer = (container) => Boolean(container) && typeof container === "object" && typeof container.name === "string";

/**
 * The cluster totals of containers from the hosts' lists (a running one is in state "running").
 * @param {any} inventory
 */
export function recountContainers(inventory) {
  let total = 0;
  let running = 0;
  for (const host of inventory.hosts ?? []) {
    if (host?.reachable && Array.isArray(host.containers)) {
      total += host.containers.length;
      running += host.containers.filter((/** @type {any} */ c) => c?.state === "running").length;
    }
  }
  return { ...inventory, totals: { ...(inventory.totals ?? {}), containers_total: total, containers_running: running } };
}

/**
 * One host's list with `change` applied; the same inventory when nothing changes (an unknown or
 * unreachable host, a container it does not have).
 * @param {any} inventory
 * @param {string} host
 * @param {(list: any[]) => any[] | null} change   null: nothing to do
 */
function changeHost(inventory, host, change) {
  if (!inventory || !Array.isArray(inventory.hosts)) {
    return inventory;
  }
  const index = inventory.hosts.findIndex((/** @type {any} */ entry) => entry?.name === host);
  if (index === -1 || !inventory.hosts[index].reachable) {
    return inventory; // not a host we show; the next full refresh decides
  }
  const entry = inventory.hosts[index];
  const list = change(Array.isArray(entry.containers) ? entry.containers : []);
  if (list === null) {
    return inventory;
  }
  const hosts = [...inventory.hosts];
  hosts[index] = { ...entry, containers: list };
  return recountContainers({ ...inventory, hosts });
}

/**
 * A container's new dict in its host's list: it replaces the one with the same id (a renamed
 * container keeps its id) or name, else it is added.
 * @param {any} inventory @param {string} host @param {Container} container
 */
export function upsertContainer(inventory, host, container) {
  if (!isContainer(container)) {
    return inventory;
  }
  return changeHost(inventory, host, (list) => {
    // As cluster.inventory has it: the container dict with its host, not the run's extras.
    const { pulled: _pulled, placed: _placed, logs: _logs, ...rest } = /** @type {any} */ (container);
    const dict = { ...rest, host };
    const same = (/** @type {any} */ other) => (dict.id && other?.id === dict.id) || other?.name === dict.name;
    return [...list.filter((other) => !same(other)), dict].sort((a, b) => naturalCompare(String(a.name), String(b.name)));
  });
}

/** A container gone from its host's list. @param {any} inventory @param {string} host @param {string} name */
export function removeContainer(inventory, host, name) {
  return changeHost(inventory, host, (list) => (list.some((other) => other?.name === name) ? list.filter((other) => other?.name !== name) : null));
}

/**
 * Apply one brine/container/<host>/<name>/state event: its `container` dict upserts the row,
 * `container: null` (removed) removes it. No refetch: the event carries the container.
 * @param {any} inventory
 * @param {{host: string, container: string}} about   classifyTag's
 * @param {any} data   {host, name, event, container}
 */
export function applyContainerEvent(inventory, about, data) {
  const host = typeof data?.host === "string" ? data.host : about.host;
  const name = typeof data?.name === "string" ? data.name : about.container;
  if (isContainer(data?.container)) {
    return upsertContainer(inventory, host, data.container);
  }
  if (data?.container === null || data?.event === "removed") {
    return removeContainer(inventory, host, name);
  }
  return inventory; // no dict to show: the next refresh says
}

/**
 * The inventory's reducer for what the app learns itself (an action's answer):
 *   container          {host, container}: its new dict
 *   container-removed  {host, name}
 * @param {any} inventory
 * @param {{type: string} & Record<string, any>} action
 */
export function reduceInventoryContainers(inventory, action) {
  if (action.type === "container") {
    return upsertContainer(inventory, action.host, action.container);
  }
  if (action.type === "container-removed") {
    return removeContainer(inventory, action.host, action.name);
  }
  return inventory;
}

/** The keys of the inventory that only containers change. */
const CONTAINER_KEYS = { host: ["docker", "containers"], totals: ["containers_total", "containers_running"] };

/**
 * Do two objects differ only in `ignored` keys (compared by identity)?
 * @param {any} a @param {any} b @param {string[]} ignored
 */
function sameBut(a, b, ignored) {
  if (a === b) {
    return true;
  }
  if (!a || !b || typeof a !== "object" || typeof b !== "object") {
    return false;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => ignored.includes(key) || a[key] === b[key]);
}

/**
 * Is `after` the inventory `before` with only containers changed (an event or an action's answer
 * about a container)? A view that shows no containers (the overview's host cards, drop targets
 * of a drag under way) need not draw again then.
 * @param {any} before @param {any} after
 */
export function onlyContainersChanged(before, after) {
  if (before === after) {
    return true;
  }
  if (!before || !after || !Array.isArray(before.hosts) || !Array.isArray(after.hosts) || before.hosts.length !== after.hosts.length) {
    return false;
  }
  return (
    sameBut(before, after, ["hosts", "totals"]) &&
    sameBut(before.totals, after.totals, CONTAINER_KEYS.totals) &&
    before.hosts.every((host, i) => sameBut(host, after.hosts[i], CONTAINER_KEYS.host))
  );
}

// ---- local images across hosts ----

/**
 * containers.images' answer as the Local images table shows it: images by reference, each with
 * its hosts (by name); the hosts that did not answer, with why.
 * @param {any} answer   {images: [image dict + hosts], hosts: [{host, answered, error}]}
 */
export function imagesPicture(answer) {
  const images = (Array.isArray(answer?.images) ? answer.images : [])
    .filter((/** @type {any} */ image) => image && typeof image === "object" && typeof image.id === "string")
    .map((/** @type {any} */ image) => {
      const tags = Array.isArray(image.tags) ? image.tags.filter((/** @type {unknown} */ tag) => typeof tag === "string") : [];
      const ref = typeof image.ref === "string" && image.ref ? image.ref : (tags[0] ?? "<none>");
      return Object.freeze({
        id: image.id,
        ref,
        tags: Object.freeze(tags),
        created: image.created ?? null,
        size: image.size ?? null,
        hosts: Object.freeze((Array.isArray(image.hosts) ? image.hosts.filter((/** @type {unknown} */ host) => typeof host === "string") : []).sort(naturalCompare)),
      });
    })
    .sort((/** @type {any} */ a, /** @type {any} */ b) => naturalCompare(a.ref, b.ref) || naturalCompare(a.id, b.id));
  const hosts = (Array.isArray(answer?.hosts) ? answer.hosts : [])
    .filter((/** @type {any} */ entry) => entry && typeof entry.host === "string")
    .map((/** @type {any} */ entry) =>
      Object.freeze({ host: entry.host, answered: entry.answered === true, error: entry.answered === true ? null : errorInfo(entry.error ?? "The host did not answer.") }),
    )
    .sort((/** @type {any} */ a, /** @type {any} */ b) => naturalCompare(a.host, b.host));
  return Object.freeze({ images: Object.freeze(images), hosts: Object.freeze(hosts) });
}

/**
 * An image as its row shows it.
 * @param {ReturnType<typeof imagesPicture>["images"][number]} image
 * @param {number} now  unix seconds
 */
export function imageRow(image, now) {
  return {
    id: image.id,
    ref: image.ref,
    otherTags: image.tags.filter((tag) => tag !== image.ref),
    created: formatAgo(image.created, now),
    createdAt: fullDate(image.created),
    size: formatBytes(image.size),
    hosts: [...image.hosts],
  };
}

/**
 * The references the Run dialog suggests: local images across hosts and the registry's, once
 * each, by name.
 * @param {any} images    imagesPicture's images (or null)
 * @param {any} registry  containers.registry's answer (or null)
 * @returns {string[]}
 */
export function imageSuggestions(images, registry) {
  const refs = new Set();
  for (const image of images ?? []) {
    for (const tag of image?.tags ?? []) {
      if (typeof tag === "string" && tag !== "<none>") {
        refs.add(tag);
      }
    }
  }
  for (const entry of Array.isArray(registry?.images) ? registry.images : []) {
    if (typeof entry?.ref === "string" && entry.ref) {
      refs.add(entry.ref);
    }
  }
  return [...refs].sort(naturalCompare);
}
