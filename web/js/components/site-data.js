// @ts-check
// Reading the site's networks and pools (site.networks, site.pools) for the site slice, and
// keeping its stale parts fresh while signed in. Nothing else calls these runner functions.

import * as api from "../api.js";
import { mayRun } from "../perms.js";
import { followSite } from "../slices/site.js";

/**
 * A loader of one kind: every host's (or one host's) answer, or null where the user's role may
 * not ask (salt-api answers a call outside the ACL with 401, which would sign the user out).
 * @param {"site_networks" | "site_pools"} id
 * @param {{call: typeof api.call, getSession: typeof api.getSession}} [client]
 * @returns {import("../slices/site.js").SiteLoader}
 */
export function siteLoader(id, { call, getSession } = api) {
  return async (host) => {
    const session = getSession();
    const args = host === undefined ? {} : { host };
    if (!session || !mayRun(session.perms, id, args)) {
      return null;
    }
    return call(id, args);
  };
}

/** The loaders the app's store is made with. */
export const siteLoaders = () => ({ loadNetworks: siteLoader("site_networks"), loadPools: siteLoader("site_pools") });

/**
 * Refetch stale hosts while signed in (slices/site.js followSite). Returns the function that stops it.
 * @param {import("../store.js").Store} store
 */
export function followSiteLive(store) {
  return followSite(store, siteLoaders());
}
