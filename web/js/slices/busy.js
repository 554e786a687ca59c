// @ts-check
// A slice of the actions under way on one kind of object (networks and pools, containers):
// key -> the call's id. A refresh of the data must not forget them, so they live apart from it.

/**
 * The slice `name`: {type: "busy", key, id} marks `key` busy with call `id`; any other action
 * with that key (an "idle") clears it. Unchanged state is returned as it was (no re-render).
 * @param {string} name
 * @returns {import("../store.js").Slice}
 */
export function busySlice(name) {
  return Object.freeze({
    name,
    initial: Object.freeze({}),
    reduce: (busy, action) => {
      const { key, id = null } = /** @type {{key?: string, id?: string | null}} */ (action);
      if (typeof key !== "string" || (busy[key] ?? null) === (action.type === "busy" ? id : null)) {
        return busy;
      }
      const next = { ...busy };
      if (action.type === "busy" && id) {
        next[key] = id;
      } else {
        delete next[key];
      }
      return Object.freeze(next);
    },
  });
}
