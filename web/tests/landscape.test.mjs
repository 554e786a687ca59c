// The landscape's networks and pools in the browser (docs/landscape.md, "What the hosts have"): the runner
// calls (calls.js), the answers read per host and row by row (landscape.js), and the landscape slice
// kept fresh from events, one read per host for a burst (slices/landscape.js).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { callSpec } from "../js/calls.js";
import { landscapeLoader } from "../js/components/landscape-data.js";
import { ApiError } from "../js/errors.js";
import { classifyTag } from "../js/live.js";
import { mayRun } from "../js/perms.js";
import {
  formatExpiry,
  hostView,
  mayReadLandscape,
  networkRow,
  offeredLandscapeActions,
  poolRow,
  readAnswer,
  landscapeHref,
} from "../js/landscape.js";
import { createAppStore } from "../js/slices/index.js";
import { followLandscape, reduceLandscape, LANDSCAPE_INITIAL } from "../js/slices/landscape.js";
import {
  ADMIN,
  BACKUP,
  DEFAULT,
  GiB,
  IMAGES,
  networksAnswer,
  NOW,
  OLD_VIEWER,
  poolsAnswer,
  SERVICE,
  VIEWER,
} from "./landscape-fixtures.mjs";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("the runner calls", () => {
  test("landscape.networks and landscape.pools: every host, or one", () => {
    assert.equal(callSpec("landscape_networks").fun, "landscape.networks");
    assert.equal(callSpec("landscape_pools").fun, "landscape.pools");
    assert.equal(callSpec("landscape_networks").kwargs({}), undefined);
    assert.deepEqual(callSpec("landscape_pools").kwargs({ host: "hv1" }), { host: "hv1" });
  });
  test("the actions take host and name", () => {
    for (const [id, fun] of [
      ["network_start", "landscape.network_start"],
      ["network_stop", "landscape.network_stop"],
      ["pool_start", "landscape.pool_start"],
      ["pool_stop", "landscape.pool_stop"],
      ["pool_refresh", "landscape.pool_refresh"],
    ]) {
      assert.equal(callSpec(id).fun, fun);
      assert.deepEqual(callSpec(id).kwargs({ host: "hv1", name: "service", kind: "x" }), { host: "hv1", name: "service" });
    }
  });
  test("Salt's ACL decides, host and name included", () => {
    assert.ok(mayRun(ADMIN, "network_stop", { host: "hv1", name: "service" }));
    assert.ok(!mayRun(VIEWER, "network_stop", { host: "hv1", name: "service" }));
    const onlyHv1 = [{ "@runner": [{ "landscape\\.pool_refresh\\Z": { kwargs: { host: "hv1\\Z" } } }] }];
    assert.ok(mayRun(onlyHv1, "pool_refresh", { host: "hv1", name: "images" }));
    assert.ok(!mayRun(onlyHv1, "pool_refresh", { host: "hv2", name: "images" }));
  });
  test("the loader asks only where the role may (a call outside the ACL would sign the user out)", async () => {
    const asked = [];
    const client = (perms) => ({
      call: async (id, args) => {
        asked.push([id, args]);
        return { hosts: [] };
      },
      getSession: () => ({ token: "t", expire: 0, user: "u", perms }),
    });
    assert.equal(await landscapeLoader("landscape_networks", client(OLD_VIEWER))(), null);
    assert.deepEqual(asked, []);
    assert.deepEqual(await landscapeLoader("landscape_networks", client(VIEWER))(), { hosts: [] });
    await landscapeLoader("landscape_pools", client(VIEWER))("hv1");
    assert.deepEqual(asked, [["landscape_networks", {}], ["landscape_pools", { host: "hv1" }]]);
    assert.equal(await landscapeLoader("landscape_pools", { call: client(VIEWER).call, getSession: () => null })(), null);
  });
});

