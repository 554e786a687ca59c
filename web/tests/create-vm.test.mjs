// The Create VM dialog's logic (js/provision.js): a host group's defaults, the form to
// provision.create's kwargs, the browser's checks, refusals at their field, and the plan.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { callSpec } from "../js/calls.js";
import { ApiError } from "../js/errors.js";
import { placeError } from "../js/field-errors.js";
import {
  applyGroup,
  CREATE_ERROR_FIELDS,
  CREATE_FIELDS,
  createRequest,
  CUSTOM_SIZE,
  emptyValues,
  groupDefaults,
  hideSecrets,
  planView,
  sshKeyProblem,
  withSealedPassword,
} from "../js/provision.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk5d2p0 admin@example";
const CATALOG = {
  profiles: { small: { memory: 2048, vcpus: 2, disk: 20 }, big: { memory: 8192, vcpus: 8, disk: 100 } },
  os_trees: { rhel9: {}, fedora40: {} },
  activation_keys: { webkey: {} },
  host_groups: {
    web: { profile: "small", os_tree: "rhel9", activation_key: "webkey", network: "default", pool: "default", placement: { kind: "host", value: "hv1" } },
    db: { profile: "big", os_tree: "fedora40", activation_key: null, network: "backend", pool: "fast", placement: { kind: "grain", key: "rack", value: "r2" } },
  },
};

/** @param {Partial<ReturnType<typeof emptyValues>>} patch */
const form = (patch) => ({ ...emptyValues(), name: "web1", ssh_key: KEY, ...patch });

/** The kwargs provision.create would be sent for a form (test call). */
function kwargsFor(values) {
  const request = createRequest(values, CATALOG);
  assert.ok("options" in request, JSON.stringify(request));
  return callSpec("create").kwargs({ name: String(request.options.name), options: request.options, test: true });
}

describe("a host group's parts are the form's defaults", () => {
  test("groupDefaults: the group's parts and its profile's sizes; a fixed host", () => {
    assert.deepEqual(groupDefaults(CATALOG, "web"), {
      profile: "small",
      memory: "2048",
      vcpus: "2",
      disk: "20",
      os_tree: "rhel9",
      activation_key: "webkey",
      network: "default",
      pool: "default",
      host: "hv1",
    });
    assert.equal(groupDefaults(CATALOG, "db")?.host, "", "a grain placement is the group's own: no host is filled in");
    assert.equal(groupDefaults(CATALOG, "db")?.activation_key, "");
    assert.equal(groupDefaults(CATALOG, ""), null);
    assert.equal(groupDefaults(CATALOG, "nope"), null);
  });
  test("applyGroup fills in what the user did not change, and refills it on another group", () => {
    const chosen = applyGroup(form({ host_group: "web" }), CATALOG, new Set());
    assert.equal(chosen.profile, "small");
    assert.equal(chosen.network, "default");
    const touched = new Set(["network"]);
    const mine = { ...chosen, network: "dmz" };
    const other = applyGroup({ ...mine, host_group: "db" }, CATALOG, touched);
    assert.deepEqual([other.profile, other.memory, other.os_tree, other.network, other.pool, other.host], ["big", "8192", "fedora40", "dmz", "fast", ""]);
  });
  test("custom sizes the user chose stay when the group changes", () => {
    const custom = { ...applyGroup(form({ host_group: "web" }), CATALOG, new Set()), profile: CUSTOM_SIZE, memory: "3000" };
    const next = applyGroup({ ...custom, host_group: "db" }, CATALOG, new Set(["profile"]));
    assert.deepEqual([next.profile, next.memory], [CUSTOM_SIZE, "3000"]);
  });
});

