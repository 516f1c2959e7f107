import { strict as assert } from 'node:assert';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createNode, type NodeOptions } from '../src/index.ts';

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
      (err: unknown) => err instanceof ConfigError && err.reason === 'bad-value' && err.message === '--metrics-port: Too big: expected number to be <=65535',
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

  it('refuses exitWithParent, an option of the daemon command only', async () => {
    await assert.rejects(createNode({ exitWithParent: true } as NodeOptions), {
      name: 'ConfigError',
      reason: 'bad-value',
      message: 'exitWithParent belongs to the `gossip-learn daemon` command; a library node stops when you call stop()',
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
});
