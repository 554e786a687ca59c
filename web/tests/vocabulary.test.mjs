// The vocabulary (vocabulary.js, equal to Python's brine.vocabulary.as_data(): the Python
// test tests/unit/test_vocabulary.py proves that) and every place that asks it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { consoleBlocker } from "../js/components/console.js";
import { stateInfo } from "../js/format.js";
import { recount } from "../js/live.js";
import { isActive as movesLive } from "../js/migration.js";
import { allows, hasLiveMemory, isActive, isRunning, STATE_NAMES, statePhrase, VOCABULARY } from "../js/vocabulary.js";

describe("VOCABULARY", () => {
  test("frozen all the way down", () => {
    assert.ok(Object.isFrozen(VOCABULARY));
    assert.ok(Object.isFrozen(VOCABULARY.states.crashed));
    assert.ok(Object.isFrozen(VOCABULARY.actions.start));
  });
  test("libvirt's states in enum order; every action's states are known and sorted", () => {
    assert.deepEqual(STATE_NAMES, ["nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended"]);
    for (const states of Object.values(VOCABULARY.actions)) {
      assert.deepEqual([...states].sort(), states);
      assert.ok(states.every((state) => STATE_NAMES.includes(state)));
    }
  });
  test("the helpers read the table", () => {
    for (const state of STATE_NAMES) {
      assert.equal(isActive(state), VOCABULARY.states[state].active, state);
      assert.equal(isRunning(state), VOCABULARY.states[state].running, state);
      assert.equal(statePhrase(state), VOCABULARY.states[state].phrase, state);
      for (const [action, states] of Object.entries(VOCABULARY.actions)) {
        assert.equal(allows(action, state), states.includes(state), `${action} ${state}`);
      }
    }
    assert.ok(!isActive(undefined) && !isRunning("nonsense") && !allows("nonsense", "running"));
  });
  test("every state has a badge label", () => {
    for (const state of STATE_NAMES) {
      assert.notEqual(stateInfo(state).label, state, state);
    }
  });
});

describe("the places that ask the vocabulary", () => {
  const vm = (name, state) => ({ name, state, vcpus: 2, memory: 1000 });
  test("totals: a crashed or suspended VM holds its host's CPUs and memory, a shut off one does not", () => {
    const inventory = recount({
      hosts: [{ name: "hv1", reachable: true, facts: { cpus: 8, memory_total: 10000 }, vms: STATE_NAMES.map((state) => vm(`vm-${state}`, state)) }],
    });
    const active = STATE_NAMES.filter((state) => VOCABULARY.states[state].active);
    assert.ok(active.includes("crashed") && active.includes("pmsuspended") && !active.includes("shutoff"));
    assert.equal(inventory.hosts[0].facts.vms_running, active.length);
    assert.equal(inventory.totals.vms_running, active.length);
    assert.equal(inventory.totals.vcpus_allocated, 2 * active.length);
    assert.equal(inventory.totals.memory_allocated, 1000 * active.length);
  });
  test("a console and a live migration need the guest's memory alive: running or paused", () => {
    const perms = [{ "@runner": ["cluster.*"] }];
    for (const state of STATE_NAMES) {
      const live = isRunning(state) || state === "paused";
      assert.equal(hasLiveMemory(state), live, state);
      assert.equal(movesLive(state), live, state);
      const blocker = consoleBlocker({ name: "v", state, graphics: [{ type: "vnc" }] }, perms);
      assert.equal(blocker === null, live, state);
      if (!live) {
        assert.equal(blocker.text, `v is ${statePhrase(state)}: start it to open its console.`);
      }
    }
  });
});
