// @ts-check
// The one dialog of the app, on <dialog> (modal, Esc cancels, focus is trapped by the
// browser): a title, a body, Cancel and an optional confirm button. Lifecycle confirmations
// and the migration dialogs are all this.

import { h } from "../dom.js";

/**
 * @typedef {object} DialogOptions
 * @property {string} title
 * @property {string} [name]          an extra class and the ids' prefix ("migrate-confirm"); none: "confirm"
 * @property {any} [body]             nodes (or text) between the title and the buttons
 * @property {string} [describedBy]   the id of the element that describes the dialog
 * @property {string} [confirmLabel]  the confirm button's text; none: Cancel only
 * @property {string} [confirmClass]  its classes (default "btn btn-primary")
 * @property {() => boolean} [validate]  on confirm: false keeps the dialog open (it says why)
 *
 * @typedef {object} OpenDialog
 * @property {HTMLDialogElement} element
 * @property {(value?: string) => void} close   close it ("cancel" unless told)
 * @property {Promise<boolean>} confirmed       resolves when it closes: true when confirmed
 */

/**
 * Open a modal dialog; it removes itself when closed.
 * @param {DialogOptions} options
 * @returns {OpenDialog}
 */
export function openDialog({ title, name, body = null, describedBy, confirmLabel, confirmClass = "btn btn-primary", validate }) {
  const prefix = name ?? "confirm";
  const titleId = `${prefix}-title`;
  const cancel = h("button", {
    type: "submit",
    value: "cancel",
    class: "btn",
    formnovalidate: true,
    autofocus: true,
    text: "Cancel",
  });
  const form = h(
    "form",
    { method: "dialog" },
    h("h2", { id: titleId, text: title }),
    body,
    h(
      "div",
      { class: "dialog-actions" },
      cancel,
      confirmLabel &&
        h("button", { type: "submit", value: "confirm", class: confirmClass, dataset: { confirm: "true" }, text: confirmLabel }),
    ),
  );
  const element = /** @type {HTMLDialogElement} */ (
    h("dialog", { class: ["confirm", name], "aria-labelledby": titleId, "aria-describedby": describedBy }, form)
  );
  form.addEventListener("submit", (event) => {
    const submitter = /** @type {HTMLButtonElement | null} */ (/** @type {SubmitEvent} */ (event).submitter);
    if (submitter?.value === "confirm" && validate && validate() === false) {
      event.preventDefault(); // invalid input: the dialog says why and stays open
    }
  });
  const confirmed = new Promise((resolve) => {
    element.addEventListener("close", () => {
      resolve(element.returnValue === "confirm");
      element.remove();
    });
  });
  document.body.append(element);
  element.showModal();
  cancel.focus();
  return { element, close: (value = "cancel") => element.close(value), confirmed: /** @type {Promise<boolean>} */ (confirmed) };
}

/**
 * Ask before an irreversible action. Resolves to {confirmed, removeDisks}.
 * @param {{title: string, body: string, confirmLabel: string, offerRemoveDisks?: boolean}} opts
 */
export async function confirmAction({ title, body, confirmLabel, offerRemoveDisks = false }) {
  const removeDisks = offerRemoveDisks
    ? /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", id: "confirm-remove-disks", name: "remove_disks" }))
    : null;
  const dialog = openDialog({
    title,
    describedBy: "confirm-body",
    confirmLabel,
    confirmClass: "btn btn-danger",
    body: [
      h("p", { id: "confirm-body", text: body }),
      removeDisks &&
        h(
          "label",
          { class: "check", for: "confirm-remove-disks" },
          removeDisks,
          h("span", { text: "Also delete its disk files (only files inside a libvirt storage pool)" }),
        ),
    ],
  });
  const confirmed = await dialog.confirmed;
  return { confirmed, removeDisks: Boolean(removeDisks?.checked) };
}
