// @ts-check
// The console panel: a VM's screen in the browser with noVNC (docs/api.md, "Consoles").
//
// Connect makes a secret and an RSA-OAEP key pair for this request (console-crypto.js), asks
// salt-api for a one-time console ticket bound to the secret (cluster.console with the
// secret's hash and the public key), decrypts the ticket's VNC password with the private key,
// then opens wss://<site>/console/?token=<token>.<secret> with noVNC's RFB, which answers the
// VM's VNC password prompt with it. Neither the secret nor the password ever leaves this page
// except to websockify and the VNC server. The panel is one long-lived element: the VM page
// re-renders around it (it is moved, not rebuilt), so a connected console survives the page's
// refreshes. noVNC is loaded on first use from our own copy (web/node_modules, pinned in
// web/package.json) and is an ES module: no inline script, nothing from a CDN.

import * as api from "../api.js";
import { consoleKeys, decryptPassword } from "../console-crypto.js";
import { mayRun } from "../perms.js";
import { h } from "../dom.js";
import { keyEventsFor, MAX_PASTE_CHARS } from "../console-keys.js";
import { hasLiveMemory, statePhrase } from "../vocabulary.js";

const RFB_MODULE = "../../node_modules/@novnc/novnc/core/rfb.js";

let rfbModule = null;

/** noVNC's RFB class, imported once (the import starts early: see preloadConsole()). */
export function loadRfb() {
  if (!rfbModule) {
    rfbModule = import(RFB_MODULE).then((module) => module.default);
    rfbModule.catch(() => {
      rfbModule = null;
    });
  }
  return rfbModule;
}

/** Start loading noVNC in the background so a click does not wait for it. */
export function preloadConsole() {
  loadRfb().catch(() => {});
}

/**
 * Why this user cannot open this VM's console now, as {kind, text}; null when they can.
 * vm may be null (the pop-out window has no inventory; the runner then decides).
 */
export function consoleBlocker(vm, perms, name = vm?.name) {
  if (!mayRun(perms, "console", { name })) {
    return {
      kind: "role",
      text: "Your role may not open consoles: operators and admins can. Ask an administrator if you need one.",
    };
  }
  if (!vm) {
    return null;
  }
  if (!(vm.graphics ?? []).some((g) => g.type === "vnc")) {
    return { kind: "no-graphics", text: `${vm.name} has no graphical (VNC) console.` };
  }
  // A console needs a guest whose memory is alive in QEMU (running or paused), as the host says.
  if (!hasLiveMemory(vm.state)) {
    return { kind: "off", text: `${vm.name} is ${statePhrase(vm.state)}: start it to open its console.` };
  }
  return null;
}

/**
 * cluster.console(name) bound to this request's keys: {token, path, password_encrypted, ...}.
 * @param {string} name
 * @param {{binding: string, publicKey: string}} keys
 */
export const requestConsole = (name, { binding, publicKey }) => api.call("console", { name, binding, publicKey });

/**
 * The WebSocket path for a ticket and the secret only this page holds.
 * @param {{path: string, token: string}} ticket
 * @param {string} secret
 */
export function socketPath(ticket, secret) {
  return `${ticket.path}?token=${encodeURIComponent(`${ticket.token}.${secret}`)}`;
}

/** wss://<this site><path> (ws:// when the page itself is plain http, as in no real setup). */
export function consoleUrl(path, where = globalThis.location) {
  const scheme = where.protocol === "http:" ? "ws:" : "wss:";
  return `${scheme}//${where.host}${path}`;
}

/** A sentence for noVNC's disconnect event. */
export function disconnectSentence({ clean, wasConnected, name, byUser }) {
  if (byUser) {
    return "Disconnected.";
  }
  if (wasConnected) {
    return clean
      ? `The console of ${name} closed.`
      : `The connection to ${name}'s console was lost (the VM stopped or moved, or the network failed). Connect again to reopen it.`;
  }
  return "Could not open the console: the proxy refused the connection (a console ticket works once and only for 30 s) or could not reach the VM. Try again.";
}

/**
 * The console panel for VM `name`. Returns {element, update(vm), connect(), disconnect(),
 * destroy()}. `openConsole(name, keys)` asks for a ticket (default: requestConsole); `popout`
 * adds a button opening console.html.
 */
