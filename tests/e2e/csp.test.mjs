// The page's Content-Security-Policy: scripts/csp-hashes.mjs (Trunk's post-build hook) writes the
// inline scripts' hashes into it, and dist/index.html's policy lets in exactly those inline scripts
// and nothing from another origin. tests/e2e/embed.test.mjs shows the browser enforcing it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HASHES_MARKER, inlineScriptHashes, metaPolicy, withInlineScriptHashes } from '../../scripts/csp-hashes.mjs';

const dist = fileURLToPath(new URL('../../dist', import.meta.url));

// SHA-256 of the empty text, of `alert(1)` and of `x='<!--a-->'`, as
// `printf … | openssl dgst -sha256 -binary | base64` gives them.
const EMPTY = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='";
const ALERT = "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='";
const COMMENT_LIKE = "'sha256-/iH1gVpa0dL41TzvpknoIR5Xq3UHrtA6UzAPMsVkYsA='";

/** A page with `policy` as its meta policy, and `body` after it. */
const pageWith = (policy, body) => `<!doctype html><head><meta http-equiv="Content-Security-Policy" content="${policy}">${body}`;

test('the hook puts each inline script\'s hash in the marker\'s place, and none of a script with src', () => {
  const html = pageWith(`script-src 'self' ${HASHES_MARKER}; connect-src 'self'`,
    '<!-- <script>not run</script> --><script>alert(1)</script><script type="module" src="app.js"></script>'
      + "<script></script><script>x='<!--a-->'</script>");
  assert.deepEqual(inlineScriptHashes(html), [ALERT, EMPTY, COMMENT_LIKE]);
  const policy = metaPolicy(withInlineScriptHashes(html));
  assert.deepEqual(policy.get('script-src'), ["'self'", ALERT, EMPTY, COMMENT_LIKE]);
  assert.deepEqual(policy.get('connect-src'), ["'self'"]);
  // A changed script gets another hash: the policy follows the script, not the other way round.
  assert.notDeepEqual(inlineScriptHashes(html.replace('alert(1)', 'alert(2)')), [ALERT, EMPTY, COMMENT_LIKE]);
});

test('a page the hook cannot make safe is an error', () => {
  assert.throws(() => withInlineScriptHashes('<script>alert(1)</script>'), /expected one <meta http-equiv="Content-Security-Policy">, found 0/);
  const policy = `script-src ${HASHES_MARKER}`;
  assert.throws(() => withInlineScriptHashes(pageWith(policy, pageWith(policy, ''))), /found 2/);
  assert.throws(() => withInlineScriptHashes(pageWith("script-src 'self'", '')), /expected INLINE_SCRIPT_HASHES once, in the page's Content-Security-Policy; the page has it 0 times/);
  assert.throws(() => withInlineScriptHashes(pageWith(policy, `<p>${HASHES_MARKER}</p>`)), /has it 2 times/);
  assert.throws(() => withInlineScriptHashes(`<script>alert(1)</script>${pageWith(policy, '')}`), /an inline script comes before the Content-Security-Policy/);
});

test('dist/index.html lets in its own inline scripts, this origin, and nothing else', () => {
  assert.ok(existsSync(`${dist}/index.html`), 'dist/ is missing: run `trunk build --release` first');
  const html = readFileSync(`${dist}/index.html`, 'utf8');
  const policy = metaPolicy(html);
  const hashes = inlineScriptHashes(html);
  assert.ok(hashes.length >= 1, 'the page starts its worker from an inline script');
  // A script changed after the build, or a build without the hook, fails here.
  assert.deepEqual(policy.get('script-src'), ["'self'", "'wasm-unsafe-eval'", ...hashes]);
  for (const directive of ['default-src', 'connect-src', 'worker-src', 'style-src']) {
    assert.deepEqual(policy.get(directive), ["'self'"], directive);
  }
  assert.deepEqual(policy.get('img-src'), ["'self'", 'data:']);
  assert.deepEqual(policy.get('object-src'), ["'none'"]);
  assert.deepEqual(policy.get('base-uri'), ["'none'"]);
});
