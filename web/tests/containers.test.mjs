// Containers' pure parts (js/containers.js, slices/containers.js, the inventory slice's
// container events, the calls and the roles): what a host's engine says, what a row shows,
// the actions per state and role, events that change a row in place without a refetch, and
// the local images' picture.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { callSpec } from "../js/calls.js";
import {
  applyContainerEvent,
  clusterContainers,
  CONTAINER_ACTIONS,
  CONTAINER_STATES,
  containerRow,
  containerState,
  engineOf,
  engineSentence,
  formatAgo,
  formatPortMapping,
  hostContainers,
  imageSuggestions,
  imagesPicture,
  offeredContainerActions,
  onlyContainersChanged,
  removeQuestion,
  rowActions,
  runHosts,
} from "../js/containers.js";
import { classifyTag } from "../js/live.js";
import { mayRun } from "../js/perms.js";
import { createAppStore } from "../js/slices/index.js";
import { followImages, reduceImages, IMAGES_INITIAL } from "../js/slices/containers.js";
import { ADMIN, HELLO, IMAGES_ANSWER, inventory, NOW, OLD_VIEWER, OPERATOR, PAUSED, REGISTRY_ANSWER, VIEWER, WEB1 } from "./containers-fixtures.mjs";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("the tags of containers' events", () => {
  test("a container's state and a host's images", () => {
    assert.deepEqual(classifyTag("brine/container/hv2/web1/state"), { kind: "container-state", host: "hv2", container: "web1" });
    assert.deepEqual(classifyTag("brine/images/hv2/changed"), { kind: "images-changed", host: "hv2" });
    assert.deepEqual(classifyTag("brine/container/hv2/state"), { kind: "other" });
    assert.deepEqual(classifyTag("brine/container/hv2/web1/other"), { kind: "other" });
    assert.deepEqual(classifyTag("brine/images/hv2/x/changed"), { kind: "other" });
  });
});

describe("a host's engine", () => {
  const hosts = inventory().hosts;
  test("up, none, down, unreachable, and a host that does not say", () => {
    assert.deepEqual(engineOf(hosts[0]), { status: "up", version: "20.10.24+dfsg1", message: null });
    assert.equal(engineOf(hosts[2]).status, "none");
    assert.deepEqual(engineOf(hosts[3]), { status: "down", version: null, message: "Cannot connect to the Docker daemon." });
    assert.equal(engineOf(hosts[4]).status, "unreachable");
    assert.equal(engineOf({ name: "old", reachable: true }).status, "unknown");
  });
  test("in words, not an empty table", () => {
    assert.equal(engineSentence("hv3", engineOf(hosts[2])), "hv3 has no Docker engine.");
    assert.equal(engineSentence("hv4", engineOf(hosts[3])), "hv4's Docker engine does not answer: Cannot connect to the Docker daemon.");
    assert.equal(engineSentence("hv5", engineOf(hosts[4])), "hv5 did not answer: hv5 did not answer within 10 s.");
    assert.match(engineSentence("old", engineOf({ reachable: true })), /did not say whether it runs Docker/);
    assert.equal(engineSentence("hv1", engineOf(hosts[0])), null);
  });
  test("one host's page: its containers by name, or why there are none", () => {
    const inv = inventory();
    assert.deepEqual(hostContainers(inv, "hv1").containers.map((c) => [c.name, c.host]), [["hello-1a2b", "hv1"], ["web1", "hv1"]]);
    assert.equal(hostContainers(inv, "hv3").status, "none");
    assert.deepEqual(hostContainers(inv, "hv3").containers, []);
    assert.equal(hostContainers(inv, "hv9").status, "missing");
    assert.equal(hostContainers(null, "hv1").status, "loading");
  });
  test("the cluster: every container with its host, and a note for each host without", () => {
    const { containers, notes, hostsUp } = clusterContainers(inventory());
    assert.deepEqual(containers.map((c) => [c.name, c.host]), [["cache", "hv2"], ["hello-1a2b", "hv1"], ["web1", "hv1"]]);
    assert.deepEqual(notes.map((note) => [note.host, note.status]), [["hv3", "none"], ["hv4", "down"], ["hv5", "unreachable"]]);
    assert.deepEqual(hostsUp, ["hv1", "hv2"]);
    assert.deepEqual(runHosts(inventory()), ["hv1", "hv2"]);
  });
});

