/**
 * Whom to call next: a random compatible peer, weighted down for recent
 * failures, slowness and updates the aggregator cut down or refused
 * (suspicion), never the previous partner when another peer is available.
 * A peer whose exchange failed or that answered BUSY (or, out of byte
 * budget, nothing) is not called again before its backoff ends: 500 ms after
 * the first such outcome, doubling with each next one up to 30 s, reset by a
 * success (capped exponential backoff, as TCP's retransmission timer, RFC
 * 6298). With a single healthy candidate it is called every interval.
 *
 *   const sampler = new PeerSampler({ random, now });   // now: ms, monotonic (daemon) or virtual (simulator)
 *   const peer = sampler.choose(candidates);     // string | null (null: none, or all in backoff)
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
  /** Not chosen before this time (ms on the sampler's clock); 0 after a success. */
  retryAtMs: number;
  /** Exponential moving average of successful exchange durations. */
  meanDurationMs: number | null;
  /** Exponential moving average in [0, 1] of how often its updates were suspect or rejected. */
  suspicion: number;
}

/** How the aggregator took a peer's update. */
export type UpdateVerdict = 'accepted' | 'suspect';

export interface PeerSamplerOptions {
  random: () => number;
  /** Clock in ms for the backoff: monotonic in the daemon, the virtual clock in the simulator (src/core has no clock of its own). */
  now: () => number;
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
/** Backoff after the first failure or BUSY in a row: the default exchange interval (src/core/pacing.ts), so one tick is skipped. */
export const PEER_BACKOFF_BASE_MS = 500;
/** Longest backoff: a peer back from a restart or with a fresh byte budget is called again within this. */
export const PEER_BACKOFF_MAX_MS = 30_000;

/** Backoff after `failures` (>= 1) failures or BUSY answers in a row: PEER_BACKOFF_BASE_MS doubled per failure after the first, at most PEER_BACKOFF_MAX_MS. */
export function peerBackoffMs(failures: number): number {
  // 2^6 x 500 ms already passes the cap; the exponent is bounded so it never overflows.
  return Math.min(PEER_BACKOFF_MAX_MS, PEER_BACKOFF_BASE_MS * 2 ** Math.min(Math.max(failures, 1) - 1, 16));
}

export class PeerSampler {
  /** Least recently reported peers are forgotten first (bounded: a long-running node meets many peers). */
  private readonly records: LruMap<string, PeerRecord>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly maxFailures: number;
  private last: string | null = null;

  constructor(options: PeerSamplerOptions) {
    this.random = options.random;
    this.now = options.now;
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

  /** A weighted random candidate not in backoff (never the previous partner when there is another), or null when there is none. */
  choose(candidates: readonly string[]): string | null {
    const nowMs = this.now();
    const unique = [...new Set(candidates)].filter((p) => (this.records.peek(p)?.retryAtMs ?? 0) <= nowMs);
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

  /** How an exchange we started with `peerId` went: a failure (BUSY, no answer, error) starts or lengthens its backoff, a success ends it. */
  report(peerId: string, outcome: PeerOutcome): void {
    const record = this.record(peerId);
    if (outcome.ok) {
      record.failures = 0;
      record.retryAtMs = 0;
      record.meanDurationMs =
        record.meanDurationMs === null ? outcome.durationMs : record.meanDurationMs + DURATION_EMA_ALPHA * (outcome.durationMs - record.meanDurationMs);
    } else {
      record.failures++;
      record.retryAtMs = this.now() + peerBackoffMs(record.failures);
    }
  }

  /** Whether `peerId` is in its backoff now (a failure or BUSY, and its backoff not over). */
  inBackoff(peerId: string): boolean {
    return (this.records.peek(peerId)?.retryAtMs ?? 0) > this.now();
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
      record = { failures: 0, retryAtMs: 0, meanDurationMs: null, suspicion: 0 };
      this.records.set(peerId, record);
    }
    return record;
  }

  failures(peerId: string): number {
    return this.records.peek(peerId)?.failures ?? 0;
  }
}
