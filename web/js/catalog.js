// @ts-check
// The provisioning catalog as the web app sees it (docs/provisioning.md, The catalog): the six
// kinds, each field's label and kind of control, what the form's values send to
// provision.catalog_set, and the checks the browser makes before sending (the runner makes
// them all again). Pure, no DOM: the catalog page and its form render from this.

import { naturalCompare } from "./format.js";
import { LIMITS } from "./limits.js";

/**
 * One field of a kind's entries.
 *   number     a whole number within [min, limits.js's max] (sizes)
 *   url        an http or https URL
 *   text       a short word (an osinfo id, a libvirt network or pool)
 *   kickstart  one of provision.kickstarts' template names
 *   ref        one entry of kind `ref` (`optional`: or none)
 *   refs       one or more entries of kind `ref`
 *   placement  {kind: any} | {kind: host, value} | {kind: grain|pillar, key, value}
 * @typedef {object} FieldSpec
 * @property {string} name     the field's name in the catalog (and in the runner's sentences)
 * @property {string} label
 * @property {"number"|"url"|"text"|"kickstart"|"ref"|"refs"|"placement"} type
 * @property {string} [ref]    the kind a ref/refs field names
 * @property {boolean} [optional]
 * @property {string} [unit]
 * @property {number} [min]
 * @property {string} [hint]
 * @property {string[]} [aliases]  other words a sentence may name it by ("OS variant")
 *
 * @typedef {object} KindSpec
 * @property {string} id        "profiles", the runner's kind
 * @property {string} label     "Profiles"
 * @property {string} singular  "profile", as a sentence says one of them
 * @property {string} about     what the entries are
 * @property {FieldSpec[]} fields
 */

/**
 * The most `field` (memory in MiB, vcpus, disk in GiB) may be: limits.js, the copy of Python's
 * brine.validate.LIMITS. The least is SIZES' min (brine.catalog.MINIMUMS).
 * @param {"memory"|"vcpus"|"disk"} field
 */
export function sizeLimit(field) {
  return LIMITS[field];
}

/** @type {Readonly<Record<string, {unit?: string, min: number, label: string}>>} */
export const SIZES = Object.freeze({
  memory: { label: "Memory", unit: "MiB", min: 64 },
  vcpus: { label: "vCPUs", min: 1 },
  disk: { label: "Disk", unit: "GiB", min: 1 },
});

/** @param {"memory"|"vcpus"|"disk"} name @returns {FieldSpec} */
const sizeField = (name) => ({ name, type: "number", ...SIZES[name] });

/** @type {readonly Readonly<KindSpec>[]} */
export const KINDS = Object.freeze([
  {
    id: "profiles",
    label: "Profiles",
    singular: "profile",
    about: "The sizes a VM is created with.",
    fields: [sizeField("memory"), sizeField("vcpus"), sizeField("disk")],
  },
  {
    id: "os_trees",
    label: "OS trees",
    singular: "OS tree",
    about: "Install trees: where the installer comes from, which OS it is, which kickstart it gets.",
    fields: [
      { name: "url", label: "Install tree URL", type: "url", aliases: ["URL"], hint: "http or https" },
      { name: "os_variant", label: "OS variant", type: "text", aliases: ["OS variant"], hint: "An osinfo short id, such as rhel9.0" },
      { name: "kickstart", label: "Kickstart template", type: "kickstart" },
    ],
  },
  {
    id: "products",
    label: "Products",
    singular: "product",
    about: "Software repositories, one URL each.",
    fields: [{ name: "url", label: "Repository URL", type: "url", aliases: ["URL"], hint: "http or https" }],
  },
  {
    id: "views",
    label: "Views",
    singular: "view",
    about: "Sets of products.",
    fields: [{ name: "products", label: "Products", type: "refs", ref: "products", aliases: ["product"] }],
  },
  {
    id: "activation_keys",
    label: "Activation keys",
    singular: "activation key",
    about: "What a VM subscribes to: views whose products become its repositories.",
    fields: [{ name: "views", label: "Views", type: "refs", ref: "views", aliases: ["view"] }],
  },
  {
    id: "host_groups",
    label: "Host groups",
    singular: "host group",
    about: "The defaults of a create: a profile, an OS tree, a key, a network, a pool and where it goes.",
    fields: [
      { name: "profile", label: "Profile", type: "ref", ref: "profiles" },
      { name: "os_tree", label: "OS tree", type: "ref", ref: "os_trees", aliases: ["OS tree"] },
      { name: "activation_key", label: "Activation key", type: "ref", ref: "activation_keys", optional: true, aliases: ["activation key"] },
      { name: "network", label: "Network", type: "text", hint: "The libvirt network of the VM's NIC" },
      { name: "pool", label: "Storage pool", type: "text", aliases: ["storage pool"], hint: "The libvirt storage pool of the VM's disk" },
      { name: "placement", label: "Placement", type: "placement" },
    ],
  },
]);

