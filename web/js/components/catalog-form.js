// @ts-check
// The form of one catalog entry (new or edited), in the one dialog: a control per field of its
// kind (catalog.js), references as choices from the other kinds, placements as the four ways
// a host group places its VMs, kickstarts from provision.kickstarts. Saving is
// provision.catalog_set; a refusal is shown under the field it names, else at the top.

import { call } from "../api.js";
import { entryFields, formValues, PLACEMENTS, SIZES, sizeLimit } from "../catalog.js";
import { h } from "../dom.js";
import { placeError } from "../field-errors.js";
import { hostNames, knownPlaces, loadKickstarts } from "./catalog-data.js";
import { openDialog } from "./dialog.js";
import { checkList, datalist, formErrors, formField, selectInput, setOptions, textInput, topError } from "./form-fields.js";
import { notify } from "./notices.js";

/**
 * @typedef {import("../catalog.js").KindSpec} KindSpec
 * @typedef {import("../catalog.js").FieldSpec} FieldSpec
 * @typedef {import("./form-fields.js").FieldHandle} FieldHandle
 * @typedef {import("../store.js").Store} Store
 * @typedef {{handle: FieldHandle, read: () => any, extra?: HTMLElement | null}} FieldView
 */

/** "catalog-<field>": the control's id and data-testid. @param {string} name */
const idOf = (name) => `catalog-${name.replace(/_/g, "-")}`;

/** @param {string[]} names @param {string} current @param {string} empty @returns {import("./form-fields.js").Option[]} */
function nameOptions(names, current, empty) {
  const all = [...new Set([...names, ...(current ? [current] : [])])].sort();
  return [{ value: "", label: empty }, ...all.map((name) => ({ value: name, label: name }))];
}

/**
 * The placement control: four radios, then the host, or the grain/pillar key and value.
 * @param {{kind: string, key: string, value: string}} initial
 * @param {string[]} hosts
 * @returns {FieldView}
 */
function placementField(initial, hosts) {
  const radios = PLACEMENTS.map((placement) =>
    /** @type {HTMLInputElement} */ (
      h("input", {
        type: "radio",
        name: "catalog-placement-kind",
        id: `catalog-placement-kind-${placement.kind}`,
        value: placement.kind,
        checked: initial.kind === placement.kind,
        dataset: { testid: `catalog-placement-kind-${placement.kind}` },
      })
    ),
  );
  const host = selectInput("catalog-placement-host", nameOptions(hosts, initial.kind === "host" ? initial.value : "", "Choose a host"), {
    value: initial.kind === "host" ? initial.value : "",
    testid: "catalog-placement-host",
  });
  const key = textInput("catalog-placement-key", { value: initial.key, testid: "catalog-placement-key", placeholder: "a:b:c" });
  const value = textInput("catalog-placement-value", {
    value: initial.kind === "host" ? "" : initial.value,
    testid: "catalog-placement-value",
  });
  const keyLabel = h("label", { for: "catalog-placement-key" });
  const hostRow = h("div", { class: "field placement-part" }, h("label", { for: "catalog-placement-host", text: "Host" }), host);
  const matchRow = h(
    "div",
    { class: "form-row placement-part" },
    h("div", { class: "field" }, keyLabel, key),
    h("div", { class: "field" }, h("label", { for: "catalog-placement-value", text: "Value" }), value),
  );
  const chosen = () => radios.find((radio) => radio.checked)?.value ?? "any";
  const show = () => {
    const kind = chosen();
    hostRow.hidden = kind !== "host";
    matchRow.hidden = kind !== "grain" && kind !== "pillar";
    keyLabel.textContent = kind === "pillar" ? "Pillar key" : "Grain";
  };
  radios.forEach((radio) => radio.addEventListener("change", show));
  show();
  const control = h(
    "div",
    { class: "placement", id: "catalog-placement", role: "radiogroup", "aria-label": "Placement", dataset: { testid: "catalog-field-placement" } },
    PLACEMENTS.map((placement, i) => h("label", { class: "check", for: radios[i].id }, radios[i], h("span", { text: placement.label }))),
    hostRow,
    matchRow,
  );
  const handle = formField({ id: "catalog-placement", label: "Placement", control, group: true, testid: "catalog-field-placement", focusTarget: radios.find((radio) => radio.checked) ?? radios[0] });
  return {
    handle,
    read: () => {
      const kind = chosen();
      return { kind, key: key.value, value: kind === "host" ? host.value : value.value };
    },
  };
}

