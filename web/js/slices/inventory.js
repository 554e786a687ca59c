// @ts-check
// The inventory slice: every host with its facts and VMs (cluster.inventory), kept fresh by
// brine/vm/.../state events and a VM's install by brine/vm/.../install events; a host's resync
// or disconnect refetches it (there is no per-host call, and one fan-out is cheap). Each host's
// Docker engine and containers are in it too (docs/containers.md): a
// brine/container/<host>/<name>/state event carries the container's dict (null when removed)
// and changes its row in place; an action's answer does the same through reduce.

import { applyContainerEvent, reduceInventoryContainers } from "../containers.js";
import { naturalCompare } from "../format.js";
import { applyInstallEvent } from "../installs.js";
import { applyVmStateEvent } from "../live.js";

/**
 * @param {{load: () => Promise<any>}} deps  load: resolves to the cluster.inventory result
 * @returns {import("../store.js").Slice}
 */
export function inventorySlice({ load }) {
  return {
    name: "inventory",
    initial: null,
    load,
    applyEvent: (inventory, event) => {
      const about = /** @type {any} */ (event.about);
      let next = inventory;
      if (about.kind === "vm-state") {
        next = applyVmStateEvent(inventory, about, event.data);
      } else if (about.kind === "vm-install") {
        next = applyInstallEvent(inventory, about, event.data);
      } else if (about.kind === "container-state") {
        next = applyContainerEvent(inventory, about, event.data);
      }
      return next === inventory ? inventory : Object.freeze(next);
    },
    refreshAfter: (event) => event.about.kind === "host",
    reduce: (inventory, action) => {
      const next = reduceInventoryContainers(inventory, action);
      return next === inventory ? inventory : Object.freeze(next);
    },
  };
}

/**
 * Every VM of every reachable host, each with its `host`, sorted by name.
 * @param {any} inventory
 */
export function allVms(inventory) {
  const vms = [];
  for (const host of inventory?.hosts ?? []) {
    for (const vm of host.vms ?? []) {
      vms.push({ ...vm, host: vm.host ?? host.name });
    }
  }
  return vms.sort((a, b) => naturalCompare(a.name, b.name));
}
