// @ts-check
// The Run Container dialog's logic (docs/containers.md, containers.run): the form's checks,
// the same rules as the runner's brine.container_spec (image references by Docker's grammar,
// names, port mappings, environment names and one-line values, restart policy), so a run the
// runner would refuse never leaves the dialog; the form's values to containers.run's
// arguments; every environment value sealed to the Salt master's key (seal.js) and sent only as
// secret_environment; where a refusal goes; the answer as the dialog shows it. Pure, no DOM
// (WebCrypto aside).

import { containerState, formatPortMapping } from "./containers.js";
import { placeError } from "./field-errors.js";
import { maxSealBytes, sealText, utf8Length } from "./seal.js";

// distribution/reference, as brine.container_spec.REFERENCE_RE.
const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const LABEL = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?";
const DOMAIN = `${LABEL}(?:\\.${LABEL})*(?::[0-9]+)?`;
const REFERENCE_RE = new RegExp(
  `^(?:(?<domain>${DOMAIN})/)?(?<path>${COMPONENT}(?:/${COMPONENT})*)(?::(?<tag>[\\w][\\w.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$`,
);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
export const REFERENCE_MAX = 255;
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const PROTOCOLS = Object.freeze(["tcp", "udp", "sctp"]);
export const RESTART_POLICIES = Object.freeze(["no", "always", "unless-stopped", "on-failure"]);
/** brine.container_spec's bounds. */
export const MAX_PORTS = 64;
export const MAX_ENV = 128;
export const ENV_VALUE_MAX = 32768;
export const MAX_RETRIES = 100;
/** containers.run's wait for a container run in the foreground (seconds). */
export const TIMEOUT_MAX = 600;

/**
 * An image reference split as Docker reads it, or null when it is not one:
 * {repository (with its registry), tag (null without), digest (null without)}.
 * @param {string} reference
 */
export function parseReference(reference) {
  if (typeof reference !== "string" || reference.length > REFERENCE_MAX) {
    return null;
  }
  const found = REFERENCE_RE.exec(reference);
  if (!found?.groups) {
    return null;
  }
  const { domain, path, tag, digest } = found.groups;
  return { repository: domain ? `${domain}/${path}` : path, tag: tag ?? null, digest: digest ?? null };
}

/**
 * The image field split into image and tag when it names a tag ("registry:5000/web:1" ->
 * {image: "registry:5000/web", tag: "1"}); null when there is nothing to split.
 * @param {string} reference
 */
export function splitTag(reference) {
  const parsed = parseReference(reference.trim());
  if (!parsed || !parsed.tag || parsed.digest) {
    return null;
  }
  return { image: parsed.repository, tag: parsed.tag };
}

/** @param {string} text */
const wholeNumber = (text) => (/^\d+$/.test(text) ? Number(text) : null);

const IPV4_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * An address to bind on, normalised (IPv6 compressed), or null when it is not an IP address.
 * @param {string} text
 */
export function bindAddress(text) {
  const bare = text.trim().replace(/^\[(.*)\]$/, "$1");
  if (IPV4_RE.test(bare)) {
    return bare;
  }
  if (!bare.includes(":") || !/^[0-9a-fA-F:.]+$/.test(bare)) {
    return null;
  }
  try {
    return new URL(`http://[${bare}]/`).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return null;
  }
}

/**
 * @typedef {{host_port: string, container_port: string, protocol: string, bind: string}} PortValues
 * @typedef {{name: string, value: string}} EnvValues
 * @typedef {object} RunValues   the form's values, as the inputs hold them
 * @property {string} image
 * @property {string} tag
 * @property {string} name        "" : Brine names it
 * @property {string} host        "" : Brine places it
 * @property {PortValues[]} ports
 * @property {EnvValues[]} environment
 * @property {string} restart     one of RESTART_POLICIES
 * @property {string} retries     on-failure's retries ("" : Docker's default)
 * @property {boolean} background
 * @property {string} timeout     the wait in seconds without background ("" : the runner's)
 * @typedef {{row: number, name: string, value: string}} Secret   an environment value, to be sealed
 * @typedef {{options: Record<string, unknown>, secrets: Secret[], portRows: number[]}} RunRequest
 */

/** A fresh form: tag latest, run in background, no ports or variables. @returns {RunValues} */
export function emptyRunValues() {
  return { image: "", tag: "latest", name: "", host: "", ports: [], environment: [], restart: "no", retries: "", background: true, timeout: "" };
}

/** An empty port row. @returns {PortValues} */
export const emptyPort = () => ({ host_port: "", container_port: "", protocol: "tcp", bind: "" });
/** An empty variable row. @returns {EnvValues} */
export const emptyVariable = () => ({ name: "", value: "" });

