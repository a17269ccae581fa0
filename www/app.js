// @ts-check
// The page's wiring: controls, drawing pad, gallery, pictures, results, the code and its map and
// the morph around the model client.
import { createCodeMap } from './code-map.js';
import { createCodePanel } from './code-panel.js';
import { fetchOk } from './fetch-ok.js';
import { createGallery } from './gallery.js';
import { createLoadView } from './load-view.js';
import { createModelClient } from './model-client.js';
import { createMorph } from './morph.js';
import { createDrawingPad } from './pad.js';
import { readPicture } from './picture.js';
import { createResultsView, paintGrey } from './results.js';

/** @import { CodeSpread, ResultReply } from './protocol.js' */

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
  // A new input: the code shown follows it again.
  onChange: () => {
    steered = false;
    requestInference();
  },
  onImageDropped: () => gallery.unselect(),
});
const gallery = createGallery(element('gallery-items', HTMLElement), (image) => pad.showImage(image));
const decodedCanvas = element('decoded', HTMLCanvasElement);
const codeReset = element('code-reset', HTMLButtonElement);
const codeStatus = element('code-status', HTMLElement);
const mapCaption = element('map-caption', HTMLElement);
const morphButtons = [element('morph-from', HTMLButtonElement), element('morph-to', HTMLButtonElement)];
const pictureInput = element('picture', HTMLInputElement);
const pictureFit = element('picture-fit', HTMLSelectElement);
const pictureInvert = element('picture-invert', HTMLSelectElement);
const pictureStatus = element('picture-status', HTMLElement);

/**
 * The latest result painted: its input and code are what the reset, map and morph start from.
 * @type {ResultReply | null}
 */
let latest = null;
// Whether the person has moved the code away from the input's, by a slider or on the map.
let steered = false;
/** @type {ReturnType<typeof createCodePanel> | null} */
let codePanel = null;
/** @type {ReturnType<typeof createCodeMap> | null} */
let codeMap = null;

// Resolved when the models could not be loaded, by a failed download or a worker that keeps failing.
/** @type {() => void} */
let modelsHaveFailed;
/** @type {Promise<void>} */
const modelsFailed = new Promise((resolve) => { modelsHaveFailed = resolve; });

const loadView = createLoadView({
  view: element('load-view', HTMLElement),
  text: element('load-text', HTMLElement),
  bar: element('load-progress', HTMLProgressElement),
  retry: element('load-retry', HTMLButtonElement),
}, () => {
  statusLine.textContent = 'Loading the models…';
  models.retry();
});

const models = createModelClient({
  progress(progress) {
    loadView.progress(progress);
  },
  ready({ histogram, convMessage, loadMs, restarted, codeSpread }) {
    const note = restarted ? 'The model worker stopped and was restarted. ' : '';
    statusLine.textContent = `${note}Dense model loaded in ${loadMs.toFixed(0)} ms.`;
    convStatus.textContent = convMessage;
    upload.disabled = false;
    results.showHistogram(histogram);
    results.restartTimings();
    // The sliders are built once the first result is painted, so that they never delay it.
    if (codeSpread && !codePanel) firstResult.then(() => startCodePanel(codeSpread));
    requestInference();
  },
  convLoaded({ message, loadMs }) {
    convStatus.textContent = message;
    if (!message) statusLine.textContent += ` Denoiser loaded in ${loadMs.toFixed(0)} ms.`;
    requestInference();
  },
  loadFailed(message) {
    modelsHaveFailed();
    statusLine.textContent = `Error: ${message}`;
    loadView.failed(`${message}.`);
  },
  failed(message) {
    statusLine.textContent = `Error: ${message}`;
  },
  stopped(restarting) {
    if (!restarting) modelsHaveFailed();
    upload.disabled = true;
    statusLine.textContent = restarting
      ? 'The model worker stopped; restarting it…'
      : 'The model worker keeps failing: reload the page to try again.';
  },
});

let noiseSeed = 1;

// Resolved when the first reconstruction has been painted.
/** @type {() => void} */
let firstResultShown;
/** @type {Promise<void>} */
const firstResult = new Promise((resolve) => { firstResultShown = resolve; });
firstResult.then(() => loadView.hide());

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
  models.ask('infer', () => ({ type: 'infer', noise: noiseSpec(), seed: noiseSeed, ...pad.modelInput() }))
    .then((result) => {
      if (!result) return;
      results.showResult(result);
      showCode(result);
      firstResultShown();
    });
}

/**
 * Shows the result's code on the sliders and the map; the decoded panel shows decoder(code),
 * which is the rebuild, until the person steers the code away.
 * @param {ResultReply} result
 */
function showCode(result) {
  latest = result;
  morphButtons.forEach((button) => { button.disabled = false; });
  const { code } = result;
  codeReset.disabled = !code;
  if (!code) {
    codeStatus.textContent = 'The uploaded dense model is not split into halves: it has no code to show.';
    return;
  }
  codeMap?.mark(code);
  if (steered) return;
  codePanel?.show(code);
  codeMap?.follow(code);
  paintGrey(decodedCanvas, result.reconstruction);
}

