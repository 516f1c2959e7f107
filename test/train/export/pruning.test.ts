import { strict as assert } from 'node:assert';
import { initBackend } from '../../../src/train/backend.ts';
import { createModel } from '../../../src/train/models.ts';
import { getFlatParams } from '../../../src/train/params.ts';
import { Trainer } from '../../../src/train/trainer.ts';
import { fineTuneMasked, isPrunable, magnitudePruneMask, pruneModel, prunedFraction, PruningError } from '../../../src/train/export/pruning.ts';
import { createRandom } from '../../../src/train/random.ts';

describe('magnitude pruning', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('magnitudePruneMask zeroes exactly floor(fraction * n) values, the smallest in magnitude', () => {
    const values = Float32Array.from([0.5, -0.1, 0.3, -0.9, 0.05, 0.2, -0.4, 0.7]);
    assert.deepEqual([...magnitudePruneMask(values, 0.5)], [1, 0, 0, 1, 0, 0, 1, 1]);
    assert.deepEqual([...magnitudePruneMask(values, 0)], [1, 1, 1, 1, 1, 1, 1, 1]);
    // Ties go to the lower index.
    assert.deepEqual([...magnitudePruneMask(Float32Array.from([1, -1, 1, 1]), 0.5)], [0, 0, 1, 1]);
  });

  it('refuses a fraction outside [0, 1)', () => {
    for (const bad of [-0.1, 1, 1.5, Number.NaN]) {
      assert.throws(
        () => magnitudePruneMask(new Float32Array(4), bad),
        (err: unknown) => err instanceof PruningError && err.reason === 'bad-fraction' && err.message === `prune fraction must be in [0, 1), got ${bad}`,
      );
    }
  });

  it('pruneModel prunes every kernel, keeps the biases, and fine-tuning keeps the pruned weights at zero', async () => {
    const model = createModel('mlp-small', { featureCount: 16, imageShape: null, numClasses: 3, seed: 5 });
    assert.deepEqual(model.getWeights().map((w) => isPrunable(w.shape)), [true, false, true, false]);
    const biasesBefore = model.getWeights().filter((w) => !isPrunable(w.shape)).map((w) => [...w.dataSync()]);
    const masks = pruneModel(model, 0.75);
    assert.equal(prunedFraction(masks), 0.75);
    model.getWeights().forEach((w, i) => {
      const zeros = [...w.dataSync()].filter((v) => v === 0).length;
      if (isPrunable(w.shape)) assert.equal(zeros, Math.floor(0.75 * w.size), `weight ${i}`);
    });
    assert.deepEqual(model.getWeights().filter((w) => !isPrunable(w.shape)).map((w) => [...w.dataSync()]), biasesBefore);

    const random = createRandom(9);
    const count = 64;
    const train = { x: Float32Array.from({ length: count * 16 }, () => random()), y: Int32Array.from({ length: count }, (_, i) => i % 3), count };
    const trainer = new Trainer({ model, train, featureCount: 16, numClasses: 3, batchSize: 8, learningRate: 0.1, optimizer: 'momentum', seed: 1 });
    const before = getFlatParams(model);
    const loss = await fineTuneMasked(trainer, masks, 5);
    assert.ok(Number.isFinite(loss));
    const after = getFlatParams(model);
    assert.notDeepEqual(after, before, 'fine-tuning moved the kept weights');
    assert.equal(prunedFraction(masks), 0.75);
    model.getWeights().forEach((w, i) => {
      const mask = masks[i];
      if (mask === null || mask === undefined) return;
      const values = w.dataSync();
      for (let j = 0; j < mask.length; j++) if (mask[j] === 0) assert.equal(values[j], 0, `weight ${i}[${j}] came back`);
    });
    trainer.dispose();
    model.dispose();
  });
});
