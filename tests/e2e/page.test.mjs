// End-to-end tests of the built page (dist/, made by `trunk build --release`) in Debian's
// Chromium, driven by playwright-core. The page is served from a sub-path on 127.0.0.1 to prove
// every URL in it is relative. Screenshots go to tests/artifacts/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../scripts/chromium.mjs';
import { startStaticServer } from '../../scripts/static-server.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const dist = `${repo}dist`;
const artifacts = `${repo}tests/artifacts`;

let server;
let pageUrl;
let browser;
let page;
const consoleErrors = [];
const foreignRequests = [];
let coldStartMs;

before(async () => {
  assert.ok(existsSync(`${dist}/index.html`), 'dist/ is missing: run `trunk build --release` first');
  mkdirSync(artifacts, { recursive: true });
  ({ server, url: pageUrl } = await startStaticServer({ root: dist, prefix: '/some/sub/path/', compress: true }));
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  const origin = new URL(pageUrl).origin;
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  page.context().on('request', (request) => {
    if (new URL(request.url()).origin !== origin) foreignRequests.push(request.url());
  });
  await page.goto(pageUrl);
  // The first reconstruction (of the blank pad) is shown as soon as the models are loaded.
  await page.locator('#timing').filter({ hasText: 'Inference' }).waitFor({ timeout: 20_000 });
  coldStartMs = await page.evaluate(() => performance.now());
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** The 28×28 grey levels (0 to 1) of a result canvas. */
function canvasPixels(id) {
  return page.evaluate((canvasId) => {
    const canvas = document.getElementById(canvasId);
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    return Array.from({ length: canvas.width * canvas.height }, (_, i) => data[i * 4] / 255);
  }, id);
}

function correlation(a, b) {
  const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const [meanA, meanB] = [mean(a), mean(b)];
  let [covariance, varianceA, varianceB] = [0, 0, 0];
  a.forEach((v, i) => {
    covariance += (v - meanA) * (b[i] - meanB);
    varianceA += (v - meanA) ** 2;
    varianceB += (b[i] - meanB) ** 2;
  });
  return covariance / Math.sqrt(varianceA * varianceB);
}

/** Draws a "7" on the pad with real mouse input, which the browser turns into pointer events. */
async function drawSeven() {
  await page.locator('#pad').scrollIntoViewIfNeeded();
  const box = await page.locator('#pad').boundingBox();
  const at = (x, y) => [box.x + x * box.width, box.y + y * box.height];
  const path = [[0.25, 0.2], [0.75, 0.2], [0.6, 0.45], [0.45, 0.85]];
  await page.mouse.move(...at(...path[0]));
  await page.mouse.down();
  for (const point of path.slice(1)) await page.mouse.move(...at(...point), { steps: 12 });
  await page.mouse.up();
}

async function scoreText() {
  return page.locator('#score').textContent();
}

test('the page starts and shows its first reconstruction', async (t) => {
  t.diagnostic(`cold start: ${coldStartMs.toFixed(0)} ms from navigation to the first reconstruction`);
  t.diagnostic(await page.locator('#status').textContent());
  assert.match(await page.locator('#conv-status').textContent(), /denoiser|^$/);
});

test('a drawn digit is preprocessed, rebuilt and scored', async () => {
  await drawSeven();
  await page.locator('#score').filter({ hasText: /^Error \d/ }).waitFor();
  // Updates are throttled to one in flight, so let the last one land before reading pixels.
  await page.waitForTimeout(300);
  const input = await canvasPixels('input');
  const reconstruction = await canvasPixels('reconstruction');
  assert.ok(input.some((v) => v > 0.5), 'the 28×28 input shows the drawing');
  const r = correlation(input, reconstruction);
  assert.ok(r > 0.5, `reconstruction correlates with the input: r = ${r.toFixed(3)}`);
  assert.match(await scoreText(), /above \d+(\.\d)? % of validation digits/);
  await page.screenshot({ path: `${artifacts}/drawn-seven.png`, fullPage: true });
});

test('the noise slider changes the noisy image', async () => {
  const before = await canvasPixels('noisy');
  await page.locator('#noise-strength').fill('90');
  await page.waitForFunction(
    (previous) => {
      const canvas = document.getElementById('noisy');
      const data = canvas.getContext('2d').getImageData(0, 0, 28, 28).data;
      return Array.from({ length: 784 }, (_, i) => data[i * 4] / 255)
        .some((v, i) => Math.abs(v - previous[i]) > 0.01);
    },
    before,
  );
});

test('an empty canvas scores without NaN and gives no verdict', async () => {
  await page.locator('#clear').click();
  await page.locator('#score').filter({ hasText: /blank image/ }).waitFor();
  const text = await scoreText();
  assert.doesNotMatch(text, /NaN/);
  assert.match(text, /^Error \d+\.\d+ for a blank image/);
});

/** Clicks the gallery example named `name`, waits for its result, and returns its error. */
async function pickExample(name) {
  const button = page.getByRole('button', { name: new RegExp(`^${name} \\(`) }).first();
  await button.click();
  // The result is in when the 28×28 input panel shows the example's own pixels.
  await page.waitForFunction((label) => {
    const thumbnail = [...document.querySelectorAll('#gallery-items button')]
      .find((b) => b.getAttribute('aria-label').startsWith(label)).querySelector('canvas');
    const expected = thumbnail.getContext('2d').getImageData(0, 0, 28, 28).data;
    const shown = document.getElementById('input').getContext('2d').getImageData(0, 0, 28, 28).data;
    return expected.every((v, i) => v === shown[i]);
  }, name);
  const error = Number((await scoreText()).match(/^Error (\d+\.\d+)/)[1]);
  return error;
}

test('gallery examples load on click, and things that are not digits score higher', async (t) => {
  const count = await page.locator('#gallery-items button').count();
  assert.ok(count >= 30, `the gallery holds a few dozen examples, found ${count}`);
  const digits = [await pickExample('Digit 0'), await pickExample('Digit 3'), await pickExample('Digit 7')];
  assert.match(await scoreText(), /of validation digits: looks like a digit/);
  const outliers = {
    sneaker: await pickExample('Fashion: Sneaker'),
    trouser: await pickExample('Fashion: Trouser'),
    noise: await pickExample('Noise'),
    inverted: await pickExample('Inverted digit'),
  };
  t.diagnostic(`errors: digits ${digits.join(', ')}; ${JSON.stringify(outliers)}`);
  for (const [name, error] of Object.entries(outliers)) {
    assert.ok(error > Math.max(...digits), `${name} (${error}) scores above every digit (${digits})`);
  }
  assert.match(await scoreText(), /unusual/);
  await page.screenshot({ path: `${artifacts}/gallery-inverted-digit.png`, fullPage: true });
  // Drawing on the pad leaves the example and goes back to the drawing.
  await drawSeven();
  await page.locator('#gallery-items button[aria-pressed="true"]').waitFor({ state: 'detached' });
});

test('a broken model upload shows an error and the page keeps working', async () => {
  await page.locator('#upload').setInputFiles({
    name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model'),
  });
  await page.locator('#upload-status').filter({ hasText: /^Error: .*ONNX/ }).waitFor();
  await page.locator('#clear').click();
  await drawSeven();
  await page.locator('#score').filter({ hasText: /^Error \d/ }).waitFor();
  assert.ok((await canvasPixels('reconstruction')).some((v) => v > 0.5));
  await page.screenshot({ path: `${artifacts}/broken-upload.png`, fullPage: true });
});

test('a model of the wrong shape or too large is refused with a message', async () => {
  const encoderHalf = readFileSync(`${repo}www/models/dense.encoder.onnx`);
  await page.locator('#upload').setInputFiles({
    name: 'dense.encoder.onnx', mimeType: 'application/octet-stream', buffer: encoderHalf,
  });
  await page.locator('#upload-status').filter({ hasText: /^Error: .*encoder half/ }).waitFor();
  await page.locator('#upload').setInputFiles({
    name: 'huge.onnx', mimeType: 'application/octet-stream', buffer: Buffer.alloc(21_000_000),
  });
  await page.locator('#upload-status').filter({ hasText: /^Error: .*larger than the [\d.]+ MB/ }).waitFor();
  await pickExample('Digit 3');
});

test('a worker that dies is restarted and the page says so', async () => {
  const [worker] = page.workers();
  await worker.evaluate(() => self.close());
  // The next request goes unanswered; the page's watchdog replaces the worker.
  await page.locator('#clear').click();
  await page.locator('#status').filter({ hasText: /restarted/ }).waitFor({ timeout: 20_000 });
  await pickExample('Digit 7');
});

test('a worker that fails before the page script runs is restarted', async () => {
  // index.html starts the worker before app.js runs: here its first start fails at once, and
  // app.js, held back until then, must notice and start another.
  const fresh = await browser.newPage();
  fresh.on('pageerror', (error) => consoleErrors.push(error.message));
  let workerStarts = 0;
  await fresh.route('**/worker.js', (route) => {
    workerStarts += 1;
    return workerStarts === 1
      ? route.fulfill({ contentType: 'text/javascript', body: 'throw new Error("failed start");' })
      : route.continue();
  });
  await fresh.route('**/app.js', async (route) => {
    await new Promise((resolve) => { setTimeout(resolve, 1000); });
    await route.continue();
  });
  await fresh.goto(pageUrl);
  await fresh.locator('#timing').filter({ hasText: 'Inference' }).waitFor({ timeout: 20_000 });
  assert.equal(workerStarts, 2);
  assert.match(await fresh.locator('#status').textContent(), /restarted/);
  await fresh.close();
});

test('embed mode shows the demo without the page around it', async () => {
  const embedded = await browser.newPage({ viewport: { width: 400, height: 800 } });
  embedded.on('pageerror', (error) => consoleErrors.push(error.message));
  await embedded.goto(`${pageUrl}?embed`);
  await embedded.locator('#timing').filter({ hasText: 'Inference' }).waitFor({ state: 'attached' });
  assert.equal(await embedded.locator('header').isVisible(), false);
  assert.equal(await embedded.locator('#pad').isVisible(), true);
  await embedded.screenshot({ path: `${artifacts}/embed-phone-width.png`, fullPage: true });
  await embedded.close();
});

test('no console errors and no requests outside the origin', () => {
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(foreignRequests, []);
});
