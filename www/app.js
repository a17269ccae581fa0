// @ts-check
// The page's wiring: controls, drawing pad, gallery and results around the model client.
import { createGallery } from './gallery.js';
import { createModelClient } from './model-client.js';
import { createDrawingPad } from './pad.js';
import { createResultsView } from './results.js';

/**
 * The element with `id`, a `type`.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
const element = (id, type) => /** @type {T} */ (document.getElementById(id));

const statusLine = element('status', HTMLElement);
const convStatus = element('conv-status', HTMLElement);
const upload = element('upload', HTMLInputElement);
const uploadStatus = element('upload-status', HTMLElement);
const noiseKind = element('noise-kind', HTMLSelectElement);
const noiseStrength = element('noise-strength', HTMLInputElement);
const brush = element('brush', HTMLInputElement);

const results = createResultsView({
  input: element('input', HTMLCanvasElement),
  noisy: element('noisy', HTMLCanvasElement),
  reconstruction: element('reconstruction', HTMLCanvasElement),
  heatmap: element('heatmap', HTMLCanvasElement),
  denoised: element('denoised', HTMLCanvasElement),
  score: element('score', HTMLElement),
  histogram: element('histogram', HTMLCanvasElement),
  timing: element('timing', HTMLElement),
});
const pad = createDrawingPad(element('pad', HTMLCanvasElement), {
  brushWidth: () => Number(brush.value),
  onChange: requestInference,
  onImageDropped: () => gallery.unselect(),
});
const gallery = createGallery(element('gallery-items', HTMLElement), (image) => pad.showImage(image));

const models = createModelClient({
  ready({ histogram, convMessage, loadMs, restarted }) {
    const note = restarted ? 'The model worker stopped and was restarted. ' : '';
    statusLine.textContent = `${note}Dense model loaded in ${loadMs.toFixed(0)} ms.`;
    convStatus.textContent = convMessage;
    upload.disabled = false;
    results.showHistogram(histogram);
    requestInference();
  },
  convLoaded({ message, loadMs }) {
    convStatus.textContent = message;
    if (!message) statusLine.textContent += ` Denoiser loaded in ${loadMs.toFixed(0)} ms.`;
    requestInference();
  },
  failed(message) {
    statusLine.textContent = `Error: ${message}`;
  },
  stopped(restarting) {
    upload.disabled = true;
    statusLine.textContent = restarting
      ? 'The model worker stopped; restarting it…'
      : 'The model worker keeps failing: reload the page to try again.';
  },
  downloadFailed(message) {
    statusLine.textContent = `The models could not be downloaded: ${message}. Reload the page to try again.`;
  },
});

let noiseSeed = 1;

// Resolved when the first reconstruction has been painted.
/** @type {() => void} */
let firstResultShown;
/** @type {Promise<void>} */
const firstResult = new Promise((resolve) => { firstResultShown = resolve; });

/** The noise the controls ask for, as the worker's spec. */
function noiseSpec() {
  const strength = Number(noiseStrength.value) / 100;
  switch (noiseKind.value) {
    case 'salt-pepper': return `salt-pepper:${(strength * 0.5).toFixed(3)}`;
    case 'occlusion': return `occlusion:${Math.round(strength * 4)}`;
    default: return `gaussian:${strength.toFixed(2)}`;
  }
}

/** Runs the models on what the pad shows, with the noise the controls ask for. */
function requestInference() {
  models.infer(() => ({ type: 'infer', noise: noiseSpec(), seed: noiseSeed, ...pad.modelInput() }))
    .then((result) => {
      if (!result) return;
      results.showResult(result);
      firstResultShown();
    });
}

element('undo', HTMLButtonElement).addEventListener('click', () => pad.undo());
element('clear', HTMLButtonElement).addEventListener('click', () => pad.clear());
element('reroll', HTMLButtonElement).addEventListener('click', () => {
  noiseSeed += 1;
  requestInference();
});
noiseKind.addEventListener('change', requestInference);
noiseStrength.addEventListener('input', requestInference);
upload.addEventListener('change', async () => {
  const [file] = upload.files ?? [];
  if (!file) return;
  const bytes = await file.arrayBuffer();
  models.upload(file.name, bytes).then(
    (message) => {
      uploadStatus.textContent = message;
      requestInference();
    },
    (error) => { uploadStatus.textContent = `Error: ${error.message}`; },
  );
});

// `?embed` shows only the drawing, results and score, for an iframe on another page.
document.body.classList.toggle('embed', new URLSearchParams(location.search).has('embed'));
models.start();
// The examples are built after the first reconstruction (or a second), not to delay it.
Promise.race([firstResult, new Promise((resolve) => { setTimeout(resolve, 1000); })]).then(() => gallery.load());
