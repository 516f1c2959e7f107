import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/train/backend.ts';
import { createRandom } from '../../../src/train/random.ts';
import {
  dequantizeWeightValues,
  quantizeWeightValues,
  WeightQuantizationError,
  type ManifestQuantization,
} from '../../../src/train/export/weight-quantization.ts';

/** What tfjs's own loader (tf.io.decodeWeights) makes of the bytes and manifest entry: the reference. */
function tfjsDecode(bytes: Uint8Array, quantization: ManifestQuantization | null, shape: number[]): Float32Array {
  const spec = { name: 'w', shape, dtype: 'float32' as const, ...(quantization === null ? {} : { quantization }) };
  const tensors = tf.io.decodeWeights(bytes.slice().buffer, [spec]);
  const values = tensors.w!.dataSync() as Float32Array;
  const copy = Float32Array.from(values);
  tf.dispose(tensors);
  return copy;
}

function gaussian(count: number, seed: number): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: count }, () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()) * 0.1);
}

describe('quantizeWeightValues', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('none stores the float32 values bit for bit', () => {
    const values = gaussian(257, 1);
    const { bytes, quantization } = quantizeWeightValues(values, 'none');
    assert.equal(quantization, null);
    assert.equal(bytes.length, 4 * values.length);
    assert.deepEqual(tfjsDecode(bytes, null, [values.length]), values);
  });

  for (const dtype of ['uint8', 'uint16'] as const) {
    it(`${dtype}: tfjs dequantizes every value to within one step (scale) and keeps 0 exactly 0`, () => {
      const values = gaussian(4096, 2);
      values[7] = 0;
      values[100] = 0;
      const { bytes, quantization } = quantizeWeightValues(values, dtype);
      assert.ok(quantization !== null && quantization.dtype === dtype);
      const q = quantization as { dtype: string; scale: number; min: number };
      assert.equal(bytes.length, values.length * (dtype === 'uint8' ? 1 : 2));
      const decoded = tfjsDecode(bytes, quantization, [64, 64]);
      assert.deepEqual(decoded, dequantizeWeightValues(bytes, quantization, values.length));
      let maxError = 0;
      for (let i = 0; i < values.length; i++) maxError = Math.max(maxError, Math.abs(decoded[i]! - values[i]!));
      assert.ok(maxError <= q.scale, `max error ${maxError} > scale ${q.scale}`);
      assert.ok(maxError >= q.scale / 4, 'the error is that of real quantization, not a lossless copy');
      assert.equal(decoded[7], 0);
      assert.equal(decoded[100], 0);
    });
  }

  it('uint8: a positive-only tensor still maps 0 to exactly 0 (the range includes 0)', () => {
    const values = Float32Array.from([0, 0.5, 1, 2]);
    const { bytes, quantization } = quantizeWeightValues(values, 'uint8');
    const decoded = tfjsDecode(bytes, quantization, [4]);
    assert.equal(decoded[0], 0);
    assert.ok(Math.abs(decoded[3]! - 2) <= 2 / 255);
  });

  it('uint8: an all-zero tensor decodes to zeros', () => {
    const { bytes, quantization } = quantizeWeightValues(new Float32Array(10), 'uint8');
    assert.deepEqual(tfjsDecode(bytes, quantization, [10]), new Float32Array(10));
  });

  it('float16: tfjs decodes the halves with a relative error of at most 2^-11', () => {
    const values = gaussian(1000, 3);
    const { bytes, quantization } = quantizeWeightValues(values, 'float16');
    assert.deepEqual(quantization, { dtype: 'float16' });
    assert.equal(bytes.length, 2 * values.length);
    const decoded = tfjsDecode(bytes, quantization, [values.length]);
    for (let i = 0; i < values.length; i++) {
      if (Math.abs(values[i]!) < 2 ** -14) continue; // subnormal halves: absolute error instead
      assert.ok(Math.abs(decoded[i]! - values[i]!) <= Math.abs(values[i]!) * 2 ** -11, `value ${i}`);
    }
    assert.deepEqual(decoded, dequantizeWeightValues(bytes, quantization, values.length));
  });

  it('refuses NaN and Infinity (a diverged model is never exported)', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => quantizeWeightValues(Float32Array.of(1, bad), 'uint8'),
        (err: unknown) => err instanceof WeightQuantizationError && err.reason === 'non-finite' && err.message === `weight value 1 is ${bad}: refusing to export a diverged model`,
      );
    }
  });
});
