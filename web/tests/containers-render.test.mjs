// Containers as rendered (components/container-tables.js, container-actions.js,
// pages/containers.js, the host cards' link), on a small stand-in for the DOM (fake-dom.mjs).
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";

import { container, installFakeDom } from "./fake-dom.mjs";
import { ADMIN, HELLO, IMAGES_ANSWER, inventory, NOW, OLD_VIEWER, OPERATOR, PAUSED, VIEWER, WEB1 } from "./containers-fixtures.mjs";

installFakeDom();
const { renderHosts } = await import("../js/components/host-cards.js");
const { initNotices } = await import("../js/components/notices.js");
const { containersTable, engineNotice, imagesTable } = await import("../js/components/container-tables.js");
const { runContainerAction } = await import("../js/components/container-actions.js");
const { ContainersPage, HostContainersPage } = await import("../js/pages/containers.js");
const { OverviewPage } = await import("../js/pages/overview.js");
const { ROUTES } = await import("../js/routes.js");
const { createRouter } = await import("../js/router.js");
const { CONTAINER_ACTIONS, engineOf, imagesPicture } = await import("../js/containers.js");
const { createAppStore } = await import("../js/slices/index.js");

const texts = (nodes) => nodes.map((node) => node.textContent);
const testid = (root, id) => root.querySelector(`[data-testid="${id}"]`);
const buttons = (root) => root.querySelectorAll("button[data-action]").map((button) => button.dataset.testid);

/** Render nodes into a container to query them. */
function mount(...nodes) {
  const root = container();
  root.append(...nodes.flat().filter(Boolean));
  return root;
}

const withHosts = (inv) => inv.hosts.flatMap((host) => (host.containers ?? []).map((c) => ({ ...c, host: host.name })));

describe("the containers table", () => {
  test("a row: name with its badge and restart policy, image, state with Docker's words, ports, created, host", () => {
    const root = mount(containersTable(withHosts(inventory()), { perms: VIEWER, busy: {}, store: null, withHost: true, now: NOW }));
    assert.deepEqual(texts(root.querySelectorAll("thead th")), ["Name", "Image", "State", "Ports", "Created", "Host"]);
    const row = testid(root, "container-row-web1");
    assert.equal(row.dataset.container, "web1");
    assert.equal(row.dataset.host, "hv1");
    assert.equal(row.dataset.state, "running");
    assert.equal(row.dataset.managed, "true");
    assert.ok(testid(row, "container-managed-badge"));
    assert.match(row.querySelector("th").textContent, /^web1as coderestart: unless-stopped$/);
    assert.deepEqual(texts(row.querySelectorAll("td")), [
      "brine-master:5000/brine/web:1",
      "RunningUp 2 minutes",
      "8080→80/tcp127.0.0.1:5353→53/udp",
      "2 min ago",
      "hv1",
    ]);
    assert.equal(testid(row, "container-state").dataset.state, "running");
    assert.equal(testid(row, "container-status").textContent, "Up 2 minutes");
    assert.deepEqual(texts(row.querySelectorAll('[data-testid="container-port"]')), ["8080→80/tcp", "127.0.0.1:5353→53/udp"]);
    assert.equal(testid(row, "container-host").getAttribute("href"), "#/hosts/hv1/containers");
    const cache = testid(root, "container-row-cache");
    assert.equal(testid(cache, "container-ports").textContent, "[::1]:6379→6379/tcp");
    assert.equal(testid(cache, "container-created").textContent, "3 d ago");
    const hello = testid(root, "container-row-hello-1a2b");
    assert.equal(testid(hello, "container-state").textContent, "Exited (0)");
    assert.equal(testid(hello, "container-ports").textContent, "—");
    assert.equal(testid(hello, "container-managed-badge"), null);
  });
  test("a viewer sees no buttons and no Actions column", () => {
    const root = mount(containersTable(withHosts(inventory()), { perms: VIEWER, busy: {}, store: null, withHost: true, now: NOW }));
    assert.deepEqual(buttons(root), []);
    assert.ok(!texts(root.querySelectorAll("th")).includes("Actions"));
  });
  test("an operator: the actions of each state, no Remove", () => {
    const root = mount(containersTable(withHosts(inventory()), { perms: OPERATOR, busy: {}, store: null, withHost: true, now: NOW }));
    assert.deepEqual(buttons(testid(root, "container-row-web1")), ["container-stop-web1", "container-restart-web1", "container-pause-web1", "container-logs-web1"]);
    assert.deepEqual(buttons(testid(root, "container-row-hello-1a2b")), ["container-start-hello-1a2b", "container-logs-hello-1a2b"]);
    assert.deepEqual(buttons(testid(root, "container-row-cache")), ["container-unpause-cache", "container-logs-cache"]);
    assert.equal(testid(root, "container-logs-web1").getAttribute("aria-haspopup"), "dialog");
  });
  test("an admin: Remove too", () => {
    const root = mount(containersTable(withHosts(inventory()), { perms: ADMIN, busy: {}, store: null, withHost: true, now: NOW }));
    assert.deepEqual(buttons(testid(root, "container-row-hello-1a2b")), ["container-start-hello-1a2b", "container-logs-hello-1a2b", "container-remove-hello-1a2b"]);
    assert.equal(testid(root, "container-remove-web1").dataset.action, "remove");
  });
  test("an action under way: its row is busy, its button says so, the others wait but Logs", () => {
    const root = mount(containersTable(withHosts(inventory()), { perms: ADMIN, busy: { "hv1/web1": "container_stop" }, store: null, withHost: true, now: NOW }));
    const row = testid(root, "container-row-web1");
    assert.equal(row.getAttribute("aria-busy"), "true");
    assert.equal(testid(row, "container-stop-web1").textContent, "Stopping…");
    assert.ok(testid(row, "container-stop-web1").disabled);
    assert.ok(testid(row, "container-pause-web1").disabled);
    assert.equal(testid(row, "container-pause-web1").getAttribute("title"), "Container web1 on hv1 is busy.");
    assert.ok(!testid(row, "container-logs-web1").disabled);
    assert.equal(testid(root, "container-row-hello-1a2b").getAttribute("aria-busy"), null);
  });
  test("no containers: a sentence, not an empty table", () => {
    assert.equal(testid(mount(containersTable([], { perms: ADMIN, busy: {}, store: null, host: "hv2" })), "containers-empty").textContent, "hv2 runs no containers, and has none stopped.");
  });
  test("a host whose engine is none or down says so in words", () => {
    const hosts = inventory().hosts;
    const none = mount(engineNotice("hv3", engineOf(hosts[2])));
    assert.equal(testid(none, "container-engine").dataset.engine, "none");
    assert.equal(testid(none, "container-engine-reason").textContent, "hv3 has no Docker engine.");
    const down = mount(engineNotice("hv4", engineOf(hosts[3])));
    assert.equal(testid(down, "container-engine-reason").textContent, "hv4's Docker engine does not answer: Cannot connect to the Docker daemon.");
  });
});

