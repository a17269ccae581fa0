// The worker owns the wasm module and the models; the page posts drawings and gets images and
// numbers back, so inference never blocks drawing. All model logic is in Rust (bottleneck-web).
import {
  initSync, AutoencoderModel, AnomalyScale, ModelKind, preprocess, addNoise,
} from './bottleneck-web.js';

let dense = null;
let conv = null;
let scale = null;

async function fetchBytes(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// Whether the denoiser still has to be loaded, once the first reconstruction is on its way.
let convToLoad = false;

// The page has already downloaded the wasm module, the dense model and its card while this
// worker was starting (see index.html); here they are put together. The dense model
// answers first: the denoiser is prepared after the first reconstruction (loading it before
// delayed that by 50–100 ms on a cold page) and announced with a `conv` message.
async function load({ wasm, available, dense: denseBlob, card }) {
  const [module, denseBytes] = await Promise.all([compile(wasm), denseBlob.arrayBuffer()]);
  // Synchronous, as workers may: the module is compiled already, and the async form would
  // only wait for another task.
  initSync({ module });
  dense = AutoencoderModel.load(new Uint8Array(denseBytes));
  scale = AnomalyScale.fromCardJson(card);
  const hasConv = available.includes('conv.onnx');
  convToLoad = hasConv;
  return {
    type: 'ready',
    convMessage: hasConv ? 'Loading the denoiser…' : 'The denoiser (conv.onnx) has not been trained yet.',
    histogram: { counts: scale.histogramCounts, lo: scale.histogramLo, hi: scale.histogramHi },
  };
}

// Compiles the wasm module while reading it from its blob, here rather than in the page: there
// the page's main thread had to read every byte as it arrived, between parsing, styling and
// running app.js. In cold starts interleaved with the build before, the median of the paired
// differences was −15, −13 and −6 ms (40, 30 and 40 pairs).
async function compile(wasm) {
  return WebAssembly.compileStreaming(
    new Response(wasm, { headers: { 'content-type': 'application/wasm' } }),
  );
}

// The denoiser is optional: the page works without it and says why.
async function loadConv() {
  const started = performance.now();
  let message = '';
  try {
    conv = AutoencoderModel.load(await fetchBytes('models/conv.onnx'));
  } catch (error) {
    message = `The denoiser could not be loaded: ${error.message}`;
  }
  self.postMessage({ type: 'conv', message, loadMs: performance.now() - started });
}

// The input is either ink from the drawing pad, preprocessed MNIST-style here, or a gallery
// image that is already a 28×28 model input.
function infer({ ink, width, height, image, noise, seed }) {
  if (convToLoad) {
    convToLoad = false;
    // A task of its own: it runs after this answer has been posted.
    setTimeout(loadConv);
  }
  const input = image ?? preprocess(ink, width, height);
  const noisy = addNoise(input, noise, BigInt(seed));
  let started = performance.now();
  const reconstruction = dense.run(input);
  const denseMs = performance.now() - started;
  const score = scale.score(input, reconstruction);
  const scoreFields = { error: score.error, percentile: score.percentile, unusual: score.unusual };
  score.free();
  let denoised = null;
  let convMs = null;
  if (conv) {
    started = performance.now();
    denoised = conv.run(noisy);
    convMs = performance.now() - started;
  }
  return {
    type: 'result',
    input, noisy, reconstruction, denoised,
    score: scoreFields,
    denseMs, convMs,
  };
}

// Replaces the model of the uploaded kind; a file that fails leaves the current models in place.
function upload({ name, bytes }) {
  const model = AutoencoderModel.load(new Uint8Array(bytes));
  if (model.kind === ModelKind.Reconstruct) {
    dense.free();
    dense = model;
    return { type: 'uploaded', message: `Now using ${name} as the dense autoencoder.` };
  }
  if (model.kind === ModelKind.Denoise) {
    conv?.free();
    conv = model;
    return { type: 'uploaded', message: `Now using ${name} as the denoiser.` };
  }
  const half = model.kind === ModelKind.Encode ? 'encoder' : 'decoder';
  model.free();
  throw new Error(`${name} is only the ${half} half of an autoencoder; the page needs a whole one`);
}

const handlers = { load, infer, upload };

self.onmessage = async ({ data }) => {
  try {
    self.postMessage(await handlers[data.type](data));
  } catch (error) {
    // A RuntimeError means the wasm instance trapped (a bug): the page must restart the worker.
    self.postMessage({
      type: 'failed',
      request: data.type,
      message: error?.message ?? String(error),
      fatal: error instanceof WebAssembly.RuntimeError,
    });
  }
};
