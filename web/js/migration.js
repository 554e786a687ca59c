// @ts-check
// Live migration in the UI: who may, what a host's eligibility means for a drop, the options
// the confirmation dialog sends, and how progress and results read. Pure, no DOM.

import { parseErrorCode } from "./errors.js";
import { formatBytes, sentenceCase } from "./format.js";
import { LIMITS } from "./limits.js";
import { mayRun } from "./perms.js";
import { hasLiveMemory } from "./vocabulary.js";

/**
 * Does the VM's memory live in QEMU (running or paused), so it moves live? Anything else
 * moves offline (its definition only).
 * @param {string | null | undefined} state
 */
export function isActive(state) {
  return hasLiveMemory(state);
}

/**
 * Does the role see migration at all (drag handles, "Migrate to…")?
 * @param {unknown} perms @param {string} vmName
 */
export function mayMigrate(perms, vmName) {
  return mayRun(perms, "migrate", { name: vmName }) && mayRun(perms, "migration_targets", { name: vmName });
}

/** @param {unknown} perms @param {string} vmName */
export function mayAbort(perms, vmName) {
  return mayRun(perms, "migration_abort", { name: vmName });
}

/** ["a.", "b"] -> "a; b." : one sentence from several reasons. */
function joinReasons(reasons) {
  return `${reasons.map((reason) => String(reason).trim().replace(/\.$/, "")).join("; ")}.`;
}

const OFFER_WORDS = {
  offline: "an offline migration (the VM is not running: its definition moves)",
  copy_storage: "a copy of its disks",
};

/**
 * What a host means as a drop target during a drag of `vmName`, from the drag's
 * cluster.migration_targets answer (`targets`: null while it is on its way, an Error when it
 * failed). -> {status: "checking"|"eligible"|"offer"|"ineligible", reasons, offers, summary}
 * "offer": not as things are, but the runner offers options that may make it possible
 * (offline, copy_storage); a drop opens the confirmation with them chosen, and the runner
 * checks again with them, refusing with its reasons if something else still stands in the way.
 */
export function dropVerdict(targets, host, vmName) {
  if (targets === null || targets === undefined) {
    return {
      status: "checking",
      reasons: [],
      offers: [],
      summary: `Checking whether ${host} can take ${vmName}…`,
    };
  }
  if (targets instanceof Error) {
    const reason = `Brine could not check the hosts: ${targets.message}`;
    return { status: "ineligible", reasons: [reason], offers: [], summary: reason };
  }
  const entry = targets[host];
  if (!entry || typeof entry !== "object") {
    const reason = `The cluster did not say whether ${host} can take ${vmName}.`;
    return { status: "ineligible", reasons: [reason], offers: [], summary: reason };
  }
  const reasons = Array.isArray(entry.reasons) ? entry.reasons.map(String) : [];
  const offers = Array.isArray(entry.offers) ? entry.offers.map(String) : [];
  if (entry.eligible) {
    const notes = [];
    if (offers.includes("offline")) {
      notes.push("offline: the VM is not running, its definition moves");
    }
    if (offers.includes("copy_storage")) {
      notes.push("its disks are copied");
    }
    return {
      status: "eligible",
      reasons,
      offers,
      summary: `${host} can take ${vmName}${notes.length ? ` (${notes.join("; ")})` : ""}.`,
    };
  }
  const why = reasons.length > 0 ? reasons : ["The cluster refused it without a reason."];
  if (offers.length > 0) {
    const words = offers.map((offer) => OFFER_WORDS[offer] ?? offer).join(" and ");
    return {
      status: "offer",
      reasons: why,
      offers,
      summary: `${host} can take ${vmName} only with ${words}: ${joinReasons(why)}`,
    };
  }
  return {
    status: "ineligible",
    reasons: why,
    offers,
    summary: `${host} cannot take ${vmName}: ${joinReasons(why)}`,
  };
}

/**
 * The dialog's starting values for this VM and target.
 * @param {{state: string}} vm
 * @param {{offers: string[]}} [verdict]
 */
export function defaultOptions(vm, verdict = { offers: [] }) {
  const offline = !isActive(vm.state);
  return {
    live: !offline,
    offline: offline || verdict.offers.includes("offline"),
    copy_storage: verdict.offers.includes("copy_storage"),
    autoconverge: false,
    max_downtime: "",
    bandwidth: "",
  };
}

/**
 * A whole number from 1 to `maximum` typed in a field, checked on its digits (Number() would
 * round a long one silently), or {error}; empty is undefined (the default).
 */
