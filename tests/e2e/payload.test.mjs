// Payload budget: the gzip total of dist/ (what `trunk build --release` made) must not exceed the
// budget kept in bench/payload-budget.json. Size is deterministic, so unlike timing it can be a
// test. The sizes come from bench/sizes.mjs, the same code as the report (bench/payload.mjs).
// Also the sizes models/index.json gives (scripts/copy-models), which the page's download
// progress is measured against.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { payloadSizes } from '../../bench/sizes.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const dist = `${repo}dist`;
const budget = JSON.parse(readFileSync(`${repo}bench/payload-budget.json`, 'utf8'));

test('the gzip total of dist/ is within the payload budget', (t) => {
  assert.ok(existsSync(`${dist}/index.html`), 'dist/ is missing: run `trunk build --release` first');
  const { files, total } = payloadSizes(dist, { brotli: false });
  for (const f of files) t.diagnostic(`${f.path}: ${f.raw} B raw, ${f.gzip} B gzip`);
  t.diagnostic(`total: ${total.gzip} B gzip; budget ${budget.gzipBytes} B; goal ${budget.goalBytes} B`);
  assert.ok(
    total.gzip <= budget.gzipBytes,
    `dist/ is ${total.gzip} B gzipped, over the budget of ${budget.gzipBytes} B in bench/payload-budget.json: `
      + 'shrink the payload (see `node bench/payload.mjs` for where the bytes are)',
  );
});

test('models/index.json gives the true size of the wasm and of every model file in dist/', () => {
  const index = JSON.parse(readFileSync(`${dist}/models/index.json`, 'utf8'));
  const shipped = readdirSync(`${dist}/models`).filter((name) => name !== 'index.json').map((name) => `models/${name}`);
  assert.deepEqual(Object.keys(index.bytes).sort(), ['bottleneck-web_bg.wasm', ...shipped].sort());
  for (const [path, bytes] of Object.entries(index.bytes)) {
    assert.equal(bytes, statSync(`${dist}/${path}`).size, path);
  }
  for (const model of index.models) assert.ok(`models/${model}` in index.bytes, model);
});
