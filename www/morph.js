// @ts-check
// A morph between two inputs through the code: frames decoded from (1 − t)·z₀ + t·z₁, a scrubber
// for t, and under them the plain pixel blend of the same two images, which holds no shape.

import { IMAGE_SIDE, imageCanvas, paintGrey } from './results.js';

/** @import { InterpolatedReply } from './protocol.js' */

const PIXELS = IMAGE_SIDE * IMAGE_SIDE;

/**
 * The morph's elements: two strips to fill with frames, the scrubber and the two canvases it
 * shows t on, and the note that says which ends are set.
 * @typedef {{ codeStrip: HTMLElement, pixelStrip: HTMLElement, scrubber: HTMLInputElement,
 *   atT: HTMLCanvasElement, blendAtT: HTMLCanvasElement, note: HTMLElement }} MorphElements
 */

/**
 * Builds the morph in `elements`; `decode` turns a code into its decoded image (null when
 * superseded), and `interpolate` decodes the frames between two inputs.
 * @param {MorphElements} elements
 * @param {{ decode: (code: Float32Array) => Promise<Float32Array | null>,
 *   interpolate: (from: Float32Array, to: Float32Array) => Promise<InterpolatedReply | null> }} models
 */
export function createMorph(elements, { decode, interpolate }) {
  /** @type {[Float32Array | null, Float32Array | null]} */
  const ends = [null, null];
  /** @type {InterpolatedReply | null} */
  let shown = null;

  /**
   * @param {HTMLElement} strip
   * @param {Float32Array} images  784 values per frame, one frame after the other
   * @param {string} what  the frames' accessible description
   */
  function fillStrip(strip, images, what) {
    const count = images.length / PIXELS;
    strip.replaceChildren(...Array.from({ length: count }, (_, frame) => {
      const canvas = imageCanvas(images.subarray(frame * PIXELS, (frame + 1) * PIXELS));
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `${what}, t = ${(frame / (count - 1)).toFixed(2)}`);
      return canvas;
    }));
  }

  /** Shows the frame at the scrubber's t, decoded and blended. */
  function showT() {
    if (!shown || !ends[0] || !ends[1]) return;
    const t = Number(elements.scrubber.value);
    const [z0, z1] = shown.codes;
    const [x0, x1] = ends;
    paintGrey(elements.blendAtT, x0.map((v, i) => (1 - t) * v + t * x1[i]));
    decode(z0.map((v, i) => (1 - t) * v + t * z1[i])).then((image) => {
      if (image) paintGrey(elements.atT, image);
    });
  }

  async function run() {
    const [from, to] = ends;
    elements.note.textContent = from && to
      ? 'Frames decoded from the code between the two ends (top), and the plain pixel blend (bottom).'
      : `Set the ${from ? 'end' : 'start'} too: draw or pick an example, then press its button.`;
    if (!from || !to) return;
    const reply = await interpolate(from, to);
    if (!reply) return;
    shown = reply;
    fillStrip(elements.codeStrip, reply.frames, 'decoded from the code');
    const frames = reply.frames.length / PIXELS;
    const blends = new Float32Array(reply.frames.length);
    for (let frame = 0; frame < frames; frame += 1) {
      const t = frame / (frames - 1);
      for (let i = 0; i < PIXELS; i += 1) blends[frame * PIXELS + i] = (1 - t) * from[i] + t * to[i];
    }
    fillStrip(elements.pixelStrip, blends, 'pixel blend');
    elements.scrubber.disabled = false;
    showT();
  }

  elements.scrubber.addEventListener('input', showT);

  return {
    /**
     * Sets end `which` (0 for the start, 1 for the end) to the 28×28 `image`, and morphs once
     * both are set.
     * @param {0 | 1} which
     * @param {Float32Array} image
     */
    setEnd(which, image) {
      ends[which] = image.slice();
      run();
    },
  };
}
