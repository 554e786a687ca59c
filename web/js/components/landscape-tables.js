// @ts-check
// A host's libvirt networks and storage pools as tables (landscape.js says what a row shows): each
// row opens its details (a network's static hosts, DNS hosts and current DHCP leases; a pool's
// volumes and the VMs that use them), and carries the admins' buttons (landscape-actions.js).
//
// data-testid (for the end-to-end tests): networks-table, network-row-<name>,
// network-toggle-<name>, network-details-<name>, static-hosts-<name>, static-host-<mac>,
// dns-hosts-<name>, leases-<name>, lease-<mac>; pools-table, pool-row-<name>,
// pool-toggle-<name>, pool-details-<name>, volumes-<pool>, volume-<name> (inside its pool's
// details); managed-badge ("as code"); network-start-<name>, network-stop-<name>,
// pool-start-<name>, pool-stop-<name>, pool-refresh-<name>; networks-empty, pools-empty;
// landscape-unreachable and landscape-unreachable-reason (a host that did not answer).
// Rows also carry data-network / data-pool, data-active and data-managed.

import { h, icon } from "../dom.js";
import { busyKey, networkRow, poolRow, vmHref } from "../landscape.js";
import { meter } from "./host-cards.js";
import { landscapeActionBar } from "./landscape-actions.js";

/**
 * @typedef {import("../store.js").Store} Store
 * @typedef {import("../landscape.js").LandscapeKind} LandscapeKind
 * @typedef {object} TableOptions
 * @property {string} host
 * @property {unknown} perms
 * @property {Readonly<Record<string, string>>} busy   the landscapeBusy slice
 * @property {Store} store
 * @property {ReadonlySet<string>} expanded             the names whose details are open
 * @property {(name: string) => void} onToggle
 * @property {number} [now]                             unix seconds (lease expiry)
 */

/** The "as code" badge: the landscape's pillar defines it on this host. */
export function codeBadge() {
  return h("span", {
    class: ["badge", "tone-info", "code-badge"],
    title: "Defined by the pillar landscape",
    dataset: { testid: "managed-badge" },
    text: "as code",
  });
}

/** @param {{label: string, tone: string}} state @param {string} note */
function stateCell(state, note) {
  return h(
    "td",
    { "data-label": "State" },
    h("span", { class: ["badge", `tone-${state.tone}`] }, h("span", { class: "dot", "aria-hidden": "true" }), state.label),
    h("span", { class: "muted small landscape-start-note", text: note }),
  );
}

/**
 * The name cell: a button that opens the row's details, and the badge.
 * @param {string} prefix  "network" or "pool"
 * @param {{name: string, managed: boolean}} row
 * @param {boolean} open
 * @param {string} detailsId
 * @param {string} count   what the details hold ("2 static, 1 lease")
 * @param {(name: string) => void} onToggle
 */
function nameCell(prefix, row, open, detailsId, count, onToggle) {
  return h(
    "th",
    { scope: "row", class: "landscape-name", "data-label": "Name" },
    h(
      "button",
      {
        type: "button",
        class: "disclosure",
        "aria-expanded": open ? "true" : "false",
        "aria-controls": open ? detailsId : null,
        title: open ? "Hide the details" : "Show the details",
        dataset: { testid: `${prefix}-toggle-${row.name}`, focusKey: `${prefix}:${row.name}:toggle` },
        onclick: () => onToggle(row.name),
      },
      icon("back"),
      h("span", { class: "landscape-name-text", text: row.name }),
    ),
    row.managed && codeBadge(),
    count && h("span", { class: "muted small landscape-count", text: count }),
  );
}

/**
 * A small table inside a row's details, or a sentence when it has no rows.
 * @template T
 * @param {{title: string, testid: string, empty: string, rows: T[],
 *   columns: {label: string, cell: (row: T) => any, mono?: boolean, num?: boolean}[],
 *   rowTestid: (row: T) => string}} spec
 */
function subTable({ title, testid, empty, rows, columns, rowTestid }) {
  return h(
    "div",
    { class: "landscape-sub" },
    h("h3", { text: title }),
    rows.length === 0
      ? h("p", { class: "muted small", dataset: { testid }, text: empty })
      : h(
          "table",
          { class: "landscape-sub-table", dataset: { testid } },
          h("caption", { class: "visually-hidden", text: title }),
          h("thead", {}, h("tr", {}, columns.map((col) => h("th", { scope: "col", class: [col.num && "num"], text: col.label })))),
          h(
            "tbody",
            {},
            rows.map((row) =>
              h(
                "tr",
                { dataset: { testid: rowTestid(row) } },
                columns.map((col) => h("td", { class: [col.mono && "mono", col.num && "num"], "data-label": col.label }, col.cell(row))),
              ),
            ),
          ),
        ),
  );
}

