// The event stream reader: SSE parsing, Brine's event messages, backoff and reconnection.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  HEALTHY_AFTER_MS,
  backoffDelay,
  connectEvents,
  createSseParser,
  isBrineTag,
  parseSaltEvent,
} from "../js/events.js";

function collect() {
  const events = [];
  const retries = [];
  const parser = createSseParser((event) => events.push(event), (ms) => retries.push(ms));
  return { parser, events, retries };
}

// What Brine's /stream sends (brine.stream.format_event: salt-api's shape, the host's payload
// checked and unwrapped, with `host` the minion that sent it), a keepalive comment, and the
// resync hint it sends before cutting off a client that fell behind. The salt/job event is one
// the stream never sends: the reader must ignore it all the same.
const SALT_STREAM =
  "retry: 400\n" +
  ": keepalive\n\n" +
  "tag: brine/vm/hv1/lab-vm1/state\n" +
  'data: {"tag":"brine/vm/hv1/lab-vm1/state","data":{"host":"hv1","name":"lab-vm1","event":"suspended","state":"paused"}}\n\n' +
  "tag: salt/job/1/new\n" +
  'data: {"tag": "salt/job/1/new", "data": {"jid": "1"}}\n\n';
const RESYNC = 'event: resync\ndata: {"reason": "more than 1000 events were waiting"}\n\n';

describe("createSseParser", () => {
  test("parses the stream: retry, tag and data fields, comments, blank-line separated", () => {
    const { parser, events, retries } = collect();
    parser.feed(SALT_STREAM);
    assert.deepEqual(retries, [400]);
    assert.equal(events.length, 2);
    assert.equal(events[0].tag, "brine/vm/hv1/lab-vm1/state");
    assert.equal(events[0].event, "message");
    assert.equal(JSON.parse(events[0].data).data.state, "paused");
    assert.equal(events[1].tag, "salt/job/1/new");
  });

  test("the same events whatever the chunking, one character at a time included", () => {
    const whole = collect();
    whole.parser.feed(SALT_STREAM);
    for (const size of [1, 2, 3, 7, 50]) {
      const split = collect();
      for (let i = 0; i < SALT_STREAM.length; i += size) {
        split.parser.feed(SALT_STREAM.slice(i, i + size));
      }
      assert.deepEqual(split.events, whole.events, `chunks of ${size}`);
    }
  });

  test("CRLF and lone CR line ends, a CR at a chunk's end followed by LF in the next", () => {
    const { parser, events } = collect();
    parser.feed("data: a\r\ndata: b\r");
    parser.feed("\n\r\ndata: c\r\r");
    assert.deepEqual(
      events.map((e) => e.data),
      ["a\nb", "c"],
    );
  });

  test("comments, unknown fields and events without data are skipped; one leading space is trimmed", () => {
    const { parser, events } = collect();
    parser.feed(": keepalive\n\nfoo: bar\n\nevent: custom\nid: 7\ndata:  two spaces\ndata\n\n");
    assert.deepEqual(events, [{ event: "custom", data: " two spaces\n", id: "7", tag: null }]);
  });

  test("an unfinished event is not dispatched, and reset() drops it", () => {
    const { parser, events } = collect();
    parser.feed("data: half");
    assert.equal(events.length, 0);
    parser.reset();
    parser.feed("\n\n");
    assert.equal(events.length, 0);
  });
});

describe("parseSaltEvent", () => {
  test("a host's event comes as the stream sent it: the payload with its host", () => {
    const { parser, events } = collect();
    parser.feed(SALT_STREAM);
    const event = parseSaltEvent(events[0]);
    assert.equal(event.tag, "brine/vm/hv1/lab-vm1/state");
    assert.deepEqual(event.data, { host: "hv1", name: "lab-vm1", event: "suspended", state: "paused" });
  });

  test("the resync hint carries no tag: nothing is applied, the reconnection refetches", () => {
    const { parser, events } = collect();
    parser.feed(RESYNC);
    assert.equal(events[0].event, "resync");
    const event = parseSaltEvent(events[0]);
    assert.equal(event.tag, "");
    assert.equal(isBrineTag(event.tag), false);
  });

  test("an event the master fires itself keeps its payload as it is", () => {
    const event = parseSaltEvent({
      data: JSON.stringify({ tag: "brine/migration/m1/failed", data: { id: "m1", vm: "v", error: "no", _stamp: "t" } }),
    });
    assert.equal(event.data.error, "no");
    assert.equal(event.data.vm, "v");
  });

  test("not JSON -> null; only brine/ tags count", () => {
    assert.equal(parseSaltEvent({ data: "{'python': 'repr'}" }), null);
    assert.equal(isBrineTag("brine/host/hv1/resync"), true);
    assert.equal(isBrineTag("salt/job/1/ret/hv1"), false);
    assert.equal(isBrineTag("salt/minion/hv1/start"), true, "a restarted minion: refetch");
    assert.equal(isBrineTag("salt/minion/hv1/start/x"), false);
    assert.equal(isBrineTag("brinex/x"), false);
  });
});

