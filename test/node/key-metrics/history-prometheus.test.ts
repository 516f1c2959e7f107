import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { DaemonMetrics, type MetricsJson } from '../../../src/node/metrics.ts';
import { HISTORY_MAX_POINTS, HISTORY_SERIES, MetricsHistory } from '../../../src/node/key-metrics/metrics-history.ts';
import { keyMetricsFamilies } from '../../../src/node/key-metrics/prometheus-families.ts';
import { PrometheusExporter } from '../../../src/node/prometheus.ts';

/** A /metrics snapshot with the given accuracy and cumulative CPU seconds. */
function snapshot(accuracy: number | null, cpu: { training: number; codec: number; total: number }): MetricsJson {
  const json = new DaemonMetrics().toJson();
  json.eval.accuracy = accuracy;
  json.compute.cpuSeconds = { training: cpu.training, codec: cpu.codec, merging: 0, evaluation: 0, serving: 0, other: cpu.total - cpu.training - cpu.codec, total: cpu.total };
  return json;
}

describe('MetricsHistory', () => {
  it('keeps 6 hours at the interval, at most HISTORY_MAX_POINTS', () => {
    assert.equal(new MetricsHistory({ intervalMs: 10_000 }).capacity, 2160);
    assert.equal(new MetricsHistory({ intervalMs: 1000 }).capacity, HISTORY_MAX_POINTS);
    assert.throws(() => new MetricsHistory({ intervalMs: 0 }), RangeError);
  });

  it('returns aligned columns in time order after wrapping, and only newer points with since', () => {
    const history = new MetricsHistory({ intervalMs: 1000, capacity: 3 });
    for (let i = 1; i <= 5; i++) history.record(snapshot(i / 10, { training: i, codec: 0, total: 2 * i }), i * 1000);
    const json = history.toJson();
    assert.equal(json.points, 3);
    assert.deepEqual(Object.keys(json.series), [...HISTORY_SERIES]);
    assert.deepEqual(json.series.time, [3, 4, 5]);
    assert.deepEqual(json.series.accuracy, [0.3, 0.4, 0.5]);
    for (const name of HISTORY_SERIES) assert.equal(json.series[name].length, 3, name);
    assert.deepEqual(history.toJson(4).series.time, [5]);
    assert.deepEqual(history.toJson(5).series.accuracy, []);
  });

  it('charts CPU shares per interval, not since start', () => {
    const history = new MetricsHistory({ intervalMs: 1000 });
    history.record(snapshot(null, { training: 9, codec: 1, total: 10 }), 1000);
    history.record(snapshot(null, { training: 9.5, codec: 2, total: 12 }), 2000);
    const { series } = history.toJson();
    assert.deepEqual(series.cpuShareTraining, [0.9, 0.25]);
    assert.deepEqual(series.cpuShareCodec, [0.1, 0.5]);
    assert.deepEqual(series.cpuShareOther, [0, 0.25]);
  });
});

describe('key metrics in Prometheus', () => {
  it('exports histograms in seconds and the new gauges and counters, clean under promtool', async function () {
    const metrics = new DaemonMetrics();
    const key = metrics.keyMetrics;
    key.configureEnergy({ cpuWatts: 8, powercapDir: null });
    for (const ms of [12, 30, 45]) key.exchangeRoundTripMs.observe(ms);
    key.trainingStepMs.observe(3);
    key.setConsensus({ consensusDistance: 0.2, consensusDistanceSmoothed: 0.25 });
    key.cpu.measure('training', () => {
      const until = performance.now() + 5;
      while (performance.now() < until) { /* spend a little CPU */ }
    });
    const text = await new PrometheusExporter({ snapshot: () => metrics.toJson(), processMetrics: false, extraFamilies: keyMetricsFamilies(key) }).render();
    const lines = (name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    assert.match(text, /^# TYPE gossip_learn_exchange_round_trip_seconds histogram$/m);
    assert.deepEqual(lines('gossip_learn_exchange_round_trip_seconds_bucket').filter((l) => /le="(0\.01|0\.025|0\.05|\+Inf)"/.test(l)), [
      'gossip_learn_exchange_round_trip_seconds_bucket{le="0.01"} 0',
      'gossip_learn_exchange_round_trip_seconds_bucket{le="0.025"} 1',
      'gossip_learn_exchange_round_trip_seconds_bucket{le="0.05"} 3',
      'gossip_learn_exchange_round_trip_seconds_bucket{le="+Inf"} 3',
    ]);
    assert.deepEqual(lines('gossip_learn_exchange_round_trip_seconds_count'), ['gossip_learn_exchange_round_trip_seconds_count 3']);
    assert.deepEqual(lines('gossip_learn_consensus_distance'), ['gossip_learn_consensus_distance 0.2']);
    assert.deepEqual(lines('gossip_learn_energy_cpu_watts'), ['gossip_learn_energy_cpu_watts 8']);
    assert.equal(lines('gossip_learn_cpu_seconds_total').length, 6);
    assert.match(lines('gossip_learn_energy_joules_total')[0]!, /^gossip_learn_energy_joules_total\{source="cpu-time"\} [0-9.]+$/);
    // Unknown until the first evaluation / exchange: described, no sample.
    assert.deepEqual(lines('gossip_learn_eval_accuracy_slope_per_minute'), []);
    if (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status !== 0) this.skip();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });
});
