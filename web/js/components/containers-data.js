// @ts-check
// Reading what the containers' pages and the Run dialog need besides the inventory: the local
// images across hosts (containers.images, into the images slice) and the registry's images
// (containers.registry). Asked only where Salt's ACL allows it (salt-api answers anything else
// with 401, which signs the user out). Nothing else calls these runner functions.

import * as api from "../api.js";
import { mayRun } from "../perms.js";
import { followImages, readImages } from "../slices/containers.js";

/**
 * containers.images across hosts, or null where the user's role may not ask.
 * @param {{call: typeof api.call, getSession: typeof api.getSession}} [client]
 * @returns {import("../slices/containers.js").ImagesLoader}
 */
export function imagesLoader({ call, getSession } = api) {
  return async () => {
    const session = getSession();
    if (!session || !mayRun(session.perms, "container_images")) {
      return null;
    }
    return call("container_images");
  };
}

/**
 * containers.registry's answer ({registry, images: [{ref, repository, tag}], error}), or null
 * where the role may not ask or the master could not say (the dialog then suggests local
 * images only). A 401 is thrown: the app is signing the user out.
 * @param {{call: typeof api.call, getSession: typeof api.getSession}} [client]
 */
export async function loadRegistry({ call, getSession } = api) {
  const session = getSession();
  if (!session || !mayRun(session.perms, "container_registry")) {
    return null;
  }
  try {
    return await call("container_registry");
  } catch (error) {
    if (error?.status === 401) {
      throw error;
    }
    return { registry: null, images: [], error: error?.message ?? String(error) };
  }
}

/**
 * Read the local images into the store now (the Run dialog's suggestions).
 * @param {import("../store.js").Store} store
 */
export const loadImages = (store) => readImages(store, imagesLoader());

/**
 * Read the local images on opening a view of them, and again whenever an event says a host's
 * images changed, until the returned function is called (the view closes).
 * @param {import("../store.js").Store} store
 */
export function watchImages(store) {
  const stop = followImages(store, { load: imagesLoader() });
  store.dispatch("images", { type: "want" });
  return stop;
}
