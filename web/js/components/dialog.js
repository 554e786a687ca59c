// @ts-check
// The one dialog of the app, on <dialog> (modal, Esc cancels, focus is trapped by the
// browser): a title, a body, Cancel and an optional confirm button. Lifecycle confirmations,
// the migration dialogs, the catalog's forms and Create VM are all this.

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
 * @property {() => Promise<boolean>} [submit]  on confirm, for work that takes a while (a call):
 *   the confirm button shows it is busy until this settles; true closes the dialog as
 *   confirmed, false keeps it open (it says why). Enter in a one-line field confirms.
 * @property {string | (() => string)} [busyLabel]  the confirm button's text while `submit` runs
 * @property {any} [extraActions]     buttons placed between Cancel and confirm ("Back")
 * @property {string} [testid]        the dialog's data-testid
 *
 * @typedef {object} OpenDialog
 * @property {HTMLDialogElement} element
 * @property {(value?: string) => void} close   close it ("cancel" unless told)
 * @property {Promise<boolean>} confirmed       resolves when it closes: true when confirmed
 * @property {HTMLButtonElement | null} confirmButton  for a dialog whose steps relabel it
 */

/**
 * Open a modal dialog; it removes itself when closed.
 * @param {DialogOptions} options
 * @returns {OpenDialog}
 */
export function openDialog({
  title,
  name,
  body = null,
  describedBy,
  confirmLabel,
  confirmClass = "btn btn-primary",
  validate,
  submit,
  busyLabel,
  extraActions = null,
  testid,
}) {
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
  const confirmButton = confirmLabel
    ? /** @type {HTMLButtonElement} */ (
        h("button", { type: "submit", value: "confirm", class: confirmClass, dataset: { confirm: "true" }, text: confirmLabel })
      )
    : null;
  const form = h(
    "form",
    { method: "dialog", novalidate: Boolean(submit) },
    h("h2", { id: titleId, text: title }),
    body,
    h("div", { class: "dialog-actions" }, cancel, extraActions, confirmButton),
  );
  const element = /** @type {HTMLDialogElement} */ (
    h("dialog", { class: ["confirm", name], "aria-labelledby": titleId, "aria-describedby": describedBy, dataset: { testid } }, form)
  );
  let busy = false;
  form.addEventListener("submit", (event) => {
    const submitter = /** @type {HTMLButtonElement | null} */ (/** @type {SubmitEvent} */ (event).submitter);
    if (submitter?.value !== "confirm") {
      return;
    }
    if (validate && validate() === false) {
      event.preventDefault(); // invalid input: the dialog says why and stays open
      return;
    }
    if (submit && confirmButton) {
      event.preventDefault();
      if (!busy) {
        runSubmit(submit, confirmButton, busyLabel);
      }
    }
  });
  if (submit && confirmButton) {
    // Enter in a one-line field confirms (the form's first button is Cancel).
    form.addEventListener("keydown", (event) => {
      const target = /** @type {HTMLElement} */ (event.target);
      if (event.key === "Enter" && target instanceof HTMLInputElement && !["checkbox", "radio", "button", "submit"].includes(target.type)) {
        event.preventDefault();
        confirmButton.click();
      }
    });
  }

  /**
   * @param {() => Promise<boolean>} work
   * @param {HTMLButtonElement} button
   * @param {string | (() => string) | undefined} busyText
   */
  async function runSubmit(work, button, busyText) {
    busy = true;
    const label = typeof busyText === "function" ? busyText() : busyText;
    const idle = button.textContent ?? "";
    button.disabled = true;
    button.classList.add("is-running");
    element.setAttribute("aria-busy", "true");
    if (label) {
      button.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }), label);
    }
    let done = false;
    try {
      done = (await work()) === true;
    } finally {
      busy = false;
      element.removeAttribute("aria-busy");
      button.disabled = false;
      button.classList.remove("is-running");
      // The work may have relabelled the button for the next step: keep that.
      if (label && button.textContent === label) {
        button.textContent = idle;
      }
    }
    if (done && element.open) {
      element.close("confirm");
    }
  }

  const confirmed = new Promise((resolve) => {
    element.addEventListener("close", () => {
      resolve(element.returnValue === "confirm");
      element.remove();
    });
  });
  document.body.append(element);
  element.showModal();
  cancel.focus();
  return {
    element,
    close: (value = "cancel") => element.close(value),
    confirmed: /** @type {Promise<boolean>} */ (confirmed),
    confirmButton,
  };
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
