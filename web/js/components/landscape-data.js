// @ts-check
// Reading the landscape's networks and pools (landscape.networks, landscape.pools) for the landscape slice, and
// keeping its stale parts fresh while signed in. Nothing else calls these runner functions.

import * as api from "../api.js";
import { mayRun } from "../perms.js";
import { followLandscape } from "../slices/landscape.js";

/**
 * A loader of one kind: every host's (or one host's) answer, or null where the user's role may
 * not ask (salt-api answers a call outside the ACL with 401, which would sign the user out).
 * @param {"landscape_networks" | "landscape_pools"} id
 * @param {{call: typeof api.call, getSession: typeof api.getSession}} [client]
 * @returns {import("../slices/landscape.js").LandscapeLoader}
 */
export function landscapeLoader(id, { call, getSession } = api) {
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
export const landscapeLoaders = () => ({ loadNetworks: landscapeLoader("landscape_networks"), loadPools: landscapeLoader("landscape_pools") });

/**
 * Refetch stale hosts while signed in (slices/landscape.js followLandscape). Returns the function that stops it.
 * @param {import("../store.js").Store} store
 */
export function followLandscapeLive(store) {
  return followLandscape(store, landscapeLoaders());
}
