/** Little-endian helpers shared by the stages (typed arrays, no per-element allocation). */
import { ProtocolError } from '../errors.ts';

/** True on little-endian hosts (every platform Node ships for today); the wire is little-endian. */
export const hostIsLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Throws 'bad-length' unless `bytes` has exactly `expected` bytes. */
export function expectLength(bytes: Uint8Array, expected: number, what: string): void {
  if (bytes.length < expected) {
    throw new ProtocolError('truncated', `${what}: ${bytes.length} bytes, expected ${expected}`);
  }
  if (bytes.length > expected) {
    throw new ProtocolError('trailing-bytes', `${what}: ${bytes.length} bytes, expected ${expected}`);
  }
}

/** A copy of `bytes` as f32 values (little-endian), no alignment requirement on `bytes`. */
export function readFloat32s(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (hostIsLittleEndian) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 4));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/** Writes `values` as little-endian f32 into `out` at `offset`. */
export function writeFloat32s(out: Uint8Array, offset: number, values: Float32Array): void {
  if (hostIsLittleEndian) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.length * 4), offset);
  } else {
    const view = new DataView(out.buffer, out.byteOffset + offset, values.length * 4);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  }
}

/** Throws 'non-finite' if any value is NaN or +-Infinity (encoders refuse them: a local bug, not data). */
export function assertFinite(values: Float32Array, what: string): void {
  // x - x is 0 for finite x and NaN otherwise; one comparison at the end keeps the loop branch-free.
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    acc += x - x;
  }
  if (acc !== 0) throw new ProtocolError('non-finite', `${what}: input contains NaN or Infinity`);
}
