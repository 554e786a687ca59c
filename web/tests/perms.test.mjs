import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { mayCall, reMatch } from "../js/perms.js";

// The perms salt-api returns at /login for Brine's three PAM groups (docs/api.md, "Roles").
const VIEWER = [{ "@runner": ["cluster.inventory", "cluster.vm_info"] }];
const OPERATOR = [
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
const ADMIN = [{ "@runner": ["cluster.*"] }];

describe("reMatch follows Python's re.match", () => {
  test("anchored at the start", () => {
    assert.ok(reMatch("cluster.*", "cluster.delete"));
    assert.ok(!reMatch("cluster.*", "mycluster.delete"));
  });
  test("not anchored at the end (a prefix matches, as in Salt)", () => {
    assert.ok(reMatch("cluster.start", "cluster.start_all"));
  });
  test("alternation is grouped before anchoring", () => {
    assert.ok(reMatch("cluster.start|cluster.shutdown", "cluster.shutdown"));
    assert.ok(!reMatch("cluster.start|cluster.shutdown", "other.cluster.shutdown"));
  });
  test("an explicit end anchor is honoured", () => {
    assert.ok(!reMatch("cluster\\.start$", "cluster.start_all"));
    assert.ok(reMatch("cluster\\.start\\Z", "cluster.start"));
  });
  test("Python named groups work", () => {
    assert.ok(reMatch("(?P<mod>cluster)\\.(?P=mod)?start", "cluster.start"));
  });
  test("an invalid expression matches nothing", () => {
    assert.ok(!reMatch("cluster.(", "cluster.("));
  });
});

describe("mayCall with Brine's roles", () => {
  test("viewer: inventory and vm_info only", () => {
    assert.ok(mayCall(VIEWER, "cluster.inventory"));
    assert.ok(mayCall(VIEWER, "cluster.vm_info"));
    for (const fun of ["cluster.start", "cluster.shutdown", "cluster.force_off", "cluster.delete"]) {
      assert.ok(!mayCall(VIEWER, fun), fun);
    }
  });
  test("operator: power actions but not delete", () => {
    for (const fun of ["start", "shutdown", "force_off", "reboot", "pause", "resume"]) {
      assert.ok(mayCall(OPERATOR, `cluster.${fun}`), fun);
    }
    assert.ok(!mayCall(OPERATOR, "cluster.delete"));
  });
  test("admin: the cluster.* glob covers everything in the cluster runner", () => {
    assert.ok(mayCall(ADMIN, "cluster.delete"));
    assert.ok(mayCall(ADMIN, "cluster.shutdown"));
    assert.ok(!mayCall(ADMIN, "state.orchestrate"));
  });
  test("runner perms do not apply to the wheel client", () => {
    assert.ok(!mayCall(ADMIN, "cluster.delete", { client: "wheel" }));
  });
});

describe("mayCall with other shapes Salt accepts", () => {
  test("bare @runner and @runners allow every runner function", () => {
    assert.ok(mayCall(["@runner"], "cluster.delete"));
    assert.ok(mayCall(["@runners"], "cluster.delete"));
    assert.ok(mayCall([{ "@runners": ["cluster.*"] }], "cluster.start"));
  });
  test("@<module> entries match the function name within the module", () => {
    assert.ok(mayCall(["@cluster"], "cluster.delete"));
    assert.ok(mayCall([{ "@cluster": ["inventory", "vm_.*"] }], "cluster.vm_info"));
    assert.ok(!mayCall([{ "@cluster": ["inventory"] }], "cluster.start"));
    assert.ok(!mayCall([{ "@jobs": [".*"] }], "cluster.start"));
  });
  test("minion-target entries (for the local client) grant no runner function", () => {
    assert.ok(!mayCall(["*", { "*": [".*"] }, ".*"], "cluster.start"));
  });
  test("a single pattern instead of a list", () => {
    assert.ok(mayCall([{ "@runner": "cluster.start" }], "cluster.start"));
  });
  test("argument conditions are checked against the kwargs the SPA sends", () => {
    const perms = [{ "@runner": [{ "cluster.start": { kwargs: { name: "lab-.*" } } }] }];
    assert.ok(mayCall(perms, "cluster.start", { kwarg: { name: "lab-vm1" } }));
    assert.ok(!mayCall(perms, "cluster.start", { kwarg: { name: "prod-db" } }));
    assert.ok(!mayCall(perms, "cluster.start", { kwarg: {} }));
    const anyName = [{ "@runner": [{ "cluster.start": { kwargs: { name: null } } }] }];
    assert.ok(mayCall(anyName, "cluster.start", { kwarg: { name: "whatever" } }));
  });
  test("positional argument conditions need those arguments", () => {
    const perms = [{ "@runner": [{ "cluster.start": [{ args: ["lab-.*"] }] }] }];
    assert.ok(mayCall(perms, "cluster.start", { arg: ["lab-vm1"] }));
    assert.ok(!mayCall(perms, "cluster.start", { kwarg: { name: "lab-vm1" } }));
  });
  test("empty, missing or malformed perms allow nothing", () => {
    assert.ok(!mayCall([], "cluster.inventory"));
    assert.ok(!mayCall({}, "cluster.inventory")); // salt-api sends {} when there are none
    assert.ok(!mayCall(null, "cluster.inventory"));
    assert.ok(!mayCall([{ "@runner": ["x"], "@wheel": ["y"] }], "cluster.inventory"));
  });
  test("a function name must be module.function", () => {
    assert.ok(!mayCall(ADMIN, "cluster"));
    assert.ok(!mayCall(ADMIN, "cluster.a.b"));
  });
});
