// Both engines on the same ONNX bytes, in this page's main thread: ours (tract compiled to wasm,
// through the page's own API in dist/) and onnxruntime-web (wasm backend, one thread). The driver,
// bench/browser.mjs, calls window.bench.* and prints the table.
import * as ort from '../../node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';

// `?ours=URL` swaps in another wasm-bindgen build of bottleneck-web (one that keeps function
// names, for `browser.mjs --profile`); by default it is the page's own build in dist/.
const { default: initOurs, AutoencoderModel } = await import(
  new URLSearchParams(location.search).get('ours') ?? '../../dist/bottleneck-web.js');

// ORT fetches its wasm and loader from wasmPaths: point it at the local copy so that nothing
// leaves 127.0.0.1, and use one thread, as our wasm does.
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = new URL('../../node_modules/onnxruntime-web/dist/', import.meta.url).href;

/** Batch-1 input shapes, as crates/bottleneck-web/src/model.rs checks them. */
const SHAPES = { dense: [1, 784], conv: [1, 1, 28, 28] };

async function modelBytes(name) {
  const response = await fetch(`../../www/models/${name}.onnx`);
  if (!response.ok) throw new Error(`${name}.onnx: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** A fixed digit-like input in [0, 1] (deterministic, so every engine sees the same numbers). */
function fixedInput(length) {
  let seed = 12345;
  return Float32Array.from({ length }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed / 2 ** 32) ** 3; // mostly dark, some ink, like a digit
  });
}

// Each engine: load bytes into a ready-to-run model, make a run function, free.
const engines = {
  ours: {
    start: () => initOurs(),
    load: async (bytes) => AutoencoderModel.load(bytes),
    runner: (model, input) => () => model.run(input),
    free: async (model) => model.free(),
  },
  ort: {
    // ORT starts its wasm runtime on the first session it creates; nothing to do before.
    start: async () => {},
    load: (bytes) => ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] }),
    runner: (session, input, dims) => {
      const [inputName] = session.inputNames;
      const [outputName] = session.outputNames;
      return async () => (await session.run({ [inputName]: new ort.Tensor('float32', input, dims) }))[outputName].data;
    },
    free: (session) => session.release(),
  },
};
// ORT does not constant-fold a DequantizeLinear (it keeps them for its QDQ fusions), so with
// int8 weights and f32 activations it dequantizes every weight on every run. This config entry
// turns the QDQ passes off, and the folding on: ORT at its best on such a file.
engines.ortFolded = {
  ...engines.ort,
  load: (bytes) => ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    extra: { session: { disable_quant_qdq: '1' } },
  }),
};

const bytes = {};
const loaded = {}; // `${engine}/${model}` → model or session kept for the latency runs

/** Fetches the model files; reports the timer resolution the latency figures rest on. */
async function prepare() {
  for (const name of Object.keys(SHAPES)) bytes[name] = await modelBytes(name);
  let resolution = Infinity;
  for (let i = 0; i < 1000; i += 1) {
    const a = performance.now();
    let b = performance.now();
    while (b === a) b = performance.now();
    resolution = Math.min(resolution, b - a);
  }
  return {
    crossOriginIsolated: self.crossOriginIsolated,
    timerResolutionMs: resolution,
    ortVersion: ort.env.versions?.web ?? null,
    sizes: Object.fromEntries(Object.entries(bytes).map(([k, v]) => [k, v.length])),
  };
}

/** Runtime start plus the first load of `model`: what a page pays once, before any model runs. */
async function firstLoad(engine, model) {
  const started = performance.now();
  await engines[engine].start();
  loaded[`${engine}/${model}`] = await engines[engine].load(bytes[model].slice());
  return performance.now() - started;
}

/** Load times (ms) with the runtime already started: `count` loads, each freed after. */
async function loadTimes(engine, model, count) {
  const times = [];
  for (let i = 0; i < count; i += 1) {
    const copy = bytes[model].slice(); // outside the timing: a load may take ownership
    const started = performance.now();
    const instance = await engines[engine].load(copy);
    times.push(performance.now() - started);
    await engines[engine].free(instance);
  }
  return times;
}

/** Per-run times (ms) of `count` batch-1 runs after `warmup` untimed ones. */
async function latencies(engine, model, count, warmup) {
  const run = engines[engine].runner(loaded[`${engine}/${model}`], fixedInput(784), SHAPES[model]);
  for (let i = 0; i < warmup; i += 1) await run();
  const times = new Float64Array(count);
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    await run();
    times[i] = performance.now() - started;
  }
  return Array.from(times);
}

/** The largest difference between our output and ORT's on the fixed input: proof they agree. */
async function maxDifference(model) {
  const input = fixedInput(784);
  const [a, ...others] = await Promise.all(['ours', 'ort', 'ortFolded'].map(
    (engine) => engines[engine].runner(loaded[`${engine}/${model}`], input, SHAPES[model])(),
  ));
  return Math.max(...others.map((b) => a.reduce((max, v, i) => Math.max(max, Math.abs(v - b[i])), 0)));
}

window.bench = { prepare, firstLoad, loadTimes, latencies, maxDifference, shapes: SHAPES };
document.getElementById('status').textContent = 'Ready.';