/** @type {Readonly<Record<string, Readonly<KindSpec>>>} */
const BY_ID = Object.freeze(Object.fromEntries(KINDS.map((kind) => [kind.id, kind])));

/** The kind `id`, or null for an unknown one. @param {string} id @returns {Readonly<KindSpec> | null} */
export function kindSpec(id) {
  return Object.hasOwn(BY_ID, id) ? BY_ID[id] : null;
}

/** The four placements, as the form offers them. */
export const PLACEMENTS = Object.freeze([
  { kind: "any", label: "Any host with room" },
  { kind: "host", label: "One host" },
  { kind: "grain", label: "Hosts matching a grain" },
  { kind: "pillar", label: "Hosts matching a pillar value" },
]);

/** A placement in words: "Any host with room", "Host hv1", "Hosts whose grain os is Debian". @param {any} placement */
export function describePlacement(placement) {
  switch (placement?.kind) {
    case "any":
      return "Any host with room";
    case "host":
      return `Host ${placement.value}`;
    case "grain":
    case "pillar":
      return `Hosts whose ${placement.kind} ${placement.key} is ${placement.value}`;
    default:
      return "—";
  }
}

// Brine's name rule (brine.validate.vm_name): the catalog's names and VM names alike.
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;
export const NAME_RULE = "Use 1 to 64 letters, digits, '_', '.', '+' or '-', starting with a letter or digit.";

/** Why `name` is not a name Brine accepts, or null. @param {string} name */
export function nameProblem(name) {
  if (name === "") {
    return "A name is needed.";
  }
  return NAME_RE.test(name) ? null : NAME_RULE;
}

/** Why `text` is not an http(s) URL with a host, or null. @param {string} text */
export function urlProblem(text) {
  if (text === "") {
    return "A URL is needed.";
  }
  let url;
  try {
    url = new URL(text);
  } catch {
    return "This is not a well-formed URL.";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return "Only http and https URLs can be used.";
  }
  if (!url.hostname) {
    return "The URL needs a host.";
  }
  if (url.username || url.password) {
    return "The URL must not carry a user name or password.";
  }
  return null;
}

/**
 * A whole number in [min, max] from the text of an input, or why not.
 * @param {string} text
 * @param {{min: number, max: number, unit?: string}} bounds
 * @returns {{value: number} | {error: string}}
 */
export function wholeNumber(text, { min, max, unit }) {
  const trimmed = String(text ?? "").trim();
  const units = unit ? ` ${unit}` : "";
  if (!/^\d+$/.test(trimmed)) {
    return { error: trimmed === "" ? "A number is needed." : `Give a whole number of${units || " them"}.` };
  }
  const value = Number(trimmed);
  if (value < min || value > max) {
    return { error: `Give ${min} to ${max}${units}.` };
  }
  return { value };
}

/**
 * The form's values for an entry (empty ones for a new entry): strings for inputs, arrays for
 * refs, {kind, key, value} for a placement.
 * @param {Readonly<KindSpec>} kind
 * @param {Record<string, any> | null} [entry]
 * @returns {Record<string, any>}
 */
export function formValues(kind, entry = null) {
  /** @type {Record<string, any>} */
  const values = {};
  for (const field of kind.fields) {
    const stored = entry?.[field.name];
    if (field.type === "refs") {
      values[field.name] = Array.isArray(stored) ? stored.map(String) : [];
    } else if (field.type === "placement") {
      values[field.name] = {
        kind: stored?.kind ?? "any",
        key: stored?.key == null ? "" : String(stored.key),
        value: stored?.value == null ? "" : String(stored.value),
      };
    } else {
      values[field.name] = stored === null || stored === undefined ? "" : String(stored);
    }
  }
  return values;
}

