import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_PACING } from '../../src/core/pacing.ts';
import { SharedModel } from '../../src/sim/shared-model.ts';
import { createSimNode } from '../../src/sim/sim-node.ts';
import { simulate, type SimulationConfig } from '../../src/sim/simulate.ts';
import { simulateSwarm, type SwarmConfig } from '../../src/sim/swarm.ts';
import { initBackend } from '../../src/train/backend.ts';
import type { Dataset } from '../../src/train/dataset.ts';
import { buildModel, ModelError, modelHash } from '../../src/train/models.ts';
import { blobDataset } from '../helpers/blobs.ts';
import { saveBlobModelFiles } from '../helpers/model-files.ts';

const data: Dataset = blobDataset();
const training = { optimizer: 'adam' as const, learningRate: 0.01, batchSize: 16 };
const gossip = { codec: 'q8', aggregator: 'average', rounding: 'nearest' as const };

describe('the simulator on a model file (--model PATH/model.json)', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let threeOutputs: string;
  let fileParams: Float32Array;
  let fileHash: string;
  before(async () => {
    await initBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'gossip-sim-model-file-'));
    ({ fits: file, fitsParams: fileParams, threeOutputs } = await saveBlobModelFiles(dir));
    const loaded = await buildModel(file, { featureCount: 8, imageShape: null, numClasses: 4, seed: 1 });
    fileHash = modelHash(loaded); // blobs declare no schema: the hash is the topology's alone
    loaded.dispose();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts every simulated node from the file\'s weights, under the file\'s hash and name', async () => {
    const nodes = await Promise.all([0, 1, 2].map((index) => createSimNode({ data, partition: 'iid', index, numNodes: 3, model: file, seed: index + 1, training, gossip })));
    try {
      for (const node of nodes) {
        assert.deepEqual(node.live.read().params, fileParams);
        assert.equal(node.live.modelHash, fileHash);
        assert.equal(node.live.modelName, `file:${fileHash.slice(0, 16)}`);
      }
    } finally {
      for (const node of nodes) node.dispose();
    }
  });

  it('fills every slot of the shared arena with the file\'s weights', async () => {
    const shared = await SharedModel.create({ model: file, data, seed: 1, nodes: 3 });
    try {
      assert.equal(shared.paramCount, fileParams.length);
      for (let i = 0; i < 3; i++) assert.deepEqual(shared.slot(i), fileParams);
      assert.equal(shared.modelHash, fileHash);
    } finally {
      shared.dispose();
    }
  });

  it('simulate() gossips the file model and reports its hash and parameter count', async () => {
    const config: SimulationConfig = {
      data, partition: 'shards:1', numNodes: 3, model: file, seed: 2, mode: 'gossip', samplesPerNode: 96, training, gossip,
      pacing: { ...DEFAULT_PACING, stepsPerInterval: 2 }, partners: 0, evalPoints: 1, evalRows: 50,
    };
    const run = await simulate(config);
    assert.deepEqual(run.model, { name: `file:${fileHash.slice(0, 16)}`, hash: fileHash, paramCount: fileParams.length });
    assert.ok(run.exchanges > 0 && run.rejectedMerges === 0);
  });

  it('simulateSwarm() runs the file model in its arena and reports its hash and parameter count', async () => {
    const config: SwarmConfig = {
      data, partition: 'iid', numNodes: 4, model: file, seed: 2, training, gossip: { ...gossip, localStepsPerExchange: 2 }, durationMs: 2_000,
      network: { latencyMs: { min: 10, max: 10 }, uploadBytesPerSecond: null, dropRate: 0 }, churn: { kind: 'none' },
      view: { size: 2, shuffleLength: 1, shuffleIntervalMs: 1_000 }, evalIntervalMs: 1_000, evalNodes: 4, evalRows: 50,
    };
    const run = await simulateSwarm(config);
    assert.equal(run.modelHash, fileHash);
    assert.equal(run.modelName, `file:${fileHash.slice(0, 16)}`);
    assert.equal(run.paramCount, fileParams.length);
    assert.ok(run.exchanges.merges > 0);
  });

  it('refuses a file whose output units are not the classes with one line naming it, leaking no tensor', async () => {
    const before = tf.memory().numTensors;
    const message = `${threeOutputs}: the model outputs [3], but the data has 4 classes (one output per class)`;
    const refused = (err: unknown): boolean => err instanceof ModelError && err.reason === 'bad-options' && err.message === message;
    await assert.rejects(simulate({ data, partition: 'iid', numNodes: 2, model: threeOutputs, seed: 1, mode: 'local', samplesPerNode: 32, training, partners: 0, evalPoints: 1, evalRows: 0 }), refused);
    await assert.rejects(SharedModel.create({ model: threeOutputs, data, seed: 1, nodes: 2 }), refused);
    assert.equal(tf.memory().numTensors, before);
  });
});
