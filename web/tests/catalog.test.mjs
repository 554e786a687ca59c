// The catalog forms' logic (js/catalog.js), the catalog slice (js/slices/catalog.js) and where a
// runner's refusal is shown (js/field-errors.js).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  describePlacement,
  entryFields,
  entryNames,
  formValues,
  KINDS,
  kindSpec,
  showValue,
  sizeLimit,
  urlProblem,
} from "../js/catalog.js";
import { hostNames, knownPlaces, namesIn } from "../js/components/catalog-data.js";
import { ApiError } from "../js/errors.js";
import { fieldNamedIn, placeError } from "../js/field-errors.js";
import { LIMITS } from "../js/limits.js";
import { reduceCatalog } from "../js/slices/catalog.js";

const kind = (id) => /** @type {NonNullable<ReturnType<typeof kindSpec>>} */ (kindSpec(id));

describe("the kinds", () => {
  test("the six kinds of docs/provisioning.md, labelled, with their fields in order", () => {
    assert.deepEqual(
      KINDS.map((k) => [k.id, k.label, k.fields.map((f) => f.name)]),
      [
        ["profiles", "Profiles", ["memory", "vcpus", "disk"]],
        ["os_trees", "OS trees", ["url", "os_variant", "kickstart"]],
        ["products", "Products", ["url"]],
        ["views", "Views", ["products"]],
        ["activation_keys", "Activation keys", ["views"]],
        ["host_groups", "Host groups", ["profile", "os_tree", "activation_key", "network", "pool", "placement"]],
      ],
    );
    assert.equal(kindSpec("nonsense"), null);
    assert.equal(kindSpec("constructor"), null);
  });
  test("references name the kinds they choose from", () => {
    const refs = KINDS.flatMap((k) => k.fields.filter((f) => f.ref).map((f) => `${k.id}.${f.name}->${f.ref}`));
    assert.deepEqual(refs, [
      "views.products->products",
      "activation_keys.views->views",
      "host_groups.profile->profiles",
      "host_groups.os_tree->os_trees",
      "host_groups.activation_key->activation_keys",
    ]);
  });
  test("size bounds are limits.js's memory, vcpus and disk", () => {
    for (const size of ["memory", "vcpus", "disk"]) {
      assert.ok(Number.isInteger(LIMITS[size]) && LIMITS[size] > 0, size);
      assert.equal(sizeLimit(/** @type {any} */ (size)), LIMITS[size]);
    }
  });
});

