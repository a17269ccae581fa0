// The page's core scenarios, written once and run in three browser engines: Debian's Chromium
// (playwright-core), Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK's MiniBrowser
// (plain WebDriver). Each engine is a thin adapter in engines/; page.test.mjs has the fuller
// Chromium-only suite. A screenshot of each engine's drawn digit goes to tests/artifacts/.
//
// The page is dist/ as built, served from a sub-path on 127.0.0.1, with one script added first
// in its <head>, e2e-probe.js (PROBE below): a listener installed before any page script, which
// notes the console errors and uncaught errors of the page (not of its worker) and the time
// #timing first says "Inference". It is the one console record that works in every engine;
// where the driver reads the console itself (Chromium, Firefox), its errors are checked too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStaticServer } from '../../scripts/static-server.mjs';
import * as chromium from './engines/chromium.mjs';
import * as firefox from './engines/firefox.mjs';
import * as webkit from './engines/webkit.mjs';
import { correlation } from './correlation.mjs';

// Each engine module's launch({ width, height }) resolves to an adapter: { name, version,
// goto(url), evaluate(fn, ...args) (fn runs in the page; its value comes back through JSON),
// click(selector) (a real click), drag(points) (the mouse pressed at the first viewport point,
// moved through the others, released), press(selector, key), setFile(selector, path),
// screenshot() (a PNG), requests() (the URLs it saw requested, by the page and its workers),
// consoleErrors() where the driver reads the console, close() }.
const ENGINES = { chromium, firefox, webkit };
const VIEWPORT = { width: 1000, height: 900 };
const dist = fileURLToPath(new URL('../../dist', import.meta.url));
const artifacts = fileURLToPath(new URL('../artifacts', import.meta.url));

const PROBE = `// Added by tests/e2e/engines.test.mjs: what the page logs as errors, and its first result.
(() => {
  const probe = { errors: [], firstResultMs: null };
  window.e2eProbe = probe;
  const consoleError = console.error;
  console.error = (...args) => {
    probe.errors.push(args.map(String).join(' '));
    consoleError.apply(console, args);
  };
  // Captured, so that resources that fail to load are reported too.
  addEventListener('error', (event) => {
    probe.errors.push(event.message ? 'uncaught: ' + event.message : 'failed to load: ' + (event.target.src ?? event.target.href));
  }, true);
  addEventListener('securitypolicyviolation', (event) => {
    probe.errors.push('refused by the CSP: ' + event.blockedURI + ' (' + event.effectiveDirective + ')');
  });
  addEventListener('unhandledrejection', (event) => probe.errors.push('unhandled rejection: ' + event.reason));
  const observer = new MutationObserver(() => {
    if (document.getElementById('timing')?.textContent.includes('Inference')) {
      probe.firstResultMs = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { subtree: true, childList: true, characterData: true });
})();
`;

let root;
let server;
let pageUrl;

before(async () => {
  assert.ok(existsSync(`${dist}/index.html`), 'dist/ is missing: run `trunk build --release` first');
  mkdirSync(artifacts, { recursive: true });
  root = mkdtempSync(join(tmpdir(), 'bottleneck-engines-'));
  // Not Trunk's staging folder, there only while a build runs.
  cpSync(dist, root, { recursive: true, filter: (source) => basename(source) !== '.stage' });
  const index = readFileSync(`${root}/index.html`, 'utf8');
  assert.match(index, /<head>/);
  writeFileSync(`${root}/index.html`, index.replace('<head>', '<head>\n  <script src="e2e-probe.js"></script>'));
  writeFileSync(`${root}/e2e-probe.js`, PROBE);
  ({ server, url: pageUrl } = await startStaticServer({ root, prefix: '/some/sub/path/', compress: true }));
});

after(() => {
  server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Resolves once `fn(...args)`, run in the page, is truthy; fails naming `what` after `timeoutMs`. */
async function waitFor(browser, what, fn, args = [], timeoutMs = 20_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await browser.evaluate(fn, ...args);
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`${browser.name}: timed out waiting for ${what}`);
    await new Promise((done) => { setTimeout(done, 50); });
  }
}

/** The grey levels (0 to 1) of the canvas `id`, read in the page. */
function canvasPixels(id) {
  const canvas = /** @type {HTMLCanvasElement} */ (document.getElementById(id));
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  return Array.from({ length: canvas.width * canvas.height }, (_, i) => data[i * 4] / 255);
}

/** Whether the canvas `id` differs from `previous` by more than 0.01 somewhere, in the page. */
function canvasChanged(id, previous) {
  const canvas = document.getElementById(id);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  return previous.some((v, i) => Math.abs(data[i * 4] / 255 - v) > 0.01);
}

/** The text of the element `selector`, read in the page. */
function text(selector) {
  return document.querySelector(selector)?.textContent ?? '';
}

