// The provision runner's calls as calls.js declares them (docs/provisioning.md, Runner
// provision): exact function names, exact kwargs, and who may make them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { CALLS, callSpec } from "../js/calls.js";
import { fromBase64, toBase64 } from "../js/console-crypto.js";
import { mayRun } from "../js/perms.js";
import { createRequest, emptyValues, withSealedPassword } from "../js/provision.js";
import { sealerFor, SEALING_ALGORITHM } from "../js/seal.js";
import { hashPassword } from "../js/sha512crypt.js";

const kwargsOf = (id, args) => callSpec(id).kwargs(args);

describe("the provision calls", () => {
  test("each is the runner function the contract names", () => {
    const funs = Object.fromEntries(
      ["catalog", "catalog_set", "catalog_delete", "kickstarts", "sealing_key", "create", "installs", "dismiss"].map((id) => [id, CALLS[id].fun]),
    );
    assert.deepEqual(funs, {
      catalog: "provision.catalog",
      catalog_set: "provision.catalog_set",
      catalog_delete: "provision.catalog_delete",
      kickstarts: "provision.kickstarts",
      sealing_key: "provision.sealing_key",
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
  test("kickstarts, sealing_key and installs take nothing", () => {
    assert.equal(kwargsOf("kickstarts", { name: "x" }), undefined);
    assert.equal(kwargsOf("sealing_key", { name: "x", options: { password: "x" } }), undefined);
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
  test("create never sends a password nor its hash, whatever the dialog holds: only password_hash_sealed goes", () => {
    const kwargs = kwargsOf("create", {
      name: "web1",
      options: {
        host_group: "web",
        password: "hunter2",
        password_confirm: "hunter2",
        root_password: "hunter2",
        password_hash: "$6$abc$def",
        password_hash_sealed: "c2VhbGVk+/8=",
      },
    });
    const sent = JSON.stringify(kwargs);
    assert.ok(!sent.includes("hunter2") && !sent.includes("$6$"), sent);
    assert.equal(kwargs.password_hash, undefined);
    assert.equal(kwargs.password_hash_sealed, "c2VhbGVk+/8=");
  });
  test("create refuses a hash put in password_hash_sealed unsealed (a bug): nothing is sent", () => {
    for (const wrong of ["$6$abcdefgh$" + "x".repeat(86), "hunter2!", 42]) {
      assert.throws(() => kwargsOf("create", { name: "web1", options: { password_hash_sealed: wrong } }), /base64/);
    }
  });
});

describe("no plaintext password, nor its hash, in any call's kwargs", () => {
  const PLAINTEXT = "Plain-Text-Secret-42";
  const RSA_OAEP = { name: "RSA-OAEP", hash: "SHA-256" };
  const { subtle } = globalThis.crypto;
  const catalog = {
    profiles: { small: { memory: 2048, vcpus: 2, disk: 20 } },
    host_groups: { web: { profile: "small", os_tree: "rhel9", activation_key: null, network: "default", pool: "default", placement: { kind: "any" } } },
  };

  test("the dialog's request, hashed and sealed as the dialog does, carries only the sealed hash: test call and real call", async () => {
    // The master's key pair; the sealer gets its public half as provision.sealing_key answers.
    const master = await subtle.generateKey({ ...RSA_OAEP, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, true, ["encrypt", "decrypt"]);
    const answer = { key: toBase64(new Uint8Array(await subtle.exportKey("spki", master.publicKey))), algorithm: SEALING_ALGORITHM };
    const values = { ...emptyValues(), name: "web1", host_group: "web", password: PLAINTEXT, password_confirm: PLAINTEXT };
    const request = createRequest(values, catalog);
    assert.ok("options" in request);
    assert.equal(request.password, PLAINTEXT);
    assert.ok(!JSON.stringify(request.options).includes(PLAINTEXT));
    const hash = await hashPassword(/** @type {string} */ (request.password));
    const options = withSealedPassword(request.options, await sealerFor(async () => answer)(hash));
    for (const test of [true, false]) {
      const kwargs = kwargsOf("create", { name: String(options.name), options, test });
      const sent = JSON.stringify(kwargs);
      assert.ok(!sent.includes(PLAINTEXT), sent);
      assert.ok(!sent.includes("$6$") && !sent.includes(hash), sent);
      assert.deepEqual(Object.keys(kwargs).sort(), ["host_group", "keep_failed", "name", "password_hash_sealed", "test"]);
      // What the runner does with the master's private key: the hash comes back.
      const opened = await subtle.decrypt(RSA_OAEP, master.privateKey, fromBase64(String(kwargs.password_hash_sealed)));
      assert.equal(new TextDecoder().decode(opened), hash);
    }
  });
  test("no declared call lets a password or a crypt hash through, whatever arguments it is given", () => {
    const hash = `$6$abcdefghijklmnop$${"x".repeat(86)}`;
    const args = {
      name: "x",
      target: "hv2",
      kind: "profiles",
      host: "hv1",
      fields: { memory: 1 },
      options: { password: PLAINTEXT, root_password: PLAINTEXT, plaintext: PLAINTEXT, password_hash: hash, hash },
    };
    for (const id of Object.keys(CALLS)) {
      const sent = JSON.stringify(kwargsOf(id, args) ?? {});
      if (id === "migrate") {
        continue; // its options are the migration's (passed through); never a dialog with a password
      }
      assert.ok(!sent.includes(PLAINTEXT), `${id}: ${sent}`);
      assert.ok(!sent.includes("$6$"), `${id}: ${sent}`);
    }
  });
});

describe("who may make them (Salt's ACL, as perms.js reads it)", () => {
  // The provision entries of master.d/brine-eauth.conf, as /login returns them.
  const VIEWER = [
    { "@runner": ["cluster\\.inventory\\Z", "provision\\.catalog\\Z", "provision\\.kickstarts\\Z", "provision\\.installs\\Z", "provision\\.sealing_key\\Z"] },
  ];
  const OPERATOR = [
    {
      "@runner": [
        "cluster\\.inventory\\Z",
        "provision\\.catalog\\Z",
        "provision\\.kickstarts\\Z",
        "provision\\.installs\\Z",
        "provision\\.sealing_key\\Z",
        "provision\\.create\\Z",
        "provision\\.dismiss\\Z",
      ],
    },
  ];
  const ADMIN = [{ "@runner": ["cluster\\.[a-z][a-z0-9_]*\\Z", "provision\\.[a-z][a-z0-9_]*\\Z"] }];

  test("viewers read the catalog, installs and the sealing key, change nothing", () => {
    assert.ok(mayRun(VIEWER, "catalog") && mayRun(VIEWER, "kickstarts") && mayRun(VIEWER, "installs") && mayRun(VIEWER, "sealing_key"));
    for (const id of ["catalog_set", "catalog_delete", "create", "dismiss"]) {
      assert.ok(!mayRun(VIEWER, id, { kind: "profiles", name: "x", host: "hv1" }), id);
    }
  });
  test("operators create VMs and dismiss failed installs; the catalog is not theirs to change", () => {
    assert.ok(mayRun(OPERATOR, "create", { name: "web1" }) && mayRun(OPERATOR, "dismiss", { name: "web1", host: "hv1" }));
    assert.ok(mayRun(OPERATOR, "sealing_key"), "the key a password is sealed to before create");
    assert.ok(!mayRun(OPERATOR, "catalog_set", { kind: "profiles" }) && !mayRun(OPERATOR, "catalog_delete", { kind: "profiles" }));
  });
  test("admins do everything", () => {
    for (const id of ["catalog", "catalog_set", "catalog_delete", "kickstarts", "sealing_key", "create", "installs", "dismiss"]) {
      assert.ok(mayRun(ADMIN, id, { kind: "profiles", name: "x" }), id);
    }
  });
  // Salt's re.match is anchored at the start only: an unanchored "provision.catalog" would grant
  // provision.catalog_set too, and the SPA shows exactly what salt-api would allow.
  test("an unanchored entry grants what Salt grants", () => {
    assert.ok(mayRun([{ "@runner": ["provision.catalog"] }], "catalog_set", { kind: "profiles" }));
  });
});
