// The trainer's int4 files are standard ONNX: onnxruntime (onnxruntime-web's wasm backend, in
// Node, from node_modules) loads the dense and conv models the trainer exports with int4 weights
// (opset 21, INT4 initializers, blocked DequantizeLinear) and computes what bottleneck-runtime
// computes on them. The files, the inputs and the runtime's outputs come from the trainer's own
// test (trainer/tests/int4.rs: small synthetic data, no ../shared, no network), run here with
// BOTTLENECK_INT4_FIXTURE naming the folder to leave them in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';

const repo = fileURLToPath(new URL('../../', import.meta.url));
/// Largest difference allowed between the two engines' outputs (sigmoids in [0, 1]): f32 sums
/// taken in another order, far below what int4 rounding moves (about 1e-2).
const TOLERANCE = 1e-5;

/** @param {string} path little-endian f32 values */
function floats(path) {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

test('onnxruntime runs the int4 exports as bottleneck-runtime does', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bottleneck-int4-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  try {
    execFileSync(
      'cargo',
      ['test', '--release', '-p', 'trainer', '--test', 'int4', '--', '--exact',
        'int4_training_with_fine_tuning_exports_standard_blocked_files'],
      { cwd: repo, env: { ...process.env, BOTTLENECK_INT4_FIXTURE: dir }, stdio: 'pipe' },
    );
  } catch (error) {
    assert.fail(`the trainer's int4 test failed, so there are no files to check:\n${error.stderr}${error.stdout}`);
  }
  ort.env.wasm.numThreads = 1;
  const inputs = floats(join(dir, 'inputs.bin'));
  const images = inputs.length / 784;
  for (const [model, shape] of [['dense', [images, 784]], ['conv', [images, 1, 28, 28]]]) {
    const session = await ort.InferenceSession.create(readFileSync(join(dir, `${model}.onnx`)), {
      executionProviders: ['wasm'],
    });
    const { y } = await session.run({ x: new ort.Tensor('float32', inputs, shape) });
    const ours = floats(join(dir, `${model}.outputs.bin`));
    assert.equal(y.data.length, ours.length, `${model}: onnxruntime gave ${y.data.length} values`);
    let largest = 0;
    for (let i = 0; i < ours.length; i++) largest = Math.max(largest, Math.abs(y.data[i] - ours[i]));
    t.diagnostic(`${model}: ${images} images, largest |onnxruntime − runtime| ${largest}`);
    assert.ok(largest <= TOLERANCE, `${model}: onnxruntime and bottleneck-runtime differ by ${largest}`);
    await session.release();
  }
});
