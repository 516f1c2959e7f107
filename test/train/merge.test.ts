import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_MERGE_OPTIONS, MergeError, checkUpdate, mergePeer, mergedCounters, mixingWeights, weightedAverage } from '../../src/train/merge.ts';
import type { MergeOptions } from '../../src/train/merge.ts';

const options = (over: Partial<MergeOptions> = {}): MergeOptions => ({ ...DEFAULT_MERGE_OPTIONS, ...over });
const counters = fc.record({ age: fc.nat({ max: 1e9 }), samplesSeen: fc.nat({ max: 1e12 }) });

describe('merge rules', () => {
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

  describe('mergePeer', () => {
    it('with gamma 1 and equal ages computes the plain average', () => {
      const local = new Float32Array([1, 2, 3]);
      const r = mergePeer(local, { params: new Float32Array([3, 2, 1]), age: 7, samplesSeen: 0 }, { age: 7, samplesSeen: 0 }, options());
      assert.equal(r.status, 'merged');
      assert.deepEqual([...local], [2, 2, 2]);
    });

    it('with gamma moves that fraction of the weighted distance', () => {
      const local = new Float32Array([0, 0]);
      const r = mergePeer(local, { params: new Float32Array([4, -4]), age: 0, samplesSeen: 0 }, { age: 0, samplesSeen: 0 }, options({ gamma: 0.5 }));
      assert.ok(r.status === 'merged');
      assert.equal(r.step, 0.25);
      assert.deepEqual([...local], [1, -1]);
    });

    it("with consensus 'choco' moves by the difference of the two replicas", () => {
      const local = new Float32Array([10, 10]);
      const r = mergePeer(local, { params: new Float32Array([2, 0]), selfReplica: new Float32Array([0, 2]), age: 0, samplesSeen: 0 }, { age: 0, samplesSeen: 0 }, options({ consensus: 'choco' }));
      assert.equal(r.status, 'merged');
      assert.deepEqual([...local], [11, 9]);
    });

    it('rejects NaN and Inf without touching the model', () => {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const local = new Float32Array([1, 1, 1]);
        const r = mergePeer(local, { params: new Float32Array([1, bad, 1]), age: 1, samplesSeen: 1 }, { age: 1, samplesSeen: 1 }, options());
        assert.deepEqual(r, { status: 'rejected', reason: 'non-finite' });
        assert.deepEqual([...local], [1, 1, 1]);
      }
    });

    it('rejects a norm far beyond the local one and a wrong length', () => {
      const local = new Float32Array([3, 4]); // norm 5
      assert.deepEqual(checkUpdate(local, new Float32Array([30, 40.1]), options()), { ok: false, reason: 'norm-too-large' });
      assert.equal(checkUpdate(local, new Float32Array([30, 39.9]), options()).ok, true);
      assert.deepEqual(mergePeer(local, { params: new Float32Array(3), age: 0, samplesSeen: 0 }, { age: 0, samplesSeen: 0 }), { status: 'rejected', reason: 'length-mismatch' });
    });

    it('rejects bad options as a MergeError', () => {
      assert.throws(() => mergePeer(new Float32Array(1), { params: new Float32Array(1), age: 0, samplesSeen: 0 }, { age: 0, samplesSeen: 0 }, options({ gamma: 0 })), (e: unknown) => e instanceof MergeError && e.reason === 'bad-options');
    });

    it('keeps a merged model on the segment between the two (property)', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.float({ min: -10, max: 10, noNaN: true }), fc.float({ min: -10, max: 10, noNaN: true })), { minLength: 1, maxLength: 20 }), counters, counters, fc.double({ min: 0.01, max: 1, noNaN: true }), (pairs, a, b, gamma) => {
          const local = Float32Array.from(pairs.map((p) => p[0]));
          const peer = Float32Array.from(pairs.map((p) => p[1]));
          const r = mergePeer(local, { params: peer, ...b }, a, options({ gamma, maxNormRatio: 1e9 }));
          assert.equal(r.status, 'merged');
          local.forEach((v, i) => {
            const lo = Math.min(pairs[i]![0], pairs[i]![1]);
            const hi = Math.max(pairs[i]![0], pairs[i]![1]);
            assert.ok(v >= lo - 1e-5 && v <= hi + 1e-5);
          });
        }),
        { seed: 7, numRuns: 200 },
      );
    });
  });

  it('mergedCounters never lets a peer inflate the age beyond the cap', () => {
    assert.deepEqual(mergedCounters({ age: 10, samplesSeen: 100 }, { age: 1e12, samplesSeen: 5 }, 4), { age: 44, samplesSeen: 100 });
    assert.deepEqual(mergedCounters({ age: 10, samplesSeen: 100 }, { age: 20, samplesSeen: 300 }, 4), { age: 20, samplesSeen: 300 });
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
