// VM lifecycle actions: which Salt function each one calls, in which VM states it makes sense,
// and which ones the user's role offers. Pure data and functions, no DOM.

import { mayCall } from "./perms.js";

// "blocked" is a running domain waiting on a resource, so it counts as running. Force off also
// applies while an ACPI shutdown is in progress ("shutdown") or the guest is suspended: that is
// when a stuck guest needs it most.
const RUNNING = ["running", "blocked"];

/**
 * The lifecycle actions in the order the UI shows them. `fun` is the runner function;
 * `enabledIn` the VM states where it makes sense; `confirm` set for the irreversible ones.
 */
export const ACTIONS = Object.freeze([
  {
    id: "start",
    fun: "cluster.start",
    label: "Start",
    busyLabel: "Starting…",
    enabledIn: ["shutoff", "crashed"],
    needs: "shut off or crashed",
  },
  {
    id: "shutdown",
    fun: "cluster.shutdown",
    label: "Shut down",
    busyLabel: "Shutting down…",
    enabledIn: RUNNING,
    needs: "running",
  },
  {
    id: "reboot",
    fun: "cluster.reboot",
    label: "Reboot",
    busyLabel: "Rebooting…",
    enabledIn: RUNNING,
    needs: "running",
  },
  {
    id: "pause",
    fun: "cluster.pause",
    label: "Pause",
    busyLabel: "Pausing…",
    enabledIn: RUNNING,
    needs: "running",
  },
  {
    id: "resume",
    fun: "cluster.resume",
    label: "Resume",
    busyLabel: "Resuming…",
    enabledIn: ["paused"],
    needs: "paused",
  },
  {
    id: "force_off",
    fun: "cluster.force_off",
    label: "Force off",
    busyLabel: "Forcing off…",
    enabledIn: [...RUNNING, "paused", "shutdown", "pmsuspended"],
    needs: "running, paused or shutting down",
    danger: true,
    confirm: {
      title: (vm) => `Force off ${vm}?`,
      body:
        "This cuts the power at once, like pulling the plug. The guest gets no chance to " +
        "shut down, and anything it has not written to disk is lost.",
      confirmLabel: "Force off",
    },
  },
  {
    id: "delete",
    fun: "cluster.delete",
    label: "Delete",
    busyLabel: "Deleting…",
    enabledIn: ["shutoff"],
    needs: "shut off",
    danger: true,
    confirm: {
      title: (vm) => `Delete ${vm}?`,
      body:
        "This removes the VM's definition from its host. Its disk files stay unless you " +
        "also choose to remove them below.",
      confirmLabel: "Delete",
      offerRemoveDisks: true,
    },
  },
]);

export const ACTION_BY_ID = Object.freeze(Object.fromEntries(ACTIONS.map((a) => [a.id, a])));

/** Does this action make sense for a VM in this state? */
export function isEnabled(action, state) {
  const definition = typeof action === "string" ? ACTION_BY_ID[action] : action;
  return Boolean(definition) && definition.enabledIn.includes(state);
}

/** Why a button is disabled, as a tooltip sentence. */
export function disabledReason(action) {
  const definition = typeof action === "string" ? ACTION_BY_ID[action] : action;
  return `${definition.label} needs the VM ${definition.needs}.`;
}

/**
 * The actions the user's role offers for this VM (the kwargs are part of Salt's ACL check,
 * so the VM name matters when an ACL restricts names). A viewer gets an empty list.
 */
export function offeredActions(perms, vmName) {
  return ACTIONS.filter((action) => mayCall(perms, action.fun, { kwarg: { name: vmName } }));
}

/**
 * A short name for what the user's permissions amount to, for the top bar: "admin" when they
 * may delete VMs, "operator" when they may change power states, "viewer" otherwise.
 */
export function roleName(perms) {
  const offered = new Set(
    ACTIONS.filter((action) => mayCall(perms, action.fun)).map((action) => action.id),
  );
  if (offered.has("delete")) {
    return "admin";
  }
  return offered.size > 0 ? "operator" : "viewer";
}
