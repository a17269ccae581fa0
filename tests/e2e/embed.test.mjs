// The built page (dist/) embedded by another origin, in Debian's Chromium: it works inside an
// iframe of a page from a second server on 127.0.0.1 (another port is another origin), and its
// Content-Security-Policy keeps it from calling out: what a script in the embed asks of another
// origin is refused, and that origin never hears of it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../scripts/chromium.mjs';
import { startStaticServer } from '../../scripts/static-server.mjs';

const dist = fileURLToPath(new URL('../../dist', import.meta.url));

let demo;
let browser;
let other;
let otherUrl;
// Every request the other origin got, other than for its parent page (which asks for nothing else).
const otherRequests = [];

/** The parent page of the other origin: README's iframe around the demo's embed mode. */
const parentPage = (demoUrl) => `<!doctype html><title>a page that embeds the demo</title>
<link rel="icon" href="data:,">
<iframe src="${demoUrl}?embed" title="bottleneck autoencoder demo"
        width="640" height="720" style="border: 0" loading="lazy"></iframe>`;

before(async () => {
  assert.ok(existsSync(`${dist}/index.html`), 'dist/ is missing: run `trunk build --release` first');
  demo = await startStaticServer({ root: dist, prefix: '/demo/', compress: true });
  other = createServer((request, response) => {
    if (request.url === '/parent.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(parentPage(demo.url));
      return;
    }
    otherRequests.push(request.url);
    // It would let the embed read its answers, were the embed allowed to ask.
    response.writeHead(200, { 'access-control-allow-origin': '*', 'content-type': 'text/javascript' }).end('');
  });
  await new Promise((resolve) => { other.listen(0, '127.0.0.1', resolve); });
  otherUrl = `http://127.0.0.1:${other.address().port}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  demo?.server.close();
  other?.close();
});

/**
 * A new page whose frames record their Content-Security-Policy violations in
 * `window.violations`, and which gathers console errors, page errors and dialogs.
 */
async function recordingPage() {
  const page = await browser.newPage();
  const errors = [];
  const dialogs = [];
  await page.addInitScript(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.violations.push({ directive: event.effectiveDirective, blocked: event.blockedURI });
    });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    dialog.dismiss();
  });
  return { page, errors, dialogs };
}

/** Opens the other origin's parent page and resolves to the demo's frame once it shows its first reconstruction. */
async function openFramed(page) {
  await page.goto(`${otherUrl}parent.html`);
  const frame = page.frameLocator('iframe');
  await frame.locator('#timing').filter({ hasText: 'Inference' }).waitFor({ state: 'attached', timeout: 20_000 });
  return page.frames().find((f) => f.url().startsWith(demo.url));
}

test('framed by another origin, the embed shows its first reconstruction with no prompt and no error', async () => {
  const { page, errors, dialogs } = await recordingPage();
  const frame = await openFramed(page);
  assert.ok(frame, 'the demo runs in the frame');
  assert.equal(await frame.evaluate(() => document.body.classList.contains('embed')), true);
  // The blank pad's rebuild is the model's faint average digit: not an empty canvas.
  const lit = await frame.evaluate(() => {
    const canvas = /** @type {HTMLCanvasElement} */ (document.getElementById('reconstruction'));
    const data = canvas.getContext('2d').getImageData(0, 0, 28, 28).data;
    return Array.from({ length: 784 }, (_, i) => data[i * 4]).filter((v) => v > 10).length;
  });
  assert.ok(lit > 20, `the rebuild shows a faint digit: ${lit} pixels lit`);
  assert.match(await frame.locator('#status').textContent(), /Dense model loaded/);
  assert.deepEqual(await frame.evaluate(() => window.violations), []);
  assert.deepEqual(errors, []);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(otherRequests, []);
  await page.close();
});

test('a script in the embed cannot reach another origin: fetch, image and import are refused', async () => {
  const { page, errors } = await recordingPage();
  const frame = await openFramed(page);
  const outcomes = await frame.evaluate(async (target) => {
    const settle = (promise) => promise.then(() => 'done', (error) => `refused: ${error.name}`);
    const image = new Promise((resolve, reject) => {
      const beacon = new Image();
      beacon.onload = resolve;
      beacon.onerror = () => reject(new Error('image'));
      beacon.src = `${target}beacon.gif`;
    });
    return {
      fetch: await settle(fetch(`${target}fetch`, { method: 'POST', body: 'the drawing' })),
      image: await settle(image),
      import: await settle(import(`${target}module.js`)),
    };
  }, otherUrl);
  assert.deepEqual(outcomes, { fetch: 'refused: TypeError', image: 'refused: Error', import: 'refused: TypeError' });
  // Violation events are dispatched in a task of their own.
  await frame.waitForFunction(() => window.violations.length >= 3);
  const violations = await frame.evaluate(() => window.violations);
  assert.deepEqual(violations.map((v) => v.directive).sort(), ['connect-src', 'img-src', 'script-src-elem']);
  for (const { blocked } of violations) assert.ok(blocked.startsWith(otherUrl), blocked);
  assert.deepEqual(otherRequests, [], 'the other origin got no request');
  assert.ok(errors.length > 0 && errors.every((e) => /Content Security Policy|Failed to fetch dynamically imported module/.test(e)),
    `only the policy's refusals are logged: ${JSON.stringify(errors)}`);
  await page.close();
});

test('an inline script changed without its hash is refused by the browser', async () => {
  const { page } = await recordingPage();
  await page.route(demo.url, async (route) => {
    const response = await route.fetch();
    const html = await response.text();
    assert.match(html, /window\.bottleneckStartup = /);
    await route.fulfill({ response, body: html.replace('window.bottleneckStartup = ', 'window.bottleneckStartup  = ') });
  });
  await page.goto(demo.url);
  await page.waitForFunction(() => window.violations.length > 0);
  assert.deepEqual(await page.evaluate(() => window.violations.map((v) => v.directive)), ['script-src-elem']);
  assert.equal(await page.evaluate(() => 'bottleneckStartup' in window), false, 'the starter did not run');
  await page.close();
});
