// @ts-check
// Installs as the SPA follows them (docs/provisioning.md, The install): a VM record's
// `install` ({state: "installing"|"failed", progress, step, reason}, null when none), the
// brine/vm/<host>/<vm>/install events that change it ({host, name, state: "installing"|
// "running"|"failed", progress, step, reason}), and the records of failed installs whose domain
// is gone (provision.installs). Pure functions over plain data, no DOM.

/**
 * @typedef {{state: "installing" | "failed", progress: number | null, step: string | null, reason: string | null}} Install
 * @typedef {{host: string, name: string, state: string, reason: string | null, at: number | null,
 *   progress?: number | null, step?: string | null}} InstallRecord
 */

/** A percentage 0..100 (rounded), or null. @param {unknown} value */
export function percent(value) {
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof number === "number" && Number.isFinite(number) ? Math.min(100, Math.max(0, Math.round(number))) : null;
}

/** @param {unknown} value */
const textOrNull = (value) => (typeof value === "string" && value !== "" ? value : null);

/**
 * A VM's install, when it has one the UI shows (installing or failed); null otherwise.
 * @param {any} vm
 * @returns {Install | null}
 */
export function installOf(vm) {
  const install = vm?.install;
  if (!install || (install.state !== "installing" && install.state !== "failed")) {
    return null;
  }
  return {
    state: install.state,
    progress: percent(install.progress),
    step: textOrNull(install.step),
    reason: textOrNull(install.reason),
  };
}

/**
 * How an install reads: the badge's label and tone, and the detail beside it
 * ("Installing 40%" · "Installing packages"; "Install failed" · the reason).
 * @param {Install} install
 * @returns {{label: string, tone: string, detail: string | null}}
 */
export function installLabel(install) {
  if (install.state === "failed") {
    return { label: "Install failed", tone: "danger", detail: install.reason };
  }
  const progress = install.progress === null ? "" : ` ${install.progress}%`;
  return { label: `Installing${progress}`, tone: "info", detail: install.step };
}

/**
 * The install a VM dict from a state event or an inventory carries, kept continuous with the
 * one the picture had: a dict without `install` (a host that does not say) keeps the old one,
 * and a host's "installing" without progress keeps the progress events already gave.
 * @param {any} previous  the VM's old install (or undefined)
 * @param {any} vm        the new VM dict
 * @returns {any}  undefined when neither says anything
 */
export function mergeInstall(previous, vm) {
  if (!vm || typeof vm !== "object" || !("install" in vm)) {
    return previous;
  }
  const next = vm.install;
  if (next?.state === "installing" && previous?.state === "installing") {
    return {
      ...next,
      progress: next.progress ?? previous.progress ?? null,
      step: next.step ?? previous.step ?? null,
    };
  }
  return next ?? null;
}

/**
 * The install after one install event, from the one before (null: no install).
 * @param {Install | null | undefined} previous
 * @param {any} data  the event's payload
 * @returns {Install | null | undefined}  undefined: the event changes nothing (unknown state)
 */
export function nextInstall(previous, data) {
  const before = previous?.state === "installing" || previous?.state === "failed" ? previous : null;
  switch (data?.state) {
    case "installing":
      return {
        state: "installing",
        progress: percent(data.progress) ?? (before?.state === "installing" ? before.progress : null),
        step: textOrNull(data.step) ?? (before?.state === "installing" ? before.step : null),
        reason: null,
      };
    case "failed":
      return {
        state: "failed",
        progress: percent(data.progress) ?? before?.progress ?? null,
        step: textOrNull(data.step) ?? before?.step ?? null,
        reason: textOrNull(data.reason),
      };
    case "running":
      return null;
    default:
      return undefined;
  }
}

/**
 * Apply one brine/vm/<host>/<vm>/install event to an inventory: the VM's `install` is set
 * (installing, failed) or cleared (running). Returns the same object when nothing changes:
 * an unknown host or VM (the VM's own state event, or the next refresh, brings it).
 * @param {any} inventory
 * @param {{host: string, vm: string}} about
 * @param {any} data
 */
