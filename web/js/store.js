// @ts-check
// The one place where the SPA's picture of the cluster lives and is fetched.
//
// The picture is made of slices, one per resource, each registered with the store:
// {name, initial, load?, applyEvent?, refreshAfter?, reduce?} (see Slice below). A new
// resource (networks, containers, ...) is one more slice, not an edit here. Views subscribe
// and render whatever the state is; they never fetch. Slices with `load` are fetched on demand
// (sign-in, the Refresh button, after every action, after the event stream (re)connects, when
// a host's engine asks for a resync) and otherwise kept fresh by Brine's events (applyEvent);
// a slow safety refresh catches anything an event could not say.

import { classifyTag } from "./live.js";

/**
 * A Brine event as the slices see it.
 * @typedef {{tag: string, about: ReturnType<typeof classifyTag>, data: any}} StoreEvent
 */

/**
 * One resource's part of the picture. Functions are pure: they return the new value (the same
 * object when nothing changed) and never touch the store.
 * @typedef {object} Slice
 * @property {string} name                    the key of its value in the state
 * @property {any} initial                    its value before anything is known (and after sign-out)
 * @property {() => Promise<any>} [load]      fetch it (on every refresh)
 * @property {(value: any, event: StoreEvent) => any} [applyEvent]   fold one Brine event in
 * @property {(event: StoreEvent, before: any, after: any) => boolean} [refreshAfter]
 *   should this event (which turned `before` into `after`) refetch the loaded slices?
 * @property {(value: any, action: {type: string} & Record<string, any>) => any} [reduce]
 *   apply an action the app dispatches (store.dispatch(name, action))
 */

/**
 * @typedef {{readonly loading: boolean, readonly error: any, readonly updatedAt: number | null,
 *   readonly busy: Readonly<Record<string, string>>, readonly live: string,
 *   readonly [slice: string]: any}} StoreState
 * @typedef {ReturnType<typeof createStore>} Store
 */

/**
 * @param {{slices: Slice[], now?: () => number}} deps
 *   slices: the resources of the picture; their names must differ from the store's own keys.
 */
