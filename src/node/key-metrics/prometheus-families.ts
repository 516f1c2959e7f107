/**
 * The key figures as Prometheus families (src/node/prometheus.ts renders
 * them with the rest): the three latency histograms in seconds, consensus
 * distance, accuracy slope, communication rates, CPU seconds and shares by
 * kind of work, and energy. Names follow Prometheus conventions (base units,
 * `_total` on counters) and pass `promtool check metrics`.
 *
 *   new PrometheusExporter({ snapshot, extraFamilies: keyMetricsFamilies(metrics.keyMetrics) });
 */
import type { DaemonFamilySpec, Sample } from '../prometheus.ts';
import { ACCURACY_SLOPE_WINDOW_MS, MIN_ACCURACY_SLOPE_SPAN_MS, type KeyMetrics } from './key-metrics.ts';
import type { LatencyHistogram } from './latency-histogram.ts';

function histogramSamples(name: string, histogram: LatencyHistogram): Sample[] {
  const { cumulative, sumSeconds, count } = histogram.prometheus();
  return [
    ...cumulative.map((b) => ({ metricName: `${name}_bucket`, value: b.count, labels: { le: Number.isFinite(b.leSeconds) ? String(b.leSeconds) : '+Inf' } })),
    { metricName: `${name}_sum`, value: sumSeconds },
    { metricName: `${name}_count`, value: count },
  ];
}

const finite = (value: number | null | undefined): Sample[] => (typeof value === 'number' && Number.isFinite(value) ? [{ value }] : []);

const histogram = (name: string, help: string, read: () => LatencyHistogram): DaemonFamilySpec => ({
  name,
  help,
  type: 'histogram',
  samples: () => histogramSamples(name, read()),
});

/** The families, reading the histograms from `key` and everything else from the /metrics snapshot. */
export function keyMetricsFamilies(key: KeyMetrics): DaemonFamilySpec[] {
  return [
    histogram('gossip_learn_exchange_round_trip_seconds', 'Exchanges this daemon started: seconds from dialling the peer to the closed stream, its reply merged.', () => key.exchangeRoundTripMs),
    histogram('gossip_learn_training_step_seconds', 'Seconds one local training step (one batch) took.', () => key.trainingStepMs),
    histogram('gossip_learn_update_to_merge_seconds', "Seconds from the first bytes of a peer's update arriving to its merge into the local model.", () => key.updateToMergeMs),
    {
      name: 'gossip_learn_consensus_distance',
      help: 'L2 distance between the local model and the replica of the peer just merged, relative to the local model norm, at the latest merge.',
      type: 'gauge',
      samples: (m) => finite(m.convergence.consensusDistance),
    },
    {
      name: 'gossip_learn_consensus_distance_smoothed',
      help: 'Consensus distance smoothed over merges (exponential moving average, weight 0.2 on the newest).',
      type: 'gauge',
      samples: (m) => finite(m.convergence.consensusDistanceSmoothed),
    },
    {
      name: 'gossip_learn_eval_accuracy_slope_per_minute',
      help: `Least-squares slope of test accuracy (0..1) over the evaluations of the last ${ACCURACY_SLOPE_WINDOW_MS / 1000} s, per minute; absent until they span ${MIN_ACCURACY_SLOPE_SPAN_MS / 1000} s.`,
      type: 'gauge',
      samples: (m) => finite(m.convergence.accuracySlopePerMinute),
    },
    {
      name: 'gossip_learn_exchange_sent_bytes_per_second',
      help: 'Exchange frame bytes sent per second over the last minute.',
      type: 'gauge',
      samples: (m) => finite(m.communication.bytesSentPerSecond),
    },
    {
      name: 'gossip_learn_exchange_received_bytes_per_second',
      help: 'Exchange frame bytes received per second over the last minute.',
      type: 'gauge',
      samples: (m) => finite(m.communication.bytesReceivedPerSecond),
    },
    {
      name: 'gossip_learn_exchange_mean_bytes',
      help: 'Exchange frame bytes (both directions) per completed exchange since start.',
      type: 'gauge',
      samples: (m) => finite(m.communication.bytesPerExchange),
    },
    {
      name: 'gossip_learn_exchanges_per_minute',
      help: 'Completed exchanges (both directions) per minute over the last minute.',
      type: 'gauge',
      samples: (m) => finite(m.communication.exchangesPerMinute),
    },
    {
      name: 'gossip_learn_exchanges_completed_total',
      help: 'Completed exchanges, both directions (ours merged the reply, or we answered a push).',
      type: 'counter',
      samples: (m) => finite(m.communication.exchangesCompleted),
    },
    {
      name: 'gossip_learn_cpu_seconds_total',
      help: 'Process CPU seconds (user + system) by kind of work: training, codec, merging, evaluation, serving, other.',
      type: 'counter',
      samples: (m) =>
        Object.entries(m.compute.cpuSeconds)
          .filter(([work]) => work !== 'total')
          .map(([work, value]) => ({ value, labels: { work } })),
    },
    {
      name: 'gossip_learn_cpu_share_ratio',
      help: 'Fraction (0..1) of the process CPU time since start spent on each kind of work.',
      type: 'gauge',
      samples: (m) =>
        Object.entries(m.compute.shares)
          .filter((entry): entry is [string, number] => entry[1] !== null)
          .map(([work, value]) => ({ value, labels: { work } })),
    },
    {
      name: 'gossip_learn_energy_joules_total',
      help: 'Energy since start in joules; source="rapl": CPU package energy counters (the whole package), source="cpu-time": CPU seconds times --cpu-watts.',
      type: 'counter',
      samples: (m) => (m.energy.joules === null ? [] : [{ value: m.energy.joules, labels: { source: m.energy.source } }]),
    },
    { name: 'gossip_learn_energy_cpu_watts', help: 'The --cpu-watts in use: watts one busy CPU core is taken to draw.', type: 'gauge', samples: (m) => finite(m.energy.cpuWatts) },
    {
      name: 'gossip_learn_energy_per_exchange_joules',
      help: 'Energy of the exchange work (codec and merging share of the CPU time) per completed exchange, in joules.',
      type: 'gauge',
      samples: (m) => finite(m.energy.joulesPerExchange),
    },
  ];
}