/** Draws a "7" on the pad with the engine's mouse, which the browser turns into pointer events. */
async function drawSeven(browser) {
  const [x, y, width, height] = await browser.evaluate(() => {
    const pad = document.getElementById('pad');
    pad.scrollIntoView({ block: 'center' });
    const box = pad.getBoundingClientRect();
    return [box.x, box.y, box.width, box.height];
  });
  const corners = [[0.25, 0.2], [0.75, 0.2], [0.6, 0.45], [0.45, 0.85]];
  const points = [corners[0]];
  corners.slice(1).forEach(([toX, toY], i) => {
    const [fromX, fromY] = corners[i];
    for (let step = 1; step <= 12; step += 1) {
      points.push([fromX + (toX - fromX) * (step / 12), fromY + (toY - fromY) * (step / 12)]);
    }
  });
  await browser.drag(points.map(([fx, fy]) => [x + fx * width, y + fy * height]));
}

/** Clicks the first gallery example named `name`; resolves to its error once its result is shown. */
async function pickExample(browser, name) {
  const selector = `#gallery-items button[aria-label^="${name} ("]`;
  await browser.click(selector);
  // The result is in when the 28×28 input panel shows the example's own pixels.
  await waitFor(browser, `the example ${name} in the input panel`, (s) => {
    const expected = document.querySelector(s).querySelector('canvas').getContext('2d').getImageData(0, 0, 28, 28).data;
    const shown = document.getElementById('input').getContext('2d').getImageData(0, 0, 28, 28).data;
    return expected.every((v, i) => v === shown[i]);
  }, [selector]);
  const score = await browser.evaluate(text, '#score');
  const error = score.match(/^Error (\d+\.\d+)/);
  assert.ok(error, `${name}: the score says its error: ${score}`);
  return Number(error[1]);
}

/**
 * The scenarios, in order, each `run(state, t)` with `state` holding the engine's `browser`, the
 * probe's `errors` and the pages' `resources` (URLs from their resource timing) gathered so far,
 * and `firstResultMs`.
 */
