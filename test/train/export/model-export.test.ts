import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/train/backend.ts';
import { saveCheckpoint } from '../../../src/train/checkpoint.ts';
import { datasetSchema, loadDataset } from '../../../src/train/dataset.ts';
import { createModel, ModelError, modelHash } from '../../../src/train/models.ts';
import { getFlatParams } from '../../../src/train/params.ts';
import { exportCheckpoint } from '../../../src/train/export/export-checkpoint.ts';
import { loadModelDir, ModelDirError } from '../../../src/train/export/model-dir.ts';
import { encodeLayersModel, EXPORT_METADATA_VERSION, ModelExportError, writeModelDir, type ExportMetadata } from '../../../src/train/export/model-export.ts';
import { createRandom } from '../../../src/train/random.ts';

const metadata: ExportMetadata = {
  version: EXPORT_METADATA_VERSION,
  generator: 'gossip-learn test',
  model: { name: 'mlp-small', hash: 'h', params: 0, age: 7, samplesSeen: 70 },
  schema: { data: null, featureCount: 20, imageShape: null, numClasses: 4, featureNames: null, normalization: null, output: 'logits' },
  classes: ['a', 'b', 'c', 'd'],
  compression: { quantize: 'none', prune: 0, fineTuneSteps: 0 },
  exportedAt: '2026-01-01T00:00:00.000Z',
};

