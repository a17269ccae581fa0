// @ts-check
// The model worker: it owns the wasm module (all model logic, in Rust) and the models, so that
// inference never blocks drawing. Its messages are typed in protocol.js.
import {
  initSync, AutoencoderModel, AnomalyScale, ModelKind, preprocess, addNoise,
} from './bottleneck-web.js';
import { fetchOk } from './fetch-ok.js';

/**
 * @import { DecodeRequest, DecodedReply, InferRequest, InterpolateRequest, InterpolatedReply,
 *   ReadyReply, ResultReply, StatsReply, UploadRequest, UploadedReply, WorkerReply,
 *   WorkerRequest } from './protocol.js'
 */

/** Frames of a morph between two codes, decoded in one batched run. */
const MORPH_FRAMES = 8;

/**
 * The anomaly detector: the shipped model as its encoder and decoder halves, so that the code
 * between them can be shown and steered, or an uploaded whole model.
 * @type {{ encoder: AutoencoderModel, decoder: AutoencoderModel } | { whole: AutoencoderModel } | null}
 */
let dense = null;
/**
 * The decoder's bytes, for the batched decoder that the first morph loads.
 * @type {Uint8Array | null}
 */
let decoderBytes = null;
/** @type {AutoencoderModel | null} */
let morphDecoder = null;
/** @type {AutoencoderModel | null} */
let conv = null;
/** @type {AnomalyScale | null} */
let scale = null;
/**
 * The wasm instance's memory, which `stats` reports.
 * @type {WebAssembly.Memory | null}
 */
let memory = null;

// Whether the denoiser still has to be loaded, once the first reconstruction is on its way.
let convToLoad = false;

/**
 * How much of what the first reconstruction waits on has arrived: bytes counted as they come, and
 * the sum of the files' sizes from models/index.json once it is in (null until then).
 */
const progress = { receivedBytes: 0, totalBytes: /** @type {number | null} */ (null), paths: /** @type {string[]} */ ([]) };
let progressReportedMs = -Infinity;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let progressTimer;

/**
 * Tells the page how far the downloads are: at once when they are complete or 50 ms have passed
 * since the last report, else at the end of those 50 ms, so the latest figure always gets there.
 */
function reportProgress() {
  clearTimeout(progressTimer);
  const waitMs = progressReportedMs + 50 - performance.now();
  if (waitMs > 0 && progress.receivedBytes !== progress.totalBytes) {
    progressTimer = setTimeout(reportProgress, waitMs);
    return;
  }
  progressReportedMs = performance.now();
  reply({ type: 'progress', receivedBytes: progress.receivedBytes, totalBytes: progress.totalBytes });
}

/**
 * Fetches `path` and counts its body's bytes into the progress as they arrive, from a clone of
 * the response, so that the response itself feeds the wasm compiler or the reader untouched.
 * @param {string} path
 */
async function fetchCounted(path) {
  progress.paths.push(path);
  const response = await fetchOk(path);
  const reader = response.clone().body?.getReader();
  (async () => {
    for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader?.read()) {
      progress.receivedBytes += chunk.value.byteLength;
      reportProgress();
    }
  })().catch(() => {}); // a broken body fails the download itself, which load() reports
  return response;
}

// What the first reconstruction waits on, downloaded as soon as the worker starts; the wasm module
// is compiled while it downloads.
const downloads = Promise.all([
  WebAssembly.compileStreaming(fetchCounted('bottleneck-web_bg.wasm')),
  fetchOk('models/index.json').then((response) => response.json()).then((index) => {
    const sizes = progress.paths.map((path) => index.bytes?.[path]);
    progress.totalBytes = sizes.every(Number.isInteger) ? sizes.reduce((sum, size) => sum + size, 0) : null;
    reportProgress();
    return index;
  }),
  fetchCounted('models/dense.encoder.onnx').then((response) => response.arrayBuffer()),
  fetchCounted('models/dense.decoder.onnx').then((response) => response.arrayBuffer()),
  fetchCounted('models/dense.json').then((response) => response.text()),
]);
// A failed download is reported by load(), which can come to it after it has failed.
downloads.catch(() => {});

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
 * @returns {Promise<ReadyReply>}
 */
