// A short soak of the built page (dist/), by bench/soak's driver (bench/soak-driver.mjs): a few
// hundred inferences while drawing, noise changes, many good and broken uploads and a restart
// through the page's own controls, after which the worker's wasm memory and both JS heaps must
// not have grown. bench/soak runs the long version.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { growth, openSoakPage } from '../../bench/soak-driver.mjs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../scripts/chromium.mjs';
import { startStaticServer } from '../../scripts/static-server.mjs';

const dist = fileURLToPath(new URL('../../dist', import.meta.url));

let server;
let browser;
let session;

before(async () => {
  assert.ok(existsSync(`${dist}/index.html`), 'dist/ is missing: run `trunk build --release` first');
  let url;
  ({ server, url } = await startStaticServer({ root: dist, prefix: '/soak/', compress: true }));
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  session = await openSoakPage(browser, url, { goodModel: `${dist}/models/conv.onnx` });
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('a short soak answers every request and grows neither the wasm memory nor the JS heaps', async (t) => {
  const counts = { inferences: 300, noiseChanges: 6, uploads: 60, restarts: 1 };
  const report = await session.soak(counts, {
    warmUp: { inferences: 100, noiseChanges: 3, uploads: 2, restarts: 0 },
    minutes: 4,
  });
  const grown = growth(report);
  t.diagnostic(`${(report.soakMs / 1000).toFixed(1)} s: ${JSON.stringify(report.counts)}; `
    + `start ${JSON.stringify(report.start)}, long-lived worker's end ${JSON.stringify(report.longLived)}, `
    + `end ${JSON.stringify(report.end)}; growth ${JSON.stringify(grown)}`);
  assert.equal(report.late, false, 'the soak finished in time');
  assert.ok(report.counts.inferences >= counts.inferences, `inferences answered: ${report.counts.inferences}`);
  assert.deepEqual({ ...report.counts, inferences: counts.inferences }, counts);
  // Each good upload was taken and each broken one refused, by the worker's own answers.
  assert.equal(report.replies.uploaded, 31);
  assert.equal(report.replies['failed upload'], 31);
  assert.equal(report.replies['failed infer'], undefined, 'no inference failed');
  // The first worker's ready, and the restarted one's.
  assert.equal(report.replies.ready, 2);
  for (const figures of [report.start, report.longLived, report.end]) {
    for (const [name, bytes] of Object.entries(figures)) assert.ok(bytes > 0, `${name} is measured: ${bytes}`);
  }
  // Wasm memory grows by 64 KiB pages, and after the warm-up the worker's allocations reuse what
  // it freed: a second page means something keeps memory. A model never freed shows only once the
  // memory freed before it is used up, hence the many uploads.
  assert.ok(grown.wasm <= 65_536, `wasm memory grew by ${grown.wasm} B`);
  // Tighter than the long soak's goals, for a run this short: what grows here without a leak is
  // V8's compiled code and the browser's capped timing entries (bench/README.md).
  assert.ok(grown.pageHeap <= 1e6, `the page's JS heap grew by ${grown.pageHeap} B`);
  assert.ok(grown.workerHeap <= 1e6, `the worker's JS heap grew by ${grown.workerHeap} B`);
  assert.deepEqual(report.errors, []);
});
