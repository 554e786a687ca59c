// @ts-check
// The resources of the SPA's picture, registered with the store. A new resource (networks,
// containers, ...) is a new slice module listed here.

import { createStore } from "../store.js";
import { inventorySlice } from "./inventory.js";
import { migrationsSlice } from "./migrations.js";

/**
 * The app's slices.
 * @param {{loadInventory: () => Promise<any>}} deps
 * @returns {import("../store.js").Slice[]}
 */
export function appSlices({ loadInventory }) {
  return [inventorySlice({ load: loadInventory }), migrationsSlice];
}

/**
 * The store with the app's slices.
 * @param {{loadInventory: () => Promise<any>, now?: () => number}} deps
 */
export function createAppStore({ loadInventory, now }) {
  return createStore({ slices: appSlices({ loadInventory }), now });
}
