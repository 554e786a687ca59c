// @ts-check
// Form fields for the catalog's forms and Create VM: a labelled control with its hint and the
// place where its error is shown (under it, tied to it with aria-describedby and aria-invalid),
// selects, check lists, and the one object that shows a form's errors at their fields or at
// the top. Every control has an id, a <label for> and a data-testid.

import { h } from "../dom.js";

/**
 * @typedef {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} Control
 * @typedef {object} FieldHandle
 * @property {HTMLElement} element      the whole field (label, control, hint, error)
 * @property {HTMLElement} focusTarget  what gets focus when the field is in error
 * @property {(message: string | null) => void} setError
 * @property {(text: string | null) => void} setHint   change the hint under the control
 * @typedef {{value: string, label: string, disabled?: boolean}} Option
 */

/**
 * A labelled control (or group of controls) with its hint and error.
 * @param {object} spec
 * @param {string} spec.id          the control's id (the label's for); the error is `${id}-error`
 * @param {string} spec.label
 * @param {HTMLElement} spec.control  an input, select or textarea, or a group (fieldset-like) of them
 * @param {string | null} [spec.hint]
 * @param {string} [spec.testid]    the field's data-testid (its error: `${testid}-error`)
 * @param {boolean} [spec.group]    the control is a group: labelled by a legend, not a <label>
 * @param {HTMLElement} [spec.focusTarget]
 * @returns {FieldHandle}
 */
export function formField({ id, label, control, hint = null, testid, group = false, focusTarget }) {
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const error = h("p", { class: "field-error", id: errorId, hidden: true, dataset: { testid: testid ? `${testid}-error` : null } });
  const hintLine = h("span", { class: "field-hint", id: hintId, hidden: !hint, text: hint ?? "" });
  control.setAttribute("aria-describedby", `${hintId} ${errorId}`);
  const element = group
    ? h("fieldset", { class: "field field-group", dataset: { field: id } }, h("legend", { text: label }), control, hintLine, error)
    : h("div", { class: "field", dataset: { field: id } }, h("label", { for: id, text: label }), control, hintLine, error);
  // A field the user changes no longer says what was wrong with it.
  const setError = (/** @type {string | null} */ message) => {
    error.textContent = message ?? "";
    error.hidden = !message;
    element.classList.toggle("has-error", Boolean(message));
    if (message) {
      control.setAttribute("aria-invalid", "true");
    } else {
      control.removeAttribute("aria-invalid");
    }
  };
  element.addEventListener("input", () => setError(null));
  element.addEventListener("change", () => setError(null));
  return {
    element,
    focusTarget: focusTarget ?? control,
    setError,
    setHint(text) {
      hintLine.textContent = text ?? "";
      hintLine.hidden = !text;
    },
  };
}

/**
 * A one-line text input.
 * @param {string} id
 * @param {{value?: string, testid?: string, type?: string, inputmode?: string, placeholder?: string,
 *   autocomplete?: string, list?: string, disabled?: boolean, required?: boolean}} [options]
 */
export function textInput(id, { value = "", testid, type = "text", inputmode, placeholder, autocomplete = "off", list, disabled, required } = {}) {
  return /** @type {HTMLInputElement} */ (
    h("input", {
      id,
      name: id,
      type,
      class: "input",
      value,
      inputmode,
      placeholder,
      autocomplete,
      spellcheck: "false",
      list,
      disabled,
      required,
      dataset: { testid },
    })
  );
}

/**
 * A text area (an SSH key).
 * @param {string} id
 * @param {{testid?: string, rows?: number, placeholder?: string}} [options]
 */
export function textArea(id, { testid, rows = 3, placeholder } = {}) {
  return /** @type {HTMLTextAreaElement} */ (
    h("textarea", { id, name: id, class: "input textarea", rows: String(rows), placeholder, spellcheck: "false", autocomplete: "off", dataset: { testid } })
  );
}

/**
 * A checkbox with its label after it.
 * @param {string} id @param {string} label
 * @param {{checked?: boolean, testid?: string}} [options]
 * @returns {{input: HTMLInputElement, element: HTMLElement}}
 */
export function checkbox(id, label, { checked = false, testid } = {}) {
  const input = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", id, name: id, checked, dataset: { testid } }));
  return { input, element: h("label", { class: "check", for: id }, input, h("span", { text: label })) };
}

