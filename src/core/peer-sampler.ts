/**
 * Whom to call next: a random compatible peer, weighted down for recent
 * failures, slowness and updates the aggregator cut down or refused
 * (suspicion), never the previous partner when another peer is available.
 * With a single candidate it is called every interval.
 *
 *   const sampler = new PeerSampler({ random });
 *   const peer = sampler.choose(candidates);     // string | null
 *   sampler.report(peer, { ok: true, durationMs: 120 });
 *   sampler.reportUpdate(peer, 'suspect');       // its model was clipped, trimmed or rejected
 */
import { LruMap } from '../common/lru.ts';

export interface PeerOutcome {
  ok: boolean;
  durationMs: number;
}

interface PeerRecord {
  /** Consecutive failures (reset by a success). */
  failures: number;
  /** Exponential moving average of successful exchange durations. */
  meanDurationMs: number | null;
  /** Exponential moving average in [0, 1] of how often its updates were suspect or rejected. */
  suspicion: number;
}

/** How the aggregator took a peer's update. */
export type UpdateVerdict = 'accepted' | 'suspect';

export interface PeerSamplerOptions {
  random: () => number;
  /** Weight of a peer = 1 / (1 + failures)^2 / slowness; a peer this many failures deep is skipped. */
  maxFailures?: number;
  maxPeers?: number;
}

const DURATION_EMA_ALPHA = 0.3;
/** Suspicion follows about the last 5 updates; a peer suspect every time keeps 1% of its weight (still heard, so it can recover). */
const SUSPICION_EMA_ALPHA = 0.2;
const SUSPICION_WEIGHT_FLOOR = 0.1;
/** Failed peers stay down-weighted but are retried, so a restarted peer comes back. */
const DEFAULT_MAX_FAILURES = 8;
const DEFAULT_MAX_PEER_RECORDS = 1024;

export class PeerSampler {
  /** Least recently reported peers are forgotten first (bounded: a long-running node meets many peers). */
  private readonly records: LruMap<string, PeerRecord>;
  private readonly random: () => number;
  private readonly maxFailures: number;
  private last: string | null = null;

  constructor(options: PeerSamplerOptions) {
    this.random = options.random;
    this.maxFailures = options.maxFailures ?? DEFAULT_MAX_FAILURES;
    this.records = new LruMap(options.maxPeers ?? DEFAULT_MAX_PEER_RECORDS);
  }

  /** Selection weight of a candidate (>0), given the durations of the others. */
  weight(peerId: string, medianDurationMs: number | null): number {
    const record = this.records.peek(peerId);
    if (record === undefined) return 1;
    let w = 1 / (1 + record.failures) ** 2;
    w *= (1 - (1 - SUSPICION_WEIGHT_FLOOR) * record.suspicion) ** 2;
    // A peer much slower than the typical one is called less often.
    if (record.meanDurationMs !== null && medianDurationMs !== null && medianDurationMs > 0) {
      const slowness = record.meanDurationMs / medianDurationMs;
      if (slowness > 2) w /= slowness / 2;
    }
    return w;
  }

  choose(candidates: readonly string[]): string | null {
    const unique = [...new Set(candidates)];
    let pool = unique.filter((p) => (this.records.peek(p)?.failures ?? 0) < this.maxFailures);
    // Everyone failing: keep trying the least-failed ones rather than going silent.
    if (pool.length === 0) pool = unique;
    if (pool.length > 1 && this.last !== null) pool = pool.filter((p) => p !== this.last);
    if (pool.length === 0) return null;
    const durations = pool
      .map((p) => this.records.peek(p)?.meanDurationMs)
      .filter((d): d is number => d !== null && d !== undefined)
      .sort((a, b) => a - b);
    const median = durations.length === 0 ? null : durations[Math.floor(durations.length / 2)]!;
    const weights = pool.map((p) => this.weight(p, median));
    const total = weights.reduce((a, b) => a + b, 0);
    let r = this.random() * total;
    let chosen = pool[pool.length - 1]!;
    for (let i = 0; i < pool.length; i++) {
      r -= weights[i]!;
      if (r < 0) {
        chosen = pool[i]!;
        break;
      }
    }
    this.last = chosen;
    return chosen;
  }

  report(peerId: string, outcome: PeerOutcome): void {
    const record = this.record(peerId);
    if (outcome.ok) {
      record.failures = 0;
      record.meanDurationMs =
        record.meanDurationMs === null ? outcome.durationMs : record.meanDurationMs + DURATION_EMA_ALPHA * (outcome.durationMs - record.meanDurationMs);
    } else {
      record.failures++;
    }
  }

  /** How the aggregator took the peer's last update (a rejection counts as 'suspect'). */
  reportUpdate(peerId: string, verdict: UpdateVerdict): void {
    const record = this.record(peerId);
    record.suspicion += SUSPICION_EMA_ALPHA * ((verdict === 'suspect' ? 1 : 0) - record.suspicion);
  }

  /** Suspicion of the peer in [0, 1] (0 when unknown). */
  suspicion(peerId: string): number {
    return this.records.peek(peerId)?.suspicion ?? 0;
  }

  private record(peerId: string): PeerRecord {
    let record = this.records.get(peerId);
    if (record === undefined) {
      record = { failures: 0, meanDurationMs: null, suspicion: 0 };
      this.records.set(peerId, record);
    }
    return record;
  }

  failures(peerId: string): number {
    return this.records.peek(peerId)?.failures ?? 0;
  }
}
