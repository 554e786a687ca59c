// @ts-check
// The Run Container dialog (issue 12): image (suggested from the hosts' local images and the
// registry's), tag, name, host, port mappings, environment, restart policy and whether to run
// in the background. The browser checks it as the runner would (container-run.js); every
// environment value is sealed here to the Salt master's key (provision.sealing_key, seal.js),
// as Create VM seals the root password's hash, and only the sealed values leave the page
// (containers.run's secret_environment). A refusal is shown at the field (or row) it is about.
// The dialog ends with what happened: which host, whether it pulled the image, and, run in the
// foreground, the exit code and the output.
//
// data-testid: run-container-button, run-container-dialog, run-image (with the datalist
// run-image-list), run-tag, run-name, run-host, run-ports, run-port-add, and per row i
// run-port-host-<i>, run-port-container-<i>, run-port-protocol-<i>, run-port-bind-<i>,
// run-port-remove-<i>, run-port-error-<i>; run-environment, run-env-add, run-env-name-<i>,
// run-env-value-<i>, run-env-remove-<i>, run-env-error-<i>; run-restart, run-retries,
// run-background, run-timeout; every field's error <testid>-error; run-error (the dialog's
// own); run-submit (then run-done); run-result with run-result-headline (data-pulled),
// run-result-placed, run-result-ports, run-result-exit-code, run-result-output,
// run-result-link.

import { call } from "../api.js";
import {
  emptyPort,
  emptyRunValues,
  emptyVariable,
  placeRunError,
  PROTOCOLS,
  runRequest,
  runResultView,
  sealEnvironment,
  splitTag,
  TIMEOUT_MAX,
  withSealedEnvironment,
} from "../container-run.js";
import { containersHref, imageSuggestions, runHosts } from "../containers.js";
import { h, render } from "../dom.js";
import { mayRun } from "../perms.js";
import { sealingKeyFor } from "../seal.js";
import { loadImages, loadRegistry } from "./containers-data.js";
import { openDialog } from "./dialog.js";
import { checkbox, formErrors, formField, selectInput, textInput, topError } from "./form-fields.js";
import { announce } from "./notices.js";

/**
 * @typedef {import("../store.js").Store} Store
 * @typedef {import("../container-run.js").RunValues} RunValues
 * @typedef {import("../container-run.js").PortValues} PortValues
 * @typedef {import("../container-run.js").EnvValues} EnvValues
 * @typedef {import("./form-fields.js").FieldHandle} FieldHandle
 */

/** May the user run containers (operators and admins)? @param {unknown} perms */
export function mayRunContainers(perms) {
  return mayRun(perms, "container_run");
}

/**
 * The "Run container" button, for those who may run them; null otherwise.
 * @param {{perms: unknown, store: Store, host?: string}} options  host: the one to offer first
 */
export function runContainerButton({ perms, store, host }) {
  if (!mayRunContainers(perms)) {
    return null;
  }
  return h("button", {
    type: "button",
    class: "btn btn-primary",
    "aria-haspopup": "dialog",
    dataset: { testid: "run-container-button" },
    text: "Run container",
    onclick: () => openRunContainer(store, perms, { host }),
  });
}

const RESTART_OPTIONS = [
  { value: "no", label: "Never (no)" },
  { value: "always", label: "Always" },
  { value: "unless-stopped", label: "Unless stopped" },
  { value: "on-failure", label: "On failure" },
];

/**
 * One row of a list of rows (a port mapping, a variable): its inputs, a Remove button and its
 * error line, with the FieldHandle that shows an error there.
 * @param {{prefix: string, index: number, inputs: HTMLElement[], onRemove: () => void, removeLabel: string}} spec
 * @returns {FieldHandle}
 */
function rowField({ prefix, index, inputs, onRemove, removeLabel }) {
  const errorId = `run-${prefix}-${index}-error`;
  const error = h("p", { class: "field-error run-row-error", id: errorId, hidden: true, dataset: { testid: `run-${prefix}-error-${index}` } });
  for (const input of inputs) {
    input.setAttribute("aria-describedby", errorId);
  }
  const element = h(
    "div",
    { class: ["run-row", `run-row-${prefix}`], dataset: { row: String(index) } },
    h("div", { class: "run-row-inputs" }, inputs, h("button", {
      type: "button",
      class: "btn btn-sm btn-quiet run-row-remove",
      "aria-label": removeLabel,
      title: removeLabel,
      dataset: { testid: `run-${prefix}-remove-${index}` },
      text: "Remove",
      onclick: onRemove,
    })),
    error,
  );
  const setError = (/** @type {string | null} */ message) => {
    error.textContent = message ?? "";
    error.hidden = !message;
    element.classList.toggle("has-error", Boolean(message));
    for (const input of inputs) {
      if (message) {
        input.setAttribute("aria-invalid", "true");
      } else {
        input.removeAttribute("aria-invalid");
      }
    }
  };
  element.addEventListener("input", () => setError(null));
  return { element, focusTarget: inputs[0], setError, setHint: () => {} };
}

