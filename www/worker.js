// @ts-check
// The model worker: it owns the wasm module (all model logic, in Rust) and the models, so that
// inference never blocks drawing. Its messages are typed in protocol.js.
import {
  initSync, AutoencoderModel, AnomalyScale, ModelKind, preprocess, addNoise,
} from './bottleneck-web.js';

/**
 * @import { InferRequest, LoadRequest, ReadyReply, ResultReply, UploadRequest, UploadedReply,
 *   WorkerReply, WorkerRequest } from './protocol.js'
 */

/** @type {AutoencoderModel | null} */
let dense = null;
/** @type {AutoencoderModel | null} */
let conv = null;
/** @type {AnomalyScale | null} */
let scale = null;

// Whether the denoiser still has to be loaded, once the first reconstruction is on its way.
let convToLoad = false;

/** @param {WorkerReply} message */
function reply(message) {
  self.postMessage(message);
}

/** @param {unknown} error */
function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Loads the dense model, and the wasm module it runs in. The denoiser would delay the first
 * reconstruction: it is loaded after it, and announced with a `conv` message.
 * @param {LoadRequest} request
 * @returns {Promise<ReadyReply>}
 */
async function load({ wasm, available, dense: denseBlob, card }) {
  const [module, denseBytes] = await Promise.all([
    // Compiled while read from its blob, off the page's main thread.
    WebAssembly.compileStreaming(new Response(wasm, { headers: { 'content-type': 'application/wasm' } })),
    denseBlob.arrayBuffer(),
  ]);
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

// The denoiser is optional: the page works without it and says why.
async function loadConv() {
  const started = performance.now();
  let message = '';
  try {
    // Imported late: one fetch less before the worker can start.
    const { fetchOk } = await import('./fetch-ok.js');
    const response = await fetchOk('models/conv.onnx');
    conv = AutoencoderModel.load(new Uint8Array(await response.arrayBuffer()));
  } catch (error) {
    message = `The denoiser could not be loaded: ${messageOf(error)}`;
  }
  reply({ type: 'conv', message, loadMs: performance.now() - started });
}

/**
 * Runs both models on pad ink, preprocessed MNIST-style here, or on a 28×28 model input.
 * @param {InferRequest} request
 * @returns {ResultReply}
 */
function infer(request) {
  if (!dense || !scale) throw new Error('the models are not loaded yet');
  if (convToLoad) {
    convToLoad = false;
    // A task of its own: it runs after this answer has been posted.
    setTimeout(loadConv);
  }
  const input = 'image' in request ? request.image : preprocess(request.ink, request.width, request.height);
  const noisy = addNoise(input, request.noise, BigInt(request.seed));
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

/**
 * Replaces the model of the uploaded kind; a file that fails leaves the current models in place.
 * @param {UploadRequest} request
 * @returns {UploadedReply}
 */
function upload({ name, bytes }) {
  const model = AutoencoderModel.load(new Uint8Array(bytes));
  if (model.kind === ModelKind.Reconstruct) {
    dense?.free();
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

/**
 * @param {WorkerRequest} request
 * @returns {Promise<WorkerReply>}
 */
async function answer(request) {
  switch (request.type) {
    case 'load': return load(request);
    case 'infer': return infer(request);
    case 'upload': return upload(request);
  }
}

self.onmessage = async (event) => {
  /** @type {WorkerRequest} */
  const request = event.data;
  try {
    reply(await answer(request));
  } catch (error) {
    // A RuntimeError means the wasm instance trapped (a bug): the page must restart the worker.
    reply({
      type: 'failed',
      request: request.type,
      message: messageOf(error),
      fatal: error instanceof WebAssembly.RuntimeError,
    });
  }
};