describe("a container's row", () => {
  test("ports as host→container/protocol, the address only when it is not every address", () => {
    assert.equal(formatPortMapping({ host_port: 8080, container_port: 80, protocol: "tcp", bind: "0.0.0.0" }), "8080→80/tcp");
    assert.equal(formatPortMapping({ host_port: 5353, container_port: 53, protocol: "udp", bind: "127.0.0.1" }), "127.0.0.1:5353→53/udp");
    assert.equal(formatPortMapping({ host_port: 6379, container_port: 6379, protocol: "tcp", bind: "::1" }), "[::1]:6379→6379/tcp");
    assert.equal(formatPortMapping({ host_port: 1, container_port: 2, protocol: "sctp", bind: "::" }), "1→2/sctp");
  });
  test("created, relative to now", () => {
    assert.equal(formatAgo(NOW - 2, NOW), "just now");
    assert.equal(formatAgo(NOW - 42, NOW), "42 s ago");
    assert.equal(formatAgo(NOW - 125, NOW), "2 min ago");
    assert.equal(formatAgo(NOW - 4 * 3600, NOW), "4 h ago");
    assert.equal(formatAgo(NOW - 3 * 86400, NOW), "3 d ago");
    assert.equal(formatAgo(null, NOW), "—");
  });
  test("the state's words and tone, an exited one with its code", () => {
    assert.deepEqual(containerState("running"), { label: "Running", tone: "ok" });
    assert.deepEqual(containerState("exited", 137), { label: "Exited (137)", tone: "off" });
    assert.deepEqual(containerState("dead"), { label: "Dead", tone: "danger" });
    assert.deepEqual(containerState("weird"), { label: "weird", tone: "off" });
  });
  test("what the row shows", () => {
    const row = containerRow({ ...WEB1, host: "hv1" }, NOW);
    assert.deepEqual(
      { ...row, stateInfo: { ...row.stateInfo } },
      {
        name: "web1",
        host: "hv1",
        id: "5d71c7be79d6",
        image: "brine-master:5000/brine/web:1",
        state: "running",
        stateInfo: { label: "Running", tone: "ok" },
        status: "Up 2 minutes",
        ports: ["8080→80/tcp", "127.0.0.1:5353→53/udp"],
        created: "2 min ago",
        createdAt: row.createdAt,
        restart: "unless-stopped",
        managed: true,
      },
    );
    assert.equal(containerRow(HELLO, NOW).restart, "", "restart no is not worth saying");
  });
});

