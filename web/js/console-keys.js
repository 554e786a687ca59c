// @ts-check
// Text as keystrokes for a VM's console (the "Paste text" box): what a person would type on a
// US keyboard. Each character becomes a key press with the physical key's code (noVNC sends
// it as a QEMU extended key event, i.e. a scancode) and its X11 keysym, with Shift held for
// shifted characters. Characters without a key here are sent as keysyms only.
// Pure functions, no DOM: web/tests/console.test.mjs runs them under node.

const SHIFT = { keysym: 0xffe1, code: "ShiftLeft" };

const UNSHIFTED = {
  "`": "Backquote", "-": "Minus", "=": "Equal", "[": "BracketLeft", "]": "BracketRight",
  "\\": "Backslash", ";": "Semicolon", "'": "Quote", ",": "Comma", ".": "Period", "/": "Slash",
  " ": "Space",
};
const SHIFTED = {
  "~": "Backquote", "!": "Digit1", "@": "Digit2", "#": "Digit3", "$": "Digit4", "%": "Digit5",
  "^": "Digit6", "&": "Digit7", "*": "Digit8", "(": "Digit9", ")": "Digit0", _: "Minus",
  "+": "Equal", "{": "BracketLeft", "}": "BracketRight", "|": "Backslash", ":": "Semicolon",
  '"': "Quote", "<": "Comma", ">": "Period", "?": "Slash",
};
const CONTROL = { "\n": { keysym: 0xff0d, code: "Enter" }, "\t": { keysym: 0xff09, code: "Tab" } };

/** The X11 keysym of a character: Latin-1 keysyms are the code point, others 0x1000000 + it. */
export function keysymOf(char) {
  const point = char.codePointAt(0);
  return point < 0x100 ? point : 0x1000000 + point;
}

/** One character -> {keysym, code, shift}; code is null when no US key types it. */
export function keyFor(char) {
  if (CONTROL[char]) {
    return { ...CONTROL[char], shift: false };
  }
  const keysym = keysymOf(char);
  if (/^[a-z]$/.test(char)) {
    return { keysym, code: `Key${char.toUpperCase()}`, shift: false };
  }
  if (/^[A-Z]$/.test(char)) {
    return { keysym, code: `Key${char}`, shift: true };
  }
  if (/^[0-9]$/.test(char)) {
    return { keysym, code: `Digit${char}`, shift: false };
  }
  if (UNSHIFTED[char]) {
    return { keysym, code: UNSHIFTED[char], shift: false };
  }
  if (SHIFTED[char]) {
    return { keysym, code: SHIFTED[char], shift: true };
  }
  return { keysym, code: null, shift: false };
}

/**
 * The key events that type `text`: a list of [keysym, code, down]. "\r\n" and "\r" count as
 * one Enter. Shift is pressed around each shifted character.
 */
export function keyEventsFor(text) {
  const events = [];
  for (const char of String(text).replace(/\r\n?/g, "\n")) {
    const key = keyFor(char);
    if (key.shift) {
      events.push([SHIFT.keysym, SHIFT.code, true]);
    }
    events.push([key.keysym, key.code, true], [key.keysym, key.code, false]);
    if (key.shift) {
      events.push([SHIFT.keysym, SHIFT.code, false]);
    }
  }
  return events;
}

/** Longest text the paste box types (typing is slow over VNC; this is for commands, not files). */
export const MAX_PASTE_CHARS = 4096;