describe("the event tags", () => {
  test("a network's and a pool's state", () => {
    assert.deepEqual(classifyTag("brine/network/hv1/service/state"), { kind: "network-state", host: "hv1", network: "service" });
    assert.deepEqual(classifyTag("brine/pool/hv1/images/state"), { kind: "pool-state", host: "hv1", pool: "images" });
    assert.deepEqual(classifyTag("brine/network/hv1/state"), { kind: "other" });
    assert.deepEqual(classifyTag("brine/pool/hv1/images/other"), { kind: "other" });
  });
});

describe("reading the answers", () => {
  test("one part per host, items by name; a host that did not answer keeps its error", () => {
    const hosts = readAnswer(networksAnswer(), "networks", 3);
    assert.deepEqual(Object.keys(hosts), ["hv1", "hv2"]);
    assert.deepEqual(hosts.hv1.items.map((net) => net.name), ["default", "service"]);
    assert.equal(hosts.hv1.seq, 3);
    assert.deepEqual({ ...hosts.hv2, items: [...hosts.hv2.items] }, {
      host: "hv2",
      answered: false,
      error: { code: "unreachable", message: "hv2 did not answer within 10 s" },
      items: [],
      seq: 3,
      refreshError: null,
    });
    assert.deepEqual(readAnswer({ nonsense: true }, "networks", 1), {});
  });
  test("what the page shows for a host", () => {
    const picture = { allowed: true, error: null, hosts: readAnswer(networksAnswer(), "networks", 1), seq: 1 };
    assert.equal(hostView(picture, "hv1").status, "ok");
    assert.deepEqual(hostView(picture, "hv2"), { status: "unreachable", error: { code: "unreachable", message: "hv2 did not answer within 10 s" } });
    assert.deepEqual(hostView(picture, "hv9"), { status: "missing" });
    assert.deepEqual(hostView(LANDSCAPE_INITIAL.networks, "hv1"), { status: "loading" });
    assert.deepEqual(hostView({ allowed: false, error: null, hosts: null, seq: 1 }, "hv1"), { status: "forbidden" });
    const error = { code: "timeout", message: "The master did not answer in time." };
    assert.deepEqual(hostView({ allowed: true, error, hosts: null, seq: 1 }, "hv1"), { status: "failed", error });
  });
});

describe("a network's row", () => {
  test("a managed NAT network: addresses, DHCP, state, static hosts and leases", () => {
    const row = networkRow(SERVICE, NOW);
    assert.equal(row.modeLabel, "NAT");
    assert.equal(row.subnet, "192.168.155.0/24");
    assert.equal(row.gateway, "gateway 192.168.155.1");
    assert.equal(row.domain, "service.example.com");
    assert.equal(row.dhcp, "192.168.155.100 – 192.168.155.200");
    assert.deepEqual(row.state, { label: "Active", tone: "ok" });
    assert.equal(row.startNote, "autostart");
    assert.equal(row.managed, true);
    assert.deepEqual(row.staticHosts, [
      { mac: "52:54:00:aa:bb:01", ip: "192.168.155.11", name: "web-1" },
      { mac: "52:54:00:aa:bb:02", ip: "192.168.155.12", name: "web-2" },
    ]);
    assert.deepEqual(row.leases, [{ mac: "52:54:00:aa:bb:01", ip: "192.168.155.11", hostname: "web-1", expires: "in 42 min" }]);
    assert.deepEqual(row.dnsHosts, [{ ip: "192.168.155.1", hostnames: "gw, ks" }]);
  });
  test("an unmanaged, stopped network without DHCP or domain", () => {
    const row = networkRow(DEFAULT, NOW);
    assert.equal(row.dhcp, "none");
    assert.equal(row.domain, "—");
    assert.deepEqual(row.state, { label: "Inactive", tone: "off" });
    assert.equal(row.startNote, "no autostart");
    assert.equal(row.managed, false);
    assert.equal(networkRow({ name: "br", mode: "bridge", bridge: "br0", active: true, persistent: false }, NOW).startNote, "transient");
    assert.equal(networkRow({ name: "br", mode: "bridge" }, NOW).subnet, "—");
  });
  test("a lease's expiry as a relative time", () => {
    assert.equal(formatExpiry(NOW + 12, NOW), "in 12 s");
    assert.equal(formatExpiry(NOW + 59 * 60 + 59, NOW), "in 59 min");
    assert.equal(formatExpiry(NOW + 3600, NOW), "in 1 h");
    assert.equal(formatExpiry(NOW + 2 * 3600 + 5 * 60, NOW), "in 2 h 5 min");
    assert.equal(formatExpiry(NOW + 3 * 86400 + 3600, NOW), "in 3 d 1 h");
    assert.equal(formatExpiry(NOW + 86400, NOW), "in 1 d");
    assert.equal(formatExpiry(NOW, NOW), "expired");
    assert.equal(formatExpiry(NOW - 100, NOW), "expired");
    assert.equal(formatExpiry(null, NOW), "—");
    assert.equal(formatExpiry("soon", NOW), "—");
  });
});

