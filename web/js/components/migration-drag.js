// @ts-check
// Live migration by drag and drop: drag a VM's handle onto a host to migrate it. While a drag
// lasts, every registered drop target (drop-targets.js: host cards, the VM page's host tiles)
// shows whether its host can take the VM and why not; a drop opens the confirmation.

import * as api from "../api.js";
import { h, svg } from "../dom.js";
import { dropTargets } from "../drop-targets.js";
import { dropVerdict, mayMigrate } from "../migration.js";
import { confirmMigration } from "./migration-dialogs.js";
import { announce, notify } from "./notices.js";

/**
 * @typedef {{name: string, host: string, state: string}} DraggedVm
 * @typedef {{vm: DraggedVm, targets: any, promise?: Promise<any>}} DragSession
 * @typedef {import("../store.js").Store} Store
 */

const DRAG_TYPE = "application/x-brine-vm";

// ---- the drag in progress (one at a time) ----

/** @type {DragSession | null} */
let drag = null; // {vm, targets: null | object | Error, promise}
/** @type {Set<(session: DragSession | null) => void>} */
const dragListeners = new Set();

function dragChanged() {
  for (const listener of [...dragListeners]) {
    listener(drag);
  }
}

/** Ask the cluster once per drag which hosts can take the VM. @param {DraggedVm} vm */
function beginDrag(vm) {
  /** @type {DragSession} */
  const session = { vm, targets: null };
  session.promise = api.migrationTargets(vm.name).then(
    (targets) => {
      session.targets = targets && typeof targets === "object" ? targets : new Error("no answer");
      return session.targets;
    },
    (error) => {
      session.targets = error instanceof Error ? error : new Error(String(error));
      return session.targets;
    },
  );
  session.promise.then(() => {
    if (drag === session) {
      dragChanged();
    }
  });
  drag = session;
  document.body.classList.add("is-dragging-vm");
  dragChanged();
  return session;
}

function endDrag() {
  drag = null;
  document.body.classList.remove("is-dragging-vm");
  dragChanged();
}

// ---- drag sources ----

function gripIcon() {
  return svg(
    "svg",
    { class: "icon icon-grip", viewBox: "0 0 24 24", width: "16", height: "16", "aria-hidden": "true", focusable: "false" },
    ["M9 6h.01", "M15 6h.01", "M9 12h.01", "M15 12h.01", "M9 18h.01", "M15 18h.01"].map((d) => svg("path", { d })),
  );
}

/**
 * A drag handle for the VM (table row or VM page), or null when the role may not migrate.
 * Mouse only: keyboard users have the "Migrate to…" button beside it.
 * @param {DraggedVm} vm
 * @param {{perms: unknown}} options
 */
export function dragHandle(vm, { perms }) {
  if (!mayMigrate(perms, vm.name)) {
    return null;
  }
  return h(
    "span",
    {
      class: "drag-handle",
      draggable: "true",
      title: `Drag ${vm.name} onto a host to migrate it`,
      "aria-hidden": "true",
      dataset: { dragVm: vm.name },
      /** @param {DragEvent} event */
      ondragstart: (event) => {
        const transfer = /** @type {DataTransfer} */ (event.dataTransfer);
        transfer.setData(DRAG_TYPE, vm.name);
        transfer.setData("text/plain", vm.name);
        transfer.effectAllowed = "move";
        beginDrag({ name: vm.name, host: vm.host, state: vm.state });
      },
      ondragend: () => endDrag(),
    },
    gripIcon(),
  );
}

// ---- drop targets (registered in drop-targets.js) ----

/**
 * Show on a target element what a drop there would do; no session clears the mark.
 * @param {HTMLElement} card
 * @param {string} host
 * @param {DragSession | null} session
 */
function markTarget(card, host, session) {
  let mark = /** @type {HTMLElement | null} */ (card.querySelector(":scope > .drop-mark"));
  if (!session) {
    if (card.dataset.drop) {
      delete card.dataset.drop;
      card.removeAttribute("title");
      card.removeAttribute("aria-describedby");
      mark?.remove();
    }
    return;
  }
  const verdict = dropVerdict(session.targets, host, session.vm.name);
  if (card.dataset.drop === verdict.status && mark && mark.dataset.summary === verdict.summary) {
    return; // unchanged: touching the DOM again would only wake the observer
  }
  const markId = `drop-mark-${host}`;
  const label =
    verdict.status === "checking"
      ? "Checking…"
      : verdict.status === "eligible"
        ? `Can take ${session.vm.name}`
        : verdict.status === "offer"
          ? `Can take ${session.vm.name} only with ${verdict.offers.map((o) => o.replace("_", " ")).join(" and ")}`
          : `Cannot take ${session.vm.name}`;
  const next = h(
    "div",
    { class: ["drop-mark", `drop-${verdict.status}`], id: markId, dataset: { summary: verdict.summary } },
    h("strong", { class: "drop-label", text: label }),
    verdict.status !== "eligible" && verdict.status !== "checking" &&
      h("ul", { class: "drop-reasons" }, verdict.reasons.map((reason) => h("li", { text: reason }))),
  );
  if (mark) {
    mark.replaceWith(next);
  } else {
    card.append(next);
  }
  card.dataset.drop = verdict.status;
  card.title = verdict.summary;
  card.setAttribute("aria-describedby", markId);
}

