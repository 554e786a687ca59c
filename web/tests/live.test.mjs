// Brine events applied to the SPA's picture (live.js) and through the store (store.applyEvent).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { applyVmStateEvent, classifyTag, recount } from "../js/live.js";
import { applyMigrationEvent, migrationActive } from "../js/slices/migrations.js";
import { createAppStore } from "../js/slices/index.js";

const vm = (name, state, extra = {}) => ({ name, state, vcpus: 1, memory: 131072, ...extra });

function inventory() {
  return recount({
    collected: 1,
    hosts: [
      { name: "hv1", reachable: true, facts: { cpus: 2, memory_total: 1000000, memory_free: 500000 }, vms: [vm("lab-vm1", "running", { host: "hv1" }), vm("lab-vm3", "shutoff", { host: "hv1" })] },
      { name: "hv2", reachable: true, facts: { cpus: 2, memory_total: 1000000, memory_free: 500000 }, vms: [vm("lab-vm2", "running", { host: "hv2" })] },
      { name: "hv3", reachable: false, error: "did not answer", facts: null, vms: [] },
    ],
    totals: {},
  });
}

const stateEvent = (host, name, state, extra = {}) => [
  classifyTag(`brine/vm/${host}/${name}/state`),
  { host, name, event: extra.event ?? "x", state, reason: extra.reason ?? "user", vm: "vm" in extra ? extra.vm : vm(name, state) },
];

const where = (inv, name) =>
  inv.hosts.filter((h) => h.vms.some((v) => v.name === name)).map((h) => [h.name, h.vms.find((v) => v.name === name).state]);

describe("classifyTag", () => {
  test("the tags of docs/api.md", () => {
    assert.deepEqual(classifyTag("brine/vm/hv1/lab-vm1/state"), { kind: "vm-state", host: "hv1", vm: "lab-vm1" });
    assert.deepEqual(classifyTag("brine/host/hv2/resync"), { kind: "host", host: "hv2", what: "resync" });
    assert.deepEqual(classifyTag("brine/migration/mig-1-abc/progress"), { kind: "migration", id: "mig-1-abc", phase: "progress" });
    assert.deepEqual(classifyTag("salt/job/1/ret/hv1"), { kind: "other" });
    assert.deepEqual(classifyTag("salt/minion/hv1/start"), { kind: "host", host: "hv1", what: "minion-start" });
    assert.deepEqual(classifyTag("brine/vm/hv1/state"), { kind: "other" });
  });
});

describe("applyVmStateEvent", () => {
  test("a suspend on the host changes that VM's state and the counts", () => {
    const before = inventory();
    const after = applyVmStateEvent(before, ...stateEvent("hv1", "lab-vm1", "paused", { event: "suspended" }));
    assert.deepEqual(where(after, "lab-vm1"), [["hv1", "paused"]]);
    assert.equal(after.hosts[0].vms[0].host, "hv1");
    assert.equal(after.totals.vms_running, before.totals.vms_running); // paused is still active
    const stopped = applyVmStateEvent(after, ...stateEvent("hv1", "lab-vm1", "shutoff"));
    assert.equal(stopped.totals.vms_running, before.totals.vms_running - 1);
    assert.equal(stopped.hosts[0].facts.memory_allocated, 0);
    assert.equal(before.hosts[0].vms[0].state, "running", "the old picture is not mutated");
  });

  test("without a VM dict, state and reason still apply to the known VM", () => {
    const after = applyVmStateEvent(inventory(), ...stateEvent("hv1", "lab-vm3", "running", { vm: undefined, reason: "booted" }));
    assert.deepEqual(where(after, "lab-vm3"), [["hv1", "running"]]);
    assert.equal(after.hosts[0].vms[1].reason, "booted");
  });

  test("defined and undefined add and remove a VM", () => {
    const added = applyVmStateEvent(inventory(), ...stateEvent("hv2", "new-vm", "shutoff", { event: "defined" }));
    assert.deepEqual(where(added, "new-vm"), [["hv2", "shutoff"]]);
    assert.equal(added.totals.vms, 4);
    const removed = applyVmStateEvent(added, ...stateEvent("hv2", "new-vm", "shutoff", { event: "undefined", vm: null }));
    assert.deepEqual(where(removed, "new-vm"), []);
  });

  test("a live migration never shows the VM on two hosts, and ends on the target", () => {
    let inv = inventory();
    // target: defined + started paused (incoming); the source still runs it
    inv = applyVmStateEvent(inv, ...stateEvent("hv2", "lab-vm1", "paused", { event: "started", reason: "migration" }));
    assert.deepEqual(where(inv, "lab-vm1"), [["hv1", "running"]]);
    // switch-over: the target resumes it
    inv = applyVmStateEvent(inv, ...stateEvent("hv2", "lab-vm1", "running", { event: "resumed", reason: "migrated" }));
    assert.deepEqual(where(inv, "lab-vm1"), [["hv2", "running"]]);
    // the source's late stopped/undefined do not take it away from hv2
    inv = applyVmStateEvent(inv, ...stateEvent("hv1", "lab-vm1", "shutoff", { event: "stopped", reason: "migrated" }));
    inv = applyVmStateEvent(inv, ...stateEvent("hv1", "lab-vm1", "shutoff", { event: "undefined", vm: null }));
    assert.deepEqual(where(inv, "lab-vm1"), [["hv2", "running"]]);
    assert.equal(inv.hosts[0].facts.vms_running, 0);
    assert.equal(inv.hosts[1].facts.vms_running, 2);
  });

  test("events from unknown or unreachable hosts change nothing", () => {
    const before = inventory();
    assert.equal(applyVmStateEvent(before, ...stateEvent("hv9", "lab-vm1", "paused")), before);
    assert.equal(applyVmStateEvent(before, ...stateEvent("hv3", "lab-vm1", "paused")), before);
    assert.equal(applyVmStateEvent(null, ...stateEvent("hv1", "lab-vm1", "paused")), null);
  });
});

