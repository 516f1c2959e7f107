import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/train/backend.ts';
import { DivergenceGuard, ROLLBACK_LEARNING_RATE_FACTOR, type RollbackEvent } from '../../src/train/divergence-guard.ts';
import { LiveModel } from '../../src/train/live-model.ts';
import { allFinite } from '../../src/train/merge.ts';
import { createModel, modelHash } from '../../src/train/models.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { blobDataset } from '../helpers/blobs.ts';

const data = blobDataset();

function liveModel(learningRate: number): LiveModel {
  const model = createModel('mlp-small', { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses, seed: 1 });
  const trainer = new Trainer({ model, train: data.train, featureCount: data.featureCount, numClasses: data.numClasses, batchSize: 16, learningRate, optimizer: 'momentum', seed: 1 });
  return new LiveModel({ model, trainer, modelName: 'mlp-small', modelHash: modelHash(model) });
}

describe('DivergenceGuard', function () {
  this.timeout(30_000);
  before(async () => {
    await initBackend('wasm');
  });

  it('keeps a healthy model as the last good copy and never rolls back', async () => {
    const live = liveModel(0.05);
    try {
      const guard = new DivergenceGuard({ model: live, numClasses: data.numClasses });
      for (let i = 0; i < 5; i++) assert.equal(guard.afterTraining(await live.trainer.trainSteps(5)), null);
      assert.equal(guard.rollbacks, 0);
      assert.equal(live.trainer.learningRate, 0.05);
    } finally {
      live.dispose();
    }
  });

  it('at learning rate 1e6 rolls back to the last good model, lowers the rate until training is stable, and the model learns', async () => {
    const live = liveModel(1e6);
    const events: RollbackEvent[] = [];
    try {
      const start = live.read();
      const guard = new DivergenceGuard({ model: live, numClasses: data.numClasses, onRollback: (e) => events.push(e) });
      let tensorsBefore = 0;
      for (let i = 0; i < 40; i++) {
        const result = await live.trainer.trainSteps(5);
        // The optimizer's state (one momentum buffer per variable) exists once it stepped.
        if (i === 1) tensorsBefore = tf.memory().numTensors;
        const cause = guard.afterTraining(result);
        if (cause !== null) assert.ok(allFinite(live.read().params));
        if (i === 0) {
          assert.ok(cause !== null, 'the first slice at 1e6 diverges');
          assert.deepEqual([...live.read().params], [...start.params], 'rolled back to the model it started from');
          assert.equal(live.read().age, start.age);
        }
      }
      assert.ok(guard.rollbacks >= 1 && guard.rollbacks === events.length);
      assert.equal(events[0]!.previousLearningRate, 1e6);
      assert.equal(events[0]!.learningRate, 1e6 * ROLLBACK_LEARNING_RATE_FACTOR);
      assert.ok(live.trainer.learningRate < 1e6);
      assert.ok(live.trainer.evaluate(data.test).accuracy > 0.5, 'it learns after healing');
      // Resetting the optimizer on each rollback leaks nothing.
      assert.ok(tf.memory().numTensors <= tensorsBefore, `tensors ${tensorsBefore} -> ${tf.memory().numTensors}`);
    } finally {
      live.dispose();
    }
  });

  it('heals a model holding NaN before any read, so it is never shared or checkpointed', () => {
    const live = liveModel(0.05);
    try {
      const guard = new DivergenceGuard({ model: live, numClasses: data.numClasses });
      const good = live.read();
      const broken = good.params.slice();
      broken[3] = Number.NaN;
      live.write(broken, { age: 99, samplesSeen: 999 });
      const read = guard.read();
      assert.ok(allFinite(read.params));
      assert.deepEqual([...read.params], [...good.params]);
      assert.equal(read.age, good.age);
      assert.equal(guard.rollbacks, 1);
      assert.equal(live.trainer.learningRate, 0.05 * ROLLBACK_LEARNING_RATE_FACTOR);
    } finally {
      live.dispose();
    }
  });

  it('judges an exploding loss with finite parameters as divergence', () => {
    const live = liveModel(0.05);
    try {
      const guard = new DivergenceGuard({ model: live, numClasses: 10 });
      assert.equal(guard.afterTraining({ steps: 5, loss: 2 }), null);
      assert.equal(guard.afterTraining({ steps: 5, loss: 3.6e17 }), 'loss-exploded');
      assert.equal(guard.afterTraining({ steps: 5, loss: Number.NaN }), 'non-finite-loss');
      assert.equal(guard.afterTraining({ steps: 0, loss: Number.NaN }), null, 'a slice of no steps says nothing');
      assert.equal(guard.rollbacks, 2);
    } finally {
      live.dispose();
    }
  });
});
