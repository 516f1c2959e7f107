import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { PartitionError, parsePartitionSpec, partitionIndices, subsetSplit } from '../../src/train/partition.ts';
import { createRandom } from '../../src/train/random.ts';

function randomLabels(count: number, numClasses: number, seed: number): Int32Array {
  const random = createRandom(seed);
  return Int32Array.from({ length: count }, () => Math.floor(random() * numClasses));
}

function allParts(spec: string, labels: Int32Array, numClasses: number, seed: number, numNodes: number): Int32Array[] {
  return Array.from({ length: numNodes }, (_, nodeIndex) => partitionIndices(spec, labels, numClasses, { seed, nodeIndex, numNodes }));
}

function assertDisjointCover(parts: Int32Array[], count: number): void {
  const owner = new Int32Array(count).fill(-1);
  parts.forEach((part, node) => {
    for (const row of part) {
      assert.equal(owner[row], -1, `row ${row} given to nodes ${owner[row]} and ${node}`);
      owner[row] = node;
    }
  });
  assert.equal(owner.indexOf(-1), -1, `row ${owner.indexOf(-1)} given to no node`);
}

/** Mean over nodes of the share of the node's most common label. */
function meanTopLabelShare(parts: Int32Array[], labels: Int32Array, numClasses: number): number {
  let total = 0;
  for (const part of parts) {
    const counts = new Int32Array(numClasses);
    for (const row of part) counts[labels[row]!]++;
    total += Math.max(...counts) / part.length;
  }
  return total / parts.length;
}

function assertPartitionError(reason: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof PartitionError);
    assert.equal(err.name, 'PartitionError');
    assert.equal(err.reason, reason);
    assert.match(err.message, message);
    return true;
  };
}

describe('partitionIndices', () => {
  const labels = randomLabels(3000, 10, 42);

  for (const spec of ['iid', 'dirichlet:0.3', 'dirichlet:100', 'shards:2', 'shards:5']) {
    it(`${spec}: nodes get disjoint parts that cover the training set`, () => {
      for (const numNodes of [1, 3, 10]) assertDisjointCover(allParts(spec, labels, 10, 7, numNodes), labels.length);
    });

    it(`${spec}: is deterministic from (seed, nodeIndex, numNodes) and changes with the seed`, () => {
      const a = partitionIndices(spec, labels, 10, { seed: 7, nodeIndex: 2, numNodes: 5 });
      const b = partitionIndices(spec, labels, 10, { seed: 7, nodeIndex: 2, numNodes: 5 });
      const c = partitionIndices(spec, labels, 10, { seed: 8, nodeIndex: 2, numNodes: 5 });
      assert.deepEqual(a, b);
      assert.notDeepEqual(a, c);
      assert.ok(a.every((row, i) => i === 0 || row > a[i - 1]!), 'rows come in ascending order');
    });
  }

  it('disjoint cover holds for any sizes and seeds (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 400 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom('iid', 'dirichlet:0.5', 'dirichlet:5', 'shards:1', 'shards:2'),
        (count, numNodes, numClasses, seed, spec) => {
          const ls = randomLabels(count, numClasses, seed);
          assertDisjointCover(allParts(spec, ls, numClasses, seed, numNodes), count);
        },
      ),
      { seed: 1234, numRuns: 150 },
    );
  });

  it('iid: part sizes differ by at most one', () => {
    const sizes = allParts('iid', labels, 10, 3, 7).map((p) => p.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
  });

  it('dirichlet: a small alpha skews label mixes; a large one approaches iid', () => {
    const skewed = meanTopLabelShare(allParts('dirichlet:0.1', labels, 10, 5, 10), labels, 10);
    const even = meanTopLabelShare(allParts('dirichlet:1000', labels, 10, 5, 10), labels, 10);
    const iid = meanTopLabelShare(allParts('iid', labels, 10, 5, 10), labels, 10);
    assert.ok(skewed > 0.5, `alpha 0.1 top-label share ${skewed}`);
    assert.ok(even < 0.2 && iid < 0.2, `alpha 1000 ${even}, iid ${iid}`);
  });

  it('dirichlet: never leaves a node empty', () => {
    for (const part of allParts('dirichlet:0.05', labels, 10, 11, 20)) assert.ok(part.length > 0);
  });

  it('shards:k gives each node k equal shards of sorted labels, about k labels each', () => {
    const sortedLabels = Int32Array.from(labels).sort();
    // 10 nodes x 2 shards over 3000 rows: 150 rows per shard.
    const parts = allParts('shards:2', sortedLabels, 10, 9, 10);
    for (const part of parts) {
      assert.equal(part.length, 300);
      const distinct = new Set(Array.from(part, (row) => sortedLabels[row]));
      // A shard may straddle one label boundary: at most 2 labels per shard.
      assert.ok(distinct.size <= 4, `labels ${[...distinct]}`);
    }
    assert.ok(meanTopLabelShare(parts, sortedLabels, 10) > 0.45);
  });

  it('rejects unknown specs and bad options with a PartitionError', () => {
    const opts = { seed: 1, nodeIndex: 0, numNodes: 2 };
    assert.throws(() => partitionIndices('random', labels, 10, opts), assertPartitionError('unknown-spec', /unknown partition spec 'random' \(expected iid \| dirichlet:<alpha> \| shards:<k>\)/));
    assert.throws(() => partitionIndices('dirichlet:0', labels, 10, opts), assertPartitionError('bad-option', /alpha must be a positive number/));
    assert.throws(() => partitionIndices('dirichlet:', labels, 10, opts), assertPartitionError('bad-option', /alpha must be a positive number/));
    assert.throws(() => partitionIndices('shards:1.5', labels, 10, opts), assertPartitionError('bad-option', /k must be a positive integer/));
    assert.throws(() => partitionIndices('shards:2:3', labels, 10, opts), assertPartitionError('unknown-spec', /unknown partition spec/));
    assert.throws(() => partitionIndices('iid', labels, 10, { seed: 1, nodeIndex: 2, numNodes: 2 }), assertPartitionError('bad-option', /nodeIndex must be an integer in 0\.\.1, got 2/));
    assert.throws(() => partitionIndices('iid', labels, 10, { seed: 1, nodeIndex: 0, numNodes: 0 }), assertPartitionError('bad-option', /numNodes must be a positive integer/));
    assert.throws(() => partitionIndices('shards:400', labels, 10, { seed: 1, nodeIndex: 0, numNodes: 10 }), assertPartitionError('too-few-samples', /needs at least 4000 rows, have 3000/));
    assert.deepEqual(parsePartitionSpec('dirichlet:0.5'), { kind: 'dirichlet', alpha: 0.5 });
  });
});

describe('subsetSplit', () => {
  it('copies the chosen rows and their labels', () => {
    const split = { x: Float32Array.from([0, 1, 10, 11, 20, 21]), y: Int32Array.from([5, 6, 7]), count: 3 };
    const sub = subsetSplit(split, 2, Int32Array.from([2, 0]));
    assert.deepEqual(Array.from(sub.x), [20, 21, 0, 1]);
    assert.deepEqual(Array.from(sub.y), [7, 5]);
    assert.equal(sub.count, 2);
    assert.throws(() => subsetSplit(split, 2, Int32Array.from([3])), PartitionError);
  });
});
