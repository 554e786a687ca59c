// @ts-check
// Start, stop and refresh of a network or a storage pool (landscape.js LANDSCAPE_ACTIONS), for admins:
// the buttons of a row and what a click does. Stopping asks first; a refusal is shown as every
// refusal is, in a banner with its sentence.

import { call } from "../api.js";
import { h } from "../dom.js";
import { sentenceCase } from "../format.js";
import { busyKey, objectPhrase, offeredLandscapeActions } from "../landscape.js";
import { confirmAction } from "./dialog.js";
import { announce, notify } from "./notices.js";

/**
 * @typedef {import("../store.js").Store} Store
 * @typedef {import("../landscape.js").LandscapeAction} LandscapeAction
 * @typedef {import("../landscape.js").LandscapeKind} LandscapeKind
 */

/**
 * Run one action on a network or pool: confirm a stop, mark it busy, call Salt, take the new
 * dict it answers, read the host again (also after a failure: the object may have changed
 * anyway), and say how it went.
 * @param {Store} store
 * @param {Readonly<LandscapeAction>} action
 * @param {{host: string, name: string}} target
 * @param {{confirm?: typeof confirmAction}} [deps]
 */
export async function runLandscapeAction(store, action, { host, name }, { confirm = confirmAction } = {}) {
  const what = objectPhrase(action.kind, host, name);
  const key = busyKey(action.kind, host, name);
  if (store.state.landscapeBusy?.[key]) {
    return;
  }
  if (action.confirm) {
    const answer = await confirm({ title: action.confirm.title(name, host), body: action.confirm.body, confirmLabel: action.confirm.confirmLabel });
    if (!answer.confirmed) {
      return;
    }
  }
  store.dispatch("landscapeBusy", { type: "busy", key, id: action.id });
  announce(`${action.busyLabel.replace("…", "")} ${what}`);
  try {
    const result = await call(action.id, { host, name });
    store.dispatch("landscape", { type: "item", kind: action.kind, host, item: result });
    const said = `${sentenceCase(what)} ${action.done}.`;
    notify(said, { tone: "success" });
    announce(said);
  } catch (err) {
    if (err?.status !== 401) {
      // The sentence only: the code is for code (errors.js).
      notify(`Could not ${action.label.toLowerCase()} ${what}: ${err?.message ?? err}`, { tone: "error" });
    } // else the app is taking the user back to the login page
  } finally {
    store.dispatch("landscapeBusy", { type: "idle", key });
    store.dispatch("landscape", { type: "want", kind: action.kind, host });
  }
}

/**
 * The buttons the user's role offers for one network or pool, enabled where its state allows;
 * null when the role offers none (a viewer sees no buttons at all).
 * @param {{name: string, active: boolean}} row   networkRow / poolRow (landscape.js)
 * @param {{kind: LandscapeKind, host: string, perms: unknown, busyId: string | null, store: Store}} options
 */
export function landscapeActionBar(row, { kind, host, perms, busyId, store }) {
  const offered = offeredLandscapeActions(perms, kind, host, row.name);
  if (offered.length === 0) {
    return null;
  }
  const what = objectPhrase(kind, host, row.name);
  const key = busyKey(kind, host, row.name);
  return h(
    "div",
    { class: "actions", role: "group", "aria-label": `Actions for ${what}`, dataset: { focusGroup: key } },
    offered.map((action) => {
      const running = busyId === action.id;
      const enabled = !busyId && action.enabled(row);
      const why = busyId && !running ? `${sentenceCase(what)} is busy.` : !enabled && !running ? action.needs : null;
      return h(
        "button",
        {
          type: "button",
          class: ["btn", "btn-sm", action.danger && "btn-danger-quiet", running && "is-running"],
          disabled: !enabled,
          title: why,
          "aria-label": `${running ? action.busyLabel : action.label} ${what}`,
          "aria-haspopup": action.confirm ? "dialog" : null,
          dataset: { testid: `${action.id.replace("_", "-")}-${row.name}`, action: action.id, focusKey: `${key}:${action.id}` },
          onclick: () => runLandscapeAction(store, action, { host, name: row.name }),
        },
        running && h("span", { class: "spinner", "aria-hidden": "true" }),
        running ? action.busyLabel : action.label,
      );
    }),
  );
}
