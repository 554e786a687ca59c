// @ts-check
// The landscape slice: every host's libvirt networks and storage pools (landscape.networks, landscape.pools;
// docs/landscape.md), read with every refresh and kept fresh per host between them. An event
// brine/network/<host>/<name>/state or brine/pool/<host>/<name>/state only marks that host's
// networks or pools stale (pure, like every slice); followLandscape() refetches what is stale, once
// per host and kind for a burst of events (it waits a moment, and events arriving while it
// reads mark it stale again: one more read follows, not one per event). A VM defined or
// undefined changes its volumes' users, so it marks its host's pools stale. A host's resync or
// its minion's start refetches everything, as it does for the inventory. The landscapeBusy slice
// holds the admin actions under way (a refresh must not forget them).

import { busySlice } from "./busy.js";
import { errorInfo, readAnswer, LANDSCAPE_KINDS } from "../landscape.js";

/**
 * @typedef {import("../landscape.js").LandscapeKind} LandscapeKind
 * @typedef {import("../landscape.js").Picture} Picture
 * @typedef {import("../landscape.js").HostPart} HostPart
 * @typedef {{networks: Picture, pools: Picture, stale: Readonly<Record<string, true>>}} LandscapeState
 *   stale: "<kind>/<host>" -> true, the parts to read again
 * @typedef {(host?: string) => Promise<any>} LandscapeLoader
 *   landscape.networks or landscape.pools (one host's with `host`); resolves to null where the user's role
 *   may not ask
 * @typedef {{type: "want", kind: LandscapeKind, host: string}
 *   | {type: "fetching", kind: LandscapeKind, host: string}
 *   | {type: "host-loaded", kind: LandscapeKind, host: string, answer: any, seq: number}
 *   | {type: "host-failed", kind: LandscapeKind, host: string, error: unknown, seq: number}
 *   | {type: "item", kind: LandscapeKind, host: string, item: any}} LandscapeAction
 */

let lastSeq = 0;
/** A number for each read, increasing: a part is replaced only by a read that began later. */
export const nextSeq = () => {
  lastSeq += 1;
  return lastSeq;
};

/** @param {number} seq @returns {Picture} */
const unread = (seq) => Object.freeze({ allowed: true, error: null, hosts: null, seq });

/** @type {LandscapeState} */
export const LANDSCAPE_INITIAL = Object.freeze({ networks: unread(0), pools: unread(0), stale: Object.freeze({}) });

/** @param {LandscapeKind} kind @param {string} host */
export const staleKey = (kind, host) => `${kind}/${host}`;

/** @param {string} key @returns {{kind: LandscapeKind, host: string}} */
function fromKey(key) {
  const slash = key.indexOf("/");
  return { kind: /** @type {LandscapeKind} */ (key.slice(0, slash)), host: key.slice(slash + 1) };
}

/**
 * Read one kind on every host. A failure other than a 401 (which signs the user out) is kept
 * in the picture, so the inventory still refreshes when this read fails.
 * @param {LandscapeLoader} load
 * @param {LandscapeKind} kind
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
 * @param {LandscapeState} landscape
 * @param {LandscapeKind} kind
 * @param {string | undefined} host
 */
function markStale(landscape, kind, host) {
  const key = typeof host === "string" && host ? staleKey(kind, host) : null;
  if (!key || !landscape[kind].allowed || !landscape[kind].hosts || landscape.stale[key]) {
    return landscape;
  }
  return Object.freeze({ ...landscape, stale: Object.freeze({ ...landscape.stale, [key]: true }) });
}

/**
 * Replace one host's part in a picture.
 * @param {LandscapeState} landscape @param {LandscapeKind} kind @param {string} host @param {HostPart} part
 */
function withPart(landscape, kind, host, part) {
  const picture = landscape[kind];
  return Object.freeze({
    ...landscape,
    [kind]: Object.freeze({ ...picture, hosts: Object.freeze({ ...(picture.hosts ?? {}), [host]: part }) }),
  });
}

/**
 * The one reducer of the landscape's picture.
 *   want         read this host's part again (after an action)
 *   fetching     followLandscape() begins reading it: no longer stale
 *   host-loaded  its answer (landscape.networks host=...), unless a later read already replaced it
 *   host-failed  the read failed: the part stays, with the error
 *   item         an action's answer: the object's new dict
 * @param {LandscapeState} landscape
 * @param {LandscapeAction} action
 * @returns {LandscapeState}
 */