/**
 * A placement from the form's {kind, key, value}, or {error}.
 * @param {{kind: string, key?: string, value?: string}} input
 * @returns {{value: Record<string, string>} | {error: string}}
 */
function placementFields(input) {
  const key = String(input?.key ?? "").trim();
  const value = String(input?.value ?? "").trim();
  switch (input?.kind) {
    case "any":
      return { value: { kind: "any" } };
    case "host":
      return value === "" ? { error: "Choose the host." } : { value: { kind: "host", value } };
    case "grain":
    case "pillar":
      if (key === "" || value === "") {
        return { error: `Give the ${input.kind} key (a:b:c) and the value hosts must have.` };
      }
      return { value: { kind: input.kind, key, value } };
    default:
      return { error: "Choose where VMs of this group go." };
  }
}

/**
 * What the form's values send as the entry's fields, or the problems to show at each field
 * (and at "name"). Checks what the browser can: names, sizes within limits.js, http(s) URLs,
 * required choices; references and osinfo ids are the runner's to check.
 * @param {Readonly<KindSpec>} kind
 * @param {string} name
 * @param {Record<string, any>} values
 * @returns {{name: string, fields: Record<string, unknown>} | {errors: Record<string, string>}}
 */
export function entryFields(kind, name, values) {
  /** @type {Record<string, string>} */
  const errors = {};
  /** @type {Record<string, unknown>} */
  const fields = {};
  const trimmedName = String(name ?? "").trim();
  const nameError = nameProblem(trimmedName);
  if (nameError) {
    errors.name = nameError;
  }
  for (const field of kind.fields) {
    const raw = values[field.name];
    const text = typeof raw === "string" ? raw.trim() : "";
    if (field.type === "number") {
      const size = /** @type {"memory"|"vcpus"|"disk"} */ (field.name);
      const number = wholeNumber(text, { min: field.min ?? 1, max: sizeLimit(size), unit: field.unit });
      if ("error" in number) {
        errors[field.name] = number.error;
      } else {
        fields[field.name] = number.value;
      }
    } else if (field.type === "url") {
      const problem = urlProblem(text);
      if (problem) {
        errors[field.name] = problem;
      } else {
        fields[field.name] = text;
      }
    } else if (field.type === "refs") {
      const chosen = Array.isArray(raw) ? raw.map(String).filter(Boolean) : [];
      if (chosen.length === 0) {
        errors[field.name] = `Choose at least one ${field.aliases?.[0] ?? field.name}.`;
      } else {
        fields[field.name] = [...new Set(chosen)];
      }
    } else if (field.type === "placement") {
      const placement = placementFields(raw);
      if ("error" in placement) {
        errors[field.name] = placement.error;
      } else {
        fields[field.name] = placement.value;
      }
    } else if (text === "") {
      if (!field.optional) {
        errors[field.name] = field.type === "text" ? "This is needed." : `Choose the ${field.label.toLowerCase()}.`;
      }
      // An optional reference left empty is left out: the runner stores none.
    } else {
      fields[field.name] = text;
    }
  }
  return Object.keys(errors).length > 0 ? { errors } : { name: trimmedName, fields };
}

/**
 * One field's value as the list shows it.
 * @param {FieldSpec} field
 * @param {unknown} value
 */
export function showValue(field, value) {
  if (value === null || value === undefined || value === "") {
    return "—";
  }
  if (field.type === "refs") {
    return Array.isArray(value) ? value.join(", ") : String(value);
  }
  if (field.type === "placement") {
    return describePlacement(value);
  }
  return field.unit ? `${value} ${field.unit}` : String(value);
}

/**
 * The names of one kind's entries in `catalog` ({kind: {name: fields}}), sorted.
 * @param {any} catalog
 * @param {string} kind
 */
export function entryNames(catalog, kind) {
  const entries = catalog?.[kind];
  return entries && typeof entries === "object" ? Object.keys(entries).sort(naturalCompare) : [];
}
