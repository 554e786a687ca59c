// @ts-check
// The VM page (#/vm/<name>): everything the VM dict says, the lifecycle buttons, the console.

import { vmBadge } from "../components/badges.js";
import { consoleBlocker, createConsolePanel, preloadConsole } from "../components/console.js";
import { loadState } from "../components/load-state.js";
import { dragHandle, migrateTargets } from "../components/migration-drag.js";
import { actionBar } from "../components/vm-actions.js";
import { h, icon, render } from "../dom.js";
import {
  formatBytes,
  formatClock,
  formatCpuTime,
  formatDomainType,
  formatKiB,
  formatPort,
  formatYesNo,
  orDash,
  stateInfo,
} from "../format.js";
import { installLabel, installOf } from "../installs.js";
import { allVms } from "../slices/inventory.js";
import { Page } from "./page.js";

export class VmPage extends Page {
  /**
   * @param {HTMLElement} container
   * @param {Record<string, string>} params  {name}: the VM's name
   */
  mount(container, params) {
    this.own(mountVm(container, this.context, params.name));
  }
}

/**
 * @param {string} term
 * @param {string} value
 * @param {{mono?: boolean, wide?: boolean, testid?: string | null}} [options]
 */
function detail(term, value, { mono = false, wide = false, testid = null } = {}) {
  return h(
    "div",
    { class: ["detail", wide && "detail-wide"], dataset: { testid } },
    h("dt", { text: term }),
    h("dd", { class: [mono && "mono"], text: value }),
  );
}

function ofMax(current, max, format) {
  if (max === null || max === undefined) {
    return format(current);
  }
  return `${format(current)} of ${format(max)} max`;
}

/** A small table that becomes stacked cards on narrow screens, or a sentence when empty. */
function detailTable(caption, columns, rows, emptyText, testid) {
  if (rows.length === 0) {
    return h("p", { class: "empty small", dataset: { testid }, text: emptyText });
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "detail-table", dataset: { testid } },
      h("caption", { class: "visually-hidden", text: caption }),
      h("thead", {}, h("tr", {}, columns.map((col) => h("th", { scope: "col", class: [col.num && "num"], text: col.label })))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            {},
            columns.map((col) =>
              h("td", {
                class: [col.num && "num", col.mono && "mono", col.wide && "wide"],
                "data-label": col.label,
                text: col.value(row),
              }),
            ),
          ),
        ),
      ),
    ),
  );
}

function disksTable(disks) {
  return detailTable(
    "Disks",
    [
      { label: "Target", value: (d) => orDash(d.target), mono: true },
      { label: "Device", value: (d) => orDash(d.device) },
      {
        label: "Source",
        value: (d) => d.path ?? "none (network disk or empty drive)",
        mono: true,
        wide: true,
      },
      { label: "Format", value: (d) => orDash(d.format) },
      { label: "Capacity", value: (d) => formatBytes(d.capacity), num: true },
      { label: "Allocated", value: (d) => formatBytes(d.allocation), num: true },
    ],
    disks ?? [],
    "This VM has no disks.",
    "disks",
  );
}

function nicsTable(nics) {
  return detailTable(
    "Network interfaces",
    [
      { label: "MAC", value: (n) => orDash(n.mac), mono: true },
      { label: "Type", value: (n) => orDash(n.type) },
      { label: "Network", value: (n) => orDash(n.network) },
      { label: "Bridge", value: (n) => orDash(n.bridge), mono: true },
      { label: "Model", value: (n) => orDash(n.model) },
      { label: "IP address", value: (n) => n.ip ?? "not known", mono: true },
    ],
    nics ?? [],
    "This VM has no network interfaces.",
    "nics",
  );
}

function graphicsTable(graphics) {
  return detailTable(
    "Graphics",
    [
      { label: "Type", value: (g) => orDash(g.type) },
      { label: "Port", value: (g) => formatPort(g.port) },
      { label: "Listen", value: (g) => orDash(g.listen), mono: true },
    ],
    graphics ?? [],
    "This VM has no graphical console.",
    "graphics",
  );
}

function backLink() {
  return h("a", { href: "#/", class: "back-link" }, icon("back"), "Overview");
}

/** The install line of the details, when the VM has one. @param {any} vm */
function installDetail(vm) {
  const install = installOf(vm);
  if (!install) {
    return null;
  }
  const said = installLabel(install);
  return detail("Install", `${said.label}${said.detail ? `: ${said.detail}` : ""}`, { wide: true, testid: "install" });
}

