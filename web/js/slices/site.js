// @ts-check
// The site slice: every host's libvirt networks and storage pools (site.networks, site.pools;
// docs/site.md), read with every refresh and kept fresh per host between them. An event
// brine/network/<host>/<name>/state or brine/pool/<host>/<name>/state only marks that host's
// networks or pools stale (pure, like every slice); followSite() refetches what is stale, once
// per host and kind for a burst of events (it waits a moment, and events arriving while it
// reads mark it stale again: one more read follows, not one per event). A VM defined or
// undefined changes its volumes' users, so it marks its host's pools stale. A host's resync or
// its minion's start refetches everything, as it does for the inventory. The siteBusy slice
// holds the admin actions under way (a refresh must not forget them).

import { errorInfo, readAnswer, SITE_KINDS } from "../site.js";

/**
 * @typedef {import("../site.js").SiteKind} SiteKind
 * @typedef {import("../site.js").Picture} Picture
 * @typedef {import("../site.js").HostPart} HostPart
 * @typedef {{networks: Picture, pools: Picture, stale: Readonly<Record<string, true>>}} SiteState
 *   stale: "<kind>/<host>" -> true, the parts to read again
 * @typedef {(host?: string) => Promise<any>} SiteLoader
 *   site.networks or site.pools (one host's with `host`); resolves to null where the user's role
 *   may not ask
 * @typedef {{type: "want", kind: SiteKind, host: string}
 *   | {type: "fetching", kind: SiteKind, host: string}
 *   | {type: "host-loaded", kind: SiteKind, host: string, answer: any, seq: number}
 *   | {type: "host-failed", kind: SiteKind, host: string, error: unknown, seq: number}
 *   | {type: "item", kind: SiteKind, host: string, item: any}} SiteAction
 */

let lastSeq = 0;
/** A number for each read, increasing: a part is replaced only by a read that began later. */
export const nextSeq = () => {
  lastSeq += 1;
  return lastSeq;
};

/** @param {number} seq @returns {Picture} */
const unread = (seq) => Object.freeze({ allowed: true, error: null, hosts: null, seq });

/** @type {SiteState} */
export const SITE_INITIAL = Object.freeze({ networks: unread(0), pools: unread(0), stale: Object.freeze({}) });

/** @param {SiteKind} kind @param {string} host */
export const staleKey = (kind, host) => `${kind}/${host}`;

/** @param {string} key @returns {{kind: SiteKind, host: string}} */
function fromKey(key) {
  const slash = key.indexOf("/");
  return { kind: /** @type {SiteKind} */ (key.slice(0, slash)), host: key.slice(slash + 1) };
}

/**
 * Read one kind on every host. A failure other than a 401 (which signs the user out) is kept
 * in the picture, so the inventory still refreshes when this read fails.
 * @param {SiteLoader} load
 * @param {SiteKind} kind
 * @param {number} seq
 * @returns {Promise<Picture>}
 */
async function readAll(load, kind, seq) {
  try {
    const answer = await load();
    if (answer === null || answer === undefined) {
      return Object.freeze({ allowed: false, error: null, hosts: null, seq });
    }
    return Object.freeze({ allowed: true, error: null, hosts: readAnswer(answer, kind, seq), seq });
  } catch (error) {
    if (error?.status === 401) {
      throw error;
    }
    return Object.freeze({ allowed: true, error: errorInfo(error), hosts: null, seq });
  }
}

/**
 * Mark one host's part stale (the same object when it is already, or when nothing is read).
 * @param {SiteState} site
 * @param {SiteKind} kind
 * @param {string | undefined} host
 */
function markStale(site, kind, host) {
  const key = typeof host === "string" && host ? staleKey(kind, host) : null;
  if (!key || !site[kind].allowed || !site[kind].hosts || site.stale[key]) {
    return site;
  }
  return Object.freeze({ ...site, stale: Object.freeze({ ...site.stale, [key]: true }) });
}

/**
 * Replace one host's part in a picture.
 * @param {SiteState} site @param {SiteKind} kind @param {string} host @param {HostPart} part
 */
function withPart(site, kind, host, part) {
  const picture = site[kind];
  return Object.freeze({
    ...site,
    [kind]: Object.freeze({ ...picture, hosts: Object.freeze({ ...(picture.hosts ?? {}), [host]: part }) }),
  });
}

/**
 * The one reducer of the site's picture.
 *   want         read this host's part again (after an action)
 *   fetching     followSite() begins reading it: no longer stale
 *   host-loaded  its answer (site.networks host=...), unless a later read already replaced it
 *   host-failed  the read failed: the part stays, with the error
 *   item         an action's answer: the object's new dict
 * @param {SiteState} site
 * @param {SiteAction} action
 * @returns {SiteState}
 */