describe("actions per state and role", () => {
  const verbs = (perms, state) => rowActions(perms, { host: "hv1", name: "web1", state }).map((action) => action.verb);

  test("an admin: by state, Logs and Remove always", () => {
    assert.deepEqual(verbs(ADMIN, "created"), ["start", "logs", "remove"]);
    assert.deepEqual(verbs(ADMIN, "exited"), ["start", "logs", "remove"]);
    assert.deepEqual(verbs(ADMIN, "running"), ["stop", "restart", "pause", "logs", "remove"]);
    assert.deepEqual(verbs(ADMIN, "paused"), ["unpause", "logs", "remove"]);
    assert.deepEqual(verbs(ADMIN, "restarting"), ["stop", "logs", "remove"]);
    assert.deepEqual(verbs(ADMIN, "dead"), ["logs", "remove"]);
    assert.deepEqual(verbs(ADMIN, "removing"), []);
  });
  test("an operator: the same without Remove", () => {
    for (const state of CONTAINER_STATES) {
      assert.deepEqual(verbs(OPERATOR, state), verbs(ADMIN, state).filter((verb) => verb !== "remove"), state);
    }
    assert.deepEqual(verbs(OPERATOR, "running"), ["stop", "restart", "pause", "logs"]);
  });
  test("a viewer, or a role from before containers: nothing", () => {
    for (const state of CONTAINER_STATES) {
      assert.deepEqual(verbs(VIEWER, state), [], state);
      assert.deepEqual(verbs(OLD_VIEWER, state), [], state);
    }
  });
  test("each action is the declared runner call, with host and name", () => {
    assert.deepEqual(
      CONTAINER_ACTIONS.map((action) => callSpec(action.id).fun),
      ["containers.start", "containers.stop", "containers.restart", "containers.pause", "containers.unpause", "containers.logs", "containers.remove"],
    );
    assert.deepEqual(callSpec("container_stop").kwargs({ host: "hv1", name: "web1" }), { host: "hv1", name: "web1" });
    assert.deepEqual(callSpec("container_logs").kwargs({ host: "hv1", name: "web1", tail: 500 }), { host: "hv1", name: "web1", tail: 500 });
    assert.deepEqual(callSpec("container_remove").kwargs({ host: "hv1", name: "web1" }), { host: "hv1", name: "web1" });
    assert.deepEqual(callSpec("container_remove").kwargs({ host: "hv1", name: "web1", force: true }), { host: "hv1", name: "web1", force: true });
    assert.deepEqual(offeredContainerActions(ADMIN, "hv1", "web1").length, CONTAINER_ACTIONS.length);
  });
  test("the roles' reads", () => {
    for (const perms of [VIEWER, OPERATOR, ADMIN]) {
      for (const id of ["containers_list", "container_images", "container_registry"]) {
        assert.ok(mayRun(perms, id), id);
      }
    }
    assert.ok(!mayRun(VIEWER, "container_run"));
    assert.ok(mayRun(OPERATOR, "container_run"));
    assert.ok(!mayRun(OPERATOR, "container_remove"));
    assert.ok(mayRun(ADMIN, "container_remove"));
    assert.ok(!mayRun(OLD_VIEWER, "containers_list"));
  });
  test("Remove asks, and forces only a container that runs", () => {
    assert.deepEqual(removeQuestion("hv1", "hello-1a2b", "exited"), {
      title: "Remove container hello-1a2b on hv1?",
      body: "This removes hello-1a2b with everything written inside it. Its image stays on hv1.",
      confirmLabel: "Remove",
      force: false,
    });
    const running = removeQuestion("hv1", "web1", "running");
    assert.equal(running.force, true);
    assert.equal(running.confirmLabel, "Stop and remove");
    assert.match(running.body, /web1 is running: Docker stops it at once/);
    assert.equal(removeQuestion("hv2", "cache", "paused").force, true);
  });
});

