// The floor of bench/browser --network (bench/phone.mjs): bytes at the bandwidth plus a round trip
// per step of the longest request chain, the chain read from the requests' Referers and timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floorOf } from '../../bench/phone.mjs';

const page = 'http://127.0.0.1/';
const request = (url, referer, sentMs, bytes = 1000) => ({ url: `${page}${url}`, referer: referer === null ? null : `${page}${referer}`, sentMs, bytes });
const profile = { downloadBitsPerS: 8e6, rttMs: 100 };

test('a worker\'s download waits for the worker\'s imports: four steps from the document', () => {
  const { chainSteps, bytes, floorMs } = floorOf([
    request('', null, 0),
    request('worker.js', '', 110),
    request('app.js', '', 112),
    request('bottleneck-web.js', 'worker.js', 230),
    request('model.onnx', 'worker.js', 350, 1_000_000),
  ], profile);
  assert.equal(chainSteps, 4);
  assert.equal(bytes, 1_004_000);
  assert.equal(floorMs, 1_004_000 * 8 / 8e6 * 1000 + 4 * 100);
});

test('requests found together in one document are one step, however they are spread', () => {
  const { chainSteps } = floorOf([
    request('', null, 0),
    request('style.css', '', 105),
    request('app.js', '', 150),
  ], profile);
  assert.equal(chainSteps, 2);
});

test('a module imported by a module is a step after its importer', () => {
  const { chainSteps } = floorOf([
    request('', null, 0),
    request('app.js', '', 100),
    request('results.js', 'app.js', 200),
    request('clock.js', 'results.js', 300),
  ], profile);
  assert.equal(chainSteps, 4);
});
