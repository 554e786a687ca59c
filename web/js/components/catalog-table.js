// @ts-check
// One kind's entries as a table: the name and each field in words, and Edit and Delete for
// those who may change the catalog (admins).

import { entryNames, showValue } from "../catalog.js";
import { h } from "../dom.js";
import { mayRun } from "../perms.js";
import { confirmCatalogDelete, openCatalogForm } from "./catalog-form.js";

/**
 * @typedef {import("../catalog.js").KindSpec} KindSpec
 * @typedef {import("../store.js").Store} Store
 */

/**
 * "New profile", for those who may.
 * @param {Readonly<KindSpec>} kind
 * @param {{perms: unknown, store: Store}} options
 */
export function newEntryButton(kind, { perms, store }) {
  if (!mayRun(perms, "catalog_set", { kind: kind.id })) {
    return null;
  }
  return h("button", {
    type: "button",
    class: "btn btn-primary",
    "aria-haspopup": "dialog",
    dataset: { testid: "catalog-new" },
    text: `New ${kind.singular}`,
    onclick: () => openCatalogForm({ kind, entryName: null, store }),
  });
}

/**
 * The table of one kind's entries (or a sentence when there are none).
 * @param {Readonly<KindSpec>} kind
 * @param {any} catalog
 * @param {{perms: unknown, store: Store}} options
 */
export function catalogTable(kind, catalog, { perms, store }) {
  const names = entryNames(catalog, kind.id);
  if (names.length === 0) {
    return h("p", { class: "empty", dataset: { testid: `catalog-empty-${kind.id}` }, text: `There are no ${kind.label.toLowerCase()} in the catalog yet.` });
  }
  const mayEdit = mayRun(perms, "catalog_set", { kind: kind.id });
  const mayDelete = mayRun(perms, "catalog_delete", { kind: kind.id });
  const withActions = mayEdit || mayDelete;
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "catalog-table", dataset: { testid: `catalog-table-${kind.id}`, kind: kind.id } },
      h("caption", { class: "visually-hidden", text: kind.label }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col", text: "Name" }),
          kind.fields.map((field) => h("th", { scope: "col", class: [field.type === "number" && "num"], text: field.label })),
          withActions && h("th", { scope: "col", class: "actions-col", text: "Actions" }),
        ),
      ),
      h(
        "tbody",
        {},
        names.map((name) => {
          const entry = catalog[kind.id][name] ?? {};
          return h(
            "tr",
            { dataset: { entry: name } },
            h("th", { scope: "row", class: "entry-name", "data-label": "Name", text: name }),
            kind.fields.map((field) =>
              h("td", {
                class: [field.type === "number" && "num", field.type === "url" && "mono wide"],
                "data-label": field.label,
                dataset: { field: field.name },
                text: showValue(field, entry[field.name]),
              }),
            ),
            withActions &&
              h(
                "td",
                { class: "actions-cell", "data-label": "Actions" },
                h(
                  "div",
                  { class: "actions", role: "group", "aria-label": `Actions for ${kind.singular} ${name}`, dataset: { focusGroup: `${kind.id}:${name}` } },
                  mayEdit &&
                    h("button", {
                      type: "button",
                      class: "btn btn-sm",
                      "aria-label": `Edit ${kind.singular} ${name}`,
                      "aria-haspopup": "dialog",
                      dataset: { testid: "catalog-edit", focusKey: `${kind.id}:${name}:edit` },
                      text: "Edit",
                      onclick: () => openCatalogForm({ kind, entryName: name, store }),
                    }),
                  mayDelete &&
                    h("button", {
                      type: "button",
                      class: "btn btn-sm btn-danger-quiet",
                      "aria-label": `Delete ${kind.singular} ${name}`,
                      "aria-haspopup": "dialog",
                      dataset: { testid: "catalog-delete", focusKey: `${kind.id}:${name}:delete` },
                      text: "Delete",
                      onclick: () => confirmCatalogDelete({ kind, entryName: name, store }),
                    }),
                ),
              ),
          );
        }),
      ),
    ),
  );
}
