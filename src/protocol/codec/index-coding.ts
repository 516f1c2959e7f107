/**
 * Sparse index coding: strictly increasing indices in [0, n) as either
 *   - gaps: LEB128 varints of (index - previous), previous starting at -1,
 *     so every gap is >= 1 (a 0 gap would be a duplicate: rejected), or
 *   - bitmap: ceil(n/8) bytes, bit i (LSB-first) set when index i is present,
 * whichever is smaller for this message (ties go to gaps). The caller writes
 * the chosen mode as a flag byte. Varints win below about 1 index in 8-16;
 * the bitmap wins for dense selections (e.g. topk:0.25).
 */
import { ProtocolError } from '../errors.ts';

export const IndexMode = { GAPS: 0, BITMAP: 1 } as const;
export type IndexMode = (typeof IndexMode)[keyof typeof IndexMode];

/** Largest varint: 5 bytes carry a u32. */
const MAX_VARINT_BYTES = 5;

function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

export function gapsSize(indices: Uint32Array): number {
  let size = 0;
  let previous = -1;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    size += varintSize(index - previous);
    previous = index;
  }
  return size;
}

export function bitmapSize(n: number): number {
  return Math.ceil(n / 8);
}

/** Picks the smaller coding for these indices out of n positions. */
export function chooseIndexMode(indices: Uint32Array, n: number): { mode: IndexMode; size: number } {
  const gaps = gapsSize(indices);
  const bitmap = bitmapSize(n);
  return gaps <= bitmap ? { mode: IndexMode.GAPS, size: gaps } : { mode: IndexMode.BITMAP, size: bitmap };
}

/** Writes the indices at `offset` in `mode`; returns the offset after them. `out` must be zeroed there. */
export function writeIndices(out: Uint8Array, offset: number, indices: Uint32Array, n: number, mode: IndexMode): number {
  if (mode === IndexMode.BITMAP) {
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i]!;
      out[offset + (index >>> 3)]! |= 1 << (index & 7);
    }
    return offset + bitmapSize(n);
  }
  let o = offset;
  let previous = -1;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    let gap = index - previous;
    previous = index;
    while (gap >= 0x80) {
      out[o++] = (gap & 0x7f) | 0x80;
      gap >>>= 7;
    }
    out[o++] = gap;
  }
  return o;
}

/**
 * Reads exactly k indices out of n positions starting at `offset`; returns
 * them and the offset after them. Strict: out-of-range, duplicate or
 * unordered indices, overlong varints, running past the end, a bitmap with
 * a different population than k, all throw ProtocolError.
 */
export function readIndices(
  bytes: Uint8Array,
  offset: number,
  k: number,
  n: number,
  mode: number,
): { indices: Uint32Array; end: number } {
  if (mode === IndexMode.BITMAP) {
    const size = bitmapSize(n);
    if (offset + size > bytes.length) throw new ProtocolError('truncated', 'topk bitmap runs past the payload');
    const tailBits = n & 7;
    if (tailBits !== 0 && bytes[offset + size - 1]! >>> tailBits !== 0) {
      throw new ProtocolError('index-out-of-range', 'topk bitmap has bits beyond the parameter count');
    }
    let population = 0;
    for (let b = 0; b < size; b++) {
      let v = bytes[offset + b]!;
      v = v - ((v >>> 1) & 0x55);
      v = (v & 0x33) + ((v >>> 2) & 0x33);
      population += (v + (v >>> 4)) & 0x0f;
    }
    if (population !== k) throw new ProtocolError('bad-count', `topk bitmap has ${population} entries, expected ${k}`);
    const indices = new Uint32Array(k);
    let o = 0;
    for (let b = 0; b < size; b++) {
      let v = bytes[offset + b]!;
      while (v !== 0) {
        const bit = 31 - Math.clz32(v & -v);
        indices[o++] = b * 8 + bit;
        v &= v - 1;
      }
    }
    return { indices, end: offset + size };
  }
  if (mode !== IndexMode.GAPS) throw new ProtocolError('bad-payload', `unknown topk index mode ${mode}`);
  // Each gap takes at least one byte: check the minimum before allocating k slots.
  if (offset + k > bytes.length) throw new ProtocolError('truncated', 'topk gaps run past the payload');
  const indices = new Uint32Array(k);
  let o = offset;
  let previous = -1;
  for (let i = 0; i < k; i++) {
    let gap = 0;
    let shift = 0;
    for (let used = 0; ; used++) {
      if (used === MAX_VARINT_BYTES) throw new ProtocolError('bad-payload', 'topk gap varint longer than 5 bytes');
      if (o >= bytes.length) throw new ProtocolError('truncated', 'topk gap varint runs past the payload');
      const byte = bytes[o++]!;
      gap += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && used > 0) throw new ProtocolError('bad-payload', 'topk gap varint is not minimal');
        break;
      }
    }
    if (gap === 0) throw new ProtocolError('unsorted-indices', `topk index ${i} repeats the previous one`);
    const index = previous + gap;
    if (index >= n) throw new ProtocolError('index-out-of-range', `topk index ${index} >= parameter count ${n}`);
    indices[i] = index;
    previous = index;
  }
  return { indices, end: o };
}
