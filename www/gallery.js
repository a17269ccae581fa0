// @ts-check
// The examples of gallery.json: test digits, then things that are not digits.
import { fetchOk } from './fetch-ok.js';
import { imageCanvas } from './results.js';

/**
 * An example: `pixels` holds its 784 grey levels (0 to 255) in base64.
 * @typedef {{ name: string, kind: 'digit' | 'anomaly', pixels: string }} GalleryItem
 */

/**
 * Makes `container` the gallery: clicking an example marks it as shown and passes its 784
 * values in [0, 1] to `onPick`.
 * @param {HTMLElement} container
 * @param {(image: Float32Array) => void} onPick
 */
export function createGallery(container, onPick) {
  /**
   * Marks `button` as the example shown, and no other.
   * @param {HTMLButtonElement | null} button
   */
  function select(button) {
    for (const other of container.children) other.setAttribute('aria-pressed', String(other === button));
  }

  return {
    /** Fetches the examples and adds a button for each, or says why it could not. */
    async load() {
      try {
        /** @type {{ items: GalleryItem[] }} */
        const { items } = await (await fetchOk('gallery.json')).json();
        for (const item of items) {
          const values = Float32Array.from(atob(item.pixels), (c) => c.charCodeAt(0) / 255);
          const button = document.createElement('button');
          button.type = 'button';
          button.className = item.kind;
          button.title = item.name;
          button.setAttribute('aria-label', `${item.name} (${item.kind === 'digit' ? 'a digit' : 'not a digit'})`);
          button.setAttribute('aria-pressed', 'false');
          button.append(imageCanvas(values));
          button.addEventListener('click', () => {
            select(button);
            onPick(values);
          });
          container.append(button);
        }
      } catch (error) {
        container.textContent = `The examples could not be loaded (${/** @type {Error} */ (error).message}).`;
      }
    },
    /** Marks no example as the one shown. */
    unselect() {
      select(null);
    },
  };
}
