// The provision runner's calls as calls.js declares them (docs/provisioning.md, Runner
// provision): exact function names, exact kwargs, and who may make them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { CALLS, callSpec } from "../js/calls.js";
import { mayRun } from "../js/perms.js";
import { createRequest, emptyValues, withPasswordHash } from "../js/provision.js";
import { hashPassword } from "../js/sha512crypt.js";

const kwargsOf = (id, args) => callSpec(id).kwargs(args);

describe("the provision calls", () => {
  test("each is the runner function the contract names", () => {
    const funs = Object.fromEntries(
      ["catalog", "catalog_set", "catalog_delete", "kickstarts", "create", "installs", "dismiss"].map((id) => [id, CALLS[id].fun]),
    );
    assert.deepEqual(funs, {
      catalog: "provision.catalog",
      catalog_set: "provision.catalog_set",
      catalog_delete: "provision.catalog_delete",
      kickstarts: "provision.kickstarts",
      create: "provision.create",
      installs: "provision.installs",
      dismiss: "provision.dismiss",
    });
    for (const id of Object.keys(funs)) {
      assert.equal(CALLS[id].client, "runner");
    }
  });
  test("catalog: one kind, or none for all", () => {
    assert.equal(kwargsOf("catalog", {}), undefined);
    assert.deepEqual(kwargsOf("catalog", { kind: "profiles" }), { kind: "profiles" });
  });
  test("catalog_set: kind, name and the whole fields; no field can change kind or name", () => {
    assert.deepEqual(kwargsOf("catalog_set", { kind: "profiles", name: "small", fields: { memory: 2048, vcpus: 2, disk: 20 } }), {
      memory: 2048,
      vcpus: 2,
      disk: 20,
      kind: "profiles",
      name: "small",
    });
    assert.deepEqual(kwargsOf("catalog_set", { kind: "views", name: "base", fields: { kind: "x", name: "y", products: ["a"] } }), {
      kind: "views",
      name: "base",
      products: ["a"],
    });
    const placement = { kind: "grain", key: "brine:rack", value: "r1" };
    assert.deepEqual(kwargsOf("catalog_set", { kind: "host_groups", name: "web", fields: { placement } }).placement, placement);
  });
  test("catalog_delete and dismiss: exactly their two arguments", () => {
    assert.deepEqual(kwargsOf("catalog_delete", { kind: "products", name: "baseos", target: "x" }), { kind: "products", name: "baseos" });
    assert.deepEqual(kwargsOf("dismiss", { name: "web1", host: "hv1", target: "x" }), { name: "web1", host: "hv1" });
  });
  test("kickstarts and installs take nothing", () => {
    assert.equal(kwargsOf("kickstarts", { name: "x" }), undefined);
    assert.equal(kwargsOf("installs", { name: "x" }), undefined);
  });
  test("create: name, the parts given, keep_failed and test; unset parts and unknown keys are left out", () => {
    const kwargs = kwargsOf("create", {
      name: "web1",
      options: { host_group: "web", memory: 4096, pool: "", network: null, host: undefined, ssh_key: "ssh-ed25519 AAAA x", keep_failed: true, color: "red" },
      test: true,
    });
    assert.deepEqual(kwargs, { name: "web1", host_group: "web", memory: 4096, ssh_key: "ssh-ed25519 AAAA x", keep_failed: true, test: true });
    assert.deepEqual(kwargsOf("create", { name: "web1", options: { host_group: "web" } }), {
      name: "web1",
      host_group: "web",
      keep_failed: false,
      test: false,
    });
  });
  test("create never sends a password, whatever the dialog holds: only password_hash goes", () => {
    const kwargs = kwargsOf("create", {
      name: "web1",
      options: { host_group: "web", password: "hunter2", password_confirm: "hunter2", root_password: "hunter2", password_hash: "$6$abc$def" },
    });
    assert.ok(!JSON.stringify(kwargs).includes("hunter2"));
    assert.equal(kwargs.password_hash, "$6$abc$def");
  });
});

