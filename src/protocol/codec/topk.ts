/**
 * `topk:<fraction>` / `topk:<count>`: keep the k entries of largest
 * magnitude, send their indices (see index-coding.ts) and hand their values
 * to the next stage (`topk:0.01+q4`: the kept values are 4-bit quantized).
 * Everything else decodes as 0: with error feedback (or a CHOCO replica) the
 * dropped part is sent later.
 *
 * k for n values: `topk:<count>` -> min(count, n); `topk:<fraction>` with
 * 0 < fraction <= 1 -> min(n, max(1, round(fraction * n))) (0 when n = 0).
 * Both sides compute k from the spec and n; the decoder rejects any other k.
 *
 * Wire layout: u8 index mode (0 gaps, 1 bitmap), u32 k (little-endian),
 * the indices, then the next stage's payload for the k kept values.
 */
import { ProtocolError } from '../errors.ts';
import { assertFinite } from './bytes.ts';
import { bitmapSize, chooseIndexMode, readIndices, writeIndices } from './index-coding.ts';
import { topkIndices } from './select.ts';
import type { EncodeOptions, VectorStage } from './stage.ts';

const HEADER_BYTES = 5;

export type TopkAmount = { kind: 'fraction'; fraction: number } | { kind: 'count'; count: number };

export function topkCount(amount: TopkAmount, n: number): number {
  if (n === 0) return 0;
  if (amount.kind === 'count') return Math.min(amount.count, n);
  return Math.min(n, Math.max(1, Math.round(amount.fraction * n)));
}

export class TopkStage implements VectorStage {
  readonly spec: string;
  private readonly amount: TopkAmount;
  private readonly inner: VectorStage;

  constructor(amount: TopkAmount, ownSpec: string, inner: VectorStage) {
    this.amount = amount;
    this.inner = inner;
    this.spec = `${ownSpec}+${inner.spec}`;
  }

  maxEncodedBytes(count: number): number {
    // The encoder uses gaps only when they are no larger than the bitmap.
    return HEADER_BYTES + bitmapSize(count) + this.inner.maxEncodedBytes(topkCount(this.amount, count));
  }

  encode(values: Float32Array, options: EncodeOptions): Uint8Array {
    assertFinite(values, 'topk');
    const n = values.length;
    const k = topkCount(this.amount, n);
    const indices = topkIndices(values, k);
    const kept = new Float32Array(k);
    for (let i = 0; i < k; i++) kept[i] = values[indices[i]!]!;
    const valueBytes = this.inner.encode(kept, options);
    const { mode, size } = chooseIndexMode(indices, n);
    const out = new Uint8Array(HEADER_BYTES + size + valueBytes.length);
    out[0] = mode;
    new DataView(out.buffer).setUint32(1, k, true);
    const end = writeIndices(out, HEADER_BYTES, indices, n, mode);
    out.set(valueBytes, end);
    return out;
  }

  decode(bytes: Uint8Array, count: number): Float32Array {
    if (bytes.length < HEADER_BYTES) throw new ProtocolError('truncated', 'topk payload shorter than its header');
    const mode = bytes[0]!;
    const k = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES).getUint32(1, true);
    const expected = topkCount(this.amount, count);
    if (k !== expected) throw new ProtocolError('bad-count', `topk count ${k}, spec implies ${expected}`);
    const { indices, end } = readIndices(bytes, HEADER_BYTES, k, count, mode);
    const kept = this.inner.decode(bytes.subarray(end), k);
    const out = new Float32Array(count);
    for (let i = 0; i < k; i++) out[indices[i]!] = kept[i]!;
    return out;
  }
}
