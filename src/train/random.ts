/**
 * Seeded randomness for src/train (and anyone else who needs it): a small,
 * fast PRNG with a reproducible stream per seed, plus the few distributions
 * the partitioners and trainer need.
 *
 *   const random = createRandom(deriveSeed(seed, 'shuffle', epoch));
 *   shuffleInPlace(indices, random);
 *
 * mulberry32 is not cryptographic; it is 32-bit state, period 2^32, and good
 * enough for shuffles and Dirichlet draws. Never use it for keys or ids.
 */

/** A function returning uniform floats in [0, 1). */
export type Random = () => number;

/** mulberry32: one 32-bit state word, ~1 ns per draw. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Mixes a base seed with labels (numbers or strings) into a new 32-bit seed,
 * so independent streams (per epoch, per class, per purpose) never overlap
 * by accident the way `seed + 1` would.
 */
export function deriveSeed(seed: number, ...labels: Array<number | string>): number {
  let h = 0x9e3779b9;
  // Each word goes through the full murmur3 finalizer before the next one,
  // so (1, 'b') and (2, 'a') do not cancel out the way a plain XOR would.
  const mix = (value: number): void => {
    h = Math.imul(h ^ (value >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  };
  mix(seed);
  for (const label of labels) {
    if (typeof label === 'number') {
      // Split doubles so large or fractional numbers still mix fully.
      mix(Math.floor(label));
      mix(Math.floor(label / 4294967296));
      mix(Math.round((label - Math.floor(label)) * 4294967296));
    } else {
      for (let i = 0; i < label.length; i++) mix(label.charCodeAt(i));
      mix(label.length);
    }
  }
  return h >>> 0;
}

/** Uniform integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** Fisher-Yates shuffle, in place; returns its argument. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(array: T, random: Random): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = array[i]!;
    array[i] = array[j]!;
    array[j] = tmp;
  }
  return array;
}

/** A random permutation of 0..n-1. */
export function permutation(n: number, random: Random): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return shuffleInPlace(out, random);
}

/** Standard normal draw (Box-Muller; one value per call, simplicity over speed). */
export function normal(random: Random): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * Gamma(shape, 1) draw by Marsaglia and Tsang (2000); shapes below 1 use the
 * boost Gamma(a) = Gamma(a + 1) * U^(1/a), which small Dirichlet alphas need.
 */
export function gamma(random: Random, shape: number): number {
  if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`gamma shape must be a positive finite number, got ${shape}`);
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = random();
    return gamma(random, shape + 1) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * Symmetric Dirichlet(alpha) draw of `k` proportions summing to 1. Tiny
 * alphas can underflow every gamma draw to 0; then all mass goes to one
 * uniformly chosen component, which is the distribution's limit anyway.
 */
export function dirichlet(random: Random, alpha: number, k: number): Float64Array {
  const out = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    out[i] = gamma(random, alpha);
    sum += out[i];
  }
  if (!(sum > 0) || !Number.isFinite(sum)) {
    out.fill(0);
    out[randomInt(random, k)] = 1;
    return out;
  }
  for (let i = 0; i < k; i++) out[i] /= sum;
  return out;
}
