import assert from 'node:assert/strict';
import type { MetricsJson } from '../../../src/node/metrics.ts';
import type { MetricsHistoryJson } from '../../../src/node/key-metrics/metrics-history.ts';
import { daemonSuite } from '../../helpers/daemons.ts';
import { startDaemonPair } from '../../helpers/daemon-pair.ts';
import { waitFor } from '../../helpers/process.ts';

describe('key metrics of two gossiping daemons', function () {
  this.timeout(120_000);
  const suite = daemonSuite('gl-key-metrics-');

  it('fills latency, convergence, communication, compute, energy and the peer table, and keeps a history', async () => {
    const [a, b] = await startDaemonPair(suite, 'key-metrics', { evalIntervalMs: 500, cpuWatts: 7 });
    let m: MetricsJson | null = null;
    const ready = (x: MetricsJson): boolean =>
      x.latency.exchangeRoundTripMs.p50 !== null &&
      x.latency.updateToMergeMs.p50 !== null &&
      x.latency.trainingStepMs.p50 !== null &&
      x.convergence.consensusDistance !== null &&
      x.communication.bytesSentPerSecond !== null &&
      x.communication.exchangesPerMinute !== null;
    await waitFor(async () => {
      m = (await (await fetch(`${a.baseUrl}/metrics`)).json()) as MetricsJson;
      return ready(m);
    }, 90_000, 'every key figure of daemon A to be known');
    const json = m!;
    assert.ok(json.latency.exchangeRoundTripMs.p50! > 0 && json.latency.exchangeRoundTripMs.p50! <= json.latency.exchangeRoundTripMs.p99!);
    assert.ok(json.convergence.consensusDistance! >= 0 && json.convergence.consensusDistanceSmoothed! >= 0);
    // Evaluations every 500 ms since a start less than 30 s ago: too short a span for a slope (unit tests: latency-rates.test.ts).
    if (json.uptimeSeconds < 30) assert.equal(json.convergence.accuracySlopePerMinute, null, `uptime ${json.uptimeSeconds} s`);
    assert.ok(json.communication.bytesPerExchange! > 0);
    assert.ok(json.compute.cpuSeconds.training > 0 && json.compute.cpuSeconds.codec > 0 && json.compute.cpuSeconds.merging > 0 && json.compute.cpuSeconds.evaluation > 0);
    const shareSum = Object.values(json.compute.shares).reduce((s: number, x) => s + (x ?? 0), 0);
    assert.ok(Math.abs(shareSum - 1) < 1e-3, `shares sum to ${shareSum}`);
    assert.equal(json.energy.cpuWatts, 7);
    assert.ok(json.energy.joules! > 0 && json.energy.joulesPerExchange! > 0);
    const row = json.peerStats.find((p) => p.peerId === b.info.peerId);
    assert.ok(row !== undefined && row.exchanges > 0 && row.bytesSent > 0 && row.bytesReceived > 0 && row.lastExchangeAt !== null, JSON.stringify(json.peerStats));

    await waitFor(async () => {
      const h = (await (await fetch(`${a.baseUrl}/metrics/history`)).json()) as MetricsHistoryJson;
      return h.series.accuracy.filter((x) => x !== null).length >= 2 && h.series.consensusDistance.some((x) => x !== null);
    }, 30_000, 'two evaluations and a merge in the history');
    const history = (await (await fetch(`${a.baseUrl}/metrics/history`)).json()) as MetricsHistoryJson;
    assert.equal(history.intervalMs, 500);
    const last = history.series.time.at(-1)!;
    const newer = (await (await fetch(`${a.baseUrl}/metrics/history?since=${last}`)).json()) as MetricsHistoryJson;
    assert.ok(newer.series.time.every((t) => t! > last));
    const bad = await fetch(`${a.baseUrl}/metrics/history?since=yesterday`);
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: 'since must be a Unix time in seconds, got "yesterday"' });

    const page = await fetch(`${a.baseUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    const html = await page.text();
    assert.match(html, /uPlot/);
    assert.ok(!/<script[^>]+src=/i.test(html), 'every script is inline: no CDN, no second request');
  });
});