/**
 * One field's control, filled with its value.
 * @param {FieldSpec} field
 * @param {any} value  formValues' value for it
 * @param {{catalog: any, hosts: string[], kickstarts: string[], places: {networks: string[], pools: string[]}}} context
 * @returns {FieldView}
 */
function fieldView(field, value, { catalog, hosts, kickstarts, places }) {
  const id = idOf(field.name);
  const testid = `catalog-field-${field.name}`;
  if (field.type === "placement") {
    return placementField(value, hosts);
  }
  if (field.type === "refs") {
    const names = Object.keys(catalog?.[field.ref ?? ""] ?? {}).sort();
    const list = checkList(id, names, { chosen: value, testid, empty: `There are no ${field.label.toLowerCase()} in the catalog yet.` });
    const handle = formField({ id, label: field.label, control: list.element, group: true, testid, focusTarget: list.first, hint: "One or more" });
    return { handle, read: list.values };
  }
  /** @type {HTMLInputElement | HTMLSelectElement} */
  let control;
  let hint = field.hint ?? null;
  /** @type {HTMLElement | null} */
  let extra = null;
  if (field.type === "ref" || field.type === "kickstart") {
    const names = field.type === "ref" ? Object.keys(catalog?.[field.ref ?? ""] ?? {}) : kickstarts;
    const empty = field.optional ? "None" : `Choose ${field.type === "ref" ? `a${/^[aeiou]/i.test(field.label) ? "n" : ""} ${field.label}` : "a template"}`;
    control = selectInput(id, nameOptions(names, value, empty), { value, testid });
  } else if (field.type === "number") {
    const size = /** @type {"memory"|"vcpus"|"disk"} */ (field.name);
    control = textInput(id, { value, testid, inputmode: "numeric" });
    hint = `${SIZES[size].min} to ${sizeLimit(size)}${field.unit ? ` ${field.unit}` : ""}`;
  } else {
    const suggestions = field.name === "network" ? places.networks : field.name === "pool" ? places.pools : null;
    control = textInput(id, { value, testid, type: field.type === "url" ? "url" : "text", list: suggestions ? `${id}-list` : undefined });
    extra = suggestions ? datalist(`${id}-list`, suggestions) : null;
  }
  const handle = formField({ id, label: field.label, control, hint, testid });
  if (extra) {
    handle.element.append(extra);
  }
  return { handle, read: () => control.value };
}

/**
 * Open the form for a new entry of `kind` (entryName null) or for editing one. Resolves to true
 * when it was saved; the store's catalog is read again for that kind.
 * @param {{kind: Readonly<KindSpec>, entryName: string | null, store: Store}} options
 * @returns {Promise<boolean>}
 */
