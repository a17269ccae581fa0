// @ts-check
// Paints the models' 28×28 images and results: panels, score, histogram and times.

import { clockResolution, createRunMeter } from './clock.js';

/** @import { Histogram, ResultReply } from './protocol.js' */

/**
 * Paints `values` in [0, 1], one per pixel row by row, onto `canvas` as grey levels.
 * @param {HTMLCanvasElement} canvas
 * @param {Float32Array} values
 */
export function paintGrey(canvas, values) {
  const context = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const image = context.createImageData(canvas.width, canvas.height);
  values.forEach((v, i) => {
    const level = Math.round(Math.min(1, Math.max(0, v)) * 255);
    image.data.fill(level, i * 4, i * 4 + 3);
    image.data[i * 4 + 3] = 255;
  });
  context.putImageData(image, 0, 0);
}

/** The side of the models' square images, in pixels. */
export const IMAGE_SIDE = 28;

/**
 * A new 28×28 canvas showing `values`.
 * @param {Float32Array} values
 */
export function imageCanvas(values) {
  const canvas = document.createElement('canvas');
  canvas.width = IMAGE_SIDE;
  canvas.height = IMAGE_SIDE;
  paintGrey(canvas, values);
  return canvas;
}

/**
 * Paints results into `elements`.
 * @param {Record<'input' | 'noisy' | 'reconstruction' | 'heatmap' | 'denoised' | 'histogram',
 *   HTMLCanvasElement> & { score: HTMLElement, timing: HTMLElement }} elements
 */
export function createResultsView(elements) {
  /** @type {Histogram | null} */
  let histogram = null;
  // The worker times the runs on a clock as coarse as this page's: both are of the same origin.
  const resolution = clockResolution(() => performance.now());
  const denseRuns = createRunMeter(resolution);
  const convRuns = createRunMeter(resolution);

  /**
   * Draws the histogram, with a mark at `error` unless it is undefined.
   * @param {number} [error]
   */
  function paintHistogram(error) {
    if (!histogram) return;
    const canvas = elements.histogram;
    const context = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    const { counts, lo, hi } = histogram;
    const tallest = Math.max(...counts, 1);
    const barWidth = canvas.width / counts.length;
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.fillStyle = '#7a8ba6';
    counts.forEach((count, i) => {
      const height = (count / tallest) * (canvas.height - 4);
      context.fillRect(i * barWidth, canvas.height - height, barWidth - 1, height);
    });
    if (error !== undefined) {
      const x = Math.min(canvas.width - 2, ((error - lo) / (hi - lo)) * canvas.width);
      context.fillStyle = '#e4572e';
      context.fillRect(x, 0, 2, canvas.height);
    }
  }

  return {
    /**
     * Draws the validation errors, on which later results are marked.
     * @param {Histogram} shown
     */
    showHistogram(shown) {
      histogram = shown;
      paintHistogram();
    },
    /**
     * Paints a result.
     * @param {ResultReply} result
     */
    showResult(result) {
      paintGrey(elements.input, result.input);
      paintGrey(elements.noisy, result.noisy);
      paintGrey(elements.reconstruction, result.reconstruction);
      paintGrey(elements.heatmap, result.input.map((v, i) => Math.abs(v - result.reconstruction[i])));
      if (result.denoised) paintGrey(elements.denoised, result.denoised);
      const { error, percentile, unusual } = result.score;
      const verdict = unusual ? 'unusual: not much like the digits it learned' : 'looks like a digit';
      // A blank input has nothing to judge: its error only says how faint the average rebuild is.
      const blank = result.input.every((v) => v === 0);
      elements.score.textContent = blank
        ? `Error ${error.toFixed(2)} for a blank image: draw a digit or pick an example to score it.`
        : `Error ${error.toFixed(2)}, above ${percentile.toFixed(1)} % of validation digits: ${verdict}.`;
      paintHistogram(error);
      const conv = result.convMs === null ? '' : `, conv ${convRuns.add(result.convMs)}`;
      elements.timing.textContent = `Inference: dense ${denseRuns.add(result.denseMs)}${conv}.`;
    },
    /** Starts the run times afresh, for models that were loaded anew. */
    restartTimings() {
      denseRuns.reset();
      convRuns.reset();
    },
  };
}
