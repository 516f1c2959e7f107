import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AGGREGATOR_NAMES, AverageAggregator, ChocoAggregator, createAggregator, NormClipAggregator, type PeerContribution } from '../../src/train/aggregators/index.ts';
import { CLIP_MOVEMENT_MULTIPLIER } from '../../src/train/aggregators/clip.ts';
import { coordinateMedian, trimmedMean } from '../../src/train/aggregators/coordinate-stats.ts';
import { ROBUST_CAP_FACTOR, TRUST_RAMP_MERGES } from '../../src/train/aggregators/robust.ts';
import { MergeError } from '../../src/train/merge.ts';

const counters = fc.record({ age: fc.nat({ max: 1e9 }), samplesSeen: fc.nat({ max: 1e12 }) });
const vector = (n: number) => fc.array(fc.float({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));

function peer(params: Float32Array, over: Partial<PeerContribution> = {}): PeerContribution {
  return { peerId: 'peer', params, selfReplica: null, age: 0, samplesSeen: 0, ...over };
}

// The contract every aggregator in the registry must keep (src/train/aggregators/aggregator.ts).
for (const name of AGGREGATOR_NAMES) {
  describe(`aggregator contract: ${name}`, () => {
    it('returns mixing weights that sum to one, with every peer capped at capFactor times our own', () => {
      fc.assert(
        fc.property(counters, fc.array(counters, { minLength: 1, maxLength: 5 }), fc.double({ min: 0.5, max: 50, noNaN: true }), (self, claims, cap) => {
          const aggregator = createAggregator(name, { capFactor: cap, maxNormRatio: 1e9 });
          const local = { params: new Float32Array([1, 2, 3]), ...self };
          const peers = claims.map((c, k) => peer(new Float32Array([k, 1, 0]), { ...c, peerId: `p${k}`, selfReplica: new Float32Array([1, 2, 3]) }));
          const r = aggregator.aggregate(local, peers);
          assert.ok(r.status === 'merged');
          assert.equal(r.weights.length, peers.length + 1);
          assert.ok(Math.abs(r.weights.reduce((a, b) => a + b, 0) - 1) < 1e-9);
          for (const w of r.weights) assert.ok(w >= 0);
          for (const w of r.weights.slice(1)) assert.ok(w <= cap * r.weights[0]! * (1 + 1e-9), `peer weight ${w} above ${cap} x ${r.weights[0]}`);
          for (const step of r.steps) assert.ok(step >= 0 && step <= 1);
        }),
        { seed: 11, numRuns: 200 },
      );
    });

    it('rejects NaN and Inf, naming the peer, and leaves the local model untouched', () => {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const local = { params: new Float32Array([1, 1, 1]), age: 1, samplesSeen: 1 };
        const r = createAggregator(name).aggregate(local, [peer(new Float32Array([1, 1, 1]), { peerId: 'good' }), peer(new Float32Array([1, bad, 1]), { peerId: 'bad' })]);
        assert.deepEqual(r, { status: 'rejected', reason: 'non-finite', peerId: 'bad' });
        assert.deepEqual([...local.params], [1, 1, 1]);
      }
    });

    it('rejects a wrong length and an outsized norm, leaving the local model untouched', () => {
      const local = { params: new Float32Array([3, 4]), age: 0, samplesSeen: 0 }; // norm 5
      const aggregator = createAggregator(name);
      assert.deepEqual(aggregator.aggregate(local, [peer(new Float32Array(3))]), { status: 'rejected', reason: 'length-mismatch', peerId: 'peer' });
      assert.deepEqual(aggregator.aggregate(local, [peer(new Float32Array([30, 40.1]))]), { status: 'rejected', reason: 'norm-too-large', peerId: 'peer' });
      assert.deepEqual([...local.params], [3, 4]);
    });

    it('never lets a peer inflate the merged counters beyond the cap', () => {
      const local = { params: new Float32Array([1, 1]), age: 10, samplesSeen: 100 };
      const r = createAggregator(name, { capFactor: 4 }).aggregate(local, [peer(new Float32Array([1, 1]), { age: 1e12, samplesSeen: 5 })]);
      assert.ok(r.status === 'merged');
      assert.deepEqual(r.counters, { age: 44, samplesSeen: 100 });
    });

    it('does not modify the peer estimates it reads', () => {
      fc.assert(
        fc.property(vector(6), vector(6), vector(6), (local, remote, replica) => {
          const before = [remote.slice(), replica.slice()];
          createAggregator(name, { maxNormRatio: 1e9 }).aggregate({ params: local, age: 3, samplesSeen: 3 }, [peer(remote, { selfReplica: replica, age: 5 })]);
          assert.deepEqual([remote, replica], before);
        }),
        { seed: 12, numRuns: 100 },
      );
    });

    it('refuses bad options as a MergeError', () => {
      for (const bad of [{ gamma: 0 }, { gamma: 1.5 }, { capFactor: 0 }, { maxNormRatio: -1 }]) {
        assert.throws(() => createAggregator(name, bad), (e: unknown) => e instanceof MergeError && e.reason === 'bad-options');
      }
    });
  });
}

