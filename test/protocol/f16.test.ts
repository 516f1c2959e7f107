import assert from 'node:assert/strict';
import { encodeHalfBitsScalar, float32ToHalfBits, halfBitsToFloat } from '../../src/protocol/codec/f16.ts';
import { createCodec } from '../../src/protocol/codec/index.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { createRandom } from './helpers.ts';

// Node 24 ships Math.f16round (round to nearest even): an independent oracle for our conversion.
const f16round = (Math as unknown as { f16round?: (x: number) => number }).f16round;

describe('f16 conversion', () => {
  it('decodes every finite half exactly and round-trips its bits', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue;
      const value = halfBitsToFloat(bits);
      const back = float32ToHalfBits(value);
      if (bits === 0x8000) assert.equal(back, 0x8000);
      else assert.equal(back, bits, `bits ${bits.toString(16)}`);
    }
  });

  it('rounds like Math.f16round (ties to even) on random float32 values in range', function () {
    if (f16round === undefined) this.skip();
    const random = createRandom(16);
    const scratch = new Float32Array(1);
    for (let i = 0; i < 200000; i++) {
      scratch[0] = (random() - 0.5) * 2 ** (Math.floor(random() * 44) - 28);
      const x = scratch[0]!;
      if (Math.abs(x) > 65504) continue;
      assert.equal(halfBitsToFloat(float32ToHalfBits(x)), f16round!(x), `value ${x}`);
    }
  });

  it('the codec (native Float16Array when present) writes the same bits as the scalar conversion', () => {
    const random = createRandom(17);
    const values = Float32Array.from({ length: 50000 }, () => (random() - 0.5) * 2 ** (Math.floor(random() * 48) - 30));
    values[0] = 65519.99;
    values[1] = 65520;
    values[2] = -1e30;
    values[3] = 2 ** -25;
    values[4] = -(2 ** -24) * 1.5;
    const bytes = createCodec('f16').encode(values);
    assert.deepEqual(bytes.subarray(3), encodeHalfBitsScalar(values)); // after the 3-byte count prefix
  });

  it('saturates beyond the largest finite half instead of producing Infinity', () => {
    const codec = createCodec('f16');
    assert.deepEqual(Array.from(codec.decode(codec.encode(Float32Array.of(1e6, -70000, 65519)), 3)), [65504, -65504, 65504]);
  });

  it('rejects Inf and NaN bit patterns in a payload', () => {
    const codec = createCodec('f16');
    for (const pattern of [0x7c00, 0xfc00, 0x7e00]) {
      const bytes = codec.encode(Float32Array.of(1, 2));
      bytes[3] = pattern & 0xff;
      bytes[4] = pattern >>> 8;
      assert.throws(() => codec.decode(bytes, 2), (e: unknown) => e instanceof ProtocolError && e.reason === 'non-finite');
    }
  });
});
