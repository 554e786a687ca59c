// @ts-check
// A container's buttons (containers.js CONTAINER_ACTIONS) and what a click does: Start, Stop,
// Restart, Pause and Unpause call the runner and put the container's new dict in the inventory
// at once (its event follows and says the same); Logs opens a dialog with its last lines;
// Remove asks first. A refusal is shown as every refusal is, in a banner with its sentence, and
// the inventory is read again (the container may not be what the page showed).
//
// data-testid: container-<verb>-<name> (verb: start, stop, restart, pause, unpause, logs,
// remove), each with data-action=<verb>; the logs dialog: container-logs-dialog,
// container-logs-tail, container-logs-refresh, container-logs-status, container-logs-lines.

import { call } from "../api.js";
import { containerKey, containerPhrase, LOG_TAILS, removeQuestion, rowActions } from "../containers.js";
import { h } from "../dom.js";
import { sentenceCase } from "../format.js";
import { confirmAction, openDialog } from "./dialog.js";
import { announce, notify } from "./notices.js";

/**
 * @typedef {import("../store.js").Store} Store
 * @typedef {import("../containers.js").ContainerAction} ContainerAction
 * @typedef {{host: string, name: string, state: string}} Target
 */

/**
 * Run one action on a container (not Logs: openContainerLogs): confirm a removal, mark it busy,
 * call Salt, take its answer into the inventory, and say how it went.
 * @param {Store} store
 * @param {Readonly<ContainerAction>} action
 * @param {Target} target
 * @param {{confirm?: typeof confirmAction}} [deps]
 */
export async function runContainerAction(store, action, { host, name, state }, { confirm = confirmAction } = {}) {
  const key = containerKey(host, name);
  const what = containerPhrase(host, name);
  if (store.state.containerBusy?.[key]) {
    return;
  }
  /** @type {{host: string, name: string, force?: boolean}} */
  const args = { host, name };
  if (action.verb === "remove") {
    const question = removeQuestion(host, name, state);
    const answer = await confirm({ title: question.title, body: question.body, confirmLabel: question.confirmLabel });
    if (!answer.confirmed) {
      return;
    }
    if (question.force) {
      args.force = true;
    }
  }
  store.dispatch("containerBusy", { type: "busy", key, id: action.id });
  announce(`${action.busyLabel.replace("…", "")} ${what}`);
  try {
    const result = await call(action.id, args);
    if (action.verb === "remove") {
      store.dispatch("inventory", { type: "container-removed", host, name });
    } else {
      store.dispatch("inventory", { type: "container", host, container: result });
    }
    const said = `${sentenceCase(what)} ${action.done}.`;
    notify(said, { tone: "success" });
    announce(said);
  } catch (err) {
    if (err?.status !== 401) {
      // The sentence only: the code is for code (errors.js).
      notify(`Could not ${action.label.toLowerCase()} ${what}: ${err?.message ?? err}`, { tone: "error" });
      store.refresh().catch(() => {});
    } // else the app is taking the user back to the login page
  } finally {
    store.dispatch("containerBusy", { type: "idle", key });
  }
}

/**
 * The Logs dialog: the container's last lines (containers.logs), how many to show, and Refresh.
 * @param {string} host
 * @param {string} name
 * @param {{call?: typeof call, tail?: number}} [deps]
 */
export function openContainerLogs(host, name, { call: ask = call, tail = 100 } = {}) {
  let lines = tail;
  const status = h("p", { class: "muted small container-logs-status", role: "status", dataset: { testid: "container-logs-status" } });
  const output = h("pre", { class: "container-logs-lines", tabindex: "0", dataset: { testid: "container-logs-lines" } });
  const select = /** @type {HTMLSelectElement} */ (
    h(
      "select",
      { id: "container-logs-tail", class: "input select", dataset: { testid: "container-logs-tail" } },
      LOG_TAILS.map((count) => h("option", { value: String(count), text: `Last ${count} lines` })),
    )
  );
  select.value = String(lines);
  const refresh = /** @type {HTMLButtonElement} */ (
    h("button", { type: "button", class: "btn", dataset: { testid: "container-logs-refresh" }, text: "Refresh", onclick: () => read() })
  );
  let reading = 0;

  async function read() {
    reading += 1;
    const mine = reading;
    refresh.disabled = true;
    status.textContent = `Reading the last ${lines} lines…`;
    try {
      const answer = await ask("container_logs", { host, name, tail: lines });
      if (mine !== reading) {
        return;
      }
      const got = Array.isArray(answer?.lines) ? answer.lines.map(String) : [];
      output.textContent = got.join("\n");
      status.textContent = got.length === 0 ? `${name} has written nothing yet.` : `The last ${got.length} of its lines, read at ${new Date().toLocaleTimeString()}.`;
      output.scrollTop = output.scrollHeight;
    } catch (error) {
      if (mine !== reading) {
        return;
      }
      if (error?.status === 401) {
        dialog.close(); // the app is taking the user to the login page
        return;
      }
      status.textContent = `Could not read its logs: ${error?.message ?? error}`;
    } finally {
      if (mine === reading) {
        refresh.disabled = false;
      }
    }
  }

  select.addEventListener("change", () => {
    lines = Number(select.value) || tail;
    read();
  });

  const dialog = openDialog({
    name: "container-logs",
    testid: "container-logs-dialog",
    title: `Logs of ${name} on ${host}`,
    body: [
      h(
        "div",
        { class: "container-logs-tools" },
        h("label", { for: "container-logs-tail", class: "visually-hidden", text: "How many lines" }),
        select,
        refresh,
      ),
      status,
      output,
    ],
  });
  const close = dialog.element.querySelector('button[value="cancel"]');
  if (close) {
    close.textContent = "Close";
  }
  read();
  return dialog;
}

/**
 * The buttons the user's role offers for one container in its state; null when the role offers
 * none (a viewer sees no buttons at all).
 * @param {{host: string, name: string, state: string}} row
 * @param {{perms: unknown, busyId: string | null, store: Store}} options
 */
export function containerActionBar(row, { perms, busyId, store }) {
  const actions = rowActions(perms, row);
  if (actions.length === 0) {
    return null;
  }
  const what = containerPhrase(row.host, row.name);
  const key = containerKey(row.host, row.name);
  return h(
    "div",
    { class: "actions", role: "group", "aria-label": `Actions for ${what}`, dataset: { focusGroup: key } },
    actions.map((action) => {
      const running = busyId === action.id;
      // Logs can be read while another action runs.
      const enabled = !busyId || action.verb === "logs";
      return h(
        "button",
        {
          type: "button",
          class: ["btn", "btn-sm", action.danger && "btn-danger-quiet", running && "is-running"],
          disabled: !enabled,
          title: enabled ? null : `${sentenceCase(what)} is busy.`,
          "aria-label": `${running ? action.busyLabel : action.label} ${what}`,
          "aria-haspopup": action.dialog ? "dialog" : null,
          dataset: { testid: `container-${action.verb}-${row.name}`, action: action.verb, focusKey: `${key}:${action.verb}` },
          onclick: () => (action.verb === "logs" ? openContainerLogs(row.host, row.name) : runContainerAction(store, action, row)),
        },
        running && h("span", { class: "spinner", "aria-hidden": "true" }),
        running ? action.busyLabel : action.label,
      );
    }),
  );
}
