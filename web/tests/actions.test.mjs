import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ACTIONS, disabledReason, isEnabled, offeredActions, roleName } from "../js/actions.js";

const STATES = ["running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended", "nostate"];

function enabledFor(state) {
  return ACTIONS.filter((action) => isEnabled(action, state)).map((action) => action.id);
}

describe("which actions make sense in which state", () => {
  test("running: shut down, reboot, pause, force off", () => {
    assert.deepEqual(enabledFor("running"), ["shutdown", "reboot", "pause", "force_off"]);
  });
  test("blocked counts as running", () => {
    assert.deepEqual(enabledFor("blocked"), enabledFor("running"));
  });
  test("paused: resume or force off", () => {
    assert.deepEqual(enabledFor("paused"), ["resume", "force_off"]);
  });
  test("shut off: start or delete", () => {
    assert.deepEqual(enabledFor("shutoff"), ["start", "delete"]);
  });
  test("crashed: start only (delete needs shut off)", () => {
    assert.deepEqual(enabledFor("crashed"), ["start"]);
  });
  test("shutting down: only force off, for a guest that ignores ACPI", () => {
    assert.deepEqual(enabledFor("shutdown"), ["force_off"]);
  });
  test("no state: nothing", () => {
    assert.deepEqual(enabledFor("nostate"), []);
    assert.deepEqual(enabledFor(undefined), []);
  });
  test("delete is only ever enabled when shut off", () => {
    assert.deepEqual(STATES.filter((state) => isEnabled("delete", state)), ["shutoff"]);
  });
  test("start is never enabled while the VM runs", () => {
    assert.ok(!isEnabled("start", "running"));
    assert.ok(!isEnabled("start", "paused"));
  });
  test("accepts an id or a definition; unknown ids are never enabled", () => {
    assert.ok(isEnabled("start", "shutoff"));
    assert.ok(!isEnabled("migrate", "running"));
  });
  test("irreversible actions ask first, the others do not", () => {
    const confirmed = ACTIONS.filter((action) => action.confirm).map((action) => action.id);
    assert.deepEqual(confirmed, ["force_off", "delete"]);
  });
  test("a disabled button says what it needs", () => {
    assert.equal(disabledReason("start"), "Start needs the VM shut off or crashed.");
    assert.equal(disabledReason("delete"), "Delete needs the VM shut off.");
  });
});

describe("which actions a role offers", () => {
  const operator = [
    {
      "@runner": [
        "cluster.inventory",
        "cluster.vm_info",
        "cluster.start",
        "cluster.shutdown",
        "cluster.force_off",
        "cluster.reboot",
        "cluster.pause",
        "cluster.resume",
      ],
    },
  ];
  test("viewer: none at all", () => {
    assert.deepEqual(offeredActions([{ "@runner": ["cluster.inventory", "cluster.vm_info"] }], "lab-vm1"), []);
  });
  test("operator: everything but delete", () => {
    assert.deepEqual(
      offeredActions(operator, "lab-vm1").map((action) => action.id),
      ["start", "shutdown", "reboot", "pause", "resume", "force_off"],
    );
  });
  test("admin: all seven", () => {
    assert.equal(offeredActions([{ "@runner": ["cluster.*"] }], "lab-vm1").length, 7);
  });
  test("an ACL restricted by VM name offers actions only for matching VMs", () => {
    const perms = [{ "@runner": ["cluster.inventory", { "cluster.start": { kwargs: { name: "lab-.*" } } }] }];
    assert.deepEqual(offeredActions(perms, "lab-vm3").map((action) => action.id), ["start"]);
    assert.deepEqual(offeredActions(perms, "prod-db"), []);
  });
  test("roleName", () => {
    assert.equal(roleName([{ "@runner": ["cluster.*"] }]), "admin");
    assert.equal(roleName(operator), "operator");
    assert.equal(roleName([{ "@runner": ["cluster.inventory"] }]), "viewer");
  });
  test("every action calls the cluster runner function of the same name", () => {
    for (const action of ACTIONS) {
      assert.equal(action.fun, `cluster.${action.id}`);
    }
  });
});
