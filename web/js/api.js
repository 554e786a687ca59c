// @ts-check
// The one way the SPA talks to salt-api (docs/api.md, "salt-api, as the SPA uses it").
//
// apiRequest() sends the token, turns every failure into an ApiError with a sentence (and
// Brine's error code when the text carries one), and
// hands a 401 to the app so it can send the user back to the login page. Above it sits one
// method per Salt call. Nothing else in the SPA calls fetch().

import { callSpec } from "./calls.js";
import { ApiError, errorFromResult, errorFromText, httpErrorSentence, parseErrorCode } from "./errors.js";

/**
 * @typedef {import("./calls.js").CallArgs} CallArgs
 * @typedef {{token: string, expire: number, user: string, perms: unknown[]}} Session
 */

const API_ROOT = "/api";
const SESSION_KEY = "brine.session";

// ---- session (sessionStorage: gone when the tab closes) ----

/** The signed-in session {token, expire, user, perms}, or null. @returns {Session | null} */
export function getSession() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
    return stored && typeof stored.token === "string" ? stored : null;
  } catch {
    return null;
  }
}

function saveSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

/** True when the session's expiry time (unix seconds, from salt-api) has passed. */
export function sessionExpired(session = getSession(), now = Date.now()) {
  return Boolean(session && typeof session.expire === "number" && now / 1000 >= session.expire);
}

// ---- 401 handling ----

/** @type {(info: {expired: boolean}) => void} */
let unauthorizedHandler = () => {};

/**
 * Register what happens when salt-api answers 401 to an authenticated call: the handler gets
 * {expired: true} when the token's lifetime is over, {expired: false} otherwise.
 */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

// ---- the request layer ----

/**
 * POST (or GET) JSON to salt-api under /api/. Resolves to the parsed JSON body.
 * Throws ApiError: status 0 when salt-api could not be reached, the HTTP status otherwise.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function apiRequest(method, path, body = undefined) {
  const session = getSession();
  const headers = { Accept: "application/json" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  if (session && path !== "/login") {
    headers["X-Auth-Token"] = session.token;
  }

  let response;
  try {
    response = await fetch(`${API_ROOT}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch (err) {
    throw new ApiError(`Cannot reach salt-api: ${err.message || err}.`, { status: 0 });
  }

  if (!response.ok) {
    const text = await response.text().catch(() => "");
    const error = new ApiError(httpErrorSentence(response.status, response.statusText, text), {
      status: response.status,
      code: parseErrorCode(text).code,
    });
    if (response.status === 401 && path !== "/login" && path !== "/logout") {
      const expired = sessionExpired(session);
      clearSession();
      unauthorizedHandler({ expired });
    }
    throw error;
  }

  try {
    return await response.json();
  } catch {
    throw new ApiError("salt-api answered with something that is not JSON.", {
      status: response.status,
    });
  }
}

/**
 * Call a runner function. rest_cherrypy answers HTTP 200 even when the call failed. Brine's
 * runner functions refuse with `{"error": {"code", "message"}}` in return[0] (docs/api.md,
 * Errors); anything Salt refuses before Brine runs is a string there (the old text parsing).
 * Brine's runners always return objects, so a string there is an error too.
 */
/**
 * @param {string} fun
 * @param {Record<string, unknown>} [kwarg]
 */
async function runner(fun, kwarg = undefined) {
  /** @type {{client: string, fun: string, kwarg?: Record<string, unknown>}} */
  const low = { client: "runner", fun };
  if (kwarg !== undefined) {
    low.kwarg = kwarg;
  }
  const answer = await apiRequest("POST", "/", [low]);
  const result = Array.isArray(answer?.return) ? answer.return[0] : undefined;
  if (result === undefined) {
    throw new ApiError(`salt-api returned no result for ${fun}.`, { status: 200, fun });
  }
  if (typeof result === "string") {
    throw errorFromText(result, { status: 200, fun });
  }
  const refused = errorFromResult(result, { status: 200, fun });
  if (refused) {
    throw refused;
  }
  return result;
}

// ---- one method per Salt call ----

/**
 * Sign in with PAM. Stores the session only when Salt granted at least one permission.
 * Resolves to the stored session.
 */
