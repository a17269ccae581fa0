// @ts-check
// The models' images, 28×28 grey levels, painted onto canvases.

/** The side of the models' square images, in pixels. */
export const IMAGE_SIDE = 28;

/**
 * Paints `values` in [0, 1], one per pixel of `canvas` row by row, onto it as grey levels.
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

/**
 * A new 28×28 canvas showing `values`, to draw scaled up elsewhere or show as a thumbnail.
 * @param {Float32Array} values
 * @returns {HTMLCanvasElement}
 */
export function imageCanvas(values) {
  const canvas = document.createElement('canvas');
  canvas.width = IMAGE_SIDE;
  canvas.height = IMAGE_SIDE;
  paintGrey(canvas, values);
  return canvas;
}