export function applyInstallEvent(inventory, { host, vm: vmName }, data) {
  if (!inventory || !Array.isArray(inventory.hosts)) {
    return inventory;
  }
  const name = data?.name ?? vmName;
  const hostName = data?.host ?? host;
  const index = inventory.hosts.findIndex((entry) => entry.name === hostName && entry.reachable);
  if (index === -1) {
    return inventory;
  }
  const vms = inventory.hosts[index].vms ?? [];
  const position = vms.findIndex((entry) => entry.name === name);
  if (position === -1) {
    return inventory;
  }
  const install = nextInstall(vms[position].install, data);
  if (install === undefined || sameInstall(install, vms[position].install)) {
    return inventory;
  }
  const hosts = [...inventory.hosts];
  hosts[index] = { ...hosts[index], vms: vms.map((vm, j) => (j === position ? { ...vm, install } : vm)) };
  // An install holds no more CPUs or memory than the domain's state says: no totals change.
  return { ...inventory, hosts };
}

/** @param {any} a @param {any} b */
function sameInstall(a, b) {
  if (!a || !b) {
    return (a ?? null) === (b ?? null);
  }
  return a.state === b.state && a.progress === b.progress && a.step === b.step && a.reason === b.reason;
}

// ---- the records of installs (provision.installs), for failed ones whose VM is gone ----

/**
 * provision.installs' answer as a list of records (null when there is none to read).
 * @param {any} answer  {installs: [{host, name, state, reason, at}]}
 * @returns {InstallRecord[] | null}
 */
export function installRecords(answer) {
  if (!answer || !Array.isArray(answer.installs)) {
    return null;
  }
  return answer.installs
    .filter((entry) => entry && typeof entry.host === "string" && typeof entry.name === "string")
    .map((entry) => ({
      host: entry.host,
      name: entry.name,
      state: String(entry.state ?? "failed"),
      reason: textOrNull(entry.reason),
      at: typeof entry.at === "number" ? entry.at : null,
      progress: percent(entry.progress),
      step: textOrNull(entry.step),
    }));
}

/**
 * @typedef {{type: "event", data: any, at: number}
 *   | {type: "dismissed", host: string, name: string}} InstallsAction
 */

/**
 * The one reducer of install records: an install event adds or updates its VM's record
 * (installing, failed) or removes it (running); a dismissal removes it.
 * @param {readonly InstallRecord[] | null} records
 * @param {InstallsAction} action
 * @returns {readonly InstallRecord[] | null}
 */
export function reduceInstalls(records, action) {
  const list = records ?? [];
  if (action.type === "dismissed") {
    const kept = list.filter((entry) => !(entry.host === action.host && entry.name === action.name));
    return kept.length === list.length ? records : Object.freeze(kept);
  }
  if (action.type !== "event") {
    return records;
  }
  const { data } = action;
  if (typeof data?.host !== "string" || typeof data?.name !== "string") {
    return records;
  }
  const others = list.filter((entry) => !(entry.host === data.host && entry.name === data.name));
  const current = list.find((entry) => entry.host === data.host && entry.name === data.name);
  if (data.state === "running") {
    return current ? Object.freeze(others) : records;
  }
  const before = current ? { state: current.state, progress: current.progress ?? null, step: current.step ?? null, reason: current.reason } : null;
  const install = nextInstall(/** @type {any} */ (before), data);
  if (!install) {
    return records;
  }
  /** @type {InstallRecord} */
  const record = { host: data.host, name: data.name, ...install, at: current?.state === install.state ? current.at : action.at };
  return Object.freeze([...others, record]);
}

/**
 * The install records whose VM the inventory does not show on that host (a failed install
 * whose domain was removed, or one the inventory has not caught up with), sorted by name.
 * @param {readonly InstallRecord[] | null} records
 * @param {any} inventory
 * @returns {InstallRecord[]}
 */
export function orphanInstalls(records, inventory) {
  const shown = new Set();
  for (const host of inventory?.hosts ?? []) {
    for (const vm of host.vms ?? []) {
      shown.add(`${host.name}\u0000${vm.name}`);
    }
  }
  return (records ?? [])
    .filter((entry) => !shown.has(`${entry.host}\u0000${entry.name}`))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}
