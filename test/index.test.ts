import { strict as assert } from 'node:assert';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, createNode, DataError, type GossipLearnNode, type NodeEventMap, type NodeOptions } from '../src/index.ts';
import { createRandom, normal } from '../src/train/random.ts';

/** A quiet node on 127.0.0.1 that neither trains nor joins: fast to start and stop. */
const quiet = (stateDir: string): NodeOptions => ({
  listen: ['/ip4/127.0.0.1/tcp/0'],
  metricsHost: '127.0.0.1',
  metricsPort: 0,
  model: 'mlp-small',
  distill: false,
  stepsPerInterval: 0,
  logLevel: 'silent',
  stateDir,
});

describe('createNode (the library entry)', function () {
  this.timeout(120_000);
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-index-'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a bad option with the daemon config error, before it creates anything', async () => {
    const stateDir = join(root, 'never');
    await assert.rejects(
      createNode({ ...quiet(stateDir), metricsPort: 70_000 }),
      (err: unknown) => err instanceof ConfigError && err.reason === 'bad-value' && err.message === '--metrics-port: must be at most 65535 (got 70000)',
    );
    await assert.rejects(
      createNode({ ...quiet(stateDir), codec: 'q3' }),
      (err: unknown) => err instanceof ConfigError && err.reason === 'bad-value' && err.message.startsWith('--codec: '),
    );
    // An unknown key is an unknown option (no file involved), with the closest option key.
    await assert.rejects(createNode({ ...quiet(stateDir), byteBudget: 1000 } as NodeOptions), {
      name: 'ConfigError',
      reason: 'unknown-option',
      message: "unknown option 'byteBudget' (did you mean byteBudgetPerHour?); options are the config keys in camelCase, as the NodeOptions type lists them (byteBudgetPerHour, exchangeIntervalMs, distill: false for --no-distill)",
    });
    await assert.rejects(access(stateDir), { code: 'ENOENT' });
  });

  it('refuses exitWithParent and parentPid, options of the daemon command only', async () => {
    await assert.rejects(createNode({ exitWithParent: true } as NodeOptions), {
      name: 'ConfigError',
      reason: 'bad-value',
      message: 'exitWithParent belongs to the `gossip-learn daemon` command; a library node stops when you call stop()',
    });
    await assert.rejects(createNode({ parentPid: 4242 } as NodeOptions), {
      name: 'ConfigError',
      reason: 'bad-value',
      message: 'parentPid belongs to the `gossip-learn daemon` command; a library node stops when you call stop()',
    });
  });

  it('starts a node with a config file under its options, serves its metrics, stops, and restarts with the same identity', async () => {
    const stateDir = join(root, 'node');
    const configFile = join(root, 'node.yaml');
    await writeFile(configFile, 'swarm: from-file\nmetrics-port: 1\nseed: 7\n');
    const node = await createNode({ ...quiet(stateDir), config: configFile });
    let peerId: string;
    try {
      // The file sets swarm and seed; the options win on metricsPort.
      assert.equal(node.config.swarm, 'from-file');
      assert.equal(node.config.seed, 7);
      assert.equal(node.config.metricsPort, 0);
      assert.ok(node.addresses.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/') && a.endsWith(`/p2p/${node.peerId}`)), node.addresses.join(' '));
      const metrics = node.metrics();
      assert.equal(metrics.peerId, node.peerId);
      assert.equal(metrics.swarm, 'from-file');
      assert.equal(metrics.model.name, 'mlp-small');
      const served = (await (await fetch(node.metricsUrl)).json()) as { peerId: string; swarm: string };
      assert.deepEqual([served.peerId, served.swarm], [node.peerId, 'from-file']);
      peerId = node.peerId;
    } finally {
      await node.stop();
    }
    await node.stop();
    await assert.rejects(fetch(node.metricsUrl));
    // stop() released the state-dir lock and kept the identity key.
    const again = await createNode(quiet(stateDir));
    try {
      assert.equal(again.peerId, peerId);
    } finally {
      await again.stop();
    }
  });

  describe('with your own tfjs model and data', () => {
    const classes = ['red', 'green', 'blue'];
    /** Three Gaussian blobs in 2-D (class c around (2c, -2c)); `labels` picks which classes a node holds. */
    const blobs = (labels: string[], count: number, seed: number): { x: number[][]; y: string[] } => {
      const random = createRandom(seed);
      const x: number[][] = [];
      const y: string[] = [];
      for (let i = 0; i < count; i++) {
        const label = labels[i % labels.length]!;
        const c = classes.indexOf(label);
        x.push([2 * c + 0.5 * normal(random), -2 * c + 0.5 * normal(random)]);
        y.push(label);
      }
      return { x, y };
    };
    const ownModel = (): tf.LayersModel =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [2], units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
          tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
        ],
      });
    const nodeOptions = (name: string, labels: string[], extra: NodeOptions = {}): NodeOptions => ({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      metricsHost: '127.0.0.1',
      metricsPort: 0,
      backend: 'wasm',
      swarm: 'own-data',
      distill: false,
      exchangeIntervalMs: 150,
      announceIntervalMs: 200,
      evalIntervalMs: 300,
      stepsPerInterval: 5,
      dutyCycle: 1,
      logLevel: 'silent',
      stateDir: join(root, name),
      classes,
      data: { ...blobs(labels, 200, name.length), test: blobs(classes, 90, 99) },
      model: ownModel(),
      ...extra,
    });

    /** Resolves with the first event of `event` that `accept` takes, or rejects after `deadlineMs`. */
    const waitFor = <K extends keyof NodeEventMap>(node: GossipLearnNode, event: K, accept: (...args: NodeEventMap[K]) => boolean, deadlineMs: number): Promise<NodeEventMap[K]> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          node.off(event, listener);
          reject(new Error(`no ${event} within ${deadlineMs} ms`));
        }, deadlineMs);
        const listener = (...args: NodeEventMap[K]): void => {
          if (!accept(...args)) return;
          clearTimeout(timer);
          node.off(event, listener);
          resolve(args);
        };
        node.on(event, listener);
      });

    it('trains a caller\'s model on rows holding other classes, merges with a peer and reports it in events', async () => {
      const a = await createNode(nodeOptions('own-a', ['red', 'green']));
      const b = await createNode(nodeOptions('own-b', ['green', 'blue'], { bootstrap: a.addresses }));
      try {
        assert.match(a.metrics().model.name ?? '', /^user:[0-9a-f]{16}$/);
        assert.equal(a.metrics().model.hash, b.metrics().model.hash);
        assert.equal(a.metrics().eval.testSet, 'data.test');
        const [merge] = await waitFor(a, 'merge', () => true, 30_000);
        assert.equal(merge.peer, b.peerId);
        const [exchange] = await waitFor(b, 'exchange', (e) => e.outcome === 'merged', 30_000);
        assert.equal(exchange.peer, a.peerId);
        // Alone each node knows two of three classes (at most 2/3 of the shared test set); merged, more.
        const [evaluation] = await waitFor(a, 'evaluation', (e) => e.accuracy > 0.8, 60_000);
        assert.equal(evaluation.testSet, 'data.test');
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });

    it('names the row of a bad label or an uneven row, before it starts anything', async () => {
      await assert.rejects(
        createNode(nodeOptions('bad-label', ['red'], { data: { x: [[1, 2], [3, 4]], y: ['red', 'purple'] } })),
        (err: unknown) => err instanceof DataError && err.reason === 'bad-label' && err.message === "data: row 2: label 'purple' is not one of the declared classes (--classes red,green,blue)",
      );
      await assert.rejects(
        createNode(nodeOptions('bad-row', ['red'], { data: { x: [[1, 2], [3]], y: ['red', 'blue'] } })),
        (err: unknown) => err instanceof DataError && err.reason === 'bad-shape' && err.message === 'data: row 2 has 1 values, expected 2',
      );
      await assert.rejects(createNode(nodeOptions('spec-only', ['red'], { testData: 'csv:test.csv' })), {
        name: 'ConfigError',
        reason: 'bad-value',
        message: 'testData read a data spec; with your own rows give data.test for a shared test set and normalize the rows yourself',
      });
      await assert.rejects(access(join(root, 'bad-label')), { code: 'ENOENT' });
    });
  });
});
