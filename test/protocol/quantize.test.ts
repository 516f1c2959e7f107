import assert from 'node:assert/strict';
import { createCodec } from '../../src/protocol/codec/index.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { createRandom, deltaLike, relativeL2 } from './helpers.ts';

describe('QuantizeStage (q8/q4/q2/q1)', () => {
  it('has exactly 4*ceil(n/B) + ceil(n*b/8) payload bytes after the count prefix', () => {
    for (const [spec, bits, block] of [['q8', 8, 256], ['q4', 4, 256], ['q2:10', 2, 10], ['q1:3', 1, 3]] as const) {
      for (const n of [1, 9, 256, 1001]) {
        const bytes = createCodec(spec).encode(new Float32Array(n).fill(0.5));
        const prefix = n < 128 ? 1 : 2;
        assert.equal(bytes.length - prefix, 4 * Math.ceil(n / block) + Math.ceil((n * bits) / 8), `${spec} n=${n}`);
      }
    }
  });

  it('hits the grid ends and zero exactly', () => {
    for (const spec of ['q8', 'q4', 'q2']) {
      const values = Float32Array.of(-0.75, 0, 0.75, -0.2);
      const decoded = createCodec(spec).decode(createCodec(spec).encode(values), 4);
      assert.equal(decoded[0], -0.75);
      assert.equal(decoded[2], 0.75);
      assert.equal(decoded[1], 0);
    }
  });

  it('stochastic rounding is unbiased: the mean of many decodes converges to the input', () => {
    const values = Float32Array.of(0.3, -0.11, 0.999, -1, 0.01, 0.5, -0.77, 0);
    for (const spec of ['q8', 'q4', 'q2', 'q1']) {
      const codec = createCodec(spec);
      const random = createRandom(42);
      const trials = 4000;
      const sum = new Float64Array(values.length);
      for (let t = 0; t < trials; t++) {
        const decoded = codec.decode(codec.encode(values, { random }), values.length);
        for (let i = 0; i < values.length; i++) sum[i]! += decoded[i]!;
      }
      // Per-element std of one decode is < s, so the mean's std is < s / sqrt(trials); allow 5 sigma.
      const bits = Number(spec.slice(1));
      const step = bits === 1 ? 2 : 1 / (2 ** (bits - 1) - 1); // m = 1 here
      for (let i = 0; i < values.length; i++) {
        const mean = sum[i]! / trials;
        assert.ok(Math.abs(mean - values[i]!) < (5 * step) / Math.sqrt(trials), `${spec}: mean ${mean} vs ${values[i]}`);
      }
    }
  });

  it('q2 is ternary (-m, 0, +m) and deterministic rounding is biased off the grid (why stochastic exists)', () => {
    const codec = createCodec('q2');
    const decoded = codec.decode(codec.encode(Float32Array.of(1, -1, 0.2, 0.6, -0.49, 0)), 6);
    assert.deepEqual(Array.from(decoded, (x) => x + 0), [1, -1, 0, 1, 0, 0]);
  });

  it('deterministic rounding is never worse than sending zeros (zero is a level): |error| <= |v|', () => {
    const values = deltaLike(createRandom(4), 20000);
    for (const spec of ['q8', 'q4', 'q2']) {
      const decoded = createCodec(spec).decode(createCodec(spec).encode(values), values.length);
      for (let i = 0; i < values.length; i++) assert.ok(Math.abs(decoded[i]! - values[i]!) <= Math.abs(values[i]!) * (1 + 1e-6), spec);
    }
  });

  it('rejects the unused all-ones code of q8/q4/q2', () => {
    for (const spec of ['q8', 'q4', 'q2']) {
      const codec = createCodec(spec);
      const bytes = codec.encode(Float32Array.of(0.5, -0.5));
      bytes[bytes.length - 1] = spec === 'q8' ? 0xff : spec === 'q4' ? 0x0f : 0x03;
      assert.throws(() => codec.decode(bytes, 2), (e: unknown) => e instanceof ProtocolError && e.reason === 'bad-payload', spec);
    }
  });

  it('q1 deterministic sends sign times the block mean magnitude and is never worse than sending zeros', () => {
    const codec = createCodec('q1:4');
    const decoded = codec.decode(codec.encode(Float32Array.of(1, -3, 2, -2)), 4);
    assert.deepEqual(Array.from(decoded), [2, -2, 2, -2]);
    const values = deltaLike(createRandom(5), 5000);
    assert.ok(relativeL2(values, codec.decode(codec.encode(values), 5000)) < 1);
    assert.ok(relativeL2(values, createCodec('q1').decode(createCodec('q1').encode(values), 5000)) < 1);
  });

  it('relative L2 error shrinks with more bits (q1 > q2 > q4 > q8)', () => {
    const values = deltaLike(createRandom(6), 20000);
    const errors = ['q1', 'q2', 'q4', 'q8'].map((spec) => relativeL2(values, createCodec(spec).decode(createCodec(spec).encode(values), values.length)));
    for (let i = 1; i < errors.length; i++) assert.ok(errors[i]! < errors[i - 1]!, `errors ${errors.join(', ')}`);
    assert.ok(errors[3]! < 0.03, `q8 error ${errors[3]}`);
  });

  it('rejects a NaN, infinite or negative block scale', () => {
    const codec = createCodec('q8:4');
    const bytes = codec.encode(Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5));
    for (const [scale, reason] of [[NaN, 'non-finite'], [Infinity, 'non-finite'], [-1, 'bad-payload']] as const) {
      const bad = bytes.slice();
      new DataView(bad.buffer).setFloat32(1 + 4, scale, true); // second block's scale, after the 1-byte count
      assert.throws(() => codec.decode(bad, 5), (e: unknown) => e instanceof ProtocolError && e.reason === reason);
    }
  });

  it('rejects set padding bits in the last code byte', () => {
    const codec = createCodec('q4');
    const bytes = codec.encode(Float32Array.of(0.1, 0.2, 0.3));
    bytes[bytes.length - 1]! |= 0x10;
    assert.throws(() => codec.decode(bytes, 3), (e: unknown) => e instanceof ProtocolError && e.reason === 'bad-payload');
  });
});