export function createConsolePanel({ name, perms, openConsole = requestConsole, popout = true, standalone = false }) {
  let rfb = null;
  let connected = false;
  let byUser = false;
  let vm = null;
  let blocker = null;
  let listeners = [];
  let attempt = 0;

  const status = h("span", { class: "console-status", role: "status", dataset: { testid: "console-status" } });
  const message = h("p", { class: "console-message", dataset: { testid: "console-message" }, hidden: true });
  const screen = h("div", { class: "console-screen", dataset: { testid: "console-screen" } });
  const connectButton = h("button", { type: "button", class: "btn btn-primary", dataset: { testid: "console-connect" } }, "Connect");
  const ctrlAltDel = h("button", { type: "button", class: "btn", title: "Send Ctrl+Alt+Del to the VM", dataset: { testid: "console-cad" } }, "Ctrl+Alt+Del");
  const fullscreen = h("button", { type: "button", class: "btn", title: "Show the console on the whole screen", dataset: { testid: "console-fullscreen" } }, "Full screen");
  const pasteButton = h("button", { type: "button", class: "btn", title: "Type text into the VM", "aria-expanded": "false", dataset: { testid: "console-paste" } }, "Paste text…");
  const scaling = h(
    "select",
    { class: "console-scaling", "aria-label": "Scaling", dataset: { testid: "console-scaling" } },
    h("option", { value: "fit", text: "Fit to panel" }),
    h("option", { value: "actual", text: "Actual size" }),
  );
  const popoutButton = popout
    ? h("button", { type: "button", class: "btn", title: "Open the console in its own window", dataset: { testid: "console-popout" } }, "Pop out")
    : null;
  const pasteText = h("textarea", {
    class: "console-paste-text",
    rows: "3",
    maxlength: String(MAX_PASTE_CHARS),
    "aria-label": "Text to type into the VM",
    placeholder: "Text to type into the VM (a new line is Enter)",
    dataset: { testid: "console-paste-text" },
  });
  const pasteSend = h("button", { type: "button", class: "btn btn-primary", dataset: { testid: "console-paste-send" } }, "Type it");
  const pasteForm = h("div", { class: "console-paste", hidden: true }, pasteText, pasteSend);

  const toolbar = h(
    "div",
    { class: "console-toolbar" },
    status,
    h("span", { class: "console-spacer" }),
    connectButton,
    ctrlAltDel,
    pasteButton,
    h("label", { class: "console-scaling-label" }, "Scaling ", scaling),
    fullscreen,
    popoutButton,
  );
  const element = h(
    "section",
    {
      class: ["card", "section-card", "console-card", standalone && "console-standalone"],
      "aria-labelledby": `console-heading-${name}`,
      dataset: { testid: "console", consoleState: "idle" },
    },
    h("h2", { id: `console-heading-${name}`, class: standalone ? "visually-hidden" : null, text: "Console" }),
    toolbar,
    message,
    pasteForm,
    screen,
  );

  function setState(state, text) {
    element.dataset.consoleState = state;
    status.textContent = text;
    const live = state === "connected";
    const busy = state === "requesting" || state === "connecting";
    connectButton.textContent = live || busy ? "Disconnect" : "Connect";
    connectButton.disabled = Boolean(blocker) && !live && !busy;
    ctrlAltDel.disabled = !live;
    pasteButton.disabled = !live;
    pasteSend.disabled = !live;
    fullscreen.disabled = !live;
    if (popoutButton) {
      popoutButton.disabled = Boolean(blocker);
    }
    screen.classList.toggle("is-live", live || busy);
    // Nothing to operate while the console cannot be opened: only the message shows.
    toolbar.hidden = Boolean(blocker) && !live && !busy;
    if (!live) {
      pasteForm.hidden = true;
      pasteButton.setAttribute("aria-expanded", "false");
    }
  }

  function showMessage(text, kind = "info") {
    message.hidden = !text;
    message.textContent = text ?? "";
    message.dataset.kind = kind;
  }

  function teardown() {
    for (const [type, handler] of listeners) {
      rfb?.removeEventListener(type, handler);
    }
    listeners = [];
    if (rfb) {
      const old = rfb;
      rfb = null;
      try {
        old.disconnect();
      } catch {
        // already closed
      }
    }
    connected = false;
    screen.replaceChildren();
  }

  function listen(type, handler) {
    rfb.addEventListener(type, handler);
    listeners.push([type, handler]);
  }

  function applyScaling() {
    if (rfb) {
      rfb.scaleViewport = scaling.value === "fit";
      rfb.clipViewport = false;
      rfb.resizeSession = false;
    }
    screen.classList.toggle("is-actual-size", scaling.value === "actual");
  }

  async function connect() {
    if (blocker || rfb) {
      return;
    }
    const mine = ++attempt;
    byUser = false;
    showMessage(null);
    setState("requesting", "Asking for a console…");
    let RFB;
    let ticket;
    let keys;
    let password;
    try {
      keys = await consoleKeys();
      const { binding, publicKey } = keys;
      [RFB, ticket] = await Promise.all([loadRfb(), openConsole(name, { binding, publicKey })]);
      password = await decryptPassword(keys.privateKey, ticket.password_encrypted);
    } catch (err) {
      if (mine !== attempt) {
        return;
      }
      setState("failed", "Not connected");
      showMessage(err?.message ? `Could not open the console: ${err.message}` : `Could not open the console: ${err}`, "error");
      return;
    }
    if (mine !== attempt) {
      return; // disconnected (or torn down) while waiting
    }
    setState("connecting", `Connecting to ${name} on ${ticket.host}…`);
    try {
      rfb = new RFB(screen, consoleUrl(socketPath(ticket, keys.secret)), {
        credentials: { password },
        wsProtocols: ["binary"],
      });
    } catch (err) {
      setState("failed", "Not connected");
      showMessage(`Could not open the console: ${err.message || err}`, "error");
      return;
    }
    applyScaling();
    rfb.background = "rgb(17, 17, 17)";
    let askedCredentials = false;
    listen("connect", () => {
      connected = true;
      setState("connected", `Connected to ${name} on ${ticket.host}`);
      const canvas = screen.querySelector("canvas");
      if (canvas) {
        // The VM page re-renders around this panel; render() gives focus back by this key.
        canvas.dataset.focusKey = `console-${name}`;
        canvas.setAttribute("aria-label", `Screen of ${name}`);
      }
      rfb.focus({ preventScroll: true });
    });
    listen("disconnect", (event) => {
      const sentence = disconnectSentence({ clean: event.detail?.clean, wasConnected: connected, name, byUser });
      teardown();
      setState(byUser ? "idle" : "disconnected", "Not connected");
      if (!byUser) {
        showMessage(sentence, connected ? "info" : "error");
      }
      if (blocker) {
        showMessage(blocker.text, "info");
      }
    });
    listen("credentialsrequired", () => {
      // The ticket's password was offered already; a second prompt means it was not accepted.
      if (!askedCredentials && password) {
        askedCredentials = true;
        rfb.sendCredentials({ password });
        return;
      }
      showMessage("The VM's VNC server asked for credentials Brine does not have.", "error");
      rfb.disconnect();
    });
    listen("securityfailure", (event) => {
      const reason = event.detail?.reason ? ` (${event.detail.reason})` : "";
      showMessage(
        `The VM's VNC server refused the one-time password${reason}; it is valid for 30 s only. Connect again.`,
        "error",
      );
    });
    listen("desktopname", (event) => {
      screen.title = event.detail?.name ?? "";
    });
  }

  function disconnect() {
    attempt += 1;
    byUser = true;
    const had = rfb !== null;
    teardown();
    setState("idle", "Not connected");
    if (!had) {
      showMessage(blocker ? blocker.text : null);
    }
  }

  function typeText(text) {
    if (!rfb || !connected) {
      return;
    }
    for (const [keysym, code, down] of keyEventsFor(text.slice(0, MAX_PASTE_CHARS))) {
      rfb.sendKey(keysym, code, down);
    }
    rfb.focus({ preventScroll: true });
  }

  connectButton.addEventListener("click", () => {
    if (rfb || element.dataset.consoleState === "requesting") {
      disconnect();
    } else {
      connect();
    }
  });
  ctrlAltDel.addEventListener("click", () => rfb?.sendCtrlAltDel());
  scaling.addEventListener("change", applyScaling);
  fullscreen.addEventListener("click", () => {
    (standalone ? element : screen).requestFullscreen?.().catch(() => {});
    rfb?.focus({ preventScroll: true });
  });
  pasteButton.addEventListener("click", () => {
    pasteForm.hidden = !pasteForm.hidden;
    pasteButton.setAttribute("aria-expanded", String(!pasteForm.hidden));
    if (!pasteForm.hidden) {
      pasteText.focus();
    }
  });
  pasteSend.addEventListener("click", () => {
    typeText(pasteText.value);
    pasteText.value = "";
    pasteForm.hidden = true;
    pasteButton.setAttribute("aria-expanded", "false");
  });
  popoutButton?.addEventListener("click", () => {
    // No "noopener": the new window needs a copy of this tab's session (sessionStorage).
    const win = window.open(`console.html#${encodeURIComponent(name)}`, `brine-console-${name}`, "popup,width=1040,height=820");
    if (win) {
      disconnect();
      showMessage("The console is open in its own window.");
    }
  });

  function update(next) {
    vm = next;
    const wasBlocked = blocker !== null;
    blocker = consoleBlocker(vm, perms, name);
    if (blocker && (rfb || element.dataset.consoleState === "requesting")) {
      disconnect();
    }
    if (blocker) {
      showMessage(blocker.text, "info");
      element.dataset.blocked = blocker.kind;
    } else {
      delete element.dataset.blocked;
      if (wasBlocked) {
        showMessage(null);
      }
    }
    setState(element.dataset.consoleState, status.textContent || "Not connected");
  }

  function destroy() {
    attempt += 1;
    byUser = true;
    teardown();
  }

  applyScaling();
  setState("idle", "Not connected");
  return { element, update, connect, disconnect, destroy };
}
