// The one place where the SPA's picture of the cluster lives and is fetched.
//
// Views subscribe and render whatever the state is; they never fetch. The inventory is fetched
// on demand (sign-in, the Refresh button, after every action, after the event stream
// (re)connects, when a host's engine asks for a resync) and otherwise kept fresh by Brine's
// events (applyEvent, see live.js and events.js); a slow safety refresh catches anything an
// event could not say.

import { applyMigrationEvent, applyVmStateEvent, classifyTag } from "./live.js";

/**
 * @param {{loadInventory: () => Promise<object>, now?: () => number}} deps
 *   loadInventory: resolves to the cluster.inventory result.
 */
export function createStore({ loadInventory, now = () => Date.now() }) {
  let state = Object.freeze({
    inventory: null, // the last cluster.inventory result
    loading: false, // a refresh is in flight
    error: null, // the last refresh's error (an ApiError), null after a good one
    updatedAt: null, // ms timestamp of the last good refresh
    busy: Object.freeze({}), // vm name -> action id running for it
    migrations: Object.freeze({}), // vm name -> the last migration record (live.js)
    live: "off", // the event stream: "off", "connecting", "live", "down"
  });
  const subscribers = new Set();
  let inflight = null;
  let queued = null;

  function setState(patch) {
    state = Object.freeze({ ...state, ...patch });
    for (const subscriber of [...subscribers]) {
      subscriber(state);
    }
  }

  // VM events that arrive while an inventory fetch is under way may be newer than what the
  // fetch returns: they are applied again on top of its answer (each carries the VM's state
  // after it, so re-applying an older one is harmless: a later event follows it).
  let eventsDuringFetch = null;

  function fetchOnce() {
    setState({ loading: true });
    eventsDuringFetch = [];
    return loadInventory().then(
      (fetched) => {
        let inventory = fetched;
        for (const [about, data] of eventsDuringFetch ?? []) {
          inventory = applyVmStateEvent(inventory, about, data);
        }
        eventsDuringFetch = null;
        setState({ inventory, loading: false, error: null, updatedAt: now() });
        return inventory;
      },
      (error) => {
        eventsDuringFetch = null;
        setState({ loading: false, error });
        throw error;
      },
    );
  }

  /**
   * Fetch the inventory. The promise resolves with data fetched after this call was made: if a
   * fetch is already under way, one more follows it (and callers arriving meanwhile share it).
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
   * Run a lifecycle action for one VM: marks it busy, awaits `call()`, then refetches the
   * inventory (also after a failure: the VM may have changed anyway). Resolves to call()'s
   * result; rejects with its error. A refresh failure after the action is left in state.error.
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
    setState({
      inventory: null,
      loading: false,
      error: null,
      updatedAt: null,
      busy: {},
      migrations: {},
      live: "off",
    });
  }

  // ---- live updates ----

  /**
   * Apply one Brine event (tag, payload) to the picture. VM state events change the VM at once;
   * a host resync or disconnect refetches the inventory (there is no per-host call, and one
   * fan-out is cheap); migration events update that VM's migration record, and its end
   * refetches the inventory (memory and placement on both hosts changed).
   */
  function applyEvent(tag, data) {
    const about = classifyTag(tag);
    if (about.kind === "vm-state") {
      eventsDuringFetch?.push([about, data]);
      const inventory = applyVmStateEvent(state.inventory, about, data);
      if (inventory !== state.inventory) {
        setState({ inventory: Object.freeze(inventory), updatedAt: now() });
      }
    } else if (about.kind === "host") {
      refresh().catch(() => {});
    } else if (about.kind === "migration") {
      const migrations = applyMigrationEvent(state.migrations, about, data);
      if (migrations !== state.migrations) {
        setState({ migrations: Object.freeze(migrations) });
        if (about.phase === "done" || about.phase === "failed") {
          refresh().catch(() => {});
        }
      }
    }
  }

  /** Set (patch) the migration record of one VM, or remove it with null. */
  function setMigration(vmName, patch) {
    const migrations = { ...state.migrations };
    if (patch === null) {
      delete migrations[vmName];
    } else {
      migrations[vmName] = { ...(migrations[vmName] ?? { vm: vmName }), ...patch };
    }
    setState({ migrations: Object.freeze(migrations) });
  }

  /** The event stream's condition, for the top bar. */
  function setLive(live) {
    if (state.live !== live) {
      setState({ live });
    }
  }

  return {
    get state() {
      return state;
    },
    /** Call fn(state) now and on every change; returns the unsubscribe function. */
    subscribe(fn) {
      subscribers.add(fn);
      fn(state);
      return () => subscribers.delete(fn);
    },
    refresh,
    act,
    reset,
    applyEvent,
    setMigration,
    setLive,
  };
}

/**
 * Refresh the store every `intervalMs` while the document is visible. When the tab comes back
 * after being hidden longer than the interval, refresh at once. Ticks are skipped while a
 * refresh is already running. Returns a function that stops it.
 */
export function autoRefresh(store, intervalMs, doc = globalThis.document) {
  let timer = null;
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
