// A host's networks and storage as rendered (components/landscape-tables.js, landscape-actions.js,
// pages/host-landscape.js, the host cards' links), on a small stand-in for the DOM (fake-dom.mjs).
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";

import { container, installFakeDom } from "./fake-dom.mjs";
import { ADMIN, BACKUP, DEFAULT, IMAGES, networksAnswer, NOW, OLD_VIEWER, poolsAnswer, SERVICE, VIEWER } from "./landscape-fixtures.mjs";

installFakeDom();
const { renderHosts } = await import("../js/components/host-cards.js");
const { initNotices } = await import("../js/components/notices.js");
const { runLandscapeAction } = await import("../js/components/landscape-actions.js");
const { networksTable, poolsTable } = await import("../js/components/landscape-tables.js");
const { HostNetworksPage, HostStoragePage } = await import("../js/pages/host-landscape.js");
const { ROUTES } = await import("../js/routes.js");
const { createRouter } = await import("../js/router.js");
const { LANDSCAPE_ACTIONS } = await import("../js/landscape.js");
const { createAppStore } = await import("../js/slices/index.js");

const tick = () => new Promise((resolve) => setImmediate(resolve));
const texts = (nodes) => nodes.map((node) => node.textContent);
const testid = (root, id) => root.querySelector(`[data-testid="${id}"]`);

/** @param {{perms?: unknown, expanded?: string[], busy?: Record<string, string>, store?: any}} [options] */
function options({ perms = VIEWER, expanded = [], busy = {}, store = null } = {}) {
  const toggled = [];
  return {
    host: "hv1",
    perms,
    busy,
    store,
    expanded: new Set(expanded),
    onToggle: (name) => toggled.push(name),
    now: NOW,
    toggled,
  };
}

/** Render nodes into a container to query them. */
function mount(...nodes) {
  const root = container();
  root.append(...nodes.flat().filter(Boolean));
  return root;
}

describe("the networks table", () => {
  test("a managed NAT network: its row, its badge, its details when opened", () => {
    const opts = options({ expanded: ["service"] });
    const root = mount(networksTable([DEFAULT, SERVICE], opts));
    const table = testid(root, "networks-table");
    assert.ok(table);
    const row = testid(root, "network-row-service");
    assert.equal(row.dataset.active, "true");
    assert.equal(row.dataset.managed, "true");
    const cells = texts(row.querySelectorAll("td"));
    assert.deepEqual(cells, [
      "NAT",
      "virbr10",
      "192.168.155.0/24gateway 192.168.155.1",
      "service.example.com",
      "192.168.155.100 – 192.168.155.200",
      "Activeautostart",
    ]);
    assert.ok(testid(row, "managed-badge"), "as code");
    assert.equal(testid(row, "managed-badge").textContent, "as code");
    assert.equal(testid(testid(root, "network-row-default"), "managed-badge"), null);
    // Details: static hosts, leases with their expiry, DNS hosts.
    const details = testid(root, "network-details-service");
    assert.ok(details);
    assert.equal(testid(root, "network-details-default"), null, "closed rows have no details");
    assert.deepEqual(texts(testid(details, "static-host-52:54:00:aa:bb:01").querySelectorAll("td")), ["52:54:00:aa:bb:01", "192.168.155.11", "web-1"]);
    assert.ok(testid(details, "static-host-52:54:00:aa:bb:02"));
    assert.deepEqual(texts(testid(details, "lease-52:54:00:aa:bb:01").querySelectorAll("td")), ["52:54:00:aa:bb:01", "192.168.155.11", "web-1", "in 42 min"]);
    assert.deepEqual(texts(testid(details, "dns-hosts-service").querySelectorAll("tbody td")), ["192.168.155.1", "gw, ks"]);
  });
  test("the name opens and closes the details", () => {
    const opts = options();
    const root = mount(networksTable([SERVICE], opts));
    const toggle = testid(root, "network-toggle-service");
    assert.equal(toggle.getAttribute("aria-expanded"), "false");
    toggle.click();
    assert.deepEqual(opts.toggled, ["service"]);
    const open = mount(networksTable([SERVICE], options({ expanded: ["service"] })));
    assert.equal(testid(open, "network-toggle-service").getAttribute("aria-expanded"), "true");
    assert.equal(testid(open, "network-toggle-service").getAttribute("aria-controls"), "network-details-service");
  });
  test("a network without leases or static hosts says so", () => {
    const root = mount(networksTable([DEFAULT], options({ expanded: ["default"] })));
    assert.equal(testid(root, "leases-default").textContent, "No current leases.");
    assert.equal(testid(root, "static-hosts-default").textContent, "No static hosts.");
    assert.equal(testid(root, "dns-hosts-default"), null);
  });
  test("no networks: a sentence, not an empty table", () => {
    const root = mount(networksTable([], options()));
    assert.equal(testid(root, "networks-table"), null);
    assert.equal(testid(root, "networks-empty").textContent, "hv1 has no libvirt networks.");
  });
  test("a viewer sees no action buttons and no actions column", () => {
    const root = mount(networksTable([SERVICE, DEFAULT], options({ perms: VIEWER })));
    assert.equal(root.querySelectorAll("button[data-action]").length, 0);
    assert.ok(!texts(root.querySelectorAll("th")).includes("Actions"));
  });
  test("an admin gets Start and Stop, enabled where the state allows", () => {
    const root = mount(networksTable([SERVICE, DEFAULT], options({ perms: ADMIN })));
    assert.ok(texts(root.querySelectorAll("th")).includes("Actions"));
    assert.ok(testid(root, "network-start-service").disabled);
    assert.equal(testid(root, "network-start-service").getAttribute("title"), "The network is already active.");
    assert.ok(!testid(root, "network-stop-service").disabled);
    assert.equal(testid(root, "network-stop-service").getAttribute("aria-haspopup"), "dialog");
    assert.ok(!testid(root, "network-start-default").disabled);
    assert.ok(testid(root, "network-stop-default").disabled);
  });
  test("an action under way: its row is busy, its button says so, the others wait", () => {
    const root = mount(networksTable([SERVICE], options({ perms: ADMIN, busy: { "networks/hv1/service": "network_stop" } })));
    const row = testid(root, "network-row-service");
    assert.equal(row.getAttribute("aria-busy"), "true");
    assert.equal(testid(row, "network-stop-service").textContent, "Stopping…");
    assert.ok(testid(row, "network-stop-service").disabled);
    assert.equal(testid(row, "network-start-service").getAttribute("title"), "Network service on hv1 is busy.");
  });
});

