// The page's run times in Debian's Chromium with a clock made as coarse as Firefox's and WebKit's
// without cross-origin isolation: performance.now() floored to whole milliseconds, in the page and
// in its worker (whose script is served with the same clock put in front of it). The page must
// print no decimals such a clock cannot justify; tests/e2e/clock.test.mjs checks the figures.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../scripts/chromium.mjs';
import { startStaticServer } from '../../scripts/static-server.mjs';

const dist = fileURLToPath(new URL('../../dist', import.meta.url));

/** Floors performance.now() to whole milliseconds in the global it runs in. */
const WHOLE_MS_CLOCK = `{
  const now = performance.now.bind(performance);
  performance.now = () => Math.floor(now());
}`;

let demo;
let browser;

before(async () => {
  assert.ok(existsSync(`${dist}/index.html`), 'dist/ is missing: run `trunk build --release` first');
  demo = await startStaticServer({ root: dist, compress: true });
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  demo?.server.close();
});

/** One figure of the timing line, such as "0.21 ms", "3 ms" or "under 1 ms", with what follows it. */
const FIGURE = String.raw`(?:under )?\d+(?:\.\d+)? ms \((?:first run|one run after the first|mean of \d+ runs after the first)\)`;

test('on a whole-millisecond clock the page prints whole milliseconds or "under"', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.addInitScript(WHOLE_MS_CLOCK);
  await page.route('**/worker.js', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: `${WHOLE_MS_CLOCK}\n${await response.text()}` });
  });
  await page.goto(demo.url);
  const timing = page.locator('#timing');
  await timing.filter({ hasText: 'Inference' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.workers()[0].evaluate(() => performance.now() % 1), 0, 'the worker\'s clock is coarse');
  const texts = [await timing.textContent()];
  await page.locator('#status').filter({ hasText: 'Denoiser loaded' }).waitFor({ timeout: 20_000 });
  // Each new noise is one more run of both models.
  for (let run = 0; run < 30; run += 1) {
    const before = await timing.textContent();
    await page.locator('#reroll').click();
    await page.waitForFunction((old) => document.getElementById('timing').textContent !== old, before);
    texts.push(await timing.textContent());
  }
  assert.match(texts[0], new RegExp(`^Inference: dense ${FIGURE}(, conv ${FIGURE})?\\.$`));
  assert.match(texts.at(-1), new RegExp(`^Inference: dense ${FIGURE}, conv ${FIGURE}\\.$`));
  assert.match(texts.at(-1), /dense [^,]* \(mean of (30|31) runs after the first\)/);
  // Fewer than 100 runs of a whole-millisecond clock justify no decimals at all.
  for (const text of texts) assert.doesNotMatch(text, /\d\.\d/, text);
  assert.deepEqual(errors, []);
  await page.close();
});
