// @ts-check
// Turning what salt-api answers on failure into a code and one sentence a person can act on.
// Brine's errors read "[<code>] <sentence>" inside whatever Salt wraps around them (a runner
// traceback, "ERROR: ..."): code decides on the code, people read the sentence, and nothing
// decides on wording. Pure functions, no DOM.

/**
 * Every code Brine sends: exactly the keys of Python's brine.errors.CODES
 * (_utils/brine/errors.py; tests/unit/test_errors.py proves the two equal).
 */
export const ERROR_CODES = Object.freeze([
  "invalid_argument",
  "no_vm",
  "ambiguous_vm",
  "no_host",
  "unreachable",
  "host_error",
  "libvirt_unavailable",
  "libvirt_error",
  "already_running",
  "already_off",
  "already_paused",
  "not_running",
  "wrong_state",
  "timeout",
  "no_console",
  "migration_refused",
  "migration_busy",
  "migration_failed",
  "no_migration",
  "no_entry",
  "in_use",
  "vm_exists",
  "no_room",
  "install_failed",
  "no_network",
  "no_pool",
  "docker_unavailable",
  "docker_error",
  "no_container",
  "container_exists",
  "port_in_use",
  "no_image",
  "internal",
]);

const KNOWN_CODES = new Set(ERROR_CODES);
// As Python's brine.errors.CODE_RE.
const CODE_RE = /\[([a-z][a-z_]{1,39})\] /;

/**
 * {code, text} from a text that carries "[<code>] <sentence>" on a line of its own or after
 * what Salt puts before it; the last coded line wins (a traceback ends with the exception that
 * was raised). `text` is what follows the code on that line. Without a known code:
 * {code: null, text} with the text unchanged.
 * @param {unknown} text
 * @returns {{code: string | null, text: string}}
 */
export function parseErrorCode(text) {
  const raw = typeof text === "string" ? text : text === null || text === undefined ? "" : String(text);
  let found = null;
  for (const line of raw.split(/\r?\n/)) {
    const match = CODE_RE.exec(line);
    if (match) {
      found = { code: match[1], text: line.slice(match.index + match[0].length).trim() };
    }
  }
  return found && KNOWN_CODES.has(found.code) ? found : { code: null, text: raw };
}

/**
 * An error from the API layer. `status` is the HTTP status (0 when salt-api was unreachable);
 * `code` Brine's error code (one of ERROR_CODES) or null; `message` the sentence for people.
 */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, fun?: string | null, code?: string | null}} [details]
   */
  constructor(message, { status = 0, fun = null, code = null } = {}) {
    super(message);
    this.name = "ApiError";
    /** @type {number} */
    this.status = status;
    /** @type {string | null} */
    this.fun = fun;
    /** @type {string | null} */
    this.code = code && KNOWN_CODES.has(code) ? code : null;
  }
}

/**
 * An ApiError from a Salt error text: the code parsed out, the sentence without it.
 * @param {unknown} text
 * @param {{status?: number, fun?: string | null}} [details]
 */
export function errorFromText(text, details = {}) {
  return new ApiError(errorSentence(text), { ...details, code: parseErrorCode(text).code });
}

/**
 * The refusal in a runner's return: Brine's runner functions return
 * `{"error": {"code", "message"}}` (docs/api.md, Errors) instead of raising. Null for any
 * other return.
 * @param {unknown} result
 * @returns {{code: string, message: string} | null}
 */
export function runnerRefusal(result) {
  if (!result || typeof result !== "object" || Array.isArray(result)) {
    return null;
  }
  const error = /** @type {{error?: unknown}} */ (result).error;
  if (!error || typeof error !== "object") {
    return null;
  }
  const { code, message } = /** @type {{code?: unknown, message?: unknown}} */ (error);
  if (typeof code !== "string" || typeof message !== "string") {
    return null;
  }
  return { code, message };
}

/**
 * An ApiError from a runner's structured refusal (see runnerRefusal): its code (null when not
 * one of ERROR_CODES) and its sentence as it is; null when `result` is not a refusal.
 * @param {unknown} result
 * @param {{status?: number, fun?: string | null}} [details]
 * @returns {ApiError | null}
 */
export function errorFromResult(result, details = {}) {
  const refusal = runnerRefusal(result);
  if (!refusal) {
    return null;
  }
  const message = refusal.message.trim() || "The call was refused.";
  return new ApiError(message, { ...details, code: refusal.code });
}

/** Is `error` an error with this Brine code? @param {unknown} error @param {string} code */
export function hasCode(error, code) {
  return Boolean(error) && typeof error === "object" && /** @type {{code?: unknown}} */ (error).code === code;
}

// Salt's own exceptions carry sentences meant for people; their class name is noise.
// Other exception names (KeyError, TypeError, ...) explain what went wrong and stay.
const SALT_EXCEPTION = /^(?:salt\.exceptions\.)?(?:CommandExecutionError|SaltInvocationError|SaltRunnerError|SaltException|SaltClientError|SaltReqTimeoutError|TimeoutError|CommandNotFoundError|MinionError|ArgumentValueError|SaltCloudException|SaltRenderError|SaltSystemExit|NotImplemented): /;
const DOTTED_SALT_EXCEPTION = /^salt\.[\w.]+: /;

