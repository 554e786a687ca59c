// @ts-check
// The Create VM dialog (issue 10, item 9): a name, a host group whose parts fill in as defaults
// (as Minisat did), each of which can be overridden, root access by a password (hashed here,
// SHA-512 crypt, and the hash sealed to the Salt master's key, provision.sealing_key, before
// anything is sent: only password_hash_sealed goes) and/or an SSH key; "Review" asks provision.create
// with test=True and shows the plan; "Create" sends the same call for real. Refusals are shown
// at the field they are about. The logic is provision.js's; this is its view.

import { call } from "../api.js";
import { describePlacement, SIZES, sizeLimit } from "../catalog.js";
import { h, render } from "../dom.js";
import { placeError } from "../field-errors.js";
import { mayRun } from "../perms.js";
import {
  applyGroup,
  CREATE_ERROR_FIELDS,
  CREATE_FIELDS,
  createRequest,
  CUSTOM_SIZE,
  emptyValues,
  groupDefaults,
  PARTS,
  planView,
  profileSizes,
  withSealedPassword,
} from "../provision.js";
import { sealerFor } from "../seal.js";
import { hashPassword } from "../sha512crypt.js";
import { hostNames, knownPlaces, loadCatalog } from "./catalog-data.js";
import { renderPlan } from "./create-plan.js";
import { openDialog } from "./dialog.js";
import { checkbox, datalist, formErrors, formField, selectInput, setOptions, textArea, textInput, topError } from "./form-fields.js";
import { announce, notify } from "./notices.js";

/**
 * @typedef {import("../store.js").Store} Store
 * @typedef {import("../provision.js").CreateValues} CreateValues
 * @typedef {import("./form-fields.js").FieldHandle} FieldHandle
 * @typedef {import("./form-fields.js").Option} Option
 */

/** May the user create VMs (and read the catalog they are made from)? @param {unknown} perms */
export function mayCreate(perms) {
  return mayRun(perms, "create") && mayRun(perms, "catalog");
}

/**
 * The "Create VM" button, for those who may create (operators and admins); null otherwise.
 * @param {{perms: unknown, store: Store}} options
 */
export function createVmButton({ perms, store }) {
  if (!mayCreate(perms)) {
    return null;
  }
  return h("button", {
    type: "button",
    class: "btn btn-primary",
    "aria-haspopup": "dialog",
    dataset: { testid: "create-vm-button" },
    text: "Create VM",
    onclick: () => openCreateVm(store, perms),
  });
}

/** @param {Record<string, unknown> | undefined} entries @returns {Option[]} */
const choices = (entries) => Object.keys(entries ?? {}).sort().map((name) => ({ value: name, label: name }));

/** "2048 MiB, 2 vCPUs, 20 GiB" @param {{memory: string, vcpus: string, disk: string}} sizes */
const sizesText = (sizes) => (sizes.memory ? `${sizes.memory} MiB, ${sizes.vcpus} vCPUs, ${sizes.disk} GiB` : "");

/**
 * The form of the dialog's first step: its controls, fields and errors, reading and writing
 * CreateValues.
 * @param {any} catalog
 * @param {any} inventory
 */
