import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { DAEMON_CHARTS } from '../../../src/node/dashboard/daemon-page.ts';
import { daemonSuite } from '../../helpers/daemons.ts';
import { startDaemonPair } from '../../helpers/daemon-pair.ts';
import { CHART_POINTS_IN_PAGE, useHeadlessChromium } from '../../helpers/browser.ts';

const TOKEN = 'browser-test-token-0123456789abcdef';

/** Console errors and uncaught exceptions of a page. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url ?? ''})`);
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${(err as Error).message}`));
  return errors;
}

/** Waits (deadline, no fixed sleep) until every daemon chart holds at least two points; returns the counts. */
async function chartsFilled(page: Page, timeoutMs: number): Promise<Record<string, number>> {
  const ids = DAEMON_CHARTS.map((c) => c.id);
  await page.waitForFunction(
    `(() => { const p = ${CHART_POINTS_IN_PAGE}; return ${JSON.stringify(ids)}.every((id) => (p[id] || 0) >= 2); })()`,
    { timeout: timeoutMs, polling: 250 },
  );
  return (await page.evaluate(CHART_POINTS_IN_PAGE)) as Record<string, number>;
}

describe('the dashboard in a real headless Chromium', function () {
  this.timeout(180_000);
  const suite = daemonSuite('gl-browser-');
  const browser = useHeadlessChromium();

  it('loads with no console error, and every chart holds at least two points while two daemons gossip', async () => {
    // History every 2 s (the evaluation interval): 20 s of running gives about ten points.
    const [a] = await startDaemonPair(suite, 'browser', { evalIntervalMs: 2000, exchangeIntervalMs: 300 });
    const page = await browser().newPage();
    const errors = watchErrors(page);
    const response = await page.goto(`${a.baseUrl}/`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    const points = await chartsFilled(page, 60_000);
    for (const chart of DAEMON_CHARTS) assert.ok(points[chart.id]! >= 2, `${chart.id}: ${points[chart.id]} points`);
    // The peer table lists the other daemon.
    await page.waitForFunction('document.querySelectorAll("#peers tr").length >= 1', { timeout: 10_000 });
    // Figures as people read them: latencies to three significant digits, the parameter count with separators.
    await page.waitForFunction('document.getElementById("f-rtt").textContent !== "-"', { timeout: 30_000 });
    const text = (id: string): Promise<string> => page.$eval(`#${id}`, (el) => el.textContent ?? '');
    const sig3 = String.raw`(\d{3,}|\d{2}\.\d|\d\.\d{2})`;
    assert.match(await text('f-rtt'), new RegExp(`^${sig3} / ${sig3} / ${sig3} ms$`));
    assert.match(await text('identity'), /\(\d{1,3}(,\d{3})* params\)/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('with --metrics-token: signs in from the #token fragment, drops it from the address, and fills the charts', async () => {
    const [a] = await startDaemonPair(suite, 'browser-token', { evalIntervalMs: 1000, exchangeIntervalMs: 300, metricsToken: TOKEN });
    const page = await browser().newPage();
    const errors = watchErrors(page);
    const first = await page.goto(`${a.baseUrl}/#token=${TOKEN}`, { waitUntil: 'load' });
    // The navigation itself carries no token: 401 and the sign-in page, which then loads the dashboard with the Bearer header.
    assert.equal(first?.status(), 401);
    await chartsFilled(page, 60_000);
    assert.equal(page.url(), `${a.baseUrl}/`);
    // Only the expected 401 of the first navigation may show up as an error.
    assert.deepEqual(errors.filter((e) => !/status of 401/.test(e)), []);
    await page.close();
  });
});