/** @param {string} line */
function stripExceptionName(line) {
  return line.replace(SALT_EXCEPTION, "").replace(DOTTED_SALT_EXCEPTION, "");
}

/** @param {string} line */
function isTracebackNoise(line) {
  return (
    line === "" ||
    /^\s/.test(line) || // indented: "  File ...", source lines, carets
    line.startsWith("Traceback (most recent call last)") ||
    line.startsWith("During handling of the above exception") ||
    line.startsWith("The above exception was the direct cause")
  );
}

/**
 * The sentence inside a Salt error text.
 *
 * - "Exception occurred in runner cluster.start: Traceback ... \nsalt.exceptions.
 *   CommandExecutionError: lab-vm1 is already running\n" -> "lab-vm1 is already running"
 * - "\nPassed invalid arguments: start() got an unexpected keyword argument 'x'\n\nUsage:..."
 *   -> "Passed invalid arguments: start() got an unexpected keyword argument 'x'"
 * - "... CommandExecutionError: [not_running] lab-vm3 is not running on hv1" (a Brine error
 *   with its code) -> "lab-vm3 is not running on hv1": the code is for code, not for people.
 * - anything else: the text itself, whitespace collapsed.
 * @param {unknown} text
 * @returns {string}
 */
export function errorSentence(text) {
  if (text === null || text === undefined) {
    return "Salt returned an error without a message.";
  }
  const raw = typeof text === "string" ? text : JSON.stringify(text);
  const coded = parseErrorCode(raw);
  if (coded.code !== null) {
    return coded.text === "" ? "Salt returned an error without a message." : coded.text;
  }
  const trimmed = raw.trim();
  if (trimmed === "") {
    return "Salt returned an error without a message.";
  }

  if (trimmed.includes("Traceback (most recent call last)")) {
    const lines = trimmed.split(/\r?\n/);
    for (let i = lines.length - 1; i >= 0; i -= 1) {
      const line = lines[i].trimEnd();
      if (!isTracebackNoise(line)) {
        const sentence = stripExceptionName(line.trim());
        if (sentence !== "") {
          return sentence;
        }
      }
    }
  }

  // The runner client's answer to a call with wrong arguments is followed by the docstring.
  const invalidArgs = trimmed.match(/^Passed invalid arguments:[^\n]*/);
  if (invalidArgs) {
    return invalidArgs[0].trim();
  }

  // "Exception occurred in runner cluster.x: <message>" without a traceback.
  const occurred = trimmed.match(/^Exception occurred in \w+ [\w.]+: ([\s\S]+)$/);
  const body = occurred ? occurred[1] : trimmed;
  const collapsed = stripExceptionName(body.replace(/\s+/g, " ").trim());
  return collapsed.length > 400 ? `${collapsed.slice(0, 399)}…` : collapsed;
}

/** @type {Record<number, string>} */
const HTTP_DEFAULTS = {
  400: "Salt rejected the request as invalid",
  401: "Salt did not accept your session",
  403: "Salt refused the request",
  404: "salt-api was not found at /api/",
  406: "salt-api cannot answer in JSON",
  500: "salt-api hit an unexpected error",
  502: "salt-api is not reachable",
  503: "Salt is not available right now",
  504: "Salt did not answer in time",
};

/** @param {string} text */
function decodeEntities(text) {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#0?39;/g, "'")
    .replace(/&amp;/g, "&");
}

/** The message in an error body: rest_cherrypy's JSON `return`, or CherryPy's HTML page's <p>. */
/** @param {string} body @returns {string | null} */
function bodyMessage(body) {
  if (!body) {
    return null;
  }
  try {
    const data = JSON.parse(body);
    if (data && typeof data.return === "string") {
      return errorSentence(data.return);
    }
  } catch {
    // not JSON; try HTML below
  }
  const paragraph = body.match(/<p>([\s\S]*?)<\/p>/i);
  if (paragraph) {
    const text = decodeEntities(paragraph[1].replace(/<[^>]*>/g, "")).replace(/\s+/g, " ").trim();
    // CherryPy's generic 401/404 pages add nothing to the status line.
    if (text && !/^(This server could not verify|Nothing matches the given URI)/.test(text)) {
      return text;
    }
  }
  return null;
}

/**
 * One sentence for an HTTP error from salt-api or nginx, e.g.
 * "Salt refused the request: No permission (HTTP 403)".
 * @param {number} status
 * @param {string} [statusText]
 * @param {string} [body]
 */
export function httpErrorSentence(status, statusText = "", body = "") {
  const known = HTTP_DEFAULTS[status] ?? `salt-api answered ${status} ${statusText}`.trim();
  const detail = bodyMessage(body);
  const sentence = detail && detail !== known ? `${known}: ${detail}` : known;
  return `${sentence} (HTTP ${status}).`.replace(/\.\s*\(HTTP/, " (HTTP");
}