describe("the local images table", () => {
  test("reference and other tags, ID, created, size, the hosts that have it", () => {
    const root = mount(imagesTable(imagesPicture(IMAGES_ANSWER).images, { now: NOW }));
    assert.deepEqual(texts(root.querySelectorAll("thead th")), ["Image", "ID", "Created", "Size", "Hosts"]);
    const web = testid(root, "image-row-1ffb213e8dbb");
    assert.equal(web.dataset.image, "brine-master:5000/brine/web:1");
    assert.equal(web.querySelector("th").textContent, "brine-master:5000/brine/web:1brine/web:latest");
    assert.deepEqual(texts(web.querySelectorAll("td")), ["1ffb213e8dbb", "2 d ago", "4.2 MiB", "hv1hv2"]);
    assert.equal(testid(web, "image-host-hv2").getAttribute("href"), "#/hosts/hv2/containers");
    assert.deepEqual(texts(testid(root, "image-hosts-2aa0ff6b7c1d").querySelectorAll("a")), ["hv1"]);
    assert.equal(testid(mount(imagesTable([])), "images-empty").textContent, "No local images on the hosts that answered.");
  });
});

/** A store holding the fixtures' inventory. */
async function loadedStore(inv = inventory()) {
  const store = createAppStore({ loadInventory: async () => inv });
  await store.refresh();
  return store;
}

/** The pages mounted by a test: unmounted after it, whatever happens (their timers keep node up). */
const mounted = [];

/** @param {any} Page @param {any} store @param {Record<string, string>} params @param {unknown} perms */
function mountPage(Page, store, params = {}, perms = VIEWER) {
  const root = container();
  const page = new Page({ store, session: { token: "t", expire: 0, user: "u", perms }, navigate: () => {}, signIn: { message: null, onSignedIn: () => {} } });
  page.mount(root, params);
  mounted.push(page);
  return { root, page };
}

