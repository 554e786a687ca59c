// @ts-check
// Human-readable units for Brine data. Pure functions: no DOM, testable under node.
//
// libvirt (and so all Brine data) counts memory in KiB, disk sizes in bytes and CPU time in
// nanoseconds; people read GiB and "2h 5m".

const EMPTY = "—";

const BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Round to at most three significant figures, dropping trailing zeros ("1.5", "19.1", "384"). */
function compactNumber(value) {
  const decimals = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return String(Number(value.toFixed(decimals)));
}

/** Bytes as the largest binary unit that keeps the number at least 1: 67108864 -> "64 MiB". */
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined || !Number.isFinite(Number(bytes))) {
    return EMPTY;
  }
  let value = Number(bytes);
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // Whole bytes have no fractions; round once more in case rounding reached 1024.
  if (unit > 0 && Number(compactNumber(value)) >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? Math.round(value) : compactNumber(value)} ${BINARY_UNITS[unit]}`;
}

/** KiB (libvirt's memory unit) as MiB/GiB: 131072 -> "128 MiB", 25165824 -> "24 GiB", 0 -> "0 MiB". */
export function formatKiB(kib) {
  if (kib === null || kib === undefined || !Number.isFinite(Number(kib))) {
    return EMPTY;
  }
  if (Number(kib) === 0) {
    return "0 MiB"; // reads better next to "24 GiB" than "0 B"
  }
  return formatBytes(Number(kib) * 1024);
}

/**
 * CPU time in nanoseconds as h/m/s: 0 -> "0 s", 1.5e9 -> "1.5 s", 3723e9 -> "1h 2m 3s".
 * Beyond a day seconds stop mattering: "2d 3h 4m".
 */
export function formatCpuTime(ns) {
  if (ns === null || ns === undefined || !Number.isFinite(Number(ns)) || Number(ns) < 0) {
    return EMPTY;
  }
  const seconds = Number(ns) / 1e9;
  if (seconds === 0) {
    return "0 s";
  }
  if (seconds < 10) {
    // Sub-10-second values keep one decimal; below 0.1 s say so rather than print "0 s".
    return seconds < 0.1 ? "< 0.1 s" : `${Number(seconds.toFixed(1))} s`;
  }
  let rest = Math.floor(seconds);
  const days = Math.floor(rest / 86400);
  rest -= days * 86400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  if (days > 0) {
    return `${days}d ${hours}h ${minutes}m`;
  }
  if (hours > 0) {
    return `${hours}h ${minutes}m ${secs}s`;
  }
  if (minutes > 0) {
    return `${minutes}m ${secs}s`;
  }
  return `${secs} s`;
}

/** 2400 -> "2.4 GHz", 800 -> "800 MHz". */
export function formatMhz(mhz) {
  if (!mhz || !Number.isFinite(Number(mhz))) {
    return EMPTY;
  }
  const value = Number(mhz);
  return value >= 1000 ? `${compactNumber(value / 1000)} GHz` : `${Math.round(value)} MHz`;
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** sockets × cores × threads as people say it: "1 socket × 2 cores × 1 thread". */
export function formatTopology(sockets, cores, threads) {
  if (!sockets || !cores || !threads) {
    return EMPTY;
  }
  return `${plural(sockets, "socket")} × ${plural(cores, "core")} × ${plural(threads, "thread")}`;
}

/** true/false as "Yes"/"No"; anything else as a dash. */
export function formatYesNo(value) {
  if (value === true) {
    return "Yes";
  }
  if (value === false) {
    return "No";
  }
  return EMPTY;
}

/** Any value, or a dash when there is none (null, undefined, ""). */
export function orDash(value) {
  return value === null || value === undefined || value === "" ? EMPTY : String(value);
}

/**
 * How full a capacity is, for bars: {fraction (0..1, clamped for drawing), percent (unclamped,
 * rounded), over (allocated beyond the total, i.e. overcommitted)}.
 */
export function usage(allocated, total) {
  const used = Number(allocated) || 0;
  const capacity = Number(total) || 0;
  if (capacity <= 0) {
    return { fraction: used > 0 ? 1 : 0, percent: null, over: used > 0 };
  }
  const ratio = used / capacity;
  return {
    fraction: Math.min(Math.max(ratio, 0), 1),
    percent: Math.round(ratio * 100),
    over: ratio > 1,
  };
}

/** libvirt domain states as words people use, and the tone of their badge. */
const STATES = {
  running: { label: "Running", tone: "ok" },
  blocked: { label: "Blocked", tone: "ok" },
  paused: { label: "Paused", tone: "warn" },
  shutdown: { label: "Shutting down", tone: "info" },
  shutoff: { label: "Shut off", tone: "off" },
  crashed: { label: "Crashed", tone: "danger" },
  pmsuspended: { label: "Suspended", tone: "warn" },
  nostate: { label: "No state", tone: "off" },
};

/** {label, tone} for a VM state; unknown states keep their name with a neutral tone. */
export function stateInfo(state) {
  return STATES[state] ?? { label: state ? String(state) : "Unknown", tone: "off" };
}

/** A domain type with what it means: "qemu" is software emulation (TCG), "kvm" is hardware. */
export function formatDomainType(type) {
  if (type === "qemu") {
    return "qemu (TCG, emulated)";
  }
  if (type === "kvm") {
    return "kvm (hardware accelerated)";
  }
  return orDash(type);
}

/** A graphics port: null or -1 means none assigned yet. */
export function formatPort(port) {
  if (port === null || port === undefined || Number(port) < 0) {
    return "not assigned";
  }
  return String(port);
}

/** Unix seconds (or a Date) as the local wall-clock time, "14:03:27". */
export function formatClock(when) {
  const date = when instanceof Date ? when : new Date(Number(when) * 1000);
  if (Number.isNaN(date.getTime())) {
    return EMPTY;
  }
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** A sentence starting with a capital: "did not answer" -> "Did not answer". */
export function sentenceCase(text) {
  if (!text) {
    return "";
  }
  const value = String(text);
  return value.charAt(0).toUpperCase() + value.slice(1);
}

/** Sort key comparison that puts "vm2" before "vm10". */
export const naturalCompare = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" })
  .compare;
