/**
 * IEEE 754 binary16 ("half") conversion, shared by the wire codec's `f16`
 * stage (src/protocol/codec/f16.ts) and the float16 weights of an exported
 * model (src/train/export/weight-quantization.ts).
 * Encode rounds to nearest (ties to even). Relative error <= 2^-11 for
 * |v| in the normal range [2^-14, 65504]; absolute error <= 2^-25 below it
 * (subnormals, flush to zero under 2^-25). Values beyond the largest finite
 * half (65504) SATURATE to +-65504 rather than become Infinity.
 *
 *   const bytes = encodeHalfBits(Float32Array.of(1, -0.5));   // 2 bytes per value, little-endian
 *   halfBitsToFloat(float32ToHalfBits(0.1));                   // 0.0999755859375
 */
export const MAX_FINITE_HALF_BITS = 0x7bff;
export const EXPONENT_MASK_HALF = 0x7c00;

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 -> binary16 bits, round to nearest even, saturating. `value` must be finite. */
export function float32ToHalfBits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  const mantissa = x & 0x7fffff;
  if (exponent >= 31) return sign | MAX_FINITE_HALF_BITS;
  if (exponent <= 0) {
    if (exponent < -10) return sign; // below half the smallest subnormal: rounds to zero
    const full = mantissa | 0x800000;
    const shift = 14 - exponent;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    if (rest > midpoint || (rest === midpoint && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // a carry into the exponent is correct rounding
  if (half >= EXPONENT_MASK_HALF) return sign | MAX_FINITE_HALF_BITS;
  return sign | half;
}

/** binary16 bits -> number (Inf/NaN patterns included; callers reject them first). */
export function halfBitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

let decodeTable: Float32Array | null = null;

/** 65536-entry lookup table (256 KiB), built on first decode. */
export function halfTable(): Float32Array {
  if (decodeTable === null) {
    decodeTable = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) decodeTable[bits] = halfBitsToFloat(bits);
  }
  return decodeTable;
}

/** Node 24's native Float16Array (not in TypeScript's ES2023 lib yet); undefined on older runtimes. */
type Float16ArrayLike = { set(values: ArrayLike<number>): void; readonly buffer: ArrayBuffer };
const NativeFloat16Array = (globalThis as { Float16Array?: new (length: number) => Float16ArrayLike }).Float16Array;

/** binary16 bits of every value, little-endian, saturating; `values` must be finite (the scalar path). */
export function encodeHalfBitsScalar(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  for (let i = 0, o = 0; i < values.length; i++, o += 2) {
    const bits = float32ToHalfBits(values[i]!);
    out[o] = bits & 0xff;
    out[o + 1] = bits >>> 8;
  }
  return out;
}

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * binary16 bits of every value, 2 bytes each, little-endian, saturating at
 * +-65504; `values` must be finite (callers check: a NaN stays NaN bits).
 */
export function encodeHalfBits(values: Float32Array): Uint8Array {
  if (NativeFloat16Array !== undefined && hostIsLittleEndian) {
    // The engine's conversion (round to nearest even, measured ~4x faster than the scalar loop),
    // then overflow to +-Infinity is turned into the same saturation as float32ToHalfBits.
    const halves = new NativeFloat16Array(values.length);
    halves.set(values);
    const bits = new Uint16Array(halves.buffer);
    for (let i = 0; i < bits.length; i++) {
      const b = bits[i]!;
      if ((b & 0x7fff) === EXPONENT_MASK_HALF) bits[i] = (b & 0x8000) | MAX_FINITE_HALF_BITS;
    }
    return new Uint8Array(halves.buffer);
  }
  return encodeHalfBitsScalar(values);
}
