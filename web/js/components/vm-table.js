// @ts-check
// The VM table of the overview; rows turn into stacked cards on narrow screens (CSS).

import { offeredActions } from "../actions.js";
import { h } from "../dom.js";
import { formatKiB, stateInfo } from "../format.js";
import { allVms } from "../slices/inventory.js";
import { stateBadge } from "./badges.js";
import { dragHandle } from "./migration-drag.js";
import { actionBar } from "./vm-actions.js";

function matches(vm, filter) {
  if (!filter) {
    return true;
  }
  const needle = filter.toLowerCase();
  return [vm.name, vm.host, vm.state, stateInfo(vm.state).label].some((field) =>
    String(field ?? "").toLowerCase().includes(needle),
  );
}

/** The VM table; rows turn into stacked cards on narrow screens (CSS). */
export function renderVmTable(inventory, { perms, busy, store, filter = "" }) {
  const vms = allVms(inventory);
  const shown = vms.filter((vm) => matches(vm, filter));
  const withActions = vms.some((vm) => offeredActions(perms, vm.name).length > 0);
  const unreachable = (inventory?.hosts ?? []).filter((host) => !host.reachable);

  if (vms.length === 0) {
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

  const rows = shown.map((vm) => {
    const busyAction = busy[vm.name] ?? null;
    return h(
      "tr",
      {
        class: [busyAction && "is-busy"],
        "aria-busy": busyAction ? "true" : null,
        dataset: { vm: vm.name, state: vm.state, host: vm.host },
      },
      h(
        "th",
        { scope: "row", class: "vm-name", "data-label": "Name" },
        dragHandle(vm, { perms }),
        h("a", { href: `#/vm/${encodeURIComponent(vm.name)}`, text: vm.name }),
      ),
      h("td", { "data-label": "State" }, stateBadge(vm.state)),
      h("td", { class: "num", "data-label": "vCPUs", text: vm.vcpus ?? "—" }),
      h("td", { class: "num", "data-label": "Memory", text: formatKiB(vm.memory) }),
      h("td", { "data-label": "Host", text: vm.host }),
      withActions &&
        h("td", { class: "actions-cell", "data-label": "Actions" }, actionBar(vm, { perms, busyAction, store })),
    );
  });

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
