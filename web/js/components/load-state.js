// @ts-check
// A page-level placeholder while nothing has loaded yet, or when the first load failed.

import { h } from "../dom.js";

/**
 * @param {{error: any}} state
 * @param {{refresh: () => Promise<any>}} store
 * @param {string} what  "the inventory", a VM's name
 */
export function loadState(state, store, what) {
  if (state.error) {
    return h(
      "div",
      { class: ["card", "empty-state"] },
      h("h2", { text: `Could not load ${what}` }),
      h("p", { text: state.error.message }),
      h("button", {
        type: "button",
        class: "btn btn-primary",
        text: "Try again",
        onclick: () => store.refresh().catch(() => {}),
      }),
    );
  }
  return h(
    "div",
    { class: ["card", "empty-state", "is-loading"], "aria-busy": "true" },
    h("span", { class: "spinner spinner-large", "aria-hidden": "true" }),
    h("p", { text: `Loading ${what}…` }),
  );
}
