// @ts-check
// The catalog slice: the provisioning catalog ({kind: {name: fields}}, provision.catalog) as
// the catalog pages and the Create VM dialog last read it; null until one of them asks. It is
// not fetched on every refresh (no event changes it): the pages load it, and every change they
// make is followed by a fresh read of that kind. Pure.

/**
 * @typedef {Readonly<Record<string, Readonly<Record<string, any>>>>} Catalog
 * @typedef {{type: "loaded", catalog: any}
 *   | {type: "set", kind: string, name: string, fields: Record<string, unknown>}
 *   | {type: "deleted", kind: string, name: string}} CatalogAction
 */

/**
 * The one reducer of the catalog's picture.
 *   loaded   provision.catalog's answer: the kinds in it replace those kinds
 *   set      one entry created or replaced
 *   deleted  one entry gone
 * @param {Catalog | null} catalog
 * @param {CatalogAction} action
 * @returns {Catalog | null}
 */
export function reduceCatalog(catalog, action) {
  switch (action.type) {
    case "loaded": {
      if (!action.catalog || typeof action.catalog !== "object" || Array.isArray(action.catalog)) {
        return catalog;
      }
      /** @type {Record<string, Readonly<Record<string, any>>>} */
      const kinds = {};
      for (const [kind, entries] of Object.entries(action.catalog)) {
        kinds[kind] = Object.freeze(entries && typeof entries === "object" ? { ...entries } : {});
      }
      return Object.freeze({ ...(catalog ?? {}), ...kinds });
    }
    case "set":
      return Object.freeze({
        ...(catalog ?? {}),
        [action.kind]: Object.freeze({ ...(catalog?.[action.kind] ?? {}), [action.name]: action.fields }),
      });
    case "deleted": {
      if (!catalog?.[action.kind] || !Object.hasOwn(catalog[action.kind], action.name)) {
        return catalog;
      }
      const entries = { ...catalog[action.kind] };
      delete entries[action.name];
      return Object.freeze({ ...catalog, [action.kind]: Object.freeze(entries) });
    }
    default:
      return catalog;
  }
}

/** @type {import("../store.js").Slice} */
export const catalogSlice = Object.freeze({
  name: "catalog",
  initial: null,
  reduce: (catalog, action) => reduceCatalog(catalog, /** @type {CatalogAction} */ (action)),
});