async function load() {
  const [module, index, encoderBytes, decoderBuffer, card] = await downloads.catch((error) => {
    throw new Error(`The models could not be downloaded: ${messageOf(error)}`);
  });
  // Synchronous, as workers may: the module is compiled already, and the async form would
  // only wait for another task.
  ({ memory } = initSync({ module }));
  decoderBytes = new Uint8Array(decoderBuffer);
  dense = {
    encoder: AutoencoderModel.load(new Uint8Array(encoderBytes)),
    decoder: AutoencoderModel.load(decoderBytes),
  };
  scale = AnomalyScale.fromCardJson(card);
  const hasConv = index.models.includes('conv.onnx');
  convToLoad = hasConv;
  return {
    type: 'ready',
    convMessage: hasConv ? 'Loading the denoiser…' : 'The denoiser (conv.onnx) has not been trained yet.',
    histogram: { counts: scale.histogramCounts, lo: scale.histogramLo, hi: scale.histogramHi },
    // The card was checked by fromCardJson, code_spread included.
    codeSpread: JSON.parse(card).code_spread ?? null,
  };
}

// The denoiser is optional: the page works without it and says why.
async function loadConv() {
  const started = performance.now();
  let message = '';
  try {
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
  // decoder(encoder(x)) is the whole model's rebuild: the page shows the code it went through.
  let code = null;
  let reconstruction;
  if ('whole' in dense) reconstruction = dense.whole.run(input);
  else {
    code = dense.encoder.run(input);
    reconstruction = dense.decoder.run(code);
  }
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
    input, noisy, reconstruction, code, denoised,
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
    freeDense();
    dense = { whole: model };
    return { type: 'uploaded', message: `Now using ${name} as the dense autoencoder; the code and its map are the shipped model's and are not shown for it.` };
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

function freeDense() {
  if (!dense) return;
  if ('whole' in dense) dense.whole.free();
  else {
    dense.encoder.free();
    dense.decoder.free();
  }
  morphDecoder?.free();
  morphDecoder = null;
  decoderBytes = null;
  dense = null;
}

/** The shipped model's halves; errors for an uploaded whole model, which has no code to show. */
function halves() {
  if (!dense) throw new Error('the models are not loaded yet');
  if ('whole' in dense) throw new Error('the uploaded dense model is not split into an encoder and a decoder, so it has no code to decode');
  return dense;
}

/**
 * Decodes a code through the decoder alone.
 * @param {DecodeRequest} request
 * @returns {DecodedReply}
 */
function decode({ code }) {
  return { type: 'decoded', code, image: halves().decoder.run(code) };
}

/**
 * Encodes both ends and decodes the codes between them in one batched run.
 * @param {InterpolateRequest} request
 * @returns {InterpolatedReply}
 */
function interpolate({ from, to }) {
  const { encoder } = halves();
  morphDecoder ??= AutoencoderModel.loadBatched(/** @type {Uint8Array} */ (decoderBytes), MORPH_FRAMES);
  const codes = /** @type {[Float32Array, Float32Array]} */ ([encoder.run(from), encoder.run(to)]);
  const between = new Float32Array(MORPH_FRAMES * codes[0].length);
  for (let frame = 0; frame < MORPH_FRAMES; frame += 1) {
    const t = frame / (MORPH_FRAMES - 1);
    for (let i = 0; i < codes[0].length; i += 1) {
      between[frame * codes[0].length + i] = (1 - t) * codes[0][i] + t * codes[1][i];
    }
  }
  const started = performance.now();
  const frames = morphDecoder.run(between);
  return { type: 'interpolated', codes, frames, decodeMs: performance.now() - started };
}

/** @returns {StatsReply} */
function stats() {
  return { type: 'stats', wasmBytes: memory?.buffer.byteLength ?? null };
}

/**
 * @param {WorkerRequest} request
 * @returns {Promise<WorkerReply>}
 */
async function answer(request) {
  switch (request.type) {
    case 'load': return load();
    case 'infer': return infer(request);
    case 'upload': return upload(request);
    case 'decode': return decode(request);
    case 'interpolate': return interpolate(request);
    case 'stats': return stats();
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
