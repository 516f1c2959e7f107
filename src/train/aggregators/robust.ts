/**
 * The part the robust aggregators share (clip, centered-clip, trimmed-mean,
 * median): the same checks as every aggregator (src/train/merge.ts
 * checkUpdate: wrong length, NaN/Inf, outsized norm are rejected), capped
 * mixing weights by age with each peer's weight ramped up over its first
 * merges (peer-trust.ts), and a bounded window of recent peer estimates.
 * What differs is the TARGET a merge moves toward: instead of the peer's
 * estimate itself (the plain average), a robust statistic of it, so
 *   x += gamma * w_peer * (target - x),
 * moves the model as far as an average step would, only never further toward
 * a peer than the rule allows. A peer whose estimate lies far from the
 * target is reported in `suspects` (the peer sampler calls it less often).
 */
import { LruMap } from '../../common/lru.ts';
import { checkUpdate, DEFAULT_MERGE_OPTIONS, l2Norm, mixingWeights, type MergeOptions } from '../merge.ts';
import type { Aggregation, Aggregator, LocalContribution, PeerContribution } from './aggregator.ts';
import { aggregatedCounters, validateMergeOptions } from './consensus.ts';
import { PeerTrust } from './peer-trust.ts';

/**
 * Peer estimates a window rule keeps: the latest of up to 8 peers (with our
 * own model, 9 values per coordinate; 2 of 8 byzantine peers stay a
 * minority), each dropped once 16 merges old so a peer not heard from for a
 * while does not hold the model back.
 */
export const ROBUST_WINDOW_PEERS = 8;
export const ROBUST_WINDOW_MAX_AGE_MERGES = 16;
/**
 * A peer's weight is at most this many times our own, whatever age it claims
 * (the average allows capFactor, 4): an age hijacker then weighs no more than
 * an honest peer of our age. Nodes of one swarm train at similar rates, so
 * in steady state the cap rarely binds.
 */
export const ROBUST_CAP_FACTOR = 1;
/** A peer's weight reaches its capped value after this many merges (weight x (merges + 1) / 5 before). */
export const TRUST_RAMP_MERGES = 5;
/** A peer farther than this many times the median distance from the merge target is a suspect. */
export const SUSPECT_DISTANCE_RATIO = 3;
const TRUST_MAX_PEERS = 1024;

/** L2 distance between two vectors of the same length. */
export function distance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/** Median of a non-empty list of numbers (mean of the two middle ones for an even count). */
export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface WindowEntry {
  params: Float32Array;
  /** Merge sequence number when it arrived. */
  seq: number;
}

/** The latest estimate of each of the most recently heard peers (copies; bounded in peers and in age). */
export class PeerWindow {
  private readonly entries: LruMap<string, WindowEntry>;
  private readonly maxAgeMerges: number;
  private seq = 0;

  constructor(maxPeers: number, maxAgeMerges: number) {
    this.entries = new LruMap(maxPeers);
    this.maxAgeMerges = maxAgeMerges;
  }

  /** Starts a new merge: entries older than the age bound are dropped. */
  advance(): void {
    this.seq++;
    for (const [peerId, entry] of this.entries) if (this.seq - entry.seq > this.maxAgeMerges) this.entries.delete(peerId);
  }

  /** Stores a copy of `params` as the peer's latest estimate. */
  record(peerId: string, params: Float32Array): void {
    const existing = this.entries.peek(peerId);
    if (existing !== undefined && existing.params.length === params.length) {
      existing.params.set(params);
      existing.seq = this.seq;
      this.entries.set(peerId, existing);
    } else {
      this.entries.set(peerId, { params: params.slice(), seq: this.seq });
    }
  }

  /** The estimates held, most recently heard last. */
  estimates(): Float32Array[] {
    return [...this.entries.values()].map((e) => e.params);
  }
}

export interface MergeTarget {
  /** Where the merge moves the model toward (paramCount values). */
  target: Float32Array;
  /** True when the rule cut the peer's influence (clipped, trimmed away, far from the target). */
  suspect: boolean;
}

/** Base of the robust rules: a subclass gives its name and its target. */
export abstract class RobustAggregator implements Aggregator {
  abstract readonly name: string;
  readonly options: Readonly<MergeOptions>;
  protected readonly trust = new PeerTrust({ rampMerges: TRUST_RAMP_MERGES, maxPeers: TRUST_MAX_PEERS });
  protected readonly window = new PeerWindow(ROBUST_WINDOW_PEERS, ROBUST_WINDOW_MAX_AGE_MERGES);

  /** Throws MergeError('bad-options') for gamma outside (0, 1] or a non-positive cap or norm ratio. */
  constructor(options: Partial<MergeOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_MERGE_OPTIONS, ...options });
    validateMergeOptions(this.options);
  }

  /** The target for `peer` given our model before this merge (`local`, read only) and the window (already holding `peer`). */
  protected abstract target(local: Float32Array, peer: PeerContribution): MergeTarget;

  /** Called once per merge, before any target, with our model before the merge (read only). */
  protected beforeMerge(_local: Float32Array): void {}

  /** Called once per merge with our model after it (read only). */
  protected afterMerge(_local: Float32Array): void {}

  /** True for the rules whose target reads the window of recent estimates (it then keeps model copies). */
  protected get keepsWindow(): boolean {
    return false;
  }

  aggregate(local: LocalContribution, peers: readonly PeerContribution[]): Aggregation {
    validateMergeOptions(this.options);
    for (const peer of peers) {
      const check = checkUpdate(local.params, peer.params, this.options);
      if (!check.ok) {
        this.trust.recordRejection(peer.peerId);
        return { status: 'rejected', reason: check.reason, peerId: peer.peerId };
      }
    }
    const capped = mixingWeights(local, peers, this.options.weightBy, Math.min(this.options.capFactor, ROBUST_CAP_FACTOR));
    const raw = capped.map((w, k) => (k === 0 ? w : w * this.trust.weightFactor(peers[k - 1]!.peerId)));
    const total = raw.reduce((a, b) => a + b, 0);
    const weights = raw.map((w) => w / total);
    const steps = peers.map((_, k) => this.options.gamma * weights[k + 1]!);
    const before = local.params.slice();
    this.window.advance();
    this.beforeMerge(before);
    if (this.keepsWindow) for (const peer of peers) this.window.record(peer.peerId, peer.params);
    const moved = local.params;
    const suspects: string[] = [];
    peers.forEach((peer, k) => {
      const { target, suspect } = this.target(before, peer);
      const step = steps[k]!;
      for (let i = 0; i < moved.length; i++) moved[i] = moved[i]! + step * (target[i]! - before[i]!);
      if (suspect) suspects.push(peer.peerId);
      this.trust.recordMerge(peer.peerId, suspect);
    });
    this.afterMerge(moved);
    return { status: 'merged', weights, steps, counters: aggregatedCounters(local, peers, this.options.capFactor), suspects };
  }
}

/**
 * Whether `peer` lies farther from `target` than SUSPECT_DISTANCE_RATIO times
 * the median distance of the other points (our model and the window).
 */
export function isFarFromTarget(peer: Float32Array, target: Float32Array, points: readonly Float32Array[]): boolean {
  const distances = points.map((p) => distance(p, target));
  const typical = medianOf(distances);
  return distance(peer, target) > SUSPECT_DISTANCE_RATIO * typical && l2Norm(peer) > 0;
}