/** @param {number} count @param {string} word */
const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

/** @param {ReturnType<typeof networkRow>} row */
function networkDetails(row) {
  return [
    subTable({
      title: "Static hosts (DHCP)",
      testid: `static-hosts-${row.name}`,
      empty: "No static hosts.",
      rows: row.staticHosts,
      columns: [
        { label: "MAC", cell: (entry) => entry.mac, mono: true },
        { label: "IP address", cell: (entry) => entry.ip, mono: true },
        { label: "Name", cell: (entry) => entry.name },
      ],
      rowTestid: (entry) => `static-host-${entry.mac}`,
    }),
    subTable({
      title: "Current leases",
      testid: `leases-${row.name}`,
      empty: "No current leases.",
      rows: row.leases,
      columns: [
        { label: "MAC", cell: (lease) => lease.mac, mono: true },
        { label: "IP address", cell: (lease) => lease.ip, mono: true },
        { label: "Hostname", cell: (lease) => lease.hostname },
        { label: "Expires", cell: (lease) => lease.expires },
      ],
      rowTestid: (lease) => `lease-${lease.mac}`,
    }),
    row.dnsHosts.length > 0 &&
      subTable({
        title: "DNS hosts",
        testid: `dns-hosts-${row.name}`,
        empty: "",
        rows: row.dnsHosts,
        columns: [
          { label: "IP address", cell: (entry) => entry.ip, mono: true },
          { label: "Hostnames", cell: (entry) => entry.hostnames },
        ],
        rowTestid: (entry) => `dns-host-${entry.ip}`,
      }),
  ];
}

/** The users of a volume as links to their VMs' pages. @param {string[]} users */
function usersCell(users) {
  if (users.length === 0) {
    return h("span", { class: "muted", text: "not used" });
  }
  return users.flatMap((user, i) => [i > 0 && ", ", h("a", { href: vmHref(user), dataset: { vm: user }, text: user })]);
}

/** @param {ReturnType<typeof poolRow>} row */
function poolDetails(row) {
  return subTable({
    title: "Volumes",
    testid: `volumes-${row.name}`,
    empty: row.active ? "This pool has no volumes." : "The volumes of an inactive pool are not known.",
    rows: row.volumes,
    columns: [
      { label: "Name", cell: (volume) => h("span", { class: "mono", title: volume.path, text: volume.name }) },
      { label: "Format", cell: (volume) => volume.format },
      { label: "Capacity", cell: (volume) => volume.capacity, num: true },
      { label: "Allocation", cell: (volume) => volume.allocation, num: true },
      { label: "Used by", cell: (volume) => usersCell(volume.users) },
    ],
    rowTestid: (volume) => `volume-${volume.name}`,
  });
}

/**
 * A table with a details row under each open row.
 * @param {{kind: LandscapeKind, prefix: string, caption: string, headers: (string | [string, string])[]}} spec
 * @param {{name: string, row: HTMLElement, details: () => any}[]} rows
 * @param {TableOptions} options
 * @param {boolean} withActions
 */
function table({ kind, prefix, caption, headers }, rows, { expanded }, withActions) {
  const columns = headers.length + (withActions ? 1 : 0);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: ["landscape-table", `${prefix}-table`], dataset: { testid: `${kind}-table` } },
      h("caption", { class: "visually-hidden", text: caption }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((header) => (Array.isArray(header) ? h("th", { scope: "col", class: header[1], text: header[0] }) : h("th", { scope: "col", text: header }))),
          withActions && h("th", { scope: "col", class: "actions-col", text: "Actions" }),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map(({ name, row, details }) => [
          row,
          expanded.has(name) &&
            h(
              "tr",
              { class: "landscape-details", id: `${prefix}-details-${name}`, dataset: { testid: `${prefix}-details-${name}` } },
              h("td", { colspan: String(columns) }, h("div", { class: "landscape-details-body" }, details())),
            ),
        ]),
      ),
    ),
  );
}

/**
 * @param {LandscapeKind} kind
 * @param {string} name
 * @param {TableOptions} options
 */
function rowBusy(kind, name, { host, busy }) {
  return busy[busyKey(kind, host, name)] ?? null;
}

/**
 * A host's networks.
 * @param {readonly any[]} items   its networks (landscape.networks)
 * @param {TableOptions} options
 */
