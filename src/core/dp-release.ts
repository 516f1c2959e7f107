/**
 * Differential privacy for what a node shares: the one place where an
 * update is clipped and noised before it leaves the device, used by the
 * gossip core (gossip-node.ts) in the daemon and in the simulator alike.
 *
 * What is released. Under the delta scheme (src/protocol/session.ts) a peer
 * is sent Q(x - replica), and snapshots send Q(x). Noising each of those
 * separately would spend privacy on every frame, and snapshots would release
 * the whole model. Instead the node keeps one released model P, public by
 * construction, and every frame to every peer is computed from P instead of
 * the private local model x (deltas against the replicas, snapshots,
 * resyncs, answers to joiners): post-processing of P, free of privacy cost.
 * P only moves by a release, at most one per exchange and side:
 *
 *   d = x - P;  P <- P + d * min(1, C / ||d||_2) + N(0, (Z C)^2 I)
 *
 * the Gaussian mechanism (Dwork and Roth 2014, Appendix A) on an update of
 * L2 norm at most C: the clipped update of this device against what its
 * peers already hold. P starts at `publicBase`, a model every peer can
 * compute (the seeded initialization). The accountant (rdp-accountant.ts)
 * charges alpha / (2 Z^2) per release. Sensitivity C means: the released
 * update against one in which this device contributed nothing (add/remove
 * adjacency at the level of one release of one device). Who may replace a
 * device's contribution by another one (replace adjacency) should read the
 * guarantee as that of Z / 2.
 *
 * The budget: a release that would take epsilon past `epsilonBudget` is not
 * made; from then on `release` returns null and the node shares nothing new.
 *
 *   const dp = new DpRelease({ clip: 1, noiseMultiplier: 1.1, delta: 1e-5, epsilonBudget: 8 }, { publicBase, random });
 *   const p = dp.release(x);   // a copy of the new P, or null when the budget is spent
 *
 * Randomness: `random` must be unpredictable to everyone else in a real
 * deployment (the daemon passes a CSPRNG); the simulator passes a seeded one.
 */
import { RdpAccountant, type RdpLedger } from './rdp-accountant.ts';

/** Delta of the reported (epsilon, delta) unless --dp-delta says otherwise. */
export const DEFAULT_DP_DELTA = 1e-5;

export interface DpSettings {
  /** C: L2 norm bound of one released update (> 0). */
  clip: number;
  /** Z: noise standard deviation per coordinate is Z * C (> 0). */
  noiseMultiplier: number;
  /** delta of the reported (epsilon, delta), in (0, 1). */
  delta: number;
  /** Stop releasing before epsilon would pass this; null = no budget (epsilon is still tracked). */
  epsilonBudget: number | null;
}

/** `/metrics` `privacy.dp` (docs/architecture.md "Contracts"). */
export interface DpStatus {
  clip: number;
  noiseMultiplier: number;
  delta: number;
  epsilon: number;
  releases: number;
  budget: number | null;
  exhausted: boolean;
}

export interface DpReleaseOptions {
  /** P before the first release: parameters every peer can compute (the seeded initial model). Copied. */
  publicBase: Float32Array;
  /** Uniform [0, 1) source for the Gaussian noise. */
  random: () => number;
  /** What earlier runs of this node spent (the daemon persists it in its state dir). */
  ledger?: RdpLedger;
  /** Called with the new ledger before each release is made public; if it throws, nothing is released. */
  beforeRelease?: (ledger: RdpLedger) => void;
  /** Called once, when the budget first refuses a release. */
  onExhausted?: () => void;
}

/** Checks settings; throws RangeError naming the bad one. */
export function checkDpSettings(settings: DpSettings): void {
  if (!(settings.clip > 0) || !Number.isFinite(settings.clip)) throw new RangeError(`clip must be a positive number, got ${settings.clip}`);
  if (!(settings.noiseMultiplier > 0) || !Number.isFinite(settings.noiseMultiplier)) throw new RangeError(`noise multiplier must be a positive number, got ${settings.noiseMultiplier}`);
  if (!(settings.delta > 0 && settings.delta < 1)) throw new RangeError(`delta must be in (0, 1), got ${settings.delta}`);
  if (settings.epsilonBudget !== null && !(settings.epsilonBudget > 0)) throw new RangeError(`epsilon budget must be > 0, got ${settings.epsilonBudget}`);
}

