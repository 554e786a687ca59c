// @ts-check
// What Brine's events mean for the SPA's inventory (docs/api.md, "Events"). Pure functions over
// plain data, no DOM and no network: the store's slices call them, the node tests check them.
// Which states count as active (for totals) or running is the vocabulary's (vocabulary.js),
// the same definition the hosts and the runner use.

import { mergeInstall } from "./installs.js";
import { isActive, isRunning } from "./vocabulary.js";

/**
 * Split a Brine tag into what it is about:
 *   brine/vm/<host>/<vm>/state        -> {kind: "vm-state", host, vm}
 *   brine/vm/<host>/<vm>/install      -> {kind: "vm-install", host, vm}
 *   brine/host/<host>/<what>          -> {kind: "host", host, what}    (resync, disconnected)
 *   brine/migration/<id>/<phase>      -> {kind: "migration", id, phase} (started, progress, done, failed)
 *   brine/network/<host>/<name>/state -> {kind: "network-state", host, network}  (docs/landscape.md)
 *   brine/pool/<host>/<name>/state    -> {kind: "pool-state", host, pool}
 *   brine/container/<host>/<name>/state -> {kind: "container-state", host, container}  (docs/containers.md)
 *   brine/images/<host>/changed       -> {kind: "images-changed", host}
 * Anything else -> {kind: "other"}.
 */
export function classifyTag(tag) {
  const parts = String(tag ?? "").split("/");
  if (parts[0] === "salt" && parts[1] === "minion" && parts.length === 4 && parts[3] === "start") {
    return { kind: "host", host: parts[2], what: "minion-start" };
  }
  if (parts[0] !== "brine") {
    return { kind: "other" };
  }
  if (parts[1] === "vm" && parts.length === 5 && parts[4] === "state") {
    return { kind: "vm-state", host: parts[2], vm: parts[3] };
  }
  if (parts[1] === "vm" && parts.length === 5 && parts[4] === "install") {
    return { kind: "vm-install", host: parts[2], vm: parts[3] };
  }
  if (parts[1] === "host" && parts.length === 4) {
    return { kind: "host", host: parts[2], what: parts[3] };
  }
  if (parts[1] === "network" && parts.length === 5 && parts[4] === "state") {
    return { kind: "network-state", host: parts[2], network: parts[3] };
  }
  if (parts[1] === "pool" && parts.length === 5 && parts[4] === "state") {
    return { kind: "pool-state", host: parts[2], pool: parts[3] };
  }
  if (parts[1] === "container" && parts.length === 5 && parts[4] === "state") {
    return { kind: "container-state", host: parts[2], container: parts[3] };
  }
  if (parts[1] === "images" && parts.length === 4 && parts[3] === "changed") {
    return { kind: "images-changed", host: parts[2] };
  }
  if (parts[1] === "migration" && parts.length === 4) {
    return { kind: "migration", id: parts[2], phase: parts[3] };
  }
  return { kind: "other" };
}

/** Recompute the per-host counts and the cluster totals that follow from the VM lists. */
export function recount(inventory) {
  const hosts = (inventory.hosts ?? []).map((host) => {
    if (!host.reachable || !host.facts) {
      return host;
    }
    const active = (host.vms ?? []).filter((vm) => isActive(vm.state));
    return {
      ...host,
      facts: {
        ...host.facts,
        vm_count: (host.vms ?? []).length,
        vms_running: active.length,
        vcpus_allocated: active.reduce((sum, vm) => sum + (vm.vcpus ?? 0), 0),
        memory_allocated: active.reduce((sum, vm) => sum + (vm.memory ?? 0), 0),
      },
    };
  });
  const reachable = hosts.filter((host) => host.reachable && host.facts);
  const sum = (pick) => reachable.reduce((total, host) => total + (pick(host) ?? 0), 0);
  const totals = {
    ...(inventory.totals ?? {}),
    hosts: hosts.length,
    hosts_reachable: reachable.length,
    vms: sum((host) => (host.vms ?? []).length),
    vms_running: sum((host) => host.facts.vms_running),
    cpus: sum((host) => host.facts.cpus),
    vcpus_allocated: sum((host) => host.facts.vcpus_allocated),
    memory_total: sum((host) => host.facts.memory_total),
    memory_free: sum((host) => host.facts.memory_free),
    memory_allocated: sum((host) => host.facts.memory_allocated),
  };
  return { ...inventory, hosts, totals };
}

/**
 * Apply one brine/vm/<host>/<vm>/state event to an inventory; returns the new inventory, or the
 * same object when the event changes nothing the SPA knows (unknown host, stale event).
 *
 * A VM name lives on one host in the picture. During a migration both hosts report it: the
 * target defines it and starts it paused, the source stops and undefines it after the
 * switch-over. So an event from host B about a VM the picture has running on host A moves it
 * only once B has it running (or A's copy is not running): the picture never shows it on two
 * hosts, and the late "stopped"/"undefined" of the source does not remove it from B.
 */
export function applyVmStateEvent(inventory, { host, vm: vmName }, data) {
  if (!inventory || !Array.isArray(inventory.hosts)) {
    return inventory;
  }
  const name = data?.name ?? vmName;
  const hostName = data?.host ?? host;
  const index = inventory.hosts.findIndex((entry) => entry.name === hostName);
  if (index === -1 || !inventory.hosts[index].reachable) {
    return inventory; // not a host we show; the next full refresh decides
  }
  const here = inventory.hosts[index];
  const vms = here.vms ?? [];
  const position = vms.findIndex((entry) => entry.name === name);
  const gone = data?.vm === null || data?.event === "undefined";

  if (gone) {
    if (position === -1) {
      return inventory;
    }
    const hosts = [...inventory.hosts];
    hosts[index] = { ...here, vms: vms.filter((entry) => entry.name !== name) };
    return recount({ ...inventory, hosts });
  }

  // The event's VM dict when it has one, else the old entry with the new state/reason.
  const previous = position === -1 ? null : vms[position];
  let updated;
  if (data?.vm && typeof data.vm === "object") {
    updated = { ...data.vm, host: hostName };
    // The install's progress comes from install events; a VM dict may not repeat it.
    const install = mergeInstall(previous?.install, data.vm);
    if (install !== undefined) {
      updated.install = install;
    }
  } else if (previous) {
    updated = { ...previous, state: data?.state ?? previous.state, reason: data?.reason ?? previous.reason };
  } else {
    return inventory; // a VM we do not know, without its description: wait for a refresh
  }

  const elsewhere = inventory.hosts.filter(
    (entry, i) => i !== index && (entry.vms ?? []).some((other) => other.name === name),
  );
  if (position === -1 && elsewhere.length > 0) {
    const otherRunning = elsewhere.some((entry) =>
      entry.vms.some((other) => other.name === name && isRunning(other.state)),
    );
    if (otherRunning && !isRunning(updated.state)) {
      return inventory; // an incoming migration not yet switched over, or a stale event
    }
  }

  const hosts = inventory.hosts.map((entry, i) => {
    if (i === index) {
      const list = position === -1 ? [...vms, updated] : vms.map((other, j) => (j === position ? updated : other));
      return { ...entry, vms: list };
    }
    if (elsewhere.includes(entry) && position === -1) {
      return { ...entry, vms: entry.vms.filter((other) => other.name !== name) };
    }
    return entry;
  });
  return recount({ ...inventory, hosts });
}
