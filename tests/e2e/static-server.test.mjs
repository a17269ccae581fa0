// The static server of scripts/serve and the browser tests: gzip for browsers that accept it, the
// same bytes once decompressed, and a file changed after the start sent as it now is.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startStaticServer } from '../../scripts/static-server.mjs';

let root;
let server;
let url;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'static-server-'));
  writeFileSync(join(root, 'module.wasm'), Buffer.alloc(50_000, 7));
  writeFileSync(join(root, 'picture.png'), Buffer.alloc(1000, 1));
  ({ server, url } = await startStaticServer({ root, prefix: '/sub/', compress: true }));
});

after(() => {
  server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** GETs `path` with the given request headers; resolves to { headers, body }. */
function get(path, headers = {}) {
  return new Promise((done, fail) => {
    request(`${url}${path}`, { headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => done({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
    }).on('error', fail).end();
  });
}

test('wasm goes gzipped to browsers that accept it, as it is to others', async () => {
  const zipped = await get('module.wasm', { 'accept-encoding': 'gzip, deflate, br' });
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(zipped.headers['content-type'], 'application/wasm');
  assert.ok(zipped.body.length < 1000, `${zipped.body.length} bytes`);
  assert.deepEqual(gunzipSync(zipped.body), Buffer.alloc(50_000, 7));
  const plain = await get('module.wasm');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.deepEqual(plain.body, Buffer.alloc(50_000, 7));
});

test('images are not compressed again, and a changed file is sent as it now is', async () => {
  const picture = await get('picture.png', { 'accept-encoding': 'gzip' });
  assert.equal(picture.headers['content-encoding'], undefined);
  writeFileSync(join(root, 'module.wasm'), Buffer.alloc(60_000, 9));
  const changed = await get('module.wasm', { 'accept-encoding': 'gzip' });
  assert.equal(changed.headers['content-encoding'], undefined);
  assert.deepEqual(changed.body, Buffer.alloc(60_000, 9));
});
