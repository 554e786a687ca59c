// @ts-check
// Live migration by dialog: "Migrate to…" lists every host with whether it can take the VM and
// why not; the confirmation offers the advanced options and starts the migration.

import * as api from "../api.js";
import { h, render } from "../dom.js";
import { LIMITS } from "../limits.js";
import { defaultOptions, dropVerdict, isActive, mayMigrate, migrateKwargs } from "../migration.js";
import { migrationActive } from "../slices/migrations.js";
import { openDialog } from "./dialog.js";
import { startMigration } from "./migration-panel.js";

/**
 * @typedef {import("./migration-drag.js").DraggedVm} DraggedVm
 * @typedef {import("../store.js").Store} Store
 */

/**
 * The keyboard way: a "Migrate to…" button, or null when the role may not migrate.
 * @param {DraggedVm} vm
 * @param {{perms: unknown, store: Store, large?: boolean}} options
 */
export function migrateButton(vm, { perms, store, large = false }) {
  if (!mayMigrate(perms, vm.name)) {
    return null;
  }
  const active = migrationActive(store?.state.migrations?.[vm.name]);
  return h("button", {
    type: "button",
    class: ["btn", !large && "btn-sm", "btn-migrate"],
    "aria-haspopup": "dialog",
    "aria-label": `Migrate ${vm.name} to another host`,
    title: active ? `${vm.name} is being migrated.` : null,
    disabled: active,
    dataset: { migrate: vm.name, focusKey: `${vm.name}:migrate` },
    text: "Migrate to…",
    onclick: () => chooseTarget({ name: vm.name, host: vm.host, state: vm.state }, store),
  });
}

/**
 * "Migrate to…": every host with its verdict; eligible ones are buttons.
 * @param {DraggedVm} vm
 * @param {Store} store
 */
async function chooseTarget(vm, store) {
  const list = h("div", { class: "target-list", "aria-live": "polite" }, h("p", { class: "muted", text: `Checking which hosts can take ${vm.name}…` }));
  /** @type {{name: string, verdict: ReturnType<typeof dropVerdict>} | null} */
  let chosen = null;
  const dialog = openDialog({
    name: "migrate-choose",
    title: `Migrate ${vm.name} to…`,
    body: [h("p", { text: `${vm.name} is on ${vm.host}. Choose the host to move it to.` }), list],
  });
  api.migrationTargets(vm.name).then(
    (targets) => fillList(targets),
    (error) => fillList(error instanceof Error ? error : new Error(String(error))),
  );
  /** @param {any} targets */
  function fillList(targets) {
    const hosts = (store.state.inventory?.hosts ?? []).map((host) => host.name);
    const names = [...new Set([...hosts, ...(targets instanceof Error ? [] : Object.keys(targets ?? {}))])].sort();
    render(
      list,
      h(
        "ul",
        { class: "targets" },
        names.map((name) => {
          const verdict = dropVerdict(targets, name, vm.name);
          const reasonsId = `target-reasons-${name}`;
          return h(
            "li",
            { class: ["target", `drop-${verdict.status}`], dataset: { targetHost: name, drop: verdict.status } },
            h("button", {
              type: "button",
              class: ["btn", verdict.status === "eligible" && "btn-primary"],
              disabled: verdict.status !== "eligible" && verdict.status !== "offer",
              "aria-describedby": reasonsId,
              text: name,
              onclick: () => {
                chosen = { name, verdict };
                dialog.close("cancel");
              },
            }),
            h(
              "div",
              { class: "target-reasons", id: reasonsId },
              verdict.status === "eligible" || verdict.status === "offer"
                ? h("span", { text: verdict.summary })
                : h("ul", {}, verdict.reasons.map((reason) => h("li", { text: reason }))),
            ),
          );
        }),
      ),
    );
    /** @type {HTMLButtonElement | null} */ (list.querySelector("button:not([disabled])"))?.focus();
  }
  await dialog.confirmed;
  // Set by a target's button (TypeScript cannot see through the closure).
  const picked = /** @type {{name: string, verdict: ReturnType<typeof dropVerdict>} | null} */ (chosen);
  if (picked) {
    confirmMigration(vm, picked.name, picked.verdict, store);
  }
}

