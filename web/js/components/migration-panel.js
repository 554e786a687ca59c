// @ts-check
// Live migration under way: starting cluster.migrate in the background, Abort, and the panel
// (bottom right, on every page) with one card per migration: progress, Abort, the result.
//
// cluster.migrate is synchronous through salt-api's runner client: the call is left running in
// the background and the UI follows brine/migration/<id>/ events (the migrations slice,
// matched by VM name); the call's own answer (or error) settles the record in the end.

import * as api from "../api.js";
import { h, render } from "../dom.js";
import { hasCode } from "../errors.js";
import { mayAbort, progressDetail, progressPercent, resultSentence } from "../migration.js";
import { migrationActive } from "../slices/migrations.js";
import { announce, notify } from "./notices.js";

/** @typedef {import("../store.js").Store} Store */

/**
 * Start cluster.migrate in the background; the record in the store follows it.
 * @param {Store} store
 * @param {{name: string, host: string}} vm
 * @param {string} host
 * @param {Record<string, unknown>} kwargs
 */
export function startMigration(store, vm, host, kwargs) {
  store.dispatch("migrations", { type: "requested", vm: vm.name, source: vm.host, target: host });
  announce(`Migrating ${vm.name} to ${host}`);
  api.migrate(vm.name, host, kwargs).then(
    (result) => {
      store.dispatch("migrations", { type: "answered", vm: vm.name, result });
      announce(resultSentence(store.state.migrations[vm.name]));
      store.refresh().catch(() => {});
    },
    (err) => {
      if (err.status === 401) {
        return;
      }
      store.dispatch("migrations", { type: "refused", vm: vm.name, error: err.message });
      announce(resultSentence(store.state.migrations[vm.name]));
      store.refresh().catch(() => {});
    },
  );
}

/** @param {Store} store @param {string} vmName */
async function abortMigration(store, vmName) {
  store.dispatch("migrations", { type: "aborting", vm: vmName });
  try {
    await api.migrationAbort(vmName);
  } catch (err) {
    if (err.status !== 401) {
      notify(`Could not abort the migration of ${vmName}: ${err.message}`, { tone: "error" });
      // No migration left to abort: it is over, and cluster.migrate's own answer settles the
      // record. Otherwise it goes on.
      if (!hasCode(err, "no_migration")) {
        store.dispatch("migrations", { type: "abort-refused", vm: vmName });
      }
    }
  }
}

/**
 * @param {import("../slices/migrations.js").MigrationRecord} record
 * @param {{perms: unknown, store: Store}} options
 */
function migrationCard(record, { perms, store }) {
  const percent = progressPercent(record);
  const active = migrationActive(record);
  const bar = /** @type {HTMLProgressElement} */ (h("progress", {
    class: "migration-progress",
    max: "100",
    "aria-label": `Migration of ${record.vm}`,
  }));
  if (percent !== null) {
    bar.value = percent;
  }
  return h(
    "article",
    {
      class: ["card", "migration", `migration-${record.phase}`],
      dataset: { migrationVm: record.vm, phase: record.phase },
      "aria-label": `Migration of ${record.vm}`,
    },
    h(
      "header",
      { class: "migration-head" },
      h("strong", { text: record.vm }),
      h("span", { class: "muted", text: ` ${record.source ?? "?"} → ${record.target ?? "?"}` }),
      !active &&
        h("button", {
          type: "button",
          class: "btn-icon migration-dismiss",
          "aria-label": `Dismiss the migration of ${record.vm}`,
          title: "Dismiss",
          text: "×",
          onclick: () => store.dispatch("migrations", { type: "dismiss", vm: record.vm }),
        }),
    ),
    active && bar,
    active && h("p", { class: "migration-detail small", dataset: { testid: "migration-detail" }, text: progressDetail(record) }),
    !active && h("p", { class: "migration-result", dataset: { testid: "migration-result" }, text: resultSentence(record) }),
    active &&
      mayAbort(perms, record.vm) &&
      h("button", {
        type: "button",
        class: "btn btn-sm btn-danger-quiet",
        disabled: record.phase === "aborting" || record.phase === "starting",
        title: record.phase === "starting" ? "Abort becomes possible once the migration has started." : null,
        dataset: { abort: record.vm },
        text: record.phase === "aborting" ? "Aborting…" : "Abort",
        onclick: () => abortMigration(store, record.vm),
      }),
  );
}

/**
 * The migrations panel (bottom right, on every page): one card per migration the store knows,
 * with the progress bar, Abort, and the result. Returns the function that removes it.
 */
/** @param {HTMLElement} parent @param {Store} store */
export function mountMigrationPanel(parent, store) {
  const panel = h("section", { class: "migrations", "aria-label": "Migrations" });
  parent.append(panel);
  const unsubscribe = store.subscribe((state) => {
    const perms = api.getSession()?.perms ?? [];
    const records = Object.values(state.migrations ?? {});
    panel.hidden = records.length === 0;
    // Room below the page so the panel never hides the last rows for good.
    document.body.classList.toggle("has-migrations", records.length > 0);
    render(panel, records.map((record) => migrationCard(record, { perms, store })));
  });
  return () => {
    unsubscribe();
    panel.remove();
  };
}
