// A minimal static file server for dist/, used by scripts/serve and the browser tests. It serves
// under a path prefix so tests can prove the page works from a sub-path, and only on loopback.
import { createServer } from 'node:http';
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  // Browsers compile wasm while it downloads only when it is served with this type.
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

// Files worth sending gzip-compressed (images are compressed already).
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.wasm', '.svg', '.onnx']);

/**
 * Serves `root` at `http://host:port{prefix}`; resolves to { server, url } once listening. With
 * `compress`, every compressible file under `root` is gzipped once before the server listens and
 * sent so to browsers that accept it, as static hosts do (the wasm goes from 3.7 MB to 1.1 MB);
 * a file changed since is sent as it is.
 */
export async function startStaticServer({ root, prefix = '/', host = '127.0.0.1', port = 0, compress = false }) {
  const base = resolve(root);
  const gzipped = compress ? await gzipAll(base) : new Map();
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
    if (!path.startsWith(prefix)) {
      response.writeHead(404).end('not found');
      return;
    }
    const relative = path.slice(prefix.length);
    const file = normalize(join(base, relative.endsWith('/') || relative === '' ? `${relative}index.html` : relative));
    if (file !== base && !file.startsWith(base + sep)) {
      response.writeHead(403).end('forbidden');
      return;
    }
    try {
      const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
      const headers = { 'content-type': type, 'cache-control': 'no-cache' };
      const compressed = gzipped.get(file);
      if (compressed && /\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) {
        const { mtimeMs, size } = await stat(file);
        if (mtimeMs === compressed.mtimeMs && size === compressed.size) {
          response.writeHead(200, { ...headers, 'content-encoding': 'gzip', vary: 'accept-encoding' })
            .end(compressed.body);
          return;
        }
      }
      const body = await readFile(file);
      response.writeHead(200, headers).end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const address = server.address();
      done({ server, url: `http://${host}:${address.port}${prefix}` });
    });
  });
}

/** Every compressible file under `base`, gzipped, with the modification time and size it had. */
async function gzipAll(base) {
  const gzipped = new Map();
  const entries = await readdir(base, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile() || !COMPRESSIBLE.has(extname(entry.name))) continue;
    const file = join(entry.parentPath ?? entry.path, entry.name);
    const [{ mtimeMs, size }, data] = await Promise.all([stat(file), readFile(file)]);
    gzipped.set(file, { body: gzipSync(data, { level: 9 }), mtimeMs, size });
  }
  return gzipped;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [root = 'dist', port = '8080'] = process.argv.slice(2);
  const { url } = await startStaticServer({ root, port: Number(port), compress: true });
  console.log(`Serving ${root} at ${url}`);
}
