// @ts-check
// VM lifecycle actions: the runner call each one makes (calls.js), the states where it makes
// sense (the vocabulary, vocabulary.js), and which ones the user's role offers. Pure data and
// functions, no DOM.

import { callSpec } from "./calls.js";
import { mayRun } from "./perms.js";
import { allowedStates, STATE_NAMES, statePhrase } from "./vocabulary.js";

/**
 * @typedef {object} ConfirmSpec
 * @property {(vm: string) => string} title
 * @property {string} body
 * @property {string} confirmLabel
 * @property {boolean} [offerRemoveDisks]
 *
 * @typedef {object} ActionSpec
 * @property {string} id          the vocabulary's action name
 * @property {string} call        the declared runner call (calls.js)
 * @property {string} fun         its Salt function, for reading
 * @property {string} label
 * @property {string} busyLabel
 * @property {readonly string[]} enabledIn  the states where it makes sense (from the vocabulary)
 * @property {string} needs       those states as words ("shut off", "running or paused")
 * @property {boolean} [danger]
 * @property {ConfirmSpec} [confirm]  set for the irreversible ones
 */

/** "a", "a or b", "a, b or c" @param {string[]} words */
function orList(words) {
  return words.length <= 1 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

/**
 * The states of an action as words, in the vocabulary's order, each phrase once; "in no known
 * state" is left out (nobody can aim for it).
 * @param {readonly string[]} states
 */
function needsWords(states) {
  const phrases = STATE_NAMES.filter((state) => state !== "nostate" && states.includes(state)).map(statePhrase);
  return orList([...new Set(phrases)]);
}

/**
 * @param {string} id
 * @param {{label: string, busyLabel: string, danger?: boolean, confirm?: ConfirmSpec}} ui
 * @returns {Readonly<ActionSpec>}
 */
function action(id, ui) {
  const enabledIn = allowedStates(id);
  return Object.freeze({ id, call: id, fun: callSpec(id).fun, enabledIn, needs: needsWords(enabledIn), ...ui });
}

/** The lifecycle actions in the order the UI shows them. */
export const ACTIONS = Object.freeze([
  action("start", { label: "Start", busyLabel: "Starting…" }),
  action("shutdown", { label: "Shut down", busyLabel: "Shutting down…" }),
  action("reboot", { label: "Reboot", busyLabel: "Rebooting…" }),
  action("pause", { label: "Pause", busyLabel: "Pausing…" }),
  action("resume", { label: "Resume", busyLabel: "Resuming…" }),
  action("force_off", {
    label: "Force off",
    busyLabel: "Forcing off…",
    danger: true,
    confirm: {
      title: (vm) => `Force off ${vm}?`,
      body:
        "This cuts the power at once, like pulling the plug. The guest gets no chance to " +
        "shut down, and anything it has not written to disk is lost.",
      confirmLabel: "Force off",
    },
  }),
  action("delete", {
    label: "Delete",
    busyLabel: "Deleting…",
    danger: true,
    confirm: {
      title: (vm) => `Delete ${vm}?`,
      body:
        "This removes the VM's definition from its host. Its disk files stay unless you " +
        "also choose to remove them below.",
      confirmLabel: "Delete",
      offerRemoveDisks: true,
    },
  }),
]);

/** @type {Readonly<Record<string, Readonly<ActionSpec>>>} */
export const ACTION_BY_ID = Object.freeze(Object.fromEntries(ACTIONS.map((a) => [a.id, a])));

/** @param {string | Readonly<ActionSpec>} action @returns {Readonly<ActionSpec> | undefined} */
function definitionOf(action) {
  return typeof action === "string" ? ACTION_BY_ID[action] : action;
}

/**
 * Does this action make sense for a VM in this state?
 * @param {string | Readonly<ActionSpec>} action
 * @param {string | null | undefined} state
 */
export function isEnabled(action, state) {
  const definition = definitionOf(action);
  return Boolean(definition) && typeof state === "string" && Boolean(definition?.enabledIn.includes(state));
}

/** Why a button is disabled, as a tooltip sentence. @param {string | Readonly<ActionSpec>} action */
export function disabledReason(action) {
  const definition = definitionOf(action);
  if (!definition) {
    throw new Error(`No lifecycle action ${String(action)}.`);
  }
  return `${definition.label} needs the VM ${definition.needs}.`;
}

/**
 * The actions the user's role offers for this VM (the kwargs are part of Salt's ACL check,
 * so the VM name matters when an ACL restricts names). A viewer gets an empty list.
 * @param {unknown} perms
 * @param {string} vmName
 */
export function offeredActions(perms, vmName) {
  return ACTIONS.filter((action) => mayRun(perms, action.call, { name: vmName }));
}

/**
 * A short name for what the user's permissions amount to, for the top bar: "admin" when they
 * may delete VMs, "operator" when they may change power states, "viewer" otherwise.
 * @param {unknown} perms
 */
export function roleName(perms) {
  const offered = new Set(
    ACTIONS.filter((action) => mayRun(perms, action.call)).map((action) => action.id),
  );
  if (offered.has("delete")) {
    return "admin";
  }
  return offered.size > 0 ? "operator" : "viewer";
}