describe("events change a container in place", () => {
  const about = (host, name) => classifyTag(`brine/container/${host}/${name}/state`);

  test("a state event with its dict replaces the row; the totals follow", () => {
    const before = inventory();
    const stopped = { ...WEB1, state: "exited", status: "Exited (0) 1 second ago", exit_code: 0 };
    const after = applyContainerEvent(before, about("hv1", "web1"), { host: "hv1", name: "web1", event: "stopped", container: stopped });
    assert.equal(after.hosts[0].containers.find((c) => c.name === "web1").state, "exited");
    assert.equal(after.hosts[0].containers.length, 2);
    assert.equal(after.totals.containers_running, 0);
    assert.equal(after.totals.containers_total, 3);
    assert.equal(before.hosts[0].containers[0], WEB1, "the old inventory is untouched");
    assert.equal(after.hosts[1], before.hosts[1], "other hosts are the same objects");
  });
  test("a new container is added in name order; a removed one goes", () => {
    const created = { ...HELLO, name: "api", id: "abcdefabcdef", state: "created", exit_code: null };
    const added = applyContainerEvent(inventory(), about("hv1", "api"), { host: "hv1", name: "api", event: "created", container: created });
    assert.deepEqual(added.hosts[0].containers.map((c) => c.name), ["api", "hello-1a2b", "web1"]);
    assert.equal(added.totals.containers_total, 4);
    const removed = applyContainerEvent(added, about("hv1", "web1"), { host: "hv1", name: "web1", event: "removed", container: null });
    assert.deepEqual(removed.hosts[0].containers.map((c) => c.name), ["api", "hello-1a2b"]);
    assert.equal(removed.totals.containers_running, 0);
  });
  test("a renamed container keeps its id: its old row goes", () => {
    const renamed = { ...WEB1, name: "web-main" };
    const after = applyContainerEvent(inventory(), about("hv1", "web-main"), { host: "hv1", name: "web-main", event: "renamed", container: renamed });
    assert.deepEqual(after.hosts[0].containers.map((c) => c.name), ["hello-1a2b", "web-main"]);
  });
  test("nothing to do: an unknown or unreachable host, a removal of what is not there, no dict", () => {
    const inv = inventory();
    assert.equal(applyContainerEvent(inv, about("hv9", "x"), { container: WEB1 }), inv);
    assert.equal(applyContainerEvent(inv, about("hv5", "x"), { container: WEB1 }), inv);
    assert.equal(applyContainerEvent(inv, about("hv1", "nope"), { event: "removed", container: null }), inv);
    assert.equal(applyContainerEvent(inv, about("hv1", "web1"), { event: "died" }), inv);
    assert.equal(applyContainerEvent(null, about("hv1", "web1"), { container: WEB1 }), null);
  });
  test("through the store: the row changes at once and nothing is fetched again", async () => {
    let loads = 0;
    const store = createAppStore({
      loadInventory: async () => {
        loads += 1;
        return inventory();
      },
    });
    await store.refresh();
    store.applyEvent("brine/container/hv2/cache/state", { host: "hv2", name: "cache", event: "unpaused", container: { ...PAUSED, state: "running" } });
    await tick();
    assert.equal(store.state.inventory.hosts[1].containers[0].state, "running");
    assert.equal(store.state.inventory.totals.containers_running, 2);
    assert.ok(Object.isFrozen(store.state.inventory));
    store.applyEvent("brine/container/hv2/cache/state", { host: "hv2", name: "cache", event: "removed", container: null });
    await tick();
    assert.deepEqual(store.state.inventory.hosts[1].containers, []);
    assert.equal(loads, 1, "no refetch");
    // An action's answer goes in the same way (store.dispatch).
    store.dispatch("inventory", { type: "container", host: "hv1", container: { ...WEB1, state: "paused", host: "hv1", pulled: false, placed: "hv1 was asked for" } });
    assert.equal(store.state.inventory.hosts[0].containers[1].state, "paused");
    assert.equal(store.state.inventory.hosts[0].containers[1].host, "hv1", "the dict as the inventory has it, with its host");
    assert.equal(store.state.inventory.hosts[0].containers[1].pulled, undefined);
    store.dispatch("inventory", { type: "container-removed", host: "hv1", name: "hello-1a2b" });
    assert.deepEqual(store.state.inventory.hosts[0].containers.map((c) => c.name), ["web1"]);
    // A host's resync still refetches it.
    store.applyEvent("brine/host/hv1/resync", {});
    await tick();
    assert.equal(loads, 2);
  });
});

describe("what changed", () => {
  test("only containers: the same hosts and facts, other docker, containers and container totals", () => {
    const before = inventory();
    const event = { host: "hv1", name: "web1", event: "stopped", container: { ...WEB1, state: "exited" } };
    const after = applyContainerEvent(before, { host: "hv1", container: "web1" }, event);
    assert.ok(onlyContainersChanged(before, after));
    assert.ok(onlyContainersChanged(before, before));
    assert.ok(!onlyContainersChanged(before, { ...after, totals: { ...after.totals, vms: 9 } }));
    assert.ok(!onlyContainersChanged(before, { ...after, hosts: after.hosts.map((host, i) => (i === 0 ? { ...host, vms: [] } : host)) }));
    assert.ok(!onlyContainersChanged(before, { ...after, hosts: after.hosts.slice(1) }));
    assert.ok(!onlyContainersChanged(null, after));
  });
});

