// @ts-check
// Reading the catalog into the store (the catalog slice) and the kickstart templates' names:
// the catalog pages and Create VM both ask here. Nothing else calls provision.catalog.

import { call } from "../api.js";

/**
 * @typedef {import("../store.js").Store} Store
 */

/**
 * Read the catalog (one kind, or all) into the store. Resolves to the store's catalog.
 * @param {Store} store
 * @param {string} [kind]
 */
export async function loadCatalog(store, kind) {
  const answer = await call("catalog", kind === undefined ? {} : { kind });
  store.dispatch("catalog", { type: "loaded", catalog: answer });
  return store.state.catalog;
}

/**
 * The names in an answer that is a list, or an object holding one ({kickstarts: [...]}).
 * @param {unknown} answer
 * @returns {string[]}
 */
export function namesIn(answer) {
  const list = Array.isArray(answer)
    ? answer
    : answer && typeof answer === "object"
      ? Object.values(answer).find(Array.isArray) ?? []
      : [];
  return list.filter((name) => typeof name === "string");
}

/** @type {Promise<string[]> | null} */
let kickstarts = null;

/**
 * The kickstart templates the project ships (provision.kickstarts), asked once per page load:
 * they change only with Brine itself.
 * @returns {Promise<string[]>}
 */
export function loadKickstarts() {
  kickstarts ??= call("kickstarts").then(namesIn, (error) => {
    kickstarts = null; // ask again next time
    throw error;
  });
  return kickstarts;
}

/**
 * Every host of the inventory, reachable or not, by name (placement choices).
 * @param {any} inventory
 * @returns {string[]}
 */
export function hostNames(inventory) {
  return (inventory?.hosts ?? []).map((host) => String(host.name)).sort();
}

/**
 * The networks and pools the catalog's host groups and the inventory's VMs already use, as
 * suggestions for those fields.
 * @param {any} catalog
 * @param {any} inventory
 */
export function knownPlaces(catalog, inventory) {
  const groups = Object.values(catalog?.host_groups ?? {});
  const networks = groups.map((group) => group?.network);
  for (const host of inventory?.hosts ?? []) {
    for (const vm of host.vms ?? []) {
      for (const nic of vm.nics ?? []) {
        networks.push(nic.network);
      }
    }
  }
  const strings = (/** @type {unknown[]} */ values) => [...new Set(values.filter((value) => typeof value === "string" && value !== ""))];
  return { networks: /** @type {string[]} */ (strings(networks)), pools: /** @type {string[]} */ (strings(groups.map((group) => group?.pool))) };
}
