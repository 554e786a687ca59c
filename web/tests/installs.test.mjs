// Install tracking (js/installs.js, js/slices/installs.js): brine/vm/<host>/<vm>/install events
// on a VM record and on the records of installs, through the app's store as the stream feeds it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  applyInstallEvent,
  installLabel,
  installOf,
  installRecords,
  mergeInstall,
  nextInstall,
  orphanInstalls,
  reduceInstalls,
} from "../js/installs.js";
import { applyVmStateEvent, classifyTag } from "../js/live.js";
import { createAppStore } from "../js/slices/index.js";

const vm = (name, extra = {}) => ({ name, state: "running", vcpus: 1, memory: 131072, host: "hv1", ...extra });
const inventory = (vms = [vm("web1", { install: { state: "installing", progress: null, step: null, reason: null } }), vm("db1")]) => ({
  collected: 1,
  hosts: [{ name: "hv1", reachable: true, error: null, facts: { cpus: 2, memory_total: 1, memory_free: 1 }, vms }],
  totals: {},
});
const about = (name, host = "hv1") => /** @type {{host: string, vm: string}} */ (classifyTag(`brine/vm/${host}/${name}/install`));
const event = (name, state, extra = {}) => ({ host: "hv1", name, state, progress: null, step: null, reason: null, ...extra });
const web1 = (inv) => inv.hosts[0].vms.find((entry) => entry.name === "web1");

describe("the tag", () => {
  test("brine/vm/<host>/<vm>/install is a VM's install", () => {
    assert.deepEqual(classifyTag("brine/vm/hv1/web1/install"), { kind: "vm-install", host: "hv1", vm: "web1" });
    assert.deepEqual(classifyTag("brine/vm/hv1/install"), { kind: "other" });
  });
});

describe("applyInstallEvent: a VM record's install", () => {
  test("installing with progress and step, then running clears it", () => {
    let inv = applyInstallEvent(inventory(), about("web1"), event("web1", "installing", { progress: 40, step: "Installing packages" }));
    assert.deepEqual(web1(inv).install, { state: "installing", progress: 40, step: "Installing packages", reason: null });
    assert.equal(web1(inv).state, "running", "the libvirt state is left as it is");
    inv = applyInstallEvent(inv, about("web1"), event("web1", "installing", { progress: null, step: null }));
    assert.deepEqual(web1(inv).install, { state: "installing", progress: 40, step: "Installing packages", reason: null }, "an event without progress keeps it");
    inv = applyInstallEvent(inv, about("web1"), event("web1", "running"));
    assert.equal(web1(inv).install, null);
  });
  test("failed sets the reason", () => {
    const inv = applyInstallEvent(inventory(), about("web1"), event("web1", "failed", { reason: "no space left on device" }));
    assert.deepEqual(web1(inv).install, { state: "failed", progress: null, step: null, reason: "no space left on device" });
  });
  test("unknown VMs, hosts and states change nothing (same object)", () => {
    const inv = inventory();
    assert.equal(applyInstallEvent(inv, about("nope"), event("nope", "installing")), inv);
    assert.equal(applyInstallEvent(inv, about("web1", "hv9"), event("web1", "installing", { host: "hv9" })), inv);
    assert.equal(applyInstallEvent(inv, about("web1"), event("web1", "dancing")), inv);
    assert.equal(applyInstallEvent(null, about("web1"), event("web1", "installing")), null);
    const same = applyInstallEvent(inv, about("web1"), event("web1", "installing"));
    assert.equal(same, inv, "an installing event that says what is known already changes nothing");
  });
  test("progress is a percentage 0..100", () => {
    assert.equal(nextInstall(null, { state: "installing", progress: 140 })?.progress, 100);
    assert.equal(nextInstall(null, { state: "installing", progress: "12.6" })?.progress, 13);
    assert.equal(nextInstall(null, { state: "installing", progress: "lots" })?.progress, null);
  });
});

describe("a VM's state event keeps the install continuous", () => {
  test("a VM dict without progress keeps what install events said; one without install keeps it all", () => {
    const inv = applyInstallEvent(inventory(), about("web1"), event("web1", "installing", { progress: 70, step: "Writing" }));
    const stateAbout = /** @type {any} */ (classifyTag("brine/vm/hv1/web1/state"));
    const fromHost = vm("web1", { install: { state: "installing", progress: null, step: null, reason: null } });
    let next = applyVmStateEvent(inv, stateAbout, { host: "hv1", name: "web1", event: "resumed", state: "running", vm: fromHost });
    assert.deepEqual(web1(next).install, { state: "installing", progress: 70, step: "Writing", reason: null });
    next = applyVmStateEvent(inv, stateAbout, { host: "hv1", name: "web1", event: "resumed", state: "running", vm: vm("web1") });
    assert.equal(web1(next).install.progress, 70);
    next = applyVmStateEvent(inv, stateAbout, { host: "hv1", name: "web1", event: "started", state: "running", vm: vm("web1", { install: null }) });
    assert.equal(web1(next).install, null, "the host saying null ends it");
  });
  test("mergeInstall: nothing said and nothing known stays unsaid", () => {
    assert.equal(mergeInstall(undefined, vm("x")), undefined);
    assert.equal(mergeInstall(undefined, vm("x", { install: null })), null);
  });
});

