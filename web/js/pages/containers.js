// @ts-check
// Containers on the hypervisor hosts (docs/containers.md): the cluster's (#/containers: every
// host's containers in one table with a Host column, then the local images across hosts and
// which hosts have each), and one host's (#/hosts/<host>/containers). The containers come with
// the inventory and change in place from their events; the images are read when the page opens
// and again when a host says its images changed. Operators and admins get Run container and the
// rows' buttons; a viewer sees the same without them.
//
// data-testid: containers-page, containers-summary, containers-section, containers-filter,
// containers-no-match, images-section, images-forbidden, images-failed, images-loading,
// images-refresh-error, images-reload, images-host-notes; host-containers-page (data-host),
// container-engine-version, containers-no-host, containers-all-link; the tables' and the
// dialogs' are listed in components/container-tables.js, container-actions.js and
// run-container.js.

import { engineNotice, containersTable, hostNotes, imagesTable } from "../components/container-tables.js";
import { watchImages } from "../components/containers-data.js";
import { loadState } from "../components/load-state.js";
import { runContainerButton } from "../components/run-container.js";
import { clusterContainers, containersHref, containerState, hostContainers } from "../containers.js";
import { h, icon, render } from "../dom.js";
import { Page } from "./page.js";

/** How often a page redraws on its own ("created 5 min ago" moves on). */
const REDRAW_MS = 30 * 1000;

/**
 * @typedef {import("./page.js").PageContext} PageContext
 * @typedef {import("../store.js").StoreState} StoreState
 */

export class ContainersPage extends Page {
  /** @param {HTMLElement} container */
  mount(container) {
    this.own(mountCluster(container, this.context));
  }
}

export class HostContainersPage extends Page {
  /** @param {HTMLElement} container @param {Record<string, string>} params  {host} */
  mount(container, params) {
    this.own(mountHost(container, this.context, params.host));
  }
}

/**
 * A card that says why there is no table.
 * @param {string} testid @param {string} title @param {string} text @param {any} [action]
 */
function notice(testid, title, text, action = null) {
  return h("div", { class: ["card", "empty-state"], dataset: { testid } }, h("h2", { text: title }), h("p", { text }), action);
}

/** @param {number} count @param {string} word */
const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

/**
 * Redraw `draw` when one of the parts `pick` returns changes, and every REDRAW_MS; returns the
 * function that stops it.
 * @param {import("../store.js").Store} store
 * @param {(state: StoreState) => unknown[]} pick
 * @param {(state: StoreState) => void} draw
 */
function follow(store, pick, draw) {
  /** @type {unknown[]} */
  let shown = [];
  const unsubscribe = store.subscribe((state) => {
    const now = pick(state);
    if (now.length !== shown.length || now.some((value, i) => value !== shown[i])) {
      shown = now;
      draw(state);
    }
  });
  const timer = setInterval(() => draw(store.state), REDRAW_MS);
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}

/** The words a container is found by: name, image, host, state. @param {any} container @param {string} filter */
function matches(container, filter) {
  if (!filter) {
    return true;
  }
  const needle = filter.toLowerCase();
  return [container.name, container.image, container.host, container.state, containerState(container.state, container.exit_code).label].some((word) =>
    String(word ?? "").toLowerCase().includes(needle),
  );
}

/**
 * The cluster's page: every host's containers, then the local images across hosts.
 * @param {HTMLElement} container
 * @param {PageContext} context
 */
