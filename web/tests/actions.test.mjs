import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ACTION_BY_ID, ACTIONS, disabledReason, isEnabled, offeredActions, roleName } from "../js/actions.js";
import { CALLS } from "../js/calls.js";
import { STATE_NAMES, VOCABULARY } from "../js/vocabulary.js";

// One table: the vocabulary (vocabulary.js, equal to Python's brine.vocabulary, which the
// host module refuses with). Every (action, state) pair is enabled exactly when the
// vocabulary allows it, so the browser offers what the host accepts.
describe("which actions make sense in which state: the vocabulary's table", () => {
  test("the buttons are exactly the vocabulary's actions, in its order", () => {
    assert.deepEqual(ACTIONS.map((action) => action.id), Object.keys(VOCABULARY.actions));
  });
  for (const state of [...STATE_NAMES, "no-such-state"]) {
    const expected = Object.keys(VOCABULARY.actions).filter((id) => VOCABULARY.actions[id].includes(state));
    test(`${state}: ${expected.join(", ") || "nothing"}`, () => {
      assert.deepEqual(ACTIONS.filter((action) => isEnabled(action, state)).map((action) => action.id), expected);
    });
  }
  test("crashed: force off is offered, start is not (the host refuses to start a crashed domain)", () => {
    assert.ok(isEnabled("force_off", "crashed"));
    assert.ok(!isEnabled("start", "crashed"));
  });
  test("suspended by its guest and shutting down: force off is offered", () => {
    assert.ok(isEnabled("force_off", "pmsuspended"));
    assert.ok(isEnabled("force_off", "shutdown"));
  });
  test("an unknown or missing state enables nothing", () => {
    assert.deepEqual(ACTIONS.filter((action) => isEnabled(action, undefined)), []);
  });
  test("accepts an id or a definition; unknown ids are never enabled", () => {
    assert.ok(isEnabled("start", "shutoff"));
    assert.ok(isEnabled(ACTION_BY_ID.start, "shutoff"));
    assert.ok(!isEnabled("migrate", "running"));
  });
  test("irreversible actions ask first, the others do not", () => {
    const confirmed = ACTIONS.filter((action) => action.confirm).map((action) => action.id);
    assert.deepEqual(confirmed, ["force_off", "delete"]);
  });
  test("a disabled button says what it needs, in the vocabulary's words", () => {
    assert.equal(disabledReason("start"), "Start needs the VM shut off.");
    assert.equal(disabledReason("delete"), "Delete needs the VM shut off.");
    assert.equal(disabledReason("shutdown"), "Shut down needs the VM running or shutting down.");
    assert.equal(
      disabledReason("force_off"),
      "Force off needs the VM running, paused, shutting down, crashed or suspended by its guest.",
    );
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
  test("every action makes the declared runner call of the same name", () => {
    for (const action of ACTIONS) {
      assert.equal(action.call, action.id);
      assert.equal(CALLS[action.call].action, action.id);
      assert.equal(action.fun, CALLS[action.call].fun);
      assert.equal(action.fun, `cluster.${action.id}`);
    }
  });
  test("every declared call that backs an action has its button", () => {
    for (const [id, spec] of Object.entries(CALLS)) {
      if (spec.action !== null) {
        assert.equal(ACTION_BY_ID[spec.action]?.call, id);
      }
    }
  });
});