const SCENARIOS = [
  ['loads to its first reconstruction', async (state, t) => {
    const { browser } = state;
    await browser.goto(pageUrl);
    state.firstResultMs = await waitFor(browser, 'the first reconstruction', () => window.e2eProbe.firstResultMs);
    t.diagnostic(`${browser.name}: first reconstruction ${state.firstResultMs.toFixed(0)} ms after navigation`);
    assert.match(await browser.evaluate(text, '#timing'), /^Inference: dense [^,]*\d+(\.\d+)? ms/);
    const score = await browser.evaluate(text, '#score');
    assert.match(score, /^Error \d+\.\d+ for a blank image/);
    assert.doesNotMatch(score, /NaN/);
  }],
  ['a digit drawn with pointer events is rebuilt and scored', async ({ browser }) => {
    await drawSeven(browser);
    await waitFor(browser, 'the drawing\'s score', (s) => /^Error \d+\.\d+, above/.test(document.querySelector(s).textContent), ['#score']);
    // Updates are throttled to one in flight: let the last one land before reading pixels.
    await new Promise((done) => { setTimeout(done, 300); });
    const input = await browser.evaluate(canvasPixels, 'input');
    const reconstruction = await browser.evaluate(canvasPixels, 'reconstruction');
    assert.ok(input.filter((v) => v > 0.5).length > 20, 'the 28×28 input shows the drawing');
    const r = correlation(input, reconstruction);
    assert.ok(r > 0.5, `the rebuild correlates with the input: r = ${r.toFixed(3)}`);
    assert.match(await browser.evaluate(text, '#score'), /^Error \d+\.\d+, above \d+(\.\d)? % of validation digits/);
    writeFileSync(`${artifacts}/engines-${browser.name}-drawn-seven.png`, await browser.screenshot());
  }],
  ['a click on the pad draws a dot, which is scored', async ({ browser }) => {
    await browser.click('#clear');
    await waitFor(browser, 'the cleared pad\'s score', (s) => /blank image/.test(document.querySelector(s).textContent), ['#score']);
    const [x, y, width, height] = await browser.evaluate(() => {
      const box = document.getElementById('pad').getBoundingClientRect();
      return [box.x, box.y, box.width, box.height];
    });
    await browser.drag([[x + width / 2, y + height / 2]]);
    await waitFor(browser, 'the dot\'s score', (s) => /^Error \d+\.\d+, above/.test(document.querySelector(s).textContent), ['#score']);
    const input = await browser.evaluate(canvasPixels, 'input');
    assert.ok(input.some((v) => v > 0.5), 'the 28×28 input shows the dot');
  }],
  ['a noise change redraws the noisy copy', async ({ browser }) => {
    const before = await browser.evaluate(canvasPixels, 'noisy');
    await browser.press('#noise-strength', 'End');
    assert.equal(await browser.evaluate(() => document.getElementById('noise-strength').value), '100');
    await waitFor(browser, 'a new noisy copy', canvasChanged, ['noisy', before]);
  }],
  ['gallery clicks show the examples, and the score tells digits from the rest', async ({ browser }) => {
    const digit = await pickExample(browser, 'Digit 3');
    assert.match(await browser.evaluate(text, '#score'), /of validation digits: looks like a digit/);
    const sneaker = await pickExample(browser, 'Fashion: Sneaker');
    assert.match(await browser.evaluate(text, '#score'), /unusual/);
    assert.ok(sneaker > digit, `the sneaker (${sneaker}) scores above the digit (${digit})`);
  }],
  ['a broken model upload is refused and the page keeps working', async ({ browser }) => {
    const folder = mkdtempSync(join(tmpdir(), 'bottleneck-upload-'));
    try {
      writeFileSync(`${folder}/broken.onnx`, 'not a model');
      await browser.setFile('#upload', `${folder}/broken.onnx`);
      await waitFor(browser, 'the upload\'s error', (s) => /^Error: .*ONNX/.test(document.querySelector(s).textContent), ['#upload-status']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    await pickExample(browser, 'Digit 7');
  }],
  ['embed mode shows the demo without the page around it', async (state) => {
    const { browser } = state;
    await gather(state);
    await browser.goto(`${pageUrl}?embed`);
    await waitFor(browser, 'the embedded page\'s first reconstruction', () => window.e2eProbe.firstResultMs);
    const shown = await browser.evaluate(() => Object.fromEntries(['header', '#pad', '.upload', '#reconstruction', '#score', 'footer']
      .map((s) => [s, document.querySelector(s).getBoundingClientRect().width > 0])));
    assert.deepEqual(shown, { header: false, '#pad': true, '.upload': false, '#reconstruction': true, '#score': true, footer: false });
  }],
  ['no console errors, and the record of them works', async (state) => {
    const { browser } = state;
    await gather(state);
    assert.deepEqual(state.errors, [], 'the page\'s probe saw no errors');
    // WebKit's adapter reads no console (engines/webkit.mjs): its record is the probe alone.
    const driverErrors = browser.consoleErrors ?? (() => []);
    assert.deepEqual(driverErrors(), [], `${browser.name} reported no console errors`);
    // A control: an error logged now must reach the same records.
    await browser.evaluate(() => console.error('e2e control'));
    await gather(state);
    assert.deepEqual(state.errors, ['e2e control']);
    if (browser.consoleErrors) {
      const deadline = performance.now() + 5000;
      while (browser.consoleErrors().length === 0 && performance.now() < deadline) {
        await new Promise((done) => { setTimeout(done, 50); });
      }
      assert.deepEqual(browser.consoleErrors(), ['e2e control']);
    }
  }],
  // The record: the driver's (in Chromium and Firefox every request of the page and its workers,
  // in WebKit every http:// one, through a proxy) and the pages' resource timing (the page's own
  // loads that got an answer, any scheme).
  ['no request outside the origin, and the record of them works', async (state) => {
    const { browser } = state;
    await gather(state);
    const origin = new URL(pageUrl).origin;
    const foreign = () => [...new Set([...browser.requests(), ...state.resources])]
      .filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
    assert.ok(browser.requests().some((url) => url.endsWith('.wasm')), 'the record holds the worker\'s wasm download');
    assert.deepEqual(foreign(), []);
    // A control: a request to another origin must reach the record. A navigation away, which no
    // CSP of the page refuses, as it could refuse a fetch or an image.
    const control = 'http://foreign.invalid/e2e-control';
    await browser.evaluate((url) => { setTimeout(() => { location.href = url; }, 0); }, control);
    const deadline = performance.now() + 5000;
    while (!browser.requests().includes(control) && performance.now() < deadline) {
      await new Promise((done) => { setTimeout(done, 50); });
    }
    // The page at the control's address may request more of its own (a favicon).
    assert.ok(foreign().includes(control), `the record holds the control: ${foreign()}`);
  }],
];

/** Adds the current page's probe errors and resource URLs to `state`, and empties the probe's. */
async function gather(state) {
  const { errors, resources } = await state.browser.evaluate(() => {
    const found = { errors: window.e2eProbe.errors.splice(0), resources: performance.getEntriesByType('resource').map((e) => e.name) };
    performance.clearResourceTimings();
    return found;
  });
  state.errors.push(...errors);
  state.resources.push(...resources);
}

for (const [name, engine] of Object.entries(ENGINES)) {
  describe(name, () => {
    const state = { browser: null, errors: [], resources: [], firstResultMs: null };
    let startedMs;
    before(async () => {
      startedMs = performance.now();
      state.browser = await engine.launch(VIEWPORT);
    });
    after(async () => {
      await state.browser?.close();
      const seconds = ((performance.now() - startedMs) / 1000).toFixed(1);
      console.log(`${name} (${state.browser?.version}): ${SCENARIOS.length} scenarios in ${seconds} s, `
        + `first reconstruction ${state.firstResultMs?.toFixed(0)} ms after navigation`);
    });
    for (const [title, run] of SCENARIOS) test(title, (t) => run(state, t));
  });
}
