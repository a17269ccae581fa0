// Debian's Chromium driven by playwright-core, as one of the engines of engines.test.mjs.
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../../scripts/chromium.mjs';
import { requireBinary } from './require-binary.mjs';
import { callSource, dragMouse } from './source.mjs';

/** Starts headless Chromium with one page of `width`×`height`; resolves to its engine adapter. */
export async function launch({ width, height }) {
  requireBinary(CHROMIUM_PATH, 'Chromium');
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width, height } });
  const consoleErrors = [];
  const requests = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  // The context's requests include the page's workers'.
  page.context().on('request', (request) => requests.push(request.url()));
  return {
    name: 'chromium',
    version: browser.version(),
    goto: async (url) => { await page.goto(url); },
    evaluate: (fn, ...args) => page.evaluate(callSource(fn, args)),
    click: (selector) => page.click(selector),
    drag: (points) => dragMouse(page.mouse, points),
    press: (selector, key) => page.press(selector, key),
    setFile: (selector, path) => page.setInputFiles(selector, path),
    screenshot: () => page.screenshot({ fullPage: true }),
    consoleErrors: () => [...consoleErrors],
    requests: () => [...requests],
    close: () => browser.close(),
  };
}
