// @ts-check
// The event stream's lifetime in the app, and its small indicator in the top bar.

import { h } from "../dom.js";
import { connectEvents } from "../events.js";

const LABELS = {
  connecting: ["Connecting…", "Opening Brine's live event stream."],
  live: ["Live", "Changes on the hosts show here as they happen (Brine's event stream)."],
  down: ["Reconnecting…", "The live event stream is down; Brine retries and refetches everything once it is back."],
};

/**
 * Keep the store fed from Brine's event stream while signed in: every (re)connection refetches
 * the inventory (what happened while the stream was down), Brine events are applied as they
 * come. Shows the stream's state in a small pill placed before `indicator` (the top bar's
 * "Updated" text). Returns the function that stops it all.
 */
export function startLiveUpdates(store, { api, indicator }) {
  const pill = h("span", {
    class: "live-status",
    id: "live-status",
    dataset: { live: "connecting" },
  });
  indicator?.before(pill);

  const show = (live) => {
    const [label, title] = LABELS[live] ?? LABELS.connecting;
    pill.dataset.live = live;
    pill.textContent = label;
    pill.title = title;
    store.setLive(live);
  };
  show("connecting");

  let first = true;
  const connection = connectEvents({
    open: (signal) => api.openEventStream(signal),
    onEvent: (tag, data) => store.applyEvent(tag, data),
    onConnected: () => {
      show("live");
      // At sign-in the first refresh may already be under way; otherwise fetch what we missed.
      if (!(first && store.state.loading)) {
        store.refresh().catch(() => {});
      }
      first = false;
    },
    onDisconnected: (error, delay) => {
      show(delay === null ? "connecting" : "down");
    },
  });
  if (!store.state.loading) {
    store.refresh().catch(() => {});
  }

  return () => {
    connection.stop();
    pill.remove();
    store.setLive("off");
  };
}
