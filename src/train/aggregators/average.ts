/**
 * The capped weighted average (classic gossip learning: Ormándi, Hegedűs and
 * Jelasity 2013, "Gossip learning with linear models on fully distributed
 * data"): move our parameters toward our replica of each peer's model,
 *   x += gamma * w_peer * (peer - x),
 * where w_peer is the peer's capped, normalized weight by age (or samples).
 * With gamma = 1 and one peer this is the weighted average of the two models.
 * Needs an accurate estimate of the peer (a dense codec, or replicas that keep up).
 */
import type { PeerContribution } from './aggregator.ts';
import { ConsensusAggregator } from './consensus.ts';

export class AverageAggregator extends ConsensusAggregator {
  readonly name = 'average';

  protected step(local: Float32Array, peer: PeerContribution, step: number): void {
    const target = peer.params;
    for (let i = 0; i < local.length; i++) local[i] = local[i]! + step * (target[i]! - local[i]!);
  }
}