describe("form values to catalog_set's fields", () => {
  test("a profile: whole numbers within bounds", () => {
    const profiles = kind("profiles");
    assert.deepEqual(entryFields(profiles, " small ", { memory: "2048", vcpus: " 2", disk: "20" }), {
      name: "small",
      fields: { memory: 2048, vcpus: 2, disk: 20 },
    });
    const bad = entryFields(profiles, "big", { memory: "0", vcpus: "1.5", disk: String(sizeLimit("disk") + 1) });
    assert.deepEqual(Object.keys(/** @type {any} */ (bad).errors).sort(), ["disk", "memory", "vcpus"]);
    assert.match(/** @type {any} */ (bad).errors.memory, /^Give 64 to \d+ MiB\.$/);
    assert.equal(/** @type {any} */ (entryFields(profiles, "big", { memory: "", vcpus: "1", disk: "1" })).errors.memory, "A number is needed.");
  });
  test("names follow Brine's name rule", () => {
    for (const name of ["", "a b", "-x", ".x", "x/y", "x;rm", "{{7*7}}", "x".repeat(65)]) {
      const result = entryFields(kind("products"), name, { url: "http://mirror/x" });
      assert.ok("errors" in result && result.errors.name, JSON.stringify(name));
    }
    assert.ok("fields" in entryFields(kind("products"), "base-os_9.4+x", { url: "http://mirror/x" }));
  });
  test("URLs: http or https with a host, no credentials", () => {
    assert.equal(urlProblem("https://mirror.example.com/rhel9/os/"), null);
    assert.equal(urlProblem("http://[::1]:8080/tree"), null);
    for (const url of ["", "ftp://mirror/x", "file:///etc/passwd", "javascript:alert(1)", "mirror/x", "http://user:pw@mirror/x"]) {
      assert.ok(urlProblem(url), url);
    }
  });
  test("an OS tree: URL, variant and template as text", () => {
    assert.deepEqual(entryFields(kind("os_trees"), "rhel9", { url: "http://m/t/", os_variant: "rhel9.0", kickstart: "rhel" }), {
      name: "rhel9",
      fields: { url: "http://m/t/", os_variant: "rhel9.0", kickstart: "rhel" },
    });
    const missing = entryFields(kind("os_trees"), "rhel9", { url: "http://m/t/", os_variant: "", kickstart: "" });
    assert.deepEqual(Object.keys(/** @type {any} */ (missing).errors), ["os_variant", "kickstart"]);
  });
  test("views and keys: one or more names, each once", () => {
    assert.deepEqual(entryFields(kind("views"), "base", { products: ["baseos", "appstream", "baseos"] }), {
      name: "base",
      fields: { products: ["baseos", "appstream"] },
    });
    assert.equal(/** @type {any} */ (entryFields(kind("activation_keys"), "web", { views: [] })).errors.views, "Choose at least one view.");
  });
  test("a host group: references, an optional key left out when empty, and each placement", () => {
    const groups = kind("host_groups");
    const base = { profile: "small", os_tree: "rhel9", activation_key: "", network: "default", pool: "default" };
    const placements = [
      [{ kind: "any", key: "ignored", value: "ignored" }, { kind: "any" }],
      [{ kind: "host", key: "", value: "hv1" }, { kind: "host", value: "hv1" }],
      [{ kind: "grain", key: "brine:rack", value: "r1" }, { kind: "grain", key: "brine:rack", value: "r1" }],
      [{ kind: "pillar", key: " role ", value: " web " }, { kind: "pillar", key: "role", value: "web" }],
    ];
    for (const [input, sent] of placements) {
      const result = entryFields(groups, "web", { ...base, placement: input });
      assert.deepEqual(result, { name: "web", fields: { profile: "small", os_tree: "rhel9", network: "default", pool: "default", placement: sent } });
    }
    const withKey = entryFields(groups, "web", { ...base, activation_key: "webkey", placement: { kind: "any" } });
    assert.equal(/** @type {any} */ (withKey).fields.activation_key, "webkey");
    const bad = /** @type {any} */ (entryFields(groups, "web", { ...base, profile: "", placement: { kind: "grain", key: "", value: "x" } }));
    assert.deepEqual(Object.keys(bad.errors).sort(), ["placement", "profile"]);
    assert.ok(/** @type {any} */ (entryFields(groups, "web", { ...base, placement: { kind: "host", value: "" } })).errors.placement);
  });
  test("formValues reads an entry back into the form, and an empty one for a new entry", () => {
    const groups = kind("host_groups");
    const entry = { profile: "small", os_tree: "rhel9", activation_key: null, network: "default", pool: "p", placement: { kind: "grain", key: "k", value: "v" } };
    const values = formValues(groups, entry);
    assert.deepEqual(values, { profile: "small", os_tree: "rhel9", activation_key: "", network: "default", pool: "p", placement: { kind: "grain", key: "k", value: "v" } });
    assert.deepEqual(entryFields(groups, "web", values), {
      name: "web",
      fields: { profile: "small", os_tree: "rhel9", network: "default", pool: "p", placement: { kind: "grain", key: "k", value: "v" } },
    });
    assert.deepEqual(formValues(kind("views")), { products: [] });
    assert.deepEqual(formValues(kind("profiles"), { memory: 2048, vcpus: 2, disk: 20 }), { memory: "2048", vcpus: "2", disk: "20" });
  });
  test("the list shows each value in words", () => {
    const [memory] = kind("profiles").fields;
    assert.equal(showValue(memory, 2048), "2048 MiB");
    assert.equal(showValue(kind("views").fields[0], ["a", "b"]), "a, b");
    assert.equal(showValue(kind("host_groups").fields[2], null), "—");
    assert.equal(describePlacement({ kind: "any" }), "Any host with room");
    assert.equal(describePlacement({ kind: "host", value: "hv1" }), "Host hv1");
    assert.equal(describePlacement({ kind: "pillar", key: "role", value: "web" }), "Hosts whose pillar role is web");
    assert.deepEqual(entryNames({ profiles: { vm10: {}, vm2: {}, a: {} } }, "profiles"), ["a", "vm2", "vm10"]);
    assert.deepEqual(entryNames(null, "profiles"), []);
  });
});

