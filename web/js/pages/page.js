// @ts-check
// The base of every page (after SaltGUI's Page): the app creates a page with its context,
// mounts it into <main> with the route's parameters, and unmounts it when the route changes.
// A page keeps what it must undo with own(); unmount() undoes it all. Pages never import each
// other: what two pages share is a component (components/).

/**
 * What every page gets from the app.
 * @typedef {object} PageContext
 * @property {import("../store.js").Store} store
 * @property {import("../api.js").Session | null} session   null on public pages without one
 * @property {(hash: string) => void} navigate
 * @property {{message: string | null, onSignedIn: (session: any) => void}} signIn   for the login page
 */

export class Page {
  /** @param {PageContext} context */
  constructor(context) {
    this.context = context;
    /** @type {Array<() => void>} */
    this.cleanups = [];
  }

  /**
   * Render into `container` and start following the store.
   * @param {HTMLElement} container
   * @param {Record<string, string>} params  the route's parameters
   */
  mount(container, params) {
    throw new Error(`${this.constructor.name} does not implement mount(${container}, ${params})`);
  }

  /**
   * Undo `cleanup` when the page unmounts (an unsubscribe, a panel's destroy).
   * @param {() => void} cleanup
   */
  own(cleanup) {
    this.cleanups.push(cleanup);
  }

  /** Stop everything the page started, last first. */
  unmount() {
    while (this.cleanups.length > 0) {
      /** @type {() => void} */ (this.cleanups.pop())();
    }
  }
}
