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
import { correlation } from './correlation.mjs';

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

/** Draws a "7" on the pad with real mouse input, which the browser turns into pointer events. */
async function drawSeven(on = page) {
  await on.locator('#pad').scrollIntoViewIfNeeded();
  const box = await on.locator('#pad').boundingBox();
  const at = (x, y) => [box.x + x * box.width, box.y + y * box.height];
  const path = [[0.25, 0.2], [0.75, 0.2], [0.6, 0.45], [0.45, 0.85]];
  await on.mouse.move(...at(...path[0]));
  await on.mouse.down();
  for (const point of path.slice(1)) await on.mouse.move(...at(...point), { steps: 12 });
  await on.mouse.up();
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

test('a model file that fails to download is named over the pad, and Retry downloads again', async () => {
  const fresh = await browser.newPage();
  fresh.on('pageerror', (error) => consoleErrors.push(error.message));
  let decoderRequests = 0;
  await fresh.route('**/models/dense.decoder.onnx', (route) => {
    decoderRequests += 1;
    return decoderRequests === 1 ? route.fulfill({ status: 404, body: 'not found' }) : route.continue();
  });
  await fresh.goto(pageUrl);
  const message = 'The models could not be downloaded: models/dense.decoder.onnx: HTTP 404';
  await fresh.locator('#status').filter({ hasText: `Error: ${message}` }).waitFor({ timeout: 20_000 });
  await fresh.locator('#load-view').filter({ hasText: message }).waitFor();
  await fresh.getByRole('button', { name: 'Retry' }).click();
  await fresh.locator('#timing').filter({ hasText: 'Inference' }).waitFor({ timeout: 20_000 });
  assert.equal(decoderRequests, 2);
  assert.equal(await fresh.locator('#load-view').isVisible(), false);
  await fresh.close();
});

test('the download\'s progress shows over the pad, and a drawing made meanwhile is the first one scored', async () => {
  const fresh = await browser.newPage();
  fresh.on('pageerror', (error) => consoleErrors.push(error.message));
  // The wasm held back: the models arrive first, so the progress stands part-way for a while.
  let releaseWasm;
  const wasmHeld = new Promise((resolve) => { releaseWasm = resolve; });
  await fresh.route('**/bottleneck-web_bg.wasm', async (route) => {
    await wasmHeld;
    await route.continue();
  });
  await fresh.goto(pageUrl);
  const note = fresh.locator('#load-view');
  // The models' bytes come in while the wasm's are held back.
  await note.filter({ hasText: /Downloading the models: [1-9]\d*\s%/ }).waitFor({ timeout: 20_000 });
  const share = Number(/(\d+)\s%/.exec(await note.textContent())[1]);
  assert.ok(share > 0 && share < 100, `${share} % while the wasm is held back`);
  assert.deepEqual(await note.boundingBox(), await fresh.locator('#pad').boundingBox(), 'the note covers the pad');
  await drawSeven(fresh);
  releaseWasm();
  await fresh.locator('#timing').filter({ hasText: 'Inference' }).waitFor({ timeout: 20_000 });
  assert.equal(await note.isVisible(), false);
  const ink = await fresh.evaluate(() => {
    const data = document.getElementById('input').getContext('2d').getImageData(0, 0, 28, 28).data;
    return Array.from({ length: 784 }, (_, i) => data[i * 4] / 255).reduce((sum, v) => sum + v, 0);
  });
  assert.ok(ink > 20, `the first input holds the seven drawn during the load (ink ${ink})`);
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

/** The native runtime's outputs for the explorer tests (trainer/tests/explorer_fixture.rs). */
const explorerFixture = JSON.parse(readFileSync(`${repo}tests/e2e/fixtures/explorer.json`, 'utf8'));

/** The exact code the sliders show. */
async function shownCode(on = page) {
  return JSON.parse(await on.locator('#code-sliders').getAttribute('data-code'));
}

/** The code the sliders show once it has stopped changing (the worker answers the latest input last). */
async function codeWhenSettled() {
  let code = await shownCode();
  for (;;) {
    await page.waitForTimeout(150);
    const again = await shownCode();
    if (JSON.stringify(again) === JSON.stringify(code)) return code;
    code = again;
  }
}

/** Asserts |a − b| ≤ `tolerance` value by value. */
function assertClose(a, b, tolerance, what) {
  assert.equal(a.length, b.length, what);
  const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  assert.ok(worst <= tolerance, `${what}: max |Δ| = ${worst}`);
}

/** Waits until the canvas `id` shows `values` to within `tolerance` per grey level. */
async function waitForCanvas(id, values, tolerance) {
  await page.waitForFunction(([canvasId, expected, within]) => {
    const canvas = document.getElementById(canvasId);
    const data = canvas.getContext('2d').getImageData(0, 0, 28, 28).data;
    return expected.every((v, i) => Math.abs(data[i * 4] / 255 - Math.min(1, Math.max(0, v))) <= within);
  }, [id, values, tolerance]);
}

test('the code follows the drawing, and a gallery digit shows the native encoder\'s code', async () => {
  await page.locator('#clear').click();
  await page.locator('#code-sliders[data-code]').waitFor();
  const blank = await codeWhenSettled();
  await drawSeven();
  await page.waitForFunction((before) => document.getElementById('code-sliders').dataset.code !== before,
    JSON.stringify(blank));
  const drawn = await codeWhenSettled();
  assert.equal(drawn.length, 10);
  // A seven is far from the empty pad in the code space, not one rounding step away.
  const moved = Math.hypot(...drawn.map((v, i) => v - blank[i]));
  assert.ok(moved > 0.5, `the code moved by ${moved} from the empty pad's to the seven's`);
  for (let i = 1; i <= 10; i += 1) {
    assert.equal(await page.getByRole('slider', { name: `code ${i}`, exact: true }).count(), 1);
  }
  await pickExample('Digit 0');
  await page.waitForFunction((before) => document.getElementById('code-sliders').dataset.code !== before,
    JSON.stringify(drawn));
  assertClose(await shownCode(), explorerFixture.code, 1e-5, 'the page\'s code against the native encoder');
  // Until the code is steered, the decoded panel shows decoder(code), which is the rebuild.
  assertClose(await canvasPixels('decoded'), await canvasPixels('reconstruction'), 0, 'decoded vs rebuild');
});

test('moving "code 3" by keyboard paints the decoder\'s image of the moved code', async () => {
  const slider = page.getByRole('slider', { name: 'code 3', exact: true });
  await slider.focus();
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((moved) => {
    const code = JSON.parse(document.getElementById('code-sliders').dataset.code);
    return Math.abs(code[2] - moved) < 1e-3;
  }, explorerFixture.moved_code[2]);
  assertClose(await shownCode(), explorerFixture.moved_code, 1e-4, 'the moved code');
  await waitForCanvas('decoded', explorerFixture.moved_decoded, 1.5 / 255);
  await page.locator('.code').screenshot({ path: `${artifacts}/code-steered.png` });
  await page.locator('#code-reset').click();
  assertClose(await shownCode(), explorerFixture.code, 1e-5, 'the code after reset');
});

test('a click on the map decodes that point and the sliders follow', async () => {
  const map = await page.evaluate(() => fetch('models/dense.map.json').then((r) => r.json()));
  const canvas = page.locator('#code-map');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  const codeBefore = await shownCode();
  const [fx, fy] = [0.3, 0.6];
  await page.mouse.click(box.x + fx * box.width, box.y + fy * box.height);
  const a = map.extent.a[0] + fx * (map.extent.a[1] - map.extent.a[0]);
  const b = map.extent.b[0] + (1 - fy) * (map.extent.b[1] - map.extent.b[0]);
  const expected = map.mean.map((m, i) => m + a * map.axes[0][i] + b * map.axes[1][i]);
  // The click lands on a whole pixel of the canvas: allow a pixel's worth of plane.
  const pixel = Math.max(map.extent.a[1] - map.extent.a[0], map.extent.b[1] - map.extent.b[0]) / box.width;
  const norm = Math.hypot(...map.axes[0]) + Math.hypot(...map.axes[1]);
  await page.waitForFunction((before) => document.getElementById('code-sliders').dataset.code !== before,
    JSON.stringify(codeBefore));
  assertClose(await shownCode(), expected, 2 * pixel * norm, 'the code of the clicked point');
  const before = await canvasPixels('decoded');
  await canvas.focus();
  await page.keyboard.press('ArrowUp');
  await page.waitForFunction((old) => {
    const canvasEl = document.getElementById('decoded');
    const data = canvasEl.getContext('2d').getImageData(0, 0, 28, 28).data;
    return old.some((v, i) => Math.abs(data[i * 4] / 255 - v) > 0.01);
  }, before);
  assert.match(await page.locator('#map-caption').textContent(), /\d+ % and \d+ % of the codes' variance/);
  await page.locator('.map').screenshot({ path: `${artifacts}/code-map.png` });
});

test('a morph between two digits starts and ends at their rebuilds', async () => {
  await pickExample('Digit 0');
  const start = await canvasPixels('reconstruction');
  await page.locator('#morph-from').click();
  await pickExample('Digit 7');
  const end = await canvasPixels('reconstruction');
  await page.locator('#morph-to').click();
  await page.locator('#morph-code-strip canvas').nth(7).waitFor();
  const frame = (index) => page.evaluate((i) => {
    const canvas = document.querySelectorAll('#morph-code-strip canvas')[i];
    const data = canvas.getContext('2d').getImageData(0, 0, 28, 28).data;
    return Array.from({ length: 784 }, (_, p) => data[p * 4] / 255);
  }, index);
  assertClose(await frame(0), start, 1.5 / 255, 'the first frame against decoder(z0)');
  assertClose(await frame(7), end, 1.5 / 255, 'the last frame against decoder(z1)');
  await page.locator('#morph-t').fill('0.5');
  await page.locator('.morph').screenshot({ path: `${artifacts}/morph.png` });
});

test('a picture file is scored, and an empty or broken one gets a message', async () => {
  // A dark 7 on white, as a photo of a written digit would be.
  const png = await page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 120;
    canvas.height = 90;
    const context = canvas.getContext('2d');
    context.fillStyle = '#fff';
    context.fillRect(0, 0, 120, 90);
    context.strokeStyle = '#111';
    context.lineWidth = 9;
    context.beginPath();
    context.moveTo(40, 15);
    context.lineTo(80, 15);
    context.lineTo(55, 80);
    context.stroke();
    return canvas.toDataURL('image/png').split(',')[1];
  });
  await page.locator('#picture').setInputFiles({ name: 'seven.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
  await page.locator('#picture-status').filter({ hasText: /^seven\.png: preprocessed as drawings are, dark on light, inverted/ }).waitFor();
  assert.match(await scoreText(), /^Error \d+\.\d+, above/);
  const input = await canvasPixels('input');
  assert.ok(input.filter((v) => v > 0.5).length > 20, 'the inverted picture has ink');
  assert.ok(input[0] < 0.1, 'the white background became black');
  await page.locator('#picture').setInputFiles({ name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) });
  await page.locator('#picture-status').filter({ hasText: /^Error: empty\.png is empty/ }).waitFor();
  await page.locator('#picture').setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
  await page.locator('#picture-status').filter({ hasText: /^Error: broken\.png could not be decoded/ }).waitFor();
  await page.locator('#picture').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await page.locator('#picture-status').filter({ hasText: /is not a PNG, JPEG or WebP/ }).waitFor();
  await pickExample('Digit 3');
});

/** Opens the page at `width`×`height` (with `query`) and waits for its first result. */
async function pageAt(width, height, query = '') {
  const opened = await browser.newPage({ viewport: { width, height } });
  opened.on('pageerror', (error) => consoleErrors.push(error.message));
  opened.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  await opened.goto(`${pageUrl}${query}`);
  await opened.locator('#timing').filter({ hasText: 'Inference' }).waitFor({ state: 'attached', timeout: 20_000 });
  await opened.locator('#code-sliders[data-code]').waitFor();
  return opened;
}

/** Asserts that each of `selectors` lies wholly inside the viewport of `on`, unscrolled. */
async function assertInView(on, selectors, what) {
  const { width, height } = on.viewportSize();
  for (const selector of selectors) {
    const box = await on.locator(selector).first().boundingBox();
    assert.ok(box, `${what}: ${selector} is shown`);
    assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= width + 0.5 && box.y + box.height <= height + 0.5,
      `${what}: ${selector} at ${JSON.stringify(box)} is outside ${width}×${height}`);
  }
}

test('the layout keeps the pad, the rebuilds, the score and the code in view', async () => {
  const laptop = await pageAt(1280, 800);
  await assertInView(laptop, ['#pad', '#input', '#reconstruction', '#denoised', '#score', '#code-sliders', '#decoded'], '1280×800');
  await laptop.screenshot({ path: `${artifacts}/layout-1280x800.png` });
  await laptop.close();
  const phone = await pageAt(390, 844);
  await assertInView(phone, ['#pad', '#input', '#reconstruction', '#denoised'], '390×844');
  await phone.screenshot({ path: `${artifacts}/layout-390x844.png` });
  await phone.close();
  // The README's iframe: 640×720, with no scrolling inside it.
  const embed = await pageAt(640, 720, '?embed');
  await assertInView(embed, ['#pad', '#reconstruction', '#denoised', '#score', '#code-sliders', '#decoded'], 'embed 640×720');
  const scrollHeight = await embed.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(scrollHeight <= 720, `the embed needs no scrolling: ${scrollHeight} px tall`);
  await embed.screenshot({ path: `${artifacts}/embed-640x720.png` });
  await embed.close();
});

test('no console errors and no requests outside the origin', () => {
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(foreignRequests, []);
});