export async function login(username, password) {
  let answer;
  try {
    answer = await apiRequest("POST", "/login", { username, password, eauth: "pam" });
  } catch (err) {
    if (err.status === 401) {
      throw new ApiError("Wrong username or password.", { status: 401 });
    }
    throw err;
  }
  const granted = answer?.return?.[0];
  if (!granted || typeof granted.token !== "string") {
    throw new ApiError("salt-api did not return a token.", { status: 200 });
  }
  const perms = Array.isArray(granted.perms) ? granted.perms : [];
  if (perms.length === 0) {
    throw new ApiError(
      "You signed in, but your account has no Brine role (brine-viewer, brine-operator or " +
        "brine-admin). Ask an administrator to add you to one.",
      { status: 200 },
    );
  }
  const session = {
    token: granted.token,
    expire: Number(granted.expire),
    user: granted.user ?? username,
    perms,
  };
  saveSession(session);
  return session;
}

/** Sign out at salt-api (best effort) and forget the session either way. */
export async function logout() {
  try {
    if (getSession()) {
      await apiRequest("POST", "/logout", {});
    }
  } catch {
    // The token may already be gone on the server; the local session goes regardless.
  } finally {
    clearSession();
  }
}

/**
 * Make the declared runner call `id` (calls.js) with these arguments.
 * @param {string} id
 * @param {CallArgs} [args]
 * @returns {Promise<any>}
 */
export function call(id, args = {}) {
  const spec = callSpec(id);
  return runner(spec.fun, spec.kwargs(args));
}

/** cluster.inventory: every host with its facts and VMs, plus cluster totals. */
export const inventory = () => call("inventory");
/** cluster.start(name) @param {string} name */
export const start = (name) => call("start", { name });
/** cluster.shutdown(name): ACPI shutdown; the runner waits for the guest to power off. @param {string} name */
export const shutdown = (name) => call("shutdown", { name });
/** cluster.force_off(name) @param {string} name */
export const forceOff = (name) => call("force_off", { name });
/** cluster.reboot(name) @param {string} name */
export const reboot = (name) => call("reboot", { name });
/** cluster.pause(name) @param {string} name */
export const pause = (name) => call("pause", { name });
/** cluster.resume(name) @param {string} name */
export const resume = (name) => call("resume", { name });
/**
 * cluster.delete(name, remove_disks)
 * @param {string} name
 * @param {{removeDisks?: boolean}} [options]
 */
export const deleteVm = (name, { removeDisks = false } = {}) => call("delete", { name, removeDisks });

// ---- live updates: Brine's event stream (see events.js) ----

/** Brine's event stream (the master engine brine_stream, behind nginx): not under /api/. */
export const STREAM_URL = "/stream";

/**
 * Open GET /stream with the token in X-Auth-Token (EventSource cannot send headers, and a
 * token in the URL would end up in logs). Resolves to the streaming Response; throws ApiError
 * like apiRequest (a 401 also goes to the unauthorized handler). `signal` aborts the stream.
 */
export async function openEventStream(signal) {
  const session = getSession();
  if (!session) {
    throw new ApiError("You are not signed in.", { status: 401 });
  }
  let response;
  try {
    response = await fetch(STREAM_URL, {
      method: "GET",
      headers: { Accept: "text/event-stream", "X-Auth-Token": session.token },
      cache: "no-store",
      credentials: "same-origin",
      signal,
    });
  } catch (err) {
    throw new ApiError(`Cannot reach Brine's event stream: ${err.message || err}.`, { status: 0 });
  }
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => "");
    if (response.status === 401) {
      const expired = sessionExpired(session);
      clearSession();
      unauthorizedHandler({ expired });
    }
    throw new ApiError(httpErrorSentence(response.status, response.statusText, text), {
      status: response.status,
    });
  }
  return response;
}

// ---- migration (docs/api.md, "Migration") ----

/** cluster.migration_targets(name): {<host>: {eligible, reasons, offers}} for every host. @param {string} name */
export const migrationTargets = (name) => call("migration_targets", { name });

/**
 * cluster.migrate(name, target, ...options). The runner client is synchronous: this resolves
 * only when the migration is over; progress arrives meanwhile as brine/migration/ events.
 * options: {live, max_downtime, bandwidth, copy_storage, autoconverge, offline}, unset ones omitted.
 * @param {string} name
 * @param {string} target
 * @param {Record<string, unknown>} [options]
 */
export const migrate = (name, target, options = {}) => call("migrate", { name, target, options });

/** cluster.migration_abort(name) @param {string} name */
export const migrationAbort = (name) => call("migration_abort", { name });
