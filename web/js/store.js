// The one place where the SPA's picture of the cluster lives and is fetched.
//
// Views subscribe and render whatever the state is; they never fetch. Today the inventory is
// refreshed on demand and every 15 s while the tab is visible; server events can later call
// refresh() (or feed the state) without any view changing.

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

  function fetchOnce() {
    setState({ loading: true });
    return loadInventory().then(
      (inventory) => {
        setState({ inventory, loading: false, error: null, updatedAt: now() });
        return inventory;
      },
      (error) => {
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
    setState({ inventory: null, loading: false, error: null, updatedAt: null, busy: {} });
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