describe("backoffDelay", () => {
  test("doubles from 0.5 s up to 30 s, never more", () => {
    const noJitter = { random: () => 0 };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoffDelay(n, noJitter)),
      [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
    );
  });

  test("jitter only shortens, by at most a quarter", () => {
    assert.equal(backoffDelay(3, { random: () => 1 }), 3000);
    assert.equal(backoffDelay(3, { random: () => 0.5 }), 3500);
  });
});

/** A stream body the test writes into, as fetch() would give it. */
function fakeStream() {
  let control;
  const body = new ReadableStream({
    start(c) {
      control = c;
    },
  });
  const encoder = new TextEncoder();
  return {
    response: { ok: true, status: 200, body },
    write: (text) => control.enqueue(encoder.encode(text)),
    end: () => control.close(),
    fail: (err) => control.error(err),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

/** connectEvents with a manual clock and timer queue. */
function harness({ opens }) {
  const timers = [];
  const log = [];
  let clock = 0;
  let openCalls = 0;
  const connection = connectEvents({
    open: async () => {
      const next = opens[openCalls];
      openCalls += 1;
      if (next instanceof Error) {
        throw next;
      }
      return next.response;
    },
    onEvent: (tag, data) => log.push(["event", tag, data.state ?? data.vm ?? null]),
    onConnected: () => log.push(["connected"]),
    onDisconnected: (err, delay) => log.push(["down", delay]),
    backoff: (attempt) => 1000 * 2 ** attempt,
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return timers.length;
    },
    clearTimer: () => {},
    now: () => clock,
  });
  return {
    connection,
    log,
    timers,
    advance: (ms) => {
      clock += ms;
    },
    fireTimer: async () => {
      timers.shift().fn();
      await settle();
    },
    get openCalls() {
      return openCalls;
    },
  };
}

describe("connectEvents", () => {
  test("passes Brine events on, drops the rest", async () => {
    const stream = fakeStream();
    const h = harness({ opens: [stream] });
    await settle();
    stream.write(SALT_STREAM);
    await settle();
    assert.deepEqual(h.log, [["connected"], ["event", "brine/vm/hv1/lab-vm1/state", "paused"]]);
    h.connection.stop();
  });

  test("reconnects with growing delays while salt-api is away, and reports each (re)connection", async () => {
    const first = fakeStream();
    const second = fakeStream();
    const refused = Object.assign(new Error("502 Bad Gateway"), { status: 502 });
    const h = harness({ opens: [first, refused, refused, second] });
    await settle();
    first.end(); // salt-api restarted
    await settle();
    await h.fireTimer();
    await h.fireTimer();
    await h.fireTimer();
    assert.deepEqual(h.log, [["connected"], ["down", 1000], ["down", 2000], ["down", 4000], ["connected"]]);
    assert.equal(h.connection.connected, true);
    assert.equal(h.openCalls, 4);
    h.connection.stop();
  });

  test("a connection that stayed up a while resets the backoff", async () => {
    const streams = [fakeStream(), fakeStream(), fakeStream()];
    const h = harness({ opens: streams });
    await settle();
    streams[0].fail(new Error("network")); // dies at once
    await settle();
    await h.fireTimer();
    h.advance(HEALTHY_AFTER_MS);
    streams[1].end(); // nginx closed an idle stream after a long while
    await settle();
    assert.deepEqual(
      h.log.filter((entry) => entry[0] === "down"),
      [["down", 1000], ["down", 1000]],
    );
    h.connection.stop();
  });

  test("a 401 stops for good (the app signs the user out) instead of retrying", async () => {
    const denied = Object.assign(new Error("401"), { status: 401 });
    const h = harness({ opens: [denied] });
    await settle();
    assert.deepEqual(h.log, [["down", null]]);
    assert.equal(h.timers.length, 0);
  });

  test("stop() closes the stream and cancels a pending retry", async () => {
    const stream = fakeStream();
    const h = harness({ opens: [stream, fakeStream()] });
    await settle();
    h.connection.stop();
    stream.end();
    await settle();
    assert.equal(h.timers.length, 0);
    assert.equal(h.connection.connected, false);
  });
});
