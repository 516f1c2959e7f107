/**
 * The aggregator interface: how a gossip node folds what it knows of its
 * peers' models into its own. Every merge rule (the plain capped weighted
 * average, CHOCO-gossip's consensus step, and the robust rules of robust.ts)
 * implements it, and one contract test suite (test/train/aggregators) holds
 * them all to the same promises:
 *   - the mixing weights (index 0 = our own) are >= 0 and sum to one;
 *   - a peer's weight is at most `capFactor` times our own (a peer can claim
 *     any age);
 *   - a peer estimate with NaN/Inf, the wrong length or an outsized norm is a
 *     typed rejection, and then the local parameters are left untouched.
 *
 *   const aggregator = createAggregator('average');
 *   const local = { params: model.read().params, age, samplesSeen };
 *   const result = aggregator.aggregate(local, [{ peerId, params, selfReplica, age, samplesSeen }]);
 *   if (result.status === 'merged') model.write(local.params, result.counters);
 *
 * Pure (Float32Array in, Float32Array out): the daemon and the simulator run
 * the same code through src/core/gossip-node.ts.
 */
import type { MergeRejectReason, TrainingCounters } from '../merge.ts';

/** What we know of one peer's model: our decoded replica of it (src/protocol/session.ts). */
export interface PeerContribution extends TrainingCounters {
  peerId: string;
  /** Our replica of the peer's model (read only, paramCount values). */
  params: Float32Array;
  /** Our own model as the peer holds it (read only), or null when the pair has none yet. */
  selfReplica: Float32Array | null;
}

/** The local model: `params` is a working copy the aggregator overwrites on 'merged' (never on 'rejected'). */
export interface LocalContribution extends TrainingCounters {
  params: Float32Array;
}

export type Aggregation =
  | {
      status: 'merged';
      /** Normalized, capped mixing weights before the consensus step: index 0 is ours, then one per peer; they sum to one. */
      weights: number[];
      /** Fraction of the way moved toward each peer (gamma * weight), one per peer, each in [0, 1]. */
      steps: number[];
      /** Training counters the merged model carries (own training plus the peers' capped claims). */
      counters: TrainingCounters;
      /** Peers whose estimate the rule cut down (clipped, trimmed, far from the target); robust rules only. */
      suspects?: readonly string[];
    }
  | {
      status: 'rejected';
      reason: MergeRejectReason;
      /** The peer whose estimate was refused. */
      peerId: string;
    };

export interface Aggregator {
  /** Registry name (src/train/aggregators/index.ts). */
  readonly name: string;
  /**
   * Merges `peers` into `local.params` in place and returns the weights used,
   * or rejects (local untouched). Throws MergeError only for caller bugs
   * (bad options); a bad peer estimate is a result, never an exception.
   */
  aggregate(local: LocalContribution, peers: readonly PeerContribution[]): Aggregation;
}
