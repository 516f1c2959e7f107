/**
 * Renyi differential privacy accountant for the Gaussian mechanism
 * (Mironov 2017, "Renyi Differential Privacy", CSF; Table 2 and Prop. 1).
 *
 * A release adds Gaussian noise of standard deviation Z*C to a vector whose
 * L2 sensitivity is C (src/core/dp-release.ts clips every update to norm C).
 * At order alpha > 1 it is (alpha, alpha / (2 Z^2))-RDP; RDP composes by
 * adding, so T releases cost T * alpha / (2 Z^2) at every order. The
 * accountant keeps that sum on a fixed grid of orders (so releases with
 * different Z compose too) and converts it to (epsilon, delta)-DP by the
 * conversion of Balle et al. 2020 ("Hypothesis Testing Interpretations and
 * Renyi Differential Privacy", AISTATS, Theorem 21; also Canonne, Kamath and
 * Steinke 2020, Prop. 12):
 *
 *   epsilon = min over alpha of  rdp(alpha) + log((alpha - 1) / alpha) - (log(delta) + log(alpha)) / (alpha - 1)
 *
 * which is never larger than Mironov's Prop. 3, rdp(alpha) + log(1/delta) / (alpha - 1)
 * (`classicEpsilon`, kept for comparison and tests). Both are upper bounds:
 * the exact epsilon of the Gaussian mechanism (Balle and Wang 2018) is lower.
 *
 *   const accountant = new RdpAccountant();
 *   accountant.addGaussian(1.1);               // one release with Z = 1.1
 *   accountant.epsilon(1e-5);                  // grows with every release, never shrinks
 */

/** Orders alpha of the grid: dense near 1 (many releases / little noise), sparse up to 4096 (few releases / much noise). */
export const RDP_ORDERS: readonly number[] = [
  ...Array.from({ length: 39 }, (_, i) => 1.05 + 0.05 * i), // 1.05 .. 2.95
  ...Array.from({ length: 62 }, (_, i) => 3 + i), // 3 .. 64
  80, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048, 3072, 4096,
];

/** RDP of one Gaussian release at order `alpha` for noise multiplier `z` (std / sensitivity): alpha / (2 z^2). */
export function gaussianRdp(alpha: number, z: number): number {
  return alpha / (2 * z * z);
}

/** (epsilon, delta) from an RDP guarantee at one order (Balle et al. 2020, Theorem 21). */
export function rdpToEpsilon(rdp: number, alpha: number, delta: number): number {
  return rdp + Math.log((alpha - 1) / alpha) - (Math.log(delta) + Math.log(alpha)) / (alpha - 1);
}

/** (epsilon, delta) from an RDP guarantee at one order by Mironov 2017, Prop. 3: rdp + log(1/delta) / (alpha - 1). */
export function classicEpsilon(rdp: number, alpha: number, delta: number): number {
  return rdp + Math.log(1 / delta) / (alpha - 1);
}

function checkDelta(delta: number): void {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta must be in (0, 1), got ${delta}`);
}

function checkNoise(z: number): void {
  if (!(z > 0) || !Number.isFinite(z)) throw new RangeError(`noise multiplier must be a positive number, got ${z}`);
}

/** What an accountant has spent: releases and the RDP sum at each order of RDP_ORDERS (persisted by the daemon). */
export interface RdpLedger {
  releases: number;
  rdp: number[];
}

export class RdpAccountant {
  private readonly rdp: Float64Array;
  private releasesValue = 0;

  /** Starts empty, or from a ledger saved by `ledger()` (throws RangeError when it does not fit the grid). */
  constructor(saved?: RdpLedger) {
    this.rdp = new Float64Array(RDP_ORDERS.length);
    if (saved !== undefined) {
      if (saved.rdp.length !== RDP_ORDERS.length || !saved.rdp.every((v) => Number.isFinite(v) && v >= 0) || !Number.isSafeInteger(saved.releases) || saved.releases < 0) {
        throw new RangeError('privacy ledger does not match the accountant (orders or values)');
      }
      this.rdp.set(saved.rdp);
      this.releasesValue = saved.releases;
    }
  }

  /** Releases accounted so far. */
  get releases(): number {
    return this.releasesValue;
  }

  /** Accounts `count` Gaussian releases with noise multiplier `z`. */
  addGaussian(z: number, count = 1): void {
    checkNoise(z);
    for (let i = 0; i < RDP_ORDERS.length; i++) this.rdp[i] = this.rdp[i]! + count * gaussianRdp(RDP_ORDERS[i]!, z);
    this.releasesValue += count;
  }

  /** The smallest epsilon over the grid for which everything released so far is (epsilon, delta)-DP; 0 before any release. */
  epsilon(delta: number): number {
    checkDelta(delta);
    if (this.releasesValue === 0) return 0;
    return this.bestEpsilon((i) => this.rdp[i]!, delta);
  }

  /** Epsilon after `count` more releases with noise multiplier `z` (nothing is spent). */
  epsilonAfter(z: number, delta: number, count = 1): number {
    checkDelta(delta);
    checkNoise(z);
    return this.bestEpsilon((i) => this.rdp[i]! + count * gaussianRdp(RDP_ORDERS[i]!, z), delta);
  }

  /** A copy of what was spent, for `new RdpAccountant(ledger)`. */
  ledger(): RdpLedger {
    return { releases: this.releasesValue, rdp: Array.from(this.rdp) };
  }

  private bestEpsilon(rdpAt: (i: number) => number, delta: number): number {
    let best = Infinity;
    for (let i = 0; i < RDP_ORDERS.length; i++) best = Math.min(best, rdpToEpsilon(rdpAt(i), RDP_ORDERS[i]!, delta));
    // Epsilon is never negative (a tiny rdp with a huge delta could make the formula dip below 0).
    return Math.max(0, best);
  }
}

/**
 * The smallest noise multiplier Z (to 0.1%) with which `releases` Gaussian
 * releases stay within (epsilon, delta) by this accountant: how to set
 * `--dp-noise-multiplier` for a planned number of releases. Bisection on the
 * epsilon of a fresh accountant, which falls as Z grows.
 */
export function noiseMultiplierFor(target: { epsilon: number; delta: number; releases: number }): number {
  if (!(target.epsilon > 0)) throw new RangeError(`epsilon must be > 0, got ${target.epsilon}`);
  if (!Number.isSafeInteger(target.releases) || target.releases < 1) throw new RangeError(`releases must be a positive integer, got ${target.releases}`);
  const spent = (z: number): number => new RdpAccountant().epsilonAfter(z, target.delta, target.releases);
  let low = 1e-3;
  let high = 1;
  while (spent(high) > target.epsilon) {
    high *= 2;
    if (high > 1e7) throw new RangeError(`no noise multiplier up to 1e7 reaches epsilon ${target.epsilon}`);
  }
  while (high - low > high * 1e-3) {
    const mid = (low + high) / 2;
    if (spent(mid) > target.epsilon) low = mid;
    else high = mid;
  }
  return high;
}
