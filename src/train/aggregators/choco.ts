/**
 * CHOCO-gossip's consensus step (Koloskova, Stich and Jaggi 2019, "Decentralized
 * stochastic optimization and gossip algorithms with compressed
 * communication"): move by the difference of the pair's two public replicas,
 *   x += gamma * w_peer * (peerReplica - selfReplica),
 * not toward the peer replica itself. Under heavy compression both replicas
 * lag their models the same way, so the lag cancels instead of pulling the
 * model back toward a stale estimate. Needs `selfReplica` (our model as the
 * peer holds it); a pair that has none yet takes the average step for that peer.
 */
import { DEFAULT_MERGE_OPTIONS, type MergeOptions } from '../merge.ts';
import type { Aggregation, Aggregator, LocalContribution, PeerContribution } from './aggregator.ts';
import { consensusAggregate, validateMergeOptions } from './consensus.ts';

export class ChocoAggregator implements Aggregator {
  readonly name = 'choco';
  readonly options: Readonly<MergeOptions>;

  /** Throws MergeError('bad-options') for gamma outside (0, 1] or a non-positive cap or norm ratio. */
  constructor(options: Partial<MergeOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_MERGE_OPTIONS, ...options });
    validateMergeOptions(this.options);
  }

  aggregate(local: LocalContribution, peers: readonly PeerContribution[]): Aggregation {
    return consensusAggregate(this.options, chocoStep, local, peers);
  }
}

function chocoStep(local: Float32Array, peer: PeerContribution, step: number): void {
  const target = peer.params;
  const base = peer.selfReplica !== null && peer.selfReplica.length === local.length ? peer.selfReplica : local;
  for (let i = 0; i < local.length; i++) local[i] = local[i]! + step * (target[i]! - base[i]!);
}
