// @ts-check
// A host's networks and storage (#/hosts/<host>/networks, #/hosts/<host>/storage): its libvirt
// networks and storage pools as the landscape slice has them, live from their events, with the
// admins' start, stop and refresh. The definitions are code (the landscape's pillar): nothing here
// changes them.
//
// data-testid: landscape-page, landscape-tab-networks, landscape-tab-storage, landscape-code-note, landscape-forbidden,
// landscape-failed, landscape-no-host, landscape-refresh-error; the tables' own are listed in
// components/landscape-tables.js.

import { loadState } from "../components/load-state.js";
import { networksTable, poolsTable, unreachableHost } from "../components/landscape-tables.js";
import { h, icon, render } from "../dom.js";
import { hostView, SECTIONS, landscapeHref } from "../landscape.js";
import { Page } from "./page.js";

/** How often the page redraws on its own (leases' "expires in" moves on). */
const REDRAW_MS = 30 * 1000;

export class HostNetworksPage extends Page {
  /** @param {HTMLElement} container @param {Record<string, string>} params  {host} */
  mount(container, params) {
    this.own(mountHostLandscape(container, this.context, params.host, "networks"));
  }
}

export class HostStoragePage extends Page {
  /** @param {HTMLElement} container @param {Record<string, string>} params  {host} */
  mount(container, params) {
    this.own(mountHostLandscape(container, this.context, params.host, "storage"));
  }
}

/**
 * The two tabs, each with its count once known.
 * @param {string} host
 * @param {string} current
 * @param {any} landscape
 */
function tabs(host, current, landscape) {
  return h(
    "nav",
    { class: "landscape-tabs", "aria-label": `${host}: networks and storage` },
    SECTIONS.map((section) => {
      const view = hostView(landscape?.[section.kind], host);
      return h(
        "a",
        {
          href: landscapeHref(host, section.id),
          class: "landscape-tab",
          "aria-current": section.id === current ? "page" : null,
          dataset: { testid: `landscape-tab-${section.id}` },
        },
        section.label,
        view.status === "ok" && h("span", { class: "tab-count", text: String(view.items?.length ?? 0) }),
      );
    }),
  );
}

/**
 * A card that says why there is no table.
 * @param {string} testid @param {string} title @param {string} text @param {any} [action]
 */
function notice(testid, title, text, action = null) {
  return h("div", { class: ["card", "empty-state"], dataset: { testid } }, h("h2", { text: title }), h("p", { text }), action);
}

/**
 * @param {HTMLElement} container
 * @param {import("./page.js").PageContext} context
 * @param {string} host
 * @param {"networks" | "storage"} sectionId
 */
function mountHostLandscape(container, { store, session: maybeSession }, host, sectionId) {
  const session = /** @type {import("../api.js").Session} */ (maybeSession); // the route is not public
  const section = SECTIONS.find((candidate) => candidate.id === sectionId) ?? SECTIONS[0];
  const kind = section.kind;
  const what = kind === "networks" ? "networks" : "storage pools";
  /** @type {Set<string>} */
  const expanded = new Set();

  /** @param {import("../store.js").StoreState} state */
  function content(state) {
    const view = hostView(state.landscape?.[kind], host);
    switch (view.status) {
      case "loading":
        return loadState({ error: null }, store, `the ${what} of ${host}`);
      case "forbidden":
        return notice("landscape-forbidden", `You may not see the ${what}`, `Your role does not let you read the hosts' ${what}.`);
      case "failed":
        return notice(
          "landscape-failed",
          `Could not read the ${what}`,
          view.error?.message ?? "",
          h("button", { type: "button", class: "btn btn-primary", text: "Try again", onclick: () => store.refresh().catch(() => {}) }),
        );
      case "missing":
        if (state.inventory && !(state.inventory.hosts ?? []).some((/** @type {any} */ entry) => entry.name === host)) {
          return notice("landscape-no-host", `No host called ${host}`, "The master knows no hypervisor host of that name.");
        }
        return unreachableHost(host, { message: `The master has no answer from ${host} about its ${what}.` }, what);
      case "unreachable":
        return unreachableHost(host, view.error ?? { message: "" }, what);
      default: {
        const options = {
          host,
          perms: session.perms,
          busy: state.landscapeBusy ?? {},
          store,
          expanded,
          onToggle: toggle,
        };
        const items = view.items ?? [];
        return [
          view.refreshError &&
            h("p", {
              class: "landscape-refresh-warning small",
              role: "status",
              dataset: { testid: "landscape-refresh-error" },
              text: `Could not read them again: ${view.refreshError.message} What is shown may be out of date.`,
            }),
          kind === "networks" ? networksTable(items, options) : poolsTable(items, options),
        ];
      }
    }
  }

  /** @param {import("../store.js").StoreState} state */
  function draw(state) {
    render(
      container,
      h(
        "div",
        { class: "page landscape-page", dataset: { testid: "landscape-page", host, section: section.id } },
        h("nav", { class: "breadcrumb", "aria-label": "Breadcrumb" }, h("a", { href: "#/", class: "back-link" }, icon("back"), "Overview")),
        h(
          "div",
          { class: "page-head" },
          h("h1", { class: "landscape-host", text: host }),
          h("p", { class: "page-sub muted", text: "libvirt networks and storage pools" }),
        ),
        tabs(host, section.id, state.landscape),
        h("p", {
          class: "landscape-note small",
          dataset: { testid: "landscape-code-note" },
          text: "Those marked “as code” are defined by the pillar landscape: change them there and apply a highstate.",
        }),
        h(
          "section",
          { class: "section landscape-section", "aria-labelledby": "landscape-section-heading" },
          h("div", { class: "section-head" }, h("h2", { id: "landscape-section-heading", text: section.heading })),
          content(state),
        ),
      ),
    );
  }

  /** @param {string} name */
  function toggle(name) {
    if (expanded.has(name)) {
      expanded.delete(name);
    } else {
      expanded.add(name);
    }
    draw(store.state);
  }

  // Redraw when what the page shows changes, not on every VM event.
  /** @type {any[]} */
  let shown = [];
  const unsubscribe = store.subscribe((state) => {
    const now = [state.landscape, state.landscapeBusy, state.inventory];
    if (now.some((value, i) => value !== shown[i])) {
      shown = now;
      draw(state);
    }
  });
  const timer = setInterval(() => draw(store.state), REDRAW_MS);
  // Read this host afresh on every visit: DHCP leases come and go without an event.
  store.dispatch("landscape", { type: "want", kind, host });
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}
