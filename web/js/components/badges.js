// @ts-check
// Badges: a VM's coloured state.

import { h } from "../dom.js";
import { stateInfo } from "../format.js";

/** The coloured state badge; data-state carries libvirt's word for tests and styles. */
export function stateBadge(state) {
  const info = stateInfo(state);
  return h(
    "span",
    { class: ["badge", `tone-${info.tone}`], dataset: { state: state ?? "unknown" } },
    h("span", { class: "dot", "aria-hidden": "true" }),
    info.label,
  );
}
