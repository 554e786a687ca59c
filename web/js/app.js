// @ts-check
// Brine's SPA entry point: the route table's pages in <main>, the top bar, sign-in/out and
// the refresh cycle. Without a session every route that is not public shows the login page
// and returns to the requested route after signing in.

import * as api from "./api.js";
import { roleName } from "./actions.js";
import { startLiveUpdates } from "./components/live-status.js";
import { mountMigrationPanel } from "./components/migration-panel.js";
import { watchDrops } from "./components/migration-drag.js";
import { clearNotices, dismiss, initNotices, notify } from "./components/notices.js";
import { followLandscapeLive, landscapeLoaders } from "./components/landscape-data.js";
import { mayReadContainers } from "./containers.js";
import { icon } from "./dom.js";
import { ApiError } from "./errors.js";
import { formatClock } from "./format.js";
import { mayRun } from "./perms.js";
import { createRouter } from "./router.js";
import { FALLBACK, LOGIN, ROUTES } from "./routes.js";
import { createAppStore } from "./slices/index.js";
import { autoRefresh } from "./store.js";

// Live updates come from Brine's events (events.js); this slow refresh is only a safety net
// for what no event says (free memory, a host that came back without its engine).
const REFRESH_INTERVAL_MS = 5 * 60 * 1000;

/** @param {string} id @returns {HTMLElement} */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const main = byId("main");
const topbar = byId("topbar");
const refreshButton = /** @type {HTMLButtonElement} */ (byId("refresh-button"));
const logoutButton = /** @type {HTMLButtonElement} */ (byId("logout-button"));
const updatedText = byId("updated");
const userName = byId("user-name");
const userRole = byId("user-role");
const navLinks = /** @type {HTMLAnchorElement[]} */ ([...document.querySelectorAll("#topnav a[data-nav]")]);

initNotices(byId("notices"), byId("status"));
refreshButton.prepend(icon("refresh"));
logoutButton.prepend(icon("logout"));

// Without a session there is nothing to ask (a late refresh after sign-out would only 401).
const store = createAppStore({
  loadInventory: () =>
    api.getSession()
      ? api.inventory()
      : Promise.reject(new ApiError("You are not signed in.", { status: 401 })),
  // Failed installs whose VM is gone: asked only where Salt's ACL allows it (salt-api answers
  // anything else with 401, which signs the user out), and a failure here is no reason to
  // lose the inventory: the records are then unknown until the next refresh.
  loadInstalls: () => {
    const session = api.getSession();
    if (!session || !mayRun(session.perms, "installs")) {
      return Promise.resolve(null);
    }
    return api.call("installs").catch((error) => {
      if (error.status === 401) {
        throw error;
      }
      return null;
    });
  },
  // The landscape's networks and pools (docs/landscape.md), where the user's role may read them.
  ...landscapeLoaders(),
});

const router = createRouter(ROUTES, { fallback: FALLBACK });
const loginHash = router.href(LOGIN);

/** @type {import("./router.js").Mountable | null} */
let currentPage = null;
/** @type {(() => void) | null} */
let stopAutoRefresh = null;
/** @type {string | null} */
let loginMessage = null;
/** @type {string | null} */
let returnTo = null;
let firstRoute = true;

/** @param {string} hash */
function navigate(hash) {
  if (location.hash === hash) {
    route();
  } else {
    location.hash = hash;
  }
}

function startRefreshing() {
  if (stopAutoRefresh === null) {
    const stopTimer = autoRefresh(store, REFRESH_INTERVAL_MS);
    // The stream's first connection refetches the inventory, as every reconnection does.
    const stopLive = startLiveUpdates(store, { api, indicator: updatedText });
    // A network's or pool's events refetch that host's networks or pools.
    const stopLandscape = followLandscapeLive(store);
    stopAutoRefresh = () => {
      stopTimer();
      stopLive();
      stopLandscape();
    };
  }
}

function stopRefreshing() {
  if (stopAutoRefresh !== null) {
    stopAutoRefresh();
    stopAutoRefresh = null;
  }
}

/** @param {string} message */
function signedOut(message) {
  stopRefreshing();
  store.reset();
  clearNotices();
  loginMessage = message;
  navigate(loginHash);
}

/**
 * The top bar's link a route belongs to: the catalog's pages, the containers' (a host's too),
 * the overview for the rest.
 * @param {string} path
 */