export function reduceLandscape(landscape, action) {
  const kind = action.kind;
  if (!LANDSCAPE_KINDS.includes(kind)) {
    return landscape;
  }
  const picture = landscape[kind];
  const part = picture.hosts && Object.hasOwn(picture.hosts, action.host) ? picture.hosts[action.host] : null;
  switch (action.type) {
    case "want":
      return markStale(landscape, kind, action.host);
    case "fetching": {
      const key = staleKey(kind, action.host);
      if (!landscape.stale[key]) {
        return landscape;
      }
      const stale = { ...landscape.stale };
      delete stale[key];
      return Object.freeze({ ...landscape, stale: Object.freeze(stale) });
    }
    case "host-loaded": {
      if (!picture.hosts || action.seq <= (part?.seq ?? picture.seq)) {
        return landscape; // nothing to add it to, or a newer read is already there
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
      return withPart(landscape, kind, action.host, next);
    }
    case "host-failed":
      if (!part || action.seq <= part.seq) {
        return landscape;
      }
      return withPart(landscape, kind, action.host, Object.freeze({ ...part, refreshError: errorInfo(action.error) }));
    case "item": {
      const name = action.item?.name;
      if (!part || !part.answered || typeof name !== "string" || !part.items.some((item) => item.name === name)) {
        return landscape;
      }
      const items = Object.freeze(part.items.map((item) => (item.name === name ? action.item : item)));
      return withPart(landscape, kind, action.host, Object.freeze({ ...part, items }));
    }
    default:
      return landscape;
  }
}

/**
 * The landscape slice.
 * @param {{loadNetworks?: LandscapeLoader, loadPools?: LandscapeLoader}} deps   absent: the user may not ask
 * @returns {import("../store.js").Slice}
 */
export function landscapeSlice({ loadNetworks = async () => null, loadPools = async () => null } = {}) {
  return {
    name: "landscape",
    initial: LANDSCAPE_INITIAL,
    load: async () => {
      const seq = nextSeq();
      const [networks, pools] = await Promise.all([readAll(loadNetworks, "networks", seq), readAll(loadPools, "pools", seq)]);
      return Object.freeze({ networks, pools, stale: Object.freeze({}) });
    },
    applyEvent: (landscape, event) => {
      const about = /** @type {any} */ (event.about);
      if (about.kind === "network-state") {
        return markStale(landscape, "networks", about.host);
      }
      if (about.kind === "pool-state") {
        return markStale(landscape, "pools", about.host);
      }
      if (about.kind === "vm-state" && ["defined", "undefined"].includes(event.data?.event)) {
        return markStale(landscape, "pools", about.host);
      }
      return landscape;
    },
    // Whatever changed on a host while its engine or minion was away had no event.
    refreshAfter: (event) => event.about.kind === "host",
    reduce: (landscape, action) => reduceLandscape(landscape, /** @type {LandscapeAction} */ (action)),
  };
}

/** The actions under way on networks and pools: busyKey (landscape.js) -> action id. */
export const landscapeBusySlice = busySlice("landscapeBusy");

/**
 * Keep the stale parts of the landscape slice fresh: each is read again `delayMs` after it went
 * stale (the rest of a burst arrives meanwhile), one read per host and kind at a time.
 * Returns the function that stops it.
 * @param {import("../store.js").Store} store
 * @param {{loadNetworks: LandscapeLoader, loadPools: LandscapeLoader, delayMs?: number,
 *   setTimer?: (fn: () => void, ms: number) => any, clearTimer?: (id: any) => void}} deps
 */
export function followLandscape(store, { loadNetworks, loadPools, delayMs = 400, setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (id) => clearTimeout(id) }) {
  /** @type {Map<string, any>} */
  const timers = new Map();
  /** @type {Set<string>} */
  const reading = new Set();
  let stopped = false;

  /** @param {string} key */
  async function read(key) {
    timers.delete(key);
    if (stopped || !store.state.landscape?.stale[key]) {
      return; // a full refresh read it meanwhile
    }
    const { kind, host } = fromKey(key);
    const load = kind === "networks" ? loadNetworks : loadPools;
    const seq = nextSeq();
    reading.add(key);
    store.dispatch("landscape", { type: "fetching", kind, host });
    try {
      const answer = await load(host);
      if (!stopped && answer !== null && answer !== undefined) {
        store.dispatch("landscape", { type: "host-loaded", kind, host, answer, seq });
      }
    } catch (error) {
      if (!stopped && error?.status !== 401) {
        store.dispatch("landscape", { type: "host-failed", kind, host, error, seq });
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
    for (const key of Object.keys(state.landscape?.stale ?? {})) {
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