describe("applyMigrationEvent", () => {
  const tag = (id, phase) => classifyTag(`brine/migration/${id}/${phase}`);
  const base = { id: "m1", vm: "lab-vm1", source: "hv1", target: "hv2" };

  test("started -> progress -> done, matched by VM name to the record the UI started", () => {
    let migrations = { "lab-vm1": { vm: "lab-vm1", phase: "starting", target: "hv2" } };
    migrations = applyMigrationEvent(migrations, tag("m1", "started"), { ...base, options: { live: true } });
    assert.equal(migrations["lab-vm1"].phase, "running");
    assert.equal(migrations["lab-vm1"].id, "m1");
    migrations = applyMigrationEvent(migrations, tag("m1", "progress"), { ...base, percent: 42, data_remaining: 1000, elapsed: 1.5 });
    assert.equal(migrations["lab-vm1"].percent, 42);
    assert.equal(migrationActive(migrations["lab-vm1"]), true);
    migrations = applyMigrationEvent(migrations, tag("m1", "done"), { ...base, total_time: 2.1, downtime: 45 });
    assert.deepEqual(
      [migrations["lab-vm1"].phase, migrations["lab-vm1"].percent, migrations["lab-vm1"].downtime],
      ["done", 100, 45],
    );
    assert.equal(migrationActive(migrations["lab-vm1"]), false);
    // a late progress event does not bring it back
    const late = applyMigrationEvent(migrations, tag("m1", "progress"), { ...base, percent: 90 });
    assert.equal(late, migrations);
  });

  test("failed carries the sentence and whether it was aborted", () => {
    const migrations = applyMigrationEvent({}, tag("m2", "failed"), { ...base, id: "m2", error: "hv2 went away", aborted: false });
    assert.equal(migrations["lab-vm1"].phase, "failed");
    assert.equal(migrations["lab-vm1"].error, "hv2 went away");
  });

  test("another migration's events do not mix into the running one; a new one after the end does", () => {
    const running = { "lab-vm1": { ...base, phase: "running", percent: 10 } };
    assert.equal(applyMigrationEvent(running, tag("other", "progress"), { ...base, id: "other", percent: 99 }), running);
    const finished = { "lab-vm1": { ...base, phase: "done" } };
    const next = applyMigrationEvent(finished, tag("m3", "started"), { ...base, id: "m3", target: "hv1", source: "hv2" });
    assert.deepEqual([next["lab-vm1"].id, next["lab-vm1"].phase, next["lab-vm1"].target], ["m3", "running", "hv1"]);
  });
});

describe("store.applyEvent", () => {
  test("a VM state event changes the store's picture at once, without a fetch", async () => {
    let loads = 0;
    const store = createAppStore({ loadInventory: async () => { loads += 1; return inventory(); } });
    await store.refresh();
    store.applyEvent("brine/vm/hv1/lab-vm1/state", stateEvent("hv1", "lab-vm1", "paused")[1]);
    assert.deepEqual(where(store.state.inventory, "lab-vm1"), [["hv1", "paused"]]);
    assert.equal(loads, 1);
  });

  test("a host resync refetches the inventory", async () => {
    let loads = 0;
    const store = createAppStore({ loadInventory: async () => { loads += 1; return inventory(); } });
    await store.refresh();
    store.applyEvent("brine/host/hv2/resync", { host: "hv2", reason: "reconnected" });
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(loads, 2);
  });

  test("an event arriving during a fetch is applied again on top of the fetched (older) answer", async () => {
    let release;
    let calls = 0;
    const store = createAppStore({
      loadInventory: () => {
        calls += 1;
        return calls === 1 ? Promise.resolve(inventory()) : new Promise((resolve) => { release = resolve; });
      },
    });
    await store.refresh();
    const pending = store.refresh();
    store.applyEvent("brine/vm/hv1/lab-vm1/state", stateEvent("hv1", "lab-vm1", "paused")[1]);
    release(inventory()); // read before the suspend
    await pending;
    assert.deepEqual(where(store.state.inventory, "lab-vm1"), [["hv1", "paused"]]);
  });

  test("migration events fill the VM's record; the end refetches", async () => {
    let loads = 0;
    const store = createAppStore({ loadInventory: async () => { loads += 1; return inventory(); } });
    await store.refresh();
    store.dispatch("migrations", { type: "requested", vm: "lab-vm1", source: "hv1", target: "hv2" });
    store.applyEvent("brine/migration/m1/progress", { id: "m1", vm: "lab-vm1", source: "hv1", target: "hv2", percent: 50 });
    assert.equal(store.state.migrations["lab-vm1"].percent, 50);
    store.applyEvent("brine/migration/m1/done", { id: "m1", vm: "lab-vm1", source: "hv1", target: "hv2", total_time: 2, downtime: 30 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(store.state.migrations["lab-vm1"].phase, "done");
    assert.equal(loads, 2);
  });
});