describe("a refusal shown at its field", () => {
  const profileFields = [{ name: "name" }, ...kind("profiles").fields];
  const groupFields = [{ name: "name" }, ...kind("host_groups").fields];

  test("the runner's sentences name the field they are about", () => {
    const cases = [
      ["memory must be at least 64 MiB, not 0", profileFields, "memory"],
      ["vcpus must be at most 1024 vCPUs, not 5000", profileFields, "vcpus"],
      ["name 'a b' is not a valid name: use 1 to 64 letters", profileFields, "name"],
      ["profile names profile 'big', which is not in the catalog", groupFields, "profile"],
      ["os_tree names OS tree 'x', which is not in the catalog", groupFields, "os_tree"],
      ["activation_key names activation key 'k', which is not in the catalog", groupFields, "activation_key"],
      ["placement value 'hv 1' is not a valid host id", groupFields, "placement"],
      ["the OS tree is unknown", groupFields, "os_tree"],
      ["something else entirely", groupFields, null],
    ];
    for (const [message, fields, expected] of cases) {
      assert.equal(fieldNamedIn(/** @type {string} */ (message), /** @type {any} */ (fields)), expected, /** @type {string} */ (message));
    }
  });
  test("whole words only: host is not named in host_group, nor name in 'named'", () => {
    const fields = [{ name: "host" }, { name: "host_group", aliases: ["host group"] }, { name: "name" }];
    assert.equal(fieldNamedIn("host_group 'x' is not in the catalog", fields), "host_group");
    assert.equal(fieldNamedIn("the host group named x is gone", fields), "host_group");
    assert.equal(fieldNamedIn("no profile named x", fields), null);
  });
  test("invalid_argument and no_entry go to the field they name, or the top; other codes to the top", () => {
    const err = (code, message) => new ApiError(message, { code, status: 200 });
    assert.deepEqual(placeError(err("invalid_argument", "disk must be more than 0 GiB"), profileFields), {
      field: "disk",
      message: "disk must be more than 0 GiB",
    });
    assert.deepEqual(placeError(err("no_entry", "views names view 'v', which is not in the catalog"), [{ name: "views", aliases: ["view"] }]), {
      field: "views",
      message: "views names view 'v', which is not in the catalog",
    });
    assert.equal(placeError(err("invalid_argument", "the catalog folder is read-only"), profileFields).field, null);
    assert.equal(placeError(err("in_use", "profile small is used by host group web"), groupFields).field, null);
    assert.equal(placeError(err("internal", "memory"), profileFields).field, null);
    assert.deepEqual(placeError(err("vm_exists", "web1 exists on hv2"), groupFields, { byCode: { vm_exists: "name" } }), {
      field: "name",
      message: "web1 exists on hv2",
    });
    assert.deepEqual(placeError(new Error("Cannot reach salt-api."), profileFields), { field: null, message: "Cannot reach salt-api." });
  });
});

describe("reduceCatalog", () => {
  test("loaded, set, deleted", () => {
    let catalog = reduceCatalog(null, { type: "loaded", catalog: { profiles: { small: { memory: 1 } }, views: {} } });
    assert.deepEqual(catalog, { profiles: { small: { memory: 1 } }, views: {} });
    assert.ok(Object.isFrozen(catalog));
    catalog = reduceCatalog(catalog, { type: "loaded", catalog: { profiles: { big: { memory: 2 } } } });
    assert.deepEqual(catalog, { profiles: { big: { memory: 2 } }, views: {} }, "a kind read again replaces that kind only");
    catalog = reduceCatalog(catalog, { type: "set", kind: "views", name: "base", fields: { products: ["a"] } });
    assert.deepEqual(catalog?.views, { base: { products: ["a"] } });
    const before = catalog;
    assert.equal(reduceCatalog(before, { type: "deleted", kind: "views", name: "nope" }), before);
    catalog = reduceCatalog(catalog, { type: "deleted", kind: "views", name: "base" });
    assert.deepEqual(catalog?.views, {});
    assert.equal(reduceCatalog(catalog, { type: "loaded", catalog: "junk" }), catalog);
  });
});

describe("what the forms offer as choices", () => {
  test("namesIn: provision.kickstarts' {kickstarts: [...]}, or a bare list", () => {
    assert.deepEqual(namesIn({ kickstarts: ["rhel", "minimal"] }), ["rhel", "minimal"]);
    assert.deepEqual(namesIn(["a", 3, "b"]), ["a", "b"]);
    assert.deepEqual(namesIn(null), []);
    assert.deepEqual(namesIn("rhel"), []);
  });
  test("hosts from the inventory; networks and pools the catalog and the VMs already use", () => {
    const inventory = {
      hosts: [
        { name: "hv2", vms: [{ nics: [{ network: "default" }, { network: null }] }] },
        { name: "hv1", vms: [{ nics: [{ network: "dmz" }] }] },
      ],
    };
    const catalog = { host_groups: { web: { network: "default", pool: "fast" }, db: { network: "backend", pool: "" } } };
    assert.deepEqual(hostNames(inventory), ["hv1", "hv2"]);
    assert.deepEqual(knownPlaces(catalog, inventory), { networks: ["default", "backend", "dmz"], pools: ["fast"] });
    assert.deepEqual(knownPlaces(null, null), { networks: [], pools: [] });
  });
});
