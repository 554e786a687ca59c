// @ts-check
// A VM's lifecycle buttons (table rows and the VM page) and what a click does. The buttons
// are the actions table (actions.js); each makes its declared runner call (calls.js).

import { call } from "../api.js";
import { disabledReason, isEnabled, offeredActions } from "../actions.js";
import { h } from "../dom.js";
import { confirmAction } from "./dialog.js";
import { migrateButton } from "./migration-dialogs.js";
import { announce, notify } from "./notices.js";

/**
 * @typedef {import("../store.js").Store} Store
 * @typedef {import("../actions.js").ActionSpec} ActionSpec
 * @typedef {(action: ActionSpec, result: any) => void} OnDone
 */

/**
 * Run one lifecycle action: confirm if it is irreversible, mark the VM busy, call Salt,
 * refetch, and say how it went. Errors become a banner with Salt's sentence.
 * @param {Store} store
 * @param {string} vmName
 * @param {ActionSpec} action
 * @param {{onDone?: OnDone}} [options]
 */
export async function runVmAction(store, vmName, action, { onDone } = {}) {
  /** @type {{removeDisks?: boolean}} */
  const options = {};
  if (action.confirm) {
    const answer = await confirmAction({
      title: action.confirm.title(vmName),
      body: action.confirm.body,
      confirmLabel: action.confirm.confirmLabel,
      offerRemoveDisks: action.confirm.offerRemoveDisks,
    });
    if (!answer.confirmed) {
      return;
    }
    options.removeDisks = answer.removeDisks;
  }
  announce(`${action.busyLabel.replace("…", "")} ${vmName}`);
  try {
    const result = await store.act(vmName, action.id, () => call(action.call, { name: vmName, ...options }));
    const comment = result?.comment || `${action.label}: ${vmName} done.`;
    notify(comment, { tone: "success" });
    announce(comment);
    onDone?.(action, result);
  } catch (err) {
    if (err.status === 401) {
      return; // the app is already taking the user back to the login page
    }
    notify(`Could not ${action.label.toLowerCase()} ${vmName}: ${err.message}`, { tone: "error" });
  }
}

/**
 * The buttons the user's role offers for this VM, enabled where the VM's state allows.
 * Returns null when the role offers none (a viewer sees no buttons at all).
 * @param {{name: string, host: string, state: string}} vm
 * @param {{perms: unknown, busyAction: string | null, store: Store, onDone?: OnDone, large?: boolean}} options
 */
export function actionBar(vm, { perms, busyAction, store, onDone, large = false }) {
  const offered = offeredActions(perms, vm.name);
  if (offered.length === 0) {
    return null;
  }
  return h(
    "div",
    {
      class: ["actions", large && "actions-large"],
      role: "group",
      "aria-label": `Actions for ${vm.name}`,
      dataset: { focusGroup: vm.name },
    },
    offered.map((action) => {
      const running = busyAction === action.id;
      const enabled = !busyAction && isEnabled(action, vm.state);
      let why = null;
      if (busyAction && !running) {
        why = `${vm.name} is busy.`;
      } else if (!enabled && !running) {
        why = disabledReason(action);
      }
      return h(
        "button",
        {
          type: "button",
          class: ["btn", !large && "btn-sm", action.danger && "btn-danger-quiet", running && "is-running"],
          disabled: !enabled,
          title: why,
          "aria-label": `${running ? action.busyLabel : action.label} ${vm.name}`,
          dataset: { action: action.id, focusKey: `${vm.name}:${action.id}` },
          onclick: () => runVmAction(store, vm.name, action, { onDone }),
        },
        running && h("span", { class: "spinner", "aria-hidden": "true" }),
        running ? action.busyLabel : action.label,
      );
    }),
    migrateButton(vm, { perms, store, large }),
  );
}
