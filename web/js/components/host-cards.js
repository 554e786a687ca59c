// @ts-check
// Hosts: the cluster totals strip and one card per host. Each card is a drop target for a
// VM's migration (registered in drop-targets.js) and lists the installs on its host.

import { h, icon } from "../dom.js";
import { dropTargets } from "../drop-targets.js";
import {
  formatKiB,
  formatMhz,
  formatTopology,
  naturalCompare,
  orDash,
  sentenceCase,
  usage,
} from "../format.js";
import { containersHref, mayReadContainers } from "../containers.js";
import { mayReadLandscape, SECTIONS, landscapeHref } from "../landscape.js";
import { hostInstalls } from "./install-rows.js";

/**
 * A labelled capacity bar: "Memory  384 MiB of 24 GiB" over a track filled to the allocation.
 * Overcommitment (more allocated than there is) fills the bar and turns it red.
 */
export function meter(label, allocated, total, describe) {
  const use = usage(allocated, total);
  const text = describe(allocated, total);
  const percentText = use.percent === null ? "" : `${use.percent}%`;
  const tone = use.over ? "over" : use.fraction >= 0.85 ? "high" : "normal";
  const fill = h("div", { class: "meter-fill" });
  // Setting a style property from script is allowed by our CSP (style attributes in HTML are not).
  fill.style.width = `${(use.fraction * 100).toFixed(1)}%`;
  return h(
    "div",
    { class: ["meter", `meter-${tone}`] },
    h(
      "div",
      { class: "meter-head" },
      h("span", { class: "meter-label", text: label }),
      h("span", { class: "meter-value" }, text, percentText && h("span", { class: "meter-percent", text: percentText })),
    ),
    h(
      "div",
      {
        class: "meter-track",
        role: "meter",
        "aria-label": label,
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": String(Math.round(use.fraction * 100)),
        "aria-valuetext": `${text}${percentText ? `, ${percentText}` : ""}${use.over ? ", overcommitted" : ""}`,
      },
      fill,
    ),
  );
}

const describeMemory = (allocated, total) => `${formatKiB(allocated)} of ${formatKiB(total)}`;
const describeCpus = (allocated, total) =>
  `${allocated ?? 0} vCPU${allocated === 1 ? "" : "s"} of ${total ?? 0} CPU${total === 1 ? "" : "s"}`;

function stat(label, value, detail, { alert = false } = {}) {
  return h(
    "div",
    { class: "stat" },
    h("div", { class: "stat-label", text: label }),
    h("div", { class: "stat-value", text: value }),
    detail && h("div", { class: ["stat-detail", alert && "is-alert"], text: detail }),
  );
}

/** The cluster totals at the top of the overview. */
export function renderTotals(totals) {
  const t = totals ?? {};
  const unreachable = (t.hosts ?? 0) - (t.hosts_reachable ?? 0);
  return h(
    "section",
    { class: "totals", "aria-label": "Cluster totals", dataset: { testid: "totals" } },
    stat(
      "Hosts",
      `${t.hosts_reachable ?? 0} of ${t.hosts ?? 0}`,
      unreachable > 0 ? `${unreachable} unreachable` : "all reachable",
      { alert: unreachable > 0 },
    ),
    stat("Virtual machines", `${t.vms_running ?? 0} of ${t.vms ?? 0}`, "running"),
    h("div", { class: "stat stat-meter" }, meter("vCPUs allocated", t.vcpus_allocated, t.cpus, describeCpus)),
    h(
      "div",
      { class: "stat stat-meter" },
      meter("Memory allocated", t.memory_allocated, t.memory_total, describeMemory),
    ),
  );
}

function fact(term, value) {
  return [h("dt", { text: term }), h("dd", { text: value })];
}

/**
 * One link of a card's header: its word, and an icon that stands for it where the card is too
 * narrow for the words (host-landscape.css: a header of one line keeps the card no taller).
 * @param {string} href @param {string} label @param {string} iconName @param {string} testid @param {string} host
 */
function hostLink(href, label, iconName, testid, host) {
  return h(
    "a",
    { href, class: "host-link", title: `${label} on ${host}`, dataset: { testid } },
    icon(iconName),
    h("span", { class: "host-link-text", text: label }),
  );
}

const LINK_ICONS = { networks: "network", storage: "storage" };

/**
 * Links to the host's networks, storage and containers pages, those the user's role may read.
 * @param {string} host
 * @param {unknown} perms
 */
