import assert from 'node:assert/strict';
import { createGossipNode } from '../../src/core/gossip-node.ts';
import { aLittleIsEnoughZ, ATTACK_CODEC, nodeAttack, SIGN_FLIP_FACTOR, type AttackContext } from '../../src/sim/adversary.ts';
import { exchangeInMemory } from '../../src/sim/network.ts';
import { simulate, type SimulationConfig } from '../../src/sim/simulate.ts';
import { DEFAULT_PACING } from '../../src/core/pacing.ts';
import { createAggregator, DEFAULT_AGGREGATOR } from '../../src/train/aggregators/index.ts';
import { initBackend } from '../../src/train/backend.ts';
import { allFinite, type TrainingCounters } from '../../src/train/merge.ts';
import type { LocalModelStore, ModelState } from '../../src/train/model-state.ts';
import { createRandom } from '../../src/train/random.ts';
import { blobDataset } from '../helpers/blobs.ts';

/** A plain in-memory model store. */
class ArrayModel implements LocalModelStore {
  params: Float32Array;
  counters: TrainingCounters = { age: 10, samplesSeen: 100 };
  constructor(params: Float32Array) {
    this.params = params.slice();
  }
  read(): ModelState {
    return { params: this.params.slice(), ...this.counters };
  }
  write(params: Float32Array, counters: TrainingCounters): void {
    this.params = params.slice();
    this.counters = counters;
  }
}

const context = (honest: ModelState[], index = 3): AttackContext => ({ index, numNodes: 4, seed: 1, numClasses: 4, honest: () => honest });

describe('simulated adversaries', () => {
  it('computes Baruch et al.\'s z for n nodes of which m are malicious', () => {
    // n = 8, m = 2: s = floor(8/2 + 1) - 2 = 3, z = Phi^-1(5/8).
    assert.ok(Math.abs(aLittleIsEnoughZ(8, 2) - 0.31864) < 1e-4);
    assert.ok(Math.abs(aLittleIsEnoughZ(50, 12) - 0.58284) < 1e-4);
    assert.throws(() => aLittleIsEnoughZ(4, 4), RangeError);
  });

  it('leaves honest nodes and attack-free runs alone', () => {
    assert.equal(nodeAttack({ attack: 'sign-flip', nodes: [3] }, context([], 0)), null);
    assert.equal(nodeAttack({ attack: 'none', nodes: [3] }, context([])), null);
  });

  it('sign-flip sends the honest progress reversed ten times, with the honest mean age, and drops merges', () => {
    const honest = [
      { params: Float32Array.of(2, 0), age: 10, samplesSeen: 100 },
      { params: Float32Array.of(4, 2), age: 30, samplesSeen: 300 },
    ];
    const attack = nodeAttack({ attack: 'sign-flip', nodes: [3] }, context(honest))!;
    assert.equal(attack.codec, ATTACK_CODEC);
    const own = new ArrayModel(Float32Array.of(1, 1));
    const store = attack.store!(own);
    // x0 = (1, 1), mean = (3, 1): x0 - 10 (mean - x0) = (-19, 1).
    const sent = store.read();
    assert.deepEqual([...sent.params], [1 - SIGN_FLIP_FACTOR * 2, 1]);
    assert.deepEqual([sent.age, sent.samplesSeen], [20, 200]);
    store.write(Float32Array.of(9, 9), { age: 1, samplesSeen: 1 });
    assert.deepEqual([...own.params], [1, 1]);
  });

  it('label-flip trains on labels c -> classes - 1 - c', () => {
    const attack = nodeAttack({ attack: 'label-flip', nodes: [3] }, context([]))!;
    const split = attack.trainSplit!({ x: new Float32Array(3), y: Int32Array.of(0, 1, 3), count: 3 });
    assert.deepEqual([...split.y], [3, 2, 0]);
  });

  it('nan-inf frames are refused by the honest receiver, whose model stays finite and unchanged', () => {
    const honestModel = new ArrayModel(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)));
    const before = honestModel.read().params;
    const attack = nodeAttack({ attack: 'nan-inf', nodes: [1] }, { ...context([honestModel.read()], 1), numNodes: 2 })!;
    const setup = { swarmId: 's', modelHash: 'h', paramCount: 64, snapshotCodec: 'q8', random: createRandom(1) };
    const honest = createGossipNode({ ...setup, model: honestModel, incarnation: 'a', codec: 'q8', aggregator: createAggregator('clip') });
    const evil = createGossipNode({ ...setup, snapshotCodec: ATTACK_CODEC, model: attack.store!(new ArrayModel(before)), incarnation: 'b', codec: ATTACK_CODEC, aggregator: createAggregator('average') });
    assert.equal(exchangeInMemory(evil, 'evil', honest, 'honest', { initiator: attack.tamper! }), 'rejected');
    assert.equal(exchangeInMemory(honest, 'honest', evil, 'evil', { responder: attack.tamper! }), 'rejected');
    assert.ok(allFinite(honestModel.params));
    assert.deepEqual([...honestModel.params], [...before]);
  });

  describe('in a simulation (4 nodes, one malicious)', function () {
    this.timeout(120_000);
    before(async () => {
      await initBackend('wasm');
    });
    const data = blobDataset();
    const config = (aggregator: string, attack: 'none' | 'sign-flip'): SimulationConfig => ({
      data,
      partition: 'iid',
      numNodes: 4,
      model: 'mlp-small',
      seed: 3,
      mode: 'gossip',
      samplesPerNode: 480,
      training: { optimizer: 'momentum', learningRate: 0.05, batchSize: 16 },
      gossip: { codec: 'topk:0.25+q8', aggregator, rounding: 'nearest' },
      pacing: { ...DEFAULT_PACING, stepsPerInterval: 4 },
      partners: 0,
      evalPoints: 1,
      evalRows: 0,
      adversary: { attack, nodes: [3] },
    });
    const honestMean = (accuracies: number[]): number => accuracies.slice(0, 3).reduce((a, b) => a + b, 0) / 3;

    it('sign-flip ruins the plain average; the default aggregator keeps the honest nodes near the attack-free accuracy', async () => {
      const calm = honestMean((await simulate(config(DEFAULT_AGGREGATOR, 'none'))).finalAccuracies);
      const averaged = honestMean((await simulate(config('average', 'sign-flip'))).finalAccuracies);
      const defended = honestMean((await simulate(config(DEFAULT_AGGREGATOR, 'sign-flip'))).finalAccuracies);
      assert.ok(calm > 0.9, `no attack: ${calm}`);
      assert.ok(averaged < calm - 0.2, `average under sign-flip: ${averaged} (no attack ${calm})`);
      assert.ok(defended > calm - 0.05, `${DEFAULT_AGGREGATOR} under sign-flip: ${defended} (no attack ${calm})`);
    });
  });
});
