// @ts-check
// The drawing pad: strokes by mouse, finger or pen, undo, or an image shown in their place.
import { imageCanvas } from './results.js';

/**
 * Called: `onChange` after every change shown, `onImageDropped` on leaving an image for the strokes.
 * @typedef {{ brushWidth: () => number, onChange: () => void, onImageDropped: () => void }} PadOptions
 */

/**
 * Makes `canvas` a drawing pad, white on black.
 * @param {HTMLCanvasElement} canvas
 * @param {PadOptions} options
 */
export function createDrawingPad(canvas, { brushWidth, onChange, onImageDropped }) {
  const context = /** @type {CanvasRenderingContext2D} */ (
    canvas.getContext('2d', { willReadFrequently: true }));
  // Strokes are kept so undo can redraw all but the last one.
  /** @type {{ width: number, points: [number, number][] }[]} */
  const strokes = [];
  /** @type {Float32Array | null} */
  let shownImage = null;

  function redraw() {
    context.fillStyle = '#000';
    context.fillRect(0, 0, canvas.width, canvas.height);
    if (shownImage) {
      context.imageSmoothingEnabled = false;
      context.drawImage(imageCanvas(shownImage), 0, 0, canvas.width, canvas.height);
      return;
    }
    context.strokeStyle = '#fff';
    context.fillStyle = '#fff';
    context.lineCap = 'round';
    context.lineJoin = 'round';
    for (const stroke of strokes) {
      const [[startX, startY]] = stroke.points;
      context.beginPath();
      // A stroke that never moved (a click) is a dot, filled: Chromium and WebKit stroke nothing
      // for a zero-length line, round caps or not.
      if (stroke.points.every(([x, y]) => x === startX && y === startY)) {
        context.arc(startX, startY, stroke.width / 2, 0, 2 * Math.PI);
        context.fill();
        continue;
      }
      context.lineWidth = stroke.width;
      stroke.points.forEach(([x, y], i) => (i ? context.lineTo(x, y) : context.moveTo(x, y)));
      context.stroke();
    }
  }

  /**
   * Shows `image`, or the strokes for null, and tells the page.
   * @param {Float32Array | null} image
   */
  function show(image) {
    const dropped = shownImage !== null && image === null;
    shownImage = image;
    redraw();
    if (dropped) onImageDropped();
    onChange();
  }

  /**
   * @param {PointerEvent} event
   * @returns {[number, number]}
   */
  function padPoint(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * (canvas.width / box.width),
      (event.clientY - box.top) * (canvas.height / box.height)];
  }

  canvas.addEventListener('pointerdown', (event) => {
    canvas.setPointerCapture(event.pointerId);
    strokes.push({ width: brushWidth(), points: [padPoint(event)] });
    show(null);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!canvas.hasPointerCapture(event.pointerId)) return;
    strokes[strokes.length - 1].points.push(padPoint(event));
    redraw();
    onChange();
  });
  canvas.addEventListener('pointerup', () => onChange());
  redraw();

  return {
    /** Removes the last stroke, and any image shown. */
    undo() {
      strokes.pop();
      show(null);
    },
    /** Removes every stroke, and any image shown. */
    clear() {
      strokes.length = 0;
      show(null);
    },
    /**
     * Shows a 28×28 image (784 values in [0, 1]) in place of the strokes, removing them.
     * @param {Float32Array} image
     */
    showImage(image) {
      strokes.length = 0;
      show(image);
    },
    /** What the pad shows, as the models take it. */
    modelInput() {
      // An image is a model input already, and so is an empty pad (a blank image, the first
      // request of every visit), which then skips reading the pad.
      if (shownImage) return { image: shownImage };
      if (strokes.length === 0) return { image: new Float32Array(28 * 28) };
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      const ink = new Float32Array(canvas.width * canvas.height);
      for (let i = 0; i < ink.length; i += 1) ink[i] = pixels[i * 4] / 255;
      return { ink, width: canvas.width, height: canvas.height };
    },
  };
}
