/**
 * The key figures of edge learning that `/metrics` reports next to its
 * counters (docs/architecture.md "HTTP"): latency histograms, convergence
 * (consensus distance, accuracy slope), communication rates, CPU time by
 * kind of work, energy and a per-peer table. `DaemonMetrics` owns one and
 * spreads `toJson()` into its JSON; services record into it through
 * `context.metrics.keyMetrics`.
 *
 *   const key = new KeyMetrics();
 *   key.exchangeRoundTripMs.observe(42);
 *   key.sample(monotonicNowMs(), metrics.exchange);   // every second (KeyMetricsSampler)
 *   key.toJson(metrics.exchange);
 */
import { monotonicNowMs } from '../../common/clock.ts';
import { CpuAccounting, type ComputeSummary } from './cpu-accounting.ts';
import { DEFAULT_CPU_WATTS, EnergyMeter, type EnergySummary } from './energy.ts';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.ts';
import { PeerStats, type PeerStat } from './peer-stats.ts';
import { RollingRate } from './rolling-rate.ts';

/** Window of the rolling rates (bytes per second, exchanges per minute). */
export const RATE_WINDOW_MS = 60_000;

/**
 * The accuracy slope is fitted over the evaluations of this last stretch of
 * time (at the default --eval-interval of 10 s: 6 or 7 of them).
 */
export const ACCURACY_SLOPE_WINDOW_MS = 60_000;
/**
 * The slope is null until the evaluations it is fitted over span at least
 * this long: two evaluations a second apart on a fresh node read as +462
 * points a minute, which says nothing about how the node learns.
 */
export const MIN_ACCURACY_SLOPE_SPAN_MS = 30_000;
/** Most evaluations kept for the slope (a bound for very short --eval-interval; the oldest go first). */
export const MAX_ACCURACY_SLOPE_EVALUATIONS = 256;

/** The byte counters the rates follow (a subset of `exchange` in /metrics). */
export interface ByteCounters {
  bytesSent: number;
  bytesReceived: number;
}

export interface KeyMetricsJson {
  /** Milliseconds; percentiles over the latest 1024 observations (src/node/key-metrics/latency-histogram.ts). */
  latency: {
    /** An exchange we started: from dialling to the closed stream, merged reply included. */
    exchangeRoundTripMs: LatencySummary;
    /** One local optimizer step (one batch). */
    trainingStepMs: LatencySummary;
    /** A peer's update: from its first bytes arriving to the merge into our model done. */
    updateToMergeMs: LatencySummary;
  };
  convergence: {
    /** ||ours - our replica of the peer|| / ||ours|| just before the latest merge (src/train/merge.ts relativeDistance). */
    consensusDistance: number | null;
    /** The same, smoothed over merges (src/core/gossip-node.ts CONSENSUS_SMOOTHING). */
    consensusDistanceSmoothed: number | null;
    /** Least-squares slope of test accuracy over the evaluations of the last minute, in accuracy (0..1) per minute; null until they span 30 s. */
    accuracySlopePerMinute: number | null;
  };
  communication: {
    /** Exchange frame bytes per second over the last RATE_WINDOW_MS. */
    bytesSentPerSecond: number | null;
    bytesReceivedPerSecond: number | null;
    /** Frame bytes (both directions) per completed exchange, since start. */
    bytesPerExchange: number | null;
    /** Completed exchanges (both directions) per minute over the last RATE_WINDOW_MS. */
    exchangesPerMinute: number | null;
    /** Completed exchanges since start (both directions). */
    exchangesCompleted: number;
  };
  compute: ComputeSummary;
  energy: EnergySummary & {
    /** Energy of the exchange work (codec and merging CPU time's share of the joules) per completed exchange. */
    joulesPerExchange: number | null;
  };
  /** Per-peer exchange figures, most recent first (at most 64 peers). */
  peerStats: PeerStat[];
}

export class KeyMetrics {
  readonly exchangeRoundTripMs = new LatencyHistogram();
  readonly trainingStepMs = new LatencyHistogram();
  readonly updateToMergeMs = new LatencyHistogram();
  readonly cpu: CpuAccounting;
  readonly peers = new PeerStats();
  private energyMeter: EnergyMeter;
  private consensus: { consensusDistance: number | null; consensusDistanceSmoothed: number | null } = { consensusDistance: null, consensusDistanceSmoothed: null };
  private readonly evaluations: Array<{ minutes: number; accuracy: number }> = [];
  private completedCount = 0;
  private readonly sentRate = new RollingRate({ windowMs: RATE_WINDOW_MS });
  private readonly receivedRate = new RollingRate({ windowMs: RATE_WINDOW_MS });
  private readonly exchangeRate = new RollingRate({ windowMs: RATE_WINDOW_MS });

