// @ts-check
// The pop-out console window (console.html#<vm name>): one VM's console filling the window.
// It uses the session of the tab that opened it (window.open copies sessionStorage) and asks
// for its own one-time console ticket, with its own secret and key pair (console-crypto.js,
// made in this window: nothing passes between the windows); the runner refuses VMs that are
// off or unknown.

import * as api from "./api.js";
import { h, render } from "./dom.js";
import { createConsolePanel } from "./components/console.js";

const main = document.getElementById("main");

function vmName() {
  try {
    return decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  } catch {
    return "";
  }
}

function start() {
  const name = vmName();
  const session = api.getSession();
  if (!session || api.sessionExpired(session)) {
    document.title = "Console · Brine";
    render(
      main,
      h(
        "div",
        { class: ["card", "empty-state", "console-signin"], dataset: { testid: "console-signin" } },
        h("h1", { text: "Not signed in" }),
        h("p", {}, "Open the console from a VM's page in Brine after signing in. ", h("a", { href: "./#/login", text: "Sign in" })),
      ),
    );
    return;
  }
  if (!name) {
    render(main, h("p", { class: "empty", text: "No VM named in this window's address." }));
    return;
  }
  document.title = `${name} · Console · Brine`;
  const panel = createConsolePanel({ name, perms: session.perms, popout: false, standalone: true });
  panel.update(null);
  render(main, panel.element);
  api.onUnauthorized(() => {
    panel.destroy();
    render(main, h("p", { class: "empty", text: "Your session ended: sign in again in Brine's main window." }));
  });
  window.addEventListener("pagehide", () => panel.destroy(), { once: true });
  panel.connect();
}

start();
