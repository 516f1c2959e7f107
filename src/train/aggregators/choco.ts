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
import type { PeerContribution } from './aggregator.ts';
import { ConsensusAggregator } from './consensus.ts';

export class ChocoAggregator extends ConsensusAggregator {
  readonly name = 'choco';

  protected step(local: Float32Array, peer: PeerContribution, step: number): void {
    const target = peer.params;
    const base = peer.selfReplica !== null && peer.selfReplica.length === local.length ? peer.selfReplica : local;
    for (let i = 0; i < local.length; i++) local[i] = local[i]! + step * (target[i]! - base[i]!);
  }
}
