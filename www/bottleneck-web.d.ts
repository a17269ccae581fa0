// The part of the wasm-bindgen API of crates/bottleneck-web that worker.js uses, for type-checking
// only: Trunk generates the module itself (bottleneck-web.js) into dist/ at build time. Every
// call that can fail throws an Error saying why.

/**
 * Instantiates the compiled wasm module; its exports are what this module declares. Returns the
 * instance's raw exports, of which only its memory is declared here.
 */
export function initSync(options: { module: WebAssembly.Module }): { memory: WebAssembly.Memory };

/** What a model does, told apart by its input and output shapes. */
export enum ModelKind {
  /** `[N,784] → [N,784]`: the dense autoencoder. */
  Reconstruct = 0,
  /** `[N,784] → [N,10]`: the dense encoder. */
  Encode = 1,
  /** `[N,10] → [N,784]`: the dense decoder. */
  Decode = 2,
  /** `[N,1,28,28] → [N,1,28,28]`: the convolutional denoiser. */
  Denoise = 3,
}

/** A model loaded from ONNX bytes. */
export class AutoencoderModel {
  private constructor();
  /** Loads a model for one sample at a time. */
  static load(bytes: Uint8Array): AutoencoderModel;
  /** Loads a model for `batch` samples a run. */
  static loadBatched(bytes: Uint8Array, batch: number): AutoencoderModel;
  readonly kind: ModelKind;
  /** Runs the model on `batch` inputs, one after the other. */
  run(input: Float32Array): Float32Array;
  /** Releases the model's wasm memory. */
  free(): void;
}

/** The dense model's validation errors, which place an error among them. */
export class AnomalyScale {
  private constructor();
  /** Reads the `val_error` distribution from a model card (`dense.json`). */
  static fromCardJson(json: string): AnomalyScale;
  /** Scores a 784-pixel `input` by its reconstruction `output`. */
  score(input: Float32Array, output: Float32Array): AnomalyScore;
  readonly histogramCounts: Uint32Array;
  readonly histogramLo: number;
  readonly histogramHi: number;
}

/** One image's score. */
export class AnomalyScore {
  private constructor();
  /** L2 norm of input − reconstruction. */
  readonly error: number;
  /** Share (0 to 100) of validation digits that rebuilt at least this well. */
  readonly percentile: number;
  /** True when the error is beyond what 99 % of validation digits reach. */
  readonly unusual: boolean;
  /** Releases the score's wasm memory. */
  free(): void;
}

/** Turns pad ink (`width` × `height` values in [0, 1]) into a 28×28 MNIST-style input. */
export function preprocess(ink: Float32Array, width: number, height: number): Float32Array;

/** A copy of `image` with noise `spec` (such as `gaussian:0.50`) drawn from `seed`. */
export function addNoise(image: Float32Array, spec: string, seed: bigint): Float32Array;