export function createStore({ slices, now = () => Date.now() }) {
  const own = ["loading", "error", "updatedAt", "busy", "live"];
  const names = new Set();
  for (const slice of slices) {
    if (own.includes(slice.name) || names.has(slice.name)) {
      throw new Error(`A store slice cannot be named "${slice.name}".`);
    }
    names.add(slice.name);
  }
  const loaded = slices.filter((slice) => slice.load);
  const bySlice = new Map(slices.map((slice) => [slice.name, slice]));

  const initialState = () =>
    Object.freeze({
      ...Object.fromEntries(slices.map((slice) => [slice.name, slice.initial])),
      loading: false, // a refresh is in flight
      error: null, // the last refresh's error (an ApiError), null after a good one
      updatedAt: null, // ms timestamp of the last good refresh or event-borne change
      busy: Object.freeze({}), // vm name -> action id running for it
      live: "off", // the event stream: "off", "connecting", "live", "down"
    });

  /** @type {StoreState} */
  let state = initialState();
  /** @type {Set<(state: StoreState) => void>} */
  const subscribers = new Set();
  /** @type {Promise<any> | null} */
  let inflight = null;
  /** @type {Promise<any> | null} */
  let queued = null;

  /** @param {Record<string, any>} patch */
  function setState(patch) {
    state = Object.freeze({ ...state, ...patch });
    for (const subscriber of [...subscribers]) {
      subscriber(state);
    }
  }

  // Events that arrive while a fetch is under way may be newer than what the fetch returns:
  // they are applied again on top of its answer (each carries the state after it, so
  // re-applying an older one is harmless: a later event follows it).
  /** @type {StoreEvent[] | null} */
  let eventsDuringFetch = null;

  function fetchOnce() {
    setState({ loading: true });
    eventsDuringFetch = [];
    return Promise.all(loaded.map((slice) => /** @type {() => Promise<any>} */ (slice.load)())).then(
      (values) => {
        /** @type {Record<string, any>} */
        const patch = {};
        loaded.forEach((slice, i) => {
          let value = values[i];
          for (const event of eventsDuringFetch ?? []) {
            value = slice.applyEvent ? slice.applyEvent(value, event) : value;
          }
          patch[slice.name] = value;
        });
        eventsDuringFetch = null;
        setState({ ...patch, loading: false, error: null, updatedAt: now() });
        return loaded.length === 1 ? patch[loaded[0].name] : patch;
      },
      (error) => {
        eventsDuringFetch = null;
        setState({ loading: false, error });
        throw error;
      },
    );
  }

  /**
   * Fetch the loaded slices. The promise resolves with data fetched after this call was made:
   * if a fetch is already under way, one more follows it (and callers arriving meanwhile
   * share it). With one loaded slice it resolves to that slice's value.
   * @returns {Promise<any>}
   */
  function refresh() {
    if (!inflight) {
      inflight = fetchOnce().finally(() => {
        inflight = null;
      });
      return inflight;
    }
    if (!queued) {
      queued = inflight
        .catch(() => {})
        .then(() => {
          queued = null;
          return refresh();
        });
    }
    return queued;
  }

  /** @param {string} vmName @param {string | null} actionId */
  function setBusy(vmName, actionId) {
    const busy = { ...state.busy };
    if (actionId) {
      busy[vmName] = actionId;
    } else {
      delete busy[vmName];
    }
    setState({ busy: Object.freeze(busy) });
  }

  /**
   * Run a lifecycle action for one VM: marks it busy, awaits `call()`, then refetches
   * (also after a failure: the VM may have changed anyway). Resolves to call()'s result;
   * rejects with its error. A refresh failure after the action is left in state.error.
   * @template T
   * @param {string} vmName
   * @param {string} actionId
   * @param {() => Promise<T>} call
   * @returns {Promise<T>}
   */
  async function act(vmName, actionId, call) {
    if (state.busy[vmName]) {
      throw new Error(`${vmName} is busy with ${state.busy[vmName]}.`);
    }
    setBusy(vmName, actionId);
    let result;
    try {
      result = await call();
    } finally {
      setBusy(vmName, null);
      await refresh().catch(() => {});
    }
    return result;
  }

  /** Forget everything (on sign-out). */
  function reset() {
    setState(initialState());
  }

  /**
   * Apply one Brine event (tag, payload) to every slice; a slice may ask for a refetch
   * (a host resync, a migration's end: memory and placement changed on both hosts).
   * @param {string} tag
   * @param {any} data
   */
  function applyEvent(tag, data) {
    const event = { tag, about: classifyTag(tag), data };
    eventsDuringFetch?.push(event);
    /** @type {Record<string, any>} */
    const patch = {};
    let changedLoaded = false;
    let wantRefresh = false;
    for (const slice of slices) {
      const before = state[slice.name];
      const after = slice.applyEvent ? slice.applyEvent(before, event) : before;
      if (after !== before) {
        patch[slice.name] = after;
        changedLoaded ||= Boolean(slice.load);
      }
      wantRefresh ||= Boolean(slice.refreshAfter?.(event, before, after));
    }
    if (Object.keys(patch).length > 0) {
      setState(changedLoaded ? { ...patch, updatedAt: now() } : patch);
    }
    if (wantRefresh) {
      refresh().catch(() => {});
    }
  }

  /**
   * Apply an action to one slice through its reducer (e.g. the migrations slice's records).
   * @param {string} name
   * @param {{type: string} & Record<string, any>} action
   */
  function dispatch(name, action) {
    const slice = bySlice.get(name);
    if (!slice?.reduce) {
      throw new Error(`The store has no slice "${name}" that takes actions.`);
    }
    const after = slice.reduce(state[name], action);
    if (after !== state[name]) {
      setState({ [name]: after });
    }
  }

  /** The event stream's condition, for the top bar. @param {string} live */
  function setLive(live) {
    if (state.live !== live) {
      setState({ live });
    }
  }

  return {
    /** @returns {StoreState} */
    get state() {
      return state;
    },
    /**
     * Call fn(state) now and on every change; returns the unsubscribe function.
     * @param {(state: StoreState) => void} fn
     */
    subscribe(fn) {
      subscribers.add(fn);
      fn(state);
      return () => {
        subscribers.delete(fn);
      };
    },
    refresh,
    act,
    reset,
    applyEvent,
    dispatch,
    setLive,
  };
}

/**
 * Refresh the store every `intervalMs` while the document is visible. When the tab comes back
 * after being hidden longer than the interval, refresh at once. Ticks are skipped while a
 * refresh is already running. Returns a function that stops it.
 * @param {{state: {loading: boolean, updatedAt: number | null}, refresh: () => Promise<any>}} store
 * @param {number} intervalMs
 * @param {Pick<Document, "visibilityState" | "addEventListener" | "removeEventListener">} [doc]
 */
export function autoRefresh(store, intervalMs, doc = globalThis.document) {
  /** @type {ReturnType<typeof setInterval> | null} */
  let timer = null;
  /** @type {number | null} */
  let lastHidden = null;

  const tick = () => {
    if (!store.state.loading) {
      store.refresh().catch(() => {});
    }
  };
  const startTimer = () => {
    if (timer === null) {
      timer = setInterval(tick, intervalMs);
    }
  };
  const stopTimer = () => {
    if (timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
  const onVisibility = () => {
    if (doc.visibilityState === "hidden") {
      lastHidden = Date.now();
      stopTimer();
      return;
    }
    const updatedAt = store.state.updatedAt ?? 0;
    if (lastHidden !== null && Date.now() - updatedAt >= intervalMs) {
      tick();
    }
    lastHidden = null;
    startTimer();
  };

  doc.addEventListener("visibilitychange", onVisibility);
  if (doc.visibilityState !== "hidden") {
    startTimer();
  }
  return () => {
    stopTimer();
    doc.removeEventListener("visibilitychange", onVisibility);
  };
}
