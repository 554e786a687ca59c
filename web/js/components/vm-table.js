// @ts-check
// The VM table of the overview; rows turn into stacked cards on narrow screens (CSS).

import { offeredActions } from "../actions.js";
import { h } from "../dom.js";
import { formatKiB, naturalCompare, stateInfo } from "../format.js";
import { installLabel, installOf, orphanInstalls } from "../installs.js";
import { mayRun } from "../perms.js";
import { allVms } from "../slices/inventory.js";
import { installBadge, vmBadge } from "./badges.js";
import { dismissButton, failedAt, recordInstall } from "./install-rows.js";
import { dragHandle } from "./migration-drag.js";
import { actionBar } from "./vm-actions.js";

/** The words a row can be found by: name, host, state, and its install's. */
function matches(words, filter) {
  if (!filter) {
    return true;
  }
  const needle = filter.toLowerCase();
  return words.some((field) => String(field ?? "").toLowerCase().includes(needle));
}

/** @param {any} vm */
function vmWords(vm) {
  const install = installOf(vm);
  const installWords = install ? [install.state, installLabel(install).label, installLabel(install).detail] : [];
  return [vm.name, vm.host, vm.state, stateInfo(vm.state).label, ...installWords];
}

/**
 * A row for an install no VM stands for (its domain was removed after it failed): name, the
 * failure and its reason, the host, and Dismiss.
 * @param {import("../installs.js").InstallRecord} record
 * @param {{perms: unknown, store: any, withActions: boolean}} options
 */
function installRow(record, { perms, store, withActions }) {
  const install = recordInstall(record);
  return h(
    "tr",
    { class: ["install-row", `install-${install.state}`], dataset: { vm: record.name, host: record.host, install: install.state } },
    h("th", { scope: "row", class: "vm-name", "data-label": "Name" }, h("span", { text: record.name })),
    h("td", { "data-label": "State" }, installBadge(install), record.at && h("span", { class: "muted small install-when", text: ` ${failedAt(record)}` })),
    h("td", { class: "num", "data-label": "vCPUs", text: "—" }),
    h("td", { class: "num", "data-label": "Memory", text: "—" }),
    h("td", { "data-label": "Host", text: record.host }),
    withActions && h("td", { class: "actions-cell", "data-label": "Actions" }, h("div", { class: "actions" }, dismissButton(record, { perms, store }))),
  );
}

/**
 * The VM table; rows turn into stacked cards on narrow screens (CSS). `installs` are the
 * installs slice's records: those no VM stands for get a row of their own.
 */
export function renderVmTable(inventory, { perms, busy, store, filter = "", installs = null }) {
  const vms = allVms(inventory);
  const orphans = orphanInstalls(installs, inventory);
  const shown = vms.filter((vm) => matches(vmWords(vm), filter));
  const shownOrphans = orphans.filter((record) => matches([record.name, record.host, record.state, "install failed", record.reason], filter));
  const withActions =
    vms.some((vm) => offeredActions(perms, vm.name).length > 0) ||
    orphans.some((record) => record.state === "failed" && mayRun(perms, "dismiss", { name: record.name, host: record.host }));
  const unreachable = (inventory?.hosts ?? []).filter((host) => !host.reachable);

  if (vms.length === 0 && orphans.length === 0) {
    return h("p", { class: "empty", text: "No VMs are defined on the reachable hosts." });
  }

  const header = h(
    "tr",
    {},
    h("th", { scope: "col", class: "col-name", text: "Name" }),
    h("th", { scope: "col", class: "col-state", text: "State" }),
    h("th", { scope: "col", class: "num col-vcpus", text: "vCPUs" }),
    h("th", { scope: "col", class: "num col-memory", text: "Memory" }),
    h("th", { scope: "col", class: "col-host", text: "Host" }),
    withActions && h("th", { scope: "col", class: "actions-col", text: "Actions" }),
  );

  const vmRows = shown.map((vm) => {
    const busyAction = busy[vm.name] ?? null;
    return h(
      "tr",
      {
        class: [busyAction && "is-busy"],
        "aria-busy": busyAction ? "true" : null,
        dataset: { vm: vm.name, state: vm.state, host: vm.host, install: installOf(vm)?.state },
      },
      h(
        "th",
        { scope: "row", class: "vm-name", "data-label": "Name" },
        dragHandle(vm, { perms }),
        h("a", { href: `#/vm/${encodeURIComponent(vm.name)}`, text: vm.name }),
      ),
      h("td", { "data-label": "State" }, vmBadge(vm)),
      h("td", { class: "num", "data-label": "vCPUs", text: vm.vcpus ?? "—" }),
      h("td", { class: "num", "data-label": "Memory", text: formatKiB(vm.memory) }),
      h("td", { "data-label": "Host", text: vm.host }),
      withActions &&
        h("td", { class: "actions-cell", "data-label": "Actions" }, actionBar(vm, { perms, busyAction, store })),
    );
  });
  // Every row in name order, the records of installs among the VMs.
  const rows = [
    ...shown.map((vm, i) => ({ name: vm.name, row: vmRows[i] })),
    ...shownOrphans.map((record) => ({ name: record.name, row: installRow(record, { perms, store, withActions }) })),
  ]
    .sort((a, b) => naturalCompare(a.name, b.name))
    .map((entry) => entry.row);

  return [
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "vm-table", dataset: { testid: "vm-table" } },
        h("caption", { class: "visually-hidden", text: "Virtual machines" }),
        h("thead", {}, header),
        h(
          "tbody",
          {},
          rows.length > 0
            ? rows
            : h(
                "tr",
                { class: "no-match" },
                h("td", { colspan: withActions ? "6" : "5", text: `No VM matches “${filter}”.` }),
              ),
        ),
      ),
    ),
    unreachable.length > 0 &&
      h(
        "p",
        { class: "muted small table-note" },
        `VMs on ${unreachable.map((host) => host.name).join(", ")} are not listed: ` +
          `${unreachable.length === 1 ? "that host is" : "those hosts are"} unreachable.`,
      ),
  ];
}
