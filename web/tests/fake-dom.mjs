// The little of the DOM that js/dom.js's h(), svg() and render() use, for rendering components
// under node (no jsdom in the project): elements with attributes, dataset, children, text,
// classList, form controls' value, checked, hidden and disabled, listeners (click(), fire(type)),
// and querySelectorAll for "tag", "[attr]", '[attr="value"]' and descendants.
// installFakeDom() puts `document`, `Node`, `HTMLElement` and `CSS` on globalThis.

class FakeNode {
  constructor() {
    /** @type {FakeElement | null} */
    this.parentNode = null;
  }
}

class FakeText extends FakeNode {
  constructor(text) {
    super();
    this.data = String(text);
  }

  get textContent() {
    return this.data;
  }
}

const kebab = (name) => name.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`);

class FakeElement extends FakeNode {
  constructor(tag) {
    super();
    this.tagName = tag.toUpperCase();
    this.localName = tag.toLowerCase();
    /** @type {Map<string, string>} */
    this.attributes = new Map();
    /** @type {FakeNode[]} */
    this.childNodes = [];
    this.listeners = new Map();
    this.style = {};
    this.dataset = new Proxy(
      {},
      {
        get: (_, key) => this.getAttribute(`data-${kebab(String(key))}`) ?? undefined,
        set: (_, key, value) => {
          this.setAttribute(`data-${kebab(String(key))}`, value);
          return true;
        },
      },
    );
  }

  setAttribute(name, value) {
    this.attributes.set(name, String(value));
  }

  getAttribute(name) {
    return this.attributes.has(name) ? this.attributes.get(name) : null;
  }

  hasAttribute(name) {
    return this.attributes.has(name);
  }

  removeAttribute(name) {
    this.attributes.delete(name);
  }

  get id() {
    return this.getAttribute("id") ?? "";
  }

  get className() {
    return this.getAttribute("class") ?? "";
  }

  get classList() {
    const names = () => this.className.split(/\s+/).filter(Boolean);
    const write = (list) => this.setAttribute("class", [...new Set(list)].join(" "));
    return {
      contains: (name) => names().includes(name),
      add: (...added) => write([...names(), ...added]),
      remove: (...removed) => write(names().filter((name) => !removed.includes(name))),
      toggle: (name, force = !names().includes(name)) => {
        write(force ? [...names(), name] : names().filter((other) => other !== name));
        return force;
      },
    };
  }

  get disabled() {
    return this.hasAttribute("disabled");
  }

  set disabled(on) {
    if (on) {
      this.setAttribute("disabled", "");
    } else {
      this.removeAttribute("disabled");
    }
  }

  get hidden() {
    return this.hasAttribute("hidden");
  }

  set hidden(on) {
    if (on) {
      this.setAttribute("hidden", "");
    } else {
      this.removeAttribute("hidden");
    }
  }

  /** A form control's value (what the user typed or chose); its value attribute until set. */
  get value() {
    return this.currentValue ?? this.getAttribute("value") ?? "";
  }

  set value(text) {
    this.currentValue = String(text);
  }

  get checked() {
    return this.currentChecked ?? this.hasAttribute("checked");
  }

  set checked(on) {
    this.currentChecked = Boolean(on);
  }

  get children() {
    return this.childNodes.filter((node) => node instanceof FakeElement);
  }

  get textContent() {
    return this.childNodes.map((node) => node.textContent).join("");
  }

  set textContent(text) {
    this.replaceChildren();
    if (text !== "") {
      this.append(new FakeText(text));
    }
  }

  append(...nodes) {
    for (const node of nodes) {
      const child = node instanceof FakeNode ? node : new FakeText(node);
      child.parentNode = this;
      this.childNodes.push(child);
    }
  }

  prepend(...nodes) {
    const old = this.childNodes;
    this.childNodes = [];
    this.append(...nodes);
    this.childNodes.push(...old);
  }

  replaceChildren(...nodes) {
    this.childNodes = [];
    this.append(...nodes);
  }

  contains(node) {
    for (let at = node; at; at = at.parentNode) {
      if (at === this) {
        return true;
      }
    }
    return false;
  }

  addEventListener(type, fn) {
    const list = this.listeners.get(type) ?? [];
    list.push(fn);
    this.listeners.set(type, list);
  }

  click() {
    this.fire("click");
  }

  /** Call this element's listeners of one event type (no bubbling): fire("input") after typing. */
  fire(type) {
    for (const fn of this.listeners.get(type) ?? []) {
      fn({ type, target: this, preventDefault() {} });
    }
  }

  focus() {}

  /** Every element below this one, in document order. */
  descendants() {
    return this.children.flatMap((child) => [child, ...child.descendants()]);
  }

  querySelectorAll(selector) {
    const steps = selector.trim().split(/\s+(?![^[]*\])/).map(compile);
    let found = [this];
    for (const step of steps) {
      const next = new Set();
      for (const root of found) {
        for (const el of root.descendants()) {
          if (step(el)) {
            next.add(el);
          }
        }
      }
      found = [...next];
    }
    return found;
  }

  querySelector(selector) {
    return this.querySelectorAll(selector)[0] ?? null;
  }

  closest(selector) {
    const step = compile(selector);
    for (let at = this; at; at = at.parentNode) {
      if (at instanceof FakeElement && step(at)) {
        return at;
      }
    }
    return null;
  }
}

/** One compound selector: an optional tag, then [attr] or [attr="value"] filters. */
function compile(compound) {
  const tag = /^[a-z][a-z0-9-]*/i.exec(compound)?.[0]?.toLowerCase() ?? null;
  const filters = [...compound.matchAll(/\[([^\]=~^$*|]+)(?:="([^"]*)")?\]/g)].map((m) => [m[1], m[2]]);
  return (el) =>
    (tag === null || el.localName === tag) &&
    filters.every(([name, value]) => (value === undefined ? el.hasAttribute(name) : el.getAttribute(name) === value));
}

export function installFakeDom() {
  globalThis.Node = FakeNode;
  globalThis.HTMLElement = FakeElement;
  globalThis.document = {
    activeElement: null,
    createElement: (tag) => new FakeElement(tag),
    createElementNS: (_, tag) => new FakeElement(tag),
    createTextNode: (text) => new FakeText(text),
  };
  globalThis.CSS = { escape: (text) => String(text) };
}

/** A container to render into. */
export const container = () => new FakeElement("div");