function createForm(catalog, inventory) {
  const places = knownPlaces(catalog, inventory);
  const sizeInput = (/** @type {"memory"|"vcpus"|"disk"} */ size) => textInput(`create-${size}`, { testid: `create-${size}`, inputmode: "numeric" });
  const controls = {
    name: textInput("create-name", { testid: "create-name", required: true }),
    host_group: selectInput("create-host-group", [{ value: "", label: "None: choose the parts below" }, ...choices(catalog?.host_groups)], { testid: "create-host-group" }),
    profile: selectInput(
      "create-profile",
      [
        { value: "", label: "Choose a profile" },
        ...choices(catalog?.profiles).map((option) => ({ ...option, label: `${option.label} (${sizesText(profileSizes(catalog, option.value))})` })),
        { value: CUSTOM_SIZE, label: "My own sizes" },
      ],
      { testid: "create-profile" },
    ),
    memory: sizeInput("memory"),
    vcpus: sizeInput("vcpus"),
    disk: sizeInput("disk"),
    os_tree: selectInput("create-os-tree", [{ value: "", label: "Choose an OS tree" }, ...choices(catalog?.os_trees)], { testid: "create-os-tree" }),
    activation_key: selectInput("create-activation-key", [{ value: "", label: "None" }, ...choices(catalog?.activation_keys)], { testid: "create-activation-key" }),
    network: textInput("create-network", { testid: "create-network", list: "create-networks" }),
    pool: textInput("create-pool", { testid: "create-pool", list: "create-pools" }),
    host: selectInput("create-host", [{ value: "", label: "Any host with room" }, ...hostNames(inventory).map((name) => ({ value: name, label: name }))], { testid: "create-host" }),
    password: textInput("create-password", { testid: "create-password", type: "password", autocomplete: "new-password" }),
    password_confirm: textInput("create-password-confirm", { testid: "create-password-confirm", type: "password", autocomplete: "new-password" }),
    ssh_key: textArea("create-ssh-key", { testid: "create-ssh-key", placeholder: "ssh-ed25519 AAAA… you@example" }),
  };
  const keepFailed = checkbox("create-keep-failed", "Keep a failed install for debugging (its VM and disk stay)", { testid: "create-keep-failed" });
  const sizeHint = (/** @type {"memory"|"vcpus"|"disk"} */ size) => `${SIZES[size].min} to ${sizeLimit(size)}${SIZES[size].unit ? ` ${SIZES[size].unit}` : ""}`;

  /** @type {Record<string, FieldHandle>} */
  const fields = {
    name: formField({ id: "create-name", label: "Name", control: controls.name, testid: "create-name", hint: "Letters, digits, '_', '.', '+' or '-'; 64 at most" }),
    host_group: formField({ id: "create-host-group", label: "Host group", control: controls.host_group, testid: "create-host-group" }),
    profile: formField({ id: "create-profile", label: "Profile", control: controls.profile, testid: "create-profile" }),
    memory: formField({ id: "create-memory", label: "Memory (MiB)", control: controls.memory, testid: "create-memory", hint: sizeHint("memory") }),
    vcpus: formField({ id: "create-vcpus", label: "vCPUs", control: controls.vcpus, testid: "create-vcpus", hint: sizeHint("vcpus") }),
    disk: formField({ id: "create-disk", label: "Disk (GiB)", control: controls.disk, testid: "create-disk", hint: sizeHint("disk") }),
    os_tree: formField({ id: "create-os-tree", label: "OS tree", control: controls.os_tree, testid: "create-os-tree" }),
    activation_key: formField({ id: "create-activation-key", label: "Activation key", control: controls.activation_key, testid: "create-activation-key" }),
    network: formField({ id: "create-network", label: "Network", control: controls.network, testid: "create-network" }),
    pool: formField({ id: "create-pool", label: "Storage pool", control: controls.pool, testid: "create-pool" }),
    host: formField({ id: "create-host", label: "Host", control: controls.host, testid: "create-host" }),
    password: formField({ id: "create-password", label: "Root password", control: controls.password, testid: "create-password" }),
    password_confirm: formField({ id: "create-password-confirm", label: "Root password again", control: controls.password_confirm, testid: "create-password-confirm" }),
    ssh_key: formField({ id: "create-ssh-key", label: "SSH public key for root", control: controls.ssh_key, testid: "create-ssh-key" }),
  };
  const top = topError("create-error", "create-error");
  const errors = formErrors(fields, top);
  /** The parts the user changed: a new host group leaves them as they are. */
  const touched = new Set();

  /** @returns {CreateValues} */
  const values = () => ({
    ...emptyValues(),
    ...Object.fromEntries(Object.entries(controls).map(([name, control]) => [name, control.value])),
    keep_failed: keepFailed.input.checked,
  });
  /** @param {CreateValues} next */
  const write = (next) => {
    for (const part of PARTS) {
      controls[part].value = next[part];
    }
  };

  /** What each part says about the host group's default: kept, or overridden. */
  const update = () => {
    const current = values();
    const defaults = groupDefaults(catalog, current.host_group);
    const group = current.host_group ? catalog?.host_groups?.[current.host_group] : null;
    const custom = current.profile === CUSTOM_SIZE;
    for (const size of /** @type {const} */ (["memory", "vcpus", "disk"])) {
      controls[size].disabled = !custom;
    }
    if (!custom) {
      const sizes = profileSizes(catalog, current.profile);
      controls.memory.value = sizes.memory;
      controls.vcpus.value = sizes.vcpus;
      controls.disk.value = sizes.disk;
    }
    setOptions(controls.activation_key, [
      defaults?.activation_key
        ? { value: "", label: "None (not with this host group: its key applies)", disabled: true }
        : { value: "", label: "None" },
      ...choices(catalog?.activation_keys),
    ]);
    setOptions(controls.host, [
      { value: "", label: group ? `As the host group places it: ${describePlacement(group.placement)}` : "Any host with room" },
      ...hostNames(inventory).map((name) => ({ value: name, label: name })),
    ]);
    fields.host_group.setHint(
      defaults ? `Fills in: profile ${defaults.profile}, OS tree ${defaults.os_tree}, ${defaults.activation_key ? `key ${defaults.activation_key}, ` : ""}network ${defaults.network}, pool ${defaults.pool}; ${describePlacement(group.placement)}` : null,
    );
    for (const part of ["profile", "os_tree", "activation_key", "network", "pool", "host"]) {
      const value = String(current[part] ?? "");
      let hint = null;
      if (defaults && part === "profile" && custom) {
        hint = `Your own sizes override the host group's profile ${defaults.profile}`;
      } else if (defaults && value === defaults[part]) {
        hint = value === "" ? null : "The host group's";
      } else if (defaults && value !== "") {
        hint = defaults[part]
          ? `Overrides the host group's “${defaults[part]}”`
          : part === "host"
            ? "Overrides the host group's placement"
            : "The host group has no activation key";
      }
      fields[part].setHint(hint);
    }
  };

  controls.host_group.addEventListener("change", () => {
    write(applyGroup(values(), catalog, touched));
    update();
  });
  for (const part of PARTS) {
    const control = controls[part];
    const onChange = () => {
      touched.add(part);
      update();
    };
    control.addEventListener(control instanceof HTMLSelectElement ? "change" : "input", onChange);
  }
  update();

  const element = h(
    "div",
    { class: "create-form" },
    top,
    h("div", { class: "form-row" }, fields.name.element, fields.host_group.element),
    h(
      "fieldset",
      { class: "form-section" },
      h("legend", { text: "Parts" }),
      h("p", { class: "muted small", text: "A host group fills these in. Change any of them to override it for this VM." }),
      h("div", { class: "form-row" }, fields.profile.element, fields.os_tree.element),
      h("div", { class: "form-row form-row-3" }, fields.memory.element, fields.vcpus.element, fields.disk.element),
      h("div", { class: "form-row" }, fields.activation_key.element, fields.host.element),
      h("div", { class: "form-row" }, fields.network.element, fields.pool.element),
      datalist("create-networks", places.networks),
      datalist("create-pools", places.pools),
    ),
    h(
      "fieldset",
      { class: "form-section" },
      h("legend", { text: "Root access" }),
      h("p", {
        class: "muted small",
        text: "A password, an SSH key, or both. The password is hashed in your browser (SHA-512 crypt) and the hash sealed to the Salt master's key: only the sealed hash is sent.",
      }),
      h("div", { class: "form-row" }, fields.password.element, fields.password_confirm.element),
      fields.ssh_key.element,
    ),
    keepFailed.element,
  );
  return {
    element,
    errors,
    values,
    focus: () => controls.name.focus(),
    /** Forget the typed password (the dialog is closing). */
    forgetPassword: () => {
      controls.password.value = "";
      controls.password_confirm.value = "";
    },
  };
}

