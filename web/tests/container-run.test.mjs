// The Run Container dialog's logic (js/container-run.js) and its call (containers.run, calls.js):
// the browser's checks mirror brine.container_spec's (bad input never leaves the dialog), every
// environment value is sealed to the Salt master's key and nothing of it is sent in clear, a
// value too long to seal is refused at its row, and a refusal lands on the field it is about.
// The form itself (components/run-container.js runForm) on the fake DOM.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";

import { container, installFakeDom } from "./fake-dom.mjs";
import { inventory } from "./containers-fixtures.mjs";

installFakeDom();
const { call } = await import("../js/api.js");
const { callSpec, RUN_PARTS } = await import("../js/calls.js");
const { fromBase64, toBase64 } = await import("../js/console-crypto.js");
const {
  bindAddress,
  emptyRunValues,
  parseReference,
  placeRunError,
  runRequest,
  runResultView,
  sealEnvironment,
  splitTag,
  withSealedEnvironment,
} = await import("../js/container-run.js");
const { ApiError } = await import("../js/errors.js");
const { importSealingKey, sealingKeyOf, SEALING_ALGORITHM } = await import("../js/seal.js");
const { runForm } = await import("../js/components/run-container.js");

const RSA_OAEP = { name: "RSA-OAEP", hash: "SHA-256" };
const { subtle } = globalThis.crypto;

/** A key pair standing in for the master's, and provision.sealing_key's answer for it. */
async function masterKeys(modulusLength = 2048) {
  const pair = await subtle.generateKey({ ...RSA_OAEP, modulusLength, publicExponent: new Uint8Array([1, 0, 1]) }, true, ["encrypt", "decrypt"]);
  const key = toBase64(new Uint8Array(await subtle.exportKey("spki", pair.publicKey)));
  return { privateKey: pair.privateKey, answer: { key, algorithm: SEALING_ALGORITHM } };
}
/** What the runner does with each value (brine.sealed.unwrap). */
const unseal = async (privateKey, sealed) => new TextDecoder().decode(await subtle.decrypt(RSA_OAEP, privateKey, fromBase64(sealed)));

const master = await masterKeys();
const masterKey = await importSealingKey(sealingKeyOf(master.answer));

/** A form's values: a fresh one with these changes. */
const form = (changes = {}) => ({ ...emptyRunValues(), image: "brine/web", ...changes });
const port = (host_port, container_port, protocol = "tcp", bind = "") => ({ host_port: String(host_port), container_port: String(container_port), protocol, bind });

