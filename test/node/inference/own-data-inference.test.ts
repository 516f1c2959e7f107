import { strict as assert } from 'node:assert';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { pino } from 'pino';
import { validateDaemonConfig, type DaemonConfigInput } from '../../../src/node/config.ts';
import { CHECKPOINT_FILE } from '../../../src/node/constants.ts';
import { Daemon } from '../../../src/node/daemon.ts';
import { initBackend } from '../../../src/train/backend.ts';
import { loadCheckpoint } from '../../../src/train/checkpoint.ts';
import { computeDataStats, loadDataset, type Dataset, type DataStats } from '../../../src/train/dataset.ts';
import { exportCheckpoint } from '../../../src/train/export/export-checkpoint.ts';
import { modelDirHandler } from '../../../src/train/export/model-dir.ts';
import { ModelError } from '../../../src/train/models.ts';
import { readModelSource } from '../../../src/train/model-source.ts';
import { daemonSuite, fastDaemonConfig } from '../../helpers/daemons.ts';

const TOKEN = 'own-data-inference-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const example = (path: string): string => resolve(fileURLToPath(new URL(`../../../examples/${path}`, import.meta.url)));
const NODE_A = example('own-data/node-a.csv');
const TEST = example('own-data/test.csv');
const MODEL_FILE = example('own-model/model.json');
const CLASSES = ['setosa', 'versicolor', 'virginica'];

interface PredictAnswer {
  predictions: Array<{ label: number; className: string | null; probabilities: number[] }>;
  model: { name: string; hash: string; age: number };
}

/** Rows of a split as arrays of numbers. */
const rowsOf = (x: Float32Array, count: number, width: number): number[][] => Array.from({ length: count }, (_, r) => Array.from(x.subarray(r * width, (r + 1) * width)));