function mountCluster(container, { store, session: maybeSession }) {
  const session = /** @type {import("../api.js").Session} */ (maybeSession); // the route is not public
  let filter = "";
  const summary = h("p", { class: "page-sub muted", dataset: { testid: "containers-summary" } });
  const containersRegion = h("div", { class: "containers-region" });
  const imagesRegion = h("div", { class: "containers-region" });
  const imagesCount = h("span", { class: "tab-count", hidden: true });
  const filterInput = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "search",
      id: "containers-filter",
      class: "input input-search",
      placeholder: "Filter by name, image, host or state",
      autocomplete: "off",
      spellcheck: "false",
      dataset: { testid: "containers-filter" },
    })
  );

  render(
    container,
    h(
      "div",
      { class: "page containers-page", dataset: { testid: "containers-page" } },
      h("nav", { class: "breadcrumb", "aria-label": "Breadcrumb" }, h("a", { href: "#/", class: "back-link" }, icon("back"), "Overview")),
      h("div", { class: "page-head" }, h("h1", { text: "Containers" }), summary),
      h(
        "section",
        { class: "section containers-section", "aria-labelledby": "containers-heading", dataset: { testid: "containers-section" } },
        h(
          "div",
          { class: "section-head" },
          h("h2", { id: "containers-heading", text: "Containers" }),
          h(
            "div",
            { class: "section-tools" },
            h("div", { class: "filter" }, h("label", { for: "containers-filter", class: "visually-hidden", text: "Filter containers" }), filterInput),
            runContainerButton({ perms: session.perms, store }),
          ),
        ),
        containersRegion,
      ),
      h(
        "section",
        { class: "section images-section", id: "local-images", "aria-labelledby": "images-heading", dataset: { testid: "images-section" } },
        h(
          "div",
          { class: "section-head" },
          h("h2", { id: "images-heading" }, "Local images ", imagesCount),
          h(
            "div",
            { class: "section-tools" },
            h("button", {
              type: "button",
              class: "btn",
              dataset: { testid: "images-reload" },
              text: "Read again",
              title: "Read the hosts' local images again",
              onclick: () => store.dispatch("images", { type: "want" }),
            }),
          ),
        ),
        imagesRegion,
      ),
    ),
  );

  /** @param {StoreState} state */
  function containersContent(state) {
    if (!state.inventory) {
      return loadState(state, store, "the containers");
    }
    const { containers, notes } = clusterContainers(state.inventory);
    const shown = containers.filter((item) => matches(item, filter));
    return [
      containers.length > 0 && shown.length === 0
        ? h("p", { class: "empty", dataset: { testid: "containers-no-match" }, text: `No container matches “${filter}”.` })
        : containersTable(shown, { perms: session.perms, busy: state.containerBusy ?? {}, store, withHost: true }),
      hostNotes(notes),
    ];
  }

  /** @param {StoreState} state */
  function imagesContent(state) {
    const images = state.images;
    if (!images || images.allowed === false) {
      return notice("images-forbidden", "You may not see the local images", "Your role does not let you read the hosts' local images (containers.images).");
    }
    if (!images.images) {
      if (images.error) {
        return notice(
          "images-failed",
          "Could not read the local images",
          images.error.message,
          h("button", { type: "button", class: "btn btn-primary", text: "Try again", onclick: () => store.dispatch("images", { type: "want" }) }),
        );
      }
      return h(
        "div",
        { class: ["card", "empty-state", "is-loading"], "aria-busy": "true", dataset: { testid: "images-loading" } },
        h("span", { class: "spinner spinner-large", "aria-hidden": "true" }),
        h("p", { text: "Reading the hosts' local images…" }),
      );
    }
    const silent = (images.hosts ?? []).filter((host) => !host.answered);
    return [
      images.error &&
        h("p", {
          class: "landscape-refresh-warning small",
          role: "status",
          dataset: { testid: "images-refresh-error" },
          text: `Could not read them again: ${images.error.message} What is shown may be out of date.`,
        }),
      imagesTable(images.images),
      silent.length > 0 &&
        h(
          "ul",
          { class: "container-host-notes", dataset: { testid: "images-host-notes" } },
          silent.map((host) =>
            h("li", { dataset: { testid: `images-host-note-${host.host}`, host: host.host } }, `${host.host} did not answer: ${host.error?.message ?? "no reason given."}`),
          ),
        ),
    ];
  }

  /** @param {StoreState} state */
  function drawContainers(state) {
    if (state.inventory) {
      const { containers, hostsUp } = clusterContainers(state.inventory);
      const running = containers.filter((item) => item.state === "running").length;
      summary.textContent = `${running} running of ${plural(containers.length, "container")} on ${plural(hostsUp.length, "host")} with Docker`;
    } else {
      summary.textContent = "";
    }
    render(containersRegion, containersContent(state));
  }

  /** @param {StoreState} state */
  function drawImages(state) {
    const count = state.images?.images?.length;
    imagesCount.hidden = typeof count !== "number";
    imagesCount.textContent = typeof count === "number" ? String(count) : "";
    render(imagesRegion, imagesContent(state));
  }

  filterInput.addEventListener("input", () => {
    filter = filterInput.value.trim();
    drawContainers(store.state);
  });

  // Each section draws again only when what it shows changes (a container's event leaves the
  // images alone, and the other way round).
  const stopContainers = follow(store, (state) => [state.inventory, state.containerBusy, state.error], drawContainers);
  const stopDrawingImages = follow(store, (state) => [state.images], drawImages);
  // The images are read on opening the page, and again when a host's images change.
  const stopImages = watchImages(store);
  return () => {
    stopImages();
    stopDrawingImages();
    stopContainers();
  };
}

/**
 * One host's containers.
 * @param {HTMLElement} container
 * @param {PageContext} context
 * @param {string} host
 */
function mountHost(container, { store, session: maybeSession }, host) {
  const session = /** @type {import("../api.js").Session} */ (maybeSession); // the route is not public
  const sub = h("p", { class: "page-sub muted", dataset: { testid: "container-engine-version" } });
  const tools = h("div", { class: "section-tools" });
  const region = h("div", { class: "containers-region" });
  render(
    container,
    h(
      "div",
      { class: "page containers-page", dataset: { testid: "host-containers-page", host } },
      h(
        "nav",
        { class: "breadcrumb", "aria-label": "Breadcrumb" },
        h("a", { href: "#/", class: "back-link" }, icon("back"), "Overview"),
        h("a", { href: containersHref(), class: "breadcrumb-extra", dataset: { testid: "containers-all-link" }, text: "All containers" }),
      ),
      h("div", { class: "page-head" }, h("h1", { class: "landscape-host", text: host }), sub),
      h(
        "section",
        { class: "section containers-section", "aria-labelledby": "containers-section-heading" },
        h("div", { class: "section-head" }, h("h2", { id: "containers-section-heading", text: "Containers" }), tools),
        region,
      ),
    ),
  );

  let toolsFor = "";
  /** @param {StoreState} state */
  function draw(state) {
    const view = hostContainers(state.inventory, host);
    sub.textContent = view.status === "up" ? `Docker ${view.engine?.version ?? "(version not known)"}` : "Docker containers";
    // The Run button only where the engine answers, offering this host first.
    if (toolsFor !== view.status) {
      toolsFor = view.status;
      render(tools, view.status === "up" && runContainerButton({ perms: session.perms, store, host }));
    }
    switch (view.status) {
      case "loading":
        render(region, loadState(state, store, `the containers of ${host}`));
        return;
      case "missing":
        render(region, notice("containers-no-host", `No host called ${host}`, "The master knows no hypervisor host of that name."));
        return;
      case "up":
        render(region, containersTable(view.containers, { perms: session.perms, busy: state.containerBusy ?? {}, store, host }));
        return;
      default:
        render(region, engineNotice(host, /** @type {any} */ (view.engine)));
    }
  }

  return follow(store, (state) => [state.inventory, state.containerBusy, state.error], draw);
}
