import { DEFAULT_AGGREGATOR } from '../../src/train/aggregators/index.ts';
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
    assert.equal(config.aggregator, DEFAULT_AGGREGATOR);
    assert.equal(parseClusterArgs(['--aggregator', 'median'], fixedNow)?.aggregator, 'median');
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
    rejects(['--daemon-arg', '--batch-size=64'], /^option --daemon-arg needs a value \(one that starts with a dash is written --daemon-arg=-\.\.\.\); `npm run cluster -- --help` lists the options$/);
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
    rejects(['--duration', 'soon'], /^--duration must be a duration such as 500ms, 30s or 2m \(got 'soon'\)$/);
    rejects(['--duration', '0s'], /^--duration must be a positive duration \(got '0s'\)$/);
    rejects(['--poll-interval', '50ms'], /^--poll-interval must be at least 100ms \(got '50ms'\)$/);
    rejects(['--duty-cycle', '1.5'], /^--duty-cycle must be a number in \(0, 1\]/);
    rejects(['--progress', 'fancy'], /^--progress must be auto, tty, plain or none/);
    rejects(['--data', ''], /^--data must not be empty$/);
    rejects(['--data', 'imagenet'], /^--data: unknown data spec 'imagenet'/);
    rejects(['--partition', 'shards'], /^--partition: /);
    rejects(['--codec', 'q9'], /^--codec: codec spec "q9": unknown stage "q9"; a spec is \[topk:FRACTION\|COUNT \+\] f32 \| f16 \| q8/);
    rejects(['--codec', 'q8+deflat'], /^--codec: codec spec "q8\+deflat": unknown stage "deflat" \(did you mean deflate\?\); a spec is /);
    rejects(['--aggregator', 'centred-clip'], /^--aggregator: unknown aggregator 'centred-clip' \(did you mean centered-clip\?\); known: average, /);
  });

  it('takes durations with units on every duration flag, as the daemon does', () => {
    const config = parseClusterArgs(
      ['--duration', '2m', '--late-join-delay', '1500ms', '--churn', '20s', '--churn-downtime', '0.5s', '--exchange-interval', '3s',
        '--poll-interval', '250ms', '--progress-every', '1m', '--start-timeout', '90s', '--stop-timeout', '5s'],
      fixedNow,
    );
    assert.ok(config);
    assert.deepEqual(
      [config.durationSeconds, config.lateJoinDelaySeconds, config.churnSeconds, config.churnDowntimeSeconds, config.exchangeIntervalMs,
        config.pollIntervalMs, config.progressEverySeconds, config.startTimeoutSeconds, config.stopTimeoutSeconds],
      [120, 1.5, 20, 0.5, 3000, 250, 60, 90, 5],
    );
  });

  it('reads a bare number as seconds on the flags documented in seconds', () => {
    const config = parseClusterArgs(
      ['--duration', '90', '--late-join-delay', '0.3', '--churn', '20', '--churn-downtime', '2', '--progress-every', '5', '--start-timeout', '60', '--stop-timeout', '7'],
      fixedNow,
    );
    assert.ok(config);
    assert.deepEqual(
      [config.durationSeconds, config.lateJoinDelaySeconds, config.churnSeconds, config.churnDowntimeSeconds, config.progressEverySeconds, config.startTimeoutSeconds, config.stopTimeoutSeconds],
      [90, 0.3, 20, 2, 5, 60, 7],
    );
    assert.equal(parseClusterArgs(['--churn', '0'], fixedNow)?.churnSeconds, 0, '0 is 0 in any unit');
  });

  it('refuses a --model the daemons would refuse, before starting any (a registry name or a .json file pass)', () => {
    assert.throws(() => parseClusterArgs(['--model', 'mpl'], fixedNow), {
      name: 'ClusterError',
      reason: 'bad-option',
      message: "--model: 'mpl' is neither a registry model (mlp | mlp-small | cnn) nor a tfjs model file ending in .json",
    });
    assert.equal(parseClusterArgs(['--model', 'examples/own-model/model.json'], fixedNow)?.model, 'examples/own-model/model.json');
  });

  it('refuses a bare number where it read milliseconds before, with the hint', () => {
    assert.throws(
      () => parseClusterArgs(['--exchange-interval', '3'], fixedNow),
      { name: 'ClusterError', reason: 'bad-option', message: "--exchange-interval '3' has no unit: 3ms or 3s? (write e.g. --exchange-interval 500ms or --exchange-interval 3s)" },
    );
    assert.throws(
      () => parseClusterArgs(['--poll-interval', '500'], fixedNow),
      { name: 'ClusterError', reason: 'bad-option', message: "--poll-interval '500' has no unit: 500ms or 500s? (write e.g. --poll-interval 500ms or --poll-interval 3s)" },
    );
  });

  it("refuses an exchange interval below the daemon's floor, naming it", () => {
    rejects(['--exchange-interval', '20ms'], /^--exchange-interval must be at least the daemon's floor of 50ms/);
  });

  it('refuses a churn interval below its floor, naming the floor; 0 stays off', () => {
    rejects(['--churn', '1ms'], /^--churn must be 0 \(off\) or at least the floor of 1s \(got '1ms'\)$/);
    rejects(['--churn', '999ms'], /^--churn must be 0 \(off\) or at least the floor of 1s \(got '999ms'\)$/);
    rejects(['--churn', '0.5'], /^--churn must be 0 \(off\) or at least the floor of 1s \(got '0.5'\)$/);
    assert.equal(parseClusterArgs(['--churn', '1s'], fixedNow)?.churnSeconds, 1);
    assert.equal(parseClusterArgs(['--churn', '0s'], fixedNow)?.churnSeconds, 0);
  });

  it('reads fractional durations to the millisecond', () => {
    assert.equal(parseClusterArgs(['--exchange-interval', '1.5s'], fixedNow)?.exchangeIntervalMs, 1500);
  });

  it('rejects as many late joiners as nodes', () => {
    rejects(['--nodes', '3', '--late-join', '3'], /^--late-join must be smaller than --nodes \(3 >= 3\)/);
  });

  it('rejects unknown flags, naming the closest one and where the options are listed', () => {
    rejects(['--nodez', '3'], /^unknown option '--nodez' \(did you mean --nodes\?\); `npm run cluster -- --help` lists the options$/);
    rejects(['--duraton', '30s'], /^unknown option '--duraton' \(did you mean --duration\?\); `npm run cluster -- --help` lists the options$/);
  });

  it('points a daemon-only flag to --daemon-arg, with its value, and names the ones the launcher sets itself', () => {
    const hint = '; `npm run cluster -- --help` lists the options';
    const message = (argv: string[]): string => {
      try {
        parseClusterArgs(argv, fixedNow);
      } catch (err) {
        assert.ok(err instanceof ClusterError && err.reason === 'bad-option');
        return err.message;
      }
      throw new Error(`accepted ${argv.join(' ')}`);
    };
    assert.equal(message(['--byte-budget', '10MB']), `--byte-budget is a daemon flag: pass it to every daemon with --daemon-arg=--byte-budget=10MB${hint}`);
    assert.equal(message(['--nodes', '3', '--read-timeout=5s']), `--read-timeout is a daemon flag: pass it to every daemon with --daemon-arg=--read-timeout=5s${hint}`);
    assert.equal(message(['--mdns']), `--mdns is a daemon flag: pass it to every daemon with --daemon-arg=--mdns${hint}`);
    assert.equal(message(['--byte-budget']), `--byte-budget is a daemon flag: pass it to every daemon with --daemon-arg=--byte-budget=VALUE${hint}`);
    assert.equal(message(['--state-dir', 'x']), `--state-dir is a daemon flag the launcher sets for each daemon itself${hint}`);
    // A misspelt daemon flag gets the suggestion and the way to pass it; a misspelt launcher flag the plain suggestion.
    assert.equal(message(['--log-levl', 'warn']), `unknown option '--log-levl' (did you mean --log-level?): --log-level is a daemon flag: pass it to every daemon with --daemon-arg=--log-level=warn${hint}`);
    assert.equal(message(['--node', '3']), `unknown option '--node' (did you mean --nodes?)${hint}`);
    // What the hint says works: the flag reaches every daemon.
    assert.deepEqual(parseClusterArgs(['--daemon-arg=--byte-budget=10MB'], fixedNow)?.daemonArgs, ['--byte-budget=10MB']);
  });
});
