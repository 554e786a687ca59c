// @ts-check
// The plan of a create (provision.create with test=True), as the Create VM dialog shows it
// before "Create": the host chosen and why the others do not fit, the sizes, disk, NICs with
// their MACs, repositories, and the kickstart (its password hash hidden).

import { h } from "../dom.js";
import { formatKiB, orDash } from "../format.js";

/**
 * @typedef {import("../provision.js").PlanView} PlanView
 */

/** @param {string} term @param {string} value @param {string} [testid] */
function item(term, value, testid) {
  return h("div", { class: "detail", dataset: { testid } }, h("dt", { text: term }), h("dd", { text: value }));
}

/** @param {number | null} value @param {string} unit */
const amount = (value, unit) => (value === null ? "—" : `${value} ${unit}`);

/** @param {PlanView} plan */
function placementTable(plan) {
  if (plan.hosts.length === 0) {
    return h("p", { class: "muted small", dataset: { testid: "plan-placement" }, text: `Placed on ${orDash(plan.host)}.` });
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "detail-table plan-hosts", dataset: { testid: "plan-placement" } },
      h("caption", { class: "visually-hidden", text: "Hosts and whether the VM fits" }),
      h(
        "thead",
        {},
        h("tr", {}, h("th", { scope: "col", text: "Host" }), h("th", { scope: "col", text: "Fits" }), h("th", { scope: "col", class: "num", text: "Free memory" }), h("th", { scope: "col", text: "Why not" })),
      ),
      h(
        "tbody",
        {},
        plan.hosts.map((entry) =>
          h(
            "tr",
            { class: [entry.chosen && "is-chosen"], dataset: { host: entry.host, fits: String(entry.fits), chosen: String(entry.chosen) } },
            h("th", { scope: "row", "data-label": "Host" }, entry.host, entry.chosen && h("span", { class: "badge tone-ok plan-chosen", text: "Chosen" })),
            h("td", { "data-label": "Fits", text: entry.fits ? "Yes" : "No" }),
            h("td", { class: "num", "data-label": "Free memory", text: formatKiB(entry.free_memory) }),
            h(
              "td",
              { "data-label": "Why not" },
              entry.problems.length === 0 ? "—" : h("ul", { class: "plan-problems" }, entry.problems.map((problem) => h("li", { text: problem }))),
            ),
          ),
        ),
      ),
    ),
  );
}

/** @param {PlanView} plan */
function nicsTable(plan) {
  if (plan.nics.length === 0) {
    return h("p", { class: "muted small", dataset: { testid: "plan-nics" }, text: "No network interfaces." });
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "detail-table", dataset: { testid: "plan-nics" } },
      h("caption", { class: "visually-hidden", text: "Network interfaces" }),
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Network" }), h("th", { scope: "col", text: "MAC" }))),
      h(
        "tbody",
        {},
        plan.nics.map((nic) => h("tr", { dataset: { mac: nic.mac } }, h("td", { "data-label": "Network", text: nic.network }), h("td", { class: "mono", "data-label": "MAC", text: nic.mac }))),
      ),
    ),
  );
}

/** @param {PlanView} plan */
function repositoryList(plan) {
  if (plan.repositories.length === 0) {
    return h("p", { class: "muted small", dataset: { testid: "plan-repositories" }, text: "None: no activation key." });
  }
  return h(
    "ul",
    { class: "plan-repos", dataset: { testid: "plan-repositories" } },
    plan.repositories.map((repo) => h("li", { dataset: { repo: repo.name } }, h("strong", { text: repo.name }), " ", h("span", { class: "mono", text: repo.url }))),
  );
}

/**
 * The plan, for the dialog's second step.
 * @param {PlanView} plan
 */
export function renderPlan(plan) {
  return h(
    "section",
    { class: "create-plan", "aria-labelledby": "create-plan-heading", dataset: { testid: "create-plan" } },
    h("h3", { id: "create-plan-heading", class: "visually-hidden", text: "The plan" }),
    h(
      "p",
      { class: "plan-summary", dataset: { testid: "plan-host", host: plan.host } },
      `${plan.name} will be created on `,
      h("strong", { text: orDash(plan.host) }),
      " and installed there. Nothing has been changed yet.",
    ),
    h(
      "dl",
      { class: "details plan-details" },
      item("Host group", plan.host_group || "None", "plan-host-group"),
      item("Profile", plan.profile || "Own sizes", "plan-profile"),
      item("Memory", plan.memory === null ? "—" : formatKiB(plan.memory * 1024), "plan-memory"),
      item("vCPUs", orDash(plan.vcpus), "plan-vcpus"),
      item("Disk", amount(plan.disk, "GiB"), "plan-disk"),
      item("Volume", orDash(plan.volume), "plan-volume"),
      item("Storage pool", orDash(plan.pool), "plan-pool"),
      item("OS tree", plan.os_variant ? `${orDash(plan.os_tree)} (${plan.os_variant})` : orDash(plan.os_tree), "plan-os-tree"),
      item("Install tree", orDash(plan.url), "plan-url"),
    ),
    h("h4", { text: "Placement" }),
    placementTable(plan),
    h("h4", { text: "Network interfaces" }),
    nicsTable(plan),
    h("h4", { text: "Repositories" }),
    repositoryList(plan),
    h(
      "details",
      { class: "plan-kickstart" },
      h("summary", { text: "Kickstart (the password hash is hidden)" }),
      h("pre", { class: "mono", tabindex: "0", dataset: { testid: "plan-kickstart" }, text: plan.kickstart || "—" }),
    ),
  );
}
