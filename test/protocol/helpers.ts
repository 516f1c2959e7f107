/** Shared helpers for the protocol tests: seeded vectors and an independent reading of codec specs for error bounds. */
import { createRandom } from '../../src/train/random.ts';
import type { Random } from '../../src/train/random.ts';

export { createRandom };
export type { Random };

/** Gaussian-ish values with a few large outliers (like parameter deltas). */
export function deltaLike(random: Random, n: number, scale = 0.01): Float32Array {
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    values[i] = g * scale * (random() < 0.02 ? 10 : 1);
  }
  return values;
}

export interface ParsedSpec {
  topk: { fraction?: number; count?: number } | null;
  value: { kind: 'f32' } | { kind: 'f16' } | { kind: 'q'; bits: number; block: number };
  entropy: string | null;
}

/** Reads a spec the test's own way (not through the registry), to derive the expected bounds. */
export function parseSpecForTest(spec: string): ParsedSpec {
  const tokens = spec.split('+');
  let topk: ParsedSpec['topk'] = null;
  if (tokens[0]!.startsWith('topk:')) {
    const arg = tokens.shift()!.slice(5);
    topk = arg.includes('.') ? { fraction: Number(arg) } : { count: Number(arg) };
  }
  const valueToken = tokens.shift()!;
  let value: ParsedSpec['value'];
  if (valueToken === 'f32' || valueToken === 'f16') value = { kind: valueToken };
  else {
    const [name, block] = valueToken.split(':');
    value = { kind: 'q', bits: Number(name!.slice(1)), block: block === undefined ? 256 : Number(block) };
  }
  return { topk, value, entropy: tokens.shift() ?? null };
}

export function expectedTopk(parsed: ParsedSpec, n: number): number {
  if (parsed.topk === null || n === 0) return n;
  if (parsed.topk.count !== undefined) return Math.min(parsed.topk.count, n);
  return Math.min(n, Math.max(1, Math.round(parsed.topk.fraction! * n)));
}

/**
 * Per-element error bound for the value stage on `kept` values (the stated
 * bounds of the stage modules), with a small allowance for float rounding.
 */
export function valueBounds(parsed: ParsedSpec, kept: Float32Array, stochastic: boolean): Float64Array {
  const bounds = new Float64Array(kept.length);
  const v = parsed.value;
  if (v.kind === 'f32') return bounds;
  if (v.kind === 'f16') {
    for (let i = 0; i < kept.length; i++) {
      const a = Math.abs(kept[i]!);
      bounds[i] = a > 65504 ? a - 65504 + 32 : Math.max(a * 2 ** -11, 2 ** -25) * (1 + 1e-9);
    }
    return bounds;
  }
  for (let start = 0; start < kept.length; start += v.block) {
    const end = Math.min(start + v.block, kept.length);
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, Math.abs(kept[i]!));
    // q1: deterministic +-mean|v| (bound m), stochastic +-m (bound 2m).
    // b >= 2: step s = m / (2^(b-1) - 1); bound s/2 deterministic, s stochastic.
    const step = v.bits === 1 ? 2 * m : m / (2 ** (v.bits - 1) - 1);
    const bound = stochastic ? step : v.bits === 1 ? m : step / 2;
    for (let i = start; i < end; i++) bounds[i] = bound * (1 + 1e-6) + m * 2 ** -23;
  }
  return bounds;
}

export function relativeL2(values: Float32Array, decoded: Float32Array): number {
  let error = 0;
  let norm = 0;
  for (let i = 0; i < values.length; i++) {
    error += (decoded[i]! - values[i]!) ** 2;
    norm += values[i]! ** 2;
  }
  return norm === 0 ? (error === 0 ? 0 : Infinity) : Math.sqrt(error / norm);
}
