/**
 * Coordinate-wise median over our model and the window of recent peer
 * estimates (Yin, Chen, Ramchandran and Bartlett 2018): per coordinate the
 * middle value, so any minority of estimates, however far off, moves it at
 * most to the edge of the honest values.
 */
import type { PeerContribution } from './aggregator.ts';
import { coordinateMedian } from './coordinate-stats.ts';
import { isFarFromTarget, RobustAggregator, type MergeTarget } from './robust.ts';

export class MedianAggregator extends RobustAggregator {
  readonly name = 'median';

  protected override get keepsWindow(): boolean {
    return true;
  }

  protected target(local: Float32Array, peer: PeerContribution): MergeTarget {
    const points = [local, ...this.window.estimates()];
    const target = coordinateMedian(new Float32Array(local.length), points);
    return { target, suspect: isFarFromTarget(peer.params, target, points) };
  }
}
