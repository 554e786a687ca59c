// @ts-check
// Containers and local images as tables (containers.js says what a row shows), and the words
// for a host that shows no containers because of its engine.
//
// data-testid (for the end-to-end tests): containers-table, container-row-<name> (with
// data-container, data-host, data-state, data-managed), container-state (the badge, with
// data-state), container-status (Docker's words), container-ports, container-port (one each),
// container-created, container-host (a link to the host's page), container-managed-badge;
// the buttons are container-actions.js's; containers-empty; container-engine (one host's page
// without a table: data-engine "none", "down", "unreachable", "unknown") with
// container-engine-reason; container-host-notes with container-host-note-<host> (data-engine)
// on the cluster page; images-table, image-row-<id> (data-image: its reference),
// image-hosts-<id> with image-host-<host>, images-empty; images-host-note-<host>.

import { containerKey, containerRow, containersHref, engineSentence, imageRow } from "../containers.js";
import { h } from "../dom.js";
import { containerActionBar } from "./container-actions.js";

/**
 * @typedef {import("../store.js").Store} Store
 * @typedef {object} ContainerTableOptions
 * @property {unknown} perms
 * @property {Readonly<Record<string, string>>} busy   the containerBusy slice
 * @property {Store} store
 * @property {boolean} [withHost]   a Host column (the cluster's table)
 * @property {number} [now]         unix seconds ("created 5 min ago")
 * @property {string} [host]        the host of a host's table (for its empty sentence)
 */

/** "as code": the pillar's containers keep it as described (highstate). */
function managedBadge() {
  return h("span", {
    class: ["badge", "tone-info", "code-badge"],
    title: "Kept as the pillar's containers describe it (highstate)",
    dataset: { testid: "container-managed-badge" },
    text: "as code",
  });
}

/**
 * An image reference that may break after each "/" (a long registry path wraps at its parts).
 * @param {string} text
 */
function breakable(text) {
  return text.split("/").flatMap((part, i, parts) => (i < parts.length - 1 ? [`${part}/`, h("wbr")] : [part]));
}

/** @param {string[]} ports */
function portsCell(ports) {
  if (ports.length === 0) {
    return h("td", { class: "muted", "data-label": "Ports", dataset: { testid: "container-ports" }, text: "—" });
  }
  return h(
    "td",
    { class: "container-ports", "data-label": "Ports", dataset: { testid: "container-ports" } },
    ports.map((port) => h("span", { class: "mono container-port", dataset: { testid: "container-port" }, text: port })),
  );
}

/**
 * Every container given, one row each (a host's, or the cluster's with a Host column).
 * @param {readonly any[]} items   container dicts, each with `host`
 * @param {ContainerTableOptions} options
 */
export function containersTable(items, { perms, busy, store, withHost = false, now = Date.now() / 1000, host }) {
  if (items.length === 0) {
    return h("p", {
      class: "empty",
      dataset: { testid: "containers-empty" },
      text: host ? `${host} runs no containers, and has none stopped.` : "No containers on the hosts whose Docker engine answered.",
    });
  }
  const rows = items.map((item) => containerRow(item, now));
  const bars = rows.map((row) => containerActionBar(row, { perms, busyId: busy[containerKey(row.host, row.name)] ?? null, store }));
  const withActions = bars.some(Boolean);
  const headers = ["Name", "Image", "State", "Ports", "Created", ...(withHost ? ["Host"] : [])];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "containers-table", dataset: { testid: "containers-table" } },
      h("caption", { class: "visually-hidden", text: host ? `Containers on ${host}` : "Containers on the hosts" }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((header) => h("th", { scope: "col", class: `col-${header.toLowerCase()}`, text: header })),
          withActions && h("th", { scope: "col", class: "actions-col", text: "Actions" }),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((row, i) => {
          const busyId = busy[containerKey(row.host, row.name)] ?? null;
          return h(
            "tr",
            {
              class: [busyId && "is-busy", !["running", "restarting"].includes(row.state) && "is-inactive"],
              "aria-busy": busyId ? "true" : null,
              dataset: { testid: `container-row-${row.name}`, container: row.name, host: row.host, state: row.state, managed: String(row.managed) },
            },
            h(
              "th",
              { scope: "row", class: "container-name", "data-label": "Name" },
              h("span", { class: "container-name-text", title: row.id ? `ID ${row.id}` : null, text: row.name }),
              row.managed && managedBadge(),
              row.restart && h("span", { class: "muted small container-sub-line", text: `restart: ${row.restart}` }),
            ),
            h("td", { class: "mono container-image", "data-label": "Image", title: row.image }, breakable(row.image)),
            h(
              "td",
              { "data-label": "State" },
              h(
                "span",
                { class: ["badge", `tone-${row.stateInfo.tone}`], dataset: { testid: "container-state", state: row.state } },
                h("span", { class: "dot", "aria-hidden": "true" }),
                row.stateInfo.label,
              ),
              row.status && h("span", { class: "muted small container-sub-line", dataset: { testid: "container-status" }, text: row.status }),
            ),
            portsCell(row.ports),
            h("td", { "data-label": "Created", title: row.createdAt || null, dataset: { testid: "container-created" }, text: row.created }),
            withHost && h("td", { "data-label": "Host" }, h("a", { href: containersHref(row.host), dataset: { testid: "container-host" }, text: row.host })),
            withActions && h("td", { class: "actions-cell", "data-label": "Actions" }, bars[i]),
          );
        }),
      ),
    ),
  );
}

