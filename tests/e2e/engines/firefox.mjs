// Debian's Firefox ESR driven by puppeteer-core over WebDriver BiDi, as one of the engines of
// engines.test.mjs. puppeteer-core only starts the browser at executablePath: it downloads none.
import puppeteer from 'puppeteer-core';
import { requireBinary } from './require-binary.mjs';
import { callSource, dragMouse } from './source.mjs';

const FIREFOX_PATH = '/usr/bin/firefox-esr';

/** Starts headless Firefox with one page of `width`×`height`; resolves to its engine adapter. */
export async function launch({ width, height }) {
  requireBinary(FIREFOX_PATH, 'Firefox ESR');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
  });
  const [page] = await browser.pages();
  await page.setViewport({ width, height });
  const consoleErrors = [];
  const requests = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  page.on('request', (request) => requests.push(request.url()));
  return {
    name: 'firefox',
    version: await browser.version(),
    goto: async (url) => { await page.goto(url); },
    evaluate: (fn, ...args) => page.evaluate(callSource(fn, args)),
    click: (selector) => page.click(selector),
    drag: (points) => dragMouse(page.mouse, points),
    press: async (selector, key) => {
      await page.focus(selector);
      await page.keyboard.press(key);
    },
    setFile: async (selector, path) => {
      const input = await page.$(selector);
      await input.uploadFile(path);
    },
    screenshot: () => page.screenshot({ fullPage: true }),
    consoleErrors: () => [...consoleErrors],
    requests: () => [...requests],
    close: () => browser.close(),
  };
}
