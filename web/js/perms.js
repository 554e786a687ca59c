// @ts-check
// What the signed-in user may call, decided from the `perms` list salt-api returns at /login.
//
// The rules mirror Salt's own check (salt.utils.minions.CkMinions.spec_check, __fun_check,
// __args_check and match_check), so a button is shown exactly when salt-api would accept the
// call. salt-api still enforces the same list: hiding a button is a courtesy, not protection.
//
// perms entries look like:
//   "@runner"                                    every runner function
//   "@cluster"                                   every function of the `cluster` runner module
//   {"@runner": ["cluster.inventory", "cluster.*"]}   function patterns for the runner client
//   {"@cluster": ["inventory", "vm_.*"]}         function patterns within one module
//   {"@runner": [{"cluster.start": {"kwargs": {"name": "lab-.*"}}}]}   patterns with arguments
// Patterns are Python regular expressions applied with re.match: anchored at the start only,
// so "cluster.*" covers every cluster function and "cluster.inventory" also covers
// "cluster.inventory_x" -- exactly as Salt sees it.

import { callSpec } from "./calls.js";

/** Translate the few Python-only regex spellings to JavaScript; the rest is the same. @param {string} pattern */
function toJsRegex(pattern) {
  return pattern
    .replace(/\(\?P<([A-Za-z_]\w*)>/g, "(?<$1>")
    .replace(/\(\?P=([A-Za-z_]\w*)\)/g, "\\k<$1>")
    .replace(/\\A/g, "^")
    .replace(/\\Z/g, "$");
}

/**
 * Python's re.match(pattern, value): true when the pattern matches at the start of value.
 * @param {unknown} pattern
 * @param {unknown} value
 */
export function reMatch(pattern, value) {
  if (typeof pattern !== "string") {
    return false;
  }
  let regex;
  try {
    regex = new RegExp(`^(?:${toJsRegex(pattern)})`, "u");
  } catch {
    try {
      regex = new RegExp(`^(?:${toJsRegex(pattern)})`);
    } catch {
      // Salt logs "Invalid regular expression" and treats it as no match.
      return false;
    }
  }
  return regex.test(String(value));
}

/**
 * Salt's __args_check: does one of the argument conditions accept these args/kwargs?
 * @param {any} conditions @param {unknown[]} args @param {Record<string, unknown>} kwargs
 */
function argsAllowed(conditions, args, kwargs) {
  const list = Array.isArray(conditions) ? conditions : [conditions];
  return list.some((cond) => {
    if (!cond || typeof cond !== "object" || Array.isArray(cond)) {
      return false;
    }
    const wantedArgs = Array.isArray(cond.args) ? cond.args : [];
    for (let i = 0; i < wantedArgs.length; i += 1) {
      if (!args || args.length <= i) {
        return false;
      }
      if (wantedArgs[i] !== null && !reMatch(wantedArgs[i], String(args[i]))) {
        return false;
      }
    }
    const wantedKwargs = cond.kwargs && typeof cond.kwargs === "object" ? cond.kwargs : {};
    for (const [key, pattern] of Object.entries(wantedKwargs)) {
      if (!kwargs || !(key in kwargs)) {
        return false;
      }
      if (pattern !== null && !reMatch(pattern, String(kwargs[key]))) {
        return false;
      }
    }
    return true;
  });
}

/**
 * Salt's __fun_check: does one of the conditions allow this function (with these args)?
 * @param {any} conditions @param {string} fun @param {unknown[]} args @param {Record<string, unknown>} kwargs
 */
function functionAllowed(conditions, fun, args, kwargs) {
  const list = Array.isArray(conditions) ? conditions : [conditions];
  return list.some((cond) => {
    if (typeof cond === "string") {
      return reMatch(cond, fun);
    }
    if (cond && typeof cond === "object" && !Array.isArray(cond)) {
      const keys = Object.keys(cond);
      if (keys.length !== 1) {
        return false;
      }
      return reMatch(keys[0], fun) && argsAllowed(cond[keys[0]], args, kwargs);
    }
    return false;
  });
}

/**
 * May the user call `fun` (e.g. "cluster.shutdown") through the given netapi client?
 *
 * @param {unknown} perms  the `perms` value from salt-api's /login answer
 * @param {string} fun               "module.function"
 * @param {{client?: string, arg?: unknown[], kwarg?: Record<string, unknown>}} [call]  client defaults to "runner"
 */
export function mayCall(perms, fun, { client = "runner", arg = [], kwarg = {} } = {}) {
  if (!Array.isArray(perms) || perms.length === 0 || typeof fun !== "string") {
    return false;
  }
  const parts = fun.split(".");
  if (parts.length !== 2) {
    return false;
  }
  const [moduleName, functionName] = parts;
  return perms.some((entry) => {
    if (typeof entry === "string") {
      return (
        entry.startsWith("@") &&
        (entry.slice(1) === moduleName || entry.slice(1) === client || entry === `@${client}s`)
      );
    }
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) {
      return false;
    }
    const keys = Object.keys(entry);
    if (keys.length !== 1 || !keys[0].startsWith("@")) {
      return false;
    }
    const key = keys[0];
    if (key.slice(1) === moduleName && functionAllowed(entry[key], functionName, arg, kwarg)) {
      return true;
    }
    return (
      (key.slice(1) === client || key === `@${client}s`) &&
      functionAllowed(entry[key], fun, arg, kwarg)
    );
  });
}

/**
 * May the user make the declared call `id` (calls.js) with these arguments? Asks Salt's rules
 * about exactly the function, client and keyword arguments the API layer would send.
 * @param {unknown} perms
 * @param {string} id
 * @param {import("./calls.js").CallArgs} [args]
 */
export function mayRun(perms, id, args = {}) {
  const spec = callSpec(id);
  // An argument not given is not sent, so Salt's ACL does not see it either.
  const kwarg = Object.fromEntries(Object.entries(spec.kwargs(args) ?? {}).filter(([, value]) => value !== undefined));
  return mayCall(perms, spec.fun, { client: spec.client, kwarg });
}
