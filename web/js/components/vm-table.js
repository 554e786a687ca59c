// VMs: the state badge, the lifecycle buttons (shared with the VM page) and the VM table.

import { ACTION_CALLS } from "../api.js";
import { disabledReason, isEnabled, offeredActions } from "../actions.js";
import { h } from "../dom.js";
import { formatKiB, naturalCompare, stateInfo } from "../format.js";
import { confirmAction } from "./confirm.js";
import { dragHandle, migrateButton } from "./migration.js";
import { announce, notify } from "./notices.js";

/** Every VM of every reachable host, each with its `host`, sorted by name. */
export function allVms(inventory) {
  const vms = [];
  for (const host of inventory?.hosts ?? []) {
    for (const vm of host.vms ?? []) {
      vms.push({ ...vm, host: vm.host ?? host.name });
    }
  }
  return vms.sort((a, b) => naturalCompare(a.name, b.name));
}

/** The coloured state badge; data-state carries libvirt's word for tests and styles. */
export function stateBadge(state) {
  const info = stateInfo(state);
  return h(
    "span",
    { class: ["badge", `tone-${info.tone}`], dataset: { state: state ?? "unknown" } },
    h("span", { class: "dot", "aria-hidden": "true" }),
    info.label,
  );
}

/**
 * Run one lifecycle action: confirm if it is irreversible, mark the VM busy, call Salt,
 * refetch, and say how it went. Errors become a banner with Salt's sentence.
 */
export async function runVmAction(store, vmName, action, { onDone } = {}) {
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
    const result = await store.act(vmName, action.id, () => ACTION_CALLS[action.id](vmName, options));
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
