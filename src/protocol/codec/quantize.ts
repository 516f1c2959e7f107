/**
 * `q8`, `q4`, `q2`, `q1` (optionally `q4:<block>`): uniform quantization
 * with one scale per block of consecutive values.
 *
 * Definitions, for b bits (L = 2^b levels) and a block of B values (the last
 * block may be shorter; default B = 256):
 *   m     = max |v_i| over the block, sent as float32 (the block's "scale")
 *   s     = 2m / (L - 1), the step between levels
 *   level_q = (q - (L - 1)/2) * s  for codes q = 0 .. L-1,
 * i.e. L evenly spaced levels from -m to +m, both ends included (for q1:
 * just -m and +m; zero is not a level for any b, a deliberate choice so every
 * bit width uses the same grid).
 *
 * Rounding is selected by the caller: deterministic (round to nearest) when
 * encode gets no `random`, stochastic when it does.
 *   deterministic: |v - decoded| <= s/2 = m/(L-1) per element
 *                  (q8: m/255, q4: m/15, q2: m/3)
 *   stochastic:    q = floor((v + m)/s + u), u ~ U[0,1): E[decoded] = v
 *                  (unbiased), and |v - decoded| < s = 2m/(L-1)
 * plus the float32 rounding of the decoded value (relative 2^-24).
 *
 * q1 deterministic is the one exception: levels +-m would make the error as
 * large as the signal (relative L2 error above 1 on Gaussian-like deltas),
 * so it sends sign(v) with the block's mean magnitude a = mean |v_i| as its
 * scale (the L2-optimal scale for a sign code, as in 1-bit SGD). Then
 * decoded = +-a and |v - decoded| = | |v| - a | <= max(a, m - a) <= m, and
 * the block's squared error is sum v^2 - n a^2 <= sum v^2 (never worse than
 * sending nothing). q1 stochastic keeps levels +-m (unbiased, error < 2m).
 * The decoder is the same for both: it just reads the stored scale.
 *
 * Wire layout: ceil(n/B) float32 scales (little-endian), then the n codes
 * packed LSB-first, b bits each (8 % b == 0, so no code straddles a byte).
 * Size: 4*ceil(n/B) + ceil(n*b/8) bytes, exactly; bits/value = b + 32/B.
 */
import { ProtocolError } from '../errors.ts';
import { expectLength } from './bytes.ts';
import type { EncodeOptions, VectorStage } from './stage.ts';

export type QuantBits = 1 | 2 | 4 | 8;

export const DEFAULT_QUANT_BLOCK_SIZE = 256;
/** Largest accepted block size (a block is a unit of work, not an allocation; this only keeps specs sane). */
export const MAX_QUANT_BLOCK_SIZE = 1 << 24;

export class QuantizeStage implements VectorStage {
  readonly spec: string;
  readonly bits: QuantBits;
  readonly blockSize: number;

  constructor(bits: QuantBits, blockSize: number, spec: string) {
    this.bits = bits;
    this.blockSize = blockSize;
    this.spec = spec;
  }

  private codeBytes(count: number): number {
    return Math.ceil((count * this.bits) / 8);
  }

  private blockCount(count: number): number {
    return Math.ceil(count / this.blockSize);
  }

  maxEncodedBytes(count: number): number {
    return this.blockCount(count) * 4 + this.codeBytes(count);
  }

  encode(values: Float32Array, options: EncodeOptions): Uint8Array {
    const n = values.length;
    const bits = this.bits;
    const blockSize = this.blockSize;
    const nBlocks = this.blockCount(n);
    const out = new Uint8Array(nBlocks * 4 + this.codeBytes(n));
    const scaleView = new DataView(out.buffer, 0, nBlocks * 4);
    const codes = out.subarray(nBlocks * 4);
    const topCode = (1 << bits) - 1;
    const random = options.random;

    for (let block = 0; block < nBlocks; block++) {
      const start = block * blockSize;
      const end = Math.min(start + blockSize, n);
      let m = 0;
      let nonFinite = 0;
      for (let i = start; i < end; i++) {
        const x = values[i]!;
        nonFinite += x - x;
        const a = x < 0 ? -x : x;
        if (a > m) m = a;
      }
      if (nonFinite !== 0) throw new ProtocolError('non-finite', `${this.spec}: input contains NaN or Infinity`);
      if (m === 0) continue; // scale 0 (buffer is zeroed): every level is 0
      if (bits === 1 && random === undefined) {
        let sumAbs = 0;
        for (let i = start; i < end; i++) {
          const x = values[i]!;
          if (x >= 0) codes[i >>> 3]! |= 1 << (i & 7);
          sumAbs += x < 0 ? -x : x;
        }
        scaleView.setFloat32(block * 4, sumAbs / (end - start), true);
        continue;
      }
      scaleView.setFloat32(block * 4, m, true);
      const inverseStep = topCode / (2 * m);
      // The four variants are separate loops so the hot q8 path has no packing and no branch on the mode.
      if (bits === 8) {
        if (random === undefined) {
          for (let i = start; i < end; i++) {
            const q = ((values[i]! + m) * inverseStep + 0.5) | 0;
            codes[i] = q > topCode ? topCode : q;
          }
        } else {
          for (let i = start; i < end; i++) {
            const q = ((values[i]! + m) * inverseStep + random()) | 0;
            codes[i] = q > topCode ? topCode : q < 0 ? 0 : q;
          }
        }
      } else {
        for (let i = start; i < end; i++) {
          const t = (values[i]! + m) * inverseStep + (random === undefined ? 0.5 : random());
          let q = t | 0;
          q = q > topCode ? topCode : q < 0 ? 0 : q;
          const bitPos = i * bits;
          codes[bitPos >>> 3]! |= q << (bitPos & 7);
        }
      }
    }
    return out;
  }

  decode(bytes: Uint8Array, count: number): Float32Array {
    const bits = this.bits;
    const blockSize = this.blockSize;
    const nBlocks = this.blockCount(count);
    expectLength(bytes, nBlocks * 4 + this.codeBytes(count), `${this.spec} payload`);
    const scaleView = new DataView(bytes.buffer, bytes.byteOffset, nBlocks * 4);
    const codes = bytes.subarray(nBlocks * 4);
    const topCode = (1 << bits) - 1;
    const center = topCode / 2;
    const mask = topCode;
    const out = new Float32Array(count);

    for (let block = 0; block < nBlocks; block++) {
      const m = scaleView.getFloat32(block * 4, true);
      if (!Number.isFinite(m)) throw new ProtocolError('non-finite', `${this.spec}: block scale is NaN or Infinity`);
      if (m < 0) throw new ProtocolError('bad-payload', `${this.spec}: negative block scale`);
      const step = (2 * m) / topCode;
      const start = block * blockSize;
      const end = Math.min(start + blockSize, count);
      if (bits === 8) {
        for (let i = start; i < end; i++) out[i] = (codes[i]! - center) * step;
      } else {
        for (let i = start; i < end; i++) {
          const bitPos = i * bits;
          const q = (codes[bitPos >>> 3]! >>> (bitPos & 7)) & mask;
          out[i] = (q - center) * step;
        }
      }
    }
    // Unused high bits of the last code byte must be zero: one canonical encoding per message.
    const usedBits = count * bits;
    if ((usedBits & 7) !== 0 && codes[codes.length - 1]! >>> (usedBits & 7) !== 0) {
      throw new ProtocolError('bad-payload', `${this.spec}: padding bits set`);
    }
    return out;
  }
}