function markAll() {
  for (const [element, target] of dropTargets.entries()) {
    markTarget(/** @type {HTMLElement} */ (element), target.host, drag);
  }
}

/** @param {string} host @param {Store} store */
async function dropOn(host, store) {
  const session = drag;
  if (!session) {
    return;
  }
  const targets = await session.promise;
  const verdict = dropVerdict(targets, host, session.vm.name);
  if (verdict.status !== "eligible" && verdict.status !== "offer") {
    notify(verdict.summary, { tone: "error", key: "migrate-refused" });
    announce(verdict.summary);
    return;
  }
  confirmMigration(session.vm, host, verdict, store);
}

/**
 * Handle drags over `root`: drops on registered targets inside it migrate; targets are marked
 * while a drag is in progress, also those registered meanwhile (views re-render freely).
 * Returns the function that stops it.
 * @param {HTMLElement} root
 * @param {Store} store
 */
export function watchDrops(root, store) {
  /** @param {Event} event */
  const targetOf = (event) => {
    const found = dropTargets.find(/** @type {any} */ (event.target));
    return found && root.contains(/** @type {Node} */ (/** @type {unknown} */ (found.element)))
      ? { element: /** @type {HTMLElement} */ (/** @type {unknown} */ (found.element)), host: found.target.host }
      : null;
  };
  /** @param {DragEvent} event */
  const onDragOver = (event) => {
    const found = targetOf(event);
    if (!found || !drag) {
      return;
    }
    // Accept the drop on every host: an ineligible one then says why. (A "none" drop effect
    // would show a no-entry cursor, but the browser would then not fire the drop at all.)
    event.preventDefault();
    if (event.dataTransfer) {
      event.dataTransfer.dropEffect = "move";
    }
    for (const [other] of dropTargets.entries()) {
      const element = /** @type {HTMLElement} */ (other);
      if (element !== found.element && element.dataset.dropOver) {
        delete element.dataset.dropOver;
      }
    }
    found.element.dataset.dropOver = "true";
  };
  /** @param {DragEvent} event */
  const onDragLeave = (event) => {
    const found = targetOf(event);
    if (found && !found.element.contains(/** @type {Node | null} */ (event.relatedTarget))) {
      delete found.element.dataset.dropOver;
    }
  };
  /** @param {DragEvent} event */
  const onDrop = (event) => {
    const found = targetOf(event);
    if (!found || !drag) {
      return;
    }
    event.preventDefault();
    delete found.element.dataset.dropOver;
    dropOn(found.host, store);
  };
  const clearOver = () => {
    for (const [element] of dropTargets.entries()) {
      delete /** @type {HTMLElement} */ (element).dataset.dropOver;
    }
  };
  /** @param {DragSession | null} session */
  const listener = (session) => {
    if (!session) {
      clearOver();
    }
    markAll();
  };
  const stopMarkingNew = dropTargets.onRegister((element, target) => {
    if (drag) {
      markTarget(/** @type {HTMLElement} */ (element), target.host, drag);
    }
  });
  root.addEventListener("dragover", onDragOver);
  root.addEventListener("dragenter", onDragOver);
  root.addEventListener("dragleave", onDragLeave);
  root.addEventListener("drop", onDrop);
  dragListeners.add(listener);
  return () => {
    stopMarkingNew();
    root.removeEventListener("dragover", onDragOver);
    root.removeEventListener("dragenter", onDragOver);
    root.removeEventListener("dragleave", onDragLeave);
    root.removeEventListener("drop", onDrop);
    dragListeners.delete(listener);
  };
}

/** Small drop tiles of the other hosts, for the VM page (which has no host cards). */
/**
 * @param {DraggedVm} vm
 * @param {any} inventory
 * @param {{perms: unknown}} options
 */
export function migrateTargets(vm, inventory, { perms }) {
  if (!mayMigrate(perms, vm.name)) {
    return null;
  }
  const hosts = (inventory?.hosts ?? []).map((host) => host.name).sort();
  return h(
    "div",
    { class: "migrate-targets", dataset: { testid: "migrate-targets" } },
    h("span", { class: "muted small", text: "Drag the handle onto a host to migrate:" }),
    hosts.map((name) => {
      const tile = h("div", { class: ["migrate-target", name === vm.host && "is-current"], dataset: { host: name } },
        h("span", { class: "migrate-target-name", text: name }),
        name === vm.host && h("span", { class: "muted small", text: "current host" }),
      );
      dropTargets.register(tile, { host: name });
      return tile;
    }),
  );
}

