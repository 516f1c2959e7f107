/**
 * Base ids: a cheap deterministic fingerprint of a replica's exact bytes.
 *
 * Both sides of a delta channel hold the same decoded replica; the sender
 * names its base (the replica before the delta) in the frame header and the
 * receiver compares it with the hash of its own copy. A mismatch means the
 * two copies diverged (lost frame, restart, eviction) and triggers NEED_BASE.
 * Not cryptographic: it detects accidents, not forgeries (the stream is
 * authenticated by noise). Two independent 32-bit FNV-1a lanes over 32-bit
 * words give a 64-bit id at ~1 ms per million parameters.
 */

const FNV_PRIME_32 = 0x01000193;
const FNV_OFFSET_32 = 0x811c9dc5;
const SECOND_LANE_OFFSET_32 = 0x9e3779b9;

/** 16 hex characters identifying the exact bit pattern of `values` (and its length). */
export function baseIdOf(values: Float32Array): string {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let a = FNV_OFFSET_32 ^ values.length;
  let b = SECOND_LANE_OFFSET_32;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    a = Math.imul(a ^ (w & 0xffff), FNV_PRIME_32);
    a = Math.imul(a ^ (w >>> 16), FNV_PRIME_32);
    // The second lane sees the word rotated so the two lanes do not collide together.
    b = Math.imul(b ^ ((w << 13) | (w >>> 19)), FNV_PRIME_32);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}