/** @param {string} id @param {string} label @param {HTMLElement} input @param {string} [hint] */
function field(id, label, input, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, text: label }),
    input,
    hint && h("span", { class: "muted small", text: hint }),
  );
}

/**
 * @param {string} id @param {string} label @param {boolean} checked
 * @param {{disabled?: boolean}} [options]
 * @returns {[HTMLInputElement, HTMLElement]}
 */
function checkbox(id, label, checked, { disabled = false } = {}) {
  const input = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", id, name: id, checked, disabled }));
  return [input, h("label", { class: "check", for: id }, input, h("span", { text: label }))];
}

/**
 * The confirmation dialog with the advanced options; on confirm, start the migration.
 * @param {DraggedVm} vm
 * @param {string} host
 * @param {ReturnType<typeof dropVerdict>} verdict
 * @param {Store} store
 */
export async function confirmMigration(vm, host, verdict, store) {
  const defaults = defaultOptions(vm, verdict);
  const [live, liveRow] = checkbox("migrate-live", "Live (the VM keeps running while it moves)", defaults.live, {
    disabled: !isActive(vm.state),
  });
  const [offline, offlineRow] = checkbox("migrate-offline", "Offline (move the definition of a VM that is not running)", defaults.offline, {
    disabled: isActive(vm.state),
  });
  const [copyStorage, copyRow] = checkbox("migrate-copy-storage", "Copy storage (for disks the target cannot reach)", defaults.copy_storage);
  const [autoconverge, autoRow] = checkbox("migrate-autoconverge", "Autoconverge (slow the guest down if its memory changes too fast)", defaults.autoconverge);
  const maxDowntime = h("input", { type: "text", inputmode: "numeric", id: "migrate-max-downtime", class: "input", placeholder: "libvirt default (300)", autocomplete: "off" });
  const bandwidth = h("input", { type: "text", inputmode: "numeric", id: "migrate-bandwidth", class: "input", placeholder: "unlimited", autocomplete: "off" });
  const error = h("p", { class: "form-error", role: "alert", id: "migrate-error" });
  const what = isActive(vm.state)
    ? `${vm.name} moves from ${vm.host} to ${host} while it keeps running.`
    : `${vm.name} is not running: its definition moves from ${vm.host} to ${host}.`;
  let kwargs = null;
  const dialog = openDialog({
    name: "migrate-confirm",
    title: `Migrate ${vm.name} to ${host}?`,
    describedBy: "migrate-confirm-body",
    confirmLabel: "Migrate",
    validate: () => {
      const answer = migrateKwargs({
        live: live.checked,
        offline: offline.checked,
        copy_storage: copyStorage.checked,
        autoconverge: autoconverge.checked,
        max_downtime: maxDowntime.value,
        bandwidth: bandwidth.value,
      });
      if ("error" in answer) {
        error.textContent = answer.error;
        error.closest("details")?.setAttribute("open", "");
        return false;
      }
      kwargs = answer.kwargs;
      return true;
    },
    body: [
      h("p", { id: "migrate-confirm-body", text: what }),
      h(
        "details",
        { class: "advanced" },
        h("summary", { text: "Advanced" }),
        h(
          "div",
          { class: "advanced-fields" },
          offlineRow,
          liveRow,
          copyRow,
          autoRow,
          field("migrate-max-downtime", "Maximum downtime (ms)", maxDowntime, `1 to ${LIMITS.max_downtime}`),
          field("migrate-bandwidth", "Bandwidth limit (MiB/s)", bandwidth, `1 to ${LIMITS.bandwidth}`),
        ),
      ),
      error,
    ],
  });
  const confirmed = await dialog.confirmed;
  if (confirmed && kwargs) {
    startMigration(store, vm, host, kwargs);
  }
}

