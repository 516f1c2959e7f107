import { strict as assert } from 'node:assert';
import { initBackend } from '../../../src/train/backend.ts';
import { createModel } from '../../../src/train/models.ts';
import { getFlatParams } from '../../../src/train/params.ts';
import { Trainer } from '../../../src/train/trainer.ts';
import { cubicSparsity, fineTuneMasked, globalMagnitudePruneMasks, isPrunable, magnitudePruneMask, pruneGradually, pruneModel, prunedFraction, PruningError } from '../../../src/train/export/pruning.ts';
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

  it('cubicSparsity follows s_f (1 - (1 - k/K)^3): fast at first, the final fraction at stage K', () => {
    assert.equal(cubicSparsity(0.8, 0, 4), 0);
    assert.equal(cubicSparsity(0.8, 4, 4), 0.8);
    assert.ok(Math.abs(cubicSparsity(0.8, 1, 4) - 0.8 * (1 - 0.75 ** 3)) < 1e-12);
    assert.ok(cubicSparsity(0.8, 1, 4) - cubicSparsity(0.8, 0, 4) > cubicSparsity(0.8, 4, 4) - cubicSparsity(0.8, 3, 4));
  });

  it('globalMagnitudePruneMasks uses one threshold over all tensors: a tensor of larger weights keeps more', () => {
    const small = Float32Array.from([0.01, -0.02, 0.03, 0.5]);
    const large = Float32Array.from([1, -2, 0.04, 3]);
    const [a, b] = globalMagnitudePruneMasks([small, large], 0.5);
    assert.deepEqual([...a!], [0, 0, 0, 1]);
    assert.deepEqual([...b!], [1, 1, 0, 1]);
    assert.throws(() => globalMagnitudePruneMasks([small], 1), (err: unknown) => err instanceof PruningError && err.reason === 'bad-fraction');
  });

  it('pruneModel with previous masks keeps every pruned weight pruned', () => {
    const model = createModel('mlp-small', { featureCount: 16, imageShape: null, numClasses: 3, seed: 5 });
    const first = pruneModel(model, 0.3);
    const second = pruneModel(model, 0.6, { scope: 'global', previous: first });
    first.forEach((mask, i) => {
      if (mask === null) return;
      for (let j = 0; j < mask.length; j++) if (mask[j] === 0) assert.equal(second[i]![j], 0, `weight ${i}[${j}] came back`);
    });
    assert.ok(Math.abs(prunedFraction(second) - 0.6) < 0.01, `pruned ${prunedFraction(second)}`);
    model.dispose();
  });

  it('pruneGradually reaches the final fraction in K stages, fine-tunes between them, and refuses a schedule without room', async () => {
    const model = createModel('mlp-small', { featureCount: 16, imageShape: null, numClasses: 3, seed: 5 });
    const random = createRandom(9);
    const count = 64;
    const train = { x: Float32Array.from({ length: count * 16 }, () => random()), y: Int32Array.from({ length: count }, (_, i) => i % 3), count };
    const trainer = new Trainer({ model, train, featureCount: 16, numClasses: 3, batchSize: 8, learningRate: 0.1, optimizer: 'momentum', seed: 1 });
    const stepsSeen: number[] = [];
    const trainSteps = trainer.trainSteps.bind(trainer);
    // Observe the sparsity each step trains at: it rises by stage and never falls.
    trainer.trainSteps = async (n, o) => {
      const zeros = model.getWeights().filter((w) => isPrunable(w.shape)).reduce((z, w) => z + [...w.dataSync()].filter((v) => v === 0).length, 0);
      stepsSeen.push(zeros);
      return trainSteps(n, o);
    };
    const { masks, loss } = await pruneGradually(trainer, { fraction: 0.75, stages: 4, steps: 12 });
    assert.ok(Number.isFinite(loss));
    assert.equal(stepsSeen.length, 12);
    assert.equal(prunedFraction(masks), 0.75);
    for (let i = 1; i < stepsSeen.length; i++) assert.ok(stepsSeen[i]! >= stepsSeen[i - 1]!, `sparsity fell at step ${i}: ${stepsSeen}`);
    assert.ok(stepsSeen[0]! < stepsSeen[stepsSeen.length - 1]!, 'the first steps train a less pruned model');
    model.getWeights().forEach((w, i) => {
      const mask = masks[i];
      if (mask == null) return;
      const values = w.dataSync();
      for (let j = 0; j < mask.length; j++) if (mask[j] === 0) assert.equal(values[j], 0);
    });
    await assert.rejects(
      pruneGradually(trainer, { fraction: 0.75, stages: 4, steps: 4 }),
      (err: unknown) => err instanceof PruningError && err.reason === 'bad-schedule' && err.message === '4 pruning stages need at least 5 fine-tuning steps to spread over, got 4',
    );
    trainer.dispose();
    model.dispose();
  });
});