describe("the pools table", () => {
  test("sizes, a usage bar, the state and the badge", () => {
    const root = mount(poolsTable([IMAGES, BACKUP], options()));
    assert.ok(testid(root, "pools-table"));
    const row = testid(root, "pool-row-images");
    const cells = row.querySelectorAll("td");
    assert.deepEqual(texts(cells), ["Directory", "/var/lib/libvirt/images", "Allocated12 GiB of 50 GiB24%38 GiB available", "Activeautostart"]);
    const bar = row.querySelector('[role="meter"]');
    assert.equal(bar.getAttribute("aria-valuenow"), "24");
    assert.equal(bar.getAttribute("aria-valuetext"), "12 GiB of 50 GiB, 24%");
    assert.equal(testid(row, "pool-available").textContent, "38 GiB available");
    assert.ok(testid(row, "managed-badge"));
    const backup = testid(root, "pool-row-backup");
    assert.equal(backup.dataset.active, "false");
    assert.equal(backup.querySelector('[role="meter"]'), null);
    assert.match(backup.textContent, /Not known while the pool is inactive\./);
    assert.match(backup.textContent, /NFS/);
  });
  test("volumes, with the VMs that use them linking to their pages", () => {
    const root = mount(poolsTable([IMAGES], options({ expanded: ["images"] })));
    const volumes = testid(testid(root, "pool-details-images"), "volumes-images");
    assert.ok(volumes);
    const shared = testid(volumes, "volume-shared.img");
    assert.deepEqual(texts(shared.querySelectorAll("td")), ["shared.img", "raw", "10 GiB", "10 GiB", "db-1, web-2"]);
    assert.deepEqual(shared.querySelectorAll("a").map((a) => a.getAttribute("href")), ["#/vm/db-1", "#/vm/web-2"]);
    assert.equal(testid(volumes, "volume-spare.qcow2").querySelectorAll("td")[4].textContent, "not used");
    assert.deepEqual(texts(testid(volumes, "volume-spare.qcow2").querySelectorAll("td")).slice(2, 4), ["512 MiB", "192 KiB"]);
  });
  test("a viewer sees no buttons; an admin gets Start, Refresh and Stop", () => {
    assert.equal(mount(poolsTable([IMAGES], options({ perms: VIEWER }))).querySelectorAll("button[data-action]").length, 0);
    const root = mount(poolsTable([IMAGES, BACKUP], options({ perms: ADMIN })));
    assert.deepEqual(
      testid(root, "pool-row-images").querySelectorAll("button[data-action]").map((b) => [b.dataset.testid, b.disabled]),
      [["pool-start-images", true], ["pool-refresh-images", false], ["pool-stop-images", false]],
    );
    assert.deepEqual(
      testid(root, "pool-row-backup").querySelectorAll("button[data-action]").map((b) => [b.dataset.testid, b.disabled]),
      [["pool-start-backup", false], ["pool-refresh-backup", true], ["pool-stop-backup", true]],
    );
  });
});

