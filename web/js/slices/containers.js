// @ts-check
// The containers' own slices (docs/containers.md). The containers themselves are in the
// inventory slice (each host's `docker` and `containers`); here are:
//   images         the local images across hosts (containers.images), read when the Local
//                  images view opens (and by the Run dialog), not on every refresh; a
//                  brine/images/<host>/changed event, a host's resync or its minion's start
//                  marks it stale, and followImages() reads it again while the view is open
//                  (once for a burst of events)
//   containerBusy  the container actions under way, "<host>/<name>" -> call id (a refresh
//                  must not forget them)
// Pure like every slice; followImages and readImages do the I/O with the loader they are given.

import { busySlice } from "./busy.js";
import { imagesPicture } from "../containers.js";
import { errorInfo } from "../landscape.js";

/**
 * @typedef {ReturnType<typeof imagesPicture>} ImagesPicture
 * @typedef {object} ImagesState
 * @property {boolean} allowed        false: the user's role may not read them
 * @property {import("../landscape.js").ErrorInfo | null} error   the last read failed
 * @property {ImagesPicture["images"] | null} images   null until read
 * @property {ImagesPicture["hosts"] | null} hosts     the hosts asked, answered or not
 * @property {boolean} stale          read them again (an event, or the view opened)
 * @property {number} seq             the read the picture came from
 * @typedef {() => Promise<any>} ImagesLoader   containers.images; null where the role may not ask
 * @typedef {{type: "want"} | {type: "fetching"} | {type: "loaded", answer: any, seq: number}
 *   | {type: "failed", error: unknown, seq: number} | {type: "forbidden", seq: number}} ImagesAction
 */

/** @type {ImagesState} */
export const IMAGES_INITIAL = Object.freeze({ allowed: true, error: null, images: null, hosts: null, stale: false, seq: 0 });

let lastSeq = 0;
/** A number for each read, increasing: an answer older than the picture is dropped. */
const nextSeq = () => {
  lastSeq += 1;
  return lastSeq;
};

/**
 * The one reducer of the images' picture.
 *   want       read them (again): the view opened, or an event said they changed
 *   fetching   a read begins: no longer stale (events meanwhile mark it stale again)
 *   loaded     containers.images' answer, unless a later read's is already there
 *   failed     the read failed: the last picture stays, with the error
 *   forbidden  the role may not ask
 * @param {ImagesState} images
 * @param {ImagesAction} action
 * @returns {ImagesState}
 */
export function reduceImages(images, action) {
  switch (action.type) {
    case "want":
      return images.stale ? images : Object.freeze({ ...images, stale: true });
    case "fetching":
      return images.stale ? Object.freeze({ ...images, stale: false }) : images;
    case "loaded": {
      if (action.seq < images.seq) {
        return images;
      }
      const picture = imagesPicture(action.answer);
      return Object.freeze({ ...images, allowed: true, error: null, images: picture.images, hosts: picture.hosts, seq: action.seq });
    }
    case "failed":
      return action.seq < images.seq ? images : Object.freeze({ ...images, error: errorInfo(action.error), seq: action.seq });
    case "forbidden":
      return Object.freeze({ ...images, allowed: false, seq: action.seq });
    default:
      return images;
  }
}

/**
 * Has the picture been read (or tried) at all? Only then does an event make it stale: nobody
 * looks at images never read.
 * @param {ImagesState} images
 */
const everRead = (images) => images.images !== null || images.error !== null;

/** @type {import("../store.js").Slice} */
export const imagesSlice = Object.freeze({
  name: "images",
  initial: IMAGES_INITIAL,
  applyEvent: (images, event) => {
    const kind = event.about.kind;
    if ((kind === "images-changed" || kind === "host") && everRead(images)) {
      return reduceImages(images, { type: "want" });
    }
    return images;
  },
  reduce: (images, action) => reduceImages(images, /** @type {ImagesAction} */ (action)),
});

/** The container actions under way: "<host>/<name>" -> the call's id. */
export const containerBusySlice = busySlice("containerBusy");

/**
 * Read the local images into the store once. A 401 is thrown (the app signs the user out);
 * any other failure stays in the picture.
 * @param {import("../store.js").Store} store
 * @param {ImagesLoader} load
 */
export async function readImages(store, load) {
  const seq = nextSeq();
  store.dispatch("images", { type: "fetching" });
  try {
    const answer = await load();
    store.dispatch("images", answer === null || answer === undefined ? { type: "forbidden", seq } : { type: "loaded", answer, seq });
  } catch (error) {
    if (error?.status === 401) {
      throw error;
    }
    store.dispatch("images", { type: "failed", error, seq });
  }
  return store.state.images;
}

/**
 * Keep the local images fresh while a view shows them: read when stale, `delayMs` after it went
 * stale (the rest of a burst arrives meanwhile; at once when nothing was read yet), one read at
 * a time. Returns the function that stops it.
 * @param {import("../store.js").Store} store
 * @param {{load: ImagesLoader, delayMs?: number, setTimer?: (fn: () => void, ms: number) => any, clearTimer?: (id: any) => void}} deps
 */
export function followImages(store, { load, delayMs = 400, setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (id) => clearTimeout(id) }) {
  /** @type {any} */
  let timer = null;
  let reading = false;
  let stopped = false;

  async function read() {
    timer = null;
    if (stopped || !store.state.images?.stale) {
      return;
    }
    reading = true;
    try {
      await readImages(store, load);
    } catch {
      // a 401: the app is taking the user back to the login page
    } finally {
      reading = false;
      if (!stopped) {
        schedule(store.state);
      }
    }
  }

  /** @param {import("../store.js").StoreState} state */
  function schedule(state) {
    if (state.images?.stale && timer === null && !reading) {
      timer = setTimer(read, everRead(state.images) ? delayMs : 0);
    }
  }

  const unsubscribe = store.subscribe(schedule);
  return () => {
    stopped = true;
    unsubscribe();
    if (timer !== null) {
      clearTimer(timer);
      timer = null;
    }
  };
}