function vmPage(vm, { perms, busyAction, store, onDone, consoleElement = null }) {
  const reason = vm.reason ? ` (${vm.reason})` : "";
  return h(
    "div",
    { class: "page vm-page", dataset: { vm: vm.name, state: vm.state } },
    h("nav", { class: "breadcrumb", "aria-label": "Breadcrumb" }, backLink()),
    h(
      "div",
      { class: ["vm-head", busyAction && "is-busy"], "aria-busy": busyAction ? "true" : null },
      h(
        "div",
        { class: "vm-title" },
        dragHandle(vm, { perms }),
        h("h1", { text: vm.name }),
        vmBadge(vm),
        h("span", { class: "muted", text: `on ${vm.host}` }),
      ),
      actionBar(vm, { perms, busyAction, store, onDone, large: true }),
    ),
    consoleElement,
    migrateTargets(vm, store.state.inventory, { perms }),
    h(
      "section",
      { class: ["card", "section-card"], "aria-labelledby": "vm-details-heading" },
      h("h2", { id: "vm-details-heading", text: "Details" }),
      h(
        "dl",
        { class: "details" },
        detail("UUID", orDash(vm.uuid), { mono: true, wide: true, testid: "uuid" }),
        detail("State", `${stateInfo(vm.state).label}${reason}`, { testid: "state" }),
        installDetail(vm),
        detail("Host", orDash(vm.host), { testid: "host" }),
        detail("vCPUs", ofMax(vm.vcpus, vm.max_vcpus, (n) => orDash(n)), { testid: "vcpus" }),
        detail("Memory", ofMax(vm.memory, vm.max_memory, formatKiB), { testid: "memory" }),
        detail("CPU time", formatCpuTime(vm.cpu_time), { testid: "cpu-time" }),
        detail("Autostart", formatYesNo(vm.autostart), { testid: "autostart" }),
        detail("Persistent", formatYesNo(vm.persistent), { testid: "persistent" }),
        detail("Domain type", formatDomainType(vm.domain_type), { testid: "domain-type" }),
        detail("OS type", orDash(vm.os_type), { testid: "os-type" }),
      ),
    ),
    h(
      "section",
      { class: ["card", "section-card"], "aria-labelledby": "vm-disks-heading" },
      h("h2", { id: "vm-disks-heading", text: "Disks" }),
      disksTable(vm.disks),
    ),
    h(
      "section",
      { class: ["card", "section-card"], "aria-labelledby": "vm-nics-heading" },
      h("h2", { id: "vm-nics-heading", text: "Network interfaces" }),
      nicsTable(vm.nics),
    ),
    h(
      "section",
      { class: ["card", "section-card"], "aria-labelledby": "vm-graphics-heading" },
      h("h2", { id: "vm-graphics-heading", text: "Graphics" }),
      graphicsTable(vm.graphics),
    ),
  );
}

function notFound(name, inventory) {
  const unreachable = (inventory.hosts ?? []).filter((host) => !host.reachable).map((host) => host.name);
  return h(
    "div",
    { class: "page" },
    h("nav", { class: "breadcrumb", "aria-label": "Breadcrumb" }, backLink()),
    h(
      "div",
      { class: ["card", "empty-state"], dataset: { testid: "vm-not-found" } },
      h("h1", { text: `No VM named ${name}` }),
      h(
        "p",
        {},
        unreachable.length > 0
          ? `It is not on any reachable host. It may be on ${unreachable.join(", ")}, which did not answer.`
          : `None of the hosts has a VM of that name (inventory collected at ${formatClock(inventory.collected)}).`,
      ),
    ),
  );
}

/**
 * Mount the page for VM `name` into `container`; returns the function that unmounts it.
 * @param {HTMLElement} container
 * @param {import("./page.js").PageContext} context
 * @param {string} name
 */
function mountVm(container, { store, session: maybeSession, navigate }, name) {
  const session = /** @type {import("../api.js").Session} */ (maybeSession); // the route is not public
  let deleted = false;
  const onDone = (action) => {
    if (action.id === "delete") {
      deleted = true;
      navigate("#/");
    }
  };
  // Consoles: one panel for the page's lifetime, moved (not rebuilt) into each re-render.
  const consolePanel = createConsolePanel({ name, perms: session.perms });
  if (!consoleBlocker(null, session.perms, name)) {
    preloadConsole();
  }
  const unsubscribe = store.subscribe((state) => {
    if (!state.inventory) {
      render(container, h("div", { class: "page" }, loadState(state, store, name)));
      return;
    }
    const vm = allVms(state.inventory).find((candidate) => candidate.name === name);
    if (!vm) {
      if (!deleted) {
        render(container, notFound(name, state.inventory));
      }
      return;
    }
    document.title = `${vm.name} · Brine`;
    consolePanel.update(vm);
    render(
      container,
      vmPage(vm, {
        perms: session.perms,
        busyAction: state.busy[vm.name] ?? null,
        store,
        onDone,
        consoleElement: consolePanel.element,
      }),
    );
  });
  return () => {
    unsubscribe();
    consolePanel.destroy();
  };
}
