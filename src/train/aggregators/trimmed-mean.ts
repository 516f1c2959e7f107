/**
 * Coordinate-wise trimmed mean over our model and the window of recent peer
 * estimates (Yin, Chen, Ramchandran and Bartlett 2018): per coordinate the
 * TRIM_FRACTION largest and smallest values are dropped and the rest
 * averaged. With 8 peers and our model (9 values) 2 are cut per side, as
 * many as there are byzantine peers in bench:poison.
 */
import type { PeerContribution } from './aggregator.ts';
import { trimmedMean } from './coordinate-stats.ts';
import { isFarFromTarget, RobustAggregator, type MergeTarget } from './robust.ts';

/** Share of the values cut at each end, per coordinate (rounded down; fewer than 3 values are averaged as they are). */
export const TRIM_FRACTION = 0.25;

export class TrimmedMeanAggregator extends RobustAggregator {
  readonly name = 'trimmed-mean';

  protected override get keepsWindow(): boolean {
    return true;
  }

  protected target(local: Float32Array, peer: PeerContribution): MergeTarget {
    const points = [local, ...this.window.estimates()];
    const trim = Math.min(Math.floor(TRIM_FRACTION * points.length), Math.floor((points.length - 1) / 2));
    const target = trimmedMean(new Float32Array(local.length), points, trim);
    return { target, suspect: isFarFromTarget(peer.params, target, points) };
  }
}
