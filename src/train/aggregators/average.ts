/**
 * The capped weighted average (classic gossip learning: Ormándi, Hegedűs and
 * Jelasity 2013, "Gossip learning with linear models on fully distributed
 * data"): move our parameters toward our replica of each peer's model,
 *   x += gamma * w_peer * (peer - x),
 * where w_peer is the peer's capped, normalized weight by age (or samples).
 * With gamma = 1 and one peer this is the weighted average of the two models.
 * Needs an accurate estimate of the peer (a dense codec, or replicas that keep up).
 */
import { DEFAULT_MERGE_OPTIONS, type MergeOptions } from '../merge.ts';
import type { Aggregation, Aggregator, LocalContribution, PeerContribution } from './aggregator.ts';
import { consensusAggregate, validateMergeOptions } from './consensus.ts';

export class AverageAggregator implements Aggregator {
  readonly name = 'average';
  readonly options: Readonly<MergeOptions>;

  /** Throws MergeError('bad-options') for gamma outside (0, 1] or a non-positive cap or norm ratio. */
  constructor(options: Partial<MergeOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_MERGE_OPTIONS, ...options });
    validateMergeOptions(this.options);
  }

  aggregate(local: LocalContribution, peers: readonly PeerContribution[]): Aggregation {
    return consensusAggregate(this.options, averageStep, local, peers);
  }
}

function averageStep(local: Float32Array, peer: PeerContribution, step: number): void {
  const target = peer.params;
  for (let i = 0; i < local.length; i++) local[i] = local[i]! + step * (target[i]! - local[i]!);
}
