// @ts-check
// Drop targets, registered explicitly: a component that renders something a VM can be dropped
// on (a host card, a host tile on the VM page) registers that element with what it stands for.
// The migration drag (components/migration-drag.js) finds targets only here, never by a
// selector. Elements that left the document are forgotten.

/**
 * @typedef {{host: string}} DropTarget   what dropping on the element means: move to `host`
 * @typedef {{parentElement: any, isConnected?: boolean}} TargetNode   an element (or a stand-in in tests)
 */

/** A registry of drop targets. The app uses the one below; tests make their own. */
export function createDropTargets() {
  /** @type {Map<TargetNode, DropTarget>} */
  const targets = new Map();
  /** @type {Set<(element: TargetNode, target: DropTarget) => void>} */
  const listeners = new Set();

  function prune() {
    for (const element of targets.keys()) {
      if (element.isConnected === false) {
        targets.delete(element);
      }
    }
  }

  return {
    /**
     * Make `element` a drop target; returns the function that unregisters it.
     * @param {TargetNode} element
     * @param {DropTarget} target
     */
    register(element, target) {
      targets.set(element, target);
      for (const listener of [...listeners]) {
        listener(element, target);
      }
      return () => {
        targets.delete(element);
      };
    },
    /**
     * The registered target that contains `node` (the node itself or an ancestor), or null.
     * @param {TargetNode | null | undefined} node
     * @returns {{element: TargetNode, target: DropTarget} | null}
     */
    find(node) {
      for (let at = node; at; at = at.parentElement) {
        const target = targets.get(at);
        if (target) {
          return { element: at, target };
        }
      }
      return null;
    },
    /** Every registered target still in the document. @returns {Array<[TargetNode, DropTarget]>} */
    entries() {
      prune();
      return [...targets.entries()];
    },
    /**
     * Call fn(element, target) for every target registered from now on (a drag in progress
     * marks targets that appear while it lasts). Returns the function that stops it.
     * @param {(element: TargetNode, target: DropTarget) => void} fn
     */
    onRegister(fn) {
      listeners.add(fn);
      return () => {
        listeners.delete(fn);
      };
    },
  };
}

/** The app's drop targets. */
export const dropTargets = createDropTargets();