  constructor(options: { cpu?: CpuAccounting } = {}) {
    this.cpu = options.cpu ?? new CpuAccounting();
    this.energyMeter = new EnergyMeter({ cpuWatts: DEFAULT_CPU_WATTS, cpuSeconds: () => this.cpu.totalSeconds() });
  }

  /** Sets --cpu-watts and where to look for RAPL (null: never; tests). Throws RangeError for a non-positive wattage. */
  configureEnergy(options: { cpuWatts: number; powercapDir?: string | null }): void {
    this.energyMeter = new EnergyMeter({ ...options, cpuSeconds: () => this.cpu.totalSeconds() });
  }

  get energy(): EnergyMeter {
    return this.energyMeter;
  }

  /** The gossip core's consensus figures (src/core/gossip-node.ts GossipCounters). */
  setConsensus(counters: { consensusDistance: number | null; consensusDistanceSmoothed: number | null }): void {
    this.consensus = { consensusDistance: counters.consensusDistance, consensusDistanceSmoothed: counters.consensusDistanceSmoothed };
  }

  /** An evaluation's accuracy at `nowMs` (monotonic); evaluations older than ACCURACY_SLOPE_WINDOW_MS before it are dropped. */
  noteEvaluation(accuracy: number, nowMs: number = monotonicNowMs()): void {
    if (!Number.isFinite(accuracy)) return;
    this.evaluations.push({ minutes: nowMs / 60_000, accuracy });
    const oldestMinutes = (nowMs - ACCURACY_SLOPE_WINDOW_MS) / 60_000;
    while (this.evaluations.length > MAX_ACCURACY_SLOPE_EVALUATIONS || this.evaluations[0]!.minutes < oldestMinutes) this.evaluations.shift();
  }

  /** An exchange completed with `peerId` (ours merged its reply, or we answered its push). */
  exchangeCompleted(peerId: string, at: Date = new Date()): void {
    this.completedCount += 1;
    this.peers.completed(peerId, at);
  }

  /** Samples the counters the rolling rates follow, and RAPL; call about every second. */
  sample(nowMs: number, bytes: ByteCounters): void {
    this.sentRate.observe(nowMs, bytes.bytesSent);
    this.receivedRate.observe(nowMs, bytes.bytesReceived);
    this.exchangeRate.observe(nowMs, this.completedCount);
    this.energyMeter.sample();
  }

  toJson(bytes: ByteCounters): KeyMetricsJson {
    const compute = this.cpu.summary();
    const energy = this.energyMeter.summary();
    const exchangeShare = (compute.shares.codec ?? 0) + (compute.shares.merging ?? 0);
    const perMinute = this.exchangeRate.perSecond();
    return {
      latency: {
        exchangeRoundTripMs: this.exchangeRoundTripMs.summary(),
        trainingStepMs: this.trainingStepMs.summary(),
        updateToMergeMs: this.updateToMergeMs.summary(),
      },
      convergence: { ...this.consensus, accuracySlopePerMinute: accuracySlope(this.evaluations) },
      communication: {
        bytesSentPerSecond: round3(this.sentRate.perSecond()),
        bytesReceivedPerSecond: round3(this.receivedRate.perSecond()),
        bytesPerExchange: this.completedCount > 0 ? round3((bytes.bytesSent + bytes.bytesReceived) / this.completedCount) : null,
        exchangesPerMinute: perMinute === null ? null : round3(perMinute * 60),
        exchangesCompleted: this.completedCount,
      },
      compute,
      energy: {
        ...energy,
        joulesPerExchange: this.completedCount > 0 && energy.joules !== null ? round6((energy.joules * exchangeShare) / this.completedCount) : null,
      },
      peerStats: this.peers.list(),
    };
  }
}

/**
 * Least-squares slope of accuracy over time (per minute); null with fewer
 * than two evaluations or when the first and the last are less than
 * `minSpanMs` apart (default MIN_ACCURACY_SLOPE_SPAN_MS). `points` in time order.
 */
export function accuracySlope(points: ReadonlyArray<{ minutes: number; accuracy: number }>, minSpanMs = MIN_ACCURACY_SLOPE_SPAN_MS): number | null {
  if (points.length < 2) return null;
  if ((points.at(-1)!.minutes - points[0]!.minutes) * 60_000 < minSpanMs) return null;
  const n = points.length;
  const meanT = points.reduce((s, p) => s + p.minutes, 0) / n;
  const meanA = points.reduce((s, p) => s + p.accuracy, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.minutes - meanT) * (p.accuracy - meanA);
    den += (p.minutes - meanT) ** 2;
  }
  return den > 0 ? round6(num / den) : null;
}

function round3(x: number): number;
function round3(x: number | null): number | null;
function round3(x: number | null): number | null {
  return x === null ? null : Math.round(x * 1000) / 1000;
}
const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