describe("how an install reads", () => {
  test("installOf and installLabel", () => {
    assert.equal(installOf(vm("x")), null);
    assert.equal(installOf(vm("x", { install: { state: "weird" } })), null);
    const installing = /** @type {any} */ (installOf(vm("x", { install: { state: "installing", progress: 40, step: "Packages" } })));
    assert.deepEqual(installLabel(installing), { label: "Installing 40%", tone: "info", detail: "Packages" });
    assert.deepEqual(installLabel({ state: "installing", progress: null, step: null, reason: null }), { label: "Installing", tone: "info", detail: null });
    assert.deepEqual(installLabel({ state: "failed", progress: 10, step: null, reason: "bad kickstart" }), {
      label: "Install failed",
      tone: "danger",
      detail: "bad kickstart",
    });
  });
});

describe("the records of installs", () => {
  const ANSWER = { installs: [{ host: "hv1", name: "gone1", state: "failed", reason: "no disk", at: 1700000000 }, { host: 3 }] };

  test("installRecords reads provision.installs' answer; junk is left out", () => {
    assert.deepEqual(installRecords(ANSWER), [{ host: "hv1", name: "gone1", state: "failed", reason: "no disk", at: 1700000000, progress: null, step: null }]);
    assert.equal(installRecords(null), null);
    assert.equal(installRecords({ other: 1 }), null);
  });
  test("events add, update and remove records; a dismissal removes one", () => {
    let records = reduceInstalls(null, { type: "event", data: event("web1", "installing", { progress: 5 }), at: 10 });
    assert.deepEqual(records, [{ host: "hv1", name: "web1", state: "installing", progress: 5, step: null, reason: null, at: 10 }]);
    records = reduceInstalls(records, { type: "event", data: event("web1", "failed", { reason: "kickstart refused" }), at: 20 });
    assert.deepEqual(records, [{ host: "hv1", name: "web1", state: "failed", progress: 5, step: null, reason: "kickstart refused", at: 20 }]);
    records = reduceInstalls(records, { type: "dismissed", host: "hv1", name: "web1" });
    assert.deepEqual(records, []);
    const two = reduceInstalls(installRecords(ANSWER), { type: "event", data: event("web2", "installing"), at: 1 });
    assert.deepEqual(reduceInstalls(two, { type: "event", data: event("web2", "running"), at: 2 })?.map((r) => r.name), ["gone1"]);
    assert.equal(reduceInstalls(two, { type: "dismissed", host: "hv2", name: "gone1" }), two, "another host's VM of that name is not it");
  });
  test("orphanInstalls: only the records no VM of the inventory stands for", () => {
    const records = [
      { host: "hv1", name: "web1", state: "failed", reason: "x", at: 1 },
      { host: "hv1", name: "gone1", state: "failed", reason: "y", at: 2 },
      { host: "hv2", name: "db1", state: "failed", reason: "z", at: 3 },
    ];
    assert.deepEqual(orphanInstalls(records, inventory()).map((r) => `${r.host}/${r.name}`), ["hv2/db1", "hv1/gone1"]);
    assert.deepEqual(orphanInstalls(null, inventory()), []);
  });
});

describe("through the app's store, as the stream delivers them", () => {
  test("installing -> running on the VM; failed with the domain removed stays as a record until dismissed", async () => {
    const store = createAppStore({
      loadInventory: async () => inventory(),
      loadInstalls: async () => ({ installs: [] }),
      now: () => 5,
    });
    await store.refresh();
    assert.deepEqual(store.state.installs, []);
    store.applyEvent("brine/vm/hv1/web1/install", event("web1", "installing", { progress: 30, step: "Partitioning" }));
    assert.deepEqual(web1(store.state.inventory).install, { state: "installing", progress: 30, step: "Partitioning", reason: null });
    store.applyEvent("brine/vm/hv1/web1/install", event("web1", "running"));
    assert.equal(web1(store.state.inventory).install, null);
    assert.deepEqual(store.state.installs, []);

    store.applyEvent("brine/vm/hv1/db1/install", event("db1", "failed", { reason: "installer crashed" }));
    store.applyEvent("brine/vm/hv1/db1/state", { host: "hv1", name: "db1", event: "undefined", state: null, vm: null });
    assert.equal(store.state.inventory.hosts[0].vms.some((entry) => entry.name === "db1"), false);
    const orphans = orphanInstalls(store.state.installs, store.state.inventory);
    assert.deepEqual(orphans.map((r) => [r.name, r.state, r.reason]), [["db1", "failed", "installer crashed"]]);
    store.dispatch("installs", { type: "dismissed", host: "hv1", name: "db1" });
    assert.deepEqual(store.state.installs, []);
  });
  test("a user who may not read installs: the slice stays null and the inventory still loads", async () => {
    const store = createAppStore({ loadInventory: async () => inventory() });
    await store.refresh();
    assert.equal(store.state.installs, null);
    assert.ok(store.state.inventory);
  });
});
