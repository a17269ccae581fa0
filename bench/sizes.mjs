// Raw, gzip and brotli sizes of every file under a folder. One module for both the report
// (bench/payload.mjs) and the budget test (tests/e2e/payload.test.mjs), so they count the same
// bytes the same way.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** Every file under `root`, as sorted '/'-separated paths relative to it. */
export function listFiles(root, prefix = '') {
  return readdirSync(join(root, prefix), { withFileTypes: true })
    .flatMap((entry) => {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      return entry.isDirectory() ? listFiles(root, path) : [path];
    })
    .sort();
}

// The strongest settings a static host would precompress with: what the user downloads at best.
const GZIP_OPTIONS = { level: 9 };
const brotliOptions = (size) => ({
  params: {
    [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
    [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
    [constants.BROTLI_PARAM_SIZE_HINT]: size,
  },
});

/**
 * Sizes of every file under `root`: { files: [{ path, raw, gzip, brotli }], total: {...} }.
 * Brotli at quality 11 takes seconds on the wasm, so the budget test, which needs only gzip,
 * can skip it with `{ brotli: false }` (its sizes are then null).
 */
export function payloadSizes(root, { brotli = true } = {}) {
  const files = listFiles(root).map((path) => {
    const bytes = readFileSync(join(root, path));
    return {
      path,
      raw: bytes.length,
      gzip: gzipSync(bytes, GZIP_OPTIONS).length,
      brotli: brotli ? brotliCompressSync(bytes, brotliOptions(bytes.length)).length : null,
    };
  });
  const sum = (key) => (files.some((f) => f[key] === null) ? null : files.reduce((s, f) => s + f[key], 0));
  return { files, total: { path: 'total', raw: sum('raw'), gzip: sum('gzip'), brotli: sum('brotli') } };
}
