// @ts-check
// The landscape's libvirt networks and storage pools as the hosts have them (docs/landscape.md, "What
// the hosts have"): the runner's answers read per host, what a row of the tables shows, and the
// admins' start, stop and refresh. Pure data and functions, no DOM: slices/landscape.js holds the
// picture, components/landscape-tables.js draws it, the node tests check both.

import { formatBytes, naturalCompare, orDash, sentenceCase, usage } from "./format.js";
import { mayRun } from "./perms.js";

/**
 * @typedef {"networks" | "pools"} LandscapeKind
 * @typedef {{code: string | null, message: string}} ErrorInfo
 * @typedef {object} HostPart   one host's answer about one kind
 * @property {string} host
 * @property {boolean} answered
 * @property {ErrorInfo | null} error         why it did not answer (runner's error)
 * @property {readonly any[]} items           its networks or pools, by name
 * @property {number} seq                     the read it came from (newer reads win)
 * @property {ErrorInfo | null} [refreshError]  the last per-host refetch failed (the items are older)
 * @typedef {object} Picture    one kind on every host, as last read
 * @property {boolean} allowed                false: the user's role may not read it
 * @property {ErrorInfo | null} error         the whole read failed
 * @property {Readonly<Record<string, HostPart>> | null} hosts   null until read (or when it failed)
 * @property {number} seq
 */

/** @type {readonly LandscapeKind[]} */
export const LANDSCAPE_KINDS = Object.freeze(["networks", "pools"]);

/** The page's two sections: route segment, kind, tab label, heading. */
export const SECTIONS = Object.freeze([
  Object.freeze({ id: "networks", kind: /** @type {LandscapeKind} */ ("networks"), label: "Networks", heading: "Networks" }),
  Object.freeze({ id: "storage", kind: /** @type {LandscapeKind} */ ("pools"), label: "Storage", heading: "Storage pools" }),
]);

/** The hash of a host's networks or storage page. @param {string} host @param {"networks" | "storage"} section */
export function landscapeHref(host, section) {
  return `#/hosts/${encodeURIComponent(host)}/${section}`;
}

/** The hash of a VM's page (routes.js "/vm/:name"). @param {string} name */
export function vmHref(name) {
  return `#/vm/${encodeURIComponent(name)}`;
}

/**
 * {code, message} from an ApiError, a runner's {code, message}, or a sentence.
 * @param {unknown} error
 * @returns {ErrorInfo}
 */
export function errorInfo(error) {
  if (typeof error === "string") {
    return { code: null, message: error };
  }
  const { code = null, message = "" } = /** @type {any} */ (error ?? {});
  return {
    code: typeof code === "string" ? code : null,
    message: typeof message === "string" && message.trim() ? message.trim() : "The host did not say why.",
  };
}

/** @param {unknown} list */
const byName = (list) =>
  Object.freeze(
    (Array.isArray(list) ? list : [])
      .filter((item) => item && typeof item === "object" && typeof item.name === "string")
      .sort((a, b) => naturalCompare(a.name, b.name)),
  );

/**
 * landscape.networks' or landscape.pools' answer ({hosts: [{host, answered, error, networks | pools}]})
 * as one part per host.
 * @param {any} answer
 * @param {LandscapeKind} kind
 * @param {number} seq
 * @returns {Readonly<Record<string, HostPart>>}
 */
export function readAnswer(answer, kind, seq) {
  /** @type {Record<string, HostPart>} */
  const hosts = {};
  for (const entry of Array.isArray(answer?.hosts) ? answer.hosts : []) {
    if (!entry || typeof entry.host !== "string") {
      continue;
    }
    const answered = entry.answered === true;
    hosts[entry.host] = Object.freeze({
      host: entry.host,
      answered,
      error: answered ? null : errorInfo(entry.error ?? "The host did not answer."),
      items: answered ? byName(entry[kind]) : Object.freeze([]),
      seq,
      refreshError: null,
    });
  }
  return Object.freeze(hosts);
}

/**
 * What the page shows for one host and kind:
 *   loading      nothing read yet
 *   forbidden    the user's role may not read it
 *   failed       the read failed as a whole (error)
 *   missing      the answer does not name the host
 *   unreachable  the host did not answer (error: its sentence)
 *   ok           items (by name), refreshError when a later refetch of this host failed
 * @param {Picture | null | undefined} picture
 * @param {string} host
 */