/** A store already holding the fixtures' answers. */
async function loadedStore({ networks = networksAnswer(), pools = poolsAnswer(), inventory = { hosts: [{ name: "hv1" }, { name: "hv2" }] } } = {}) {
  const store = createAppStore({ loadInventory: async () => inventory, loadNetworks: async () => networks, loadPools: async () => pools });
  await store.refresh();
  return store;
}

/** @param {any} Page @param {any} store @param {string} host @param {unknown} perms */
function mountPage(Page, store, host, perms = VIEWER) {
  const root = container();
  const page = new Page({ store, session: { token: "t", expire: 0, user: "u", perms }, navigate: () => {}, signIn: { message: null, onSignedIn: () => {} } });
  page.mount(root, { host });
  return { root, page };
}

describe("the host's pages", () => {
  test("routes for each host's networks and storage", () => {
    const router = createRouter(ROUTES, { fallback: "/" });
    const networks = router.match("#/hosts/hv1/networks");
    assert.equal(networks.route.page, HostNetworksPage);
    assert.deepEqual(networks.params, { host: "hv1" });
    assert.equal(router.titleOf(networks.route, networks.params), "Networks · hv1 · Brine");
    const storage = router.match("#/hosts/hv%202/storage");
    assert.equal(storage.route.page, HostStoragePage);
    assert.deepEqual(storage.params, { host: "hv 2" });
  });
  test("the networks page: back link, tabs with counts, the note that definitions are code, the table", async () => {
    const store = await loadedStore();
    const { root, page } = mountPage(HostNetworksPage, store, "hv1");
    assert.equal(testid(root, "landscape-page").dataset.section, "networks");
    assert.equal(root.querySelector("a.back-link").getAttribute("href"), "#/");
    assert.equal(testid(root, "landscape-tab-networks").getAttribute("aria-current"), "page");
    assert.equal(testid(root, "landscape-tab-networks").textContent, "Networks2");
    assert.equal(testid(root, "landscape-tab-storage").getAttribute("href"), "#/hosts/hv1/storage");
    assert.match(testid(root, "landscape-code-note").textContent, /defined by the pillar landscape: change them there and apply a highstate\./);
    assert.ok(testid(root, "network-row-service"));
    // Opening a row's details redraws the page with them.
    testid(root, "network-toggle-service").click();
    assert.ok(testid(root, "lease-52:54:00:aa:bb:01"));
    testid(root, "network-toggle-service").click();
    assert.equal(testid(root, "lease-52:54:00:aa:bb:01"), null);
    page.unmount();
  });
  test("a host that did not answer shows its sentence, not an empty table", async () => {
    const store = await loadedStore();
    const { root, page } = mountPage(HostStoragePage, store, "hv2");
    assert.equal(testid(root, "pools-table"), null);
    assert.equal(testid(root, "pools-empty"), null);
    assert.ok(testid(root, "landscape-unreachable"));
    assert.equal(testid(root, "landscape-unreachable-reason").textContent, "hv2 did not answer within 10 s");
    page.unmount();
  });
  test("a host the master does not know, a role that may not read, a read that failed", async () => {
    const store = await loadedStore();
    const unknown = mountPage(HostNetworksPage, store, "hv9");
    assert.ok(testid(unknown.root, "landscape-no-host"));
    unknown.page.unmount();
    const viewer = createAppStore({ loadInventory: async () => ({ hosts: [] }) });
    await viewer.refresh();
    const forbidden = mountPage(HostNetworksPage, viewer, "hv1", OLD_VIEWER);
    assert.ok(testid(forbidden.root, "landscape-forbidden"));
    forbidden.page.unmount();
    const failing = createAppStore({
      loadInventory: async () => ({ hosts: [] }),
      loadNetworks: async () => {
        throw new Error("The master did not answer in time.");
      },
    });
    await failing.refresh();
    const failed = mountPage(HostNetworksPage, failing, "hv1");
    assert.match(testid(failed.root, "landscape-failed").textContent, /The master did not answer in time\./);
    failed.page.unmount();
  });
  test("the page follows the store: an event-borne read shows at once", async () => {
    const store = await loadedStore();
    const { root, page } = mountPage(HostNetworksPage, store, "hv1");
    assert.deepEqual(store.state.landscape.stale, { "networks/hv1": true }, "a visit reads the host afresh");
    store.dispatch("landscape", { type: "host-loaded", kind: "networks", host: "hv1", answer: networksAnswer([{ ...SERVICE, active: false }]), seq: 1e9 });
    assert.equal(testid(root, "network-row-service").dataset.active, "false");
    assert.equal(testid(root, "network-row-default"), null);
    page.unmount();
  });
  test("the host cards link to each host's networks and storage, for those who may read them", () => {
    const hosts = [{ name: "hv1", reachable: true, facts: {} }, { name: "hv2", reachable: false, error: "did not answer", facts: null }];
    const root = mount(renderHosts(hosts, { perms: VIEWER }));
    const card = root.querySelector('article[data-host="hv1"]');
    assert.equal(testid(card, "host-networks-link").getAttribute("href"), "#/hosts/hv1/networks");
    assert.equal(testid(card, "host-storage-link").getAttribute("href"), "#/hosts/hv1/storage");
    assert.ok(testid(root.querySelector('article[data-host="hv2"]'), "host-networks-link"));
    assert.equal(testid(mount(renderHosts(hosts, { perms: OLD_VIEWER })), "host-networks-link"), null);
  });
});