function positiveInteger(text, label, unit, maximum) {
  const trimmed = String(text ?? "").trim();
  if (trimmed === "") {
    return { value: undefined };
  }
  if (!/^\d+$/.test(trimmed) || Number(trimmed) <= 0) {
    return { error: `${label} must be a whole number of ${unit} above 0, or empty for the default.` };
  }
  const digits = trimmed.replace(/^0+/, "");
  if (digits.length > String(maximum).length || Number(digits) > maximum) {
    return { error: `${label} must be at most ${maximum} ${unit}, or empty for the default.` };
  }
  return { value: Number(digits) };
}

/**
 * The dialog's fields -> cluster.migrate keyword arguments, or {error} with a sentence.
 * Empty numbers mean libvirt's defaults; an offline migration is never live.
 */
export function migrateKwargs(fields) {
  const downtime = positiveInteger(fields.max_downtime, "Maximum downtime", "milliseconds", LIMITS.max_downtime);
  if (downtime.error) {
    return { error: downtime.error };
  }
  const bandwidth = positiveInteger(fields.bandwidth, "Bandwidth", "MiB/s", LIMITS.bandwidth);
  if (bandwidth.error) {
    return { error: bandwidth.error };
  }
  const offline = Boolean(fields.offline);
  const kwargs = {
    live: offline ? false : Boolean(fields.live),
    copy_storage: Boolean(fields.copy_storage),
    autoconverge: Boolean(fields.autoconverge),
  };
  if (offline) {
    kwargs.offline = true;
  }
  if (downtime.value !== undefined) {
    kwargs.max_downtime = downtime.value;
  }
  if (bandwidth.value !== undefined) {
    kwargs.bandwidth = bandwidth.value;
  }
  return { kwargs };
}

function seconds(value) {
  const n = Number(value);
  return Number.isFinite(n) ? `${n < 10 ? n.toFixed(1) : Math.round(n)} s` : null;
}

function millis(value) {
  const n = Number(value);
  return Number.isFinite(n) ? `${Math.round(n)} ms` : null;
}

/** The progress bar's value (0-100), or null while unknown (an indeterminate bar). */
export function progressPercent(record) {
  if (record?.phase === "done") {
    return 100;
  }
  const n = Number(record?.percent);
  return record?.percent !== undefined && record?.percent !== null && Number.isFinite(n)
    ? Math.max(0, Math.min(100, Math.round(n)))
    : null;
}

/** One line under the bar: how far, what is left, how fast the guest dirties memory. */
export function progressDetail(record) {
  if (!record) {
    return "";
  }
  if (record.phase === "starting") {
    return "Asking the source host to start…";
  }
  if (record.phase === "aborting") {
    return "Aborting…";
  }
  const parts = [];
  const percent = progressPercent(record);
  if (!record.data_total && !percent) {
    // libvirt's first figures come before it has sized the job: nothing to say yet but time.
    const elapsed = seconds(record.elapsed);
    return elapsed ? `Preparing the copy… · ${elapsed}` : "Preparing the copy…";
  }
  if (percent !== null) {
    parts.push(`${percent}%`);
  }
  if (record.data_remaining !== undefined && record.data_remaining !== null) {
    parts.push(`${formatBytes(record.data_remaining)} left`);
  }
  if (record.dirty_rate !== undefined && record.dirty_rate !== null) {
    parts.push(`dirtying ${formatBytes(record.dirty_rate)}/s`);
  }
  if (record.expected_downtime !== undefined && record.expected_downtime !== null) {
    parts.push(`expected downtime ${millis(record.expected_downtime)}`);
  }
  const elapsed = seconds(record.elapsed);
  if (elapsed) {
    parts.push(elapsed);
  }
  return parts.join(" · ");
}

/** The result sentence once the migration is over ("" before). */
export function resultSentence(record) {
  if (!record) {
    return "";
  }
  if (record.phase === "done") {
    const total = seconds(record.total_time);
    const downtime = millis(record.downtime);
    return (
      `${record.vm} now runs on ${record.target}` +
      (total ? `: moved in ${total}` : "") +
      (downtime ? `, downtime ${downtime}` : "") +
      "."
    );
  }
  if (record.phase === "failed") {
    // The host's sentence says what happened and where the VM is ("... failed: <libvirt's
    // words>; lab-vm1 is still running on hv1"); without one, say it ourselves.
    if (record.error) {
      // An event's error may carry Brine's "[code] " prefix: people read the sentence only.
      const text = sentenceCase(parseErrorCode(String(record.error)).text.trim());
      return /[.!?]$/.test(text) ? text : `${text}.`;
    }
    const what = record.aborted ? "was aborted" : "failed";
    const still = record.source ? ` ${record.vm} stays on ${record.source}.` : "";
    return `Migration of ${record.vm} to ${record.target} ${what}.${still}`;
  }
  return "";
}
