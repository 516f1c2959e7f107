import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createCodec } from '../../src/protocol/codec/index.ts';
import { ErrorFeedback } from '../../src/protocol/error-feedback.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { createRandom, deltaLike } from './helpers.ts';

/** Checks sum(decoded) == sum(inputs) - residual, elementwise, to float tolerance. */
function checkIdentity(spec: string, updates: Float32Array[], stochastic: boolean, seed: number): void {
  const n = updates[0]!.length;
  const feedback = new ErrorFeedback(createCodec(spec), n);
  const sumInputs = new Float64Array(n);
  const sumDecoded = new Float64Array(n);
  const random = createRandom(seed);
  for (const update of updates) {
    const { bytes, decoded } = feedback.encode(update, stochastic ? { random } : {});
    assert.deepEqual(createCodec(spec).decode(bytes, n), decoded, 'decoded is what a receiver decodes');
    for (let i = 0; i < n; i++) {
      sumInputs[i]! += update[i]!;
      sumDecoded[i]! += decoded[i]!;
    }
  }
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(sumInputs[i]!), Math.abs(sumDecoded[i]!));
  for (let i = 0; i < n; i++) {
    const gap = Math.abs(sumDecoded[i]! - (sumInputs[i]! - feedback.residual[i]!));
    // float32 rounding of the values fed to the codec is the only slack: about T * 2^-24 * scale.
    assert.ok(gap <= updates.length * 2 ** -22 * (scale + 1e-30), `${spec}: identity off by ${gap} at ${i} (scale ${scale})`);
  }
}

describe('ErrorFeedback', () => {
  it('keeps sum(decoded) == sum(inputs) - residual over many updates for every lossy codec', () => {
    const random = createRandom(21);
    for (const spec of ['topk:0.01+q4', 'topk:0.05+q1', 'q2', 'q8', 'f16', 'topk:0.1+q4+deflate']) {
      const updates = Array.from({ length: 40 }, () => deltaLike(random, 500));
      checkIdentity(spec, updates, false, 1);
      checkIdentity(spec, updates, true, 2);
    }
  });

  it('holds the identity for arbitrary update sequences (property, seeded)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('topk:0.1+q4', 'topk:3+q2', 'q1', 'q4:16', 'f16'),
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.float32Array({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e6), max: Math.fround(1e6), minLength: 60, maxLength: 60 }), { minLength: 1, maxLength: 25 }),
        fc.boolean(),
        fc.nat(),
        (spec, n, arrays, stochastic, seed) => {
          checkIdentity(spec, arrays.map((a) => a.subarray(0, n)), stochastic, seed);
        },
      ),
      { seed: 22, numRuns: 120 },
    );
  });

  it('eventually sends what top-k keeps dropping: a constant update is delivered in full on average', () => {
    const n = 200;
    const feedback = new ErrorFeedback(createCodec('topk:0.05+q8'), n);
    const update = new Float32Array(n).fill(0.01);
    const delivered = new Float64Array(n);
    const rounds = 400;
    for (let t = 0; t < rounds; t++) {
      const { decoded } = feedback.encode(update);
      for (let i = 0; i < n; i++) delivered[i]! += decoded[i]!;
    }
    for (let i = 0; i < n; i++) assert.ok(Math.abs(delivered[i]! / rounds - 0.01) < 0.01 * 0.1, `entry ${i}: ${delivered[i]! / rounds}`);
  });

  it('rejects an update of the wrong length and resets to a zero residual', () => {
    const feedback = new ErrorFeedback(createCodec('q2'), 10);
    assert.throws(() => feedback.encode(new Float32Array(9)), (e: unknown) => e instanceof ProtocolError && e.reason === 'wrong-param-count');
    feedback.encode(deltaLike(createRandom(3), 10));
    assert.ok(feedback.residual.some((x) => x !== 0));
    feedback.reset();
    assert.ok(feedback.residual.every((x) => x === 0));
  });
});