export function hostView(picture, host) {
  if (!picture || picture.allowed === false) {
    return picture ? { status: "forbidden" } : { status: "loading" };
  }
  if (!picture.hosts) {
    return picture.error ? { status: "failed", error: picture.error } : { status: "loading" };
  }
  const part = Object.hasOwn(picture.hosts, host) ? picture.hosts[host] : null;
  if (!part) {
    return { status: "missing" };
  }
  if (!part.answered) {
    return { status: "unreachable", error: part.error ?? errorInfo("The host did not answer.") };
  }
  return { status: "ok", items: part.items, refreshError: part.refreshError ?? null };
}

const MODES = { nat: "NAT", route: "Routed", isolated: "Isolated", bridge: "Bridge", open: "Open", other: "Other" };
const POOL_TYPES = { dir: "Directory", netfs: "NFS", logical: "LVM" };

/** "Active"/"Inactive" and its tone. @param {any} item */
function stateOf(item) {
  return item.active ? { label: "Active", tone: "ok" } : { label: "Inactive", tone: "off" };
}

/** "starts with the host", "not started with the host", "transient". @param {any} item */
function startNote(item) {
  if (item.persistent === false) {
    return "transient";
  }
  return item.autostart ? "autostart" : "no autostart";
}

/**
 * When a DHCP lease runs out, from now (unix seconds): "in 42 min", "in 2 h 5 min", "in 3 d 1 h",
 * "in 12 s", "expired"; a dash when unknown.
 * @param {unknown} expires  unix seconds
 * @param {number} now       unix seconds
 */