function navSection(path) {
  if (path.startsWith("/catalog")) {
    return "/catalog";
  }
  if (path === "/containers" || /^\/hosts\/[^/]+\/containers$/.test(path)) {
    return "/containers";
  }
  return "/";
}

/**
 * The top bar: who is signed in, and the links of the pages they may see, the current one marked.
 * @param {import("./api.js").Session | null} session
 * @param {string} [path]  the route's path
 */
function showTopbar(session, path = "/") {
  topbar.hidden = !session;
  if (session) {
    userName.textContent = session.user;
    userRole.textContent = roleName(session.perms);
    const section = navSection(path);
    for (const link of navLinks) {
      link.hidden =
        (link.dataset.nav === "/catalog" && !mayRun(session.perms, "catalog")) ||
        (link.dataset.nav === "/containers" && !mayReadContainers(session.perms));
      if (link.dataset.nav === section) {
        link.setAttribute("aria-current", "page");
      } else {
        link.removeAttribute("aria-current");
      }
    }
  }
}

function onSignedIn() {
  loginMessage = null;
  clearNotices();
  const destination = returnTo && returnTo !== loginHash ? returnTo : router.href(FALLBACK);
  returnTo = null;
  navigate(destination);
}

/**
 * Mount the page of a route.
 * @param {ReturnType<typeof router.match>} target
 * @param {import("./api.js").Session | null} session
 */
function show(target, session) {
  document.title = router.titleOf(target.route, target.params);
  const Page = target.route.page;
  currentPage = new Page({ store, session, navigate, signIn: { message: loginMessage, onSignedIn } });
  currentPage.mount(main, target.params);
}

function route() {
  currentPage?.unmount();
  currentPage = null;
  let target = router.match(location.hash);
  let session = api.getSession();

  if (session && api.sessionExpired(session)) {
    api.clearSession();
    session = null;
    loginMessage = "Your session expired. Please sign in again.";
  }

  if (!session) {
    stopRefreshing();
    showTopbar(null);
    if (!target.route.public) {
      returnTo = location.hash;
      history.replaceState(null, "", loginHash);
      target = router.match(loginHash);
    }
    show(target, null);
    return;
  }

  if (target.route.public) {
    // Signed in: the login page has nothing to offer.
    history.replaceState(null, "", router.href(FALLBACK));
    route();
    return;
  }

  showTopbar(session, target.path);
  startRefreshing();
  show(target, session);
  if (!firstRoute) {
    // Tell assistive tech the page changed, as a full navigation would.
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  firstRoute = false;
}

// The top bar follows the store: last update time, refresh progress, refresh failures.
/** @type {any} */
let shownError = null;
store.subscribe((state) => {
  refreshButton.classList.toggle("is-running", state.loading);
  refreshButton.setAttribute("aria-busy", state.loading ? "true" : "false");
  if (state.loading) {
    updatedText.textContent = "Refreshing…";
  } else if (state.updatedAt) {
    updatedText.textContent = `Updated ${formatClock(new Date(state.updatedAt))}`;
  } else {
    updatedText.textContent = "";
  }
  if (state.error !== shownError) {
    shownError = state.error;
    // The first load's failure is shown on the page itself; 401s go back to the login page.
    if (state.error && state.inventory && state.error.status !== 401) {
      notify(`Could not refresh the inventory: ${state.error.message}`, { key: "refresh" });
    } else if (!state.error) {
      dismiss("refresh");
    }
  }
});

refreshButton.addEventListener("click", () => {
  store.refresh().catch(() => {});
});

logoutButton.addEventListener("click", async () => {
  logoutButton.disabled = true;
  await api.logout();
  logoutButton.disabled = false;
  signedOut("You have signed out.");
});

api.onUnauthorized(({ expired }) => {
  if (router.match(location.hash).route.public) {
    return; // already there
  }
  returnTo = location.hash;
  signedOut(
    expired
      ? "Your session expired. Please sign in again."
      : "Salt no longer accepts your session. Please sign in again.",
  );
});

// Live migration: drops on registered targets (host cards, host tiles) on any page; the
// progress panel is on every page.
watchDrops(main, store);
mountMigrationPanel(document.body, store);

window.addEventListener("hashchange", route);
route();
