// @ts-check
// The route table's matcher: hash routes ("#/vm/lab-vm1") to a registered page and its
// parameters. Pure, no DOM: the app (app.js) mounts what it returns, the node tests check it.
// After SaltGUI's Router: pages register a route; nothing routes with an if/else.

/**
 * A page of the app: mounted into the main element, unmounted when the route changes.
 * @typedef {{mount(container: HTMLElement, params: Record<string, string>): void, unmount(): void}} Mountable
 */

/**
 * One entry of the route table.
 * @template C
 * @typedef {object} Route
 * @property {string} pattern   "/", "/login", "/vm/:name" (":x" matches one segment, URL-decoded)
 * @property {new (context: C) => Mountable} page   the page class (pages/page.js)
 * @property {string | ((params: Record<string, string>) => string)} title   the document title
 * @property {boolean} [public]  shown without a session (the login page); others need one
 */

/** @param {string} text */
function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * @param {string} pattern
 * @returns {{regex: RegExp, names: string[]}}
 */
function compile(pattern) {
  /** @type {string[]} */
  const names = [];
  const source = pattern
    .split("/")
    .map((part) => {
      if (part.startsWith(":")) {
        names.push(part.slice(1));
        return "(.+)";
      }
      return escapeRegex(part);
    })
    .join("/");
  return { regex: new RegExp(`^${source}$`), names };
}

/**
 * A router over a route table. `fallback` is the pattern of the route shown for anything
 * unknown (or undecodable).
 * @template C
 * @param {Route<C>[]} routes
 * @param {{fallback: string}} options
 */
export function createRouter(routes, { fallback }) {
  const compiled = routes.map((route) => ({ route, ...compile(route.pattern) }));
  const found = routes.find((route) => route.pattern === fallback);
  if (!found) {
    throw new Error(`The fallback route ${fallback} is not in the table.`);
  }
  const fallbackRoute = found;
  const seen = new Set();
  for (const route of routes) {
    if (seen.has(route.pattern)) {
      throw new Error(`The route ${route.pattern} is registered twice.`);
    }
    seen.add(route.pattern);
  }

  /**
   * The route of a location hash, with its parameters.
   * @param {string} hash  "#/vm/lab-vm1", "#/", "" ...
   * @returns {{route: Route<C>, params: Record<string, string>, path: string}}
   */
  function match(hash) {
    const path = String(hash ?? "").replace(/^#/, "") || "/";
    for (const { route, regex, names } of compiled) {
      const found = regex.exec(path);
      if (found) {
        try {
          const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
          return { route, params, path };
        } catch {
          break; // a malformed escape: not a page we can show
        }
      }
    }
    return { route: fallbackRoute, params: {}, path: fallback };
  }

  /**
   * The hash of a route with its parameters: href("/vm/:name", {name: "a b"}) -> "#/vm/a%20b".
   * @param {string} pattern
   * @param {Record<string, string>} [params]
   */
  function href(pattern, params = {}) {
    return `#${pattern.replace(/:(\w+)/g, (_, name) => encodeURIComponent(params[name] ?? ""))}`;
  }

  /**
   * The document title of a matched route.
   * @param {Route<C>} route
   * @param {Record<string, string>} params
   */
  function titleOf(route, params) {
    return typeof route.title === "function" ? route.title(params) : route.title;
  }

  return { match, href, titleOf, routes: Object.freeze([...routes]) };
}
