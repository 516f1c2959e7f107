import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseTrainOptions } from '../../src/cli/train-options.ts';
import { CliUsageError } from '../../src/cli/usage-error.ts';
import { initBackend } from '../../src/train/backend.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { createModel, modelHash } from '../../src/train/models.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));

/** Runs the CLI on the wasm backend: what it prints must not depend on whether the optional @tensorflow/tfjs-node is installed. */
async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, GOSSIP_LEARN_BACKEND: 'wasm' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('gossip-learn train', () => {
  it('--help lists every flag with its default, --version, and the data formats (CSV, Fashion-MNIST files)', async () => {
    const { code, stdout } = await runCli(['train', '--help']);
    assert.equal(code, 0);
    for (const flag of ['data', 'model', 'epochs', 'batch-size', 'learning-rate', 'optimizer', 'partition', 'node-index', 'num-nodes', 'seed', 'backend', 'checkpoint', 'max-steps']) {
      assert.match(stdout, new RegExp(`--${flag} \\S+ .*\\(default: [^)]+\\)`), flag);
    }
    assert.match(stdout, /^ {2}-v, --version +print the version and exit$/m);
    assert.match(stdout, /--learning-rate X +step size \(default: 0\.05 \(momentum\), 0\.1 \(sgd\), 0\.001 \(adam\), 0\.05 \(qgm\)\)/);
    assert.match(stdout, /^ {2}csv:PATH +one sample per row/m);
    assert.match(stdout, /t10k-images-idx3-ubyte/);
  });

  it('--version and -v print the package version', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) assert.deepEqual(await runCli(['train', flag]), { code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('parses defaults and flags', () => {
    const o = parseTrainOptions([]);
    assert.deepEqual(
      { data: o.data, model: o.model, epochs: o.epochs, batchSize: o.batchSize, optimizer: o.optimizer, learningRate: o.learningRate, partition: o.partition, nodeIndex: o.nodeIndex, numNodes: o.numNodes, seed: o.seed, backend: o.backend, checkpoint: o.checkpoint, maxSteps: o.maxSteps },
      { data: 'mnist', model: 'mlp', epochs: 1, batchSize: 32, optimizer: 'momentum', learningRate: 0.05, partition: 'iid', nodeIndex: 0, numNodes: 1, seed: 1, backend: 'auto', checkpoint: null, maxSteps: null },
    );
    const p = parseTrainOptions(['--optimizer', 'sgd', '--partition', 'shards:2', '--node-index', '3', '--num-nodes', '4', '--learning-rate', '0.2']);
    assert.deepEqual([p.optimizer, p.learningRate, p.partition, p.nodeIndex, p.numNodes], ['sgd', 0.2, 'shards:2', 3, 4]);
    assert.equal(parseTrainOptions(['--optimizer', 'sgd']).learningRate, 0.1);
    assert.equal(parseTrainOptions(['--optimizer', 'adam']).learningRate, 0.001);
  });

  const bad: Array<[string[], RegExp]> = [
    [['--epochs', '0'], /^train: --epochs: epochs must be a positive integer \(got '0'\)$/],
    [['--epochs', 'two'], /^train: --epochs: epochs must be a positive integer \(got 'two'\)$/],
    [['--batch-size=-4'], /^train: --batch-size: batch size must be a positive integer \(got '-4'\)$/],
    [['--batch-size', '-4'], /^train: option --batch-size needs a value \(one that starts with a dash is written --batch-size=-\.\.\.\); `gossip-learn train --help` lists the options$/],
    [['--learning-rate', 'fast'], /^train: --learning-rate: learning rate must be a positive number \(got 'fast'\)$/],
    [['--model', 'resnet'], /^train: --model: model must be one of mlp \| mlp-small \| cnn, or a tfjs model file ending in \.json \(got 'resnet'\)$/],
    [['--optimizer', 'rmsprop'], /^train: --optimizer: optimizer must be one of sgd \| momentum \| adam \| qgm \(got 'rmsprop'\)$/],
    [['--backend', 'gpu'], /^train: --backend: backend must be one of auto \| tensorflow \| wasm \| cpu \(got 'gpu'\)$/],
    [['--node-index', '2', '--num-nodes', '2'], /^train: --node-index: node index must be below the number of nodes \(got '2'\)$/],
    [['--partition', 'dirichlet:-1'], /^train: --partition: partition 'dirichlet:-1': alpha must be a positive number$/],
    [['--partition', 'random'], /^train: --partition: unknown partition spec 'random' \(expected iid \| dirichlet:<alpha> \| shards:<k>\)$/],
    [['--frobnicate'], /^train: unknown option '--frobnicate'; `gossip-learn train --help` lists the options$/],
    [['--epoch', '2'], /^train: unknown option '--epoch' \(did you mean --epochs\?\); `gossip-learn train --help` lists the options$/],
    [['--learningRate', '0.1'], /^train: unknown option '--learningRate' \(did you mean --learning-rate\?\); `gossip-learn train --help` lists the options$/],
    [['extra'], /^train: unexpected argument 'extra' \(options start with --\); `gossip-learn train --help` lists the options$/],
  ];
  for (const [args, message] of bad) {
    it(`rejects ${args.join(' ')} with one clear line`, () => {
      assert.throws(() => parseTrainOptions(args), (err: unknown) => err instanceof CliUsageError && message.test(err.message));
    });
  }

  it('exits 2 with one line on stderr for bad flags and for a bad data spec', async () => {
    const flag = await runCli(['train', '--epochs', '0']);
    assert.equal(flag.code, 2);
    assert.equal(flag.stderr, "gossip-learn: train: --epochs: epochs must be a positive integer (got '0')\n");
    const data = await runCli(['train', '--data', 'csv:/nonexistent/file.csv', '--backend', 'cpu']);
    assert.equal(data.code, 2);
    assert.equal(data.stderr, 'gossip-learn: train: /nonexistent/file.csv: file not found\n');
    // Refused before training, not with a stack trace after it.
    const checkpoint = await runCli(['train', '--checkpoint', '/nonexistent/dir/model.ckpt']);
    assert.deepEqual(checkpoint, { code: 2, stdout: '', stderr: 'gossip-learn: train: --checkpoint: directory /nonexistent/dir does not exist (create it first)\n' });
    const json = await runCli(['train', '--json', '/nonexistent/dir/result.json']);
    assert.deepEqual(json, { code: 2, stdout: '', stderr: 'gossip-learn: train: --json: directory /nonexistent/dir does not exist (create it first)\n' });
  });

  describe('end to end', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gl-train-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('trains a few steps on a partition, prints plain progress and the test accuracy, writes checkpoint and JSON', async () => {
      const checkpoint = join(dir, 'model.ckpt');
      const json = join(dir, 'result.json');
      const { code, stdout, stderr } = await runCli([
        'train', '--data', 'mnist', '--model', 'mlp-small', '--partition', 'dirichlet:0.5', '--node-index', '1', '--num-nodes', '4',
        '--max-steps', '40', '--seed', '3', '--checkpoint', checkpoint, '--json', json,
      ]);
      assert.equal(code, 0, stderr);
      assert.equal(stderr, '');
      assert.match(stdout, /^backend: wasm \(requested\)$/m);
      assert.match(stdout, /^data: mnist, \d+ of 8000 training rows \(partition dirichlet:0\.5, node 1 of 4\), 2000 test rows \(held out\), 10 classes$/m);
      assert.match(stdout, /^epoch 1\/1 {2}step \d+\/\d+ {2}loss \d+\.\d{4} {2}\d+ samples\/s$/m);
      assert.match(stdout, /^trained 40 steps, 1280 samples at \d+ samples\/s/m);
      const accuracy = Number(/^test accuracy: (\d\.\d{4}) \(loss \d+\.\d{4}, 2000 test rows\)$/m.exec(stdout)?.[1]);
      assert.ok(accuracy > 0.2 && accuracy <= 1, `accuracy ${accuracy}`);
      const result = JSON.parse(await readFile(json, 'utf8'));
      assert.equal(result.steps, 40);
      assert.equal(result.test.accuracy.toFixed(4), accuracy.toFixed(4));
      assert.equal(result.backend, 'wasm');
      await initBackend('wasm');
      const model = createModel('mlp-small', { featureCount: 784, imageShape: [28, 28, 1], numClasses: 10, seed: 3 });
      const ckpt = await loadCheckpoint(checkpoint, { modelName: 'mlp-small', modelHash: modelHash(model) });
      assert.equal(ckpt.age, 40);
      assert.equal(ckpt.samplesSeen, 1280);
      assert.equal(ckpt.params.length, 25450);
      assert.equal(ckpt.meta.partition, 'dirichlet:0.5');
      model.dispose();
    });
  });
});