describe("a pool's row", () => {
  test("sizes as people read them, usage, volumes with their users", () => {
    const row = poolRow(IMAGES);
    assert.equal(row.typeLabel, "Directory");
    assert.equal(row.capacity, "50 GiB");
    assert.equal(row.allocation, "12 GiB");
    assert.equal(row.available, "38 GiB");
    assert.deepEqual(row.usage, { fraction: 0.24, percent: 24, over: false });
    assert.deepEqual(
      row.volumes.map((volume) => [volume.name, volume.format, volume.capacity, volume.allocation, volume.users]),
      [
        ["shared.img", "raw", "10 GiB", "10 GiB", ["db-1", "web-2"]],
        ["spare.qcow2", "qcow2", "512 MiB", "192 KiB", []],
        ["web-1-disk0.qcow2", "qcow2", "20 GiB", "1.5 GiB", ["web-1"]],
      ],
    );
  });
  test("an inactive pool has no sizes", () => {
    const row = poolRow(BACKUP);
    assert.equal(row.typeLabel, "NFS");
    assert.equal(row.sized, false);
    assert.equal(row.usage, null);
    assert.equal(row.capacity, "—");
    assert.equal(poolRow({ name: "vg", type: "logical", capacity: 0, allocation: 0 }).usage?.percent, null);
  });
});

describe("who is offered what", () => {
  test("a viewer reads and is offered no action; an admin is offered all of them", () => {
    assert.ok(mayReadLandscape(VIEWER, "networks") && mayReadLandscape(VIEWER, "pools"));
    assert.ok(!mayReadLandscape(OLD_VIEWER, "networks"));
    assert.deepEqual(offeredLandscapeActions(VIEWER, "networks", "hv1", "service"), []);
    assert.deepEqual(offeredLandscapeActions(VIEWER, "pools", "hv1", "images"), []);
    assert.deepEqual(offeredLandscapeActions(ADMIN, "networks", "hv1", "service").map((a) => a.id), ["network_start", "network_stop"]);
    assert.deepEqual(offeredLandscapeActions(ADMIN, "pools", "hv1", "images").map((a) => a.id), ["pool_start", "pool_refresh", "pool_stop"]);
  });
  test("stopping asks first; what each action needs", () => {
    const [start, stop] = offeredLandscapeActions(ADMIN, "networks", "hv1", "service");
    assert.equal(start.confirm, undefined);
    assert.equal(stop.confirm?.title("service", "hv1"), "Stop network service on hv1?");
    assert.match(stop.confirm?.body ?? "", /cuts its guests off/);
    assert.ok(stop.enabled(SERVICE) && !start.enabled(SERVICE));
    const [, refresh, poolStop] = offeredLandscapeActions(ADMIN, "pools", "hv1", "images");
    assert.ok(refresh.enabled(IMAGES) && !refresh.enabled(BACKUP));
    assert.ok(poolStop.confirm);
  });
  test("the pages' addresses", () => {
    assert.equal(landscapeHref("hv1", "networks"), "#/hosts/hv1/networks");
    assert.equal(landscapeHref("a b", "storage"), "#/hosts/a%20b/storage");
  });
});