export function reduceSite(site, action) {
  const kind = action.kind;
  if (!SITE_KINDS.includes(kind)) {
    return site;
  }
  const picture = site[kind];
  const part = picture.hosts && Object.hasOwn(picture.hosts, action.host) ? picture.hosts[action.host] : null;
  switch (action.type) {
    case "want":
      return markStale(site, kind, action.host);
    case "fetching": {
      const key = staleKey(kind, action.host);
      if (!site.stale[key]) {
        return site;
      }
      const stale = { ...site.stale };
      delete stale[key];
      return Object.freeze({ ...site, stale: Object.freeze(stale) });
    }
    case "host-loaded": {
      if (!picture.hosts || action.seq <= (part?.seq ?? picture.seq)) {
        return site; // nothing to add it to, or a newer read is already there
      }
      const fresh = readAnswer(action.answer, kind, action.seq)[action.host];
      const next = fresh ?? Object.freeze({
        host: action.host,
        answered: false,
        error: errorInfo("The master has no answer from this host."),
        items: Object.freeze([]),
        seq: action.seq,
        refreshError: null,
      });
      return withPart(site, kind, action.host, next);
    }
    case "host-failed":
      if (!part || action.seq <= part.seq) {
        return site;
      }
      return withPart(site, kind, action.host, Object.freeze({ ...part, refreshError: errorInfo(action.error) }));
    case "item": {
      const name = action.item?.name;
      if (!part || !part.answered || typeof name !== "string" || !part.items.some((item) => item.name === name)) {
        return site;
      }
      const items = Object.freeze(part.items.map((item) => (item.name === name ? action.item : item)));
      return withPart(site, kind, action.host, Object.freeze({ ...part, items }));
    }
    default:
      return site;
  }
}

/**
 * The site slice.
 * @param {{loadNetworks?: SiteLoader, loadPools?: SiteLoader}} deps   absent: the user may not ask
 * @returns {import("../store.js").Slice}
 */
export function siteSlice({ loadNetworks = async () => null, loadPools = async () => null } = {}) {
  return {
    name: "site",
    initial: SITE_INITIAL,
    load: async () => {
      const seq = nextSeq();
      const [networks, pools] = await Promise.all([readAll(loadNetworks, "networks", seq), readAll(loadPools, "pools", seq)]);
      return Object.freeze({ networks, pools, stale: Object.freeze({}) });
    },
    applyEvent: (site, event) => {
      const about = /** @type {any} */ (event.about);
      if (about.kind === "network-state") {
        return markStale(site, "networks", about.host);
      }
      if (about.kind === "pool-state") {
        return markStale(site, "pools", about.host);
      }
      if (about.kind === "vm-state" && ["defined", "undefined"].includes(event.data?.event)) {
        return markStale(site, "pools", about.host);
      }
      return site;
    },
    // Whatever changed on a host while its engine or minion was away had no event.
    refreshAfter: (event) => event.about.kind === "host",
    reduce: (site, action) => reduceSite(site, /** @type {SiteAction} */ (action)),
  };
}

/**
 * The actions under way on networks and pools: busyKey (site.js) -> action id.
 * @type {import("../store.js").Slice}
 */
export const siteBusySlice = Object.freeze({
  name: "siteBusy",
  initial: Object.freeze({}),
  reduce: (busy, action) => {
    const { key, id = null } = /** @type {{key?: string, id?: string | null}} */ (action);
    if (typeof key !== "string" || (busy[key] ?? null) === id) {
      return busy;
    }
    const next = { ...busy };
    if (action.type === "busy" && id) {
      next[key] = id;
    } else {
      delete next[key];
    }
    return Object.freeze(next);
  },
});

/**
 * Keep the stale parts of the site slice fresh: each is read again `delayMs` after it went
 * stale (the rest of a burst arrives meanwhile), one read per host and kind at a time.
 * Returns the function that stops it.
 * @param {import("../store.js").Store} store
 * @param {{loadNetworks: SiteLoader, loadPools: SiteLoader, delayMs?: number,
 *   setTimer?: (fn: () => void, ms: number) => any, clearTimer?: (id: any) => void}} deps
 */
export function followSite(store, { loadNetworks, loadPools, delayMs = 400, setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (id) => clearTimeout(id) }) {
  /** @type {Map<string, any>} */
  const timers = new Map();
  /** @type {Set<string>} */
  const reading = new Set();
  let stopped = false;

  /** @param {string} key */
  async function read(key) {
    timers.delete(key);
    if (stopped || !store.state.site?.stale[key]) {
      return; // a full refresh read it meanwhile
    }
    const { kind, host } = fromKey(key);
    const load = kind === "networks" ? loadNetworks : loadPools;
    const seq = nextSeq();
    reading.add(key);
    store.dispatch("site", { type: "fetching", kind, host });
    try {
      const answer = await load(host);
      if (!stopped && answer !== null && answer !== undefined) {
        store.dispatch("site", { type: "host-loaded", kind, host, answer, seq });
      }
    } catch (error) {
      if (!stopped && error?.status !== 401) {
        store.dispatch("site", { type: "host-failed", kind, host, error, seq });
      }
    } finally {
      reading.delete(key);
      if (!stopped) {
        schedule(store.state);
      }
    }
  }

  /** @param {import("../store.js").StoreState} state */
  function schedule(state) {
    for (const key of Object.keys(state.site?.stale ?? {})) {
      if (!timers.has(key) && !reading.has(key)) {
        timers.set(key, setTimer(() => read(key), delayMs));
      }
    }
  }

  const unsubscribe = store.subscribe(schedule);
  return () => {
    stopped = true;
    unsubscribe();
    for (const timer of timers.values()) {
      clearTimer(timer);
    }
    timers.clear();
  };
}
