// @ts-check
// Start, stop and refresh of a network or a storage pool (site.js SITE_ACTIONS), for admins:
// the buttons of a row and what a click does. Stopping asks first; a refusal is shown as every
// refusal is, in a banner with its sentence.

import { call } from "../api.js";
import { h } from "../dom.js";
import { sentenceCase } from "../format.js";
import { busyKey, objectPhrase, offeredSiteActions } from "../site.js";
import { confirmAction } from "./dialog.js";
import { announce, notify } from "./notices.js";

/**
 * @typedef {import("../store.js").Store} Store
 * @typedef {import("../site.js").SiteAction} SiteAction
 * @typedef {import("../site.js").SiteKind} SiteKind
 */

/**
 * Run one action on a network or pool: confirm a stop, mark it busy, call Salt, take the new
 * dict it answers, read the host again (also after a failure: the object may have changed
 * anyway), and say how it went.
 * @param {Store} store
 * @param {Readonly<SiteAction>} action
 * @param {{host: string, name: string}} target
 * @param {{confirm?: typeof confirmAction}} [deps]
 */
export async function runSiteAction(store, action, { host, name }, { confirm = confirmAction } = {}) {
  const what = objectPhrase(action.kind, host, name);
  const key = busyKey(action.kind, host, name);
  if (store.state.siteBusy?.[key]) {
    return;
  }
  if (action.confirm) {
    const answer = await confirm({ title: action.confirm.title(name, host), body: action.confirm.body, confirmLabel: action.confirm.confirmLabel });
    if (!answer.confirmed) {
      return;
    }
  }
  store.dispatch("siteBusy", { type: "busy", key, id: action.id });
  announce(`${action.busyLabel.replace("…", "")} ${what}`);
  try {
    const result = await call(action.id, { host, name });
    store.dispatch("site", { type: "item", kind: action.kind, host, item: result });
    const said = `${sentenceCase(what)} ${action.done}.`;
    notify(said, { tone: "success" });
    announce(said);
  } catch (err) {
    if (err?.status !== 401) {
      // The sentence only: the code is for code (errors.js).
      notify(`Could not ${action.label.toLowerCase()} ${what}: ${err?.message ?? err}`, { tone: "error" });
    } // else the app is taking the user back to the login page
  } finally {
    store.dispatch("siteBusy", { type: "idle", key });
    store.dispatch("site", { type: "want", kind: action.kind, host });
  }
}

/**
 * The buttons the user's role offers for one network or pool, enabled where its state allows;
 * null when the role offers none (a viewer sees no buttons at all).
 * @param {{name: string, active: boolean}} row   networkRow / poolRow (site.js)
 * @param {{kind: SiteKind, host: string, perms: unknown, busyId: string | null, store: Store}} options
 */
export function siteActionBar(row, { kind, host, perms, busyId, store }) {
  const offered = offeredSiteActions(perms, kind, host, row.name);
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
          onclick: () => runSiteAction(store, action, { host, name: row.name }),
        },
        running && h("span", { class: "spinner", "aria-hidden": "true" }),
        running ? action.busyLabel : action.label,
      );
    }),
  );
}
