/**
 * A real headless Chromium for tests of the dashboard pages, driven with
 * puppeteer-core (which never downloads a browser): the Debian `chromium`
 * package's binary, or the one CHROMIUM_PATH names. Where there is none the
 * caller skips after `sayBrowserMissing()` (one line, printed once).
 *
 *   const chromium = findChromium();
 *   if (chromium === null) { sayBrowserMissing(); this.skip(); }
 *   const browser = await launchChromium(chromium);
 */
import { accessSync, constants } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium binary to drive, or null when none is installed. */
export function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM_PATH;
  for (const path of fromEnv === undefined || fromEnv === '' ? CANDIDATES : [fromEnv]) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next candidate
    }
  }
  return null;
}

/** The one line a skipped browser test prints. */
export function browserMissingLine(): string {
  const looked = process.env.CHROMIUM_PATH || CANDIDATES.join(', ');
  return `skipping the browser tests: no Chromium at ${looked} (apt-get install chromium, or set CHROMIUM_PATH)`;
}

let told = false;
/** Prints browserMissingLine() once per run. */
export function sayBrowserMissing(): void {
  if (told) return;
  told = true;
  console.log(`      ${browserMissingLine()}`);
}

/** Headless Chromium as root on a machine without a GPU or a display. */
export function launchChromium(executablePath: string, windowSize = { width: 1400, height: 1100 }): Promise<Browser> {
  return puppeteer.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--window-size=${windowSize.width},${windowSize.height}`],
    defaultViewport: windowSize,
  });
}

/**
 * Registers mocha before/after hooks in the calling describe: launch headless
 * Chromium before its tests (or print the missing-browser line once and skip
 * them), close it after. Returns the running browser; call only inside a test.
 */
export function useHeadlessChromium(): () => Browser {
  let browser: Browser | null = null;
  before(async function () {
    const chromium = findChromium();
    if (chromium === null) {
      sayBrowserMissing();
      this.skip();
    }
    browser = await launchChromium(chromium);
  });
  after(async () => {
    await browser?.close();
  });
  return () => {
    if (browser === null) throw new Error('useHeadlessChromium: the browser is not running (call it inside a test)');
    return browser;
  };
}

/** In the page: how many non-null points each chart in window.gossipLearnCharts holds (its fullest series). */
export const CHART_POINTS_IN_PAGE = `(() => {
  const charts = window.gossipLearnCharts || {};
  const out = {};
  for (const id of Object.keys(charts)) {
    const data = charts[id].data;
    let most = 0;
    for (let s = 1; s < data.length; s++) most = Math.max(most, data[s].filter((v) => v !== null && v !== undefined).length);
    out[id] = most;
  }
  return out;
})()`;
