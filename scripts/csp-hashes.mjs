// Trunk post-build hook: writes the SHA-256 of every inline script of the staged index.html into
// its Content-Security-Policy, in place of the INLINE_SCRIPT_HASHES marker of www/index.html. It
// hashes the page as Trunk wrote it, so the hashes are those of the very text the browser runs,
// whatever Trunk did to it; a script that changes gets its new hash with the next build.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The placeholder in www/index.html's policy that the inline scripts' hashes replace. */
export const HASHES_MARKER = 'INLINE_SCRIPT_HASHES';

// The page is ours and plain: outside comments, a script element's text runs to the first
// `</script`, as an HTML parser reads it.
const SCRIPT = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi;
const POLICY = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"\s*\/?>/gi;

/** `html` with its comments blanked out, every other character where it was. */
const uncommented = (html) => html.replace(/<!--[\s\S]*?-->/g, (comment) => ' '.repeat(comment.length));

/** The inline scripts (those without src) of `html` as regular expression matches, in page order. */
const inlineScripts = (html) => [...uncommented(html).matchAll(SCRIPT)]
  .filter(([, attributes]) => !/\bsrc\s*=/i.test(attributes));

/** The CSP source expression of each inline script of `html`, in page order. */
export function inlineScriptHashes(html) {
  return inlineScripts(html).map((script) => {
    // The script's own text, from `html` itself: comment-like text inside a script is its text.
    const start = script.index + '<script'.length + script[1].length + 1;
    const text = html.slice(start, start + script[2].length);
    return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
  });
}

/** The one meta Content-Security-Policy of `html`, as a regular expression match. */
function policyMeta(html) {
  const found = [...uncommented(html).matchAll(POLICY)];
  if (found.length !== 1) throw new Error(`expected one <meta http-equiv="Content-Security-Policy">, found ${found.length}`);
  return found[0];
}

/** The directives of `html`'s meta Content-Security-Policy, as a Map of name to sources. */
export function metaPolicy(html) {
  return new Map(policyMeta(html)[1].split(';').map((d) => d.trim().split(/\s+/)).filter(([name]) => name)
    .map(([name, ...sources]) => [name, sources]));
}

/**
 * `html` with its policy's HASHES_MARKER replaced by its inline scripts' hashes; throws when the
 * marker is not in the policy exactly once, or when an inline script comes before the policy,
 * which governs only what follows it.
 */
export function withInlineScriptHashes(html) {
  const policy = policyMeta(html);
  const markers = uncommented(html).split(HASHES_MARKER).length - 1;
  if (markers !== 1 || !policy[1].includes(HASHES_MARKER)) {
    throw new Error(`expected ${HASHES_MARKER} once, in the page's Content-Security-Policy; the page has it ${markers} times`);
  }
  const [firstScript] = inlineScripts(html);
  if (firstScript && firstScript.index < policy.index) {
    throw new Error('an inline script comes before the Content-Security-Policy meta, which must come first');
  }
  const at = policy.index + policy[0].indexOf(HASHES_MARKER);
  return html.slice(0, at) + inlineScriptHashes(html).join(' ') + html.slice(at + HASHES_MARKER.length);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const staging = process.env.TRUNK_STAGING_DIR;
  if (!staging) throw new Error('run this as the post_build hook of trunk (TRUNK_STAGING_DIR is not set)');
  const page = join(staging, 'index.html');
  writeFileSync(page, withInlineScriptHashes(readFileSync(page, 'utf8')));
}
