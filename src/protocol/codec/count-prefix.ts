/** The value count that opens every codec payload: unsigned LEB128, minimal, at most 5 bytes (u32). */
import { ProtocolError } from '../errors.ts';

export function countPrefixBytes(count: number): number {
  return count < 0x80 ? 1 : count < 0x4000 ? 2 : count < 0x200000 ? 3 : count < 0x10000000 ? 4 : 5;
}

/** Writes `count` at offset 0; returns the offset after it. */
export function writeCountPrefix(out: Uint8Array, count: number): number {
  let o = 0;
  let rest = count;
  while (rest >= 0x80) {
    out[o++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[o++] = rest;
  return o;
}

export function readCountPrefix(bytes: Uint8Array): { count: number; end: number } {
  let count = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= bytes.length) throw new ProtocolError('truncated', 'payload ends inside its value count');
    const byte = bytes[i]!;
    count += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw new ProtocolError('bad-payload', 'value count varint is not minimal');
      return { count, end: i + 1 };
    }
  }
  throw new ProtocolError('bad-payload', 'value count varint longer than 5 bytes');
}