export function networksTable(items, options) {
  const { host, perms, store, expanded, onToggle, now = Date.now() / 1000 } = options;
  if (items.length === 0) {
    return h("p", { class: "empty", dataset: { testid: "networks-empty" }, text: `${host} has no libvirt networks.` });
  }
  const rows = items.map((net) => networkRow(net, now));
  const bars = rows.map((row) => landscapeActionBar(row, { kind: "networks", host, perms, busyId: rowBusy("networks", row.name, options), store }));
  const withActions = bars.some(Boolean);
  return table(
    {
      kind: "networks",
      prefix: "network",
      caption: `Networks on ${host}`,
      headers: ["Name", "Mode", "Bridge", "Addresses", "Domain", "DHCP range", "State"],
    },
    rows.map((row, i) => {
      const busyId = rowBusy("networks", row.name, options);
      const count = `${plural(row.staticHosts.length, "static host")}, ${plural(row.leases.length, "lease")}`;
      return {
        name: row.name,
        details: () => networkDetails(row),
        row: h(
          "tr",
          {
            class: [busyId && "is-busy", !row.active && "is-inactive"],
            "aria-busy": busyId ? "true" : null,
            dataset: { testid: `network-row-${row.name}`, network: row.name, active: String(row.active), managed: String(row.managed) },
          },
          nameCell("network", row, expanded.has(row.name), `network-details-${row.name}`, count, onToggle),
          h("td", { "data-label": "Mode", dataset: { mode: row.mode }, text: row.modeLabel }),
          h("td", { class: "mono", "data-label": "Bridge", text: row.bridge }),
          h(
            "td",
            { "data-label": "Addresses" },
            h("span", { class: "mono", text: row.subnet }),
            row.gateway && h("span", { class: "muted small landscape-sub-line", text: row.gateway }),
          ),
          h("td", { "data-label": "Domain", text: row.domain }),
          h("td", { class: "mono", "data-label": "DHCP range", text: row.dhcp }),
          stateCell(row.state, row.startNote),
          withActions && h("td", { class: "actions-cell", "data-label": "Actions" }, bars[i]),
        ),
      };
    }),
    options,
    withActions,
  );
}

/**
 * A host's storage pools.
 * @param {readonly any[]} items   its pools (landscape.pools)
 * @param {TableOptions} options
 */
export function poolsTable(items, options) {
  const { host, perms, store, expanded, onToggle } = options;
  if (items.length === 0) {
    return h("p", { class: "empty", dataset: { testid: "pools-empty" }, text: `${host} has no storage pools.` });
  }
  const rows = items.map(poolRow);
  const bars = rows.map((row) => landscapeActionBar(row, { kind: "pools", host, perms, busyId: rowBusy("pools", row.name, options), store }));
  const withActions = bars.some(Boolean);
  return table(
    { kind: "pools", prefix: "pool", caption: `Storage pools on ${host}`, headers: ["Name", "Type", "Path", ["Usage", "landscape-usage-col"], "State"] },
    rows.map((row, i) => {
      const pool = items[i];
      const busyId = rowBusy("pools", row.name, options);
      return {
        name: row.name,
        details: () => poolDetails(row),
        row: h(
          "tr",
          {
            class: [busyId && "is-busy", !row.active && "is-inactive"],
            "aria-busy": busyId ? "true" : null,
            dataset: { testid: `pool-row-${row.name}`, pool: row.name, active: String(row.active), managed: String(row.managed) },
          },
          nameCell("pool", row, expanded.has(row.name), `pool-details-${row.name}`, plural(row.volumes.length, "volume"), onToggle),
          h("td", { "data-label": "Type", dataset: { type: row.type }, text: row.typeLabel }),
          h("td", { class: "mono", "data-label": "Path", text: row.path }),
          h(
            "td",
            { class: "landscape-usage", "data-label": "Usage" },
            row.sized
              ? [
                  meter("Allocated", pool.allocation, pool.capacity, () => `${row.allocation} of ${row.capacity}`),
                  h("span", { class: "muted small landscape-sub-line", dataset: { testid: "pool-available" }, text: `${row.available} available` }),
                ]
              : h("span", { class: "muted small", text: "Not known while the pool is inactive." }),
          ),
          stateCell(row.state, row.startNote),
          withActions && h("td", { class: "actions-cell", "data-label": "Actions" }, bars[i]),
        ),
      };
    }),
    options,
    withActions,
  );
}

/**
 * A host that did not answer: its error's sentence, not an empty table.
 * @param {string} host
 * @param {{message: string}} error
 * @param {string} what  "networks", "storage pools"
 */
export function unreachableHost(host, error, what) {
  return h(
    "div",
    { class: ["card", "landscape-unreachable"], dataset: { testid: "landscape-unreachable", host } },
    h(
      "p",
      { class: "landscape-unreachable-head" },
      h("span", { class: ["pill", "tone-danger"] }, h("span", { class: "dot", "aria-hidden": "true" }), "Unreachable"),
      h("strong", { text: `${host} did not answer.` }),
    ),
    h("p", { class: "landscape-reason", dataset: { testid: "landscape-unreachable-reason" }, text: error.message || "The host did not say why." }),
    h("p", { class: "muted small", text: `Its ${what} are not listed until it answers again.` }),
  );
}