describe('own model and data with inference: a --model file daemon with --classes and --normalization', () => {
  const suite = daemonSuite('gl-own-inference-');
  let stats: DataStats;
  let statsFile: string;
  /** The shared test set in raw units (as a user sends it), labels by the declared classes. */
  let raw: Dataset;

  before(async () => {
    await initBackend('wasm');
    raw = await loadDataset(`csv:${TEST}`, { classes: CLASSES, testData: `csv:${TEST}` });
    stats = computeDataStats(raw, `csv:${TEST}`);
    statsFile = join(suite.root, 'iris-stats.json');
    await writeFile(statsFile, `${JSON.stringify(stats)}\n`);
  });

  const config = (stateDir: string, options: DaemonConfigInput): DaemonConfigInput =>
    fastDaemonConfig(stateDir, {
      data: `csv:${NODE_A}`,
      model: MODEL_FILE,
      classes: CLASSES,
      normalization: statsFile,
      csvDelimiter: ',',
      testData: `csv:${TEST}`,
      metricsToken: TOKEN,
      ...options,
    });

  it('answers /predict on raw features with the declared class names, and its export (no flags) loaded by tf.loadLayersModel with the recorded normalization predicts the same', async () => {
    const stateDir = join(suite.root, 'a');
    await mkdir(stateDir, { recursive: true });
    // Train a while, stop (the final checkpoint), then serve that model without training.
    const trainer = new Daemon({ config: validateDaemonConfig(config(stateDir, { stepsPerInterval: 20 })), logger: pino({ level: 'silent' }) });
    suite.daemons.push(trainer);
    const { metricsUrl: trainingUrl } = await trainer.start();
    const deadline = Date.now() + 20_000;
    while (((await (await fetch(trainingUrl, { headers: auth })).json()) as { model: { age: number } }).model.age < 100) {
      if (Date.now() > deadline) assert.fail('the daemon did not reach age 100 in 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await trainer.stop(2000);

    const ckpt = await loadCheckpoint(join(stateDir, CHECKPOINT_FILE));
    assert.deepEqual(readModelSource(ckpt.meta), {
      data: `csv:${NODE_A}`,
      model: MODEL_FILE,
      classes: CLASSES,
      normalization: { mean: stats.mean, std: stats.std },
      normalizationFile: statsFile,
      csvDelimiter: ',',
      testData: `csv:${TEST}`,
    });

    const server = new Daemon({ config: validateDaemonConfig(config(stateDir, { stepsPerInterval: 0 })), logger: pino({ level: 'silent' }) });
    suite.daemons.push(server);
    const { metricsUrl } = await server.start();
    const rows = rowsOf(raw.test.x, raw.test.count, 4);
    const response = await fetch(metricsUrl.replace(/\/metrics$/, '/predict'), { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ instances: rows }) });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as PredictAnswer;
    assert.equal(answer.model.hash, ckpt.modelHash);
    assert.equal(answer.model.age, ckpt.age);
    assert.equal(answer.predictions.length, 30);
    for (const p of answer.predictions) assert.equal(p.className, CLASSES[p.label]);
    const daemonLabels = answer.predictions.map((p) => p.label);
    // Node A has seen setosa and versicolor only: those 20 of the 30 rows it gets right, on raw input (the daemon normalizes).
    assert.equal(daemonLabels.filter((label, i) => label === raw.test.y[i]).length, 20, daemonLabels.join(','));
    await server.stop(2000);

    // Export with no flags: model file, classes, normalization, delimiter and test set come from the checkpoint.
    const out = join(suite.root, 'a-export');
    const report = await exportCheckpoint({ checkpoint: join(stateDir, CHECKPOINT_FILE), out, quantize: 'none', prune: 0, fineTuneSteps: 0, generator: 'test' });
    assert.deepEqual(report.classes, CLASSES);
    assert.deepEqual(report.normalization, { mean: stats.mean, std: stats.std });
    assert.deepEqual(report.accuracy, { checkpoint: 20 / 30, exported: 20 / 30 });

    // Any tfjs program: load, apply the documented x' = (x - mean) / std, take the argmax.
    const loaded = await tf.loadLayersModel(modelDirHandler(out));
    const meta = (loaded.getUserDefinedMetadata() as { gossipLearn: { classes: string[]; schema: { normalization: { mean: number[]; std: number[] }; featureNames: string[] } } }).gossipLearn;
    assert.deepEqual(meta.classes, CLASSES);
    assert.deepEqual(meta.schema.featureNames, ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    const { mean, std } = meta.schema.normalization;
    const exportedLabels = tf.tidy(() => {
      const x = tf.tensor2d(rows).sub(tf.tensor1d(mean)).div(tf.tensor1d(std));
      return Array.from(tf.argMax(loaded.predict(x) as tf.Tensor, 1).dataSync());
    });
    loaded.dispose();
    assert.deepEqual(exportedLabels, daemonLabels);
  });

  it('export names what to give when the rebuilt model differs, and when a model file is not recorded', async () => {
    const checkpoint = join(suite.root, 'a', CHECKPOINT_FILE);
    const ckpt = await loadCheckpoint(checkpoint);
    await assert.rejects(
      exportCheckpoint({ checkpoint, out: join(suite.root, 'x'), quantize: 'none', prune: 0, fineTuneSteps: 0, generator: 'test', classes: ['versicolor', 'setosa', 'virginica'], evaluate: false }),
      (err: unknown) => {
        assert.ok(err instanceof ModelError);
        assert.equal(err.reason, 'bad-options');
        const rebuilt = /rebuilt ([0-9a-f]{12})\)/.exec(err.message)?.[1];
        assert.equal(
          err.message,
          `${checkpoint} holds a '${ckpt.modelName}' that is not ${MODEL_FILE} over csv:${NODE_A} as rebuilt ` +
            `(4 features, 3 classes, classes versicolor,setosa,virginica, normalized, columns sepal_length,sepal_width,petal_length,petal_width; ` +
            `model hash ${ckpt.modelHash.slice(0, 12)}, rebuilt ${rebuilt}): give the --data, --model, --classes and --normalization it was trained with`,
        );
        return true;
      },
    );
    // A checkpoint of a model file that records no source (written before sources were recorded).
    const { saveCheckpoint } = await import('../../../src/train/checkpoint.ts');
    const bare = join(suite.root, 'bare.ckpt');
    await saveCheckpoint(bare, { modelName: ckpt.modelName, modelHash: ckpt.modelHash, params: ckpt.params, age: ckpt.age, samplesSeen: ckpt.samplesSeen, meta: { data: `csv:${NODE_A}` } });
    await assert.rejects(exportCheckpoint({ checkpoint: bare, out: join(suite.root, 'y'), quantize: 'none', prune: 0, fineTuneSteps: 0, generator: 'test' }), {
      name: 'ModelError',
      reason: 'unknown-model',
      message: `${bare} holds model '${ckpt.modelName}', not a registry model, and records no model file: give --model PATH/model.json (the file it was trained from)`,
    });
    // ...which the flags then supply.
    const report = await exportCheckpoint({
      checkpoint: bare,
      out: join(suite.root, 'z'),
      quantize: 'none',
      prune: 0,
      fineTuneSteps: 0,
      generator: 'test',
      model: MODEL_FILE,
      classes: CLASSES,
      normalization: statsFile,
      testData: `csv:${TEST}`,
    });
    assert.equal(report.accuracy.exported, 20 / 30);
  });
});
