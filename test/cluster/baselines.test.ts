/**
 * The yardstick of a cluster run: its budget from the daemons' training
 * steps, the daemons' training settings, and the two baselines trained in
 * process on a small seeded data set (no daemon, no mnist).
 */
import { strict as assert } from 'node:assert';
import { baselineBudget, computeBaselines, daemonDataOptions, daemonTraining, describeBaselines, type Baselines } from '../../src/cluster/baselines.ts';
import type { ClusterResults } from '../../src/cluster/results.ts';
import { ConfigError, validateDaemonConfig } from '../../src/node/config.ts';
import type { Dataset } from '../../src/train/dataset.ts';
import { blobDataset } from '../helpers/blobs.ts';
import { initBackend } from '../../src/train/backend.ts';
import { syntheticResults } from './synthetic.ts';

const data: Dataset = blobDataset();

/** The synthetic run (3 nodes: 300, 280 and 300 training steps) on the blobs, split by label. */
function blobRun(): ClusterResults {
  const results = syntheticResults();
  results.config.model = 'mlp-small';
  results.config.partition = 'shards:1';
  return results;
}

const training = { optimizer: 'adam' as const, learningRate: 0.01, batchSize: 16 };

describe('cluster baselines', function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend();
  });

  describe('budget', () => {
    it('is the mean over all nodes of what each daemon trained itself', () => {
      const budget = baselineBudget(blobRun(), 16);
      assert.deepEqual(budget, { ok: true, daemonSamplesPerNode: Math.round(((300 + 280 + 300) * 16) / 3), samplesPerNode: 4693, capped: false });
    });

    it('is capped so that one baseline trains at most the cap in all', () => {
      assert.deepEqual(baselineBudget(blobRun(), 16, 1200), { ok: true, daemonSamplesPerNode: 4693, samplesPerNode: 400, capped: true });
    });

    it('counts a node that never trained as 0', () => {
      const results = blobRun();
      results.config.nodes = 4; // a fourth node that never came up
      const budget = baselineBudget(results, 16);
      assert.ok(budget.ok);
      assert.equal(budget.daemonSamplesPerNode, Math.round((880 * 16) / 4));
    });

    it('says why there is none for a results.json without training steps or without training', () => {
      const old = blobRun();
      for (const node of old.nodes) delete node.final.trainingSteps;
      assert.deepEqual(baselineBudget(old, 32), {
        ok: false,
        reason: 'results.json has no training step counts (it was written before the launcher recorded them)',
      });
      const idle = blobRun();
      for (const node of idle.nodes) node.final.trainingSteps = 0;
      assert.deepEqual(baselineBudget(idle, 32), { ok: false, reason: 'the daemons trained less than one batch per node' });
    });
  });

  describe('training settings', () => {
    it('are the daemon defaults of src/node/config.ts when nothing overrides them', async () => {
      const defaults = validateDaemonConfig({});
      assert.deepEqual(await daemonTraining([], {}), { optimizer: defaults.optimizer, learningRate: defaults.learningRate, batchSize: defaults.batchSize });
    });

    it('follow --daemon-arg flags over GOSSIP_LEARN_* variables, as the daemon does', async () => {
      const env = { GOSSIP_LEARN_OPTIMIZER: 'adam', GOSSIP_LEARN_LEARNING_RATE: '0.2' };
      assert.deepEqual(await daemonTraining(['--learning-rate=0.1', '--batch-size=64', '--log-level=warn'], env), {
        optimizer: 'adam',
        learningRate: 0.1,
        batchSize: 64,
      });
    });

    it('read the data as the daemons do (--classes, --csv-delimiter, --normalization, --test-data given as --daemon-arg)', async () => {
      assert.deepEqual(await daemonDataOptions(['--classes=cat,dog', '--csv-delimiter=tab', '--test-data=csv:t.csv'], { GOSSIP_LEARN_NORMALIZATION: 's.json' }), {
        classes: ['cat', 'dog'],
        csvDelimiter: '\t',
        normalization: 's.json',
        testData: 'csv:t.csv',
      });
    });

    it('refuse what the daemon refuses, with its error', async () => {
      // The wording is the daemon's (test/node/config.test.ts holds it exactly); here: its error, naming the flag.
      await assert.rejects(daemonTraining(['--batch-size=lots'], {}), (err: unknown) => err instanceof ConfigError && /^--batch-size: /.test(err.message));
    });
  });

  describe('training', () => {
    it('trains one model on all the data and each node alone, at the budget, with progress lines', async () => {
      const lines: string[] = [];
      const outcome = await computeBaselines(blobRun(), training, { data, maxSamples: 1200, onProgress: (line) => lines.push(line) });
      assert.equal(outcome.status, 'done', JSON.stringify(outcome));
      const b = outcome as Baselines;
      assert.deepEqual([b.daemonSamplesPerNode, b.samplesPerNode, b.capped, b.training], [4693, 400, true, training]);
      // shards:1 of 3 nodes: each node holds one or two of the four labels, so alone it is right on at most about half of
      // the test set; together the data is easy.
      assert.ok(b.localWorstAccuracy <= b.localMeanAccuracy && b.localMeanAccuracy <= 0.55, JSON.stringify(b));
      assert.ok(b.centralizedAccuracy > 0.9, JSON.stringify(b));
      assert.equal(lines[0], `baselines: 400 samples per node (capped; the daemons trained 4,693), adam lr 0.01 batch 16, ${b.backend}`);
      assert.ok(lines.some((l) => /^baselines: centralized \d+\/1,200 samples, accuracy \d+\.\d%$/.test(l)), lines.join('\n'));
      assert.ok(lines.some((l) => /^baselines: local-only \d+\/1,200 samples, mean \d+\.\d%, worst \d+\.\d%$/.test(l)), lines.join('\n'));
    });

    it('is skipped, not thrown, when interrupted or given a model it does not know', async () => {
      const abort = new AbortController();
      abort.abort();
      assert.deepEqual(await computeBaselines(blobRun(), training, { data, maxSamples: 1200, signal: abort.signal }), { status: 'skipped', reason: 'interrupted' });
      const unknown = blobRun();
      unknown.config.model = 'resnet';
      assert.deepEqual(await computeBaselines(unknown, training, { data }), { status: 'skipped', reason: "'resnet' is not a registry model" });
    });
  });

  describe('summary', () => {
    const done: Baselines = {
      status: 'done', daemonSamplesPerNode: 38_400, samplesPerNode: 38_400, capped: false, training: { optimizer: 'sgd', learningRate: 0.05, batchSize: 32 },
      backend: 'wasm', centralizedAccuracy: 0.9112, localMeanAccuracy: 0.4671, localWorstAccuracy: 0.3333, seconds: 21.5,
    };

    it('places the swarm between its baselines', () => {
      assert.equal(
        describeBaselines(done, 0.786),
        'the swarm 78.6%; one model on all the data 91.1%, each node alone 46.7% (worst 33.3%), at 38,400 samples per node',
      );
      assert.equal(
        describeBaselines({ ...done, samplesPerNode: 37_500, capped: true, daemonSamplesPerNode: 120_000 }, null),
        'the swarm –; one model on all the data 91.1%, each node alone 46.7% (worst 33.3%), at 37,500 samples per node (capped; the daemons trained 120,000)',
      );
    });

    it('says why there are none', () => {
      assert.equal(describeBaselines({ status: 'skipped', reason: 'interrupted' }, 0.5), 'baselines skipped: interrupted');
      assert.equal(describeBaselines(undefined, 0.5), 'no baselines in results.json');
    });
  });
});
