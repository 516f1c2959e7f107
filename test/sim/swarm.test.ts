import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { simulateSwarm, SwarmConfigError, type SwarmConfig, type SwarmResult } from '../../src/sim/swarm.ts';
import { initBackend } from '../../src/train/backend.ts';
import type { Dataset } from '../../src/train/dataset.ts';
import { blobDataset } from '../helpers/blobs.ts';

const data: Dataset = blobDataset();

/** 20 nodes, two labels each at most (shards:2 of 4 labels): alone a node is right on about half the test set. */
function config(over: Partial<SwarmConfig> = {}): SwarmConfig {
  return {
    data,
    partition: 'shards:2',
    numNodes: 20,
    model: 'mlp-small',
    seed: 5,
    training: { optimizer: 'adam', learningRate: 0.01, batchSize: 16 },
    gossip: { codec: 'topk:0.25+q8', aggregator: 'average', rounding: 'nearest', localStepsPerExchange: 5 },
    durationMs: 12_000,
    network: { latencyMs: { min: 10, max: 80 }, uploadBytesPerSecond: { min: 200_000, max: 200_000 }, dropRate: 0 },
    churn: { kind: 'none' },
    view: { size: 6, shuffleLength: 3, shuffleIntervalMs: 2_000 },
    exchangeTimeoutMs: 2_000,
    evalIntervalMs: 3_000,
    evalNodes: 8,
    evalRows: 0,
    ...over,
  };
}

/** The curve without the wall-clock seconds (the one field a seed does not fix). */
function virtualCurve(result: SwarmResult): unknown[] {
  return result.curve.map(({ wallSeconds: _wall, ...rest }) => rest);
}

describe('swarm simulation', function () {
  this.timeout(120_000);
  let clean: SwarmResult;
  before(async () => {
    await initBackend('wasm');
    clean = await simulateSwarm(config());
  });

  it('a seeded 20-node swarm converges above 85% mean accuracy (every node above 70%) with partial views of 6 peers', () => {
    assert.ok(clean.finalMeanAccuracy > 0.85, `final mean ${clean.finalMeanAccuracy}`);
    assert.ok(clean.finalWorstAccuracy > 0.7, `final worst ${clean.finalWorstAccuracy}`);
    assert.equal(clean.finalAccuracies.length, 20);
    assert.ok(clean.curve[0]!.meanAccuracy < 0.5, `start ${clean.curve[0]!.meanAccuracy}`);
    assert.ok(clean.shuffles.started > 0 && clean.exchanges.completed > 0);
    assert.equal(clean.curve.at(-1)!.timeMs, 12_000);
  });

  it('counts as bytes sent exactly the encoded frames it put on the network', () => {
    assert.ok(clean.networkBytes > 0);
    assert.equal(Math.round(clean.bytesPerNode * 20), clean.networkBytes);
    // Per-node figures are totals divided by the node count: compare the totals they stand for (whole bytes).
    assert.equal(Math.round((clean.payloadBytesPerNode + clean.metaBytesPerNode) * 20), clean.networkBytes);
    for (let i = 1; i < clean.curve.length; i++) assert.ok(clean.curve[i]!.bytesPerNode >= clean.curve[i - 1]!.bytesPerNode);
  });

  it('still converges with 50% of the frames lost, more slowly', async () => {
    const lossy = await simulateSwarm(config({ durationMs: 30_000, network: { ...config().network, dropRate: 0.5 }, targetAccuracy: 0.8 }));
    assert.ok(lossy.drops > 0.4 * lossy.messages && lossy.drops < 0.6 * lossy.messages, `${lossy.drops} of ${lossy.messages} lost`);
    assert.ok(lossy.exchanges.timedOut > 0, 'exchanges with a lost frame time out');
    assert.ok(lossy.finalMeanAccuracy > 0.75, `lossy final mean ${lossy.finalMeanAccuracy}`);
    // Slower: the clean swarm passes 80% mean accuracy at its first point after the start; the lossy one much later.
    const cleanToTarget = clean.curve.find((p) => p.meanAccuracy >= 0.8)!.timeMs;
    assert.ok(lossy.timeToTargetMs !== null && lossy.timeToTargetMs > 2 * cleanToTarget, `lossy reached 80% at ${lossy.timeToTargetMs} ms, clean at ${cleanToTarget} ms`);
  });

  it('gives the same curve for the same seed, and frees every tensor', async () => {
    const tensors = tf.memory().numTensors;
    const again = await simulateSwarm(config());
    assert.deepEqual(virtualCurve(again), virtualCurve(clean));
    assert.deepEqual(again.finalAccuracies, clean.finalAccuracies);
    assert.equal(again.networkBytes, clean.networkBytes);
    assert.equal(tf.memory().numTensors, tensors);
  });

  it('runs churn: offline nodes neither train nor answer, and come back', async () => {
    const churned = await simulateSwarm(config({ durationMs: 6_000, churn: { kind: 'rates', meanOnlineMs: 2_000, meanOfflineMs: 1_000 } }));
    assert.ok(churned.exchanges.failedDials > 0, 'some dials hit an offline node');
    assert.ok(churned.curve.some((p) => p.online < 20), 'some curve point saw nodes offline');
  });

  it('refuses a configuration it cannot run', async () => {
    await assert.rejects(simulateSwarm(config({ numNodes: 1 })), (err: unknown) => err instanceof SwarmConfigError && err.reason === 'bad-config' && err.message === 'a swarm needs at least 2 nodes, got 1');
    await assert.rejects(simulateSwarm(config({ view: { size: 4, shuffleLength: 5, shuffleIntervalMs: 1000 } })), (err: unknown) => err instanceof SwarmConfigError && /shuffle length must be an integer in 1\.\.4/.test(err.message));
  });
});
