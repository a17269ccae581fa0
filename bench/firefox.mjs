// bench/browser --firefox: Debian's Firefox ESR, driven by puppeteer-core over WebDriver BiDi (it
// downloads no browser), for the bench page's engines and the demo's cold start.
import { existsSync } from 'node:fs';
import { FIRST_RECONSTRUCTION_OBSERVER } from './bare-chromium.mjs';

/** Debian's Firefox ESR (scripts/setup installs it). */
export const FIREFOX_PATH = '/usr/bin/firefox-esr';

/**
 * Starts headless Firefox; resolves to `{ version, openBench(url), coldStart(url, { timeoutMs }),
 * errors, requests, close() }`. `openBench` opens the bench page and resolves to its `call(name,
 * ...args)`, which runs `window.bench[name]`. `coldStart` opens `url` in a fresh browser context
 * at 1280×720 and resolves to what the page reported when it showed its first reconstruction
 * (as bench/bare-chromium.mjs's coldStart does), or rejects after `timeoutMs` (30 s). `errors`
 * and `requests` gather the pages' errors and every URL they asked for.
 */
export async function launchFirefox() {
  if (!existsSync(FIREFOX_PATH)) throw new Error(`${FIREFOX_PATH} is missing: run scripts/setup`);
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX_PATH, headless: true });
  const errors = [];
  const requests = [];
  /** Records `page`'s errors and requests. */
  const watch = (page) => {
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    page.on('request', (request) => requests.push(request.url()));
    return page;
  };
  return {
    version: await browser.version(),
    errors,
    requests,
    async openBench(url) {
      const page = watch(await browser.newPage());
      await page.goto(url);
      await page.waitForFunction(() => window.bench, { timeout: 30_000 });
      return (name, ...args) => page.evaluate((n, a) => window.bench[n](...a), name, args);
    },
    async coldStart(url, { timeoutMs = 30_000 } = {}) {
      const context = await browser.createBrowserContext();
      try {
        const page = watch(await context.newPage());
        await page.setViewport({ width: 1280, height: 720 });
        // The observer reports through this function; the driver polls for its report on a timer,
        // so that the page renders no frame for the driver's sake, and the time is the page's own.
        await page.evaluateOnNewDocument(`window.coldStartShown = (report) => { window.coldStartReport = JSON.parse(report); };
          ${FIRST_RECONSTRUCTION_OBSERVER}`);
        await page.goto(url);
        const report = await page.waitForFunction(() => window.coldStartReport, { timeout: timeoutMs, polling: 50 })
          .catch(() => { throw new Error(`${url}: no reconstruction within ${timeoutMs} ms in Firefox`); });
        return await report.jsonValue();
      } finally {
        await context.close();
      }
    },
    close: () => browser.close(),
  };
}
