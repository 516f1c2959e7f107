import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseRate, parseSimulateOptions } from '../../src/cli/simulate-options.ts';
import { CliUsageError } from '../../src/cli/usage-error.ts';
import { CODEC_SPEC_SYNTAX } from '../../src/protocol/codec/index.ts';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/train/backend.ts';
import { datasetSchema } from '../../src/train/data/schema.ts';
import { computeDataStats, loadDataset } from '../../src/train/dataset.ts';
import { describeModel } from '../../src/train/model-spec.ts';
import { createNode } from '../../src/index.ts';
import { buildModel, modelHash } from '../../src/train/models.ts';
import { blobs, blobsCsv } from '../helpers/blobs.ts';
import { saveModelDir } from '../helpers/model-files.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));

function options(argv: string[]) {
  const parsed = parseSimulateOptions(argv);
  assert.equal(parsed.kind, 'ok');
  return (parsed as Extract<typeof parsed, { kind: 'ok' }>).options;
}

function refused(argv: string[], message: string): void {
  assert.throws(() => parseSimulateOptions(argv), (err: unknown) => err instanceof CliUsageError && err.message === message);
}

describe('gossip-learn simulate', () => {
  it('reads durations, ranges and rates with their units', () => {
    const o = options(['--nodes', '1000', '--latency', '20ms..1s', '--bandwidth', '500kB/s..2MB/s', '--drop', '0.5', '--duration', '2m', '--churn-online', '10m', '--churn-offline', '90s']);
    assert.equal(o.nodes, 1000);
    assert.deepEqual(o.network, { latencyMs: { min: 20, max: 1000 }, uploadBytesPerSecond: { min: 500_000, max: 2_000_000 }, dropRate: 0.5 });
    assert.equal(o.durationMs, 120_000);
    assert.deepEqual(o.churn, { kind: 'rates', meanOnlineMs: 600_000, meanOfflineMs: 90_000 });
    assert.equal(options(['--bandwidth', 'unlimited', '--latency', '50ms']).network.uploadBytesPerSecond, null);
    assert.deepEqual(options(['--latency', '50ms']).network.latencyMs, { min: 50, max: 50 });
    assert.equal(parseRate('1MiB/s'), 1_048_576);
  });

  it('refuses bad values with one line naming the flag', () => {
    refused(['--duration', '30'], "simulate: --duration: '30' has no unit: 30ms or 30s? (write e.g. 500ms, 5s, 2m)");
    refused(['--latency', '200ms..20ms'], 'simulate: --latency: the range 200ms..20ms runs backwards');
    refused(['--bandwidth', '1MB'], "simulate: --bandwidth: '1MB' is not a rate: write bytes per second, e.g. 500kB/s, 1MB/s");
    refused(['--drop', '1'], "simulate: --drop: must be a probability in [0, 1) (e.g. 0.1), got '1'");
    refused(['--nodes', '1'], "simulate: --nodes: must be an integer >= 2, got '1'");
    refused(['--churn-online', '10m'], 'simulate: --churn-offline: churn needs both --churn-online and --churn-offline (mean periods, e.g. 10m and 2m)');
    refused(['--shuffle-length', '20', '--view-size', '8'], 'simulate: --shuffle-length: must be at most the view size (8), got 20');
    refused(['--codec', 'q9'], `simulate: --codec: codec spec "q9": unknown stage "q9"; a spec is ${CODEC_SPEC_SYNTAX}`);
    refused(['--model', 'mlp-big'], "simulate: --model: unknown model 'mlp-big' (expected mlp | mlp-small | cnn | PATH/model.json)");
    assert.equal(options(['--model', 'my-model/model.json']).model, 'my-model/model.json');
    const help = parseSimulateOptions(['--help']);
    assert.match(help.kind === 'help' ? help.text : '', /^ {2}--model SPEC +mlp \| mlp-small \| cnn \| PATH\/model\.json /m);
  });

  it('reads a churn trace file and refuses a malformed one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simulate-trace-'));
    try {
      const good = join(dir, 'trace.json');
      await writeFile(good, JSON.stringify([{ node: 3, onlineSeconds: [[0, 60], [120, 300]] }]));
      const o = options(['--churn-trace', good]);
      assert.equal(o.churn.kind, 'trace');
      assert.deepEqual(o.churn.kind === 'trace' ? o.churn.online.get(3) : null, [[0, 60_000], [120_000, 300_000]]);
      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify([{ node: 3, onlineSeconds: [[60, 0]] }]));
      refused(['--churn-trace', bad], `simulate: --churn-trace: ${bad}: node 3 has an interval [60, 0] that ends before it starts`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs end to end and writes the contract fields, the curve and the chart', async function () {
    this.timeout(120_000);
    const dir = await mkdtemp(join(tmpdir(), 'simulate-cli-'));
    try {
      const rows = blobs(600, 3);
      const lines = ['a,b,c,d,e,f,g,h,label', ...Array.from({ length: rows.count }, (_, i) => [...rows.x.subarray(i * 8, i * 8 + 8)].map((v) => v.toFixed(4)).join(',') + `,${rows.y[i]}`)];
      await writeFile(join(dir, 'blobs.csv'), `${lines.join('\n')}\n`);
      const json = join(dir, 'sim.json');
      const args = ['simulate', '--data', `csv:${join(dir, 'blobs.csv')}`, '--nodes', '6', '--partition', 'iid', '--duration', '3s', '--eval-interval', '1s', '--view-size', '3', '--shuffle-length', '2', '--json', json];
      const { stdout } = await run(process.execPath, [cli, ...args], { env: { ...process.env, GOSSIP_LEARN_BACKEND: 'wasm' } });
      assert.match(stdout, /^ {2}t= +1s +mean /m, 'a progress line per curve point');
      assert.match(stdout, /^final: mean [\d.]+%, worst [\d.]+% \(all 6 nodes\)/m);
      const out = JSON.parse(await readFile(json, 'utf8')) as Record<string, unknown> & { curve: unknown[] };
      for (const field of ['nodes', 'partition', 'codec', 'wallSeconds', 'peakRssBytes', 'finalMeanAccuracy', 'bytesPerNode']) assert.ok(field in out, field);
      assert.equal(out.nodes, 6);
      assert.equal(out.partition, 'iid');
      assert.equal(out.codec, 'topk:0.1+q4+deflate');
      assert.ok((out.peakRssBytes as number) > 10e6 && (out.bytesPerNode as number) > 0);
      assert.equal(out.curve.length, 4);
      assert.match(await readFile(join(dir, 'sim.svg'), 'utf8'), /^<svg/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs on --model PATH/model.json: every node on the file\'s model, its hash and parameter count reported; a misfit file is one line', async function () {
    this.timeout(120_000);
    await initBackend('wasm');
    const dir = await mkdtemp(join(tmpdir(), 'simulate-model-file-'));
    try {
      const csv = join(dir, 'blobs.csv');
      await writeFile(csv, blobsCsv(blobs(300, 3)));
      const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 6, activation: 'relu' }), tf.layers.dense({ units: 4, activation: 'softmax' })] });
      const file = await saveModelDir(model, join(dir, 'model'));
      model.dispose();
      const narrow = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 3 })] });
      const threeOutputs = await saveModelDir(narrow, join(dir, 'three'));
      narrow.dispose();
      const loaded = await buildModel(file, { featureCount: 8, imageShape: null, numClasses: 4, seed: 1 });
      const hash = modelHash(loaded, datasetSchema(await loadDataset(`csv:${csv}`)));
      loaded.dispose();

      const json = join(dir, 'sim.json');
      const args = ['simulate', '--data', `csv:${csv}`, '--nodes', '3', '--partition', 'iid', '--duration', '2s', '--eval-interval', '1s', '--view-size', '2', '--shuffle-length', '1'];
      const env = { ...process.env, GOSSIP_LEARN_BACKEND: 'wasm' };
      const { stdout } = await run(process.execPath, [cli, ...args, '--model', file, '--json', json], { env });
      assert.match(stdout, new RegExp(`^simulate: 3 nodes, .*, ${file} \\(82 parameters, hash ${hash.slice(0, 16)}\\), codec `, 'm'));
      const out = JSON.parse(await readFile(json, 'utf8')) as Record<string, unknown>;
      assert.deepEqual([out.model, out.modelName, out.modelHash, out.paramCount], [file, `file:${hash.slice(0, 16)}`, hash, 82]);

      const bad = await run(process.execPath, [cli, ...args, '--model', threeOutputs], { env }).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => err,
      );
      assert.deepEqual([bad.code, bad.stderr.trim()], [2, `gossip-learn: simulate: ${threeOutputs}: the model outputs [3], but the data has 4 classes (one output per class)`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a text-label CSV with --classes, --normalization and --test-data, and reports the hash train and a daemon compute for that schema', async function () {
    this.timeout(120_000);
    const dir = await mkdtemp(join(tmpdir(), 'simulate-own-data-'));
    try {
      // Three blobs in 4 features, labels as names in an order that is not sorted (index order comes from --classes only).
      const names = ['red', 'green', 'blue'];
      const rows = (count: number, seed: number): string => {
        const split = blobs(count, seed, { features: 4, classes: 3 });
        const lines = Array.from({ length: split.count }, (_, i) => [...split.x.subarray(i * 4, i * 4 + 4)].map((v) => (10 * v + 50).toFixed(3)).join(',') + `,${names[split.y[i]!]}`);
        return `w,x,u,v,label\n${lines.join('\n')}\n`;
      };
      const csv = join(dir, 'train.csv');
      const testCsv = join(dir, 'test.csv');
      await writeFile(csv, rows(120, 4));
      await writeFile(testCsv, rows(30, 5));
      const classes = names.join(',');
      const stats = join(dir, 'stats.json');
      await writeFile(stats, JSON.stringify(computeDataStats(await loadDataset(`csv:${testCsv}`, { classes: names }), `csv:${testCsv}`)));
      const schemaArgs = ['--data', `csv:${csv}`, '--classes', classes, '--normalization', stats, '--test-data', `csv:${testCsv}`, '--model', 'mlp-small', '--seed', '3'];
      const env = { ...process.env, GOSSIP_LEARN_BACKEND: 'wasm' };

      const simJson = join(dir, 'sim.json');
      const sim = await run(process.execPath, [cli, 'simulate', ...schemaArgs, '--nodes', '3', '--partition', 'iid', '--duration', '2s', '--eval-interval', '1s', '--view-size', '2', '--shuffle-length', '1', '--json', simJson], { env });
      assert.match(sim.stdout, new RegExp(`test rows \\(csv:${testCsv.replaceAll('/', '\\/').replaceAll('.', '\\.')}\\)`));
      const simulated = JSON.parse(await readFile(simJson, 'utf8')) as { modelHash: string; classes: string[]; testSet: string; curve: Array<{ testRows: number }> };
      assert.deepEqual([simulated.classes, simulated.testSet, simulated.curve.at(-1)!.testRows], [names, `csv:${testCsv}`, 30]);

      const trainJson = join(dir, 'train.json');
      await run(process.execPath, [cli, 'train', ...schemaArgs, '--max-steps', '1', '--json', trainJson], { env });
      const trained = JSON.parse(await readFile(trainJson, 'utf8')) as { modelHash: string };
      assert.equal(simulated.modelHash, trained.modelHash);

      const node = await createNode({
        data: `csv:${csv}`, classes: names, normalization: stats, testData: `csv:${testCsv}`, model: 'mlp-small', seed: 3,
        listen: ['/ip4/127.0.0.1/tcp/0'], metricsHost: '127.0.0.1', metricsPort: 0, distill: false, stepsPerInterval: 0, logLevel: 'silent', stateDir: join(dir, 'daemon'),
      });
      try {
        assert.equal(node.metrics().model.hash, simulated.modelHash);
      } finally {
        await node.stop();
      }

      // The normalization is part of the hash: without it the same file and classes are another model.
      await initBackend('wasm');
      const plain = await describeModel('mlp-small', await loadDataset(`csv:${csv}`, { classes: names }), 3);
      assert.notEqual(plain.hash, simulated.modelHash);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses text labels without --classes, and a missing file, with the loader\'s one line (exit 2)', async function () {
    this.timeout(60_000);
    const dir = await mkdtemp(join(tmpdir(), 'simulate-text-labels-'));
    try {
      const csv = join(dir, 'pets.csv');
      await writeFile(csv, 'a,b,label\n1,2,cat\n3,4,dog\n');
      const env = { ...process.env, GOSSIP_LEARN_BACKEND: 'wasm' };
      const failure = (args: string[]) => run(process.execPath, [cli, 'simulate', ...args], { env }).then(() => ({ code: 0, stderr: '' }), (err: { code: number; stderr: string }) => err);
      const text = await failure(['--data', `csv:${csv}`]);
      assert.deepEqual(
        [text.code, text.stderr],
        [2, `gossip-learn: simulate: ${csv}: row 2: label 'cat' is text: declare the classes in index order, the same on every node, with --classes NAME,NAME,... (e.g. --classes cat,...)\n`],
      );
      const missing = await failure(['--data', `csv:${join(dir, 'absent.csv')}`, '--classes', 'cat,dog']);
      assert.deepEqual([missing.code, missing.stderr], [2, `gossip-learn: simulate: ${join(dir, 'absent.csv')}: file not found\n`]);
      // Written at the end of the run: a --json or --plot in a missing directory is refused before it.
      const noDir = join(dir, 'no-such-dir');
      const json = await failure(['--data', `csv:${csv}`, '--classes', 'cat,dog', '--json', join(noDir, 'sim.json')]);
      assert.deepEqual([json.code, json.stderr], [2, `gossip-learn: simulate: --json: directory ${noDir} does not exist (create it first)\n`]);
      const plot = await failure(['--data', `csv:${csv}`, '--classes', 'cat,dog', '--plot', join(noDir, 'sim.svg')]);
      assert.deepEqual([plot.code, plot.stderr], [2, `gossip-learn: simulate: --plot: directory ${noDir} does not exist (create it first)\n`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
