import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/train/backend.ts';
import { createModel } from '../../src/train/models.ts';
import { getFlatParams } from '../../src/train/params.ts';
import { Trainer, TrainerError, type OptimizerName } from '../../src/train/trainer.ts';
import { blobDataset } from '../helpers/blobs.ts';

const data = blobDataset();

function trainer(optimizer: OptimizerName): Trainer {
  const model = createModel('mlp-small', { featureCount: data.featureCount, imageShape: null, numClasses: data.numClasses, seed: 3 });
  return new Trainer({ model, train: data.train, featureCount: data.featureCount, numClasses: data.numClasses, batchSize: 16, learningRate: optimizer === 'adam' ? 0.01 : 0.05, optimizer, seed: 9 });
}

describe('Trainer park / unpark (one tfjs model shared by many simulated nodes)', () => {
  before(async () => {
    await initBackend('wasm');
  });

  for (const optimizer of ['momentum', 'qgm', 'adam', 'sgd'] as const) {
    it(`${optimizer}: parking between slices trains bit for bit as without, and parked state holds no tensor`, async () => {
      const straight = trainer(optimizer);
      const parked = trainer(optimizer);
      await straight.trainSteps(12);
      for (let slice = 0; slice < 3; slice++) {
        await parked.unpark();
        await parked.trainSteps(4);
        const before = tf.memory().numTensors;
        await parked.park();
        assert.ok(parked.isParked);
        // Parking frees the optimizer's tensors (momentum, moments, quasi-global buffers), never the model's.
        if (optimizer === 'sgd') assert.ok(tf.memory().numTensors <= before);
        else assert.ok(tf.memory().numTensors < before, 'optimizer slots freed');
      }
      await parked.unpark();
      assert.deepEqual(getFlatParams(parked.model), getFlatParams(straight.model));
      for (const t of [straight, parked]) {
        t.dispose();
        t.model.dispose();
      }
    });
  }

  it('refuses to train while parked; a reset while parked gives a fresh optimizer at the new rate', async () => {
    const t = trainer('momentum');
    await t.park();
    await assert.rejects(t.trainSteps(1), (err: unknown) => err instanceof TrainerError && err.reason === 'bad-options' && err.message === 'trainer is parked: unpark() it first');
    t.resetOptimizer(0.005);
    assert.equal(t.learningRate, 0.005);
    await t.unpark();
    const result = await t.trainSteps(2);
    assert.equal(result.steps, 2);
    const tensors = tf.memory().numTensors;
    await t.park();
    t.dispose();
    assert.ok(tf.memory().numTensors < tensors, 'the momentum slots were freed');
    t.model.dispose();
  });
});
