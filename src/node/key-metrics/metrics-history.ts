/**
 * `GET /metrics/history`: a bounded ring buffer of the figures the dashboard
 * charts, one point per history interval (the evaluation interval), kept for
 * HISTORY_SPAN_MS (6 hours) or HISTORY_MAX_POINTS points, whichever is fewer.
 * The JSON is columnar (one array per series, aligned on `time`), the shape
 * chart libraries take as is:
 *
 *   const history = new MetricsHistory({ intervalMs: 10_000 });
 *   history.record(metrics.toJson(), Date.now());
 *   history.toJson();   // { intervalMs, capacity, points, series: { time: [...], accuracy: [...], ... } }
 *
 * CPU shares are per interval (the CPU time each kind of work took since the
 * previous point, over the process's), so the chart shows what the daemon
 * does now rather than an average since start.
 */
import type { MetricsJson } from '../metrics.ts';
import { CPU_PHASES } from './cpu-accounting.ts';

/** How far back the history reaches at most. */
export const HISTORY_SPAN_MS = 6 * 3600_000;
/** Points kept at most (6 h at a 5 s interval), whatever the interval. */
export const HISTORY_MAX_POINTS = 4320;

/** The series of /metrics/history, in order; `time` is Unix seconds, the rest as named in /metrics (null: unknown at that point). */
export const HISTORY_SERIES = [
  'time',
  'accuracy',
  'loss',
  'consensusDistance',
  'consensusDistanceSmoothed',
  'bytesSentPerSecond',
  'bytesReceivedPerSecond',
  'exchangesPerMinute',
  'exchangeRoundTripP50Ms',
  'trainingStepP50Ms',
  'cpuShareTraining',
  'cpuShareCodec',
  'cpuShareMerging',
  'cpuShareEvaluation',
  'cpuShareServing',
  'cpuShareOther',
  'joules',
  'merged',
] as const;
export type HistorySeries = (typeof HISTORY_SERIES)[number];

export interface MetricsHistoryJson {
  intervalMs: number;
  capacity: number;
  /** Points in this answer (every series has this length). */
  points: number;
  series: Record<HistorySeries, Array<number | null>>;
}

const SHARE_SERIES: Record<(typeof CPU_PHASES)[number] | 'other', HistorySeries> = {
  training: 'cpuShareTraining',
  codec: 'cpuShareCodec',
  merging: 'cpuShareMerging',
  evaluation: 'cpuShareEvaluation',
  serving: 'cpuShareServing',
  other: 'cpuShareOther',
};

export class MetricsHistory {
  readonly intervalMs: number;
  readonly capacity: number;
  private readonly columns: Record<HistorySeries, Array<number | null>>;
  private next = 0;
  private size = 0;
  private previousCpu: MetricsJson['compute']['cpuSeconds'] | null = null;

  /** `intervalMs` > 0 (RangeError otherwise); capacity = min(HISTORY_SPAN_MS / intervalMs, HISTORY_MAX_POINTS), at least 2. */
  constructor(options: { intervalMs: number; capacity?: number }) {
    if (!(options.intervalMs > 0)) throw new RangeError(`history intervalMs must be > 0, got ${options.intervalMs}`);
    this.intervalMs = options.intervalMs;
    this.capacity = options.capacity ?? Math.max(2, Math.min(HISTORY_MAX_POINTS, Math.ceil(HISTORY_SPAN_MS / options.intervalMs)));
    this.columns = Object.fromEntries(HISTORY_SERIES.map((name) => [name, new Array<number | null>(this.capacity).fill(null)])) as Record<HistorySeries, Array<number | null>>;
  }

  /** Appends one point taken from a /metrics snapshot at `wallMs` (Unix ms); the oldest point goes when full. */
  record(m: MetricsJson, wallMs: number): void {
    const point: Record<HistorySeries, number | null> = {
      time: Math.round(wallMs) / 1000,
      accuracy: m.eval.accuracy,
      loss: m.eval.loss,
      consensusDistance: m.convergence.consensusDistance,
      consensusDistanceSmoothed: m.convergence.consensusDistanceSmoothed,
      bytesSentPerSecond: m.communication.bytesSentPerSecond,
      bytesReceivedPerSecond: m.communication.bytesReceivedPerSecond,
      exchangesPerMinute: m.communication.exchangesPerMinute,
      exchangeRoundTripP50Ms: m.latency.exchangeRoundTripMs.p50,
      trainingStepP50Ms: m.latency.trainingStepMs.p50,
      cpuShareTraining: null,
      cpuShareCodec: null,
      cpuShareMerging: null,
      cpuShareEvaluation: null,
      cpuShareServing: null,
      cpuShareOther: null,
      joules: m.energy.joules,
      merged: m.exchange.merged,
    };
    const cpu = m.compute.cpuSeconds;
    const previous = this.previousCpu;
    const totalDelta = cpu.total - (previous?.total ?? 0);
    if (totalDelta > 0) {
      for (const [phase, series] of Object.entries(SHARE_SERIES) as Array<[keyof typeof SHARE_SERIES, HistorySeries]>) {
        const share = (cpu[phase] - (previous?.[phase] ?? 0)) / totalDelta;
        point[series] = Math.round(Math.min(1, Math.max(0, share)) * 1e4) / 1e4;
      }
    }
    this.previousCpu = { ...cpu };
    for (const name of HISTORY_SERIES) this.columns[name][this.next] = finiteOrNull(point[name]);
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  get points(): number {
    return this.size;
  }

  /** The points in time order; with `sinceSeconds` (Unix seconds) only those after it. */
  toJson(sinceSeconds?: number): MetricsHistoryJson {
    const start = (this.next - this.size + this.capacity) % this.capacity;
    const ordered = (column: Array<number | null>): Array<number | null> =>
      start + this.size <= this.capacity ? column.slice(start, start + this.size) : [...column.slice(start), ...column.slice(0, this.next)];
    const times = ordered(this.columns.time);
    const first = sinceSeconds === undefined ? 0 : times.findIndex((t) => t !== null && t > sinceSeconds);
    const from = first < 0 ? times.length : first;
    const series = Object.fromEntries(HISTORY_SERIES.map((name) => [name, ordered(this.columns[name]).slice(from)])) as Record<HistorySeries, Array<number | null>>;
    return { intervalMs: this.intervalMs, capacity: this.capacity, points: series.time.length, series };
  }
}

const finiteOrNull = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);
