import assert from 'node:assert/strict';
import { LATENCY_BUCKETS_MS, LatencyHistogram, PERCENTILE_WINDOW } from '../../../src/node/key-metrics/latency-histogram.ts';
import { RollingRate } from '../../../src/node/key-metrics/rolling-rate.ts';
import { PeerStats } from '../../../src/node/key-metrics/peer-stats.ts';
import { ACCURACY_SLOPE_WINDOW_MS, accuracySlope, KeyMetrics, MIN_ACCURACY_SLOPE_SPAN_MS } from '../../../src/node/key-metrics/key-metrics.ts';

describe('LatencyHistogram', () => {
  it('reports nearest-rank p50/p95/p99 in ms, nulls before the first observation', () => {
    const h = new LatencyHistogram();
    assert.deepEqual(h.summary(), { count: 0, p50: null, p95: null, p99: null });
    for (let ms = 1; ms <= 100; ms++) h.observe(ms);
    assert.deepEqual(h.summary(), { count: 100, p50: 50, p95: 95, p99: 99 });
  });

  it('reads percentiles from the latest observations only, and ignores negative or non-finite ones', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < PERCENTILE_WINDOW; i++) h.observe(1000);
    for (let i = 0; i < PERCENTILE_WINDOW; i++) h.observe(2);
    h.observe(-1);
    h.observe(Number.NaN);
    assert.deepEqual(h.summary(), { count: 2 * PERCENTILE_WINDOW, p50: 2, p95: 2, p99: 2 });
  });

  it('keeps cumulative Prometheus buckets in seconds, ending in +Inf', () => {
    const h = new LatencyHistogram();
    h.observe(0.2);
    h.observe(7);
    h.observe(60_000);
    const p = h.prometheus();
    assert.equal(p.cumulative.length, LATENCY_BUCKETS_MS.length + 1);
    assert.deepEqual(p.cumulative[0], { leSeconds: 0.0005, count: 1 });
    assert.deepEqual(p.cumulative.find((b) => b.leSeconds === 0.01), { leSeconds: 0.01, count: 2 });
    assert.deepEqual(p.cumulative.at(-2), { leSeconds: 30, count: 2 });
    assert.deepEqual(p.cumulative.at(-1), { leSeconds: Number.POSITIVE_INFINITY, count: 3 });
    assert.equal(p.count, 3);
    assert.ok(Math.abs(p.sumSeconds - 60.0072) < 1e-9);
  });
});

describe('RollingRate', () => {
  it('is the growth per second over the window, null until two samples 1 s apart', () => {
    const rate = new RollingRate({ windowMs: 10_000 });
    rate.observe(0, 0);
    assert.equal(rate.perSecond(), null);
    rate.observe(500, 100);
    assert.equal(rate.perSecond(), null);
    rate.observe(2000, 400);
    assert.equal(rate.perSecond(), 200);
  });

  it('forgets samples older than the window (keeping one at its start) and stays bounded', () => {
    const rate = new RollingRate({ windowMs: 10_000, maxSamples: 4 });
    // 1000 units/s for 20 s, then nothing for 10 s: the window sees only the idle part.
    for (let s = 0; s <= 20; s++) rate.observe(s * 1000, s * 1000);
    for (let s = 21; s <= 30; s++) rate.observe(s * 1000, 20_000);
    assert.equal(rate.perSecond(), 0);
    assert.throws(() => new RollingRate({ windowMs: 0 }), RangeError);
    assert.throws(() => new RollingRate({ windowMs: 1000, maxSamples: 1 }), RangeError);
  });
});

