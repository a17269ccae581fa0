// @ts-check
// The map of codes: the test digits' codes on the two principal axes of the code space (computed
// by the trainer into models/dense.map.json), the current input's code marked on it, and a
// cursor that picks a point of the plane to decode.

/** @import { CodeMapFile } from './protocol.js' */

/** One colour per digit, told apart also by the legend's labels. */
export const DIGIT_COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** How far one arrow key press moves the cursor, as a share of the map's width. */
const ARROW_STEP = 0.02;

/**
 * Draws `map` on `canvas`, with a legend in `legend` and the variance its axes hold in
 * `caption`; `onPick` gets the code of each point the person picks by pointer or arrow keys.
 * @param {{ canvas: HTMLCanvasElement, legend: HTMLElement, caption: HTMLElement }} elements
 * @param {CodeMapFile} map
 * @param {(code: Float32Array) => void} onPick
 */
export function createCodeMap({ canvas, legend, caption }, map, onPick) {
  const context = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const { extent, quantized } = map;
  const [aLo, aHi] = extent.a;
  const [bLo, bHi] = extent.b;
  // Plane coordinates to canvas pixels and back; b grows upwards.
  /** @param {number} a */
  const toX = (a) => ((a - aLo) / (aHi - aLo || 1)) * canvas.width;
  /** @param {number} b */
  const toY = (b) => canvas.height - ((b - bLo) / (bHi - bLo || 1)) * canvas.height;
  /** @param {number} x */
  const fromX = (x) => aLo + (x / canvas.width) * (aHi - aLo);
  /** @param {number} y */
  const fromY = (y) => bLo + ((canvas.height - y) / canvas.height) * (bHi - bLo);

  /** @type {[number, number] | null} */
  let marker = null;
  /** @type {[number, number] | null} */
  let cursor = null;

  function draw() {
    context.fillStyle = '#0b0f19';
    context.fillRect(0, 0, canvas.width, canvas.height);
    const { a, b, label } = map.points;
    for (let i = 0; i < label.length; i += 1) {
      context.fillStyle = DIGIT_COLOURS[label[i]];
      const x = (a[i] / quantized) * canvas.width;
      const y = canvas.height - (b[i] / quantized) * canvas.height;
      context.fillRect(x - 1.5, y - 1.5, 3, 3);
    }
    if (marker) ring(marker, '#ffffff', 6);
    if (cursor) cross(cursor);
  }

  /**
   * @param {[number, number]} point
   * @param {string} colour
   * @param {number} radius
   */
  function ring([a, b], colour, radius) {
    context.strokeStyle = colour;
    context.lineWidth = 2;
    context.beginPath();
    context.arc(toX(a), toY(b), radius, 0, 2 * Math.PI);
    context.stroke();
  }

  /** @param {[number, number]} point */
  function cross([a, b]) {
    const [x, y] = [toX(a), toY(b)];
    context.strokeStyle = '#ffd166';
    context.lineWidth = 2;
    context.beginPath();
    context.moveTo(x - 7, y);
    context.lineTo(x + 7, y);
    context.moveTo(x, y - 7);
    context.lineTo(x, y + 7);
    context.stroke();
  }

  /**
   * The plane position of `code`: its offset from the mean along each axis.
   * @param {ArrayLike<number>} code
   * @returns {[number, number]}
   */
  function project(code) {
    /** @param {number[]} axis */
    const along = (axis) => axis.reduce((sum, w, i) => sum + w * (code[i] - map.mean[i]), 0);
    return [along(map.axes[0]), along(map.axes[1])];
  }

  /** @param {[number, number]} point */
  function pick(point) {
    cursor = point;
    draw();
    const [a, b] = point;
    onPick(Float32Array.from(map.mean, (m, i) => m + a * map.axes[0][i] + b * map.axes[1][i]));
  }

  /** @param {PointerEvent} event */
  function pickAtPointer(event) {
    const box = canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * canvas.width;
    const y = ((event.clientY - box.top) / box.height) * canvas.height;
    pick([fromX(x), fromY(y)]);
  }

  canvas.addEventListener('pointerdown', (event) => {
    canvas.setPointerCapture(event.pointerId);
    pickAtPointer(event);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (canvas.hasPointerCapture(event.pointerId)) pickAtPointer(event);
  });
  canvas.addEventListener('keydown', (event) => {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    const move = moves[/** @type {keyof moves} */ (event.key)];
    if (!move) return;
    event.preventDefault();
    const [a, b] = cursor ?? marker ?? [0, 0];
    pick([a + move[0] * ARROW_STEP * (aHi - aLo), b + move[1] * ARROW_STEP * (bHi - bLo)]);
  });

  legend.replaceChildren(...DIGIT_COLOURS.map((colour, digit) => {
    const item = document.createElement('span');
    item.className = 'legend-item';
    const swatch = document.createElement('i');
    swatch.style.background = colour;
    item.append(swatch, String(digit));
    return item;
  }));
  const [first, second] = map.variance_share.map((share) => (share * 100).toFixed(0));
  caption.textContent = `${map.count} test digits on the two directions in which their codes vary`
    + ` most: ${first} % and ${second} % of the codes' variance.`;
  draw();

  return {
    /**
     * Marks the current input's `code` on the map.
     * @param {ArrayLike<number>} code
     */
    mark(code) {
      marker = project(code);
      draw();
    },
    /**
     * Puts the cursor where the steered `code` projects, without picking.
     * @param {ArrayLike<number>} code
     */
    follow(code) {
      cursor = project(code);
      draw();
    },
    project,
  };
}
