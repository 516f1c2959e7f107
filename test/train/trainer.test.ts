import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/train/backend.ts';
import { loadDataset, type Dataset, type Split } from '../../src/train/dataset.ts';
import { createModel } from '../../src/train/models.ts';
import { getFlatParams, setFlatParams } from '../../src/train/params.ts';
import { subsetSplit } from '../../src/train/partition.ts';
import { Trainer, TrainerError, type OptimizerName } from '../../src/train/trainer.ts';

describe('Trainer', () => {
  let data: Dataset;
  let train: Split;

  before(async () => {
    await initBackend('wasm');
    data = await loadDataset('mnist');
    train = subsetSplit(data.train, data.featureCount, Int32Array.from({ length: 3000 }, (_, i) => i));
  });

  function makeTrainer(model: tf.LayersModel, optimizer: OptimizerName = 'adam', seed = 1, split = train): Trainer {
    const learningRate = optimizer === 'adam' ? 1e-3 : 0.05;
    return new Trainer({ model, train: split, featureCount: data.featureCount, numClasses: data.numClasses, batchSize: 32, learningRate, optimizer, seed });
  }

  it('learns: mlp reaches >80% on the full mnist test split after 150 steps', async () => {
    const model = createModel('mlp', { ...data, seed: 1 });
    const trainer = makeTrainer(model);
    const before = trainer.evaluate(data.test);
    const result = await trainer.trainSteps(150);
    const after = trainer.evaluate(data.test);
    assert.equal(result.steps, 150);
    // 3000 rows: 93 full batches, one of 24, then 56 more full ones.
    assert.equal(result.samples, 93 * 32 + 24 + 56 * 32);
    assert.ok(result.samplesPerSecond > 0 && Number.isFinite(result.loss));
    assert.ok(before.accuracy < 0.3, `untrained accuracy ${before.accuracy}`);
    assert.ok(after.accuracy > 0.8, `trained accuracy ${after.accuracy}`);
    assert.ok(after.loss < before.loss);
    trainer.dispose();
    model.dispose();
  });

  for (const optimizer of ['sgd', 'momentum', 'adam', 'qgm'] as const) {
    it(`${optimizer}: tensor count stays flat over many steps, evaluations and merges, and returns to zero after dispose`, async () => {
      const baseline = tf.memory().numTensors;
      const model = createModel('mlp-small', { ...data, seed: 3 });
      const trainer = makeTrainer(model, optimizer);
      await trainer.trainSteps(3); // optimizer state is created lazily on the first step
      const warm = tf.memory().numTensors;
      for (let round = 0; round < 6; round++) {
        await trainer.trainSteps(20);
        setFlatParams(model, getFlatParams(model));
        trainer.evaluate(data.test);
        assert.equal(tf.memory().numTensors, warm, `round ${round}`);
      }
      trainer.dispose();
      model.dispose();
      assert.equal(tf.memory().numTensors, baseline);
    });
  }

  it('qgm learns', async () => {
    const model = createModel('mlp', { ...data, seed: 1 });
    const trainer = makeTrainer(model, 'qgm');
    await trainer.trainSteps(150);
    assert.ok(trainer.evaluate(data.test).accuracy > 0.8);
    trainer.dispose();
    model.dispose();
  });

  it('qgm builds its momentum from how the model moved, merges included (local heavy-ball momentum does not)', async () => {
    // One batch of 32 rows: every step sees the same rows, so from the same point the gradient is the same.
    const batch = subsetSplit(data.train, data.featureCount, Int32Array.from({ length: 32 }, (_, i) => i));
    const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
    const stepBackStep = async (optimizer: OptimizerName): Promise<number> => {
      const model = createModel('mlp-small', { ...data, seed: 4 });
      const trainer = makeTrainer(model, optimizer, 1, batch);
      const start = getFlatParams(model);
      await trainer.trainSteps(1);
      const first = getFlatParams(model);
      setFlatParams(model, start); // a merge that undoes the step
      await trainer.trainSteps(1);
      const diff = maxDiff(getFlatParams(model), first);
      trainer.dispose();
      model.dispose();
      return diff;
    };
    // qgm: the model ended where it began, so its momentum is 0 and the second step repeats the first.
    assert.ok((await stepBackStep('qgm')) < 1e-5);
    // Heavy ball: the velocity of the undone step is still there and pushes the second step further.
    assert.ok((await stepBackStep('momentum')) > 1e-3);
  });

  it('qgm: a large jump (a rollback, a restart\'s first merge) enters its momentum bounded by the last local step, so the steps after it stay local-sized', async () => {
    const l2 = (a: Float32Array, b: Float32Array): number => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0));
    const model = createModel('mlp-small', { ...data, seed: 6 });
    const far = createModel('mlp-small', { ...data, seed: 7 }); // another initialization: a jump ~100x a local step
    const trainer = makeTrainer(model, 'qgm');
    await trainer.trainSteps(20);
    const stepNorms = async (steps: number): Promise<number[]> => {
      const norms: number[] = [];
      for (let i = 0; i < steps; i++) {
        const before = getFlatParams(model);
        await trainer.trainSteps(1);
        norms.push(l2(getFlatParams(model), before));
      }
      return norms;
    };
    const usual = Math.max(...(await stepNorms(10)));
    const jumped = getFlatParams(far);
    assert.ok(l2(jumped, getFlatParams(model)) > 50 * usual);
    setFlatParams(model, jumped);
    const after = Math.max(...(await stepNorms(20)));
    // Unbounded, the first step alone carried beta * (1 - mu) = 0.09 of the jump: 9.3x the largest local step before it.
    assert.ok(after < 2 * usual, `largest step after the jump ${after}, before ${usual}`);
    trainer.dispose();
    model.dispose();
    far.dispose();
  });

  it('is deterministic from the seed', async () => {
    const run = async (seed: number) => {
      const model = createModel('mlp-small', { ...data, seed: 5 });
      const trainer = makeTrainer(model, 'sgd', seed);
      await trainer.trainSteps(20);
      const params = getFlatParams(model);
      trainer.dispose();
      model.dispose();
      return params;
    };
    const a = await run(1);
    assert.deepEqual(await run(1), a);
    assert.notDeepEqual(await run(2), a);
  });

  it('yields to the event loop between batches, so other code can run (and merge) there', async () => {
    const model = createModel('mlp-small', { ...data, seed: 1 });
    const trainer = makeTrainer(model);
    let ticks = 0;
    let merges = 0;
    let stop = false;
    const tick = (): void => {
      if (stop) return;
      ticks++;
      // A merge between batches: replace the weights with a copy of themselves.
      setFlatParams(model, getFlatParams(model));
      merges++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const result = await trainer.trainSteps(10);
    stop = true;
    assert.equal(result.steps, 10);
    assert.ok(ticks >= 9, `only ${ticks} event loop turns during 10 batches`);
    assert.equal(merges, ticks);
    trainer.dispose();
    model.dispose();
  });

  it('stops early when the signal aborts and when the slice time is spent (after at least one step)', async () => {
    const model = createModel('mlp-small', { ...data, seed: 1 });
    const trainer = makeTrainer(model);
    const controller = new AbortController();
    let turns = 0;
    const tick = (): void => {
      if (++turns === 3) controller.abort();
      else setImmediate(tick);
    };
    setImmediate(tick);
    const aborted = await trainer.trainSteps(1000, { signal: controller.signal });
    assert.ok(aborted.steps >= 1 && aborted.steps <= 4, `ran ${aborted.steps} steps after abort`);
    // A spent time budget still runs one step (progress), then stops.
    const noTime = await trainer.trainSteps(1000, { maxSliceMs: 0 });
    assert.deepEqual({ steps: noTime.steps, samples: noTime.samples }, { steps: 1, samples: 32 });
    const none = await trainer.trainSteps(0);
    assert.deepEqual({ steps: none.steps, samples: none.samples, samplesPerSecond: none.samplesPerSecond }, { steps: 0, samples: 0, samplesPerSecond: 0 });
    assert.ok(Number.isNaN(none.loss));
    const alreadyAborted = await trainer.trainSteps(5, { signal: AbortSignal.abort() });
    assert.equal(alreadyAborted.steps, 0);
    trainer.dispose();
    model.dispose();
  });

  it('counts age, samples and epochs (a partial last batch included) and restores counters', async () => {
    const small = subsetSplit(data.train, data.featureCount, Int32Array.from({ length: 70 }, (_, i) => i));
    const model = createModel('mlp-small', { ...data, seed: 1 });
    const trainer = makeTrainer(model, 'sgd', 1, small);
    assert.equal(trainer.stepsPerEpoch, 3);
    const result = await trainer.trainSteps(3);
    assert.equal(result.samples, 70);
    assert.deepEqual({ age: trainer.age, samplesSeen: trainer.samplesSeen, epoch: trainer.epoch }, { age: 3, samplesSeen: 70, epoch: 1 });
    trainer.restoreCounters({ age: 1000, samplesSeen: 32000 });
    await trainer.trainSteps(1);
    assert.deepEqual({ age: trainer.age, samplesSeen: trainer.samplesSeen }, { age: 1001, samplesSeen: 32032 });
    trainer.dispose();
    model.dispose();
  });

  it('rejects bad options with a TrainerError', () => {
    const model = createModel('mlp-small', { ...data, seed: 1 });
    const base = { model, train, featureCount: data.featureCount, numClasses: 10, learningRate: 0.1, optimizer: 'sgd' as const, seed: 1 };
    const check = (opts: object, message: RegExp) =>
      assert.throws(() => new Trainer({ ...base, ...opts }), (err: unknown) => err instanceof TrainerError && err.reason === 'bad-options' && message.test(err.message));
    check({ batchSize: 0 }, /batchSize must be a positive integer, got 0/);
    check({ learningRate: -1 }, /learningRate must be a positive number/);
    check({ optimizer: 'rmsprop' }, /unknown optimizer 'rmsprop'/);
    check({ train: { x: new Float32Array(0), y: new Int32Array(0), count: 0 } }, /training split is empty/);
    model.dispose();
  });
});
