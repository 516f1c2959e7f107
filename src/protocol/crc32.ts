/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, the zip/PNG one),
 * table-driven, slicing-by-4. Written here rather than taken from node:zlib
 * so the frame code stays pure (it runs in any JS runtime).
 * crc32(new TextEncoder().encode('123456789')) === 0xcbf43926.
 */

const POLYNOMIAL = 0xedb88320;

/** tables[t][b]: CRC of byte b followed by t zero bytes (slicing-by-4). */
const tables: Uint32Array[] = (() => {
  const t0 = new Uint32Array(256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    t0[b] = c >>> 0;
  }
  const result = [t0];
  for (let t = 1; t < 4; t++) {
    const prev = result[t - 1]!;
    const next = new Uint32Array(256);
    for (let b = 0; b < 256; b++) next[b] = (prev[b]! >>> 8) ^ t0[prev[b]! & 0xff]!;
    result.push(next);
  }
  return result;
})();

/** Continues a CRC over `bytes` (start with crc = 0). Returns the unsigned 32-bit CRC. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3] = tables as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  const end4 = n - (n & 3);
  for (; i < end4; i += 4) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c = t3[c & 0xff]! ^ t2[(c >>> 8) & 0xff]! ^ t1[(c >>> 16) & 0xff]! ^ t0[c >>> 24]!;
  }
  for (; i < n; i++) c = t0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