describe("the form to provision.create's kwargs", () => {
  test("a host group alone: only the group, the key, keep_failed and test are sent", () => {
    const values = applyGroup(form({ host_group: "web" }), CATALOG, new Set());
    assert.deepEqual(kwargsFor(values), { name: "web1", host_group: "web", ssh_key: KEY, keep_failed: false, test: true });
  });
  test("a host group with parts overridden: exactly the parts that differ go", () => {
    const values = { ...applyGroup(form({ host_group: "web" }), CATALOG, new Set()), profile: "big", network: "dmz", host: "hv2", keep_failed: true };
    assert.deepEqual(kwargsFor(values), {
      name: "web1",
      host_group: "web",
      profile: "big",
      network: "dmz",
      host: "hv2",
      ssh_key: KEY,
      keep_failed: true,
      test: true,
    });
  });
  test("custom sizes go as memory, vcpus and disk (they override the profile)", () => {
    const values = { ...applyGroup(form({ host_group: "web" }), CATALOG, new Set()), profile: CUSTOM_SIZE, memory: "4096", vcpus: "4", disk: "40" };
    const kwargs = kwargsFor(values);
    assert.deepEqual([kwargs.memory, kwargs.vcpus, kwargs.disk, kwargs.profile], [4096, 4, 40, undefined]);
  });
  test("without a group: the parts, each needed", () => {
    const values = form({ profile: "small", os_tree: "rhel9", network: "default", pool: "default", activation_key: "webkey" });
    assert.deepEqual(kwargsFor(values), {
      name: "web1",
      profile: "small",
      os_tree: "rhel9",
      activation_key: "webkey",
      network: "default",
      pool: "default",
      ssh_key: KEY,
      keep_failed: false,
      test: true,
    });
    const missing = createRequest(form({}), CATALOG);
    assert.ok("errors" in missing);
    assert.deepEqual(Object.keys(missing.errors).sort(), ["network", "os_tree", "pool", "profile"]);
  });
  test("the browser's checks: name, sizes within limits, passwords that match, a key, one of the two", () => {
    const errorsOf = (values) => {
      const result = createRequest(values, CATALOG);
      return "errors" in result ? result.errors : {};
    };
    const group = (patch) => ({ ...applyGroup(form({ host_group: "web" }), CATALOG, new Set()), ...patch });
    assert.ok(errorsOf(group({ name: "web 1" })).name);
    assert.ok(errorsOf(group({ name: "" })).name);
    assert.ok(errorsOf(group({ profile: CUSTOM_SIZE, memory: "0", vcpus: "2", disk: "20" })).memory);
    assert.ok(errorsOf(group({ profile: CUSTOM_SIZE, memory: "2048", vcpus: "999999999", disk: "20" })).vcpus);
    assert.equal(errorsOf(group({ ssh_key: "", password: "a", password_confirm: "b" })).password_confirm, "The two passwords differ.");
    assert.ok(errorsOf(group({ ssh_key: "", password: "", password_confirm: "b" })).password);
    assert.equal(errorsOf(group({ ssh_key: "" })).password, "Give a root password or an SSH key (or both).");
    assert.ok(errorsOf(group({ ssh_key: "not a key" })).ssh_key);
    assert.ok(errorsOf(group({ host_group: "gone" })).host_group);
  });
  test("ssh keys: one OpenSSH public key line", () => {
    assert.equal(sshKeyProblem(KEY), null);
    assert.equal(sshKeyProblem("ecdsa-sha2-nistp256 AAAAE2VjZHNh"), null);
    assert.ok(sshKeyProblem(`${KEY}\n${KEY}`));
    assert.ok(sshKeyProblem("-----BEGIN OPENSSH PRIVATE KEY-----"));
  });
  test("the password comes back apart; only its sealed hash is ever put in the kwargs", () => {
    const values = { ...applyGroup(form({ host_group: "web", ssh_key: "" }), CATALOG, new Set()), password: "hunter2!", password_confirm: "hunter2!" };
    const request = createRequest(values, CATALOG);
    assert.ok("options" in request);
    assert.equal(request.password, "hunter2!");
    assert.ok(!JSON.stringify(request.options).includes("hunter2"));
    const sealed = withSealedPassword(request.options, "c2VhbGVk");
    assert.equal(sealed.password_hash_sealed, "c2VhbGVk");
    assert.equal(sealed.password_hash, undefined);
    assert.ok(!("password_hash_sealed" in request.options), "the options themselves are not changed");
    assert.equal(withSealedPassword(request.options, null).password_hash_sealed, undefined);
    const kwargs = callSpec("create").kwargs({ name: "web1", options: sealed, test: true });
    assert.deepEqual(kwargs, { name: "web1", host_group: "web", password_hash_sealed: "c2VhbGVk", keep_failed: false, test: true });
  });
});

