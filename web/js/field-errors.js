// @ts-check
// Where a runner's refusal goes in a form. Brine's catalog and create refusals name the field
// they are about (`invalid_argument`, `no_entry`: "memory must be at least 64 MiB, not 0",
// "profile names profile 'big', which is not in the catalog"), so the sentence is shown under
// that field; a sentence that names none of the form's fields, and every other code, goes at
// the top of the form. A few codes are always about one field (`vm_exists`: the name).
// Pure, no DOM.

/**
 * @typedef {{name: string, aliases?: readonly string[]}} NamedField
 * @typedef {{field: string | null, message: string}} PlacedError
 */

/** The codes whose sentence names the field it is about. */
export const FIELD_CODES = Object.freeze(["invalid_argument", "no_entry"]);

/** @param {string} text */
function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The words a sentence may name a field by: its name ("os_tree"), the same with spaces
 * ("os tree"), and its aliases ("OS tree").
 * @param {NamedField} field
 */
function wordsOf(field) {
  return [...new Set([field.name, field.name.replace(/_/g, " "), ...(field.aliases ?? [])])].filter(Boolean);
}

/**
 * The first place in `message` where a field is named as a whole word (an underscore counts as
 * part of a word, so "host" is not found in "host_group"); the earliest wins, and of two found
 * at one place the longer ("host group" over "host").
 * @param {string} message
 * @param {readonly NamedField[]} fields
 * @returns {string | null}
 */
export function fieldNamedIn(message, fields) {
  /** @type {{field: string, at: number, length: number} | null} */
  let best = null;
  for (const field of fields) {
    for (const word of wordsOf(field)) {
      const found = new RegExp(`(?<![A-Za-z0-9_])${escapeRegex(word)}(?![A-Za-z0-9_])`, "i").exec(message);
      if (found && (!best || found.index < best.at || (found.index === best.at && word.length > best.length))) {
        best = { field: field.name, at: found.index, length: word.length };
      }
    }
  }
  return best ? best.field : null;
}

/**
 * Where to show an error from a call: at a field, or at the top (field null).
 * @param {unknown} error  an ApiError ({code, message}) or anything thrown
 * @param {readonly NamedField[]} fields  the form's fields
 * @param {{byCode?: Readonly<Record<string, string>>}} [options]  codes always about one field
 * @returns {PlacedError}
 */
export function placeError(error, fields, { byCode = {} } = {}) {
  const { code, message } = /** @type {{code?: unknown, message?: unknown}} */ (error ?? {});
  const sentence = typeof message === "string" && message.trim() !== "" ? message.trim() : String(error);
  if (typeof code === "string" && Object.hasOwn(byCode, code)) {
    return { field: byCode[code], message: sentence };
  }
  if (typeof code === "string" && FIELD_CODES.includes(code)) {
    return { field: fieldNamedIn(sentence, fields), message: sentence };
  }
  return { field: null, message: sentence };
}
