// A confirmation dialog built on <dialog> (modal, Esc cancels, focus is trapped by the browser).

import { h } from "../dom.js";

/**
 * Ask before an irreversible action. Resolves to {confirmed, removeDisks}.
 * @param {{title: string, body: string, confirmLabel: string, offerRemoveDisks?: boolean}} opts
 */
export function confirmAction({ title, body, confirmLabel, offerRemoveDisks = false }) {
  return new Promise((resolve) => {
    const titleId = "confirm-title";
    const bodyId = "confirm-body";
    const removeDisks = offerRemoveDisks
      ? h("input", { type: "checkbox", id: "confirm-remove-disks", name: "remove_disks" })
      : null;
    const cancel = h("button", {
      type: "submit",
      value: "cancel",
      class: "btn",
      autofocus: true,
      text: "Cancel",
    });
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": titleId, "aria-describedby": bodyId },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: titleId, text: title }),
        h("p", { id: bodyId, text: body }),
        removeDisks &&
          h(
            "label",
            { class: "check", for: "confirm-remove-disks" },
            removeDisks,
            h("span", {
              text: "Also delete its disk files (only files inside a libvirt storage pool)",
            }),
          ),
        h(
          "div",
          { class: "dialog-actions" },
          cancel,
          h("button", {
            type: "submit",
            value: "confirm",
            class: "btn btn-danger",
            dataset: { confirm: "true" },
            text: confirmLabel,
          }),
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve({
        confirmed: dialog.returnValue === "confirm",
        removeDisks: Boolean(removeDisks?.checked),
      });
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
