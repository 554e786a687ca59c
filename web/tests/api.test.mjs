// The API layer against a fake fetch: request shapes from docs/api.md, and error handling.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { CALLS } from "../js/calls.js";

class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
  get length() {
    return this.items.size;
  }
}

globalThis.sessionStorage = new MemoryStorage();
const api = await import("../js/api.js");

let requests = [];
let answers = [];

function answer(status, body, contentType = "application/json") {
  answers.push(
    new Response(typeof body === "string" ? body : JSON.stringify(body), {
      status,
      headers: { "Content-Type": contentType },
    }),
  );
}

globalThis.fetch = async (url, options) => {
  requests.push({ url, options, body: options.body ? JSON.parse(options.body) : undefined });
  const next = answers.shift();
  if (!next) {
    throw new TypeError("Failed to fetch");
  }
  return next;
};

const PERMS = [{ "@runner": ["cluster.inventory", "cluster.vm_info"] }];

function signIn(expire = Date.now() / 1000 + 3600) {
  sessionStorage.setItem(
    "brine.session",
    JSON.stringify({ token: "tok123", expire, user: "viewer1", perms: PERMS }),
  );
}

beforeEach(() => {
  requests = [];
  answers = [];
  sessionStorage.items.clear();
  api.onUnauthorized(() => {});
});

describe("login", () => {
  test("posts PAM credentials to /api/login and stores the session", async () => {
    answer(200, { return: [{ token: "tok123", expire: 2e9, start: 1e9, user: "op", eauth: "pam", perms: PERMS }] });
    const session = await api.login("op", "secret");
    assert.equal(requests[0].url, "/api/login");
    assert.equal(requests[0].options.method, "POST");
    assert.deepEqual(requests[0].body, { username: "op", password: "secret", eauth: "pam" });
    assert.equal(requests[0].options.headers["X-Auth-Token"], undefined);
    assert.deepEqual(session, { token: "tok123", expire: 2e9, user: "op", perms: PERMS });
    assert.deepEqual(api.getSession(), session);
    assert.ok(!JSON.stringify(api.getSession()).includes("secret"), "the password is never stored");
  });

  test("a wrong password is a sentence and stores nothing", async () => {
    answer(401, "<h2>401 Unauthorized</h2><p>Could not authenticate using provided credentials</p>", "text/html");
    await assert.rejects(api.login("op", "wrong"), { message: "Wrong username or password.", status: 401 });
    assert.equal(sessionStorage.length, 0);
  });

  test("an account without any Brine permission is not signed in", async () => {
    answer(200, { return: [{ token: "tok", expire: 2e9, user: "nobody", eauth: "pam", perms: {} }] });
    await assert.rejects(api.login("nobody", "pw"), /no Brine role/);
    assert.equal(sessionStorage.length, 0);
  });
});