/**
 * The image reference the form names (image and tag joined), or the field's error.
 * @param {string} imageText @param {string} tagText
 * @returns {{ref: string} | {field: "image" | "tag", error: string}}
 */
function imageReference(imageText, tagText) {
  const image = imageText.trim();
  const tag = tagText.trim();
  if (image === "") {
    return { field: "image", error: "Give an image: a local image or one in the registry." };
  }
  const parsed = parseReference(image);
  if (!parsed) {
    return {
      field: "image",
      error:
        image.length > REFERENCE_MAX
          ? `An image reference is at most ${REFERENCE_MAX} characters.`
          : `“${image}” is not an image reference: [registry[:port]/]name[:tag][@sha256:digest], the name in lowercase letters, digits and . _ - separators.`,
    };
  }
  if (parsed.digest) {
    if (tag !== "" && tag !== "latest" && tag !== parsed.tag) {
      return { field: "tag", error: "An image named by its digest takes no tag: clear the tag." };
    }
    return { ref: image };
  }
  if (parsed.tag) {
    if (tag !== "" && tag !== "latest" && tag !== parsed.tag) {
      return { field: "tag", error: `The image already names tag “${parsed.tag}”: give the tag in one place.` };
    }
    return { ref: image };
  }
  if (tag !== "" && !TAG_RE.test(tag)) {
    return { field: "tag", error: "A tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'." };
  }
  const ref = tag === "" ? image : `${image}:${tag}`;
  if (ref.length > REFERENCE_MAX) {
    return { field: "image", error: `An image reference is at most ${REFERENCE_MAX} characters.` };
  }
  return { ref };
}

/** @param {string} text @param {string} what */
function portProblem(text, what) {
  const number = wholeNumber(text.trim());
  if (text.trim() === "") {
    return `Give the ${what}.`;
  }
  return number !== null && number >= 1 && number <= 65535 ? null : `The ${what} must be a port from 1 to 65535, not ${text.trim()}.`;
}

/**
 * The form checked as the runner checks it (brine.container_spec) and turned into
 * containers.run's arguments, all but the environment: its values come back apart (`secrets`),
 * to be sealed (sealEnvironment) before anything is sent. Errors are keyed by field ("image",
 * "tag", "name", "host", "ports", "environment", "restart", "retries", "timeout") or by row
 * ("ports[2]", "environment[0]"); blank rows are skipped. `portRows`: the form's row of each
 * mapping sent (the runner's refusal names ports[i] of what it got).
 * @param {RunValues} values
 * @returns {{errors: Record<string, string>} | RunRequest}
 */
