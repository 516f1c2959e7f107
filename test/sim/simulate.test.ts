import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { partnerGraph, simulate } from '../../src/sim/simulate.ts';
import type { SimulationConfig } from '../../src/sim/simulate.ts';
import { bytesToReach } from '../../src/bench/convergence.ts';
import { DEFAULT_PACING } from '../../src/core/pacing.ts';
import { initBackend } from '../../src/train/backend.ts';
import type { Dataset } from '../../src/train/dataset.ts';
import { blobDataset } from '../helpers/blobs.ts';
import { createRandom } from '../../src/train/random.ts';

const data: Dataset = blobDataset();

function config(over: Partial<SimulationConfig>): SimulationConfig {
  return {
    data,
    partition: 'shards:1', // 4 nodes, one label each: no node can learn alone
    numNodes: 4,
    model: 'mlp-small',
    seed: 3,
    mode: 'gossip',
    samplesPerNode: 640,
    training: { optimizer: 'adam', learningRate: 0.01, batchSize: 16 },
    gossip: { codec: 'topk:0.25+q8', aggregator: 'average', rounding: 'stochastic' },
    pacing: { ...DEFAULT_PACING, stepsPerInterval: 4 },
    partners: 0,
    evalPoints: 4,
    evalRows: 0,
    ...over,
  };
}

describe('gossip simulation', function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend('wasm');
  });

  it('learns every label by gossip where local training cannot, and counts the bytes it sent', async () => {
    const gossip = await simulate(config({}));
    const local = await simulate(config({ mode: 'local' }));
    assert.ok(gossip.curve.at(-1)!.samples >= 4 * 640 && gossip.curve.at(-1)!.samples < 4 * (640 + 16));
    assert.equal(local.bytesPerNode, 0);
    assert.ok(gossip.bytesPerNode > 0 && gossip.bytesPerNode === gossip.payloadBytesPerNode + gossip.metaBytesPerNode);
    // One label per node: alone each node is right on about a quarter of the test set.
    assert.ok(local.curve.at(-1)!.worstAccuracy < 0.5, `local worst ${local.curve.at(-1)!.worstAccuracy}`);
    assert.ok(gossip.curve.at(-1)!.worstAccuracy > 0.8, `gossip worst ${gossip.curve.at(-1)!.worstAccuracy}`);
    assert.equal(gossip.rejectedMerges, 0);
    // Curve points only ever add bytes.
    for (let i = 1; i < gossip.curve.length; i++) assert.ok(gossip.curve[i]!.bytesPerNode >= gossip.curve[i - 1]!.bytesPerNode);
  });

  it('is deterministic for a seed', async () => {
    const a = await simulate(config({ samplesPerNode: 160, evalPoints: 1 }));
    const b = await simulate(config({ samplesPerNode: 160, evalPoints: 1 }));
    assert.deepEqual(a.curve, b.curve);
    assert.deepEqual(a.finalAccuracies, b.finalAccuracies);
  });

  it('stops between two events when its signal aborts, and frees its nodes', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const abort = new AbortController();
    let points = 0;
    const onPoint = (): void => {
      points += 1;
      if (points === 2) abort.abort();
    };
    await assert.rejects(simulate(config({ mode: 'local', evalPoints: 8, onPoint, signal: abort.signal })), { name: 'AbortError' });
    assert.equal(points, 2, 'no curve point after the abort');
    assert.equal(tf.memory().numTensors, tensorsBefore);
  });

  it('runs the core aggregation policy: H local steps per exchange sends fewer messages, a byte budget caps the bytes', async () => {
    const gossip = (over: Partial<NonNullable<SimulationConfig['gossip']>>) => config({ evalPoints: 1, gossip: { codec: 'topk:0.25+q8', aggregator: 'average', rounding: 'stochastic', ...over } });
    const everyInterval = await simulate(gossip({}));
    const everyEight = await simulate(gossip({ localStepsPerExchange: 8 }));
    // 4 steps per training window: H = 8 calls about every other interval (and every interval once a node stops training).
    assert.ok(everyEight.exchanges < 0.75 * everyInterval.exchanges, `${everyEight.exchanges} vs ${everyInterval.exchanges} exchanges`);
    assert.ok(everyEight.bytesPerNode < everyInterval.bytesPerNode);
    // A run lasts a few seconds of virtual time: 360 kB per hour allows ~0.5 kB per node, spread out (tokens start empty,
    // so each node's first exchange, a snapshot both ways, goes out on credit).
    const budgeted = await simulate(gossip({ byteBudgetPerHour: 360_000 }));
    assert.ok(budgeted.bytesPerNode > 0 && budgeted.bytesPerNode < 0.25 * everyInterval.bytesPerNode, `${budgeted.bytesPerNode} vs ${everyInterval.bytesPerNode} bytes`);
    const allowance = (360_000 * budgeted.virtualMs) / 3_600_000;
    assert.ok(budgeted.bytesPerNode <= 2 * allowance, `${budgeted.bytesPerNode} bytes per node, ${allowance} allowed over ${budgeted.virtualMs} ms`);
  });

  it('draws a symmetric, connected partner graph with about k partners', () => {
    const graph = partnerGraph(8, 3, createRandom(1));
    graph.forEach((partners, i) => {
      assert.ok(partners.length >= 3 && partners.length <= 4, `node ${i}: ${partners}`);
      for (const j of partners) assert.ok(graph[j]!.includes(i));
    });
    const seen = new Set([0]);
    const queue = [0];
    while (queue.length > 0) for (const j of graph[queue.pop()!]!) if (!seen.has(j)) (seen.add(j), queue.push(j));
    assert.equal(seen.size, 8);
    assert.deepEqual(partnerGraph(3, 0, createRandom(1)), [[1, 2], [0, 2], [0, 1]]);
  });

  it('bytesToReach reads the first curve point at or above an accuracy', () => {
    const curve = [0.1, 0.5, 0.7, 0.65].map((meanAccuracy, i) => ({ samples: i, meanAccuracy, worstAccuracy: 0, bytesPerNode: i * 100, testRows: 1 }));
    assert.equal(bytesToReach(curve, 0.6), 200);
    assert.equal(bytesToReach(curve, 0.8), null);
  });
});
