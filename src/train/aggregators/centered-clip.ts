/**
 * Centered clipping (Karimireddy, He and Jaggi 2021, "Learning from history
 * for Byzantine robust optimization"), in its decentralized form centered on
 * our own model (He, Karimireddy and Jaggi 2022, "Byzantine-robust
 * decentralized learning via ClippedGossip"): starting at v = x, repeat
 *   v += (1 / n) * sum_j clip(m_j - v, tau)
 * over our model and the window of recent peer estimates m_j (n points),
 * where clip scales a vector down to norm tau. tau is the median distance of
 * the window's estimates from x, so at most half of them are ever clipped:
 * with an honest majority around us, outliers pull by at most tau / n each.
 */
import type { PeerContribution } from './aggregator.ts';
import { distance, isFarFromTarget, medianOf, RobustAggregator, type MergeTarget } from './robust.ts';

/** Clipping iterations; the paper finds 1-3 enough when started at a good center. */
export const CENTERED_CLIP_ITERATIONS = 3;

export class CenteredClipAggregator extends RobustAggregator {
  readonly name = 'centered-clip';

  protected target(local: Float32Array, peer: PeerContribution): MergeTarget {
    const estimates = this.window.estimates();
    const tau = medianOf(estimates.map((m) => distance(m, local)));
    const points = [local, ...estimates];
    const v = local.slice();
    if (tau > 0) {
      const delta = new Float64Array(v.length);
      for (let iteration = 0; iteration < CENTERED_CLIP_ITERATIONS; iteration++) {
        delta.fill(0);
        for (const m of points) {
          const d = distance(m, v);
          const scale = d > tau ? tau / d : 1;
          for (let i = 0; i < v.length; i++) delta[i] = delta[i]! + scale * (m[i]! - v[i]!);
        }
        for (let i = 0; i < v.length; i++) v[i] = v[i]! + delta[i]! / points.length;
      }
    }
    return { target: v, suspect: distance(peer.params, local) > tau && isFarFromTarget(peer.params, v, points) };
  }
}
