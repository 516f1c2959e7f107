import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_MERGE_OPTIONS, MergeError, checkUpdate, mixingWeights, relativeDistance, weightedAverage } from '../../src/train/merge.ts';
import type { MergeOptions } from '../../src/train/merge.ts';

const options = (over: Partial<MergeOptions> = {}): MergeOptions => ({ ...DEFAULT_MERGE_OPTIONS, ...over });
const counters = fc.record({ age: fc.nat({ max: 1e9 }), samplesSeen: fc.nat({ max: 1e12 }) });

describe('merge rules', () => {
  describe('relativeDistance', () => {
    it('is ||local - peer|| / ||local||, 0 for equal vectors, null when undefined', () => {
      assert.equal(relativeDistance(Float32Array.of(3, 4), Float32Array.of(3, 4)), 0);
      assert.equal(relativeDistance(Float32Array.of(3, 4), Float32Array.of(0, 0)), 1);
      assert.equal(relativeDistance(Float32Array.of(3, 4), Float32Array.of(6, 8)), 1);
      assert.equal(relativeDistance(Float32Array.of(1, 0), Float32Array.of(0, 1)), Math.SQRT2);
      assert.equal(relativeDistance(Float32Array.of(0, 0), Float32Array.of(1, 1)), null);
      assert.equal(relativeDistance(Float32Array.of(1, 2), Float32Array.of(1)), null);
      assert.equal(relativeDistance(Float32Array.of(1, 2), Float32Array.of(Number.NaN, 1)), null);
    });
  });

  describe('mixingWeights', () => {
    it('sums to one and caps every peer at capFactor times our own weight', () => {
      fc.assert(
        fc.property(counters, fc.array(counters, { minLength: 1, maxLength: 8 }), fc.constantFrom('age', 'samples', 'equal' as const), fc.double({ min: 0.1, max: 100, noNaN: true }), (self, peers, by, cap) => {
          const w = mixingWeights(self, peers, by, cap);
          assert.equal(w.length, peers.length + 1);
          assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-9);
          for (const p of w.slice(1)) assert.ok(p <= cap * w[0]! * (1 + 1e-9), `peer weight ${p} above cap ${cap} x ${w[0]}`);
        }),
        { seed: 6, numRuns: 300 },
      );
    });

    it('gives a peer that claims a huge age no more than the cap', () => {
      const [self, peer] = mixingWeights({ age: 9, samplesSeen: 0 }, [{ age: 1e15, samplesSeen: 0 }], 'age', 4);
      assert.equal(peer! / self!, 4);
      assert.equal(peer, 0.8);
    });

    it('weighs equal ages evenly and rejects a non-positive cap', () => {
      assert.deepEqual(mixingWeights({ age: 5, samplesSeen: 1 }, [{ age: 5, samplesSeen: 100 }], 'age', 4), [0.5, 0.5]);
      assert.throws(() => mixingWeights({ age: 1, samplesSeen: 1 }, [], 'age', 0), (e: unknown) => e instanceof MergeError && e.reason === 'bad-options');
    });
  });

  describe('checkUpdate', () => {
    it('rejects a norm far beyond the local one and a wrong length', () => {
      const local = new Float32Array([3, 4]); // norm 5
      assert.deepEqual(checkUpdate(local, new Float32Array([30, 40.1]), options()), { ok: false, reason: 'norm-too-large' });
      assert.equal(checkUpdate(local, new Float32Array([30, 39.9]), options()).ok, true);
      assert.deepEqual(checkUpdate(local, new Float32Array(3), options()), { ok: false, reason: 'length-mismatch' });
    });
  });

  describe('weightedAverage', () => {
    it('averages with weights that sum to one and refuses weights that do not', () => {
      const out = new Float32Array(2);
      weightedAverage(out, [new Float32Array([0, 4]), new Float32Array([4, 0])], [0.25, 0.75]);
      assert.deepEqual([...out], [3, 1]);
      assert.throws(() => weightedAverage(out, [new Float32Array(2)], [0.5]), (e: unknown) => e instanceof MergeError && e.reason === 'bad-weights');
      assert.throws(() => weightedAverage(out, [new Float32Array(2)], [NaN]), (e: unknown) => e instanceof MergeError && e.reason === 'bad-weights');
    });
  });
});
