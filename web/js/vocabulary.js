// @ts-check
// Brine's one vocabulary of VM states and the lifecycle actions each allows: the same table as
// Python's brine.vocabulary.as_data() (_utils/brine/vocabulary.py). tests/unit/test_vocabulary.py
// imports this module under node and proves the two equal, so change both together.
// Everything in the app that asks "which states ..." asks here.

/**
 * @typedef {{phrase: string, active: boolean, running: boolean}} StateInfo
 * @typedef {{states: Record<string, StateInfo>, actions: Record<string, string[]>}} Vocabulary
 */

/** @param {any} value @returns {any} */
function deepFreeze(value) {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) {
      deepFreeze(inner);
    }
    Object.freeze(value);
  }
  return value;
}

/** @type {Readonly<Vocabulary>} */
export const VOCABULARY = deepFreeze({
  states: {
    nostate: { phrase: "in no known state", active: false, running: false },
    running: { phrase: "running", active: true, running: true },
    blocked: { phrase: "running", active: true, running: true },
    paused: { phrase: "paused", active: true, running: false },
    shutdown: { phrase: "shutting down", active: true, running: false },
    shutoff: { phrase: "shut off", active: false, running: false },
    crashed: { phrase: "crashed", active: true, running: false },
    pmsuspended: { phrase: "suspended by its guest", active: true, running: false },
  },
  actions: {
    start: ["nostate", "shutoff"],
    shutdown: ["blocked", "running", "shutdown"],
    reboot: ["blocked", "running"],
    pause: ["blocked", "running"],
    resume: ["paused"],
    force_off: ["blocked", "crashed", "paused", "pmsuspended", "running", "shutdown"],
    delete: ["nostate", "shutoff"],
  },
});

/** Every state name, in libvirt's enum order. */
export const STATE_NAMES = Object.freeze(Object.keys(VOCABULARY.states));

/**
 * Does the domain hold its host's CPUs and memory (a live QEMU process)? The one definition
 * of "active", used for totals as on the host and the runner.
 * @param {string | null | undefined} state
 */
export function isActive(state) {
  return Boolean(state && VOCABULARY.states[state]?.active);
}

/** Is the guest running ("blocked" is a running domain waiting on a resource)? @param {string | null | undefined} state */
export function isRunning(state) {
  return Boolean(state && VOCABULARY.states[state]?.running);
}

/**
 * Is the guest's memory alive in QEMU (running or paused), so that it has a screen to show and
 * moves by a live migration? Anything else has no console and moves offline.
 * @param {string | null | undefined} state
 */
export function hasLiveMemory(state) {
  return isRunning(state) || state === "paused";
}

/** The states in which an action is allowed (empty for unknown actions). @param {string} action */
export function allowedStates(action) {
  return Object.hasOwn(VOCABULARY.actions, action) ? VOCABULARY.actions[action] : [];
}

/** Does `action` make sense for a VM in `state`? @param {string} action @param {string | null | undefined} state */
export function allows(action, state) {
  return typeof state === "string" && allowedStates(action).includes(state);
}

/** How a state reads in a sentence ("lab-vm1 is shut off"). @param {string} state */
export function statePhrase(state) {
  return VOCABULARY.states[state]?.phrase ?? state;
}
