/**
 * The contract every codec spec passes (one suite, many implementations):
 * spec round trip, length and finiteness, the stated per-element error bound
 * (deterministic and stochastic), determinism, empty and constant vectors,
 * strict rejection of truncated, extended and mis-sized payloads.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createCodec, DEFAULT_CODEC_SPEC } from '../../src/protocol/codec/index.ts';
import { topkIndices } from '../../src/protocol/codec/select.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { createRandom, deltaLike, expectedTopk, parseSpecForTest, valueBounds } from './helpers.ts';

/** Every combination of the stage kinds: [sparse] x value x [entropy]. */
const ALL_COMBINATIONS = ['', 'topk:0.05+'].flatMap((sparse) =>
  ['f32', 'f16', 'q8', 'q4', 'q2', 'q1'].flatMap((value) => ['', '+deflate', '+brotli'].map((entropy) => `${sparse}${value}${entropy}`)),
);

const CONTRACT_SPECS = [
  'f32',
  'f16',
  'q8',
  'q4',
  'q2',
  'q1',
  'q8:64',
  'q4:256',
  'q2:7',
  'q1:1000',
  'topk:0.01+q4',
  'topk:0.1+q8',
  'topk:0.5+f16',
  'topk:100+q2',
  'topk:0.05+q1',
  'topk:0.2+f32',
  'f32+deflate',
  'q8+deflate',
  'q4+brotli',
  'topk:0.01+q4+deflate',
  'topk:0.01+q2+brotli',
  DEFAULT_CODEC_SPEC,
];

for (const spec of ALL_COMBINATIONS) if (!CONTRACT_SPECS.includes(spec)) CONTRACT_SPECS.push(spec);

/** Checks the stated bound for `spec` on one vector. */
function checkBounds(spec: string, values: Float32Array, decoded: Float32Array, stochastic: boolean): void {
  const parsed = parseSpecForTest(spec);
  const k = expectedTopk(parsed, values.length);
  const kept = parsed.topk === null ? null : topkIndices(values, k);
  const keptValues = kept === null ? values : Float32Array.from(kept, (i) => values[i]!);
  const bounds = valueBounds(parsed, keptValues, stochastic);
  const keptSet = kept === null ? null : new Set(kept);
  if (keptSet !== null) {
    for (let i = 0; i < values.length; i++) {
      if (!keptSet.has(i)) assert.equal(decoded[i], 0, `${spec}: dropped entry ${i} decodes to 0`);
    }
  }
  for (let j = 0; j < keptValues.length; j++) {
    const i = kept === null ? j : kept[j]!;
    const error = Math.abs(decoded[i]! - values[i]!);
    assert.ok(error <= bounds[j]!, `${spec}: |error| ${error} at ${i} exceeds bound ${bounds[j]} (value ${values[i]})`);
  }
}

function assertProtocolError(fn: () => unknown, reasons: readonly string[], what: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `${what}: expected ProtocolError, got ${String(error)}`);
    assert.ok(reasons.includes(error.reason), `${what}: reason ${error.reason} not in ${reasons.join(', ')}`);
    return true;
  });
}

describe('codec contract (every spec)', () => {
  for (const spec of CONTRACT_SPECS) {
    describe(spec, () => {
      const codec = createCodec(spec);
      const compressed = parseSpecForTest(spec).entropy !== null;

      it('reports its spec string unchanged', () => {
        assert.equal(codec.spec, spec);
      });

      it('round trips delta-like vectors within the stated deterministic bound', () => {
        const random = createRandom(7);
        for (const n of [1, 2, 7, 255, 256, 257, 3000]) {
          const values = deltaLike(random, n);
          const decoded = codec.decode(codec.encode(values), n);
          assert.equal(decoded.length, n);
          checkBounds(spec, values, decoded, false);
        }
      });

      it('round trips within the stated stochastic bound when a random source is passed', () => {
        const random = createRandom(8);
        const values = deltaLike(random, 1500);
        const decoded = codec.decode(codec.encode(values, { random: createRandom(9) }), values.length);
        checkBounds(spec, values, decoded, true);
      });

      it('is deterministic: same input and same random seed give the same bytes', () => {
        const values = deltaLike(createRandom(10), 700);
        assert.deepEqual(codec.encode(values), codec.encode(values));
        assert.deepEqual(codec.encode(values, { random: createRandom(3) }), codec.encode(values, { random: createRandom(3) }));
      });

      it('handles empty, zero and constant vectors', () => {
        assert.equal(codec.decode(codec.encode(new Float32Array(0)), 0).length, 0);
        const zeros = codec.decode(codec.encode(new Float32Array(300)), 300);
        assert.ok(zeros.every((x) => x === 0));
        const constant = new Float32Array(300).fill(-0.25);
        checkBounds(spec, constant, codec.decode(codec.encode(constant), 300), false);
      });

      it('holds the bound on arbitrary finite float32 vectors (property, seeded)', () => {
        fc.assert(
          fc.property(
            fc.float32Array({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30), maxLength: 600 }),
            fc.boolean(),
            fc.integer({ min: 0, max: 2 ** 31 }),
            (values, stochastic, seed) => {
              const bytes = codec.encode(values, stochastic ? { random: createRandom(seed) } : {});
              const decoded = codec.decode(bytes, values.length);
              assert.equal(decoded.length, values.length);
              assert.ok(decoded.every(Number.isFinite));
              checkBounds(spec, values, decoded, stochastic);
            },
          ),
          { seed: 20261125, numRuns: 60 },
        );
      });

      it('refuses NaN and Infinity on encode with non-finite', () => {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const values = deltaLike(createRandom(11), 50);
          values[17] = bad;
          assertProtocolError(() => codec.encode(values), ['non-finite'], `${spec} encode ${bad}`);
        }
      });

      it('rejects a payload with a byte missing or a byte added', () => {
        const n = 1000;
        const bytes = codec.encode(deltaLike(createRandom(12), n));
        assertProtocolError(() => codec.decode(bytes.subarray(0, bytes.length - 1), n), compressed ? ['bad-compression'] : ['truncated'], 'short');
        assertProtocolError(() => codec.decode(bytes.subarray(0, 2), n), compressed ? ['bad-compression'] : ['truncated'], 'count only');
        const longer = new Uint8Array(bytes.length + 1);
        longer.set(bytes);
        assertProtocolError(() => codec.decode(longer, n), ['trailing-bytes'], 'long');
        assertProtocolError(() => codec.decode(new Uint8Array(0), n), ['truncated'], 'empty');
      });

      it('rejects a payload decoded with the wrong parameter count', () => {
        const n = 1000;
        const bytes = codec.encode(deltaLike(createRandom(13), n));
        for (const wrong of [n + 1, n - 1, n * 10]) {
          assertProtocolError(
            () => codec.decode(bytes, wrong),
            ['wrong-param-count'],
            `count ${wrong}`,
          );
        }
        assertProtocolError(() => codec.decode(bytes, -1), ['wrong-param-count'], 'negative count');
        assertProtocolError(() => codec.decode(bytes, 1.5), ['wrong-param-count'], 'fractional count');
        assertProtocolError(() => codec.decode(bytes, 2 ** 40), ['too-large'], 'huge count');
      });
    });
  }
});
