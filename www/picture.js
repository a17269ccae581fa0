// @ts-check
// A picture file made into model input, as the seed article scores an image file: decoded by the
// browser, turned grey, and either resized to 28×28 as it is (the article's `load_img`) or handed
// over as ink for the MNIST preprocessing drawings get.

import { IMAGE_SIDE } from './results.js';

/** @import { ModelInput } from './protocol.js' */

/** The picture types the page accepts, as browsers name them. */
export const PICTURE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

/** Largest picture file accepted: larger ones are no digit and would only cost memory. */
const MAX_PICTURE_BYTES = 10_000_000;

/** Longest side the picture is read at for the MNIST preprocessing, as the pad's. */
const INK_SIDE = 280;

/**
 * How a picture becomes model input.
 * @typedef {object} PictureOptions
 * @property {'mnist' | 'resize'} fit  the drawings' MNIST preprocessing, or a plain resize
 * @property {boolean | null} invert  light on dark made from dark on light; null decides from
 *   the picture (a light background means dark ink)
 */

/**
 * A picture read once, to be made into model input as often as its options change.
 * @typedef {object} Picture
 * @property {string} name
 * @property {boolean} darkOnLight  whether its background is lighter than its ink
 * @property {(options: PictureOptions) => ModelInput} modelInput
 */

/**
 * Reads `file` as a picture; rejects with a message that says what to do when it is not a
 * PNG, JPEG or WebP picture the browser can decode, is empty, or is too large.
 * @param {File} file
 * @returns {Promise<Picture>}
 */
export async function readPicture(file) {
  if (file.size === 0) throw new Error(`${file.name} is empty: choose a PNG, JPEG or WebP picture`);
  if (file.size > MAX_PICTURE_BYTES) {
    throw new Error(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB; the page takes pictures up to ${MAX_PICTURE_BYTES / 1e6} MB`);
  }
  if (!PICTURE_TYPES.includes(file.type)) {
    throw new Error(`${file.name} is not a PNG, JPEG or WebP picture`);
  }
  /** @type {ImageBitmap} */
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name} could not be decoded as a picture: it may be damaged`);
  }
  const plain = greyAt(bitmap, IMAGE_SIDE, IMAGE_SIDE);
  const scale = Math.min(1, INK_SIDE / Math.max(bitmap.width, bitmap.height));
  const inkWidth = Math.max(1, Math.round(bitmap.width * scale));
  const inkHeight = Math.max(1, Math.round(bitmap.height * scale));
  const ink = greyAt(bitmap, inkWidth, inkHeight);
  bitmap.close();
  const darkOnLight = borderMean(ink, inkWidth, inkHeight) > 0.5;
  return {
    name: file.name,
    darkOnLight,
    modelInput({ fit, invert }) {
      const flip = invert ?? darkOnLight;
      /** @param {Float32Array} values */
      const oriented = (values) => (flip ? values.map((v) => 1 - v) : values.slice());
      return fit === 'resize'
        ? { image: oriented(plain) }
        : { ink: oriented(ink), width: inkWidth, height: inkHeight };
    },
  };
}

/**
 * `bitmap` drawn at `width`×`height` over black, as grey levels in [0, 1] row by row.
 * @param {ImageBitmap} bitmap
 * @param {number} width
 * @param {number} height
 */
function greyAt(bitmap, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  const context = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext('2d'));
  context.fillStyle = '#000';
  context.fillRect(0, 0, width, height);
  context.drawImage(bitmap, 0, 0, width, height);
  const rgba = context.getImageData(0, 0, width, height).data;
  const grey = new Float32Array(width * height);
  for (let i = 0; i < grey.length; i += 1) {
    grey[i] = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
  }
  return grey;
}

/**
 * The mean grey level of the outermost rows and columns: a picture's background.
 * @param {Float32Array} grey
 * @param {number} width
 * @param {number} height
 */
function borderMean(grey, width, height) {
  let sum = 0;
  let count = 0;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if (y === 0 || x === 0 || y === height - 1 || x === width - 1) {
        sum += grey[y * width + x];
        count += 1;
      }
    }
  }
  return sum / count;
}
