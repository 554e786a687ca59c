// @ts-check
// The migrations slice: the SPA's record of each VM's migration, and the one reducer that
// owns it. Brine's brine/migration/<id>/<phase> events, the app's own request, the runner
// call's answer, Abort and Dismiss all go through reduceMigrations; nothing else writes a
// record. Pure, no DOM.

/**
 * @typedef {{id?: string | null, vm: string, source?: string, target?: string, phase?: string,
 *   percent?: number | null, data_total?: number, data_processed?: number, data_remaining?: number,
 *   dirty_rate?: number, expected_downtime?: number, elapsed?: number, total_time?: number,
 *   downtime?: number, error?: string | null, aborted?: boolean, options?: any}} MigrationRecord
 * @typedef {Readonly<Record<string, MigrationRecord>>} Migrations
 * @typedef {{type: "event", about: {id: string, phase: string}, data: any}
 *   | {type: "requested", vm: string, source: string, target: string}
 *   | {type: "answered", vm: string, result: any}
 *   | {type: "refused", vm: string, error: string}
 *   | {type: "aborting", vm: string}
 *   | {type: "abort-refused", vm: string}
 *   | {type: "dismiss", vm: string}} MigrationAction
 */

const OVER = ["done", "failed"];
/** @param {MigrationRecord | undefined} record */
const isOver = (record) => OVER.includes(record?.phase ?? "");

/**
 * The SPA's record of one migration, keyed by VM name:
 * {id, vm, source, target, phase, percent, data_total, data_processed, data_remaining,
 *  dirty_rate, expected_downtime, elapsed, total_time, downtime, error, aborted, startedAt}
 * phase: "starting" (asked, no event yet), "running", "aborting", "done", "failed".
 * This is the event part of reduceMigrations.
 * @param {Migrations} migrations
 * @param {{id: string, phase: string}} about
 * @param {any} data
 * @returns {Migrations}
 */
export function applyMigrationEvent(migrations, { id, phase }, data) {
  const vm = data?.vm;
  if (typeof vm !== "string") {
    return migrations;
  }
  const current = migrations[vm];
  // Events of an older migration of the same VM (a previous attempt) are not this one's.
  if (current && current.id && current.id !== id && !isOver(current)) {
    return migrations;
  }
  if (current && current.id === id && isOver(current) && phase !== "done" && phase !== "failed") {
    return migrations; // a late progress event after the result
  }
  const base = current && (current.id === id || !current.id) ? current : { vm };
  /** @type {MigrationRecord} */
  const next = { ...base, id, vm, source: data.source ?? base.source, target: data.target ?? base.target };
  if (phase === "started") {
    next.phase = base.phase === "aborting" ? "aborting" : "running";
    next.options = data.options ?? base.options;
  } else if (phase === "progress") {
    next.phase = base.phase === "aborting" ? "aborting" : "running";
    for (const key of ["percent", "data_total", "data_processed", "data_remaining", "dirty_rate", "expected_downtime", "elapsed"]) {
      if (data[key] !== undefined) {
        next[key] = data[key];
      }
    }
  } else if (phase === "done") {
    next.phase = "done";
    next.percent = 100;
    next.total_time = data.total_time ?? base.total_time;
    next.downtime = data.downtime ?? base.downtime;
  } else if (phase === "failed") {
    next.phase = "failed";
    next.error = data.error ?? base.error;
    next.aborted = Boolean(data.aborted);
  } else {
    return migrations;
  }
  return { ...migrations, [vm]: next };
}

/** Is a migration of this record still under way (the UI shows progress and Abort)? @param {MigrationRecord | null | undefined} record */
export function migrationActive(record) {
  return Boolean(record) && ["starting", "running", "aborting"].includes(record?.phase ?? "");
}


/**
 * @param {Migrations} migrations
 * @param {string} vm
 * @param {Partial<MigrationRecord> | null} patch  null removes the record
 * @returns {Migrations}
 */
function patched(migrations, vm, patch) {
  const next = { ...migrations };
  if (patch === null) {
    delete next[vm];
  } else {
    next[vm] = { ...(next[vm] ?? { vm }), ...patch };
  }
  return Object.freeze(next);
}

/**
 * The one reducer of migration records.
 *   event          a brine/migration/<id>/<phase> event (applyMigrationEvent)
 *   requested      the app asked cluster.migrate: a fresh "starting" record
 *   answered       cluster.migrate answered: done, with its figures
 *   refused        cluster.migrate failed: failed, keeping an event's error (it says more)
 *   aborting       the app asked cluster.migration_abort
 *   abort-refused  the abort failed: an "aborting" record goes back to "running"
 *   dismiss        the user closed the card
 * @param {Migrations} migrations
 * @param {MigrationAction} action
 * @returns {Migrations}
 */
export function reduceMigrations(migrations, action) {
  const record = "vm" in action ? migrations[action.vm] : undefined;
  switch (action.type) {
    case "event": {
      const next = applyMigrationEvent(migrations, action.about, action.data);
      return next === migrations ? migrations : Object.freeze(next);
    }
    case "requested":
      return patched(migrations, action.vm, {
        id: null,
        vm: action.vm,
        source: action.source,
        target: action.target,
        phase: "starting",
        percent: null,
        error: null,
        aborted: false,
        total_time: undefined,
        downtime: undefined,
        elapsed: undefined,
        data_remaining: undefined,
        dirty_rate: undefined,
        expected_downtime: undefined,
      });
    case "answered":
      return patched(migrations, action.vm, {
        id: action.result?.id ?? record?.id ?? null,
        phase: "done",
        percent: 100,
        total_time: action.result?.total_time ?? record?.total_time,
        downtime: action.result?.downtime ?? record?.downtime,
      });
    case "refused":
      return patched(migrations, action.vm, {
        phase: "failed",
        error: record?.phase === "failed" && record.error ? record.error : action.error,
        aborted: Boolean(record?.aborted) || record?.phase === "aborting",
      });
    case "aborting":
      return patched(migrations, action.vm, { phase: "aborting" });
    case "abort-refused":
      return record?.phase === "aborting" ? patched(migrations, action.vm, { phase: "running" }) : migrations;
    case "dismiss":
      return record ? patched(migrations, action.vm, null) : migrations;
    default:
      return migrations;
  }
}

/** @type {import("../store.js").Slice} */
export const migrationsSlice = Object.freeze({
  name: "migrations",
  initial: Object.freeze({}),
  applyEvent: (migrations, event) =>
    event.about.kind === "migration"
      ? reduceMigrations(migrations, { type: "event", about: /** @type {any} */ (event.about), data: event.data })
      : migrations,
  // A migration's end changed memory and placement on both hosts: refetch.
  refreshAfter: (event, before, after) =>
    before !== after && event.about.kind === "migration" && OVER.includes(/** @type {any} */ (event.about).phase),
  reduce: (migrations, action) => reduceMigrations(migrations, /** @type {MigrationAction} */ (action)),
});