describe('AverageAggregator', () => {
  it('with gamma 1 and equal ages computes the plain average', () => {
    const local = { params: new Float32Array([1, 2, 3]), age: 7, samplesSeen: 0 };
    const r = new AverageAggregator().aggregate(local, [peer(new Float32Array([3, 2, 1]), { age: 7 })]);
    assert.equal(r.status, 'merged');
    assert.deepEqual([...local.params], [2, 2, 2]);
  });

  it('with gamma moves that fraction of the weighted distance', () => {
    const local = { params: new Float32Array([0, 0]), age: 0, samplesSeen: 0 };
    const r = new AverageAggregator({ gamma: 0.5 }).aggregate(local, [peer(new Float32Array([4, -4]))]);
    assert.ok(r.status === 'merged');
    assert.deepEqual(r.steps, [0.25]);
    assert.deepEqual([...local.params], [1, -1]);
  });

  it('averages several peers at once by their weights', () => {
    const local = { params: new Float32Array([0, 0]), age: 0, samplesSeen: 0 };
    const r = new AverageAggregator().aggregate(local, [peer(new Float32Array([3, 0]), { peerId: 'a' }), peer(new Float32Array([0, 3]), { peerId: 'b' })]);
    assert.ok(r.status === 'merged');
    assert.deepEqual(r.weights, [1 / 3, 1 / 3, 1 / 3]);
    assert.deepEqual([...local.params], [1, 1]);
  });

  it('keeps a merged model on the segment between the two (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.float({ min: -10, max: 10, noNaN: true }), fc.float({ min: -10, max: 10, noNaN: true })), { minLength: 1, maxLength: 20 }), counters, counters, fc.double({ min: 0.01, max: 1, noNaN: true }), (pairs, a, b, gamma) => {
        const local = { params: Float32Array.from(pairs.map((p) => p[0])), ...a };
        const r = new AverageAggregator({ gamma, maxNormRatio: 1e9 }).aggregate(local, [peer(Float32Array.from(pairs.map((p) => p[1])), b)]);
        assert.equal(r.status, 'merged');
        local.params.forEach((v, i) => {
          const lo = Math.min(pairs[i]![0], pairs[i]![1]);
          const hi = Math.max(pairs[i]![0], pairs[i]![1]);
          assert.ok(v >= lo - 1e-5 && v <= hi + 1e-5);
        });
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});

describe('ChocoAggregator', () => {
  it('moves by the difference of the two replicas, not toward the peer replica', () => {
    const local = { params: new Float32Array([10, 10]), age: 0, samplesSeen: 0 };
    const r = new ChocoAggregator({ maxNormRatio: 100 }).aggregate(local, [peer(new Float32Array([2, 0]), { selfReplica: new Float32Array([0, 2]) })]);
    assert.equal(r.status, 'merged');
    assert.deepEqual([...local.params], [11, 9]);
  });

  it('takes the average step for a pair without a self replica yet', () => {
    const local = { params: new Float32Array([0, 0]), age: 0, samplesSeen: 0 };
    new ChocoAggregator().aggregate(local, [peer(new Float32Array([2, -2]))]);
    assert.deepEqual([...local.params], [1, -1]);
  });
});

describe('createAggregator', () => {
  it('names the known aggregators when given an unknown one', () => {
    assert.throws(() => createAggregator('krum'), { name: 'MergeError', reason: 'bad-options', message: "unknown aggregator 'krum'; known: average, choco, clip, centered-clip, trimmed-mean, median" });
    assert.throws(() => createAggregator('avg'), { name: 'MergeError', reason: 'bad-options', message: "unknown aggregator 'avg' (did you mean average?); known: average, choco, clip, centered-clip, trimmed-mean, median" });
  });
});

describe('robust aggregators', () => {
  const local = (values: number[], age = 10) => ({ params: Float32Array.from(values), age, samplesSeen: 0 });

  it('median and trimmed mean move toward the honest values and ignore one far outlier in the window', () => {
    for (const name of ['median', 'trimmed-mean']) {
      const aggregator = createAggregator(name, { maxNormRatio: 1e9 });
      // Four honest peers around 1, then one at 1000: the target stays among the honest values.
      for (const [k, v] of [0.9, 1.1, 1.0, 1.05].entries()) aggregator.aggregate(local([1, 1]), [peer(Float32Array.of(v, v), { peerId: `h${k}`, age: 10 })]);
      const mine = local([1, 1]);
      const r = aggregator.aggregate(mine, [peer(Float32Array.of(1000, -1000), { peerId: 'evil', age: 10 })]);
      assert.ok(r.status === 'merged');
      for (const v of mine.params) assert.ok(Math.abs(v - 1) < 0.2, `${name}: moved to ${v}`);
      assert.deepEqual(r.suspects, ['evil'], name);
    }
  });

  it('centered clipping bounds the pull of a far estimate by the median distance of the window', () => {
    const aggregator = createAggregator('centered-clip', { maxNormRatio: 1e9 });
    for (const [k, v] of [1.5, 0.5, 1.2].entries()) aggregator.aggregate(local([1, 1]), [peer(Float32Array.of(v, 1), { peerId: `h${k}`, age: 10 })]);
    const mine = local([1, 1]);
    const r = aggregator.aggregate(mine, [peer(Float32Array.of(1000, 1), { peerId: 'evil', age: 10 })]);
    assert.ok(r.status === 'merged');
    assert.ok(mine.params[0]! < 2, `moved to ${mine.params[0]}`);
    assert.deepEqual(r.suspects, ['evil']);
  });

  it('clip cuts a step to a multiple of our own recent training movement, and reports the peer', () => {
    const aggregator = new NormClipAggregator({ maxNormRatio: 1e9 });
    assert.equal(aggregator.radius, Infinity);
    const mine = local([0, 0]);
    // Training moves the model by 1 between the first two merges (the first has no history).
    aggregator.aggregate(mine, [peer(Float32Array.of(0, 0), { peerId: 'a' })]);
    mine.params.set([1, 0]);
    aggregator.aggregate(mine, [peer(Float32Array.of(1, 0), { peerId: 'a' })]);
    assert.equal(aggregator.radius, CLIP_MOVEMENT_MULTIPLIER * 1);
    const r = aggregator.aggregate(mine, [peer(Float32Array.of(1, 1000), { peerId: 'far', age: 10 })]);
    assert.ok(r.status === 'merged');
    const moved = Math.hypot(mine.params[0]! - 1, mine.params[1]!);
    assert.ok(moved <= r.steps[0]! * aggregator.radius + 1e-6 && moved > 0, `moved ${moved}`);
    assert.deepEqual(r.suspects, ['far']);
  });

  it('ramps a new peer up over its first merges, whatever age it claims', () => {
    const aggregator = createAggregator('clip', { maxNormRatio: 1e9 });
    const weights: number[] = [];
    for (let i = 0; i < TRUST_RAMP_MERGES + 1; i++) {
      const r = aggregator.aggregate(local([1, 1], 10), [peer(Float32Array.of(1, 1), { peerId: 'new', age: 1e9 })]);
      assert.ok(r.status === 'merged');
      weights.push(r.weights[1]!);
    }
    // Capped at ROBUST_CAP_FACTOR x ours once trusted; 1/TRUST_RAMP_MERGES of that raw weight at first.
    const full = ROBUST_CAP_FACTOR / (1 + ROBUST_CAP_FACTOR);
    const first = ROBUST_CAP_FACTOR / TRUST_RAMP_MERGES;
    assert.ok(Math.abs(weights[0]! - first / (1 + first)) < 1e-9, `first ${weights[0]}`);
    for (let i = 1; i < weights.length; i++) assert.ok(weights[i]! >= weights[i - 1]!);
    assert.ok(Math.abs(weights.at(-1)! - full) < 1e-9);
  });

  it('gives a peer it keeps clipping less and less weight', () => {
    const aggregator = createAggregator('clip', { maxNormRatio: 1e9 });
    const mine = local([0, 0]);
    // Our own training moves the model by 0.1 between two merges.
    const train = (): void => {
      mine.params[0] = mine.params[0]! + 0.1;
    };
    for (let i = 0; i < 6; i++) {
      train();
      aggregator.aggregate(mine, [peer(Float32Array.of(mine.params[0]! + 0.5, 0), { peerId: 'honest', age: 10 })]);
    }
    const weights: number[] = [];
    for (let i = 0; i < 10; i++) {
      train();
      const r = aggregator.aggregate(mine, [peer(Float32Array.of(0, 1e6), { peerId: 'evil', age: 10 })]);
      assert.ok(r.status === 'merged');
      weights.push(r.weights[1]!);
    }
    assert.ok(weights.at(-1)! < Math.max(...weights) / 4, `weights ${weights.map((w) => w.toFixed(3)).join(' ')}`);
  });
});

describe('coordinate statistics', () => {
  it('trimmed mean drops the extremes per coordinate; median takes the middle', () => {
    const vectors = [Float32Array.of(1, 50), Float32Array.of(2, -50), Float32Array.of(3, 0), Float32Array.of(100, 1), Float32Array.of(-100, 2)];
    assert.deepEqual([...trimmedMean(new Float32Array(2), vectors, 1)], [2, 1]);
    assert.deepEqual([...coordinateMedian(new Float32Array(2), vectors)], [2, 1]);
    assert.deepEqual([...coordinateMedian(new Float32Array(1), [Float32Array.of(1), Float32Array.of(4)])], [2.5]);
  });

  it('refuses a trim that leaves nothing, and mismatched lengths', () => {
    assert.throws(() => trimmedMean(new Float32Array(1), [Float32Array.of(1), Float32Array.of(2)], 1), { name: 'MergeError', reason: 'bad-weights' });
    assert.throws(() => trimmedMean(new Float32Array(2), [Float32Array.of(1)], 0), { name: 'MergeError', reason: 'bad-weights' });
  });
});