export function formatExpiry(expires, now) {
  if (expires === null || expires === undefined || expires === "" || !Number.isFinite(Number(expires))) {
    return "—";
  }
  const left = Math.floor(Number(expires) - now);
  if (left <= 0) {
    return "expired";
  }
  if (left < 60) {
    return `in ${left} s`;
  }
  const minutes = Math.floor(left / 60);
  if (minutes < 60) {
    return `in ${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    return minutes % 60 ? `in ${hours} h ${minutes % 60} min` : `in ${hours} h`;
  }
  const days = Math.floor(hours / 24);
  return hours % 24 ? `in ${days} d ${hours % 24} h` : `in ${days} d`;
}

/** @param {unknown} list */
const entries = (list) => (Array.isArray(list) ? list.filter((entry) => entry && typeof entry === "object") : []);

/** @param {unknown} mac */
const macKey = (mac) => String(mac ?? "").toLowerCase();

/**
 * A network as its row and details show it.
 * @param {any} net   a network of landscape.networks
 * @param {number} now  unix seconds (lease expiry)
 */
export function networkRow(net, now) {
  const mode = typeof net.mode === "string" ? net.mode : "other";
  const dhcp = net.dhcp && net.dhcp.start && net.dhcp.end ? `${net.dhcp.start} – ${net.dhcp.end}` : "none";
  return {
    name: String(net.name),
    mode,
    modeLabel: MODES[mode] ?? sentenceCase(mode),
    bridge: orDash(net.bridge),
    subnet: orDash(net.subnet),
    gateway: net.gateway ? `gateway ${net.gateway}` : "",
    domain: orDash(net.domain),
    dhcp,
    active: Boolean(net.active),
    state: stateOf(net),
    startNote: startNote(net),
    managed: Boolean(net.managed),
    staticHosts: entries(net.static_hosts)
      .map((entry) => ({ mac: macKey(entry.mac), ip: orDash(entry.ip), name: orDash(entry.name) }))
      .sort((a, b) => naturalCompare(a.ip, b.ip)),
    dnsHosts: entries(net.dns_hosts).map((entry) => ({
      ip: orDash(entry.ip),
      hostnames: Array.isArray(entry.hostnames) && entry.hostnames.length ? entry.hostnames.join(", ") : "—",
    })),
    leases: entries(net.leases)
      .map((lease) => ({
        mac: macKey(lease.mac),
        ip: orDash(lease.ip),
        hostname: orDash(lease.hostname),
        expires: formatExpiry(lease.expires, now),
      }))
      .sort((a, b) => naturalCompare(a.ip, b.ip)),
  };
}

/**
 * A storage pool as its row and volumes show it. Sizes are bytes (null while inactive).
 * @param {any} pool   a pool of landscape.pools
 */
export function poolRow(pool) {
  const known = pool.capacity !== null && pool.capacity !== undefined && Number.isFinite(Number(pool.capacity));
  return {
    name: String(pool.name),
    type: typeof pool.type === "string" ? pool.type : "",
    typeLabel: POOL_TYPES[pool.type] ?? orDash(pool.type),
    path: orDash(pool.path),
    active: Boolean(pool.active),
    state: stateOf(pool),
    startNote: startNote(pool),
    managed: Boolean(pool.managed),
    sized: known,
    capacity: formatBytes(pool.capacity),
    allocation: formatBytes(pool.allocation),
    available: formatBytes(pool.available),
    usage: known ? usage(pool.allocation, pool.capacity) : null,
    volumes: entries(pool.volumes)
      .map((volume) => ({
        name: orDash(volume.name),
        path: orDash(volume.path),
        format: orDash(volume.format),
        capacity: formatBytes(volume.capacity),
        allocation: formatBytes(volume.allocation),
        users: (Array.isArray(volume.users) ? volume.users.filter((user) => typeof user === "string") : []).sort(naturalCompare),
      }))
      .sort((a, b) => naturalCompare(a.name, b.name)),
  };
}

/**
 * @typedef {object} LandscapeAction
 * @property {string} id          the declared runner call (calls.js)
 * @property {LandscapeKind} kind
 * @property {string} label
 * @property {string} busyLabel
 * @property {string} done        "started", "stopped", "refreshed"
 * @property {(item: any) => boolean} enabled   does it make sense in the object's state?
 * @property {string} needs       why not, when it does not
 * @property {boolean} [danger]
 * @property {{title: (name: string, host: string) => string, body: string, confirmLabel: string}} [confirm]
 */

/** The admins' actions, in the order the rows show them. @type {readonly Readonly<LandscapeAction>[]} */
export const LANDSCAPE_ACTIONS = Object.freeze([
  {
    id: "network_start",
    kind: "networks",
    label: "Start",
    busyLabel: "Starting…",
    done: "started",
    enabled: (net) => !net.active,
    needs: "The network is already active.",
  },
  {
    id: "network_stop",
    kind: "networks",
    label: "Stop",
    busyLabel: "Stopping…",
    done: "stopped",
    enabled: (net) => Boolean(net.active),
    needs: "The network is not active.",
    danger: true,
    confirm: {
      title: (name, host) => `Stop network ${name} on ${host}?`,
      body:
        "Stopping a network cuts its guests off: they lose their connection, DHCP and DNS on it " +
        "until it is started again. Its definition stays as the landscape's pillar says.",
      confirmLabel: "Stop network",
    },
  },
  {
    id: "pool_start",
    kind: "pools",
    label: "Start",
    busyLabel: "Starting…",
    done: "started",
    enabled: (pool) => !pool.active,
    needs: "The pool is already active.",
  },
  {
    id: "pool_refresh",
    kind: "pools",
    label: "Refresh",
    busyLabel: "Refreshing…",
    done: "refreshed",
    enabled: (pool) => Boolean(pool.active),
    needs: "Only an active pool can be refreshed.",
  },
  {
    id: "pool_stop",
    kind: "pools",
    label: "Stop",
    busyLabel: "Stopping…",
    done: "stopped",
    enabled: (pool) => Boolean(pool.active),
    needs: "The pool is not active.",
    danger: true,
    confirm: {
      title: (name, host) => `Stop pool ${name} on ${host}?`,
      body:
        "While it is stopped its volumes cannot be used to start or create VMs, and an NFS pool " +
        "is unmounted. Its definition and its volumes stay.",
      confirmLabel: "Stop pool",
    },
  },
].map((action) => Object.freeze(/** @type {LandscapeAction} */ (action))));

/**
 * The actions the user's role offers for one network or pool (Salt's ACL sees host and name).
 * A viewer gets none.
 * @param {unknown} perms
 * @param {LandscapeKind} kind
 * @param {string} host
 * @param {string} name
 */
export function offeredLandscapeActions(perms, kind, host, name) {
  return LANDSCAPE_ACTIONS.filter((action) => action.kind === kind && mayRun(perms, action.id, { host, name }));
}

/**
 * May the user read this kind at all (the runner call without a host)?
 * @param {unknown} perms
 * @param {LandscapeKind} kind
 */
export function mayReadLandscape(perms, kind) {
  return mayRun(perms, kind === "networks" ? "landscape_networks" : "landscape_pools");
}

/** The key of one object's action under way (the landscapeBusy slice). @param {LandscapeKind} kind @param {string} host @param {string} name */
export function busyKey(kind, host, name) {
  return `${kind}/${host}/${name}`;
}

/** "network default on hv1", "pool images on hv1". @param {LandscapeKind} kind @param {string} host @param {string} name */
export function objectPhrase(kind, host, name) {
  return `${kind === "networks" ? "network" : "pool"} ${name} on ${host}`;
}
