import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/train/backend.ts';
import { createModel, isModelName, ModelError, modelHash, modelNames, type ModelOptions } from '../../src/train/models.ts';
import { getFlatParams, paramCount, ParamsError, setFlatParams } from '../../src/train/params.ts';

const mnistShape: ModelOptions = { featureCount: 784, imageShape: [28, 28, 1], numClasses: 10, seed: 1 };

describe('models', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('builds mlp (784-128-10) and mlp-small (784-32-10) with logits output', () => {
    const mlp = createModel('mlp', mnistShape);
    const small = createModel('mlp-small', mnistShape);
    assert.equal(paramCount(mlp), 784 * 128 + 128 + 128 * 10 + 10);
    assert.equal(paramCount(small), 784 * 32 + 32 + 32 * 10 + 10);
    assert.deepEqual(mlp.outputs[0]!.shape, [null, 10]);
    // Logits: rows need not sum to one.
    const sums = tf.tidy(() => (mlp.predict(tf.ones([2, 784])) as tf.Tensor).sum(1).arraySync() as number[]);
    assert.ok(sums.some((s) => Math.abs(s - 1) > 1e-3));
    mlp.dispose();
    small.dispose();
  });

  it('seeds initial weights: same seed, same weights; other seed, other weights', () => {
    const a = createModel('mlp', mnistShape);
    const b = createModel('mlp', mnistShape);
    const c = createModel('mlp', { ...mnistShape, seed: 2 });
    assert.deepEqual(getFlatParams(a), getFlatParams(b));
    assert.notDeepEqual(getFlatParams(a), getFlatParams(c));
    for (const m of [a, b, c]) m.dispose();
  });

  it('modelHash depends on architecture and shapes, not on weights, seeds or build order', () => {
    const a = createModel('mlp', mnistShape);
    const b = createModel('mlp', { ...mnistShape, seed: 99 });
    setFlatParams(b, new Float32Array(paramCount(b)).fill(0.5));
    const small = createModel('mlp-small', mnistShape);
    const csv = createModel('mlp', { featureCount: 4, imageShape: null, numClasses: 3, seed: 1 });
    assert.match(modelHash(a), /^[0-9a-f]{64}$/);
    assert.equal(modelHash(a), modelHash(b));
    assert.notEqual(modelHash(a), modelHash(small));
    assert.notEqual(modelHash(a), modelHash(csv));
    for (const m of [a, b, small, csv]) m.dispose();
  });

  it('knows its names and rejects bad ones', () => {
    assert.deepEqual([...modelNames], ['mlp', 'mlp-small', 'cnn']);
    assert.ok(isModelName('mlp-small'));
    assert.ok(!isModelName('resnet'));
    assert.throws(() => createModel('resnet' as never, mnistShape), (err: unknown) => err instanceof ModelError && err.reason === 'unknown-model');
    assert.throws(() => createModel('mlp', { ...mnistShape, featureCount: 100 }), (err: unknown) => err instanceof ModelError && err.reason === 'bad-options' && /does not hold featureCount 100/.test(err.message));
  });
});

describe('params', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('round-trips the flat view in getWeights order without leaking tensors', () => {
    const model = createModel('mlp-small', mnistShape);
    const before = tf.memory().numTensors;
    const flat = Float32Array.from({ length: paramCount(model) }, (_, i) => (i % 97) / 97 - 0.5);
    setFlatParams(model, flat);
    assert.deepEqual(getFlatParams(model), flat);
    // First weight is the first layer's kernel, then its bias.
    const kernel = model.getWeights()[0]!;
    assert.deepEqual(kernel.shape, [784, 32]);
    assert.equal(kernel.dataSync()[5], flat[5]);
    flat[0] = 123;
    assert.notEqual(getFlatParams(model)[0], 123, 'setFlatParams copies its input');
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });

  it('throws ParamsError on a wrong length and leaves the model unchanged', () => {
    const model = createModel('mlp-small', mnistShape);
    const original = getFlatParams(model);
    assert.throws(() => setFlatParams(model, new Float32Array(original.length - 1)), (err: unknown) => err instanceof ParamsError && err.reason === 'wrong-length' && /has 25449 values, model needs 25450/.test(err.message));
    assert.deepEqual(getFlatParams(model), original);
    model.dispose();
  });
});
