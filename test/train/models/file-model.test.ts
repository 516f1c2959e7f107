import { strict as assert } from 'node:assert';
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildModel, ModelError, modelFileImageShape, modelHash, modelNameOf } from '../../../src/train/models.ts';
import { initBackend } from '../../../src/train/backend.ts';
import { saveModelDir } from '../../helpers/model-files.ts';

const tabular = { featureCount: 4, imageShape: null, numClasses: 3, seed: 1 };

function modelError(reason: string, message: string) {
  return (err: unknown) => {
    assert.ok(err instanceof ModelError, `expected ModelError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.equal(err.message, message);
    return true;
  };
}

const denseModel = (): tf.Sequential =>
  tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })] });

describe('--model FILE.json (tfjs LayersModel)', () => {
  let dir: string;
  let withWeights: string;
  let topologyOnly: string;
  let original: tf.Sequential;
  before(async () => {
    await initBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'gossip-model-file-'));
    original = denseModel();
    withWeights = await saveModelDir(original, join(dir, 'weights'));
    topologyOnly = await saveModelDir(original, join(dir, 'topology'), { weights: false });
  });
  after(async () => {
    original.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the weights as the shared initial point and outputs logits', async () => {
    const model = await buildModel(withWeights, tabular);
    try {
      assert.deepEqual(model.getWeights().map((w) => Array.from(w.dataSync())), original.getWeights().map((w) => Array.from(w.dataSync())));
      assert.equal(model.layers.at(-1)!.getConfig().activation, 'linear');
      assert.equal(JSON.parse(await readFile(withWeights, 'utf8')).modelTopology.config.layers[1].config.activation, 'softmax');
    } finally {
      model.dispose();
    }
  });

  it('hashes topology and weight shapes: the same file anywhere, with or without weights, one hash and name', async () => {
    const copy = join(dir, 'copy');
    await cp(join(dir, 'weights'), copy, { recursive: true });
    const models = await Promise.all([withWeights, join(copy, 'model.json'), topologyOnly].map((p) => buildModel(p, tabular)));
    const hashes = models.map((m) => modelHash(m));
    assert.equal(new Set(hashes).size, 1);
    assert.equal(modelNameOf(withWeights, hashes[0]!), `file:${hashes[0]!.slice(0, 16)}`);
    assert.equal(modelNameOf('mlp', hashes[0]!), 'mlp');
    const wider = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 9 }), tf.layers.dense({ units: 3 })] });
    const other = await buildModel(await saveModelDir(wider, join(dir, 'wider')), tabular);
    assert.notEqual(modelHash(other), hashes[0]);
    for (const m of [...models, other, wider]) m.dispose();
  });

  it('seeds the initializers of a topology without weights: every node starts alike', async () => {
    const [a, b, c] = await Promise.all([buildModel(topologyOnly, tabular), buildModel(topologyOnly, tabular), buildModel(topologyOnly, { ...tabular, seed: 2 })]);
    const first = (m: tf.LayersModel): number[] => Array.from(m.getWeights()[0]!.dataSync());
    assert.deepEqual(first(a!), first(b!));
    assert.notDeepEqual(first(a!), first(c!));
    for (const m of [a, b, c]) m!.dispose();
  });

  it('feeds flat rows to a model whose input is an image', async () => {
    const cnn = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 3 })] });
    const file = await saveModelDir(cnn, join(dir, 'cnn'));
    assert.deepEqual(await modelFileImageShape(file), [4, 4, 1]);
    assert.equal(await modelFileImageShape(withWeights), null);
    const model = await buildModel(file, { featureCount: 16, imageShape: [4, 4, 1], numClasses: 3, seed: 1 });
    assert.deepEqual(model.inputs[0]!.shape, [null, 16]);
    const out = model.predict(tf.zeros([2, 16])) as tf.Tensor;
    assert.deepEqual(out.shape, [2, 3]);
    out.dispose();
    model.dispose();
    cnn.dispose();
  });

  it('names the file for a missing model, missing weights, a graph model, a custom layer, or shapes that do not fit', async () => {
    const absent = join(dir, 'absent', 'model.json');
    await assert.rejects(buildModel(absent, tabular), modelError('missing-file', `${absent}: model file not found`));

    const noWeights = join(dir, 'no-weights');
    await cp(join(dir, 'weights'), noWeights, { recursive: true });
    await unlink(join(noWeights, 'weights.bin'));
    await assert.rejects(buildModel(join(noWeights, 'model.json'), tabular), modelError('missing-file', `${join(noWeights, 'model.json')}: weight file ${join(noWeights, 'weights.bin')} not found`));

    const graph = join(dir, 'graph.json');
    await writeFile(graph, JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    await assert.rejects(
      buildModel(graph, tabular),
      modelError('bad-model-file', `${graph}: a tfjs graph model (inference only); gossip-learn trains layers models: convert with tensorflowjs_converter --output_format tfjs_layers_model`),
    );

    const custom = join(dir, 'custom.json');
    const json = JSON.parse(await readFile(topologyOnly, 'utf8'));
    json.modelTopology.config.layers[1].class_name = 'MyAttention';
    await writeFile(custom, JSON.stringify(json));
    await assert.rejects(buildModel(custom, tabular), modelError('custom-layer', `${custom}: layer class 'MyAttention' is not built into tfjs (custom layers cannot be loaded); use built-in layers only`));

    const notJson = join(dir, 'broken.json');
    await writeFile(notJson, '{"modelTopology": ');
    await assert.rejects(buildModel(notJson, tabular), (err: unknown) => err instanceof ModelError && err.reason === 'bad-model-file' && err.message.startsWith(`${notJson}: not JSON (`));

    await assert.rejects(buildModel(withWeights, { ...tabular, numClasses: 4 }), modelError('bad-options', `${withWeights}: the model outputs [3], but the data has 4 classes (one output per class)`));
    await assert.rejects(buildModel(withWeights, { ...tabular, featureCount: 5 }), modelError('bad-options', `${withWeights}: the model takes input [4] (4 values), but the data has 5 features per row`));
  });
});