/**
 * The dialog's form: its controls, the rows of ports and variables, reading RunValues and
 * showing errors at fields and rows.
 * @param {any} inventory
 * @param {{host?: string}} [options]
 */
export function runForm(inventory, { host } = {}) {
  const hosts = runHosts(inventory);
  const start = emptyRunValues();
  const controls = {
    image: textInput("run-image", { testid: "run-image", list: "run-image-list", placeholder: "brine/web", required: true }),
    tag: textInput("run-tag", { testid: "run-tag", value: start.tag }),
    name: textInput("run-name", { testid: "run-name", placeholder: "Brine names it" }),
    host: selectInput(
      "run-host",
      [{ value: "", label: "Any host — Brine places it" }, ...hosts.map((name) => ({ value: name, label: name }))],
      { value: host && hosts.includes(host) ? host : "", testid: "run-host" },
    ),
    restart: selectInput("run-restart", RESTART_OPTIONS, { value: start.restart, testid: "run-restart" }),
    retries: textInput("run-retries", { testid: "run-retries", inputmode: "numeric", placeholder: "no limit" }),
    timeout: textInput("run-timeout", { testid: "run-timeout", inputmode: "numeric", placeholder: "60" }),
  };
  const background = checkbox("run-background", "Run in background (unchecked: wait for it to exit and show its output)", { checked: true, testid: "run-background" });
  const suggestions = h("datalist", { id: "run-image-list", dataset: { testid: "run-image-list" } });

  /** @type {PortValues[]} */
  let ports = [];
  /** @type {EnvValues[]} */
  let environment = [];
  /** @type {FieldHandle[]} */
  let portHandles = [];
  /** @type {FieldHandle[]} */
  let envHandles = [];
  const portRows = h("div", { class: "run-rows" });
  const envRows = h("div", { class: "run-rows" });

  /**
   * An input of a row that writes its value into the row as it is typed.
   * @param {Record<string, string>} row @param {string} key @param {string} id @param {string} testid @param {string} label
   * @param {{inputmode?: string, placeholder?: string, mono?: boolean}} [options]
   */
  const rowInput = (row, key, id, testid, label, { inputmode, placeholder, mono = false } = {}) => {
    const input = textInput(id, { testid, inputmode, placeholder, value: row[key] });
    input.setAttribute("aria-label", label);
    if (mono) {
      input.classList.add("mono");
    }
    input.addEventListener("input", () => {
      row[key] = input.value;
    });
    return input;
  };

  function drawPorts() {
    portHandles = ports.map((port, i) => {
      const protocol = selectInput(`run-port-${i}-protocol`, PROTOCOLS.map((name) => ({ value: name, label: name })), { value: port.protocol, testid: `run-port-protocol-${i}` });
      protocol.setAttribute("aria-label", `Protocol, mapping ${i + 1}`);
      protocol.addEventListener("change", () => {
        port.protocol = protocol.value;
      });
      return rowField({
        prefix: "port",
        index: i,
        inputs: [
          rowInput(port, "host_port", `run-port-${i}-host`, `run-port-host-${i}`, `Host port, mapping ${i + 1}`, { inputmode: "numeric", placeholder: "8080" }),
          rowInput(port, "container_port", `run-port-${i}-container`, `run-port-container-${i}`, `Container port, mapping ${i + 1}`, { inputmode: "numeric", placeholder: "80" }),
          protocol,
          rowInput(port, "bind", `run-port-${i}-bind`, `run-port-bind-${i}`, `Address to bind on, mapping ${i + 1}`, { placeholder: "every address" }),
        ],
        removeLabel: `Remove mapping ${i + 1}`,
        onRemove: () => {
          ports.splice(i, 1);
          drawPorts();
          addPort.focus();
        },
      });
    });
    render(
      portRows,
      ports.length > 0 && h("div", { class: "run-row-head run-row-port", "aria-hidden": "true" }, ["Host port", "Container port", "Protocol", "Bind address (optional)", ""].map((text) => h("span", { text }))),
      portHandles.map((handle) => handle.element),
    );
  }

  function drawEnvironment() {
    envHandles = environment.map((variable, i) =>
      rowField({
        prefix: "env",
        index: i,
        inputs: [
          rowInput(variable, "name", `run-env-${i}-name`, `run-env-name-${i}`, `Name, variable ${i + 1}`, { placeholder: "NAME", mono: true }),
          rowInput(variable, "value", `run-env-${i}-value`, `run-env-value-${i}`, `Value, variable ${i + 1}`, { placeholder: "value", mono: true }),
        ],
        removeLabel: `Remove variable ${i + 1}`,
        onRemove: () => {
          environment.splice(i, 1);
          drawEnvironment();
          addVariable.focus();
        },
      }),
    );
    render(envRows, envHandles.map((handle) => handle.element));
  }

  const addPort = h("button", {
    type: "button",
    class: "btn btn-sm",
    dataset: { testid: "run-port-add" },
    text: "Add port mapping",
    onclick: () => {
      ports.push(emptyPort());
      drawPorts();
      portHandles.at(-1)?.focusTarget.focus();
    },
  });
  const addVariable = h("button", {
    type: "button",
    class: "btn btn-sm",
    dataset: { testid: "run-env-add" },
    text: "Add variable",
    onclick: () => {
      environment.push(emptyVariable());
      drawEnvironment();
      envHandles.at(-1)?.focusTarget.focus();
    },
  });

  /** @type {Record<string, FieldHandle>} */
  const fields = {
    image: formField({ id: "run-image", label: "Image", control: controls.image, testid: "run-image", hint: "Reading the hosts' local images and the registry's…" }),
    tag: formField({ id: "run-tag", label: "Tag", control: controls.tag, testid: "run-tag" }),
    name: formField({ id: "run-name", label: "Name (optional)", control: controls.name, testid: "run-name", hint: "Empty: Brine names it after the image" }),
    host: formField({
      id: "run-host",
      label: "Host",
      control: controls.host,
      testid: "run-host",
      hint: hosts.length === 0 ? "No host's Docker engine answers right now." : "Any host: one that has the image, else one that pulls it",
    }),
    ports: formField({
      id: "run-ports",
      label: "Port mappings",
      group: true,
      control: h("div", { id: "run-ports", dataset: { testid: "run-ports" } }, portRows, addPort),
      focusTarget: addPort,
      testid: "run-ports",
      hint: "Host port → container port. A bind address publishes on that address of the host only.",
    }),
    environment: formField({
      id: "run-environment",
      label: "Environment",
      group: true,
      control: h("div", { id: "run-environment", dataset: { testid: "run-environment" } }, envRows, addVariable),
      focusTarget: addVariable,
      testid: "run-environment",
      hint: "Each value is sealed in your browser to the Salt master's key: only sealed values are sent, and no page shows them again.",
    }),
    restart: formField({ id: "run-restart", label: "Restart policy", control: controls.restart, testid: "run-restart" }),
    retries: formField({ id: "run-retries", label: "Retries on failure", control: controls.retries, testid: "run-retries", hint: "0 to 100; empty: no limit" }),
    timeout: formField({ id: "run-timeout", label: "Wait at most (seconds)", control: controls.timeout, testid: "run-timeout", hint: `1 to ${TIMEOUT_MAX}; empty: 60` }),
  };
  const top = topError("run-error", "run-error");

  /** Every field and row, in the form's order (the first in error gets focus). */
  const fieldsNow = () => ({
    image: fields.image,
    tag: fields.tag,
    name: fields.name,
    host: fields.host,
    ports: fields.ports,
    ...Object.fromEntries(portHandles.map((handle, i) => [`ports[${i}]`, handle])),
    environment: fields.environment,
    ...Object.fromEntries(envHandles.map((handle, i) => [`environment[${i}]`, handle])),
    restart: fields.restart,
    retries: fields.retries,
    timeout: fields.timeout,
  });

  const update = () => {
    fields.retries.element.hidden = controls.restart.value !== "on-failure";
    fields.timeout.element.hidden = background.input.checked;
  };
  controls.restart.addEventListener("change", update);
  background.input.addEventListener("change", update);
  // A reference with a tag ("brine-master:5000/brine/web:1", as the suggestions are) goes
  // into the two fields, unless the tag field already says another.
  const splitImage = () => {
    const split = splitTag(controls.image.value);
    if (split && ["", "latest", split.tag].includes(controls.tag.value.trim())) {
      controls.image.value = split.image;
      controls.tag.value = split.tag;
    }
  };
  controls.image.addEventListener("change", splitImage);
  // A suggestion picked from the list (typing waits for the field's change).
  controls.image.addEventListener("input", (event) => {
    if (/** @type {InputEvent} */ (event).inputType === "insertReplacementText") {
      splitImage();
    }
  });
  update();

  const element = h(
    "div",
    { class: "run-form" },
    top,
    h("div", { class: "form-row run-image-row" }, fields.image.element, fields.tag.element),
    h("div", { class: "form-row" }, fields.name.element, fields.host.element),
    h("div", { class: "form-section" }, fields.ports.element),
    h("div", { class: "form-section" }, fields.environment.element),
    h("div", { class: "form-row run-restart-row" }, fields.restart.element, fields.retries.element),
    background.element,
    fields.timeout.element,
    suggestions,
  );

  return {
    element,
    /** @returns {RunValues} */
    values: () => ({
      image: controls.image.value,
      tag: controls.tag.value,
      name: controls.name.value,
      host: controls.host.value,
      ports: ports.map((port) => ({ ...port })),
      environment: environment.map((variable) => ({ ...variable })),
      restart: controls.restart.value,
      retries: controls.retries.value,
      background: background.input.checked,
      timeout: controls.timeout.value,
    }),
    /** @param {Record<string, string>} errors */
    showErrors: (errors) => formErrors(fieldsNow(), top).show(errors),
    /** @param {import("../field-errors.js").PlacedError} placed */
    place: (placed) => formErrors(fieldsNow(), top).place(placed),
    clear: () => formErrors(fieldsNow(), top).clear(),
    /**
     * What to suggest for the image, and where it comes from.
     * @param {string[]} refs @param {any} registry  containers.registry's answer, or null
     */
    setSuggestions(refs, registry) {
      render(suggestions, refs.map((value) => h("option", { value })));
      const name = typeof registry?.registry === "string" && registry.registry ? registry.registry : null;
      const failed = typeof registry?.error === "string" && registry.error ? ` The registry's list could not be read: ${registry.error.replace(/\.$/, "")}.` : "";
      fields.image.setHint(
        name
          ? `A host's local image, or one in ${name}: a name without a registry (brine/web) is looked up locally, then in ${name}.${failed}`
          : `A host's local image, or one Docker pulls by its name.${failed}`,
      );
    },
    focus: () => controls.image.focus(),
    /**
     * The hosts to offer, again: the inventory arrived (or changed) while the dialog was open.
     * The choice made stays when the host is still offered.
     * @param {string[]} names
     */
    setHosts(names) {
      const chosen = controls.host.value;
      const options = [{ value: "", label: "Any host — Brine places it" }, ...names.map((name) => ({ value: name, label: name }))];
      render(controls.host, options.map((option) => h("option", { value: option.value, text: option.label })));
      controls.host.value = names.includes(chosen) ? chosen : "";
    },
    /** Forget the typed values of the environment (the dialog is done with them). */
    forgetSecrets: () => {
      environment = environment.map((variable) => ({ ...variable, value: "" }));
      drawEnvironment();
    },
  };
}

