// @ts-check
// Installs outside the VM list's own rows: the records of installs no VM stands for (a failed
// install whose domain was removed) with their Dismiss button, and the installs of one host as
// its card lists them.

import { call } from "../api.js";
import { h } from "../dom.js";
import { formatClock } from "../format.js";
import { installOf } from "../installs.js";
import { mayRun } from "../perms.js";
import { installBadge } from "./badges.js";
import { announce, notify } from "./notices.js";

/**
 * @typedef {import("../installs.js").InstallRecord} InstallRecord
 * @typedef {import("../store.js").Store} Store
 */

/**
 * A record's install, as a badge reads it.
 * @param {InstallRecord} record
 * @returns {import("../installs.js").Install}
 */
export function recordInstall(record) {
  return {
    state: record.state === "installing" ? "installing" : "failed",
    progress: record.progress ?? null,
    step: record.step ?? null,
    reason: record.reason,
  };
}

/**
 * Dismiss: forget a failed install's record (provision.dismiss), for those who may.
 * @param {InstallRecord} record
 * @param {{perms: unknown, store: Store}} options
 */
export function dismissButton(record, { perms, store }) {
  if (record.state !== "failed" || !mayRun(perms, "dismiss", { name: record.name, host: record.host })) {
    return null;
  }
  const button = /** @type {HTMLButtonElement} */ (
    h("button", {
      type: "button",
      class: "btn btn-sm",
      "aria-label": `Dismiss the failed install of ${record.name} on ${record.host}`,
      dataset: { testid: "dismiss-install", focusKey: `${record.host}:${record.name}:dismiss` },
      text: "Dismiss",
      onclick: async () => {
        button.disabled = true;
        try {
          await call("dismiss", { name: record.name, host: record.host });
          store.dispatch("installs", { type: "dismissed", host: record.host, name: record.name });
          announce(`The failed install of ${record.name} is dismissed.`);
        } catch (err) {
          button.disabled = false;
          if (err.status !== 401) {
            notify(`Could not dismiss the failed install of ${record.name}: ${err.message}`);
          }
        }
      },
    })
  );
  return button;
}

/**
 * When a record's install failed, as words ("at 14:03:27").
 * @param {InstallRecord} record
 */
export function failedAt(record) {
  return record.at ? `at ${formatClock(record.at)}` : "";
}

/**
 * The installs on one host, for its card: its VMs that are installing or failed, and the
 * records no VM stands for. Null when there are none.
 * @param {any} host
 * @param {readonly InstallRecord[]} orphans  the records no VM of the inventory stands for
 */
export function hostInstalls(host, orphans) {
  const rows = [
    ...(host.vms ?? []).flatMap((vm) => {
      const install = installOf(vm);
      return install ? [{ name: vm.name, install }] : [];
    }),
    ...orphans.filter((record) => record.host === host.name).map((record) => ({ name: record.name, install: recordInstall(record) })),
  ];
  if (rows.length === 0) {
    return null;
  }
  return h(
    "ul",
    { class: "host-installs", "aria-label": `Installs on ${host.name}`, dataset: { testid: "host-installs" } },
    rows.map((row) => h("li", { dataset: { vm: row.name, install: row.install.state } }, h("span", { class: "host-install-name", text: row.name }), installBadge(row.install))),
  );
}