describe("the local images", () => {
  test("by reference, each with its hosts; the hosts that did not answer", () => {
    const picture = imagesPicture(IMAGES_ANSWER);
    assert.deepEqual(picture.images.map((image) => [image.ref, [...image.hosts]]), [
      ["brine-master:5000/brine/hello:1", ["hv1"]],
      ["brine-master:5000/brine/web:1", ["hv1", "hv2"]],
    ]);
    assert.deepEqual(picture.hosts.map((host) => [host.host, host.answered, host.error?.message ?? null]), [
      ["hv1", true, null],
      ["hv2", true, null],
      ["hv5", false, "hv5 did not answer within 10 s"],
    ]);
    assert.deepEqual(imagesPicture(null), { images: [], hosts: [] });
  });
  test("the Run dialog's suggestions: local and registry references, once each", () => {
    assert.deepEqual(imageSuggestions(imagesPicture(IMAGES_ANSWER).images, REGISTRY_ANSWER), [
      "brine-master:5000/brine/hello:1",
      "brine-master:5000/brine/web:1",
      "brine/web:latest",
    ]);
    assert.deepEqual(imageSuggestions(null, null), []);
  });
  test("the reducer: a later read wins, a failure keeps the picture", () => {
    let images = reduceImages(IMAGES_INITIAL, { type: "want" });
    assert.equal(images.stale, true);
    images = reduceImages(images, { type: "fetching" });
    assert.equal(images.stale, false);
    images = reduceImages(images, { type: "loaded", answer: IMAGES_ANSWER, seq: 5 });
    assert.equal(images.images.length, 2);
    assert.equal(reduceImages(images, { type: "loaded", answer: { images: [] }, seq: 4 }), images, "an older read");
    const failed = reduceImages(images, { type: "failed", error: new Error("timed out"), seq: 6 });
    assert.equal(failed.images, images.images);
    assert.equal(failed.error.message, "timed out");
    assert.equal(reduceImages(images, { type: "forbidden", seq: 7 }).allowed, false);
  });
  test("read on opening the view, again once for a burst of changed events, not after it closes", async () => {
    let reads = 0;
    const timers = [];
    const store = createAppStore({ loadInventory: async () => inventory() });
    const stop = followImages(store, {
      load: async () => {
        reads += 1;
        return IMAGES_ANSWER;
      },
      setTimer: (fn, ms) => timers.push({ fn, ms }),
      clearTimer: () => {},
    });
    // Never read: an event changes nothing (nobody looks at them).
    store.applyEvent("brine/images/hv1/changed", { host: "hv1", event: "pulled" });
    assert.equal(store.state.images.stale, false);
    store.dispatch("images", { type: "want" }); // the view opens
    assert.deepEqual(timers.map((t) => t.ms), [0], "at once the first time");
    await timers.shift().fn();
    assert.equal(reads, 1);
    assert.equal(store.state.images.images.length, 2);
    store.applyEvent("brine/images/hv1/changed", { host: "hv1", event: "pulled" });
    store.applyEvent("brine/images/hv2/changed", { host: "hv2", event: "untagged" });
    store.applyEvent("brine/host/hv2/resync", {});
    assert.deepEqual(timers.map((t) => t.ms), [400], "one read for the burst");
    await timers.shift().fn();
    assert.equal(reads, 2);
    stop();
    store.applyEvent("brine/images/hv1/changed", { host: "hv1", event: "removed" });
    assert.equal(timers.length, 0, "the view closed: no read");
  });
  test("a role that may not read them: forbidden, not an error", async () => {
    const timers = [];
    const store = createAppStore({ loadInventory: async () => inventory() });
    const stop = followImages(store, { load: async () => null, setTimer: (fn, ms) => timers.push({ fn, ms }), clearTimer: () => {} });
    store.dispatch("images", { type: "want" });
    await timers.shift().fn();
    assert.equal(store.state.images.allowed, false);
    stop();
  });
});