export async function openCatalogForm({ kind, entryName, store }) {
  const catalog = store.state.catalog;
  const entry = entryName ? catalog?.[kind.id]?.[entryName] ?? null : null;
  const values = formValues(kind, entry);
  const context = { catalog, hosts: hostNames(store.state.inventory), kickstarts: /** @type {string[]} */ ([]), places: knownPlaces(catalog, store.state.inventory) };
  const views = kind.fields.map((field) => fieldView(field, values[field.name], context));
  if (kind.fields.some((field) => field.type === "kickstart")) {
    const select = /** @type {HTMLSelectElement} */ (views[kind.fields.findIndex((field) => field.type === "kickstart")].handle.element.querySelector("select"));
    loadKickstarts().then(
      (names) => setOptions(select, nameOptions(names, select.value || String(values.kickstart ?? ""), "Choose a template")),
      (error) => notify(`Could not read the kickstart templates: ${error.message}`),
    );
  }
  const nameInput = textInput("catalog-name", { value: entryName ?? "", testid: "catalog-field-name", disabled: Boolean(entryName), required: true });
  const nameField = formField({
    id: "catalog-name",
    label: "Name",
    control: nameInput,
    testid: "catalog-field-name",
    hint: entryName ? "A name cannot change: create a new entry instead." : "Letters, digits, '_', '.', '+' or '-'; 64 at most",
  });
  const top = topError("catalog-form-error", "catalog-form-error");
  /** @type {Record<string, FieldHandle>} */
  const handles = { name: nameField, ...Object.fromEntries(kind.fields.map((field, i) => [field.name, views[i].handle])) };
  const errors = formErrors(handles, top);
  const title = entryName ? `Edit ${kind.singular} ${entryName}` : `New ${kind.singular}`;

  const dialog = openDialog({
    name: "catalog-form",
    testid: "catalog-form",
    title,
    body: h("div", { class: "catalog-form", dataset: { kind: kind.id } }, top, nameField.element, views.map((view) => view.handle.element)),
    confirmLabel: entryName ? "Save" : "Create",
    busyLabel: "Saving…",
    submit: async () => {
      const read = Object.fromEntries(kind.fields.map((field, i) => [field.name, views[i].read()]));
      const result = entryFields(kind, entryName ?? nameInput.value, read);
      if ("errors" in result) {
        errors.show(result.errors);
        return false;
      }
      errors.clear();
      /** @type {any} */
      let answer;
      try {
        answer = await call("catalog_set", { kind: kind.id, name: result.name, fields: result.fields });
      } catch (error) {
        if (error?.status === 401) {
          dialog.close();
          return false;
        }
        errors.place(placeError(error, [{ name: "name" }, ...kind.fields], {}));
        return false;
      }
      // What the runner stored ({kind, name, fields}: it may write a value in its own form).
      const stored = answer?.fields && typeof answer.fields === "object" ? answer.fields : result.fields;
      store.dispatch("catalog", { type: "set", kind: kind.id, name: result.name, fields: stored });
      notify(`${entryName ? "Saved" : "Created"} ${kind.singular} ${result.name}.`, { tone: "success" });
      return true;
    },
  });
  (entryName ? views[0]?.handle.focusTarget : nameInput)?.focus();
  return dialog.confirmed;
}

/**
 * Ask before deleting an entry; the runner refuses one still in use (`in_use`, its sentence
 * naming the users), and the dialog then says so and stays open.
 * @param {{kind: Readonly<KindSpec>, entryName: string, store: Store}} options
 * @returns {Promise<boolean>}
 */
export function confirmCatalogDelete({ kind, entryName, store }) {
  const problem = h("p", { class: "form-error", role: "alert", id: "catalog-delete-error", hidden: true, dataset: { testid: "catalog-delete-error" } });
  const dialog = openDialog({
    name: "catalog-delete",
    testid: "catalog-delete",
    title: `Delete ${kind.singular} ${entryName}?`,
    describedBy: "catalog-delete-body",
    body: [h("p", { id: "catalog-delete-body", text: `The ${kind.singular} ${entryName} leaves the catalog. VMs already created from it are not touched.` }), problem],
    confirmLabel: "Delete",
    confirmClass: "btn btn-danger",
    busyLabel: "Deleting…",
    submit: async () => {
      try {
        await call("catalog_delete", { kind: kind.id, name: entryName });
      } catch (error) {
        if (error?.status === 401) {
          dialog.close();
          return false;
        }
        problem.dataset.code = error?.code ?? "";
        problem.textContent = error?.message ?? String(error);
        problem.hidden = false;
        return false;
      }
      store.dispatch("catalog", { type: "deleted", kind: kind.id, name: entryName });
      notify(`Deleted ${kind.singular} ${entryName}.`, { tone: "success" });
      return true;
    },
  });
  return dialog.confirmed;
}
