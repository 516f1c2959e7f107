/**
 * Norm clipping relative to the local model's recent movement: the step
 * toward a peer that lies within `tau` is the average step; beyond it the
 * pull falls off (redescends, as in Hampel's robust M-estimators),
 *   target = x + min(1, (tau / ||peer - x||)^2) * (peer - x),
 * so a peer at distance tau moves us as far as any can, and one ten times
 * further a tenth of that,
 * where tau = CLIP_MOVEMENT_MULTIPLIER x the exponential moving average of how
 * far our own TRAINING moved the model between two merges (from the model a
 * merge left to the model the next merge finds). A peer can then never drag
 * the model further in one merge than a few intervals of our own training
 * would, however large its update is (clipping the update norm: Sun,
 * Kairouz, Suresh and McMahan 2019, "Can you really backdoor federated
 * learning?"). Merges do not feed tau: a tau fed by merged movement grows
 * under attack (each clipped merge moves the model by w x tau, which raises
 * tau again). Measured weakness (bench:poison, sign-flip): an attacker that
 * shifts the model consistently stays within tau early on, when training
 * moves fast, and the honest mean fell to 29% (a movement-fed tau at 4x:
 * 70%); centered-clip.ts, whose radius follows the other peers, kept 75%.
 * Until our model has trained between two merges there is no reference and
 * the step is not clipped (a new peer's weight is ramped down then, robust.ts).
 */
import type { PeerContribution } from './aggregator.ts';
import { distance, RobustAggregator, type MergeTarget } from './robust.ts';

/** tau in units of our own training movement between two merges. */
export const CLIP_MOVEMENT_MULTIPLIER = 10;
const MOVEMENT_EMA_ALPHA = 0.1;

export class NormClipAggregator extends RobustAggregator {
  readonly name = 'clip';
  private previous: Float32Array | null = null;
  private movementEma: number | null = null;

  /** Current clipping radius (L2), or Infinity before the first movement was seen. */
  get radius(): number {
    return this.movementEma === null ? Infinity : CLIP_MOVEMENT_MULTIPLIER * this.movementEma;
  }

  protected override beforeMerge(local: Float32Array): void {
    if (this.previous === null || this.previous.length !== local.length) return;
    const moved = distance(local, this.previous);
    // Two merges with no training in between say nothing about our own movement.
    if (moved > 0) this.movementEma = this.movementEma === null ? moved : this.movementEma + MOVEMENT_EMA_ALPHA * (moved - this.movementEma);
  }

  protected override afterMerge(local: Float32Array): void {
    if (this.previous === null || this.previous.length !== local.length) this.previous = local.slice();
    else this.previous.set(local);
  }

  protected target(local: Float32Array, peer: PeerContribution): MergeTarget {
    const gap = distance(peer.params, local);
    const tau = this.radius;
    if (!(gap > tau)) return { target: peer.params, suspect: false };
    // Redescending beyond tau (Hampel's robust M-estimators): a peer twice as far as tau pulls half as hard as one at tau.
    const scale = (tau / gap) ** 2;
    const target = new Float32Array(local.length);
    for (let i = 0; i < local.length; i++) target[i] = local[i]! + scale * (peer.params[i]! - local[i]!);
    return { target, suspect: true };
  }
}