/**
 * Replace a select's options, keeping its value when it is still offered.
 * @param {HTMLSelectElement} select @param {Option[]} options
 */
export function setOptions(select, options) {
  const value = select.value;
  select.replaceChildren(...options.map((option) => h("option", { value: option.value, disabled: option.disabled, text: option.label })));
  select.value = options.some((option) => option.value === value) ? value : (options[0]?.value ?? "");
}

/**
 * A select of `options`, `value` chosen.
 * @param {string} id
 * @param {Option[]} options
 * @param {{value?: string, testid?: string, disabled?: boolean}} [settings]
 */
export function selectInput(id, options, { value = "", testid, disabled } = {}) {
  const select = /** @type {HTMLSelectElement} */ (
    h(
      "select",
      { id, name: id, class: "input select", disabled, dataset: { testid } },
      options.map((option) => h("option", { value: option.value, disabled: option.disabled, text: option.label })),
    )
  );
  select.value = value;
  return select;
}

/**
 * Checkboxes for choosing one or more names (a view's products, a key's views).
 * @param {string} id
 * @param {string[]} names  the choices
 * @param {{chosen?: string[], testid?: string, empty?: string}} [settings]
 * @returns {{element: HTMLElement, values: () => string[], first: HTMLElement}}
 */
export function checkList(id, names, { chosen = [], testid, empty = "Nothing to choose from yet." } = {}) {
  // Names chosen before but no longer in the catalog stay visible, so nothing changes unseen.
  const all = [...new Set([...names, ...chosen])];
  const boxes = all.map((name, i) =>
    /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", id: `${id}-${i}`, value: name, checked: chosen.includes(name), dataset: { testid: testid ? `${testid}-${name}` : null } })),
  );
  const element = h(
    "div",
    { class: "check-list", id, role: "group", dataset: { testid } },
    all.length === 0
      ? h("p", { class: "muted small", text: empty })
      : boxes.map((box, i) => h("label", { class: "check", for: box.id }, box, h("span", { text: all[i] }))),
  );
  return { element, values: () => boxes.filter((box) => box.checked).map((box) => box.value), first: boxes[0] ?? element };
}

/**
 * A <datalist> of suggestions for a text input (`list` attribute).
 * @param {string} id @param {string[]} values
 */
export function datalist(id, values) {
  return h("datalist", { id }, [...new Set(values)].sort().map((value) => h("option", { value })));
}

/**
 * Where a form's errors go: under each field, or at the top of the form.
 * @param {Record<string, FieldHandle>} fields  by field name
 * @param {HTMLElement} top                     the form's own error line
 */
export function formErrors(fields, top) {
  const clear = () => {
    for (const field of Object.values(fields)) {
      field.setError(null);
    }
    top.textContent = "";
    top.hidden = true;
  };
  /** @param {Record<string, string>} errors  field -> message ("" or unknown fields: at the top) */
  const show = (errors) => {
    clear();
    const atTop = [];
    /** @type {FieldHandle | null} */
    let first = null;
    for (const [name, message] of Object.entries(errors)) {
      const field = Object.hasOwn(fields, name) ? fields[name] : null;
      if (field) {
        field.setError(message);
        first ??= field;
      } else {
        atTop.push(message);
      }
    }
    if (atTop.length > 0) {
      top.textContent = atTop.join(" ");
      top.hidden = false;
    }
    // Focus the first field in error (in the form's order), else the top line.
    const ordered = Object.entries(fields).find(([name]) => Object.hasOwn(errors, name));
    const target = ordered ? ordered[1] : first;
    if (target) {
      target.element.closest("details")?.setAttribute("open", "");
      target.focusTarget.focus();
    } else if (atTop.length > 0) {
      top.focus();
    }
  };
  /** @param {{field: string | null, message: string}} placed */
  const place = (placed) => show(placed.field ? { [placed.field]: placed.message } : { "": placed.message });
  return { clear, show, place };
}

/**
 * The line at the top of a form for errors that belong to no field.
 * @param {string} id @param {string} [testid]
 */
export function topError(id, testid) {
  return h("p", { class: "form-error form-top-error", id, role: "alert", tabindex: "-1", hidden: true, dataset: { testid } });
}
