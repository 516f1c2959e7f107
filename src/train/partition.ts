/**
 * Which training rows a node owns (contract spec strings, docs/architecture.md "Contracts"):
 *
 *   iid              a seeded random permutation cut into numNodes near-equal parts
 *   dirichlet:<a>    per class, proportions over nodes drawn from Dirichlet(a)
 *   shards:<k>       sort by label, cut into numNodes*k equal shards, k seeded shards per node
 *
 *   const mine = partitionIndices('dirichlet:0.5', data.train.y, 10, { seed: 1, nodeIndex: 3, numNodes: 8 });
 *   const local = subsetSplit(data.train, data.featureCount, mine);
 *
 * Every node computes the same global assignment from (seed, numNodes) and
 * keeps its own part, so the parts of nodes 0..numNodes-1 are disjoint and
 * together cover the training set without any coordination.
 */
import { createRandom, deriveSeed, dirichlet, permutation, shuffleInPlace } from './random.ts';
import type { Split } from './dataset.ts';
import { GossipLearnError } from '../common/errors.ts';

export const PARTITION_SPEC_HELP = 'iid | dirichlet:<alpha> | shards:<k>';
/** Redraws allowed when a Dirichlet draw leaves some node with no rows at all. */
const DIRICHLET_MAX_ATTEMPTS = 100;

export type PartitionErrorReason = 'unknown-spec' | 'bad-option' | 'too-few-samples' | 'empty-partition';

export class PartitionError extends GossipLearnError<PartitionErrorReason> {
  override readonly name = 'PartitionError';
}

export interface PartitionOptions {
  seed: number;
  nodeIndex: number;
  numNodes: number;
}

export type PartitionSpec = { kind: 'iid' } | { kind: 'dirichlet'; alpha: number } | { kind: 'shards'; shardsPerNode: number };

/** Parses and validates a spec string without needing any data (CLI validation uses it). */
export function parsePartitionSpec(spec: string): PartitionSpec {
  if (spec === 'iid') return { kind: 'iid' };
  const [kind, arg, ...rest] = spec.split(':');
  if (rest.length === 0 && arg !== undefined) {
    const value = Number(arg);
    if (kind === 'dirichlet') {
      if (arg === '' || !Number.isFinite(value) || value <= 0) throw new PartitionError('bad-option', `partition '${spec}': alpha must be a positive number`);
      return { kind: 'dirichlet', alpha: value };
    }
    if (kind === 'shards') {
      if (arg === '' || !Number.isInteger(value) || value < 1) throw new PartitionError('bad-option', `partition '${spec}': k must be a positive integer`);
      return { kind: 'shards', shardsPerNode: value };
    }
  }
  throw new PartitionError('unknown-spec', `unknown partition spec '${spec}' (expected ${PARTITION_SPEC_HELP})`);
}

/** Cuts `items` into `parts` consecutive runs whose sizes differ by at most one; returns run `part`. */
function evenRun(items: Int32Array, parts: number, part: number): Int32Array {
  const start = Math.floor((part * items.length) / parts);
  const end = Math.floor(((part + 1) * items.length) / parts);
  return items.subarray(start, end);
}

function sorted(indices: Int32Array): Int32Array {
  return Int32Array.from(indices).sort();
}

function iid(count: number, opts: PartitionOptions): Int32Array {
  const order = permutation(count, createRandom(deriveSeed(opts.seed, 'partition-iid')));
  return sorted(evenRun(order, opts.numNodes, opts.nodeIndex));
}

function rowsByClass(labels: Int32Array, numClasses: number): Int32Array[] {
  const counts = new Int32Array(numClasses);
  for (const label of labels) counts[label]++;
  const byClass = Array.from(counts, (n) => new Int32Array(n));
  const filled = new Int32Array(numClasses);
  labels.forEach((label, row) => {
    byClass[label]![filled[label]++] = row;
  });
  return byClass;
}

/**
 * For each class: shuffle its rows, draw node proportions from
 * Dirichlet(alpha), cut at the rounded cumulative proportions. If some node
 * ends up with no rows, the whole draw is repeated with the next attempt's
 * seed (as common non-IID benchmarks do), deterministically.
 */
