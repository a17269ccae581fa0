// @ts-check
// The messages between the page (model-client.js) and the model worker (worker.js), as types
// both sides check against. Types only: nothing imports this file at run time, so the page does
// not ship it.

/**
 * The first request to a worker: load the models from the files it started downloading when it
 * started.
 * @typedef {{ type: 'load' }} LoadRequest
 */

/**
 * What the models run on: ink from the drawing pad (one value in [0, 1] per pad pixel, row by row),
 * which the worker preprocesses MNIST-style, or an image that is already a 28×28 model input.
 * @typedef {{ ink: Float32Array, width: number, height: number } | { image: Float32Array }} ModelInput
 */

/**
 * Runs both models on an input, with noise `noise` (a spec such as `gaussian:0.50`) drawn from
 * `seed` for the denoiser.
 * @typedef {ModelInput & { type: 'infer', noise: string, seed: number }} InferRequest
 */

/**
 * Replaces the dense model or the denoiser, whichever kind the ONNX file `bytes` turns out to be.
 * @typedef {object} UploadRequest
 * @property {'upload'} type
 * @property {string} name  the file's name, for the answer's message
 * @property {ArrayBuffer} bytes
 */

/**
 * Decodes a code of ten numbers through the decoder alone.
 * @typedef {object} DecodeRequest
 * @property {'decode'} type
 * @property {Float32Array} code
 */

/**
 * Encodes two 28×28 inputs and decodes the codes between them, (1 − t)·z₀ + t·z₁ for
 * [`MORPH_FRAMES`](worker.js) evenly spaced t from 0 to 1, in one batched decoder run.
 * @typedef {object} InterpolateRequest
 * @property {'interpolate'} type
 * @property {Float32Array} from
 * @property {Float32Array} to
 */

/**
 * Asks for the worker's memory use. The page never sends it: bench/soak.mjs does, to see that a
 * long session does not grow it.
 * @typedef {{ type: 'stats' }} StatsRequest
 */

/**
 * @typedef {LoadRequest | InferRequest | UploadRequest | DecodeRequest | InterpolateRequest
 *   | StatsRequest} WorkerRequest
 */

/**
 * Per dimension of the code, the least and greatest value over the training digits' codes.
 * @typedef {{ lo: number[], hi: number[] }} CodeSpread
 */

/**
 * models/dense.map.json, written by `trainer code-map`: the test digits' codes on the two
 * principal axes of the codes, positions quantized to 0..`quantized` over `extent`.
 * @typedef {object} CodeMapFile
 * @property {number} count
 * @property {number[]} mean
 * @property {[number[], number[]]} axes
 * @property {[number, number]} variance_share
 * @property {number} quantized
 * @property {{ a: [number, number], b: [number, number] }} extent
 * @property {{ a: number[], b: number[], label: number[] }} points
 */

/**
 * The validation errors of the dense model card, as a histogram of equal bins from `lo` to `hi`.
 * @typedef {{ counts: Uint32Array, lo: number, hi: number }} Histogram
 */

/**
 * News during `load`: how many bytes of the files the first reconstruction waits on have arrived,
 * and their total (null until the worker knows it).
 * @typedef {{ type: 'progress', receivedBytes: number, totalBytes: number | null }} ProgressReply
 */

/**
 * The answer to `load`: the dense model is ready.
 * @typedef {object} ReadyReply
 * @property {'ready'} type
 * @property {string} convMessage  what to say about the denoiser until its `conv` message comes
 * @property {Histogram} histogram
 * @property {CodeSpread | null} codeSpread  from the card; null for a card without it
 */

/**
 * News the worker sends unasked, once, after its first result: the denoiser is loaded, or why not.
 * @typedef {object} ConvReply
 * @property {'conv'} type
 * @property {string} message  empty when the denoiser is loaded, else why it is not
 * @property {number} loadMs  the time it took, download included
 */

/**
 * An anomaly score: the input's reconstruction error placed on the validation errors.
 * @typedef {object} Score
 * @property {number} error  the L2 norm of input − reconstruction
 * @property {number} percentile  the share (0 to 100) of validation digits that rebuilt at least this well
 * @property {boolean} unusual  whether the error is beyond what 99 % of validation digits reach
 */

/**
 * The answer to `infer`: every image as 784 values in [0, 1], the score and the run times.
 * @typedef {object} ResultReply
 * @property {'result'} type
 * @property {Float32Array} input  the 28×28 model input
 * @property {Float32Array} noisy  the input with noise, as the denoiser gets it
 * @property {Float32Array} reconstruction  the dense model's rebuild of the input
 * @property {Float32Array | null} code  the input's ten numbers at the bottleneck; null for an
 *   uploaded model, which is not split into halves
 * @property {Float32Array | null} denoised  the denoiser's output, null while it is not loaded
 * @property {Score} score
 * @property {number} denseMs
 * @property {number | null} convMs  null while the denoiser is not loaded
 */

/**
 * The answer to `upload`: the model is in use.
 * @typedef {object} UploadedReply
 * @property {'uploaded'} type
 * @property {string} message  which model it replaced
 */

/**
 * The answer to a request that failed.
 * @typedef {object} FailedReply
 * @property {'failed'} type
 * @property {WorkerRequest['type']} request  the type of the request that failed
 * @property {string} message
 * @property {boolean} fatal  whether the wasm instance trapped, so that the worker must be replaced
 */

/**
 * The answer to `decode`: the decoder's image for the code.
 * @typedef {object} DecodedReply
 * @property {'decoded'} type
 * @property {Float32Array} code
 * @property {Float32Array} image
 */

/**
 * The answer to `interpolate`: both ends' codes and the frames decoded between them, 784 values
 * each, one after the other.
 * @typedef {object} InterpolatedReply
 * @property {'interpolated'} type
 * @property {[Float32Array, Float32Array]} codes
 * @property {Float32Array} frames
 * @property {number} decodeMs  the batched decoder run
 */

/**
 * The answer to `stats`, which the page's model client ignores.
 * @typedef {object} StatsReply
 * @property {'stats'} type
 * @property {number | null} wasmBytes  the wasm instance's memory, null before `load`
 */

/**
 * @typedef {ProgressReply | ReadyReply | ConvReply | ResultReply | UploadedReply | DecodedReply
 *   | InterpolatedReply | FailedReply | StatsReply} WorkerReply
 */

export {};