export function runRequest(values) {
  /** @type {Record<string, string>} */
  const errors = {};
  /** @type {Record<string, unknown>} */
  const options = {};

  const image = imageReference(values.image ?? "", values.tag ?? "");
  if ("error" in image) {
    errors[image.field] = image.error;
  } else {
    options.image = image.ref;
  }

  const name = (values.name ?? "").trim();
  if (name !== "") {
    if (NAME_RE.test(name)) {
      options.name = name;
    } else {
      errors.name = "A container's name is 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit.";
    }
  }
  if ((values.host ?? "") !== "") {
    options.host = values.host;
  }

  // Port mappings: each row whole, each host port and protocol bound once per address.
  /** @type {{host_port: number, container_port: number, protocol: string, bind?: string}[]} */
  const ports = [];
  /** @type {number[]} */
  const portRows = [];
  /** @type {{row: number, host_port: number, protocol: string, bind: string}[]} */
  const bound = [];
  (values.ports ?? []).forEach((row, index) => {
    const key = `ports[${index}]`;
    if ([row.host_port, row.container_port, row.bind].every((text) => String(text ?? "").trim() === "")) {
      return; // a blank row
    }
    const problem = portProblem(String(row.host_port ?? ""), "host port") ?? portProblem(String(row.container_port ?? ""), "container port");
    if (problem) {
      errors[key] = problem;
      return;
    }
    const protocol = row.protocol || "tcp";
    if (!PROTOCOLS.includes(protocol)) {
      errors[key] = `The protocol is one of ${PROTOCOLS.join(", ")}.`;
      return;
    }
    const bindText = String(row.bind ?? "").trim();
    const bind = bindText === "" ? "0.0.0.0" : bindAddress(bindText);
    if (bind === null) {
      errors[key] = `The address to bind on must be an IP address (empty: every address), not “${bindText}”.`;
      return;
    }
    const hostPort = Number(row.host_port.trim());
    const clash = bound.find(
      (other) => other.host_port === hostPort && other.protocol === protocol && (other.bind === bind || [other.bind, bind].some((b) => b === "0.0.0.0" || b === "::")),
    );
    if (clash) {
      errors[key] = `Host port ${hostPort}/${protocol} is bound twice (row ${clash.row + 1} has it).`;
      return;
    }
    bound.push({ row: index, host_port: hostPort, protocol, bind });
    ports.push({ host_port: hostPort, container_port: Number(row.container_port.trim()), protocol, ...(bindText === "" ? {} : { bind }) });
    portRows.push(index);
  });
  if (ports.length > MAX_PORTS) {
    errors.ports = `At most ${MAX_PORTS} port mappings.`;
  } else if (ports.length > 0) {
    options.ports = ports;
  }

  // Environment: names by the runner's rule, each once; values one line (sealed later).
  /** @type {Secret[]} */
  const secrets = [];
  const names = new Map();
  (values.environment ?? []).forEach((row, index) => {
    const key = `environment[${index}]`;
    const variable = String(row.name ?? "").trim();
    const value = String(row.value ?? "");
    if (variable === "" && value === "") {
      return; // a blank row
    }
    if (variable === "") {
      errors[key] = "Give the variable a name.";
    } else if (!ENV_KEY_RE.test(variable)) {
      errors[key] = "A variable's name is letters, digits and '_', not starting with a digit (128 at most).";
    } else if (names.has(variable)) {
      errors[key] = `${variable} is given twice (row ${names.get(variable) + 1} has it).`;
    } else if (/[\n\r\0]/.test(value)) {
      errors[key] = `The value of ${variable} must be one line: no line break or NUL.`;
    } else if (value.length > ENV_VALUE_MAX) {
      errors[key] = `The value of ${variable} is longer than ${ENV_VALUE_MAX} characters.`;
    } else {
      names.set(variable, index);
      secrets.push({ row: index, name: variable, value });
    }
  });
  if (secrets.length > MAX_ENV) {
    errors.environment = `At most ${MAX_ENV} variables.`;
  }

  const restart = values.restart || "no";
  if (!RESTART_POLICIES.includes(restart)) {
    errors.restart = `The restart policy is one of ${RESTART_POLICIES.join(", ")}.`;
  } else if (restart === "on-failure" && String(values.retries ?? "").trim() !== "") {
    const retries = wholeNumber(String(values.retries).trim());
    if (retries === null || retries > MAX_RETRIES) {
      errors.retries = `Retries must be a whole number from 0 to ${MAX_RETRIES}.`;
    } else {
      options.restart = `on-failure:${retries}`;
    }
  } else if (restart !== "no") {
    options.restart = restart;
  }

  options.detach = values.background !== false;
  if (!options.detach && String(values.timeout ?? "").trim() !== "") {
    const timeout = wholeNumber(String(values.timeout).trim());
    if (timeout === null || timeout < 1 || timeout > TIMEOUT_MAX) {
      errors.timeout = `Wait from 1 to ${TIMEOUT_MAX} seconds.`;
    } else {
      options.timeout = timeout;
    }
  }

  if (Object.keys(errors).length > 0) {
    return { errors };
  }
  return { options, secrets, portRows };
}

/**
 * Every environment value sealed to the Salt master's key (seal.js), as containers.run's
 * secret_environment {NAME: base64}; a value too long for one RSA-OAEP block of that key is
 * refused at its row before anything is sealed. Nothing of a value leaves unsealed.
 * @param {Secret[]} secrets
 * @param {CryptoKey} key    the master's (provision.sealing_key)
 * @param {{seal?: (key: CryptoKey, text: string) => Promise<string>}} [deps]
 * @returns {Promise<{errors: Record<string, string>} | {sealed: Record<string, string>}>}
 */
export async function sealEnvironment(secrets, key, { seal = sealText } = {}) {
  const most = maxSealBytes(key);
  /** @type {Record<string, string>} */
  const errors = {};
  for (const secret of secrets) {
    const bytes = utf8Length(secret.value);
    if (bytes > most) {
      errors[`environment[${secret.row}]`] =
        `The value of ${secret.name} is too long to seal: ${bytes} bytes, and the Salt master's key seals at most ${most} bytes (UTF-8) per value. ` +
        "Shorten it, or give it to the container another way (the pillar's containers, a file in its image).";
    }
  }
  if (Object.keys(errors).length > 0) {
    return { errors };
  }
  /** @type {Record<string, string>} */
  const sealed = {};
  for (const secret of secrets) {
    sealed[secret.name] = await seal(key, secret.value);
  }
  return { sealed };
}

