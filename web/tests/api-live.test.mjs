// The API layer's event stream and migration calls, against a fake fetch.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

const items = new Map();
globalThis.sessionStorage = {
  getItem: (key) => (items.has(key) ? items.get(key) : null),
  setItem: (key, value) => items.set(key, String(value)),
  removeItem: (key) => items.delete(key),
};
const api = await import("../js/api.js");

let requests = [];
let answers = [];
globalThis.fetch = async (url, options) => {
  requests.push({ url, options });
  return answers.shift();
};

beforeEach(() => {
  requests = [];
  answers = [];
  sessionStorage.setItem("brine.session", JSON.stringify({ token: "abc123", expire: 9e9, user: "u", perms: ["@runner"] }));
});

describe("openEventStream", () => {
  test("GET /stream (Brine's stream, not salt-api's /events) with the token in X-Auth-Token, never in the URL", async () => {
    answers.push(new Response("retry: 400\n", { status: 200, headers: { "Content-Type": "text/event-stream" } }));
    const response = await api.openEventStream(new AbortController().signal);
    assert.equal(response.status, 200);
    assert.equal(requests[0].url, "/stream");
    assert.equal(requests[0].options.method, "GET");
    assert.equal(requests[0].options.headers["X-Auth-Token"], "abc123");
    assert.equal(requests[0].options.headers.Accept, "text/event-stream");
    assert.ok(requests[0].options.signal);
  });

  test("a 401 clears the session, tells the app, and throws with status 401", async () => {
    const seen = [];
    api.onUnauthorized((info) => seen.push(info));
    answers.push(new Response("", { status: 401 }));
    await assert.rejects(api.openEventStream(undefined), (err) => err.status === 401);
    assert.deepEqual(seen, [{ expired: false }]);
    assert.equal(api.getSession(), null);
  });

  test("the stream down: status 0 or the gateway's status, to be retried", async () => {
    globalThis.fetch = async () => {
      throw new TypeError("Failed to fetch");
    };
    await assert.rejects(api.openEventStream(undefined), (err) => err.status === 0);
    globalThis.fetch = async (url, options) => {
      requests.push({ url, options });
      return answers.shift();
    };
    answers.push(new Response("Bad Gateway", { status: 502 }));
    await assert.rejects(api.openEventStream(undefined), (err) => err.status === 502);
  });
});

describe("migration calls", () => {
  const ok = (body) => new Response(JSON.stringify({ return: [body] }), { status: 200 });
  const sent = () => JSON.parse(requests[0].options.body);

  test("migrationTargets asks cluster.migration_targets for the VM", async () => {
    answers.push(ok({ hv2: { eligible: true, reasons: [], offers: [] } }));
    const targets = await api.migrationTargets("lab-vm1");
    assert.deepEqual(sent(), [{ client: "runner", fun: "cluster.migration_targets", kwarg: { name: "lab-vm1" } }]);
    assert.equal(targets.hv2.eligible, true);
  });

  test("migrate sends the options that are set, and only those", async () => {
    answers.push(ok({ id: "m1", vm: "lab-vm1" }));
    await api.migrate("lab-vm1", "hv2", { live: true, max_downtime: 100, bandwidth: undefined, copy_storage: false, autoconverge: null });
    assert.deepEqual(sent()[0].kwarg, { name: "lab-vm1", target: "hv2", live: true, max_downtime: 100, copy_storage: false });
    assert.equal(sent()[0].fun, "cluster.migrate");
  });

  test("a refused migration is the runner's sentence", async () => {
    answers.push(ok("CommandExecutionError: lab-vm1 is already being migrated"));
    await assert.rejects(api.migrate("lab-vm1", "hv2"), /already being migrated/);
  });

  test("migrationAbort names the VM", async () => {
    answers.push(ok({ id: "m1", vm: "lab-vm1", aborted: true }));
    await api.migrationAbort("lab-vm1");
    assert.deepEqual(sent(), [{ client: "runner", fun: "cluster.migration_abort", kwarg: { name: "lab-vm1" } }]);
  });
});