/**
 * One host's page without a table: why (no engine, an engine that does not answer, a host that
 * did not answer), in words.
 * @param {string} host
 * @param {ReturnType<typeof import("../containers.js").engineOf>} engine
 */
export function engineNotice(host, engine) {
  const heads = {
    none: ["No engine", "tone-off", `Brine found no Docker socket on ${host} at its configured address (docker.url), so it runs no containers.`],
    down: ["Engine down", "tone-danger", "Its containers are not listed until the engine answers again."],
    unreachable: ["Unreachable", "tone-danger", "Its containers are not listed until it answers again."],
    unknown: ["Not known", "tone-warn", "Sync the host's modules (saltutil.sync_all) and refresh."],
  };
  const [pill, tone, after] = heads[/** @type {keyof typeof heads} */ (engine.status)] ?? heads.unknown;
  return h(
    "div",
    { class: ["card", "container-engine", `is-${engine.status}`], dataset: { testid: "container-engine", engine: engine.status, host } },
    h(
      "p",
      { class: "container-engine-head" },
      h("span", { class: ["pill", tone] }, h("span", { class: "dot", "aria-hidden": "true" }), pill),
      h("strong", { dataset: { testid: "container-engine-reason" }, text: engineSentence(host, engine) ?? "" }),
    ),
    h("p", { class: "muted small", text: after }),
  );
}

/**
 * The cluster page's notes: each host that shows no containers, and why.
 * @param {{host: string, status: string, sentence: string}[]} notes
 */
export function hostNotes(notes) {
  if (notes.length === 0) {
    return null;
  }
  return h(
    "ul",
    { class: "container-host-notes", dataset: { testid: "container-host-notes" } },
    notes.map((note) =>
      h(
        "li",
        { class: [`is-${note.status}`], dataset: { testid: `container-host-note-${note.host}`, engine: note.status, host: note.host } },
        note.sentence,
      ),
    ),
  );
}

/**
 * The local images across hosts, each with the hosts that have it.
 * @param {readonly any[]} images   imagesPicture's
 * @param {{now?: number}} [options]
 */
export function imagesTable(images, { now = Date.now() / 1000 } = {}) {
  if (images.length === 0) {
    return h("p", { class: "empty", dataset: { testid: "images-empty" }, text: "No local images on the hosts that answered." });
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "images-table", dataset: { testid: "images-table" } },
      h("caption", { class: "visually-hidden", text: "Local images on the hosts" }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Image", "ID", "Created", "Size", "Hosts"].map((header) => h("th", { scope: "col", class: [`col-${header.toLowerCase()}`, header === "Size" && "num"], text: header })),
        ),
      ),
      h(
        "tbody",
        {},
        images.map((image) => {
          const row = imageRow(image, now);
          return h(
            "tr",
            { dataset: { testid: `image-row-${row.id}`, image: row.ref } },
            h(
              "th",
              { scope: "row", class: "image-ref", "data-label": "Image" },
              h("span", { class: "mono" }, breakable(row.ref)),
              row.otherTags.map((tag) => h("span", { class: "mono muted small container-sub-line", text: tag })),
            ),
            h("td", { class: "mono", "data-label": "ID", text: row.id }),
            h("td", { "data-label": "Created", title: row.createdAt || null, text: row.created }),
            h("td", { class: "num", "data-label": "Size", text: row.size }),
            h(
              "td",
              { "data-label": "Hosts", dataset: { testid: `image-hosts-${row.id}` } },
              h(
                "div",
                { class: "image-hosts" },
                row.hosts.map((host) => h("a", { href: containersHref(host), class: "host-chip", dataset: { testid: `image-host-${host}` }, text: host })),
              ),
            ),
          );
        }),
      ),
    ),
  );
}