function dirichletPartition(labels: Int32Array, numClasses: number, alpha: number, opts: PartitionOptions): Int32Array {
  const byClass = rowsByClass(labels, numClasses);
  for (let attempt = 0; attempt < DIRICHLET_MAX_ATTEMPTS; attempt++) {
    const owner = new Int32Array(labels.length);
    const sizes = new Int32Array(opts.numNodes);
    byClass.forEach((rows, label) => {
      const random = createRandom(deriveSeed(opts.seed, 'partition-dirichlet', attempt, label));
      const shuffled = shuffleInPlace(Int32Array.from(rows), random);
      const proportions = dirichlet(random, alpha, opts.numNodes);
      let cumulative = 0;
      let start = 0;
      for (let node = 0; node < opts.numNodes; node++) {
        cumulative += proportions[node]!;
        const end = node === opts.numNodes - 1 ? shuffled.length : Math.min(shuffled.length, Math.round(cumulative * shuffled.length));
        for (let i = start; i < end; i++) owner[shuffled[i]!] = node;
        sizes[node] += Math.max(0, end - start);
        start = Math.max(start, end);
      }
    });
    if (sizes.every((n) => n > 0)) {
      const mine = new Int32Array(sizes[opts.nodeIndex]!);
      let k = 0;
      owner.forEach((node, row) => {
        if (node === opts.nodeIndex) mine[k++] = row;
      });
      return mine;
    }
  }
  throw new PartitionError(
    'empty-partition',
    `partition 'dirichlet:${alpha}': ${DIRICHLET_MAX_ATTEMPTS} draws all left some of the ${opts.numNodes} nodes without data; use a larger alpha or fewer nodes`,
  );
}

function shardsPartition(labels: Int32Array, shardsPerNode: number, opts: PartitionOptions): Int32Array {
  const shardCount = opts.numNodes * shardsPerNode;
  if (shardCount > labels.length) {
    throw new PartitionError('too-few-samples', `partition 'shards:${shardsPerNode}': ${opts.numNodes} nodes x ${shardsPerNode} shards needs at least ${shardCount} rows, have ${labels.length}`);
  }
  // Stable sort by label (ties by row) so every node sorts identically.
  const byLabel = Int32Array.from(labels.keys()).sort((a, b) => labels[a]! - labels[b]! || a - b);
  const shardOrder = permutation(shardCount, createRandom(deriveSeed(opts.seed, 'partition-shards')));
  const parts: Int32Array[] = [];
  for (let s = 0; s < shardsPerNode; s++) parts.push(evenRun(byLabel, shardCount, shardOrder[opts.nodeIndex * shardsPerNode + s]!));
  const mine = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    mine.set(part, offset);
    offset += part.length;
  }
  return sorted(mine);
}

/** The training rows (ascending) that node `nodeIndex` of `numNodes` owns under `spec`. */
export function partitionIndices(spec: string, labels: Int32Array, numClasses: number, opts: PartitionOptions): Int32Array {
  const parsed = parsePartitionSpec(spec);
  const { nodeIndex, numNodes, seed } = opts;
  if (!Number.isInteger(numNodes) || numNodes < 1) throw new PartitionError('bad-option', `numNodes must be a positive integer, got ${numNodes}`);
  if (!Number.isInteger(nodeIndex) || nodeIndex < 0 || nodeIndex >= numNodes) {
    throw new PartitionError('bad-option', `nodeIndex must be an integer in 0..${numNodes - 1}, got ${nodeIndex}`);
  }
  if (!Number.isFinite(seed)) throw new PartitionError('bad-option', `seed must be a finite number, got ${seed}`);
  if (numNodes > labels.length) throw new PartitionError('too-few-samples', `${numNodes} nodes but only ${labels.length} training rows`);
  for (const label of labels) {
    if (!(label >= 0 && label < numClasses)) throw new PartitionError('bad-option', `label ${label} outside 0..${numClasses - 1}`);
  }
  switch (parsed.kind) {
    case 'iid':
      return iid(labels.length, opts);
    case 'dirichlet':
      return dirichletPartition(labels, numClasses, parsed.alpha, opts);
    case 'shards':
      return shardsPartition(labels, parsed.shardsPerNode, opts);
  }
}

/** Copies the rows at `indices` into a new Split. */
export function subsetSplit(split: Split, featureCount: number, indices: Int32Array): Split {
  const x = new Float32Array(indices.length * featureCount);
  const y = new Int32Array(indices.length);
  indices.forEach((row, i) => {
    if (!(row >= 0 && row < split.count)) throw new PartitionError('bad-option', `row index ${row} outside 0..${split.count - 1}`);
    x.set(split.x.subarray(row * featureCount, (row + 1) * featureCount), i * featureCount);
    y[i] = split.y[row]!;
  });
  return { x, y, count: indices.length };
}
