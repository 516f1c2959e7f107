/**
 * Weight quantization in the format of the TensorFlow.js weights manifest, so
 * that `tf.loadLayersModel` dequantizes by itself: a manifest entry keeps
 * `dtype: 'float32'` and adds `quantization: {dtype: 'uint8' | 'uint16',
 * scale, min}` (the loader computes `q * scale + min`) or `{dtype:
 * 'float16'}` (checked against decodeWeight in
 * node_modules/@tensorflow/tfjs-core/dist/io/io_utils.js, tfjs 4.22).
 *
 *   const { bytes, quantization } = quantizeWeightValues(kernel, 'uint8');
 *   // bytes: one byte per value; quantization: { dtype: 'uint8', scale, min }
 *
 * Affine quantization over [min(values, 0), max(values, 0)] with the range
 * nudged so that 0 is exactly representable (as TensorFlow's own quantizers
 * do): a pruned (zero) weight stays exactly zero after dequantization, and
 * the zeros of a pruned tensor are one repeated byte, which gzip shrinks.
 * Error per value: at most `scale` (scale/2 from rounding plus at most
 * scale/2 from the nudge), where scale = range / 255 (uint8) or / 65535
 * (uint16); float16 has a relative error of at most 2^-11 (src/common/half-float.ts).
 */
import { encodeHalfBits, halfBitsToFloat } from '../../common/half-float.ts';
import { GossipLearnError } from '../../common/errors.ts';

/** `--quantize` values (contract names). */
export const WEIGHT_QUANTIZATIONS = ['none', 'float16', 'uint16', 'uint8'] as const;
export type WeightQuantization = (typeof WEIGHT_QUANTIZATIONS)[number];

export function isWeightQuantization(s: string): s is WeightQuantization {
  return (WEIGHT_QUANTIZATIONS as readonly string[]).includes(s);
}

/** The `quantization` field of a tfjs weights-manifest entry. */
export type ManifestQuantization = { dtype: 'float16' } | { dtype: 'uint8' | 'uint16'; scale: number; min: number };

export interface QuantizedWeight {
  /** The stored bytes: 4 (none), 2 (float16, uint16) or 1 (uint8) per value, little-endian. */
  bytes: Uint8Array;
  /** null for 'none' (plain float32). */
  quantization: ManifestQuantization | null;
}

export class WeightQuantizationError extends GossipLearnError<'non-finite'> {
  override readonly name = 'WeightQuantizationError';
}

/** Quantizes one weight tensor's values. Throws WeightQuantizationError('non-finite') for NaN/Infinity. */
export function quantizeWeightValues(values: Float32Array, mode: WeightQuantization): QuantizedWeight {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new WeightQuantizationError('non-finite', `weight value ${i} is ${values[i]}: refusing to export a diverged model`);
  }
  if (mode === 'none') {
    // Host byte order, as tfjs's own encodeWeights writes it (little-endian on every platform tfjs runs on).
    return { bytes: new Uint8Array(Float32Array.from(values).buffer), quantization: null };
  }
  if (mode === 'float16') return { bytes: encodeHalfBits(values), quantization: { dtype: 'float16' } };
  return affineQuantize(values, mode);
}

function affineQuantize(values: Float32Array, dtype: 'uint8' | 'uint16'): QuantizedWeight {
  const levels = dtype === 'uint8' ? 255 : 65535;
  let lo = 0;
  let hi = 0;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
  if (hi === lo) return { bytes: new Uint8Array(out.buffer), quantization: { dtype, scale: 1, min: 0 } }; // all zeros
  const scale = (hi - lo) / levels;
  // Nudge: the zero point is an integer, so q = zeroPoint dequantizes to exactly 0 (zeroPoint * scale + min, min = -zeroPoint * scale).
  const zeroPoint = Math.round(-lo / scale);
  const min = -zeroPoint * scale;
  for (let i = 0; i < values.length; i++) {
    const q = Math.round((values[i]! - min) / scale);
    out[i] = q < 0 ? 0 : q > levels ? levels : q;
  }
  return { bytes: new Uint8Array(out.buffer), quantization: { dtype, scale, min } };
}

/** What the tfjs loader computes from `bytes` (for tests and size/error reports): float32 values. */
export function dequantizeWeightValues(bytes: Uint8Array, quantization: ManifestQuantization | null, count: number): Float32Array {
  const aligned = bytes.slice(); // typed views need an aligned buffer of their own
  if (quantization === null) return new Float32Array(aligned.buffer, 0, count);
  if (quantization.dtype === 'float16') {
    const halves = new Uint16Array(aligned.buffer, 0, count);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = halfBitsToFloat(halves[i]!);
    return out;
  }
  const q = quantization.dtype === 'uint8' ? aligned : new Uint16Array(aligned.buffer, 0, count);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = q[i]! * quantization.scale + quantization.min;
  return out;
}

