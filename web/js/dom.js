// @ts-check
// A tiny element builder. Text always goes in as text (textContent / text nodes), never as HTML,
// so names and messages from Salt cannot inject markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function appendChildren(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === true) {
      continue;
    }
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (key === "innerHTML" || key === "style") {
      // innerHTML would parse data as markup; a style attribute is blocked by our CSP.
      throw new Error(`h(): "${key}" is not supported; use text/children or a CSS class`);
    }
    if (key === "class") {
      const names = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
      if (names) {
        el.setAttribute("class", names);
      }
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (key === "dataset") {
      for (const [name, data] of Object.entries(value)) {
        if (data !== null && data !== undefined) {
          el.dataset[name] = String(data);
        }
      }
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "value" && "value" in el) {
      el.value = String(value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
}

/**
 * h("button", {class: "btn", onclick: fn, "aria-label": "Start lab-vm1"}, "Start")
 * Props: class (string or list), text, dataset, on<event> handlers, attributes (true = present,
 * false/null = absent). Children: nodes, strings, numbers, arrays; null/false are skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  appendChildren(el, children);
  return el;
}

/** Like h() for SVG elements (icons). */
export function svg(tag, props = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyProps(el, props);
  appendChildren(el, children);
  return el;
}

/**
 * Replace a container's content with freshly rendered nodes, keeping keyboard focus on the
 * element with the same data-focus-key (re-rendering every 15 s must not steal focus).
 */
export function render(container, ...nodes) {
  const active = document.activeElement;
  const focusKey = active instanceof HTMLElement && container.contains(active) ? active.dataset?.focusKey : null;
  container.replaceChildren();
  appendChildren(container, nodes);
  if (focusKey) {
    const again = container.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
    if (again && !again.disabled) {
      again.focus({ preventScroll: true });
    } else if (again) {
      // A disabled button cannot hold focus; keep focus inside its group rather than on <body>.
      again.closest("[data-focus-group]")?.querySelector("button:not([disabled]), a")?.focus({
        preventScroll: true,
      });
    }
  }
}

/** Small inline icons drawn with strokes; decorative, so hidden from assistive tech. */
const ICONS = {
  refresh: ["M20 11a8 8 0 1 0-2.3 5.7", "M20 4v7h-7"],
  logout: ["M15 4h4v16h-4", "M10 8l-4 4 4 4", "M6 12h10"],
  close: ["M6 6l12 12", "M18 6L6 18"],
  back: ["M15 6l-6 6 6 6"],
  server: ["M4 5h16v5H4z", "M4 14h16v5H4z", "M8 7.5h.01", "M8 16.5h.01"],
  network: ["M9 3h6v5H9z", "M12 8v4", "M5 12h14", "M5 12v3", "M19 12v3", "M2 15h6v5H2z", "M16 15h6v5h-6z"],
  storage: ["M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3z", "M4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6", "M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3"],
  container: ["M12 3l8 4.5v9L12 21l-8-4.5v-9z", "M4 7.5l8 4.5 8-4.5", "M12 12v9"],
};

export function icon(name) {
  return svg(
    "svg",
    {
      class: `icon icon-${name}`,
      viewBox: "0 0 24 24",
      width: "16",
      height: "16",
      "aria-hidden": "true",
      focusable: "false",
    },
    ICONS[name].map((d) => svg("path", { d })),
  );
}
