// @ts-check
// Badges: a VM's coloured state, or its install while it has one.

import { h } from "../dom.js";
import { stateInfo } from "../format.js";
import { installLabel, installOf } from "../installs.js";

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

/**
 * An install's badge: "Installing 40%" (with the installer's step beside it) or "Install
 * failed" (with the reason). data-install is the install's state, data-progress the
 * percentage; the inner badge's data-state is still libvirt's state of the VM, when it has one.
 * @param {import("../installs.js").Install} install
 * @param {string | null} [state]  the VM's libvirt state (none for a VM that is gone)
 */
export function installBadge(install, state = null) {
  const { label, tone, detail } = installLabel(install);
  return h(
    "span",
    { class: "install-status", dataset: { testid: "install-badge", install: install.state, progress: install.progress } },
    h(
      "span",
      { class: ["badge", `tone-${tone}`], title: detail, dataset: { state } },
      h("span", { class: "dot", "aria-hidden": "true" }),
      label,
    ),
    detail && h("span", { class: ["install-detail", install.state === "failed" && "is-failed"], text: detail }),
  );
}

/**
 * What a VM's state column shows: its install while it installs (or after it failed and was
 * kept), else its libvirt state.
 * @param {any} vm
 */
export function vmBadge(vm) {
  const install = installOf(vm);
  return install ? installBadge(install, vm.state ?? "unknown") : stateBadge(vm.state);
}
