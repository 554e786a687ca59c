// @ts-check
// The overview page: cluster totals, host cards, the VM table (with installs, and the failed
// ones whose VM is gone), and Create VM for those who may.

import { createVmButton } from "../components/create-vm.js";
import { renderHosts, renderTotals } from "../components/host-cards.js";
import { loadState } from "../components/load-state.js";
import { renderVmTable } from "../components/vm-table.js";
import { onlyContainersChanged } from "../containers.js";
import { h, render } from "../dom.js";
import { formatClock } from "../format.js";
import { orphanInstalls } from "../installs.js";
import { Page } from "./page.js";

export class OverviewPage extends Page {
  /** @param {HTMLElement} container */
  mount(container) {
    this.own(mountOverview(container, this.context));
  }
}

/**
 * Mount the overview into `container`; returns the function that unmounts it.
 * @param {HTMLElement} container
 * @param {import("./page.js").PageContext} context
 */
function mountOverview(container, { store, session: maybeSession }) {
  const session = /** @type {import("../api.js").Session} */ (maybeSession); // the route is not public
  let filter = "";

  const collected = h("p", { class: "page-sub muted" });
  const summary = h("div", { class: "overview-summary" });
  const tableRegion = h("div", { class: "vm-region" });
  const filterInput = /** @type {HTMLInputElement} */ (h("input", {
    type: "search",
    id: "vm-filter",
    class: "input input-search",
    placeholder: "Filter by name, host or state",
    autocomplete: "off",
    spellcheck: "false",
  }));
  const vmsSection = h(
    "section",
    { class: "section", "aria-labelledby": "vms-heading" },
    h(
      "div",
      { class: "section-head" },
      h("h2", { id: "vms-heading", text: "Virtual machines" }),
      h(
        "div",
        { class: "section-tools" },
        h(
          "div",
          { class: "filter" },
          h("label", { for: "vm-filter", class: "visually-hidden", text: "Filter virtual machines" }),
          filterInput,
        ),
        createVmButton({ perms: session.perms, store }),
      ),
    ),
    tableRegion,
  );
  const body = h("div", { class: "overview-body" });

  render(
    container,
    h(
      "div",
      { class: "page" },
      h("div", { class: "page-head" }, h("h1", { text: "Overview" }), collected),
      body,
    ),
  );

  const renderTable = (state) => {
    render(
      tableRegion,
      renderVmTable(state.inventory, { perms: session.perms, busy: state.busy, store, filter, installs: state.installs }),
    );
  };

  filterInput.addEventListener("input", () => {
    filter = filterInput.value.trim();
    renderTable(store.state);
  });

  let shownSkeleton = null;
  /** @type {unknown[] | null} the parts of the state last shown */
  let shown = null;
  const update = (state) => {
    // Only what this page shows: another slice's change (a host's networks, say), or a
    // container's (it shows none), must not rebuild the host cards, which would drop a drag's
    // highlighted targets mid-drag.
    const parts = [state.inventory, state.installs, state.busy, state.error];
    const before = shown;
    if (before && parts.every((part, i) => part === before[i] || (i === 0 && onlyContainersChanged(before[0], part)))) {
      shown = parts;
      return;
    }
    shown = parts;
    if (!state.inventory) {
      // Only the placeholder changes while nothing has loaded.
      const key = state.error ? "error" : "loading";
      if (shownSkeleton !== key) {
        render(body, loadState(state, store, "the inventory"));
        shownSkeleton = key;
      }
      collected.textContent = "";
      return;
    }
    if (shownSkeleton !== "data") {
      render(body, summary, vmsSection);
      shownSkeleton = "data";
    }
    const inv = state.inventory;
    collected.textContent = inv.collected ? `Collected at ${formatClock(inv.collected)}` : "";
    render(summary, renderTotals(inv.totals), renderHosts(inv.hosts, { orphans: orphanInstalls(state.installs, inv), perms: session.perms }));
    renderTable(state);
  };

  return store.subscribe(update);
}
