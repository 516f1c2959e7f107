/**
 * Centered clipping (Karimireddy, He and Jaggi 2021, "Learning from history
 * for Byzantine robust optimization") in its decentralized form, centered on
 * our own model (He, Karimireddy and Jaggi 2022, "Byzantine-robust
 * decentralized learning via ClippedGossip"): each peer's pull is clipped
 * around our model,
 *   x += gamma * w_peer * clip(peer - x, tau),
 * with tau adaptive: CENTERED_CLIP_RADIUS_MULTIPLIER x the median of the
 * latest distances from our model of the other recently heard peers (up to
 * 8; scalars only, no model copies); a peer beyond it is a suspect. While honest peers are the majority
 * around us, tau tracks their spread, so a peer far outside it pulls no
 * harder than a typical honest one, and its weight then falls with its
 * suspicion (peer-trust.ts). Beyond tau the pull also falls off
 * (redescending, as in Hampel's robust M-estimators: scale (tau / gap)^2
 * instead of the paper's tau / gap), so a peer ten times further than the
 * others pulls a tenth as hard as one at the edge. With several peers at
 * once, each is clipped around our model (the paper's one iteration from a
 * good center). The first peer heard has no reference and is not clipped
 * (its weight is ramped down then, robust.ts).
 */
import { LruMap } from '../../common/lru.ts';
import type { PeerContribution } from './aggregator.ts';
import { distance, medianOf, RobustAggregator, ROBUST_WINDOW_PEERS, type MergeTarget } from './robust.ts';

/**
 * tau in units of the median distance of the other recent peers: honest
 * peers up to twice as far as the typical one pass unclipped. Measured
 * (bench:convergence, 3 partners per node, mean / worst node; the plain
 * average 81.8% / 79.1%): 1.5 gave 80.5% / 73.6%, 2 gave 80.4% / 77.0%;
 * the paper's hard clip (scale tau / gap) at 2 gave 81.4% / 77.8% but let
 * bench:poison's sign-flip cost 4.8 points instead of 1.8.
 */
export const CENTERED_CLIP_RADIUS_MULTIPLIER = 2;
/** A peer beyond this many radii counts as a suspect (at 2, bench:poison's age hijacker, a model trained alone, went unsuspected and cost 8.6 points instead of 5). */
export const CENTERED_CLIP_SUSPECT_RADII = 1;

export class CenteredClipAggregator extends RobustAggregator {
  readonly name = 'centered-clip';
  /** Latest distance of each recently heard peer from our model at that merge. */
  private readonly gaps = new LruMap<string, number>(ROBUST_WINDOW_PEERS);

  /** Clipping radius for `peerId` now: from the other peers' distances, Infinity with no other peer heard yet. */
  radiusFor(peerId: string): number {
    const others = [...this.gaps].filter(([id]) => id !== peerId).map(([, gap]) => gap);
    return others.length === 0 ? Infinity : CENTERED_CLIP_RADIUS_MULTIPLIER * medianOf(others);
  }

  protected target(local: Float32Array, peer: PeerContribution): MergeTarget {
    const gap = distance(peer.params, local);
    const tau = this.radiusFor(peer.peerId);
    this.gaps.set(peer.peerId, gap);
    if (!(gap > tau)) return { target: peer.params, suspect: false };
    const scale = (tau / gap) ** 2;
    const target = new Float32Array(local.length);
    for (let i = 0; i < local.length; i++) target[i] = local[i]! + scale * (peer.params[i]! - local[i]!);
    return { target, suspect: gap > CENTERED_CLIP_SUSPECT_RADII * tau };
  }
}
