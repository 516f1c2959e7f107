/**
 * `f16`: IEEE 754 binary16, 2 bytes per value, little-endian.
 * Encode rounds to nearest (ties to even). Relative error <= 2^-11 for
 * |v| in the normal range [2^-14, 65504]; absolute error <= 2^-25 below it
 * (subnormals, flush to zero under 2^-25). Values beyond the largest finite
 * half (65504) SATURATE to +-65504 rather than become Infinity, because a
 * receiver must reject Infinity. Decode rejects the Inf/NaN bit patterns.
 */
import { ProtocolError } from '../errors.ts';
import { encodeHalfBits, EXPONENT_MASK_HALF, halfTable } from '../../common/half-float.ts';
import { assertFinite, expectLength } from './bytes.ts';
import type { EncodeOptions, VectorStage } from './stage.ts';

// The conversion itself lives in src/common: exported models' float16 weights use it too.
export { encodeHalfBitsScalar, float32ToHalfBits, halfBitsToFloat } from '../../common/half-float.ts';

export class Float16Stage implements VectorStage {
  readonly spec = 'f16';

  encode(values: Float32Array, _options: EncodeOptions): Uint8Array {
    assertFinite(values, 'f16');
    return encodeHalfBits(values);
  }

  decode(bytes: Uint8Array, count: number): Float32Array {
    expectLength(bytes, count * 2, 'f16 payload');
    const table = halfTable();
    const out = new Float32Array(count);
    let nonFinite = 0;
    for (let i = 0, o = 0; i < count; i++, o += 2) {
      const bits = bytes[o]! | (bytes[o + 1]! << 8);
      nonFinite |= (bits & EXPONENT_MASK_HALF) === EXPONENT_MASK_HALF ? 1 : 0;
      out[i] = table[bits]!;
    }
    if (nonFinite !== 0) throw new ProtocolError('non-finite', 'f16 payload contains NaN or Infinity');
    return out;
  }

  maxEncodedBytes(count: number): number {
    return count * 2;
  }
}
