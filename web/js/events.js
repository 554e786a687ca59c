// @ts-check
// Live updates: Brine's event stream (Server-Sent Events from the master engine brine_stream,
// at /stream), read with fetch().
//
// Why not EventSource: it cannot send the X-Auth-Token header, and a token in the query string
// would end up in logs. So api.openEventStream() fetches /stream with the header, and this
// module parses the SSE text from the response body, keeps only Brine's events, and reconnects
// with backoff when the stream ends or fails (master or salt-api restart, a client that fell
// behind and was cut off with a "resync" message). After every (re)connection it tells the
// caller, who refetches the inventory: whatever happened while the stream was down is then in
// the picture.
//
// Pure parts (parser, salt event unwrapping, backoff) are exported for the node tests.

/**
 * An incremental parser of the text/event-stream format (WHATWG HTML, "Server-sent events"):
 * feed() it text as it arrives, in chunks of any size; it calls onEvent({event, data, id, tag})
 * for every complete event. Lines end in \n, \r\n or \r; "data" lines are joined with \n;
 * comments (":") are skipped; an event with no data is not dispatched. The stream (like
 * salt-api's) adds a non-standard "tag" field, kept as `tag`. "retry" values go to onRetry(ms).
 * @param {(event: {event: string, data: string, id: string, tag: string | null}) => void} onEvent
 * @param {(ms: number) => void} [onRetry]
 */
export function createSseParser(onEvent, onRetry = () => {}) {
  let buffer = "";
  let data = [];
  let eventType = "";
  let tag = null;
  let lastId = "";
  let pendingCR = false; // a chunk ended in \r: a \n starting the next one belongs to it

  function dispatch() {
    if (data.length > 0) {
      onEvent({ event: eventType || "message", data: data.join("\n"), id: lastId, tag });
    }
    data = [];
    eventType = "";
    tag = null;
  }

  function line(text) {
    if (text === "") {
      dispatch();
      return;
    }
    if (text.startsWith(":")) {
      return;
    }
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) {
      value = value.slice(1);
    }
    if (field === "data") {
      data.push(value);
    } else if (field === "event") {
      eventType = value;
    } else if (field === "id") {
      if (!value.includes("\0")) {
        lastId = value;
      }
    } else if (field === "retry") {
      if (/^\d+$/.test(value)) {
        onRetry(Number(value));
      }
    } else if (field === "tag") {
      tag = value;
    }
  }

  return {
    feed(chunk) {
      let text = chunk;
      if (pendingCR && text.startsWith("\n")) {
        text = text.slice(1);
      }
      pendingCR = false;
      buffer += text;
      let start = 0;
      for (let i = 0; i < buffer.length; i += 1) {
        const ch = buffer[i];
        if (ch === "\n" || ch === "\r") {
          line(buffer.slice(start, i));
          if (ch === "\r") {
            if (i + 1 === buffer.length) {
              pendingCR = true;
            } else if (buffer[i + 1] === "\n") {
              i += 1;
            }
          }
          start = i + 1;
        }
      }
      buffer = buffer.slice(start);
    },
    /** The stream ended: an unfinished event is dropped, as the spec says. */
    reset() {
      buffer = "";
      data = [];
      eventType = "";
      tag = null;
      pendingCR = false;
    },
  };
}

/**
 * One SSE message of the stream -> {tag, data}, or null when it is not JSON.
 *
 * The stream sends {"tag", "data"} (salt-api's shape) where data is Brine's payload, already
 * checked and unwrapped on the master: a host's event carries `host`, the minion that sent it.
 * Other messages (the "resync" hint before the stream cuts a client off) have no tag.
 */
export function parseSaltEvent(message) {
  let parsed;
  try {
    parsed = JSON.parse(message.data);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== "object") {
    return null;
  }
  const tag = typeof parsed.tag === "string" ? parsed.tag : message.tag ?? "";
  const data = parsed.data && typeof parsed.data === "object" ? parsed.data : {};
  return { tag, data };
}