/** Timers the test runs by hand. */
function fakeTimers() {
  /** @type {Map<number, () => void>} */
  const pending = new Map();
  let next = 0;
  return {
    setTimer: (fn) => {
      next += 1;
      pending.set(next, fn);
      return next;
    },
    clearTimer: (id) => pending.delete(id),
    get count() {
      return pending.size;
    },
    run() {
      const due = [...pending.values()];
      pending.clear();
      for (const fn of due) {
        fn();
      }
    },
  };
}

/** An app store whose landscape loaders record each call; `hold` keeps per-host answers pending. */
function landscapeStore({ networks = networksAnswer, pools = poolsAnswer, hold = false } = {}) {
  const calls = [];
  const held = [];
  const loader = (kind, answer) => (host) => {
    calls.push(`${kind}:${host ?? "*"}`);
    const value = answer(host);
    if (hold && host !== undefined) {
      return new Promise((resolve) => held.push(() => resolve(value)));
    }
    return value instanceof Error ? Promise.reject(value) : Promise.resolve(value);
  };
  const deps = { loadNetworks: loader("networks", networks), loadPools: loader("pools", pools) };
  const store = createAppStore({ loadInventory: async () => ({ hosts: [] }), ...deps });
  return { store, deps, calls, held };
}

const networkEvent = (host, name, event = "stopped") => [`brine/network/${host}/${name}/state`, { host, name, event, active: event !== "stopped" }];
const poolEvent = (host, name, event = "refreshed") => [`brine/pool/${host}/${name}/state`, { host, name, event, active: true }];