/**
 * containers.run's options with the sealed environment in them (none: no key at all).
 * @param {Record<string, unknown>} options @param {Record<string, string>} sealed
 * @returns {Record<string, unknown>}
 */
export function withSealedEnvironment(options, sealed) {
  return Object.keys(sealed).length > 0 ? { ...options, secret_environment: sealed } : { ...options };
}

/**
 * The dialog's fields as a refusal may name them (field-errors.js).
 * @type {readonly import("./field-errors.js").NamedField[]}
 */
export const RUN_FIELDS = Object.freeze([
  { name: "image" },
  { name: "tag" },
  { name: "name", aliases: ["container name"] },
  { name: "host" },
  { name: "ports", aliases: ["port", "host port", "container port"] },
  { name: "environment", aliases: ["secret_environment", "environment variable"] },
  { name: "restart", aliases: ["restart policy"] },
  { name: "timeout" },
]);

/** Codes that are always about one field of the dialog. */
export const RUN_ERROR_FIELDS = Object.freeze({
  container_exists: "name",
  port_in_use: "ports",
  no_image: "image",
  no_room: "host",
  no_host: "host",
  docker_unavailable: "host",
  unreachable: "host",
});

/** @param {string} text */
const escapeRegex = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Where a refusal of containers.run goes in the dialog: the field it names (placeError), and for
 * ports and variables the row it is about when it says (ports[i] of what was sent, the host
 * port in use, the variable's name).
 * @param {unknown} error
 * @param {{values: RunValues, portRows: number[]}} sent
 * @returns {import("./field-errors.js").PlacedError}
 */
export function placeRunError(error, { values, portRows }) {
  const placed = placeError(error, RUN_FIELDS, { byCode: RUN_ERROR_FIELDS });
  if (placed.field === "ports") {
    const indexed = /ports\[(\d+)\]/.exec(placed.message);
    if (indexed && Number(indexed[1]) < portRows.length) {
      return { field: `ports[${portRows[Number(indexed[1])]}]`, message: placed.message };
    }
    const row = (values.ports ?? []).findIndex(
      (port) => String(port.host_port ?? "").trim() !== "" && new RegExp(`(?<![0-9])${escapeRegex(String(port.host_port).trim())}(?![0-9])`).test(placed.message),
    );
    return row === -1 ? placed : { field: `ports[${row}]`, message: placed.message };
  }
  if (placed.field === "environment") {
    const row = (values.environment ?? []).findIndex(
      (variable) => String(variable.name ?? "").trim() !== "" && new RegExp(`(?<![A-Za-z0-9_])${escapeRegex(String(variable.name).trim())}(?![A-Za-z0-9_])`).test(placed.message),
    );
    return row === -1 ? placed : { field: `environment[${row}]`, message: placed.message };
  }
  return placed;
}

/**
 * containers.run's answer as the dialog shows it: one headline saying where it runs (or how it
 * ended, waited for) and whether its host pulled the image, why that host, the published
 * ports, and, waited for, the exit code and the output.
 * @param {any} result   a container dict + {host, pulled, placed} (+ exit_code, logs when waited for)
 * @param {boolean} waited   run in the foreground
 */
export function runResultView(result, waited) {
  const host = typeof result?.host === "string" ? result.host : "";
  const name = typeof result?.name === "string" ? result.name : "";
  const image = typeof result?.image === "string" && result.image ? result.image : "its image";
  const state = typeof result?.state === "string" ? result.state : "";
  let ran = `${name} is ${containerState(state, result?.exit_code ?? null).label.toLowerCase()} on ${host}.`;
  if (waited) {
    ran = typeof result?.exit_code === "number" ? `${name} ran on ${host} and exited with code ${result.exit_code}.` : `${name} is still ${state || "running"} on ${host}: the wait ended first.`;
  } else if (state === "running") {
    ran = `${name} runs on ${host}.`;
  }
  const pulled = result?.pulled === true ? `${host} pulled ${image} from the registry first.` : `${host} had ${image} already.`;
  return {
    name,
    host,
    headline: `${ran} ${pulled}`,
    pulled: result?.pulled === true,
    placed: typeof result?.placed === "string" ? result.placed : "",
    ports: (Array.isArray(result?.ports) ? result.ports : []).map(formatPortMapping),
    exitCode: typeof result?.exit_code === "number" ? result.exit_code : null,
    logs: waited ? (Array.isArray(result?.logs) ? result.logs.map(String) : typeof result?.logs === "string" ? result.logs.split("\n") : []) : null,
  };
}
