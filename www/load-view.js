// @ts-check
// The note over the pad while the models download: how far they are, and a retry when one fails.
// Drawing goes on under it: the note lets every pointer event through but its button's.

/** @import { ProgressReply } from './protocol.js' */

/**
 * Makes the load note; `onRetry` is called when the person asks to download again.
 * @param {{ view: HTMLElement, text: HTMLElement, bar: HTMLProgressElement,
 *   retry: HTMLButtonElement }} elements
 * @param {() => void} onRetry
 */
export function createLoadView({ view, text, bar, retry }, onRetry) {
  // Set by a failure: the other files' progress that still comes in must not hide its message.
  let failed = false;

  /** Back to the start: downloading, amount not known yet. */
  function downloading() {
    failed = false;
    view.hidden = false;
    retry.hidden = true;
    bar.hidden = false;
    bar.removeAttribute('value');
    text.textContent = 'Downloading the models…';
  }

  retry.addEventListener('click', () => {
    downloading();
    onRetry();
  });

  return {
    /**
     * Shows the share of the bytes that has arrived, once their total is known.
     * @param {ProgressReply} progress
     */
    progress({ receivedBytes, totalBytes }) {
      if (failed || !totalBytes) return;
      const share = Math.min(1, receivedBytes / totalBytes);
      bar.value = share;
      text.textContent = share < 1
        ? `Downloading the models: ${Math.floor(share * 100)}\u00a0%`
        : 'Starting the models…';
    },
    /**
     * Says why the models could not be loaded, and offers to try again.
     * @param {string} message
     */
    failed(message) {
      failed = true;
      view.hidden = false;
      bar.hidden = true;
      retry.hidden = false;
      text.textContent = message;
    },
    /** Takes the note away: the first reconstruction is on the page. */
    hide() {
      view.hidden = true;
    },
  };
}