describe("the pages", () => {
  afterEach(() => {
    for (const page of mounted.splice(0)) {
      page.unmount();
    }
  });

  test("routes for the cluster and each host", () => {
    const router = createRouter(ROUTES, { fallback: "/" });
    assert.equal(router.match("#/containers").route.page, ContainersPage);
    assert.equal(router.titleOf(router.match("#/containers").route, {}), "Containers · Brine");
    const host = router.match("#/hosts/hv2/containers");
    assert.equal(host.route.page, HostContainersPage);
    assert.deepEqual(host.params, { host: "hv2" });
    assert.equal(router.titleOf(host.route, host.params), "Containers · hv2 · Brine");
  });
  test("the cluster: every host's containers with a Host column, a note for each host without", async () => {
    const store = await loadedStore();
    const { root, page } = mountPage(ContainersPage, store, {}, OPERATOR);
    assert.ok(testid(root, "containers-page"));
    assert.equal(testid(root, "containers-summary").textContent, "1 running of 3 containers on 2 hosts with Docker");
    const section = testid(root, "containers-section");
    assert.deepEqual(section.querySelectorAll("tbody tr").map((row) => `${row.dataset.container}@${row.dataset.host}`), ["cache@hv2", "hello-1a2b@hv1", "web1@hv1"]);
    assert.ok(texts(root.querySelectorAll("thead th")).includes("Host"));
    assert.deepEqual(texts(testid(root, "container-host-notes").querySelectorAll("li")), [
      "hv3 has no Docker engine.",
      "hv4's Docker engine does not answer: Cannot connect to the Docker daemon.",
      "hv5 did not answer: hv5 did not answer within 10 s.",
    ]);
    assert.equal(testid(root, "container-host-note-hv4").dataset.engine, "down");
    assert.ok(testid(root, "run-container-button"), "an operator may run");
    // The filter.
    const filter = testid(root, "containers-filter");
    filter.value = "hv2";
    filter.fire("input");
    assert.deepEqual(section.querySelectorAll("tbody tr").map((row) => row.dataset.container), ["cache"]);
    filter.value = "nothing-like-it";
    filter.fire("input");
    assert.equal(testid(root, "containers-no-match").textContent, "No container matches “nothing-like-it”.");
    page.unmount();
  });
  test("a viewer: everything, but no Run and no buttons", async () => {
    const store = await loadedStore();
    const { root, page } = mountPage(ContainersPage, store, {}, VIEWER);
    assert.equal(testid(root, "run-container-button"), null);
    assert.deepEqual(buttons(root), []);
    assert.equal(testid(root, "containers-section").querySelectorAll("tbody tr").length, 3);
    page.unmount();
  });
  test("the page follows the store: an event changes its row, no refetch", async () => {
    let loads = 0;
    const store = createAppStore({
      loadInventory: async () => {
        loads += 1;
        return inventory();
      },
    });
    await store.refresh();
    const { root, page } = mountPage(ContainersPage, store, {}, ADMIN);
    store.applyEvent("brine/container/hv1/web1/state", { host: "hv1", name: "web1", event: "stopped", container: { ...WEB1, state: "exited", status: "Exited (0) 1 second ago", exit_code: 0 } });
    const row = testid(root, "container-row-web1");
    assert.equal(row.dataset.state, "exited");
    assert.deepEqual(buttons(row), ["container-start-web1", "container-logs-web1", "container-remove-web1"]);
    assert.equal(testid(root, "containers-summary").textContent, "0 running of 3 containers on 2 hosts with Docker");
    store.applyEvent("brine/container/hv1/web1/state", { host: "hv1", name: "web1", event: "removed", container: null });
    assert.equal(testid(root, "container-row-web1"), null);
    store.applyEvent("brine/container/hv2/web2/state", { host: "hv2", name: "web2", event: "created", container: { ...WEB1, name: "web2", id: "222222222222", state: "created" } });
    assert.equal(testid(root, "container-row-web2").dataset.host, "hv2");
    assert.equal(loads, 1);
    page.unmount();
  });
  test("one host: its containers without a Host column, its engine's version, Run for it", async () => {
    const store = await loadedStore();
    const { root, page } = mountPage(HostContainersPage, store, { host: "hv1" }, OPERATOR);
    assert.equal(testid(root, "host-containers-page").dataset.host, "hv1");
    assert.equal(testid(root, "container-engine-version").textContent, "Docker 20.10.24+dfsg1");
    assert.deepEqual(root.querySelectorAll("tbody tr").map((row) => row.dataset.container), ["hello-1a2b", "web1"]);
    assert.ok(!texts(root.querySelectorAll("thead th")).includes("Host"));
    assert.ok(testid(root, "run-container-button"));
    assert.equal(testid(root, "containers-all-link").getAttribute("href"), "#/containers");
    // A container an event adds is this host's, its row and buttons too.
    store.applyEvent("brine/container/hv1/api/state", { host: "hv1", name: "api", event: "created", container: { ...HELLO, name: "api", id: "abababababab", state: "created" } });
    assert.equal(testid(root, "container-row-api").dataset.host, "hv1");
    page.unmount();
  });
  test("a host without an engine, with one down, unreachable, unknown: words, not a table", async () => {
    const store = await loadedStore();
    for (const [host, engine, words] of [
      ["hv3", "none", "hv3 has no Docker engine."],
      ["hv4", "down", "hv4's Docker engine does not answer: Cannot connect to the Docker daemon."],
      ["hv5", "unreachable", "hv5 did not answer: hv5 did not answer within 10 s."],
    ]) {
      const { root, page } = mountPage(HostContainersPage, store, { host }, ADMIN);
      assert.equal(testid(root, "containers-table"), null, host);
      assert.equal(testid(root, "containers-empty"), null, host);
      assert.equal(testid(root, "container-engine").dataset.engine, engine);
      assert.equal(testid(root, "container-engine-reason").textContent, words);
      assert.equal(testid(root, "run-container-button"), null, "no Run where the engine does not answer");
      page.unmount();
    }
    const unknown = mountPage(HostContainersPage, store, { host: "hv9" }, ADMIN);
    assert.ok(testid(unknown.root, "containers-no-host"));
    unknown.page.unmount();
  });
  test("the local images: read on opening the page, which hosts have each, again when a host's change", async () => {
    const realFetch = globalThis.fetch;
    const realStorage = globalThis.sessionStorage;
    const sent = [];
    globalThis.sessionStorage = { getItem: () => JSON.stringify({ token: "t", expire: 1e12, user: "u", perms: VIEWER }) };
    globalThis.fetch = async (_url, init) => {
      sent.push(JSON.parse(init.body)[0]);
      return { ok: true, status: 200, json: async () => ({ return: [IMAGES_ANSWER] }) };
    };
    try {
      const store = await loadedStore();
      const { root, page } = mountPage(ContainersPage, store, {}, VIEWER);
      const section = testid(root, "images-section");
      assert.ok(testid(section, "images-loading"));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(sent.map((low) => low.fun), ["containers.images"]);
      assert.deepEqual(section.querySelectorAll("tbody tr").map((row) => row.dataset.image), ["brine-master:5000/brine/hello:1", "brine-master:5000/brine/web:1"]);
      assert.equal(section.querySelector("h2").textContent, "Local images 2");
      assert.equal(testid(root, "images-host-note-hv5").textContent, "hv5 did not answer: hv5 did not answer within 10 s");
      // A host's images changed: read again (after a moment, once for a burst).
      const table = testid(section, "images-table");
      store.applyEvent("brine/container/hv1/web1/state", { host: "hv1", name: "web1", event: "stopped", container: { ...WEB1, state: "exited" } });
      assert.equal(testid(section, "images-table"), table, "a container's event leaves the images alone");
      store.applyEvent("brine/images/hv2/changed", { host: "hv2", event: "pulled", ref: "brine-master:5000/brine/hello:1" });
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(sent.map((low) => low.fun), ["containers.images", "containers.images"]);
      page.unmount();
      // A role that may not read them is not asked.
      globalThis.sessionStorage = { getItem: () => JSON.stringify({ token: "t", expire: 1e12, user: "u", perms: OLD_VIEWER }) };
      const old = mountPage(ContainersPage, await loadedStore(), {}, OLD_VIEWER);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(sent.length, 2);
      assert.ok(testid(old.root, "images-forbidden"));
    } finally {
      globalThis.fetch = realFetch;
      globalThis.sessionStorage = realStorage;
    }
  });
  test("the overview does not draw its host cards again for a container's event (a drag's targets stay)", async () => {
    const store = await loadedStore();
    const { root } = mountPage(OverviewPage, store, {}, ADMIN);
    const card = root.querySelector('article[data-host="hv1"]');
    assert.ok(card);
    store.applyEvent("brine/container/hv1/web1/state", { host: "hv1", name: "web1", event: "stopped", container: { ...WEB1, state: "exited" } });
    assert.equal(root.querySelector('article[data-host="hv1"]'), card, "the same card");
    store.applyEvent("brine/vm/hv1/lab-vm1/state", { host: "hv1", name: "lab-vm1", event: "defined", vm: { name: "lab-vm1", state: "shutoff", vcpus: 1, memory: 1024 } });
    assert.notEqual(root.querySelector('article[data-host="hv1"]'), card, "a VM's event draws them again");
  });
  test("the host cards link to each host's containers, for those who may read them", () => {
    const hosts = [{ name: "hv1", reachable: true, facts: {} }, { name: "hv2", reachable: false, error: "did not answer", facts: null }];
    const root = mount(renderHosts(hosts, { perms: VIEWER }));
    const card = root.querySelector('article[data-host="hv1"]');
    assert.equal(testid(card, "host-containers-link").getAttribute("href"), "#/hosts/hv1/containers");
    assert.ok(card.querySelector("header").contains(testid(card, "host-containers-link")), "in the header: the card is no taller");
    assert.ok(testid(root.querySelector('article[data-host="hv2"]'), "host-containers-link"));
    assert.equal(testid(mount(renderHosts(hosts, { perms: OLD_VIEWER })), "host-containers-link"), null);
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
    globalThis.fetch = async (_url, init) => {
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
  const action = (verb) => CONTAINER_ACTIONS.find((candidate) => candidate.verb === verb);

  test("Stop: host and name to the runner, the row busy meanwhile, its answer in place at once", async () => {
    const store = await loadedStore();
    const busy = [];
    answer = () => {
      busy.push({ ...store.state.containerBusy });
      return { ...WEB1, state: "exited", exit_code: 0, status: "Exited (0) now" };
    };
    await runContainerAction(store, action("stop"), { host: "hv1", name: "web1", state: "running" });
    assert.deepEqual(sent, [{ client: "runner", fun: "containers.stop", kwarg: { host: "hv1", name: "web1" } }]);
    assert.deepEqual(busy, [{ "hv1/web1": "container_stop" }]);
    assert.deepEqual(store.state.containerBusy, {});
    assert.equal(store.state.inventory.hosts[0].containers.find((c) => c.name === "web1").state, "exited");
  });
  test("Remove asks first; a no sends nothing; a yes on a running one forces it", async () => {
    const store = await loadedStore();
    let asked = null;
    const no = async (question) => {
      asked = question;
      return { confirmed: false, removeDisks: false };
    };
    await runContainerAction(store, action("remove"), { host: "hv1", name: "web1", state: "running" }, { confirm: no });
    assert.equal(asked.title, "Remove container web1 on hv1?");
    assert.equal(asked.confirmLabel, "Stop and remove");
    assert.deepEqual(sent, []);
    answer = (low) => ({ host: "hv1", name: low.kwarg.name, removed: true });
    await runContainerAction(store, action("remove"), { host: "hv1", name: "web1", state: "running" }, { confirm: async () => ({ confirmed: true, removeDisks: false }) });
    assert.deepEqual(sent, [{ client: "runner", fun: "containers.remove", kwarg: { host: "hv1", name: "web1", force: true } }]);
    assert.deepEqual(store.state.inventory.hosts[0].containers.map((c) => c.name), ["hello-1a2b"]);
    sent = [];
    await runContainerAction(store, action("remove"), { host: "hv1", name: "hello-1a2b", state: "exited" }, { confirm: async () => ({ confirmed: true, removeDisks: false }) });
    assert.deepEqual(sent[0].kwarg, { host: "hv1", name: "hello-1a2b" }, "a stopped one is not forced");
  });
  test("a refusal: the shared banner with the sentence only, and the inventory read again", async () => {
    let loads = 0;
    const store = createAppStore({
      loadInventory: async () => {
        loads += 1;
        return inventory();
      },
    });
    await store.refresh();
    const region = container();
    initNotices(region, container());
    answer = () => ({ error: { code: "wrong_state", message: "cache on hv2 is already paused." } });
    await runContainerAction(store, action("pause"), { host: "hv2", name: "cache", state: "running" });
    const banner = region.querySelector('[data-tone="error"]');
    assert.equal(banner.textContent.trim(), "Could not pause container cache on hv2: cache on hv2 is already paused.");
    assert.deepEqual(store.state.containerBusy, {});
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(loads, 2);
    assert.equal(store.state.inventory.hosts[1].containers[0], PAUSED);
    assert.ok(HELLO);
  });
});
