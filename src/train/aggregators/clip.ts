/**
 * Norm clipping relative to the local model's recent movement: the step
 * toward a peer is cut to at most `tau`,
 *   target = x + min(1, tau / ||peer - x||) * (peer - x),
 * where tau = CLIP_MOVEMENT_MULTIPLIER x the exponential moving average of how
 * far our own model moved between two merges (its training plus the previous
 * merge). A peer can then never drag the model further in one merge than the
 * model travels by itself over a few merges, however large its update is
 * (clipping the update norm: Sun, Kairouz, Suresh and McMahan 2019, "Can you
 * really backdoor federated learning?"). The first merge has no history and
 * is not clipped (a new peer's weight is ramped down then, robust.ts).
 */
import type { PeerContribution } from './aggregator.ts';
import { distance, RobustAggregator, type MergeTarget } from './robust.ts';

/** tau in units of recent movement per merge: an honest merge moves the model about half the pair's distance, so 4x lets honest peers through unclipped. */
export const CLIP_MOVEMENT_MULTIPLIER = 4;
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
    if (this.previous !== null && this.previous.length === local.length) {
      const moved = distance(local, this.previous);
      this.movementEma = this.movementEma === null ? moved : this.movementEma + MOVEMENT_EMA_ALPHA * (moved - this.movementEma);
      this.previous.set(local);
    } else {
      this.previous = local.slice();
    }
  }

  protected target(local: Float32Array, peer: PeerContribution): MergeTarget {
    const gap = distance(peer.params, local);
    const tau = this.radius;
    if (!(gap > tau)) return { target: peer.params, suspect: false };
    const scale = tau / gap;
    const target = new Float32Array(local.length);
    for (let i = 0; i < local.length; i++) target[i] = local[i]! + scale * (peer.params[i]! - local[i]!);
    return { target, suspect: true };
  }
}