/**
 * Is this an event the SPA acts on? Brine's own tags, and a minion's (re)start
 * (salt/minion/<id>/start): its host's engine starts afresh, and whatever changed there while
 * the minion or the master was away had no event.
 */
export function isBrineTag(tag) {
  return typeof tag === "string" && (tag.startsWith("brine/") || /^salt\/minion\/[^/]+\/start$/.test(tag));
}

/**
 * Wait before reconnection attempt `attempt` (0 = first retry): exponential from `baseMs`,
 * capped at `maxMs`, with up to 25 % random jitter subtracted so a restarted salt-api is not
 * hit by every open tab at the same instant.
 */
export function backoffDelay(attempt, { baseMs = 500, maxMs = 30000, random = Math.random } = {}) {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(exponential * (1 - 0.25 * random()));
}

/** A connection that stayed up this long counts as healthy: the next failure retries fast. */
export const HEALTHY_AFTER_MS = 10000;

/**
 * Keep an event stream open until stop() is called.
 *
 * @param {object} deps
 * @param {(signal: AbortSignal) => Promise<Response>} deps.open  opens the stream (api.openEventStream);
 *   rejects with an error whose `status` is 401 when the stream refuses the token (then this
 *   stops: the app is signing the user out), anything else is retried.
 * @param {(tag: string, data: object) => void} deps.onEvent  Brine events (tags brine/...)
 * @param {() => void} [deps.onConnected]  every time the stream is (re)opened
 * @param {(error: Error, delayMs: number | null) => void} [deps.onDisconnected]  the stream is down; retry in
 *   delayMs (null: not retried)
 * @param {typeof backoffDelay} [deps.backoff]  the delay before retry number `attempt`
 * @param {(fn: () => void, ms: number) => any} [deps.setTimer]   (tests pass fakes of these three)
 * @param {(id: any) => void} [deps.clearTimer]
 * @param {() => number} [deps.now]
 * @returns {{stop: () => void, readonly connected: boolean}}
 */
export function connectEvents({
  open,
  onEvent,
  onConnected = () => {},
  onDisconnected = () => {},
  backoff = backoffDelay,
  setTimer = (fn, ms) => setTimeout(fn, ms),
  clearTimer = (id) => clearTimeout(id),
  now = () => Date.now(),
}) {
  let stopped = false;
  let attempt = 0;
  let timer = null;
  let controller = null;
  let connected = false;

  async function readStream(response) {
    const parser = createSseParser((message) => {
      const event = parseSaltEvent(message);
      if (event && isBrineTag(event.tag)) {
        onEvent(event.tag, event.data);
      }
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        parser.feed(decoder.decode());
        return;
      }
      parser.feed(decoder.decode(value, { stream: true }));
    }
  }

  async function run() {
    timer = null;
    if (stopped) {
      return;
    }
    controller = new AbortController();
    const openedAt = now();
    let failure;
    try {
      const response = await open(controller.signal);
      if (stopped) {
        return;
      }
      connected = true;
      onConnected();
      await readStream(response);
      failure = new Error("The event stream ended.");
    } catch (err) {
      failure = err;
    }
    connected = false;
    if (stopped) {
      return;
    }
    if (failure?.status === 401) {
      stopped = true;
      onDisconnected(failure, null);
      return;
    }
    if (now() - openedAt >= HEALTHY_AFTER_MS) {
      attempt = 0;
    }
    const delay = backoff(attempt);
    attempt += 1;
    onDisconnected(failure, delay);
    timer = setTimer(run, delay);
  }

  run();

  return {
    stop() {
      stopped = true;
      connected = false;
      if (timer !== null) {
        clearTimer(timer);
        timer = null;
      }
      controller?.abort();
    },
    get connected() {
      return connected;
    },
  };
}