function hostLinks(host, perms) {
  const links = SECTIONS.filter((section) => mayReadLandscape(perms, section.kind)).map((section) =>
    hostLink(landscapeHref(host, section.id), section.label, LINK_ICONS[section.id] ?? "server", `host-${section.id}-link`, host),
  );
  if (mayReadContainers(perms)) {
    links.push(hostLink(containersHref(host), "Containers", "container", "host-containers-link", host));
  }
  return links.length > 0 ? h("nav", { class: "host-links", "aria-label": `${host}: networks, storage and containers` }, links) : null;
}

/**
 * @param {any} host
 * @param {readonly import("../installs.js").InstallRecord[]} orphans
 * @param {unknown} perms
 */
function hostCard(host, orphans, perms) {
  const card = hostCardElement(host, orphans, perms);
  dropTargets.register(card, { host: host.name });
  return card;
}

/**
 * @param {any} host
 * @param {readonly import("../installs.js").InstallRecord[]} orphans
 * @param {unknown} perms
 */
function hostCardElement(host, orphans, perms) {
  const reachable = Boolean(host.reachable);
  const f = host.facts ?? {};
  const badge = h(
    "span",
    { class: ["pill", reachable ? "tone-ok" : "tone-danger"], dataset: { testid: "host-status" } },
    h("span", { class: "dot", "aria-hidden": "true" }),
    reachable ? "Reachable" : "Unreachable",
  );
  const head = h(
    "header",
    { class: "host-head" },
    icon("server"),
    h("h3", { class: "host-name", text: host.name }),
    // In the header, so the card is no taller for them.
    hostLinks(host.name, perms),
    badge,
  );

  if (!reachable) {
    return h(
      "article",
      {
        class: ["card", "host-card", "is-unreachable"],
        dataset: { host: host.name, reachable: "false" },
        "aria-label": `Host ${host.name}, unreachable`,
      },
      head,
      h("p", { class: "host-reason", dataset: { testid: "host-reason" }, text: sentenceCase(host.error) || "The host did not answer." }),
      h("p", { class: "muted small", text: "Its VMs are not listed until it answers again." }),
    );
  }

  const cpuLine = [f.cpu_model, f.cpu_arch].filter(Boolean).join(" · ");
  return h(
    "article",
    {
      class: ["card", "host-card"],
      dataset: { host: host.name, reachable: "true" },
      "aria-label": `Host ${host.name}`,
    },
    head,
    h("p", { class: "host-cpu", text: cpuLine || "CPU model unknown" }),
    h(
      "p",
      { class: "muted small" },
      `${formatTopology(f.sockets, f.cores, f.threads)} · ${formatMhz(f.mhz)}`,
    ),
    h(
      "div",
      { class: "host-meters" },
      meter("Memory", f.memory_allocated, f.memory_total, describeMemory),
      meter("vCPUs", f.vcpus_allocated, f.cpus, describeCpus),
    ),
    h(
      "dl",
      { class: "facts" },
      fact("VMs", `${f.vms_running ?? 0} running / ${f.vm_count ?? 0} total`),
      fact("Free memory", formatKiB(f.memory_free)),
      fact("libvirt", orDash(f.libvirt_version)),
      fact(f.hypervisor || "Hypervisor", orDash(f.hypervisor_version)),
    ),
    hostInstalls(host, orphans),
  );
}

/**
 * One card per host, in name order.
 * @param {any[]} hosts
 * @param {{orphans?: readonly import("../installs.js").InstallRecord[], perms?: unknown}} [options]
 *   orphans: the install records no VM stands for (installs.js orphanInstalls), shown on their
 *   host's card; perms: the user's, for the links to each host's networks, storage and containers
 */
export function renderHosts(hosts, { orphans = [], perms = [] } = {}) {
  const sorted = [...(hosts ?? [])].sort((a, b) => naturalCompare(a.name, b.name));
  return h(
    "section",
    { class: "section", "aria-labelledby": "hosts-heading" },
    h("div", { class: "section-head" }, h("h2", { id: "hosts-heading", text: "Hosts" })),
    sorted.length === 0
      ? h("p", { class: "empty", text: "No hosts with the hypervisor role answered the master." })
      : h("div", { class: "host-grid" }, sorted.map((host) => hostCard(host, orphans, perms))),
  );
}