describe("running an action", () => {
  /** @type {any[]} */
  let sent;
  /** @type {(low: any) => any} */
  let answer;
  const realFetch = globalThis.fetch;
  beforeEach(() => {
    sent = [];
    globalThis.fetch = async (url, init) => {
      const low = JSON.parse(init.body)[0];
      sent.push(low);
      return { ok: true, status: 200, json: async () => ({ return: [answer(low)] }) };
    };
  });
  afterEach(async () => {
    globalThis.fetch = realFetch;
    await new Promise((resolve) => setTimeout(resolve, 80)); // announce() speaks after 50 ms
    initNotices(null, null);
  });
  const stop = LANDSCAPE_ACTIONS.find((action) => action.id === "network_stop");
  const refresh = LANDSCAPE_ACTIONS.find((action) => action.id === "pool_refresh");

  test("Stop asks first; a no sends nothing", async () => {
    const store = await loadedStore();
    let asked = null;
    await runLandscapeAction(store, stop, { host: "hv1", name: "service" }, {
      confirm: async (question) => {
        asked = question;
        return { confirmed: false, removeDisks: false };
      },
    });
    assert.equal(asked?.title, "Stop network service on hv1?");
    assert.deepEqual(sent, []);
  });
  test("a yes calls the runner with host and name, marks the row busy meanwhile, takes the answer", async () => {
    const store = await loadedStore();
    const busy = [];
    answer = (low) => {
      busy.push({ ...store.state.landscapeBusy });
      return { ...SERVICE, active: false, name: low.kwarg.name };
    };
    await runLandscapeAction(store, stop, { host: "hv1", name: "service" }, { confirm: async () => ({ confirmed: true, removeDisks: false }) });
    assert.deepEqual(sent, [{ client: "runner", fun: "landscape.network_stop", kwarg: { host: "hv1", name: "service" } }]);
    assert.deepEqual(busy, [{ "networks/hv1/service": "network_stop" }]);
    assert.deepEqual(store.state.landscapeBusy, {});
    assert.equal(store.state.landscape.networks.hosts.hv1.items.find((net) => net.name === "service").active, false);
    assert.deepEqual(store.state.landscape.stale, { "networks/hv1": true }, "and the host is read again");
  });
  test("a refusal: the shared banner with the sentence only, and the host read again", async () => {
    const store = await loadedStore();
    const region = container();
    initNotices(region, container());
    answer = () => ({ error: { code: "wrong_state", message: "Pool backup on hv1 is not active." } });
    await runLandscapeAction(store, refresh, { host: "hv1", name: "backup" });
    assert.deepEqual(sent.map((low) => low.fun), ["landscape.pool_refresh"]);
    const banner = region.querySelector('[data-tone="error"]');
    assert.equal(banner.textContent.trim(), "Could not refresh pool backup on hv1: Pool backup on hv1 is not active.");
    assert.deepEqual(store.state.landscapeBusy, {});
    assert.deepEqual(store.state.landscape.stale, { "pools/hv1": true });
  });
});
