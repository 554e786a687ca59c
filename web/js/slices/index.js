// @ts-check
// The resources of the SPA's picture, registered with the store. A new resource (networks,
// containers, ...) is a new slice module listed here.

import { createStore } from "../store.js";
import { catalogSlice } from "./catalog.js";
import { containerBusySlice, imagesSlice } from "./containers.js";
import { installsSlice } from "./installs.js";
import { inventorySlice } from "./inventory.js";
import { migrationsSlice } from "./migrations.js";
import { landscapeBusySlice, landscapeSlice } from "./landscape.js";

/**
 * @typedef {object} SliceDeps
 * @property {() => Promise<any>} loadInventory  cluster.inventory
 * @property {() => Promise<any>} [loadInstalls]  provision.installs, or null where the user may not ask
 * @property {import("./landscape.js").LandscapeLoader} [loadNetworks]  landscape.networks, or null where the user may not ask
 * @property {import("./landscape.js").LandscapeLoader} [loadPools]  landscape.pools, or null where the user may not ask
 */

/**
 * The app's slices.
 * @param {SliceDeps} deps
 * @returns {import("../store.js").Slice[]}
 */
export function appSlices({ loadInventory, loadInstalls = async () => null, loadNetworks, loadPools }) {
  return [
    inventorySlice({ load: loadInventory }),
    migrationsSlice,
    installsSlice({ load: loadInstalls }),
    catalogSlice,
    landscapeSlice({ loadNetworks, loadPools }),
    landscapeBusySlice,
    imagesSlice,
    containerBusySlice,
  ];
}

/**
 * The store with the app's slices.
 * @param {SliceDeps & {now?: () => number}} deps
 */
export function createAppStore({ now, ...deps }) {
  return createStore({ slices: appSlices(deps), now });
}
