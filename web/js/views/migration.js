// Live migration in the browser: drag a VM onto a host (or use "Migrate to…"), see which hosts
// can take it and why not, confirm with options, watch progress from the events, abort.
//
// cluster.migrate is synchronous through salt-api's runner client: the call is left running in
// the background and the UI follows brine/migration/<id>/ events (store.migrations, matched by
// VM name); the call's own answer (or error) settles the record in the end.

import * as api from "../api.js";
import { h, render, svg } from "../dom.js";
import {
  defaultOptions,
  dropVerdict,
  isActive,
  mayAbort,
  mayMigrate,
  migrateKwargs,
  progressDetail,
  progressPercent,
  resultSentence,
} from "../migration.js";
import { migrationActive } from "../live.js";
import { announce, notify } from "./notices.js";

const DRAG_TYPE = "application/x-brine-vm";
const DROP_TARGETS = "article.host-card[data-host], .migrate-target[data-host]";

// ---- the drag in progress (one at a time) ----

let drag = null; // {vm, targets: null | object | Error, promise}
const dragListeners = new Set();

function dragChanged() {
  for (const listener of [...dragListeners]) {
    listener(drag);
  }
}

/** Ask the cluster once per drag which hosts can take the VM. */
function beginDrag(vm) {
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
      ondragstart: (event) => {
        event.dataTransfer.setData(DRAG_TYPE, vm.name);
        event.dataTransfer.setData("text/plain", vm.name);
        event.dataTransfer.effectAllowed = "move";
        beginDrag({ name: vm.name, host: vm.host, state: vm.state });
      },
      ondragend: () => endDrag(),
    },
    gripIcon(),
  );
}

/** The keyboard way: a "Migrate to…" button, or null when the role may not migrate. */
export function migrateButton(vm, { perms, store, large = false }) {
  if (!mayMigrate(perms, vm.name)) {
    return null;
  }
  const active = migrationActive(store?.state.migrations?.[vm.name]);
  return h("button", {
    type: "button",
    class: ["btn", !large && "btn-sm", "btn-migrate"],
    "aria-haspopup": "dialog",
    "aria-label": `Migrate ${vm.name} to another host`,
    title: active ? `${vm.name} is being migrated.` : null,
    disabled: active,
    dataset: { migrate: vm.name, focusKey: `${vm.name}:migrate` },
    text: "Migrate to…",
    onclick: () => chooseTarget({ name: vm.name, host: vm.host, state: vm.state }, store),
  });
}

// ---- drop targets: host cards on the overview, host tiles on the VM page ----

