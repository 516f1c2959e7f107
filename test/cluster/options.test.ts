import { strict as assert } from 'node:assert';
import { ClusterError } from '../../src/cluster/errors.ts';
import { DEFAULT_NODES, parseClusterArgs } from '../../src/cluster/options.ts';

const fixedNow = new Date('2026-01-02T03:04:05.678Z');

function rejects(argv: string[], message: RegExp): void {
  assert.throws(
    () => parseClusterArgs(argv, fixedNow),
    (err: unknown) => err instanceof ClusterError && err.reason === 'bad-option' && message.test(err.message),
  );
}

describe('parseClusterArgs', () => {
  it('gives working defaults with a timestamped output dir', () => {
    const config = parseClusterArgs([], fixedNow);
    assert.ok(config);
    assert.equal(config.nodes, DEFAULT_NODES);
    assert.equal(config.durationSeconds, 120);
    assert.equal(config.data, 'mnist');
    assert.equal(config.partition, 'dirichlet:0.3');
    assert.equal(config.model, 'mlp');
    assert.equal(config.codec, null);
    assert.equal(config.lateJoin, 1);
    assert.equal(config.lateJoinDelaySeconds, 48);
    assert.equal(config.churnSeconds, 0);
    assert.equal(config.outDir, 'runs/cluster-20260102-030405');
    assert.equal(config.swarm, 'cluster-1');
  });

  it('accepts the contract flags of issue 9', () => {
    const config = parseClusterArgs(
      ['--nodes', '8', '--duration', '30', '--data', 'fashion-mnist', '--partition', 'shards:2', '--model', 'cnn',
        '--codec', 'topk:0.01+q4+deflate', '--seed', '7', '--late-join', '2', '--churn', '10', '--out', '/tmp/x'],
      fixedNow,
    );
    assert.ok(config);
    assert.deepEqual(
      [config.nodes, config.durationSeconds, config.data, config.partition, config.model, config.codec, config.seed, config.lateJoin, config.churnSeconds, config.outDir],
      [8, 30, 'fashion-mnist', 'shards:2', 'cnn', 'topk:0.01+q4+deflate', 7, 2, 10, '/tmp/x'],
    );
  });

  it('collects repeated --daemon-arg values in order', () => {
    const config = parseClusterArgs(['--daemon-arg=--log-level=debug', '--daemon-arg=--batch-size=64'], fixedNow);
    assert.deepEqual(config?.daemonArgs, ['--log-level=debug', '--batch-size=64']);
  });

  it('asks for the = form when a --daemon-arg value starts with a dash', () => {
    rejects(['--daemon-arg', '--batch-size=64'], /argument is ambiguous/);
  });

  it('returns null for --help', () => {
    assert.equal(parseClusterArgs(['--help'], fixedNow), null);
  });

  it('needs no late joiner for a single node', () => {
    assert.equal(parseClusterArgs(['--nodes', '1'], fixedNow)?.lateJoin, 0);
  });

  it('rejects bad values with the flag name', () => {
    rejects(['--nodes', '0'], /^--nodes must be an integer from 1 to 64 \(got '0'\)$/);
    rejects(['--nodes', '2.5'], /^--nodes must be an integer/);
    rejects(['--duration', 'soon'], /^--duration must be a positive number of seconds \(got 'soon'\)$/);
    rejects(['--duty-cycle', '1.5'], /^--duty-cycle must be a number in \(0, 1\]/);
    rejects(['--progress', 'fancy'], /^--progress must be auto, tty, plain or none/);
    rejects(['--data', ''], /^--data must not be empty$/);
    rejects(['--data', 'imagenet'], /^--data: unknown data spec 'imagenet'/);
    rejects(['--partition', 'shards'], /^--partition: /);
    rejects(['--codec', 'q9'], /^--codec: not a codec spec: 'q9'/);
  });

  it('rejects as many late joiners as nodes', () => {
    rejects(['--nodes', '3', '--late-join', '3'], /^--late-join must be smaller than --nodes \(3 >= 3\)/);
  });

  it('rejects unknown flags', () => {
    rejects(['--nodez', '3'], /Unknown option '--nodez'/);
  });
});
