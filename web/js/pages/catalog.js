// @ts-check
// The catalog pages (#/catalog, #/catalog/<kind>): the six kinds of the provisioning catalog
// as tabs, each a table of its entries; admins create, edit and delete them. The catalog is
// read when the page mounts (and each kind again after a change); the store's catalog slice
// holds it.

import { loadCatalog } from "../components/catalog-data.js";
import { catalogTable, newEntryButton } from "../components/catalog-table.js";
import { notify } from "../components/notices.js";
import { KINDS, kindSpec } from "../catalog.js";
import { h, render } from "../dom.js";
import { Page } from "./page.js";

export class CatalogPage extends Page {
  /**
   * @param {HTMLElement} container
   * @param {Record<string, string>} params  {kind}: one of the six kinds; none for the summary
   */
  mount(container, params) {
    this.own(mountCatalog(container, this.context, params.kind ?? null));
  }
}

/**
 * The tabs: one link per kind, with its number of entries once known.
 * @param {string | null} current
 * @param {any} catalog
 */
function tabs(current, catalog) {
  return h(
    "nav",
    { class: "catalog-tabs", "aria-label": "Catalog" },
    KINDS.map((kind) => {
      const count = catalog?.[kind.id] ? Object.keys(catalog[kind.id]).length : null;
      return h(
        "a",
        {
          href: `#/catalog/${kind.id}`,
          class: "catalog-tab",
          "aria-current": kind.id === current ? "page" : null,
          dataset: { testid: `catalog-tab-${kind.id}` },
        },
        kind.label,
        count !== null && h("span", { class: "tab-count", text: String(count) }),
      );
    }),
  );
}

/** The summary at #/catalog: what each kind is and how many entries it has. @param {any} catalog */
function summary(catalog) {
  return h(
    "div",
    { class: "catalog-kinds" },
    KINDS.map((kind) =>
      h(
        "a",
        { class: ["card", "catalog-kind"], href: `#/catalog/${kind.id}`, dataset: { kind: kind.id } },
        h("h2", { text: kind.label }),
        h("p", { class: "muted", text: kind.about }),
        h("p", { class: "catalog-kind-count", text: `${Object.keys(catalog?.[kind.id] ?? {}).length} in the catalog` }),
      ),
    ),
  );
}

/**
 * @param {HTMLElement} container
 * @param {import("./page.js").PageContext} context
 * @param {string | null} kindId
 */
function mountCatalog(container, { store, session: maybeSession }, kindId) {
  const session = /** @type {import("../api.js").Session} */ (maybeSession); // the route is not public
  const kind = kindId === null ? null : kindSpec(kindId);
  /** @type {any} */
  let loadError = null;
  const body = h("div", { class: "catalog-body" });
  const tools = h("div", { class: "section-tools" });
  render(
    container,
    h(
      "div",
      { class: "page catalog-page", dataset: { kind: kindId } },
      h("div", { class: "page-head" }, h("h1", { text: kind ? `Catalog: ${kind.label}` : "Catalog" })),
      body,
    ),
  );

  /** @param {any} catalog */
  const show = (catalog) => {
    if (kindId !== null && !kind) {
      render(
        body,
        tabs(null, catalog),
        h("div", { class: ["card", "empty-state"], dataset: { testid: "catalog-unknown" } }, h("h2", { text: `The catalog has no part called ${kindId}` }), h("p", { text: "Choose one of the tabs above." })),
      );
      return;
    }
    if (!catalog) {
      render(
        body,
        tabs(kind?.id ?? null, null),
        loadError
          ? h(
              "div",
              { class: ["card", "empty-state"] },
              h("h2", { text: "Could not read the catalog" }),
              h("p", { text: loadError.message }),
              h("button", { type: "button", class: "btn btn-primary", text: "Try again", onclick: load }),
            )
          : h("div", { class: ["card", "empty-state", "is-loading"], "aria-busy": "true" }, h("span", { class: "spinner spinner-large", "aria-hidden": "true" }), h("p", { text: "Reading the catalog…" })),
      );
      return;
    }
    if (!kind) {
      render(body, tabs(null, catalog), summary(catalog));
      return;
    }
    render(tools, newEntryButton(kind, { perms: session.perms, store }));
    render(
      body,
      tabs(kind.id, catalog),
      h(
        "section",
        { class: "section", "aria-labelledby": "catalog-kind-heading" },
        h("div", { class: "section-head" }, h("div", {}, h("h2", { id: "catalog-kind-heading", text: kind.label }), h("p", { class: "muted small", text: kind.about })), tools),
        catalogTable(kind, catalog, { perms: session.perms, store }),
      ),
    );
  };

  function load() {
    loadError = null;
    if (!store.state.catalog) {
      show(null);
    }
    loadCatalog(store).catch((error) => {
      if (error?.status === 401) {
        return; // the app is taking the user to the login page
      }
      loadError = error;
      if (store.state.catalog) {
        notify(`Could not read the catalog again: ${error.message}`, { key: "catalog" });
      } else {
        show(null);
      }
    });
  }

  // Re-render when the catalog changes (not on every inventory event).
  /** @type {any} */
  let shown;
  const unsubscribe = store.subscribe((state) => {
    if (state.catalog !== shown) {
      shown = state.catalog;
      show(shown);
    }
  });
  // Read afresh on every visit (another admin may have changed it); meanwhile the store's copy shows.
  load();
  return unsubscribe;
}