/**
 * What happened, as the dialog's last step shows it.
 * @param {ReturnType<typeof runResultView>} view
 * @param {() => void} onLink   the link to the host's containers closes the dialog
 */
function resultView(view, onLink) {
  return [
    h("p", { class: "run-result-headline", dataset: { testid: "run-result-headline", pulled: String(view.pulled) }, text: view.headline }),
    view.placed && h("p", { class: "muted", dataset: { testid: "run-result-placed" }, text: view.placed }),
    view.ports.length > 0 && h("p", { class: "muted", dataset: { testid: "run-result-ports" }, text: `Published: ${view.ports.join(", ")}` }),
    view.exitCode !== null && h("p", { dataset: { testid: "run-result-exit-code", exitCode: String(view.exitCode) }, text: `Exit code: ${view.exitCode}` }),
    view.logs !== null && [
      h("h3", { class: "run-result-output-head", text: "Output" }),
      h("pre", { class: "run-result-output", tabindex: "0", dataset: { testid: "run-result-output" }, text: view.logs.length > 0 ? view.logs.join("\n") : "It wrote nothing." }),
    ],
    view.host &&
      h("p", {}, h("a", { href: containersHref(view.host), dataset: { testid: "run-result-link" }, text: `The containers on ${view.host}`, onclick: onLink })),
  ];
}