describe("the browser's checks mirror the runner's", () => {
  test("the smallest run: the image with its tag, in the background", () => {
    assert.deepEqual(runRequest(form()), { options: { image: "brine/web:latest", detach: true }, secrets: [], portRows: [] });
    assert.deepEqual(runRequest(form({ tag: "" })).options, { image: "brine/web", detach: true });
  });
  test("image references by Docker's grammar; shell metacharacters are not one", () => {
    for (const bad of ["web;rm -rf /", "web$(id)", "web`id`", "Web", "web|cat", "web name", "../web", "web:1 && x", "a".repeat(256)]) {
      const request = runRequest(form({ image: bad, tag: "" }));
      assert.ok("errors" in request && request.errors.image, bad);
    }
    assert.match(runRequest(form({ image: "" })).errors.image, /Give an image/);
    assert.match(runRequest(form({ image: "web;rm -rf /" })).errors.image, /is not an image reference/);
    assert.match(runRequest(form({ tag: "-bad" })).errors.tag, /A tag is/);
    for (const good of ["busybox", "brine-master:5000/brine/web", "registry.example.com/team/app", "localhost:5000/a_b/c-d"]) {
      assert.ok(!("errors" in runRequest(form({ image: good }))), good);
    }
  });
  test("a tag in the image: kept, unless the tag field names another", () => {
    assert.equal(runRequest(form({ image: "brine-master:5000/brine/web:1" })).options.image, "brine-master:5000/brine/web:1");
    assert.equal(runRequest(form({ image: "brine/web:1", tag: "1" })).options.image, "brine/web:1");
    assert.match(runRequest(form({ image: "brine/web:1", tag: "2" })).errors.tag, /already names tag “1”/);
    const digest = `brine/web@sha256:${"a".repeat(64)}`;
    assert.equal(runRequest(form({ image: digest })).options.image, digest);
    assert.match(runRequest(form({ image: digest, tag: "2" })).errors.tag, /digest takes no tag/);
    assert.deepEqual(parseReference("brine-master:5000/brine/web:1"), { repository: "brine-master:5000/brine/web", tag: "1", digest: null });
    assert.deepEqual(splitTag("brine-master:5000/brine/web:1"), { image: "brine-master:5000/brine/web", tag: "1" });
    assert.equal(splitTag("brine-master:5000/brine/web"), null, "a registry's port is no tag");
  });
  test("names as Docker takes them; none: Brine names it", () => {
    assert.equal(runRequest(form({ name: "web1" })).options.name, "web1");
    assert.ok(!("name" in runRequest(form({ name: "  " })).options));
    for (const bad of ["-web", "web 1", "web/1", "a".repeat(64), "wéb"]) {
      assert.match(runRequest(form({ name: bad })).errors.name, /letters, digits/, bad);
    }
  });
  test("ports 1 to 65535; 0, 70000 and words are refused at their row", () => {
    const errors = runRequest(form({ ports: [port(0, 80), port(8080, 70000), port("x", 80), port(8081, "")] })).errors;
    assert.match(errors["ports[0]"], /host port must be a port from 1 to 65535, not 0/);
    assert.match(errors["ports[1]"], /container port must be a port from 1 to 65535, not 70000/);
    assert.match(errors["ports[2]"], /not x/);
    assert.match(errors["ports[3]"], /Give the container port/);
  });
  test("mappings: protocol, bind address, blank rows skipped, one host port bound once", () => {
    const request = runRequest(form({ ports: [port(8080, 80), port("", "", "tcp", ""), port(5353, 53, "udp", "127.0.0.1"), port(5353, 53, "tcp", "[::1]")] }));
    assert.deepEqual(request.options.ports, [
      { host_port: 8080, container_port: 80, protocol: "tcp" },
      { host_port: 5353, container_port: 53, protocol: "udp", bind: "127.0.0.1" },
      { host_port: 5353, container_port: 53, protocol: "tcp", bind: "::1" },
    ]);
    assert.deepEqual(request.portRows, [0, 2, 3]);
    const twice = runRequest(form({ ports: [port(8080, 80), port(8080, 81, "tcp", "127.0.0.1")] })).errors;
    assert.match(twice["ports[1]"], /Host port 8080\/tcp is bound twice \(row 1 has it\)/);
    assert.ok(!("errors" in runRequest(form({ ports: [port(8080, 80, "tcp", "127.0.0.1"), port(8080, 80, "tcp", "127.0.0.2")] }))));
    assert.ok(!("errors" in runRequest(form({ ports: [port(8080, 80, "tcp"), port(8080, 80, "udp")] }))));
    assert.match(runRequest(form({ ports: [port(8080, 80, "tcp", "localhost")] })).errors["ports[0]"], /must be an IP address/);
    assert.match(runRequest(form({ ports: [port(8080, 80, "icmp")] })).errors["ports[0]"], /protocol is one of tcp, udp, sctp/);
    assert.equal(bindAddress("::0"), "::");
    assert.equal(bindAddress("010.0.0.1"), null);
    assert.match(runRequest(form({ ports: Array.from({ length: 65 }, (_, i) => port(1000 + i, 80)) })).errors.ports, /At most 64/);
  });
  test("environment: names by the runner's rule, once each, values one line", () => {
    const request = runRequest(form({ environment: [{ name: "DB_PASSWORD", value: "s3cret" }, { name: "", value: "" }, { name: "EMPTY", value: "" }] }));
    assert.deepEqual(request.secrets, [{ row: 0, name: "DB_PASSWORD", value: "s3cret" }, { row: 2, name: "EMPTY", value: "" }]);
    assert.ok(!("environment" in request.options) && !("secret_environment" in request.options), "values are not in the options");
    const errors = runRequest(
      form({
        environment: [
          { name: "1BAD", value: "x" },
          { name: "MULTI", value: "line one\nline two" },
          { name: "OK", value: "x" },
          { name: "OK", value: "y" },
          { name: "", value: "orphan" },
          { name: "NUL", value: "a\0b" },
        ],
      }),
    ).errors;
    assert.match(errors["environment[0]"], /letters, digits and '_', not starting with a digit/);
    assert.match(errors["environment[1]"], /The value of MULTI must be one line/);
    assert.ok(!errors["environment[1]"].includes("line one"), "a value is never repeated");
    assert.ok(!("environment[2]" in errors));
    assert.match(errors["environment[3]"], /OK is given twice \(row 3 has it\)/);
    assert.match(errors["environment[4]"], /Give the variable a name/);
    assert.match(errors["environment[5]"], /one line/);
  });
  test("restart policy, retries, and the wait of a run in the foreground", () => {
    assert.ok(!("restart" in runRequest(form({ restart: "no" })).options));
    assert.equal(runRequest(form({ restart: "unless-stopped" })).options.restart, "unless-stopped");
    assert.equal(runRequest(form({ restart: "on-failure", retries: "3" })).options.restart, "on-failure:3");
    assert.equal(runRequest(form({ restart: "on-failure" })).options.restart, "on-failure");
    assert.match(runRequest(form({ restart: "on-failure", retries: "101" })).errors.retries, /0 to 100/);
    assert.match(runRequest(form({ restart: "sometimes" })).errors.restart, /one of/);
    assert.deepEqual(runRequest(form({ background: false, timeout: "30" })).options, { image: "brine/web:latest", detach: false, timeout: 30 });
    assert.match(runRequest(form({ background: false, timeout: "601" })).errors.timeout, /1 to 600/);
    assert.ok(!("timeout" in runRequest(form({ background: true, timeout: "9999" })).options), "no wait in the background");
  });
});

