/**
 * The swarm page: served live by the launcher (with the fake daemon of
 * fixtures/fake-daemon.ts), and the same charts in report.html; both opened
 * in a real headless Chromium when one is installed.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Page } from 'puppeteer-core';
import { ClusterLauncher } from '../../src/cluster/launcher.ts';
import { parseClusterArgs } from '../../src/cluster/options.ts';
import type { NodeRow, ProgressView } from '../../src/cluster/progress.ts';
import { REPORT_FILES, writeReport } from '../../src/cluster/report.ts';
import { SwarmDashboard } from '../../src/cluster/swarm-dashboard.ts';
import { SWARM_CHARTS, swarmData, type SwarmData } from '../../src/cluster/swarm-page.ts';
import { CHART_POINTS_IN_PAGE, useHeadlessChromium } from '../helpers/browser.ts';
import { killRecordedDaemons } from './launcher-pids.ts';
import { syntheticResults } from './synthetic.ts';

const fakeDaemon = fileURLToPath(new URL('./fixtures/fake-daemon.ts', import.meta.url));

/** Progress that, once every node was polled twice, reads the live swarm page and ends the run. */
class ReadSwarmPage implements ProgressView {
  readonly abort = new AbortController();
  reading: Promise<{ page: string; data: SwarmData }> | null = null;
  url: () => string | null = () => null;
  private readonly polls = new Map<string, Set<unknown>>();
  update(_elapsed: number, rows: NodeRow[]): void {
    for (const row of rows) if (row.sample !== null) (this.polls.get(row.name) ?? this.polls.set(row.name, new Set()).get(row.name)!).add(row.sample);
    const url = this.url();
    if (this.reading === null && url !== null && rows.every((r) => (this.polls.get(r.name)?.size ?? 0) >= 2)) {
      this.reading = (async () => {
        const page = await (await fetch(url)).text();
        const data = (await (await fetch(`${url}swarm.json`)).json()) as SwarmData;
        this.abort.abort();
        return { page, data };
      })();
    }
  }
  event(): void {}
  close(): void {}
}

async function chartPoints(page: Page): Promise<Record<string, number>> {
  const ids = SWARM_CHARTS.map((c) => c.id);
  await page.waitForFunction(`(() => { const p = ${CHART_POINTS_IN_PAGE}; return ${JSON.stringify(ids)}.every((id) => (p[id] || 0) >= 2); })()`, { timeout: 30_000, polling: 200 });
  return (await page.evaluate(CHART_POINTS_IN_PAGE)) as Record<string, number>;
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (err) => errors.push((err as Error).message));
  return errors;
}

describe('the swarm page', function () {
  this.timeout(120_000);
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-swarm-page-'));
  });
  afterEach(async () => {
    await killRecordedDaemons(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('is served live by the launcher at the URL it prints, with every node\'s samples', async () => {
    const config = parseClusterArgs(['--out', dir, '--poll-interval', '100ms', '--stop-timeout', '5', '--start-timeout', '20', '--nodes', '2', '--late-join', '0', '--duration', '40']);
    assert.ok(config);
    const progress = new ReadSwarmPage();
    const launcher = new ClusterLauncher(config, { cliPath: fakeDaemon, progress });
    progress.url = () => launcher.dashboardUrl;
    await launcher.run(progress.abort.signal);
    assert.ok(progress.reading !== null, 'the page was read while the nodes ran');
    const { page, data } = await progress.reading;
    assert.match(page, /every node on one chart, live/);
    assert.deepEqual(data.nodes.map((n) => n.name), ['node-0', 'node-1']);
    for (const node of data.nodes) assert.ok(node.series.length >= 2 && node.series.every((s) => typeof s.t === 'number'));
    // The run is over: the page is gone with the launcher.
    await assert.rejects(fetch(launcher.dashboardUrl!));
  });

  describe('in a real headless Chromium', () => {
    const browser = useHeadlessChromium();

    it('draws every node on each live chart with no console error', async () => {
      const results = syntheticResults();
      const dashboard = new SwarmDashboard({ port: 0, title: 'test swarm', data: () => swarmData(results) });
      const url = await dashboard.start();
      try {
        const page = await browser().newPage();
        const errors = watchErrors(page);
        await page.goto(url, { waitUntil: 'load' });
        const points = await chartPoints(page);
        for (const chart of SWARM_CHARTS) assert.ok(points[chart.id]! >= 2, `${chart.id}: ${points[chart.id]}`);
        // One series per node on every chart.
        const seriesCounts = (await page.evaluate('Object.values(window.gossipLearnCharts).map((u) => u.series.length - 1)')) as number[];
        assert.deepEqual(seriesCounts, SWARM_CHARTS.map(() => 3));
        assert.deepEqual(errors, []);
        await page.close();
      } finally {
        await dashboard.stop();
      }
    });

    it('shows the same charts in report.html opened from disk (no server, no internet)', async () => {
      await writeReport(syntheticResults(), dir);
      const page = await browser().newPage();
      const errors = watchErrors(page);
      await page.goto(pathToFileURL(join(dir, REPORT_FILES.html)).href, { waitUntil: 'load' });
      const points = await chartPoints(page);
      // node-0 and node-1 were polled 30 and 26 times over the run; accuracy is known from t = 6 s.
      assert.ok(points['swarm-bytes']! >= 26 && points['swarm-accuracy']! >= 20, JSON.stringify(points));
      assert.deepEqual(errors, []);
      await page.close();
    });
  });
});