describe('PeerStats', () => {
  it('counts bytes, exchanges and rejections per peer, most recent exchange first, bounded', () => {
    const peers = new PeerStats(2);
    peers.countBytes('a', 'sent', 100);
    peers.countBytes('a', 'received', 50);
    peers.completed('a', new Date('2026-01-01T00:00:00Z'));
    peers.completed('b', new Date('2026-01-01T00:00:05Z'));
    peers.rejected('b');
    assert.deepEqual(peers.list(), [
      { peerId: 'b', lastExchangeAt: '2026-01-01T00:00:05.000Z', exchanges: 1, bytesSent: 0, bytesReceived: 0, rejections: 1 },
      { peerId: 'a', lastExchangeAt: '2026-01-01T00:00:00.000Z', exchanges: 1, bytesSent: 100, bytesReceived: 50, rejections: 0 },
    ]);
    peers.rejected('c');
    assert.deepEqual(peers.list().map((p) => p.peerId), ['b', 'c']);
  });
});

describe('accuracySlope', () => {
  it('fits accuracy per minute by least squares, null for fewer than two points', () => {
    assert.equal(accuracySlope([]), null);
    assert.equal(accuracySlope([{ minutes: 1, accuracy: 0.5 }]), null);
    assert.equal(accuracySlope([{ minutes: 1, accuracy: 0.5 }, { minutes: 1, accuracy: 0.6 }]), null);
    assert.equal(accuracySlope([0, 1, 2, 3].map((m) => ({ minutes: m, accuracy: 0.5 + 0.1 * m }))), 0.1);
    assert.equal(accuracySlope([{ minutes: 0, accuracy: 0.9 }, { minutes: 2, accuracy: 0.8 }]), -0.05);
  });

  it('is null until the evaluations span the minimum (30 s), whatever their number', () => {
    assert.equal(MIN_ACCURACY_SLOPE_SPAN_MS, 30_000);
    const atSeconds = (points: Array<[number, number]>) => points.map(([s, accuracy]) => ({ minutes: s / 60, accuracy }));
    // A fresh node: 0.10 then 0.177 one second later would read +462 points a minute.
    assert.equal(accuracySlope(atSeconds([[0, 0.1], [1, 0.177]]), 0), 4.62);
    assert.equal(accuracySlope(atSeconds([[0, 0.1], [1, 0.177]])), null);
    assert.equal(accuracySlope(atSeconds([[0, 0.1], [10, 0.2], [20, 0.3], [29.9, 0.4]])), null);
    assert.equal(accuracySlope(atSeconds([[0, 0.1], [30, 0.2]])), 0.2);
  });
});

describe('KeyMetrics accuracy slope', () => {
  it('reports null on a fresh node, then the slope over the evaluations of the last minute', () => {
    const metrics = new KeyMetrics();
    const slope = (): number | null => metrics.toJson({ bytesSent: 0, bytesReceived: 0 }).convergence.accuracySlopePerMinute;
    const t0 = 1_000_000;
    metrics.noteEvaluation(0.1, t0);
    metrics.noteEvaluation(0.177, t0 + 1000);
    assert.equal(slope(), null, 'two evaluations a second apart');
    for (let s = 2; s < 30; s++) metrics.noteEvaluation(0.177, t0 + s * 1000);
    assert.equal(slope(), null, 'evaluations spanning 29 s');
    // Flat after the first point from 30 s on; then 10 minutes of +1 point per minute, one evaluation every 10 s.
    metrics.noteEvaluation(0.177, t0 + 30_000);
    assert.ok(slope() !== null && slope()! < 0.2, String(slope()));
    for (let s = 40; s <= 640; s += 10) metrics.noteEvaluation(0.177 + (0.01 * (s - 40)) / 60, t0 + s * 1000);
    // Only the last minute counts: the early jump has left the window.
    assert.equal(slope(), 0.01);
    assert.equal(ACCURACY_SLOPE_WINDOW_MS, 60_000);
  });

  it('keeps a bounded number of evaluations however short the eval interval', () => {
    const metrics = new KeyMetrics();
    for (let i = 0; i < 10_000; i++) metrics.noteEvaluation(0.5, i);
    // 256 evaluations 1 ms apart span 255 ms: too short for a slope.
    assert.equal(metrics.toJson({ bytesSent: 0, bytesReceived: 0 }).convergence.accuracySlopePerMinute, null);
  });
});
