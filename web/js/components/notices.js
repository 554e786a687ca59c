// @ts-check
// Dismissible banners for errors and results, and a polite live region for status updates.

import { h, icon } from "../dom.js";

const MAX_NOTICES = 4;
const SUCCESS_MS = 6000;

let region = null;
let status = null;
let counter = 0;

/** Attach to the page: `regionEl` holds banners, `statusEl` is an aria-live="polite" region. */
export function initNotices(regionEl, statusEl) {
  region = regionEl;
  status = statusEl;
}

/** Remove the banner with this key, if shown. */
export function dismiss(key) {
  region?.querySelector(`[data-notice-key="${CSS.escape(key)}"]`)?.remove();
}

/** Remove every banner (on sign-out). */
export function clearNotices() {
  region?.replaceChildren();
}

/**
 * Show a banner. tone "error" banners stay until dismissed and are announced at once
 * (role="alert"); "success" banners leave by themselves. A banner with the key of one already
 * shown replaces it, so a failing auto-refresh does not pile up copies.
 */
/**
 * @param {string} message
 * @param {{tone?: "error" | "success", key?: string | null}} [options]
 */
export function notify(message, { tone = "error", key = null } = {}) {
  if (!region) {
    return;
  }
  counter += 1;
  const noticeKey = key ?? `notice-${counter}`;
  dismiss(noticeKey);
  const banner = h(
    "div",
    {
      class: ["notice", `notice-${tone}`],
      role: tone === "error" ? "alert" : "status",
      dataset: { noticeKey, tone },
    },
    h("p", { class: "notice-text", text: message }),
    h(
      "button",
      {
        type: "button",
        class: "btn-icon notice-dismiss",
        "aria-label": "Dismiss",
        title: "Dismiss",
        onclick: () => banner.remove(),
      },
      icon("close"),
    ),
  );
  region.prepend(banner);
  while (region.children.length > MAX_NOTICES) {
    region.lastElementChild.remove();
  }
  if (tone === "success") {
    setTimeout(() => banner.remove(), SUCCESS_MS);
  }
}

/** Say something to screen readers without showing a banner. */
export function announce(text) {
  if (status) {
    // Clearing first makes the same sentence count as new when it repeats.
    status.textContent = "";
    setTimeout(() => {
      status.textContent = text;
    }, 50);
  }
}
