// @ts-check
// The installs slice: the records of installs the master keeps (provision.installs), above all
// failed ones whose domain was removed, which no VM in the inventory stands for. Kept fresh by
// brine/vm/<host>/<vm>/install events; Dismiss (provision.dismiss) removes one. The reducer is
// installs.js's reduceInstalls, the one writer of these records.

import { installRecords, reduceInstalls } from "../installs.js";

/**
 * @param {{load: () => Promise<any>, now?: () => number}} deps
 *   load: resolves to provision.installs' answer ({installs: [...]}), or null where the user may
 *   not ask or the master could not say (then the slice is null: nothing known);
 *   now: unix seconds, the time of a failure the SPA saw happen
 * @returns {import("../store.js").Slice}
 */
export function installsSlice({ load, now = () => Date.now() / 1000 }) {
  return {
    name: "installs",
    initial: null,
    load: () => load().then((answer) => {
      const records = installRecords(answer);
      return records === null ? null : Object.freeze(records);
    }),
    applyEvent: (records, event) => {
      if (event.about.kind !== "vm-install") {
        return records;
      }
      const about = /** @type {{host: string, vm: string}} */ (event.about);
      const data = { ...event.data, host: event.data?.host ?? about.host, name: event.data?.name ?? about.vm };
      return reduceInstalls(records, { type: "event", data, at: now() });
    },
    reduce: (records, action) => reduceInstalls(records, /** @type {import("../installs.js").InstallsAction} */ (action)),
  };
}
