// Drop targets registered explicitly (drop-targets.js).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { createDropTargets } from "../js/drop-targets.js";

/** A stand-in for an element: a parent and whether it is in the document. */
const node = (parentElement = null) => ({ parentElement, isConnected: true });

describe("createDropTargets", () => {
  test("find: the registered element itself or the nearest registered ancestor", () => {
    const targets = createDropTargets();
    const card = node();
    const title = node(card);
    const text = node(title);
    targets.register(card, { host: "hv1" });
    assert.deepEqual(targets.find(text), { element: card, target: { host: "hv1" } });
    assert.deepEqual(targets.find(card)?.target, { host: "hv1" });
    assert.equal(targets.find(node()), null);
    assert.equal(targets.find(null), null);
  });
  test("unregister forgets it", () => {
    const targets = createDropTargets();
    const card = node();
    const unregister = targets.register(card, { host: "hv1" });
    unregister();
    assert.equal(targets.find(card), null);
    assert.deepEqual(targets.entries(), []);
  });
  test("elements that left the document are forgotten", () => {
    const targets = createDropTargets();
    const old = node();
    const fresh = node();
    targets.register(old, { host: "hv1" });
    targets.register(fresh, { host: "hv1" });
    old.isConnected = false; // re-rendered away
    assert.deepEqual(targets.entries(), [[fresh, { host: "hv1" }]]);
  });
  test("onRegister hears of targets registered from then on, until stopped", () => {
    const targets = createDropTargets();
    targets.register(node(), { host: "hv0" });
    const heard = [];
    const stop = targets.onRegister((element, target) => heard.push(target.host));
    targets.register(node(), { host: "hv1" });
    stop();
    targets.register(node(), { host: "hv2" });
    assert.deepEqual(heard, ["hv1"]);
  });
});