describe("every environment value is sealed to the master's key", () => {
  test("sealed one by one; the runner's unwrap opens each; an empty value too", async () => {
    const request = runRequest(form({ environment: [{ name: "DB_PASSWORD", value: "s3cret-Ünïcode" }, { name: "EMPTY", value: "" }] }));
    const outcome = await sealEnvironment(request.secrets, masterKey);
    assert.deepEqual(Object.keys(outcome.sealed), ["DB_PASSWORD", "EMPTY"]);
    assert.equal(await unseal(master.privateKey, outcome.sealed.DB_PASSWORD), "s3cret-Ünïcode");
    assert.equal(await unseal(master.privateKey, outcome.sealed.EMPTY), "");
    assert.ok(!outcome.sealed.DB_PASSWORD.includes("s3cret"));
  });
  test("a value too long to seal is refused at its row, with the bound, before anything is sealed", async () => {
    let sealed = 0;
    const counting = async () => {
      sealed += 1;
      return "x";
    };
    const request = runRequest(form({ environment: [{ name: "SHORT", value: "ok" }, { name: "CERT", value: "é".repeat(100) }] }));
    const outcome = await sealEnvironment(request.secrets, masterKey, { seal: counting });
    assert.deepEqual(Object.keys(outcome.errors), ["environment[1]"]);
    assert.match(outcome.errors["environment[1]"], /The value of CERT is too long to seal: 200 bytes, and the Salt master's key seals at most 190 bytes \(UTF-8\) per value/);
    assert.equal(sealed, 0);
    const exactly = await sealEnvironment([{ row: 0, name: "MAX", value: "x".repeat(190) }], masterKey);
    assert.equal(await unseal(master.privateKey, exactly.sealed.MAX), "x".repeat(190));
  });
  test("a 4096-bit master key seals longer values", async () => {
    const big = await masterKeys(4096);
    const key = await importSealingKey(big.answer.key);
    const outcome = await sealEnvironment([{ row: 0, name: "LONG", value: "y".repeat(446) }], key);
    assert.equal(await unseal(big.privateKey, outcome.sealed.LONG), "y".repeat(446));
    assert.ok("errors" in (await sealEnvironment([{ row: 0, name: "LONG", value: "y".repeat(447) }], key)));
  });
});

describe("the call that is sent (containers.run)", () => {
  /** @type {any[]} */
  let bodies;
  const realFetch = globalThis.fetch;
  beforeEach(() => {
    bodies = [];
    globalThis.fetch = async (_url, init) => {
      bodies.push(init.body);
      const low = JSON.parse(init.body)[0];
      return { ok: true, status: 200, json: async () => ({ return: [{ name: low.kwarg.name ?? "web-1a2b", host: "hv2", state: "running", pulled: true, placed: "hv2 has room" }] }) };
    };
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  test("exactly the runner's arguments, the environment only sealed: no value in what leaves the page", async () => {
    const secret = "correct horse battery staple";
    const values = form({
      image: "brine-master:5000/brine/web:1",
      name: "web1",
      host: "hv2",
      ports: [port(8080, 80)],
      environment: [{ name: "DB_PASSWORD", value: secret }, { name: "GREETING", value: "hello" }],
      restart: "always",
    });
    const request = runRequest(values);
    const outcome = await sealEnvironment(request.secrets, masterKey);
    const options = withSealedEnvironment(request.options, outcome.sealed);
    await call("container_run", { options });
    assert.equal(bodies.length, 1);
    assert.ok(!bodies[0].includes(secret) && !bodies[0].includes("hello"), "no value in clear");
    const [low] = JSON.parse(bodies[0]);
    assert.equal(low.fun, "containers.run");
    assert.equal(low.client, "runner");
    assert.deepEqual(Object.keys(low.kwarg).sort(), ["detach", "host", "image", "name", "ports", "restart", "secret_environment"]);
    assert.ok(!("environment" in low.kwarg));
    assert.deepEqual(low.kwarg.ports, [{ host_port: 8080, container_port: 80, protocol: "tcp" }]);
    assert.equal(low.kwarg.detach, true);
    assert.equal(await unseal(master.privateKey, low.kwarg.secret_environment.DB_PASSWORD), secret);
    assert.equal(await unseal(master.privateKey, low.kwarg.secret_environment.GREETING), "hello");
  });
  test("a plain value put in the arguments is a bug, and is not sent", async () => {
    assert.throws(() => callSpec("container_run").kwargs({ options: { image: "web", environment: { A: "x" } } }), /never in clear/);
    assert.throws(() => callSpec("container_run").kwargs({ options: { image: "web", secret_environment: { A: "not sealed!" } } }), /sealed values/);
    assert.throws(() => callSpec("container_run").kwargs({ options: { image: "web", secret_environment: "x" } }), /sealed values/);
    await assert.rejects(async () => call("container_run", { options: { image: "web", environment: { A: "x" } } }), /never in clear/);
    assert.equal(bodies.length, 0);
    assert.deepEqual(RUN_PARTS, ["image", "name", "host", "ports", "secret_environment", "restart", "detach", "timeout"]);
    assert.deepEqual(callSpec("container_run").kwargs({ options: { image: "web", detach: false, name: "", unknown: 1 } }), { image: "web", detach: false });
  });
});

describe("where a refusal goes", () => {
  const values = form({ ports: [port("", ""), port(8080, 80), port(9090, 90)], environment: [{ name: "A", value: "1" }, { name: "DB_URL", value: "x" }] });
  const sent = { values, portRows: [1, 2] };
  const refused = (code, message) => new ApiError(message, { status: 200, code });

  test("codes about one field", () => {
    assert.deepEqual(placeRunError(refused("container_exists", "A container named web1 already exists on hv2"), sent), { field: "name", message: "A container named web1 already exists on hv2" });
    assert.equal(placeRunError(refused("no_image", "brine/nope:1 is in no registry"), sent).field, "image");
    assert.equal(placeRunError(refused("no_room", "no host has a Docker engine that answers"), sent).field, "host");
    assert.equal(placeRunError(refused("docker_unavailable", "hv2's Docker engine does not answer"), sent).field, "host");
  });
  test("a port in use: the row with that host port", () => {
    assert.deepEqual(placeRunError(refused("port_in_use", "host port 9090/tcp is in use on hv2"), sent), { field: "ports[2]", message: "host port 9090/tcp is in use on hv2" });
    assert.equal(placeRunError(refused("port_in_use", "a port is in use on hv2"), sent).field, "ports");
  });
  test("invalid arguments name their field, ports[i] of what was sent, the variable by name", () => {
    assert.equal(placeRunError(refused("invalid_argument", "ports[1].host_port must be a port from 1 to 65535, not 0"), sent).field, "ports[2]");
    assert.equal(placeRunError(refused("invalid_argument", "environment variable DB_URL must be one line"), sent).field, "environment[1]");
    assert.equal(placeRunError(refused("invalid_argument", "image 'x' is not an image reference"), sent).field, "image");
    assert.equal(placeRunError(refused("invalid_argument", "'-x' is not a valid container name"), sent).field, "name");
    assert.equal(placeRunError(refused("invalid_argument", "restart must be one of no, always"), sent).field, "restart");
  });
  test("anything else: the dialog's own line", () => {
    assert.deepEqual(placeRunError(refused("docker_error", "Docker said no"), sent), { field: null, message: "Docker said no" });
    assert.equal(placeRunError(new Error("Cannot reach salt-api."), sent).field, null);
  });
});

describe("the answer as the dialog shows it", () => {
  test("in the background: where it runs, why there, whether it pulled", () => {
    const view = runResultView({ name: "web-1a2b", host: "hv2", image: "brine-master:5000/brine/web:1", state: "running", pulled: true, placed: "hv2 has the image.", ports: [{ host_port: 8080, container_port: 80, protocol: "tcp", bind: "0.0.0.0" }] }, false);
    assert.equal(view.headline, "web-1a2b runs on hv2. hv2 pulled brine-master:5000/brine/web:1 from the registry first.");
    assert.equal(view.pulled, true);
    assert.equal(view.placed, "hv2 has the image.");
    assert.deepEqual(view.ports, ["8080→80/tcp"]);
    assert.equal(view.logs, null);
    assert.equal(runResultView({ name: "a", host: "hv1", image: "x", state: "running", pulled: false }, false).headline, "a runs on hv1. hv1 had x already.");
  });
  test("waited for: the exit code and the output", () => {
    const view = runResultView({ name: "hello", host: "hv1", image: "brine/hello:1", state: "exited", exit_code: 3, logs: ["hello 1", "hello 2"] }, true);
    assert.equal(view.headline, "hello ran on hv1 and exited with code 3. hv1 had brine/hello:1 already.");
    assert.equal(view.exitCode, 3);
    assert.deepEqual(view.logs, ["hello 1", "hello 2"]);
    assert.match(runResultView({ name: "hello", host: "hv1", state: "running", exit_code: null }, true).headline, /still running on hv1: the wait ended first/);
  });
});

describe("the form (components/run-container.js)", () => {
  const byTestid = (root, id) => root.querySelector(`[data-testid="${id}"]`);
  const type = (root, id, text) => {
    const input = byTestid(root, id);
    input.value = text;
    input.fire("input");
    input.fire("change");
  };

  test("hosts whose engine answers, the one asked for first; the values it reads", () => {
    const built = runForm(inventory(), { host: "hv2" });
    const root = container();
    root.append(built.element);
    const host = byTestid(root, "run-host");
    assert.deepEqual(host.querySelectorAll("option").map((option) => option.value), ["", "hv1", "hv2"]);
    assert.equal(host.querySelectorAll("option")[0].textContent, "Any host — Brine places it");
    assert.equal(host.value, "hv2");
    assert.equal(runForm(inventory(), { host: "hv3" }).values().host, "", "an engine that is not up is not offered");
    assert.equal(byTestid(root, "run-background").checked, true);
    assert.equal(byTestid(root, "run-tag").value, "latest");
    // A suggestion with a tag splits into the two fields.
    type(root, "run-image", "brine-master:5000/brine/web:1");
    assert.equal(byTestid(root, "run-image").value, "brine-master:5000/brine/web");
    assert.equal(byTestid(root, "run-tag").value, "1");
    // Rows: add two mappings and a variable, remove the first mapping.
    byTestid(root, "run-port-add").click();
    byTestid(root, "run-port-add").click();
    type(root, "run-port-host-0", "1111");
    type(root, "run-port-host-1", "8080");
    type(root, "run-port-container-1", "80");
    byTestid(root, "run-port-remove-0").click();
    assert.equal(byTestid(root, "run-port-host-1"), null);
    assert.equal(byTestid(root, "run-port-host-0").value, "8080");
    byTestid(root, "run-env-add").click();
    type(root, "run-env-name-0", "TOKEN");
    type(root, "run-env-value-0", "abc");
    const values = built.values();
    assert.deepEqual(values.ports, [{ host_port: "8080", container_port: "80", protocol: "tcp", bind: "" }]);
    assert.deepEqual(values.environment, [{ name: "TOKEN", value: "abc" }]);
    assert.equal(values.image, "brine-master:5000/brine/web");
    assert.equal(values.host, "hv2");
    // Errors at their rows and fields.
    built.showErrors({ "ports[0]": "The host port must be a port from 1 to 65535, not 0.", name: "Bad name." });
    assert.equal(byTestid(root, "run-port-error-0").textContent, "The host port must be a port from 1 to 65535, not 0.");
    assert.equal(byTestid(root, "run-port-error-0").hidden, false);
    assert.equal(byTestid(root, "run-port-host-0").getAttribute("aria-invalid"), "true");
    assert.equal(byTestid(root, "run-name-error").textContent, "Bad name.");
    built.place({ field: null, message: "Docker said no" });
    assert.equal(byTestid(root, "run-error").textContent, "Docker said no");
    assert.equal(byTestid(root, "run-port-error-0").hidden, true, "the earlier errors are cleared");
    // Done: the typed values are forgotten.
    built.forgetSecrets();
    assert.equal(byTestid(root, "run-env-value-0").value, "");
    assert.equal(byTestid(root, "run-env-name-0").value, "TOKEN");
  });
  test("opened before the inventory is read, it offers the hosts once it comes; a choice made stays", () => {
    const built = runForm(null);
    const root = container();
    root.append(built.element);
    const host = byTestid(root, "run-host");
    assert.deepEqual(host.querySelectorAll("option").map((option) => option.value), [""]);
    built.setHosts(["hv1", "hv2"]);
    assert.deepEqual(host.querySelectorAll("option").map((option) => option.value), ["", "hv1", "hv2"]);
    host.value = "hv2";
    built.setHosts(["hv1", "hv2", "hv3"]);
    assert.equal(host.value, "hv2");
    built.setHosts(["hv1"]);
    assert.equal(host.value, "", "a host no longer offered is not kept");
  });
  test("retries only for on-failure; the wait only in the foreground; the suggestions", () => {
    const built = runForm(inventory());
    const root = container();
    root.append(built.element);
    const field = (id) => root.querySelector(`[data-field="${id}"]`);
    assert.equal(field("run-retries").hidden, true);
    assert.equal(field("run-timeout").hidden, true);
    byTestid(root, "run-restart").value = "on-failure";
    byTestid(root, "run-restart").fire("change");
    assert.equal(field("run-retries").hidden, false);
    byTestid(root, "run-background").checked = false;
    byTestid(root, "run-background").fire("change");
    assert.equal(field("run-timeout").hidden, false);
    built.setSuggestions(["brine-master:5000/brine/web:1"], { registry: "brine-master:5000", images: [], error: null });
    assert.deepEqual(byTestid(root, "run-image-list").querySelectorAll("option").map((option) => option.value), ["brine-master:5000/brine/web:1"]);
    assert.match(root.querySelector('[id="run-image-hint"]').textContent, /^A host's local image, or one in brine-master:5000: a name without a registry \(brine\/web\) is looked up locally, then in brine-master:5000\.$/);
  });
});