/**
 * Open the Run Container dialog.
 * @param {Store} store
 * @param {unknown} perms  the session's (may the user fetch the master's sealing key?)
 * @param {{host?: string}} [options]  the host to offer first (a host's page)
 */
export function openRunContainer(store, perms, { host } = {}) {
  const form = runForm(store.state.inventory, { host });
  const formStep = h("div", { class: "create-step", dataset: { step: "form" } }, form.element);
  const resultStep = h("div", { class: "create-step run-result", hidden: true, tabindex: "-1", role: "status", dataset: { step: "result", testid: "run-result" } });
  let step = "form";
  // The Salt master's key, fetched the first time a value is sealed and kept for this dialog only.
  const sealingKey = sealingKeyFor(() => call("sealing_key"));

  const dialog = openDialog({
    name: "run-container",
    testid: "run-container-dialog",
    title: "Run a container",
    body: [formStep, resultStep],
    confirmLabel: "Run",
    busyLabel: () => (form.values().background ? "Running…" : "Running, waiting for it to exit…"),
    submit: () => (step === "form" ? run() : Promise.resolve(true)),
  });
  const confirm = /** @type {HTMLButtonElement} */ (dialog.confirmButton);
  confirm.dataset.testid = "run-submit";
  const cancel = /** @type {HTMLElement | null} */ (dialog.element.querySelector('button[value="cancel"]'));

  async function run() {
    const values = form.values();
    const request = runRequest(values);
    if ("errors" in request) {
      form.showErrors(request.errors);
      return false;
    }
    form.clear();
    /** @type {Record<string, string>} */
    let sealed = {};
    if (request.secrets.length > 0) {
      if (!mayRun(perms, "sealing_key")) {
        form.showErrors({ environment: "Your role may not read the Salt master's sealing key (provision.sealing_key), so environment values cannot be sent." });
        return false;
      }
      /** @type {CryptoKey} */
      let key;
      try {
        key = await sealingKey();
      } catch (error) {
        if (error?.status === 401) {
          dialog.close(); // the app is taking the user to the login page
          return false;
        }
        form.showErrors({ environment: `Could not read the Salt master's sealing key (${error?.message ?? error}), so the values cannot be sealed; try again.` });
        return false;
      }
      /** @type {Awaited<ReturnType<typeof sealEnvironment>>} */
      let outcome;
      try {
        outcome = await sealEnvironment(request.secrets, key);
      } catch (error) {
        form.showErrors({ environment: `This browser could not seal the values (${error?.message ?? error}).` });
        return false;
      }
      if ("errors" in outcome) {
        form.showErrors(outcome.errors);
        return false;
      }
      sealed = outcome.sealed;
    }
    const options = withSealedEnvironment(request.options, sealed);
    try {
      const result = await call("container_run", { options });
      if (typeof result?.host === "string") {
        store.dispatch("inventory", { type: "container", host: result.host, container: result });
      }
      const view = runResultView(result, options.detach === false);
      render(resultStep, resultView(view, () => dialog.close("confirm")));
      step = "result";
      formStep.hidden = true;
      resultStep.hidden = false;
      if (cancel) {
        cancel.hidden = true;
      }
      confirm.textContent = "Done";
      confirm.dataset.testid = "run-done";
      form.forgetSecrets();
      resultStep.focus();
      announce(view.headline);
    } catch (error) {
      if (error?.status === 401) {
        dialog.close(); // the app is taking the user to the login page
        return false;
      }
      form.place(placeRunError(error, { values, portRows: request.portRows }));
    }
    return false;
  }

  // Suggestions: the hosts' local images and the registry's.
  Promise.all([
    loadImages(store).then((images) => images?.images ?? null),
    loadRegistry(),
  ]).then(
    ([images, registry]) => form.setSuggestions(imageSuggestions(images, registry), registry),
    (error) => (error?.status === 401 ? dialog.close() : form.setSuggestions([], null)),
  );
  // The hosts follow the inventory while the dialog is open (it may open before the first read).
  let inventory = store.state.inventory;
  const unsubscribe = store.subscribe((state) => {
    if (state.inventory !== inventory) {
      inventory = state.inventory;
      form.setHosts(runHosts(inventory));
    }
  });
  form.focus();
  dialog.confirmed.then(() => {
    unsubscribe();
    form.forgetSecrets();
  });
  return dialog;
}