describe("runner calls", () => {
  test("inventory sends the low-state of docs/api.md with the token", async () => {
    signIn();
    answer(200, { return: [{ collected: 1, hosts: [], totals: {} }] });
    const result = await api.inventory();
    assert.deepEqual(result, { collected: 1, hosts: [], totals: {} });
    assert.equal(requests[0].url, "/api/");
    assert.equal(requests[0].options.headers["X-Auth-Token"], "tok123");
    assert.equal(requests[0].options.headers.Accept, "application/json");
    assert.deepEqual(requests[0].body, [{ client: "runner", fun: "cluster.inventory" }]);
  });

  test("actions pass the VM name as kwarg", async () => {
    signIn();
    const calls = [
      ["start", "cluster.start"],
      ["shutdown", "cluster.shutdown"],
      ["force_off", "cluster.force_off"],
      ["reboot", "cluster.reboot"],
      ["pause", "cluster.pause"],
      ["resume", "cluster.resume"],
    ];
    for (const [id, fun] of calls) {
      answer(200, { return: [{ name: "lab-vm1", action: id, changed: true }] });
      await api.call(id, { name: "lab-vm1" });
      assert.deepEqual(requests.at(-1).body, [{ client: "runner", fun, kwarg: { name: "lab-vm1" } }]);
    }
  });

  test("delete sends remove_disks only as asked", async () => {
    signIn();
    answer(200, { return: [{ name: "lab-vm3", action: "delete", state: "deleted", vm: null }] });
    await api.call("delete", { name: "lab-vm3", removeDisks: true });
    assert.deepEqual(requests[0].body[0].kwarg, { name: "lab-vm3", remove_disks: true });
    answer(200, { return: [{ name: "lab-vm3", action: "delete", state: "deleted", vm: null }] });
    await api.deleteVm("lab-vm3");
    assert.deepEqual(requests[1].body[0].kwarg, { name: "lab-vm3", remove_disks: false });
  });

  test("a runner that raised (HTTP 200, string result) is an error with Salt's sentence", async () => {
    signIn();
    answer(200, {
      return: [
        "Exception occurred in runner cluster.start: Traceback (most recent call last):\n  File \"x\", line 1, in start\nsalt.exceptions.CommandExecutionError: lab-vm1 is already running\n",
      ],
    });
    await assert.rejects(api.start("lab-vm1"), { message: "lab-vm1 is already running", status: 200, code: null });
  });

  test("a Brine error carries its code; the sentence shown has none", async () => {
    signIn();
    answer(200, {
      return: [
        "Exception occurred in runner cluster.reboot: Traceback (most recent call last):\n  File \"x\", line 1, in reboot\nsalt.exceptions.CommandExecutionError: [not_running] lab-vm3 is not running on hv1\n",
      ],
    });
    await assert.rejects(api.reboot("lab-vm3"), {
      message: "lab-vm3 is not running on hv1",
      code: "not_running",
      status: 200,
      fun: "cluster.reboot",
    });
  });

  test("a runner's structured refusal is an ApiError with its code and message", async () => {
    signIn();
    answer(200, { return: [{ error: { code: "already_running", message: "hv1: lab-vm1 is already running on hv1" }, retcode: 1 }] });
    await assert.rejects(api.start("lab-vm1"), {
      name: "ApiError",
      message: "hv1: lab-vm1 is already running on hv1",
      code: "already_running",
      status: 200,
      fun: "cluster.start",
    });
  });

  test("a structured refusal with a code the app does not know keeps the message, code null", async () => {
    signIn();
    answer(200, { return: [{ error: { code: "made_up", message: "No." } }] });
    await assert.rejects(api.migrate("lab-vm1", "hv2", {}), { message: "No.", code: null, status: 200 });
  });

  test("a result that merely has an error field of another shape is a result", async () => {
    signIn();
    answer(200, { return: [{ name: "hv1", error: "did not answer within 10 s" }] });
    assert.deepEqual(await api.inventory(), { name: "hv1", error: "did not answer within 10 s" });
  });

  test("every declared call goes out as declared", async () => {
    signIn();
    for (const [id, spec] of Object.entries(CALLS)) {
      answer(200, { return: [{}] });
      await api.call(id, { name: "lab-vm1", target: "hv2" });
      const low = requests.at(-1).body[0];
      assert.equal(low.client, spec.client);
      assert.equal(low.fun, spec.fun);
      assert.deepEqual(low.kwarg, spec.kwargs({ name: "lab-vm1", target: "hv2" }));
    }
    assert.throws(() => api.call("no_such_call"), /No runner call "no_such_call"/);
  });

  test("403 is an error with a sentence and keeps the session", async () => {
    signIn();
    answer(403, "<h2>403 Forbidden</h2><p>Bad IP</p>", "text/html");
    await assert.rejects(api.inventory(), { status: 403, message: "Salt refused the request: Bad IP (HTTP 403)." });
    assert.ok(api.getSession());
  });

  test("a network failure is status 0", async () => {
    signIn();
    await assert.rejects(api.inventory(), { status: 0, message: /Cannot reach salt-api/ });
  });
});

describe("401 from an authenticated call", () => {
  test("clears the session and reports a live token as refused", async () => {
    signIn();
    const seen = [];
    api.onUnauthorized((info) => seen.push(info));
    answer(401, "<p>No permission</p>", "text/html");
    await assert.rejects(api.shutdown("lab-vm1"), { status: 401 });
    assert.deepEqual(seen, [{ expired: false }]);
    assert.equal(api.getSession(), null);
  });

  test("reports an expired token as expired", async () => {
    signIn(Date.now() / 1000 - 5);
    const seen = [];
    api.onUnauthorized((info) => seen.push(info));
    answer(401, "", "text/html");
    await assert.rejects(api.inventory(), { status: 401 });
    assert.deepEqual(seen, [{ expired: true }]);
  });

  test("sessionExpired compares salt-api's expire (seconds) with now", () => {
    assert.ok(api.sessionExpired({ token: "t", expire: 100 }, 100_000));
    assert.ok(!api.sessionExpired({ token: "t", expire: 101 }, 100_000));
    assert.ok(!api.sessionExpired(null));
  });
});

describe("logout", () => {
  test("posts /api/logout and forgets the session even when that fails", async () => {
    signIn();
    answer(500, "{}");
    await api.logout();
    assert.equal(requests[0].url, "/api/logout");
    assert.equal(api.getSession(), null);
  });
});
