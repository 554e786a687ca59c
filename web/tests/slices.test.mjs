// Store slices registered per resource (store.js) and the one migration reducer
// (slices/migrations.js).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { createAppStore } from "../js/slices/index.js";
import { migrationsSlice, reduceMigrations } from "../js/slices/migrations.js";
import { createStore } from "../js/store.js";

/** A made-up resource, as a future one (networks) would be registered. */
function networksSlice(load) {
  return {
    name: "networks",
    initial: [],
    load,
    applyEvent: (networks, event) =>
      event.tag === "brine/network/net1/up" ? networks.map((n) => (n.name === "net1" ? { ...n, up: true } : n)) : networks,
    refreshAfter: (event) => event.tag === "brine/network/resync",
  };
}

describe("createStore with slices", () => {
  test("each slice starts at its initial value", () => {
    const store = createStore({ slices: [networksSlice(async () => []), migrationsSlice] });
    assert.deepEqual(store.state.networks, []);
    assert.deepEqual(store.state.migrations, {});
    assert.equal(store.state.loading, false);
  });
  test("a new resource is one more slice: loaded on refresh, kept fresh by its events", async () => {
    let loads = 0;
    const store = createStore({
      slices: [networksSlice(async () => { loads += 1; return [{ name: "net1", up: false }]; }), migrationsSlice],
      now: () => 7,
    });
    await store.refresh();
    assert.deepEqual(store.state.networks, [{ name: "net1", up: false }]);
    store.applyEvent("brine/network/net1/up", {});
    assert.deepEqual(store.state.networks, [{ name: "net1", up: true }]);
    assert.equal(store.state.updatedAt, 7);
    store.applyEvent("brine/network/resync", {});
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(loads, 2);
  });
  test("refresh loads every loaded slice; reset returns them all to initial", async () => {
    const store = createStore({
      slices: [networksSlice(async () => [{ name: "net1" }]), { name: "pools", initial: null, load: async () => ["default"] }],
    });
    const loaded = await store.refresh();
    assert.deepEqual(loaded, { networks: [{ name: "net1" }], pools: ["default"] });
    assert.deepEqual(store.state.pools, ["default"]);
    store.reset();
    assert.deepEqual(store.state.networks, []);
    assert.equal(store.state.pools, null);
  });
  test("slice names cannot clash with each other or with the store's own keys", () => {
    assert.throws(() => createStore({ slices: [{ name: "busy", initial: null }] }), /cannot be named/);
    assert.throws(() => createStore({ slices: [migrationsSlice, migrationsSlice] }), /cannot be named/);
  });
  test("dispatch goes to the slice's reducer; a slice without one refuses", () => {
    const store = createAppStore({ loadInventory: async () => ({ hosts: [] }) });
    store.dispatch("migrations", { type: "requested", vm: "lab-vm1", source: "hv1", target: "hv2" });
    assert.equal(store.state.migrations["lab-vm1"].phase, "starting");
    const plain = createStore({ slices: [{ name: "plain", initial: null }] });
    assert.throws(() => plain.dispatch("plain", { type: "x" }), /no slice "plain" that takes actions/);
    assert.throws(() => store.dispatch("nothing", { type: "x" }), /no slice "nothing" that takes actions/);
  });
});

describe("reduceMigrations: the one owner of a migration record", () => {
  const requested = reduceMigrations({}, { type: "requested", vm: "lab-vm1", source: "hv1", target: "hv2" });

  test("requested: a fresh starting record", () => {
    assert.deepEqual(
      { ...requested["lab-vm1"] },
      {
        id: null, vm: "lab-vm1", source: "hv1", target: "hv2", phase: "starting", percent: null, error: null,
        aborted: false, total_time: undefined, downtime: undefined, elapsed: undefined, data_remaining: undefined,
        dirty_rate: undefined, expected_downtime: undefined,
      },
    );
    assert.ok(Object.isFrozen(requested));
  });
  test("events move it along; the call's answer settles it", () => {
    let m = reduceMigrations(requested, { type: "event", about: { id: "m1", phase: "progress" }, data: { vm: "lab-vm1", percent: 40 } });
    assert.equal(m["lab-vm1"].phase, "running");
    assert.equal(m["lab-vm1"].percent, 40);
    m = reduceMigrations(m, { type: "answered", vm: "lab-vm1", result: { id: "m1", total_time: 3, downtime: 20 } });
    assert.deepEqual([m["lab-vm1"].phase, m["lab-vm1"].percent, m["lab-vm1"].total_time, m["lab-vm1"].downtime], ["done", 100, 3, 20]);
  });
  test("refused: failed with the call's sentence, unless an event already said more", () => {
    let m = reduceMigrations(requested, { type: "refused", vm: "lab-vm1", error: "hv2 is unreachable" });
    assert.deepEqual([m["lab-vm1"].phase, m["lab-vm1"].error, m["lab-vm1"].aborted], ["failed", "hv2 is unreachable", false]);
    m = reduceMigrations(requested, { type: "event", about: { id: "m1", phase: "failed" }, data: { vm: "lab-vm1", error: "libvirt said no" } });
    m = reduceMigrations(m, { type: "refused", vm: "lab-vm1", error: "Migration failed" });
    assert.equal(m["lab-vm1"].error, "libvirt said no");
  });
  test("aborting, then refused: aborted; an abort that fails goes back to running", () => {
    const aborting = reduceMigrations(requested, { type: "aborting", vm: "lab-vm1" });
    assert.equal(aborting["lab-vm1"].phase, "aborting");
    assert.equal(reduceMigrations(aborting, { type: "refused", vm: "lab-vm1", error: "x" })["lab-vm1"].aborted, true);
    assert.equal(reduceMigrations(aborting, { type: "abort-refused", vm: "lab-vm1" })["lab-vm1"].phase, "running");
    assert.equal(reduceMigrations(requested, { type: "abort-refused", vm: "lab-vm1" }), requested);
  });
  test("dismiss removes it; unknown actions and VMs change nothing", () => {
    assert.deepEqual(reduceMigrations(requested, { type: "dismiss", vm: "lab-vm1" }), {});
    assert.equal(reduceMigrations(requested, { type: "dismiss", vm: "lab-vm9" }), requested);
    assert.equal(reduceMigrations(requested, /** @type {any} */ ({ type: "nonsense", vm: "lab-vm1" })), requested);
  });
});
