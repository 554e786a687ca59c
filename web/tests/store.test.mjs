import assert from "node:assert/strict";
import { describe, mock, test } from "node:test";

import { autoRefresh } from "../js/store.js";
import { createAppStore } from "../js/slices/index.js";

/** A loadInventory whose answers the test releases one by one. */
function controlledLoader() {
  const pending = [];
  const load = () =>
    new Promise((resolve, reject) => {
      pending.push({ resolve, reject });
    });
  return { load, pending };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("createStore", () => {
  test("subscribers get the current state at once and every change", async () => {
    const store = createAppStore({ loadInventory: async () => ({ hosts: [] }), now: () => 42 });
    const seen = [];
    store.subscribe((state) => seen.push({ loading: state.loading, inventory: state.inventory }));
    await store.refresh();
    assert.deepEqual(seen, [
      { loading: false, inventory: null },
      { loading: true, inventory: null },
      { loading: false, inventory: { hosts: [] } },
    ]);
    assert.equal(store.state.updatedAt, 42);
  });

  test("unsubscribe stops updates", async () => {
    const store = createAppStore({ loadInventory: async () => ({}) });
    let calls = 0;
    const unsubscribe = store.subscribe(() => {
      calls += 1;
    });
    unsubscribe();
    await store.refresh();
    assert.equal(calls, 1);
  });

  test("a failed refresh keeps the last inventory and records the error", async () => {
    let fail = false;
    const store = createAppStore({
      loadInventory: async () => {
        if (fail) {
          throw new Error("salt-api is not reachable");
        }
        return { n: 1 };
      },
    });
    await store.refresh();
    fail = true;
    await assert.rejects(store.refresh(), /not reachable/);
    assert.deepEqual(store.state.inventory, { n: 1 });
    assert.equal(store.state.error.message, "salt-api is not reachable");
    fail = false;
    await store.refresh();
    assert.equal(store.state.error, null);
  });

  test("refresh during a fetch queues exactly one more, whose data callers get", async () => {
    const loader = controlledLoader();
    const store = createAppStore({ loadInventory: loader.load });
    const first = store.refresh();
    const second = store.refresh();
    const third = store.refresh();
    assert.equal(second, third, "callers arriving during a fetch share the follow-up");
    assert.equal(loader.pending.length, 1);
    loader.pending[0].resolve("old");
    // Two loaded slices (inventory, installs): callers get both.
    assert.equal((await first).inventory, "old");
    await tick();
    assert.equal(loader.pending.length, 2, "the follow-up fetch starts after the first");
    loader.pending[1].resolve("new");
    assert.equal((await second).inventory, "new");
    assert.equal(store.state.inventory, "new");
  });

  test("act marks the VM busy, then clears it and refetches", async () => {
    let loads = 0;
    const store = createAppStore({
      loadInventory: async () => {
        loads += 1;
        return { loads };
      },
    });
    const busyDuringCall = [];
    const result = await store.act("lab-vm2", "shutdown", async () => {
      busyDuringCall.push({ ...store.state.busy });
      return { comment: "lab-vm2 was shut down" };
    });
    assert.deepEqual(busyDuringCall, [{ "lab-vm2": "shutdown" }]);
    assert.deepEqual(store.state.busy, {});
    assert.equal(result.comment, "lab-vm2 was shut down");
    assert.equal(loads, 1, "the inventory was refetched after the action");
  });

  test("a failing action still clears busy and refetches, then rethrows", async () => {
    let loads = 0;
    const store = createAppStore({
      loadInventory: async () => {
        loads += 1;
        return {};
      },
    });
    await assert.rejects(
      store.act("lab-vm1", "start", async () => {
        throw new Error("lab-vm1 is already running");
      }),
      /already running/,
    );
    assert.deepEqual(store.state.busy, {});
    assert.equal(loads, 1);
  });

  test("a second action on a busy VM is refused", async () => {
    const store = createAppStore({ loadInventory: async () => ({}) });
    let release;
    const running = store.act("lab-vm1", "reboot", () => new Promise((resolve) => (release = resolve)));
    await assert.rejects(store.act("lab-vm1", "pause", async () => ({})), /busy with reboot/);
    release({});
    await running;
  });

  test("reset forgets the inventory (sign-out)", async () => {
    const store = createAppStore({ loadInventory: async () => ({ secret: true }) });
    await store.refresh();
    store.reset();
    assert.equal(store.state.inventory, null);
    assert.equal(store.state.updatedAt, null);
  });
});

describe("autoRefresh", () => {
  function fakeDocument(visibilityState = "visible") {
    const listeners = new Set();
    return {
      visibilityState,
      addEventListener: (type, fn) => listeners.add(fn),
      removeEventListener: (type, fn) => listeners.delete(fn),
      setVisibility(state) {
        this.visibilityState = state;
        for (const fn of listeners) {
          fn();
        }
      },
      listeners,
    };
  }

  function countingStore() {
    const store = {
      calls: 0,
      state: { loading: false, updatedAt: 0 },
      refresh() {
        store.calls += 1;
        return Promise.resolve();
      },
    };
    return store;
  }

  test("refreshes every interval while visible, not while hidden, and stops", () => {
    mock.timers.enable({ apis: ["setInterval", "Date"] });
    try {
      const doc = fakeDocument();
      const store = countingStore();
      const stop = autoRefresh(store, 15000, doc);
      mock.timers.tick(15000);
      mock.timers.tick(15000);
      assert.equal(store.calls, 2);

      doc.setVisibility("hidden");
      mock.timers.tick(60000);
      assert.equal(store.calls, 2, "no refresh while the tab is hidden");

      store.state.updatedAt = Date.now() - 60000;
      doc.setVisibility("visible");
      assert.equal(store.calls, 3, "coming back to stale data refreshes at once");
      mock.timers.tick(15000);
      assert.equal(store.calls, 4);

      stop();
      mock.timers.tick(60000);
      assert.equal(store.calls, 4);
      assert.equal(doc.listeners.size, 0);
    } finally {
      mock.timers.reset();
    }
  });

  test("skips a tick while a refresh is still running", () => {
    mock.timers.enable({ apis: ["setInterval"] });
    try {
      const store = countingStore();
      store.state.loading = true;
      const stop = autoRefresh(store, 15000, fakeDocument());
      mock.timers.tick(15000);
      assert.equal(store.calls, 0);
      stop();
    } finally {
      mock.timers.reset();
    }
  });

  test("does not start its timer in a hidden tab", () => {
    mock.timers.enable({ apis: ["setInterval"] });
    try {
      const store = countingStore();
      const stop = autoRefresh(store, 15000, fakeDocument("hidden"));
      mock.timers.tick(45000);
      assert.equal(store.calls, 0);
      stop();
    } finally {
      mock.timers.reset();
    }
  });
});
