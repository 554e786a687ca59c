// Brine's SPA entry point: hash routes, the top bar, sign-in/out and the refresh cycle.
//
// Routes: #/login, #/ (overview), #/vm/<name>. Without a session every route shows the login
// page and returns to the requested route after signing in.

import * as api from "./api.js";
import { roleName } from "./actions.js";
import { icon } from "./dom.js";
import { ApiError } from "./errors.js";
import { formatClock } from "./format.js";
import { autoRefresh, createStore } from "./store.js";
import { startLiveUpdates } from "./views/live-status.js";
import { mountMigrationPanel, watchDropTargets } from "./views/migration.js";
import { mountLogin } from "./views/login.js";
import { clearNotices, dismiss, initNotices, notify } from "./views/notices.js";
import { mountOverview } from "./views/overview.js";
import { mountVm } from "./views/vm.js";

// Live updates come from Brine's events (events.js); this slow refresh is only a safety net
// for what no event says (free memory, a host that came back without its engine).
const REFRESH_INTERVAL_MS = 5 * 60 * 1000;

const main = document.getElementById("main");
const topbar = document.getElementById("topbar");
const refreshButton = document.getElementById("refresh-button");
const logoutButton = document.getElementById("logout-button");
const updatedText = document.getElementById("updated");
const userName = document.getElementById("user-name");
const userRole = document.getElementById("user-role");

initNotices(document.getElementById("notices"), document.getElementById("status"));
refreshButton.prepend(icon("refresh"));
logoutButton.prepend(icon("logout"));

// Without a session there is nothing to ask (a late refresh after sign-out would only 401).
const store = createStore({
  loadInventory: () =>
    api.getSession()
      ? api.inventory()
      : Promise.reject(new ApiError("You are not signed in.", { status: 401 })),
});

let unmountView = () => {};
let stopAutoRefresh = null;
let loginMessage = null;
let returnTo = null;
let firstRoute = true;

/** "#/vm/lab-vm1" -> {name: "vm", vm: "lab-vm1"}; anything unknown is the overview. */
function parseRoute(hash) {
  const path = hash.replace(/^#/, "") || "/";
  if (path === "/login") {
    return { name: "login" };
  }
  const vm = path.match(/^\/vm\/(.+)$/);
  if (vm) {
    try {
      return { name: "vm", vm: decodeURIComponent(vm[1]) };
    } catch {
      return { name: "overview" };
    }
  }
  return { name: "overview" };
}

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
    stopAutoRefresh = () => {
      stopTimer();
      stopLive();
    };
  }
}

function stopRefreshing() {
  if (stopAutoRefresh !== null) {
    stopAutoRefresh();
    stopAutoRefresh = null;
  }
}

function signedOut(message) {
  stopRefreshing();
  store.reset();
  clearNotices();
  loginMessage = message;
  navigate("#/login");
}

function showTopbar(session) {
  topbar.hidden = !session;
  if (session) {
    userName.textContent = session.user;
    userRole.textContent = roleName(session.perms);
  }
}

function route() {
  unmountView();
  unmountView = () => {};
  const target = parseRoute(location.hash);
  let session = api.getSession();

  if (session && api.sessionExpired(session)) {
    api.clearSession();
    session = null;
    loginMessage = "Your session expired. Please sign in again.";
  }

  if (!session) {
    stopRefreshing();
    showTopbar(null);
    if (target.name !== "login") {
      returnTo = location.hash;
      history.replaceState(null, "", "#/login");
    }
    document.title = "Sign in · Brine";
    unmountView = mountLogin(main, {
      message: loginMessage,
      onSignedIn: () => {
        loginMessage = null;
        clearNotices();
        const destination = returnTo && returnTo !== "#/login" ? returnTo : "#/";
        returnTo = null;
        navigate(destination);
      },
    });
    return;
  }

  if (target.name === "login") {
    history.replaceState(null, "", "#/");
    route();
    return;
  }

  showTopbar(session);
  startRefreshing();
  const context = { store, session, navigate };
  if (target.name === "vm") {
    unmountView = mountVm(main, context, target.vm);
  } else {
    document.title = "Overview · Brine";
    unmountView = mountOverview(main, context);
  }
  if (!firstRoute) {
    // Tell assistive tech the page changed, as a full navigation would.
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  firstRoute = false;
}

// The top bar follows the store: last update time, refresh progress, refresh failures.
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
  if (parseRoute(location.hash).name === "login") {
    return; // already there
  }
  returnTo = location.hash;
  signedOut(
    expired
      ? "Your session expired. Please sign in again."
      : "Salt no longer accepts your session. Please sign in again.",
  );
});

// Live migration: host cards on any page are drop targets; the progress panel is on every page.
watchDropTargets(main, store);
mountMigrationPanel(document.body, store);

window.addEventListener("hashchange", route);
route();
