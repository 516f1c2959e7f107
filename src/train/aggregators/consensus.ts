/**
 * The part every consensus-style aggregator shares: validate the options,
 * refuse what must never touch the model (src/train/merge.ts checkUpdate),
 * compute capped mixing weights and the counters of the merged model. The
 * update rule itself (average or CHOCO) is passed in.
 */
import { checkUpdate, DEFAULT_MERGE_OPTIONS, MergeError, mixingWeights, type MergeOptions, type TrainingCounters } from '../merge.ts';
import type { Aggregation, Aggregator, LocalContribution, PeerContribution } from './aggregator.ts';

/** Moves `local` by `step` toward one peer; `local` is written in place. */
export type ConsensusRule = (local: Float32Array, peer: PeerContribution, step: number) => void;

export function validateMergeOptions(options: MergeOptions): void {
  if (!(options.gamma > 0 && options.gamma <= 1)) throw new MergeError('bad-options', `gamma must be in (0, 1], got ${options.gamma}`);
  if (!(options.maxNormRatio > 0)) throw new MergeError('bad-options', `maxNormRatio must be positive, got ${options.maxNormRatio}`);
  if (!(options.minReferenceNorm >= 0)) throw new MergeError('bad-options', `minReferenceNorm must be >= 0, got ${options.minReferenceNorm}`);
  if (!(options.capFactor > 0) || !Number.isFinite(options.capFactor)) throw new MergeError('bad-options', `capFactor must be a positive finite number, got ${options.capFactor}`);
}

/**
 * Counters after merging several peers: the merged model embodies at least
 * our own training; each peer's claim is capped like its weight (at
 * capFactor * (ours + 1)), so one peer cannot inflate everyone's age.
 */
export function aggregatedCounters(self: TrainingCounters, peers: readonly TrainingCounters[], capFactor: number): TrainingCounters {
  const cap = (own: number, claimed: number): number => {
    const safeOwn = Number.isFinite(own) && own > 0 ? own : 0;
    const safeClaim = Number.isFinite(claimed) && claimed > 0 ? claimed : 0;
    return Math.max(safeOwn, Math.min(safeClaim, capFactor * (safeOwn + 1)));
  };
  let age = cap(self.age, 0);
  let samplesSeen = cap(self.samplesSeen, 0);
  for (const peer of peers) {
    age = Math.max(age, cap(self.age, peer.age));
    samplesSeen = Math.max(samplesSeen, cap(self.samplesSeen, peer.samplesSeen));
  }
  return { age: Math.round(age), samplesSeen: Math.round(samplesSeen) };
}

/** Runs the shared checks, then applies `rule` once per peer with step gamma * w_peer. */
export function consensusAggregate(options: MergeOptions, rule: ConsensusRule, local: LocalContribution, peers: readonly PeerContribution[]): Aggregation {
  validateMergeOptions(options);
  for (const peer of peers) {
    const check = checkUpdate(local.params, peer.params, options);
    if (!check.ok) return { status: 'rejected', reason: check.reason, peerId: peer.peerId };
  }
  const weights = mixingWeights(local, peers, options.weightBy, options.capFactor);
  const steps = peers.map((_, k) => options.gamma * weights[k + 1]!);
  if (peers.length === 1) {
    rule(local.params, peers[0]!, steps[0]!);
  } else if (peers.length > 1) {
    // Every peer moves the model from where it was before this merge, not from where the previous peer left it.
    const before = local.params.slice();
    const moved = local.params;
    peers.forEach((peer, k) => {
      const scratch = before.slice();
      rule(scratch, peer, steps[k]!);
      for (let i = 0; i < moved.length; i++) moved[i] = moved[i]! + (scratch[i]! - before[i]!);
    });
  }
  return { status: 'merged', weights, steps, counters: aggregatedCounters(local, peers, options.capFactor) };
}

/**
 * Base of the aggregators that move the model a consensus step toward each
 * peer (average, choco): options, checks, weights and counters are shared;
 * a subclass gives its name and its update rule.
 */
export abstract class ConsensusAggregator implements Aggregator {
  abstract readonly name: string;
  readonly options: Readonly<MergeOptions>;

  /** Throws MergeError('bad-options') for gamma outside (0, 1] or a non-positive cap or norm ratio. */
  constructor(options: Partial<MergeOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_MERGE_OPTIONS, ...options });
    validateMergeOptions(this.options);
  }

  /** Moves `local` (in place) by `step` toward one peer. */
  protected abstract step(local: Float32Array, peer: PeerContribution, step: number): void;

  aggregate(local: LocalContribution, peers: readonly PeerContribution[]): Aggregation {
    return consensusAggregate(this.options, (x, peer, step) => this.step(x, peer, step), local, peers);
  }
}