describe("refusals at their field", () => {
  const place = (code, message) => placeError(new ApiError(message, { code, status: 200 }), CREATE_FIELDS, { byCode: CREATE_ERROR_FIELDS });
  test("each part, named by its argument", () => {
    assert.equal(place("invalid_argument", "password_hash must be a SHA-512 crypt hash ($6$...)").field, "password");
    assert.equal(place("invalid_argument", "password_hash_sealed was not sealed with this master's key (provision.sealing_key)").field, "password");
    assert.equal(place("invalid_argument", "password_hash_sealed must be base64 of RSA-OAEP ciphertext (provision.sealing_key's key)").field, "password");
    assert.equal(place("invalid_argument", "ssh_key must be one OpenSSH public key line").field, "ssh_key");
    assert.equal(place("no_entry", "host_group names host group 'x', which is not in the catalog").field, "host_group");
    assert.equal(place("no_entry", "profile names profile 'x', which is not in the catalog").field, "profile");
    assert.equal(place("invalid_argument", "'web 1' is not a valid VM name: use 1 to 64 letters").field, "name");
    assert.equal(place("invalid_argument", "host 'hv9' is not a hypervisor host").field, "host");
  });
  test("a VM that exists is about the name; no room is about the host; the rest at the top", () => {
    assert.equal(place("vm_exists", "a VM named web1 exists on hv2").field, "name");
    assert.equal(place("no_room", "no host can take web1: hv1: 512 MiB free, 2048 needed").field, "host");
    assert.equal(place("no_host", "hv9 is not a hypervisor host of this cluster").field, "host");
    assert.equal(place("invalid_argument", "a create needs password_hash (SHA-512 crypt) or ssh_key: Brine takes no plaintext password").field, "password");
    assert.equal(place("unreachable", "hv1 did not answer").field, null);
    assert.equal(place("internal", "Brine hit an unexpected problem (ref 1)").field, null);
  });
});

describe("the plan", () => {
  const PLAN = {
    name: "web1",
    host: "hv2",
    memory: 2048,
    vcpus: 2,
    disk: 20,
    os_tree: "rhel9",
    os_variant: "rhel9.0",
    url: "http://m/t/",
    network: "default",
    pool: "default",
    nics: [{ network: "default", mac: "52:54:00:aa:bb:cc" }],
    volume: "web1.qcow2",
    repositories: [{ name: "baseos", url: "http://m/b/" }],
    kickstart: "rootpw --iscrypted <hidden>\nnetwork --hostname=web1\n",
    placement: {
      host: "hv2",
      hosts: [
        { host: "hv3", fits: false, free_memory: 100, problems: ["not enough memory: 100 KiB free"] },
        { host: "hv1", fits: true, free_memory: 5000000, problems: [] },
        { host: "hv2", fits: true, free_memory: 9000000, problems: [] },
      ],
    },
  };
  test("planView: the chosen host first, then those that fit, then the others with why", () => {
    const view = planView(PLAN);
    assert.equal(view.host, "hv2");
    assert.deepEqual([view.host_group, view.profile], ["", ""]);
    assert.deepEqual([planView({ ...PLAN, host_group: "web", profile: "small" }).host_group, planView({ ...PLAN, profile: "small" }).profile], ["web", "small"]);
    assert.deepEqual(view.hosts.map((h) => [h.host, h.chosen, h.fits]), [["hv2", true, true], ["hv1", false, true], ["hv3", false, false]]);
    assert.deepEqual(view.hosts[2].problems, ["not enough memory: 100 KiB free"]);
    assert.deepEqual(view.nics, [{ network: "default", mac: "52:54:00:aa:bb:cc" }]);
    assert.deepEqual(view.repositories, [{ name: "baseos", url: "http://m/b/" }]);
    assert.equal(view.kickstart, PLAN.kickstart);
  });
  test("a password hash that reached the plan's text is hidden anyway", () => {
    const hash = `$6$abcdefgh$${"x".repeat(86)}`;
    assert.equal(hideSecrets(`rootpw --iscrypted ${hash}\nuser --password=$y$j9T$abc --iscrypted`), "rootpw --iscrypted <hidden>\nuser --password=<hidden> --iscrypted");
    assert.equal(planView({ ...PLAN, kickstart: `rootpw --iscrypted ${hash}` }).kickstart, "rootpw --iscrypted <hidden>");
  });
  test("a plan with parts missing reads as empty, not as an error", () => {
    const view = planView({});
    assert.deepEqual([view.host, view.hosts, view.nics, view.kickstart, view.memory], ["", [], [], "", null]);
  });
});