describe("no plaintext password in any call's kwargs", () => {
  const PLAINTEXT = "Plain-Text-Secret-42";
  const catalog = {
    profiles: { small: { memory: 2048, vcpus: 2, disk: 20 } },
    host_groups: { web: { profile: "small", os_tree: "rhel9", activation_key: null, network: "default", pool: "default", placement: { kind: "any" } } },
  };

  test("the dialog's request, hashed as the dialog does, carries only the hash: test call and real call", async () => {
    const values = { ...emptyValues(), name: "web1", host_group: "web", password: PLAINTEXT, password_confirm: PLAINTEXT };
    const request = createRequest(values, catalog);
    assert.ok("options" in request);
    assert.equal(request.password, PLAINTEXT);
    assert.ok(!JSON.stringify(request.options).includes(PLAINTEXT));
    const options = withPasswordHash(request.options, await hashPassword(/** @type {string} */ (request.password)));
    for (const test of [true, false]) {
      const kwargs = kwargsOf("create", { name: String(options.name), options, test });
      const sent = JSON.stringify(kwargs);
      assert.ok(!sent.includes(PLAINTEXT), sent);
      assert.match(String(kwargs.password_hash), /^\$6\$[./0-9A-Za-z]{16}\$/);
    }
  });
  test("no declared call lets a password through, whatever arguments it is given", () => {
    const args = {
      name: "x",
      target: "hv2",
      kind: "profiles",
      host: "hv1",
      fields: { memory: 1 },
      options: { password: PLAINTEXT, root_password: PLAINTEXT, plaintext: PLAINTEXT },
    };
    for (const id of Object.keys(CALLS)) {
      const sent = JSON.stringify(kwargsOf(id, args) ?? {});
      if (id === "migrate") {
        continue; // its options are the migration's (passed through); never a dialog with a password
      }
      assert.ok(!sent.includes(PLAINTEXT), `${id}: ${sent}`);
    }
  });
});

describe("who may make them (Salt's ACL, as perms.js reads it)", () => {
  // The provision entries of master.d/brine-eauth.conf, as /login returns them.
  const VIEWER = [{ "@runner": ["cluster\\.inventory\\Z", "provision\\.catalog\\Z", "provision\\.kickstarts\\Z", "provision\\.installs\\Z"] }];
  const OPERATOR = [
    {
      "@runner": [
        "cluster\\.inventory\\Z",
        "provision\\.catalog\\Z",
        "provision\\.kickstarts\\Z",
        "provision\\.installs\\Z",
        "provision\\.create\\Z",
        "provision\\.dismiss\\Z",
      ],
    },
  ];
  const ADMIN = [{ "@runner": ["cluster\\.[a-z][a-z0-9_]*\\Z", "provision\\.[a-z][a-z0-9_]*\\Z"] }];

  test("viewers read the catalog and installs, change nothing", () => {
    assert.ok(mayRun(VIEWER, "catalog") && mayRun(VIEWER, "kickstarts") && mayRun(VIEWER, "installs"));
    for (const id of ["catalog_set", "catalog_delete", "create", "dismiss"]) {
      assert.ok(!mayRun(VIEWER, id, { kind: "profiles", name: "x", host: "hv1" }), id);
    }
  });
  test("operators create VMs and dismiss failed installs; the catalog is not theirs to change", () => {
    assert.ok(mayRun(OPERATOR, "create", { name: "web1" }) && mayRun(OPERATOR, "dismiss", { name: "web1", host: "hv1" }));
    assert.ok(!mayRun(OPERATOR, "catalog_set", { kind: "profiles" }) && !mayRun(OPERATOR, "catalog_delete", { kind: "profiles" }));
  });
  test("admins do everything", () => {
    for (const id of ["catalog", "catalog_set", "catalog_delete", "kickstarts", "create", "installs", "dismiss"]) {
      assert.ok(mayRun(ADMIN, id, { kind: "profiles", name: "x" }), id);
    }
  });
  // Salt's re.match is anchored at the start only: an unanchored "provision.catalog" would grant
  // provision.catalog_set too, and the SPA shows exactly what salt-api would allow.
  test("an unanchored entry grants what Salt grants", () => {
    assert.ok(mayRun([{ "@runner": ["provision.catalog"] }], "catalog_set", { kind: "profiles" }));
  });
});
