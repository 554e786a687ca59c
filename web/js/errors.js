// Turning what salt-api answers on failure into one sentence a person can act on.
// Pure functions, no DOM.

/** An error from the API layer; `status` is the HTTP status (0 when salt-api was unreachable). */
export class ApiError extends Error {
  constructor(message, { status = 0, fun = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fun = fun;
  }
}

// Salt's own exceptions carry sentences meant for people; their class name is noise.
// Other exception names (KeyError, TypeError, ...) explain what went wrong and stay.
const SALT_EXCEPTION = /^(?:salt\.exceptions\.)?(?:CommandExecutionError|SaltInvocationError|SaltRunnerError|SaltException|SaltClientError|SaltReqTimeoutError|TimeoutError|CommandNotFoundError|MinionError|ArgumentValueError|SaltCloudException|SaltRenderError|SaltSystemExit|NotImplemented): /;
const DOTTED_SALT_EXCEPTION = /^salt\.[\w.]+: /;

function stripExceptionName(line) {
  return line.replace(SALT_EXCEPTION, "").replace(DOTTED_SALT_EXCEPTION, "");
}

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
 * - anything else: the text itself, whitespace collapsed.
 */
export function errorSentence(text) {
  if (text === null || text === undefined) {
    return "Salt returned an error without a message.";
  }
  const raw = typeof text === "string" ? text : JSON.stringify(text);
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

function decodeEntities(text) {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#0?39;/g, "'")
    .replace(/&amp;/g, "&");
}

/** The message in an error body: rest_cherrypy's JSON `return`, or CherryPy's HTML page's <p>. */
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
 */
export function httpErrorSentence(status, statusText = "", body = "") {
  const known = HTTP_DEFAULTS[status] ?? `salt-api answered ${status} ${statusText}`.trim();
  const detail = bodyMessage(body);
  const sentence = detail && detail !== known ? `${known}: ${detail}` : known;
  return `${sentence} (HTTP ${status}).`.replace(/\.\s*\(HTTP/, " (HTTP");
}
