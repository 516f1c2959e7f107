import assert from 'node:assert/strict';
import { HttpServer, jsonResponse } from '../../../src/node/http.ts';
import { addDashboardRoutes } from '../../../src/node/dashboard/routes.ts';
import { SIGN_IN_PAGE } from '../../../src/node/dashboard/sign-in.ts';
import { MetricsHistory } from '../../../src/node/key-metrics/metrics-history.ts';
import { CpuAccounting } from '../../../src/node/key-metrics/cpu-accounting.ts';

const TOKEN = 'a-long-enough-metrics-token-1234';

describe('dashboard routes behind --metrics-token', () => {
  let http: HttpServer;
  let base = '';
  const cpu = new CpuAccounting();
  before(async () => {
    http = new HttpServer({ host: '127.0.0.1', port: 0, token: TOKEN, signInPage: SIGN_IN_PAGE, measure: (run) => cpu.measure('serving', run) });
    http.addRoute('GET', '/metrics', () => jsonResponse({ ok: true }));
    addDashboardRoutes(http, { history: new MetricsHistory({ intervalMs: 1000 }) });
    base = (await http.start()).baseUrl;
  });
  after(() => http.stop());

  it('answers 401 without the token: the sign-in page (no figures) to a browser, one text line to others', async () => {
    const browser = await fetch(`${base}/`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(browser.status, 401);
    assert.match(browser.headers.get('content-type')!, /^text\/html/);
    assert.equal(await browser.text(), SIGN_IN_PAGE);
    const script = await fetch(`${base}/metrics/history`);
    assert.equal(script.status, 401);
    assert.equal(await script.text(), 'unauthorized: send Authorization: Bearer <--metrics-token>\n');
    // A browser asking for data gets the sign-in page too, never the data.
    const history = await fetch(`${base}/metrics/history`, { headers: { accept: 'text/html' } });
    assert.equal(history.status, 401);
    assert.ok(!(await history.text()).includes('series'));
  });

  it('serves the page and the history with the Bearer token, and charges the work to serving', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const page = await fetch(`${base}/`, { headers: auth });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /gossip-learn daemon/);
    const history = await fetch(`${base}/metrics/history`, { headers: auth });
    assert.equal(history.status, 200);
    assert.equal(((await history.json()) as { points: number }).points, 0);
    // The thread clock may not have ticked over two small answers: serve more until it has, with a deadline.
    const deadline = performance.now() + 10_000;
    while (cpu.seconds('serving') === 0 && performance.now() < deadline) {
      await (await fetch(`${base}/`, { headers: auth })).text();
    }
    assert.ok(cpu.seconds('serving') > 0, 'serving was never charged any CPU time');
  });
});