function markTarget(card, session) {
  const host = card.dataset.host;
  let mark = card.querySelector(":scope > .drop-mark");
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

function markAll(root) {
  for (const card of root.querySelectorAll(DROP_TARGETS)) {
    markTarget(card, drag);
  }
}

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
 * Make every host card (and VM-page host tile) inside `root` a drop target, marked while a drag
 * is in progress. Views re-render freely: marks are re-applied when the content changes.
 * Returns the function that stops it.
 */
export function watchDropTargets(root, store) {
  const onDragOver = (event) => {
    const card = event.target.closest?.(DROP_TARGETS);
    if (!card || !drag) {
      return;
    }
    // Accept the drop on every host: an ineligible one then says why. (A "none" drop effect
    // would show a no-entry cursor, but the browser would then not fire the drop at all.)
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    for (const other of root.querySelectorAll("[data-drop-over]")) {
      if (other !== card) {
        delete other.dataset.dropOver;
      }
    }
    card.dataset.dropOver = "true";
  };
  const onDragLeave = (event) => {
    const card = event.target.closest?.(DROP_TARGETS);
    if (card && !card.contains(event.relatedTarget)) {
      delete card.dataset.dropOver;
    }
  };
  const onDrop = (event) => {
    const card = event.target.closest?.(DROP_TARGETS);
    if (!card || !drag) {
      return;
    }
    event.preventDefault();
    delete card.dataset.dropOver;
    dropOn(card.dataset.host, store);
  };
  const clearOver = () => {
    for (const other of root.querySelectorAll("[data-drop-over]")) {
      delete other.dataset.dropOver;
    }
  };
  const listener = (session) => {
    if (!session) {
      clearOver();
    }
    markAll(root);
  };
  const observer = new MutationObserver(() => {
    if (drag) {
      markAll(root);
    }
  });
  observer.observe(root, { childList: true, subtree: true });
  root.addEventListener("dragover", onDragOver);
  root.addEventListener("dragenter", onDragOver);
  root.addEventListener("dragleave", onDragLeave);
  root.addEventListener("drop", onDrop);
  dragListeners.add(listener);
  return () => {
    observer.disconnect();
    root.removeEventListener("dragover", onDragOver);
    root.removeEventListener("dragenter", onDragOver);
    root.removeEventListener("dragleave", onDragLeave);
    root.removeEventListener("drop", onDrop);
    dragListeners.delete(listener);
  };
}

/** Small drop tiles of the other hosts, for the VM page (which has no host cards). */
export function migrateTargets(vm, inventory, { perms }) {
  if (!mayMigrate(perms, vm.name)) {
    return null;
  }
  const hosts = (inventory?.hosts ?? []).map((host) => host.name).sort();
  return h(
    "div",
    { class: "migrate-targets", dataset: { testid: "migrate-targets" } },
    h("span", { class: "muted small", text: "Drag the handle onto a host to migrate:" }),
    hosts.map((name) =>
      h("div", { class: ["migrate-target", name === vm.host && "is-current"], dataset: { host: name } },
        h("span", { class: "migrate-target-name", text: name }),
        name === vm.host && h("span", { class: "muted small", text: "current host" }),
      ),
    ),
  );
}

// ---- dialogs ----

function modal(className, titleText, bodyNodes, { onSubmit, submitLabel, submitClass = "btn btn-primary" }) {
  return new Promise((resolve) => {
    const cancel = h("button", { type: "submit", value: "cancel", class: "btn", formnovalidate: true, text: "Cancel" });
    const form = h(
      "form",
      { method: "dialog" },
      h("h2", { id: `${className}-title`, text: titleText }),
      bodyNodes,
      h(
        "div",
        { class: "dialog-actions" },
        cancel,
        submitLabel &&
          h("button", { type: "submit", value: "confirm", class: submitClass, dataset: { confirm: "true" }, text: submitLabel }),
      ),
    );
    const dialog = h("dialog", { class: ["confirm", className], "aria-labelledby": `${className}-title` }, form);
    form.addEventListener("submit", (event) => {
      if (event.submitter?.value === "confirm" && onSubmit && onSubmit() === false) {
        event.preventDefault(); // invalid input: the dialog says why and stays open
      }
    });
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** "Migrate to…": every host with its verdict; eligible ones are buttons. */
async function chooseTarget(vm, store) {
  const list = h("div", { class: "target-list", "aria-live": "polite" }, h("p", { class: "muted", text: `Checking which hosts can take ${vm.name}…` }));
  let chosen = null;
  const promise = modal("migrate-choose", `Migrate ${vm.name} to…`, [h("p", { text: `${vm.name} is on ${vm.host}. Choose the host to move it to.` }), list], {});
  const dialog = document.querySelector("dialog.migrate-choose");
  api.migrationTargets(vm.name).then(
    (targets) => fillList(targets),
    (error) => fillList(error instanceof Error ? error : new Error(String(error))),
  );
  function fillList(targets) {
    const hosts = (store.state.inventory?.hosts ?? []).map((host) => host.name);
    const names = [...new Set([...hosts, ...(targets instanceof Error ? [] : Object.keys(targets ?? {}))])].sort();
    render(
      list,
      h(
        "ul",
        { class: "targets" },
        names.map((name) => {
          const verdict = dropVerdict(targets, name, vm.name);
          const reasonsId = `target-reasons-${name}`;
          return h(
            "li",
            { class: ["target", `drop-${verdict.status}`], dataset: { targetHost: name, drop: verdict.status } },
            h("button", {
              type: "button",
              class: ["btn", verdict.status === "eligible" && "btn-primary"],
              disabled: verdict.status !== "eligible" && verdict.status !== "offer",
              "aria-describedby": reasonsId,
              text: name,
              onclick: () => {
                chosen = { name, verdict };
                dialog.close("cancel");
              },
            }),
            h(
              "div",
              { class: "target-reasons", id: reasonsId },
              verdict.status === "eligible" || verdict.status === "offer"
                ? h("span", { text: verdict.summary })
                : h("ul", {}, verdict.reasons.map((reason) => h("li", { text: reason }))),
            ),
          );
        }),
      ),
    );
    list.querySelector("button:not([disabled])")?.focus();
  }
  await promise;
  if (chosen) {
    confirmMigration(vm, chosen.name, chosen.verdict, store);
  }
}

function field(id, label, input, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, text: label }),
    input,
    hint && h("span", { class: "muted small", text: hint }),
  );
}

function checkbox(id, label, checked, { disabled = false } = {}) {
  const input = h("input", { type: "checkbox", id, name: id, checked, disabled });
  return [input, h("label", { class: "check", for: id }, input, h("span", { text: label }))];
}

/** The confirmation dialog with the advanced options; on confirm, start the migration. */
async function confirmMigration(vm, host, verdict, store) {
  const defaults = defaultOptions(vm, verdict);
  const [live, liveRow] = checkbox("migrate-live", "Live (the VM keeps running while it moves)", defaults.live, {
    disabled: !isActive(vm.state),
  });
  const [offline, offlineRow] = checkbox("migrate-offline", "Offline (move the definition of a VM that is not running)", defaults.offline, {
    disabled: isActive(vm.state),
  });
  const [copyStorage, copyRow] = checkbox("migrate-copy-storage", "Copy storage (for disks the target cannot reach)", defaults.copy_storage);
  const [autoconverge, autoRow] = checkbox("migrate-autoconverge", "Autoconverge (slow the guest down if its memory changes too fast)", defaults.autoconverge);
  const maxDowntime = h("input", { type: "text", inputmode: "numeric", id: "migrate-max-downtime", class: "input", placeholder: "libvirt default (300)", autocomplete: "off" });
  const bandwidth = h("input", { type: "text", inputmode: "numeric", id: "migrate-bandwidth", class: "input", placeholder: "unlimited", autocomplete: "off" });
  const error = h("p", { class: "form-error", role: "alert", id: "migrate-error" });
  const what = isActive(vm.state)
    ? `${vm.name} moves from ${vm.host} to ${host} while it keeps running.`
    : `${vm.name} is not running: its definition moves from ${vm.host} to ${host}.`;
  let kwargs = null;
  const confirmed = await modal(
    "migrate-confirm",
    `Migrate ${vm.name} to ${host}?`,
    [
      h("p", { id: "migrate-confirm-body", text: what }),
      h(
        "details",
        { class: "advanced" },
        h("summary", { text: "Advanced" }),
        h(
          "div",
          { class: "advanced-fields" },
          offlineRow,
          liveRow,
          copyRow,
          autoRow,
          field("migrate-max-downtime", "Maximum downtime (ms)", maxDowntime),
          field("migrate-bandwidth", "Bandwidth limit (MiB/s)", bandwidth),
        ),
      ),
      error,
    ],
    {
      submitLabel: "Migrate",
      onSubmit: () => {
        const answer = migrateKwargs({
          live: live.checked,
          offline: offline.checked,
          copy_storage: copyStorage.checked,
          autoconverge: autoconverge.checked,
          max_downtime: maxDowntime.value,
          bandwidth: bandwidth.value,
        });
        if (answer.error) {
          error.textContent = answer.error;
          error.closest("details")?.setAttribute("open", "");
          return false;
        }
        kwargs = answer.kwargs;
        return true;
      },
    },
  );
  if (confirmed && kwargs) {
    startMigration(store, vm, host, kwargs);
  }
}

// ---- running it ----

/** Start cluster.migrate in the background; the record in the store follows it. */
export function startMigration(store, vm, host, kwargs) {
  store.setMigration(vm.name, {
    id: null,
    vm: vm.name,
    source: vm.host,
    target: host,
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
  announce(`Migrating ${vm.name} to ${host}`);
  api.migrate(vm.name, host, kwargs).then(
    (result) => {
      const record = store.state.migrations[vm.name];
      store.setMigration(vm.name, {
        id: result?.id ?? record?.id ?? null,
        phase: "done",
        percent: 100,
        total_time: result?.total_time ?? record?.total_time,
        downtime: result?.downtime ?? record?.downtime,
      });
      announce(resultSentence(store.state.migrations[vm.name]));
      store.refresh().catch(() => {});
    },
    (err) => {
      if (err.status === 401) {
        return;
      }
      const record = store.state.migrations[vm.name];
      store.setMigration(vm.name, {
        phase: "failed",
        error: record?.phase === "failed" && record.error ? record.error : err.message,
        aborted: Boolean(record?.aborted) || record?.phase === "aborting",
      });
      announce(resultSentence(store.state.migrations[vm.name]));
      store.refresh().catch(() => {});
    },
  );
}

async function abortMigration(store, vmName) {
  store.setMigration(vmName, { phase: "aborting" });
  try {
    await api.migrationAbort(vmName);
  } catch (err) {
    if (err.status !== 401) {
      notify(`Could not abort the migration of ${vmName}: ${err.message}`, { tone: "error" });
      const record = store.state.migrations[vmName];
      if (record?.phase === "aborting") {
        store.setMigration(vmName, { phase: "running" });
      }
    }
  }
}

function migrationCard(record, { perms, store }) {
  const percent = progressPercent(record);
  const active = migrationActive(record);
  const bar = h("progress", {
    class: "migration-progress",
    max: "100",
    "aria-label": `Migration of ${record.vm}`,
  });
  if (percent !== null) {
    bar.value = percent;
  }
  return h(
    "article",
    {
      class: ["card", "migration", `migration-${record.phase}`],
      dataset: { migrationVm: record.vm, phase: record.phase },
      "aria-label": `Migration of ${record.vm}`,
    },
    h(
      "header",
      { class: "migration-head" },
      h("strong", { text: record.vm }),
      h("span", { class: "muted", text: ` ${record.source ?? "?"} → ${record.target ?? "?"}` }),
      !active &&
        h("button", {
          type: "button",
          class: "btn-icon migration-dismiss",
          "aria-label": `Dismiss the migration of ${record.vm}`,
          title: "Dismiss",
          text: "×",
          onclick: () => store.setMigration(record.vm, null),
        }),
    ),
    active && bar,
    active && h("p", { class: "migration-detail small", dataset: { testid: "migration-detail" }, text: progressDetail(record) }),
    !active && h("p", { class: "migration-result", dataset: { testid: "migration-result" }, text: resultSentence(record) }),
    active &&
      mayAbort(perms, record.vm) &&
      h("button", {
        type: "button",
        class: "btn btn-sm btn-danger-quiet",
        disabled: record.phase === "aborting" || record.phase === "starting",
        title: record.phase === "starting" ? "Abort becomes possible once the migration has started." : null,
        dataset: { abort: record.vm },
        text: record.phase === "aborting" ? "Aborting…" : "Abort",
        onclick: () => abortMigration(store, record.vm),
      }),
  );
}

/**
 * The migrations panel (bottom right, on every page): one card per migration the store knows,
 * with the progress bar, Abort, and the result. Returns the function that removes it.
 */
export function mountMigrationPanel(parent, store) {
  const panel = h("section", { class: "migrations", "aria-label": "Migrations" });
  parent.append(panel);
  const unsubscribe = store.subscribe((state) => {
    const perms = api.getSession()?.perms ?? [];
    const records = Object.values(state.migrations ?? {});
    panel.hidden = records.length === 0;
    // Room below the page so the panel never hides the last rows for good.
    document.body.classList.toggle("has-migrations", records.length > 0);
    render(panel, records.map((record) => migrationCard(record, { perms, store })));
  });
  return () => {
    unsubscribe();
    panel.remove();
  };
}
