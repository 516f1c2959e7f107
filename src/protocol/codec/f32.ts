/**
 * `f32`: raw little-endian float32, 4 bytes per value, lossless. The
 * baseline (what DISCO sends). Decode rejects NaN/Inf.
 */
import { ProtocolError } from '../errors.ts';
import { assertFinite, expectLength, readFloat32s, writeFloat32s } from './bytes.ts';
import type { EncodeOptions, VectorStage } from './stage.ts';

export class Float32Stage implements VectorStage {
  readonly spec = 'f32';

  encode(values: Float32Array, _options: EncodeOptions): Uint8Array {
    assertFinite(values, 'f32');
    const out = new Uint8Array(values.length * 4);
    writeFloat32s(out, 0, values);
    return out;
  }

  decode(bytes: Uint8Array, count: number): Float32Array {
    expectLength(bytes, count * 4, 'f32 payload');
    const out = readFloat32s(bytes, 0, count);
    let acc = 0;
    for (let i = 0; i < count; i++) {
      const x = out[i]!;
      acc += x - x;
    }
    if (acc !== 0) throw new ProtocolError('non-finite', 'f32 payload contains NaN or Infinity');
    return out;
  }

  maxEncodedBytes(count: number): number {
    return count * 4;
  }
}