/**
 * Decodes `code` into the decoded panel, the latest code winning.
 * @param {Float32Array} code
 */
function steer(code) {
  steered = true;
  decode(code).then((image) => {
    if (image) paintGrey(decodedCanvas, image);
  });
}

/**
 * The decoder's image for `code`, or null when a later code superseded it.
 * @param {Float32Array} code
 */
function decode(code) {
  return models.ask('decode', () => ({ type: 'decode', code })).then((reply) => reply?.image ?? null);
}

/** @param {CodeSpread} spread */
function startCodePanel(spread) {
  codePanel = createCodePanel(element('code-sliders', HTMLElement), spread, (code) => {
    codeMap?.follow(code);
    steer(code);
  });
  if (latest) showCode(latest);
}

/** Loads the map of codes once the first result is on the page: the first result never waits for it. */
async function loadCodeMap() {
  try {
    const map = await (await fetchOk('models/dense.map.json')).json();
    codeMap = createCodeMap({
      canvas: element('code-map', HTMLCanvasElement),
      legend: element('map-legend', HTMLElement),
      caption: mapCaption,
    }, map, (code) => {
      codePanel?.show(code);
      steer(code);
    });
    if (latest?.code) {
      codeMap.mark(latest.code);
      codeMap.follow(codePanel?.current() ?? latest.code);
    }
  } catch (error) {
    mapCaption.textContent = `The map of codes could not be loaded: ${/** @type {Error} */ (error).message}.`;
  }
}

codeReset.addEventListener('click', () => {
  steered = false;
  if (latest) showCode(latest);
});

const morph = createMorph({
  codeStrip: element('morph-code-strip', HTMLElement),
  pixelStrip: element('morph-pixel-strip', HTMLElement),
  scrubber: element('morph-t', HTMLInputElement),
  atT: element('morph-at-t', HTMLCanvasElement),
  blendAtT: element('morph-blend-at-t', HTMLCanvasElement),
  note: element('morph-note', HTMLElement),
}, {
  decode,
  interpolate: (from, to) => models.ask('interpolate', () => ({ type: 'interpolate', from, to })),
});
morphButtons.forEach((button, which) => button.addEventListener('click', () => {
  if (latest) morph.setEnd(/** @type {0 | 1} */ (which), latest.input);
}));

/** @type {import('./picture.js').Picture | null} */
let picture = null;

/** Feeds the chosen picture to the models as the fit and colour controls ask, and shows it on the pad. */
async function usePicture() {
  if (!picture) return;
  const invert = { auto: null, yes: true, no: false }[/** @type {'auto' | 'yes' | 'no'} */ (pictureInvert.value)];
  const input = picture.modelInput({ fit: /** @type {'mnist' | 'resize'} */ (pictureFit.value), invert });
  const result = await models.ask('infer', () => ({ type: 'infer', noise: noiseSpec(), seed: noiseSeed, ...input }));
  if (!result) return;
  gallery.unselect();
  // The pad shows the 28×28 input the models got; from there on it is like a gallery example.
  pad.showImage(result.input);
  const colours = (invert ?? picture.darkOnLight) ? 'dark on light, inverted' : 'light on dark';
  pictureStatus.textContent = `${picture.name}: ${pictureFit.value === 'resize' ? 'resized to 28×28' : 'preprocessed as drawings are'}, ${colours}.`;
}

/**
 * Reads `file` as the picture to use, or says why it cannot be.
 * @param {File} file
 */
async function choosePicture(file) {
  try {
    picture = await readPicture(file);
    await usePicture();
  } catch (error) {
    pictureStatus.textContent = `Error: ${/** @type {Error} */ (error).message}.`;
  }
}

pictureInput.addEventListener('change', () => {
  const [file] = pictureInput.files ?? [];
  if (file) choosePicture(file);
});
pictureFit.addEventListener('change', usePicture);
pictureInvert.addEventListener('change', usePicture);
document.addEventListener('dragover', (event) => event.preventDefault());
document.addEventListener('drop', (event) => {
  const file = event.dataTransfer?.files[0];
  if (!file) return;
  event.preventDefault();
  choosePicture(file);
});
document.addEventListener('paste', (event) => {
  const file = [...(event.clipboardData?.files ?? [])].find((item) => item.type.startsWith('image/'));
  if (file) choosePicture(file);
});

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
      results.restartTimings();
      requestInference();
    },
    (error) => { uploadStatus.textContent = `Error: ${error.message}`; },
  );
});

// `?embed` shows only the drawing, results and score, for an iframe on another page.
document.body.classList.toggle('embed', new URLSearchParams(location.search).has('embed'));
models.start();
// The examples and the map are downloaded and built after the first reconstruction, so that on a
// slow network their bytes do not share the bandwidth with the models', or once the models have
// failed to load.
Promise.race([firstResult, modelsFailed]).then(() => {
  gallery.load();
  loadCodeMap();
});