describe("the landscape slice", () => {
  test("loaded with every refresh, both kinds, every host", async () => {
    const { store, calls } = landscapeStore();
    await store.refresh();
    assert.deepEqual(calls.sort(), ["networks:*", "pools:*"]);
    assert.equal(hostView(store.state.landscape.networks, "hv1").items?.length, 2);
    assert.equal(hostView(store.state.landscape.pools, "hv2").status, "unreachable");
  });

  test("a burst of events refetches each host once, not once per event", async () => {
    const { store, deps, calls } = landscapeStore();
    await store.refresh();
    calls.length = 0;
    const timers = fakeTimers();
    const stop = followLandscape(store, { ...deps, ...timers });
    const before = store.state.landscape;
    for (let i = 0; i < 5; i += 1) {
      store.applyEvent(...networkEvent("hv1", "service"));
    }
    store.applyEvent(...networkEvent("hv1", "default", "started"));
    store.applyEvent(...networkEvent("hv2", "service"));
    store.applyEvent(...networkEvent("hv2", "service"));
    store.applyEvent(...poolEvent("hv1", "images"));
    assert.equal(store.state.landscape.networks, before.networks, "events only mark the hosts stale");
    assert.deepEqual(Object.keys(store.state.landscape.stale).sort(), ["networks/hv1", "networks/hv2", "pools/hv1"]);
    assert.equal(timers.count, 3, "one pending read per host and kind");
    assert.deepEqual(calls, [], "nothing is read before the burst is over");
    timers.run();
    await tick();
    assert.deepEqual(calls.sort(), ["networks:hv1", "networks:hv2", "pools:hv1"]);
    assert.deepEqual(store.state.landscape.stale, {});
    assert.equal(timers.count, 0);
    stop();
  });

  test("events while a host is read make exactly one more read", async () => {
    const { store, deps, calls, held } = landscapeStore({ hold: true });
    await store.refresh();
    calls.length = 0;
    const timers = fakeTimers();
    const stop = followLandscape(store, { ...deps, ...timers });
    store.applyEvent(...networkEvent("hv1", "service"));
    timers.run();
    assert.deepEqual(calls, ["networks:hv1"]);
    for (let i = 0; i < 4; i += 1) {
      store.applyEvent(...networkEvent("hv1", "service", "started"));
    }
    assert.equal(timers.count, 0, "no second read while the first runs");
    held.shift()?.();
    await tick();
    assert.equal(timers.count, 1);
    timers.run();
    assert.deepEqual(calls, ["networks:hv1", "networks:hv1"]);
    held.shift()?.();
    await tick();
    assert.equal(timers.count, 0);
    stop();
  });

  test("a host's read replaces that host's part only", async () => {
    let active = true;
    const { store, deps } = landscapeStore({
      networks: (host) => (host === "hv1" ? { hosts: [{ host: "hv1", answered: true, error: null, networks: [{ ...SERVICE, active }] }] } : networksAnswer()),
    });
    await store.refresh();
    const timers = fakeTimers();
    const stop = followLandscape(store, { ...deps, ...timers });
    const hv2 = store.state.landscape.networks.hosts.hv2;
    active = false;
    store.applyEvent(...networkEvent("hv1", "service"));
    timers.run();
    await tick();
    assert.deepEqual(store.state.landscape.networks.hosts.hv1.items.map((net) => [net.name, net.active]), [["service", false]]);
    assert.equal(store.state.landscape.networks.hosts.hv2, hv2);
    stop();
  });

  test("a failed read of one host keeps what was known, with the error", async () => {
    let fail = false;
    const { store, deps } = landscapeStore({
      networks: (host) => (fail && host ? new ApiError("The master did not answer in time.", { code: "timeout" }) : networksAnswer()),
    });
    await store.refresh();
    const timers = fakeTimers();
    const stop = followLandscape(store, { ...deps, ...timers });
    fail = true;
    store.applyEvent(...networkEvent("hv1", "service"));
    timers.run();
    await tick();
    const view = hostView(store.state.landscape.networks, "hv1");
    assert.equal(view.items?.length, 2);
    assert.deepEqual(view.refreshError, { code: "timeout", message: "The master did not answer in time." });
    stop();
  });

  test("an older read never replaces a newer one", () => {
    const landscape = reduceLandscape(
      { ...LANDSCAPE_INITIAL, networks: { allowed: true, error: null, hosts: readAnswer(networksAnswer(), "networks", 10), seq: 10 } },
      { type: "host-loaded", kind: "networks", host: "hv1", answer: networksAnswer([]), seq: 9 },
    );
    assert.equal(landscape.networks.hosts?.hv1.items.length, 2);
    const newer = reduceLandscape(landscape, { type: "host-loaded", kind: "networks", host: "hv1", answer: networksAnswer([]), seq: 11 });
    assert.equal(newer.networks.hosts?.hv1.items.length, 0);
    const gone = reduceLandscape(landscape, { type: "host-loaded", kind: "networks", host: "hv7", answer: networksAnswer(), seq: 12 });
    assert.equal(hostView(gone.networks, "hv7").status, "unreachable");
  });

  test("an action's answer replaces its object at once", () => {
    const landscape = { ...LANDSCAPE_INITIAL, pools: { allowed: true, error: null, hosts: readAnswer(poolsAnswer(), "pools", 1), seq: 1 } };
    const after = reduceLandscape(landscape, { type: "item", kind: "pools", host: "hv1", item: { ...BACKUP, active: true } });
    assert.equal(after.pools.hosts?.hv1.items.find((pool) => pool.name === "backup")?.active, true);
    assert.equal(reduceLandscape(landscape, { type: "item", kind: "pools", host: "hv1", item: { name: "unknown" } }), landscape);
    assert.equal(reduceLandscape(landscape, { type: "item", kind: "pools", host: "hv1", item: "done" }), landscape);
  });

  test("a VM defined or undefined changes its volumes' users: its host's pools are read again", async () => {
    const { store } = landscapeStore();
    await store.refresh();
    store.applyEvent("brine/vm/hv1/web-3/state", { host: "hv1", name: "web-3", event: "started", state: "running" });
    assert.deepEqual(store.state.landscape.stale, {});
    store.applyEvent("brine/vm/hv1/web-3/state", { host: "hv1", name: "web-3", event: "undefined", vm: null });
    assert.deepEqual(store.state.landscape.stale, { "pools/hv1": true });
  });

  test("a host's resync and its minion's start refetch everything, as for the inventory", async () => {
    const { store, calls } = landscapeStore();
    await store.refresh();
    calls.length = 0;
    store.applyEvent("brine/host/hv1/resync", { host: "hv1", reason: "reconnected" });
    await tick();
    await tick();
    assert.deepEqual(calls.sort(), ["networks:*", "pools:*"]);
    calls.length = 0;
    store.applyEvent("salt/minion/hv2/start", { host: "hv2" });
    await tick();
    await tick();
    assert.deepEqual(calls.sort(), ["networks:*", "pools:*"]);
  });

  test("a role that may not read the landscape: nothing asked, nothing stale", async () => {
    const store = createAppStore({ loadInventory: async () => ({ hosts: [] }) });
    await store.refresh();
    assert.equal(hostView(store.state.landscape.networks, "hv1").status, "forbidden");
    store.applyEvent(...networkEvent("hv1", "service"));
    assert.deepEqual(store.state.landscape.stale, {});
  });

  test("a failed read does not stop the inventory's refresh; a 401 does", async () => {
    const refused = new ApiError("salt-api hit an unexpected error (HTTP 500).", { status: 500 });
    const { store } = landscapeStore({ networks: () => refused });
    await store.refresh();
    assert.deepEqual(store.state.inventory, { hosts: [] });
    assert.deepEqual(hostView(store.state.landscape.networks, "hv1"), { status: "failed", error: { code: null, message: refused.message } });
    assert.equal(hostView(store.state.landscape.pools, "hv1").status, "ok");
    const signedOut = landscapeStore({ pools: () => new ApiError("Salt did not accept your session (HTTP 401).", { status: 401 }) });
    await assert.rejects(signedOut.store.refresh(), /did not accept/);
  });

  test("events during a refresh are applied to its answer", async () => {
    let release = () => {};
    const slow = createAppStore({
      loadInventory: async () => ({ hosts: [] }),
      loadNetworks: () => new Promise((resolve) => (release = () => resolve(networksAnswer()))),
      loadPools: async () => poolsAnswer(),
    });
    const refreshing = slow.refresh();
    slow.applyEvent(...networkEvent("hv1", "service"));
    release();
    await refreshing;
    assert.deepEqual(slow.state.landscape.stale, { "networks/hv1": true });
  });

  test("sign-out forgets it", async () => {
    const { store } = landscapeStore();
    await store.refresh();
    store.dispatch("landscapeBusy", { type: "busy", key: "networks/hv1/service", id: "network_stop" });
    store.reset();
    assert.equal(store.state.landscape, LANDSCAPE_INITIAL);
    assert.deepEqual(store.state.landscapeBusy, {});
  });

  test("the actions under way survive a refresh", async () => {
    const { store } = landscapeStore();
    store.dispatch("landscapeBusy", { type: "busy", key: "networks/hv1/service", id: "network_stop" });
    await store.refresh();
    assert.deepEqual(store.state.landscapeBusy, { "networks/hv1/service": "network_stop" });
    store.dispatch("landscapeBusy", { type: "idle", key: "networks/hv1/service" });
    assert.deepEqual(store.state.landscapeBusy, {});
  });
});
