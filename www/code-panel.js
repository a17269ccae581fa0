// @ts-check
// The bottleneck's ten numbers: one slider each, showing the current input's code and steering
// an edited code into the decoder.

/** @import { CodeSpread } from './protocol.js' */

/** Slider steps across each dimension's spread: fine enough to move smoothly. */
const STEPS = 400;

/**
 * Builds the sliders in `container` for codes whose dimension i spans `spread.lo[i]` to
 * `spread.hi[i]`; `onSteer` gets the edited code on every input event. A slider moves only its
 * own number: the others keep their exact values, not the slider's nearest step. The code shown
 * is also in `container.dataset.code` (JSON), exactly.
 * @param {HTMLElement} container
 * @param {CodeSpread} spread
 * @param {(code: Float32Array) => void} onSteer
 */
export function createCodePanel(container, spread, onSteer) {
  container.replaceChildren();
  /** @type {{ slider: HTMLInputElement, value: HTMLOutputElement }[]} */
  const rows = spread.lo.map((lo, i) => {
    const hi = spread.hi[i];
    const row = document.createElement('label');
    row.className = 'code-row';
    const name = document.createElement('span');
    name.textContent = `code ${i + 1}`;
    const slider = document.createElement('input');
    slider.type = 'range';
    // Each end a little beyond the training codes', so that a code at the edge can still be pushed.
    const margin = (hi - lo) * 0.1 || 1;
    slider.min = String(lo - margin);
    slider.max = String(hi + margin);
    slider.step = String((hi - lo + 2 * margin) / STEPS);
    slider.setAttribute('aria-label', `code ${i + 1}`);
    const value = document.createElement('output');
    row.append(name, slider, value);
    container.append(row);
    return { slider, value };
  });

  let code = new Float32Array(rows.length);

  /** @param {Float32Array} shown */
  function show(shown) {
    code = shown.slice();
    container.dataset.code = JSON.stringify(Array.from(code));
    rows.forEach(({ slider, value }, i) => {
      slider.value = String(code[i]);
      value.value = code[i].toFixed(2);
    });
  }

  rows.forEach(({ slider, value }, i) => {
    slider.addEventListener('input', () => {
      code[i] = Number(slider.value);
      container.dataset.code = JSON.stringify(Array.from(code));
      value.value = code[i].toFixed(2);
      onSteer(code.slice());
    });
  });

  return {
    /**
     * Moves the sliders to `code` without steering.
     * @param {Float32Array} code
     */
    show,
    /** The code the sliders show. */
    current: () => code.slice(),
  };
}