/** Serves `dir` read-only over HTTP on 127.0.0.1, as a web server would serve an exported model to browsers. */
async function serveDir(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    readFile(join(dir, name)).then(
      (bytes) => res.writeHead(200).end(bytes),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function predictions(model: tf.LayersModel, x: Float32Array, rows: number, features: number): Float32Array {
  return tf.tidy(() => Float32Array.from((model.predict(tf.tensor2d(x, [rows, features])) as tf.Tensor).dataSync()));
}

describe('model export (tfjs LayersModel directory)', () => {
  let dir: string;
  before(async () => {
    await initBackend('wasm');
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-export-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('quantize none: plain tf.loadLayersModel over HTTP loads it and computes the same outputs bit for bit', async () => {
    const model = createModel('mlp-small', { featureCount: 20, imageShape: null, numClasses: 4, seed: 3 });
    const files = await encodeLayersModel(model, { quantize: 'none', metadata });
    await writeModelDir(join(dir, 'm'), files);
    const { url, server } = await serveDir(join(dir, 'm'));
    try {
      const loaded = await tf.loadLayersModel(`${url}/model.json`);
      const random = createRandom(4);
      const x = Float32Array.from({ length: 32 * 20 }, () => random());
      assert.deepEqual(predictions(loaded, x, 32, 20), predictions(model, x, 32, 20));
      assert.deepEqual(loaded.getUserDefinedMetadata(), { gossipLearn: metadata });
      assert.equal(modelHash(loaded), modelHash(model));
      loaded.dispose();
    } finally {
      server.close();
      model.dispose();
    }
  });

  it('uint8: the files are about 4x smaller and tfjs dequantizes them to nearly the same outputs', async () => {
    const model = createModel('mlp-small', { featureCount: 20, imageShape: null, numClasses: 4, seed: 3 });
    await writeModelDir(join(dir, 'f32'), await encodeLayersModel(model, { quantize: 'none', metadata }));
    const files = await encodeLayersModel(model, { quantize: 'uint8', metadata });
    await writeModelDir(join(dir, 'u8'), files);
    const f32Bytes = (await readFile(join(dir, 'f32', 'group1-shard1of1.bin'))).length;
    const u8Bytes = (await readFile(join(dir, 'u8', 'group1-shard1of1.bin'))).length;
    assert.equal(f32Bytes, 4 * getFlatParams(model).length);
    assert.equal(u8Bytes, getFlatParams(model).length);
    const { model: loaded, metadata: read } = await loadModelDir(join(dir, 'u8'));
    assert.deepEqual(read, metadata);
    const random = createRandom(5);
    const x = Float32Array.from({ length: 8 * 20 }, () => random());
    const a = predictions(loaded, x, 8, 20);
    const b = predictions(model, x, 8, 20);
    assert.notDeepEqual(a, b, 'quantization changed something');
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 0.05, `output ${i}: ${a[i]} vs ${b[i]}`);
    loaded.dispose();
    model.dispose();
  });

  it('never writes into a directory that holds files', async () => {
    await writeFile(join(dir, 'keep.txt'), 'x');
    const model = createModel('mlp-small', { featureCount: 20, imageShape: null, numClasses: 4, seed: 3 });
    const files = await encodeLayersModel(model, { quantize: 'none', metadata });
    await assert.rejects(writeModelDir(dir, files), (err: unknown) => err instanceof ModelExportError && err.reason === 'out-not-empty' && err.message === `${dir} is not empty (keep.txt): give a new or empty directory`);
    model.dispose();
  });

  it('loadModelDir refuses weight paths outside the model directory and reports a missing model.json', async () => {
    await assert.rejects(loadModelDir(join(dir, 'none')), (err: unknown) => err instanceof ModelDirError && err.reason === 'missing' && err.message === `${join(dir, 'none', 'model.json')}: no such file`);
    const model = createModel('mlp-small', { featureCount: 20, imageShape: null, numClasses: 4, seed: 3 });
    const files = await encodeLayersModel(model, { quantize: 'none', metadata });
    files.modelJson.weightsManifest[0]!.paths = ['../secret.bin'];
    await writeModelDir(join(dir, 'evil'), files);
    await assert.rejects(
      loadModelDir(join(dir, 'evil')),
      (err: unknown) => err instanceof ModelDirError && err.reason === 'bad-path' && err.message === `${join(dir, 'evil', 'model.json')}: weight path '../secret.bin' is not a file name in the model directory`,
    );
    model.dispose();
  });
});

describe('exportCheckpoint', () => {
  let dir: string;
  before(async () => {
    await initBackend('wasm');
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-export-ckpt-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A small CSV task (4 features, 3 classes) and a checkpoint of an mlp-small trained on nothing (its seeded init). */
  async function fixture(meta: Record<string, unknown>): Promise<{ csv: string; checkpoint: string; model: tf.LayersModel; hash: string }> {
    const random = createRandom(11);
    const rows = ['a,b,c,d,label'];
    for (let i = 0; i < 60; i++) rows.push(`${random()},${random()},${random()},${random()},${i % 3}`);
    const csv = join(dir, 'data.csv');
    await writeFile(csv, `${rows.join('\n')}\n`);
    const model = createModel('mlp-small', { featureCount: 4, imageShape: null, numClasses: 3, seed: 1 });
    const checkpoint = join(dir, 'ckpt.bin');
    // The hash as train and the daemon compute it: with the data schema (here the CSV header's column names).
    const hash = modelHash(model, datasetSchema(await loadDataset(`csv:${csv}`)));
    await saveCheckpoint(checkpoint, { modelName: 'mlp-small', modelHash: hash, params: getFlatParams(model), age: 12, samplesSeen: 384, meta });
    return { csv, checkpoint, model, hash };
  }

  it('exports the checkpoint with its age, hash and schema; the exported model predicts the same labels', async () => {
    const { csv, checkpoint, model, hash } = await fixture({});
    const out = join(dir, 'out');
    const report = await exportCheckpoint({ checkpoint, out, quantize: 'none', prune: 0, fineTuneSteps: 0, data: `csv:${csv}`, generator: 'gossip-learn test' });
    assert.equal(report.accuracy.exported, report.accuracy.checkpoint);
    assert.equal(report.files.float32Bytes, 4 * report.params);
    const { model: loaded, metadata: read } = await loadModelDir(out);
    assert.equal(read?.model.age, 12);
    assert.equal(read?.model.hash, hash);
    assert.deepEqual(read?.schema, { data: `csv:${csv}`, featureCount: 4, imageShape: null, numClasses: 3, featureNames: ['a', 'b', 'c', 'd'], normalization: null, output: 'logits' });
    assert.equal(read?.classes, null);
    const x = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i));
    assert.deepEqual(predictions(loaded, x, 10, 4), predictions(model, x, 10, 4));
    loaded.dispose();
    model.dispose();
  });

  it('asks for --data when the checkpoint does not record its data source', async () => {
    const { checkpoint, model } = await fixture({});
    await assert.rejects(
      exportCheckpoint({ checkpoint, out: join(dir, 'out'), quantize: 'none', prune: 0, fineTuneSteps: 0, generator: 'x' }),
      (err: unknown) => err instanceof ModelError && err.reason === 'bad-options' && err.message === `${checkpoint} does not record its data source: give --data SPEC (the data the model was trained on)`,
    );
    model.dispose();
  });

  it('refuses data of other shapes than the checkpoint model was built for', async () => {
    const { checkpoint, model, hash } = await fixture({ data: 'mnist' });
    const mnistModel = createModel('mlp-small', { featureCount: 784, imageShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const rebuilt = modelHash(mnistModel);
    mnistModel.dispose();
    await assert.rejects(exportCheckpoint({ checkpoint, out: join(dir, 'out'), quantize: 'none', prune: 0, fineTuneSteps: 0, generator: 'x' }), {
      name: 'ModelError',
      reason: 'bad-options',
      message:
        `${checkpoint} holds a 'mlp-small' that is not mlp-small over mnist as rebuilt (784 features, 10 classes; model hash ${hash.slice(0, 12)}, rebuilt ${rebuilt.slice(0, 12)}): ` +
        'give the --data, --model, --classes and --normalization it was trained with',
    });
    model.dispose();
  });
});