/**
 * Open the Create VM dialog: read the catalog, then the form; Review shows the plan, Create
 * creates. The new VM then shows in the overview as installing.
 * @param {Store} store
 * @param {unknown} perms  the session's (may the user fetch the master's sealing key?)
 */
export function openCreateVm(store, perms) {
  const formStep = h("div", { class: "create-step", dataset: { step: "form" } }, h("p", { class: "muted", role: "status", text: "Reading the catalog…" }));
  const planStep = h("div", { class: "create-step", hidden: true, tabindex: "-1", dataset: { step: "plan" } });
  const back = /** @type {HTMLButtonElement} */ (h("button", { type: "button", class: "btn", hidden: true, dataset: { testid: "create-back" }, text: "Back" }));
  /** @type {ReturnType<typeof createForm> | null} */
  let form = null;
  /** @type {any} */
  let catalog = null;
  /** @type {Record<string, unknown> | null} the arguments the plan was made for (with the sealed hash) */
  let planned = null;
  let step = "form";
  // The Salt master's key, fetched the first time a password is sealed and kept in memory for
  // this dialog only.
  const sealPassword = sealerFor(() => call("sealing_key"));

  const dialog = openDialog({
    name: "create-vm",
    testid: "create-vm-dialog",
    title: "Create a VM",
    body: [formStep, planStep],
    confirmLabel: "Review",
    busyLabel: () => (step === "form" ? "Checking…" : "Creating…"),
    extraActions: back,
    submit: () => (step === "form" ? review() : create()),
  });
  const confirm = /** @type {HTMLButtonElement} */ (dialog.confirmButton);
  confirm.dataset.testid = "create-review";

  const showForm = () => {
    step = "form";
    planned = null;
    planStep.hidden = true;
    formStep.hidden = false;
    back.hidden = true;
    confirm.textContent = "Review";
    confirm.dataset.testid = "create-review";
  };
  back.addEventListener("click", () => {
    showForm();
    form?.focus();
  });

  /** @param {any} error */
  const refused = (error) => {
    if (error?.status === 401) {
      dialog.close(); // the app is taking the user to the login page
      return false;
    }
    showForm();
    form?.errors.place(placeError(error, CREATE_FIELDS, { byCode: CREATE_ERROR_FIELDS }));
    return false;
  };

  async function review() {
    if (!form) {
      return false;
    }
    const request = createRequest(form.values(), catalog);
    if ("errors" in request) {
      form.errors.show(request.errors);
      return false;
    }
    form.errors.clear();
    /** @type {string | null} */
    let sealedHash = null;
    if (request.password !== null) {
      if (!mayRun(perms, "sealing_key")) {
        form.errors.show({
          password: "Your role may not read the Salt master's sealing key (provision.sealing_key), so the password cannot be sent; give an SSH key instead.",
        });
        return false;
      }
      /** @type {string} */
      let passwordHash;
      try {
        passwordHash = await hashPassword(request.password);
      } catch (error) {
        // WebCrypto is there only in a secure context (the site's HTTPS).
        form.errors.show({ password: `This browser could not hash the password (${error?.message ?? error}); give an SSH key instead.` });
        return false;
      }
      try {
        sealedHash = await sealPassword(passwordHash);
      } catch (error) {
        if (error?.status === 401) {
          dialog.close(); // the app is taking the user to the login page
          return false;
        }
        form.errors.show({
          password: `Could not seal the password to the Salt master's key (${error?.message ?? error}); try again, or give an SSH key instead.`,
        });
        return false;
      }
    }
    const options = withSealedPassword(request.options, sealedHash);
    try {
      const plan = await call("create", { name: String(options.name), options, test: true });
      planned = options;
      step = "plan";
      render(planStep, renderPlan(planView(plan)));
      formStep.hidden = true;
      planStep.hidden = false;
      back.hidden = false;
      confirm.textContent = "Create";
      confirm.dataset.testid = "create-confirm";
      planStep.focus();
      announce(`The plan for ${String(options.name)}: review it, then create.`);
    } catch (error) {
      refused(error);
    }
    return false;
  }

  async function create() {
    if (!planned) {
      return false;
    }
    const options = planned;
    try {
      const result = await call("create", { name: String(options.name), options, test: false });
      const where = typeof result?.host === "string" ? ` on ${result.host}` : "";
      notify(`${String(options.name)} is being created${where}: it shows as installing until it runs.`, { tone: "success" });
      store.refresh().catch(() => {});
      return true;
    } catch (error) {
      return refused(error);
    }
  }

  const showLoadError = (/** @type {any} */ error) => {
    render(
      formStep,
      h("p", { class: "form-error", role: "alert", dataset: { testid: "create-error" }, text: `Could not read the catalog: ${error?.message ?? error}` }),
      h("button", { type: "button", class: "btn", text: "Try again", onclick: load }),
    );
  };
  function load() {
    render(formStep, h("p", { class: "muted", role: "status", text: "Reading the catalog…" }));
    loadCatalog(store).then((loaded) => {
      catalog = loaded;
      form = createForm(catalog, store.state.inventory);
      render(formStep, form.element);
      form.focus();
    }, (error) => (error?.status === 401 ? dialog.close() : showLoadError(error)));
  }
  load();
  dialog.confirmed.then(() => form?.forgetPassword());
  return dialog;
}
