import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/train/backend.ts';
import { datasetSchema } from '../../src/train/data/schema.ts';
import type { Dataset } from '../../src/train/dataset.ts';
import { buildReplica, describeModel, MODEL_SPEC_CHOICES, modelSpecImageShape, modelSpecProblem } from '../../src/train/model-spec.ts';
import { buildModel, createModel, ModelError, modelHash } from '../../src/train/models.ts';
import { getFlatParams } from '../../src/train/params.ts';
import { blobDataset } from '../helpers/blobs.ts';
import { saveModelDir } from '../helpers/model-files.ts';

const data: Dataset = blobDataset();

describe('model specs (--model NAME | PATH/model.json) for processes that build many replicas', () => {
  let dir: string;
  let withWeights: string;
  let topologyOnly: string;
  let threeOutputs: string;
  let original: tf.Sequential;
  before(async () => {
    await initBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'gossip-model-spec-'));
    original = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 6, activation: 'relu' }), tf.layers.dense({ units: 4, activation: 'softmax' })] });
    withWeights = await saveModelDir(original, join(dir, 'weights'));
    topologyOnly = await saveModelDir(original, join(dir, 'topology'), { weights: false });
    const narrow = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 3 })] });
    threeOutputs = await saveModelDir(narrow, join(dir, 'three'));
    narrow.dispose();
  });
  after(async () => {
    original.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts registry names and .json files, and names the choices for anything else', () => {
    assert.equal(MODEL_SPEC_CHOICES, 'mlp | mlp-small | cnn | PATH/model.json');
    for (const spec of ['mlp', 'mlp-small', 'cnn', 'my/model.json']) assert.equal(modelSpecProblem(spec), null);
    assert.equal(modelSpecProblem('mlp-big'), "unknown model 'mlp-big' (expected mlp | mlp-small | cnn | PATH/model.json)");
    assert.equal(modelSpecProblem('my/model.h5'), "unknown model 'my/model.h5' (expected mlp | mlp-small | cnn | PATH/model.json)");
  });

  it('builds every replica of a file from its weights, with the daemon hash (topology + data schema) and file: name', async () => {
    const replicas = await Promise.all([1, 2].map((seed) => buildReplica(withWeights, data, seed)));
    try {
      const expected = getFlatParams(original);
      // The file's weights are the shared initial point whatever the seed.
      for (const r of replicas) assert.deepEqual(getFlatParams(r.model), expected);
      const direct = await buildModel(withWeights, { featureCount: 8, imageShape: null, numClasses: 4, seed: 1 });
      assert.equal(replicas[0]!.hash, modelHash(direct, datasetSchema(data)));
      direct.dispose();
      assert.equal(replicas[0]!.paramCount, 8 * 6 + 6 + 6 * 4 + 4);
      assert.equal(replicas[0]!.name, `file:${replicas[0]!.hash.slice(0, 16)}`);
    } finally {
      for (const r of replicas) r.model.dispose();
    }
  });

  it('seeds a topology-only file: same seed, same initial point; the hash ignores weights', async () => {
    const [a, b, c] = await Promise.all([buildReplica(topologyOnly, data, 7), buildReplica(topologyOnly, data, 7), buildReplica(topologyOnly, data, 8)]);
    try {
      assert.deepEqual(getFlatParams(a!.model), getFlatParams(b!.model));
      assert.notDeepEqual(getFlatParams(a!.model), getFlatParams(c!.model));
      assert.equal(a!.hash, (await describeModel(withWeights, data, 1)).hash);
    } finally {
      for (const r of [a, b, c]) r!.model.dispose();
    }
  });

  it('builds registry models as createModel does, named by their registry name', async () => {
    const replica = await buildReplica('mlp-small', data, 3);
    const direct = createModel('mlp-small', { featureCount: 8, imageShape: null, numClasses: 4, seed: 3 });
    try {
      assert.deepEqual(getFlatParams(replica.model), getFlatParams(direct));
      assert.equal(replica.hash, modelHash(direct));
      assert.equal(replica.name, 'mlp-small');
      assert.equal(await modelSpecImageShape('cnn'), null);
    } finally {
      replica.model.dispose();
      direct.dispose();
    }
  });

  it('refuses a file whose output units are not the classes with one line naming it, and leaks no tensor', async () => {
    const before = tf.memory().numTensors;
    await assert.rejects(
      describeModel(threeOutputs, data, 1),
      (err: unknown) => err instanceof ModelError && err.reason === 'bad-options' && err.message === `${threeOutputs}: the model outputs [3], but the data has 4 classes (one output per class)`,
    );
    assert.equal(tf.memory().numTensors, before);
  });
});