export class DpRelease {
  readonly settings: DpSettings;
  readonly accountant: RdpAccountant;
  private readonly released: Float32Array;
  private readonly gaussian: () => number;
  private readonly beforeRelease: ((ledger: RdpLedger) => void) | undefined;
  private readonly onExhausted: (() => void) | undefined;
  private exhaustedValue = false;

  constructor(settings: DpSettings, options: DpReleaseOptions) {
    checkDpSettings(settings);
    this.settings = { ...settings };
    this.released = Float32Array.from(options.publicBase);
    this.accountant = new RdpAccountant(options.ledger);
    this.gaussian = gaussianSource(options.random);
    this.beforeRelease = options.beforeRelease;
    this.onExhausted = options.onExhausted;
    // A restart after the budget ran out stays silent.
    if (settings.epsilonBudget !== null && this.accountant.epsilonAfter(settings.noiseMultiplier, settings.delta) > settings.epsilonBudget) this.exhaustedValue = true;
  }

  /** True once a release was refused for the budget (it stays so). */
  get exhausted(): boolean {
    return this.exhaustedValue;
  }

  /** The latest release P (owned: do not write; copy to keep). Equals publicBase before the first release. */
  get latest(): Float32Array {
    return this.released;
  }

  /** Whether the next release fits the budget (false once exhausted). */
  canRelease(): boolean {
    const { epsilonBudget, noiseMultiplier, delta } = this.settings;
    if (this.exhaustedValue) return false;
    if (epsilonBudget === null) return true;
    if (this.accountant.epsilonAfter(noiseMultiplier, delta) <= epsilonBudget) return true;
    this.exhaustedValue = true;
    this.onExhausted?.();
    return false;
  }

  /**
   * One release from the private parameters `local` (same length as
   * publicBase): P moves by the clipped difference plus noise. Returns a copy of the new P, or
   * null (nothing released, nothing spent) once the budget forbids it.
   */
  release(local: Float32Array): Float32Array | null {
    if (local.length !== this.released.length) throw new RangeError(`local model has ${local.length} parameters, the released one ${this.released.length}`);
    if (!this.canRelease()) return null;
    const { clip, noiseMultiplier } = this.settings;
    const p = this.released;
    let squared = 0;
    for (let i = 0; i < p.length; i++) {
      const d = local[i]! - p[i]!;
      squared += d * d;
    }
    const norm = Math.sqrt(squared);
    const scale = norm > clip ? clip / norm : 1;
    const std = noiseMultiplier * clip;
    const next = new Float32Array(p.length);
    for (let i = 0; i < p.length; i++) next[i] = p[i]! + (local[i]! - p[i]!) * scale + std * this.gaussian();
    // Spend first (and let the daemon persist the spending): a release is never public before it is counted.
    const after = new RdpAccountant(this.accountant.ledger());
    after.addGaussian(noiseMultiplier);
    this.beforeRelease?.(after.ledger());
    this.accountant.addGaussian(noiseMultiplier);
    p.set(next);
    return Float32Array.from(p);
  }

  /** `/metrics` `privacy.dp`. */
  status(): DpStatus {
    const { clip, noiseMultiplier, delta, epsilonBudget } = this.settings;
    return { clip, noiseMultiplier, delta, epsilon: this.accountant.epsilon(delta), releases: this.accountant.releases, budget: epsilonBudget, exhausted: this.exhaustedValue };
  }
}

/** Standard normal samples from a uniform [0, 1) source (Box-Muller, both values of each pair used). */
export function gaussianSource(random: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    // 1 - u is in (0, 1]: the logarithm stays finite.
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}
