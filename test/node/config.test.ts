import { strict as assert } from 'node:assert';
import { DEFAULT_PACING } from '../../src/core/pacing.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGGREGATOR_NAMES, DEFAULT_AGGREGATOR } from '../../src/train/aggregators/index.ts';
import { checkDaemonSpecs, ConfigError, envName, loadDaemonConfig, optionSpecs, parseDurationMs, unknownEnvWarnings, validateDaemonConfig } from '../../src/node/config.ts';
import { DEFAULT_LISTEN_ADDRESS, DEFAULT_METRICS_PORT } from '../../src/node/constants.ts';
import { CODEC_SPEC_SYNTAX } from '../../src/protocol/codec/index.ts';

/** The message checkDaemonSpecs gives for these flags. */
async function specMessage(argv: string[]): Promise<string> {
  const { config, nameOf } = await loadDaemonConfig(argv, {});
  try {
    checkDaemonSpecs(config!, nameOf);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${argv.join(' ')} passed`);
}

const rejectsWith = async (p: Promise<unknown>, reason: ConfigError['reason'], message: RegExp): Promise<void> => {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.match(err.message, message);
    return true;
  });
};

describe('daemon config', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has the documented defaults when nothing is given', async () => {
    const { config } = await loadDaemonConfig([], {});
    assert.ok(config);
    assert.deepEqual(config.listen, [DEFAULT_LISTEN_ADDRESS]);
    assert.deepEqual(config.bootstrap, []);
    assert.equal(config.metricsHost, '127.0.0.1');
    assert.equal(config.metricsPort, DEFAULT_METRICS_PORT);
    assert.equal(config.mdns, false);
    assert.equal(config.distill, true);
    assert.equal(config.data, 'mnist');
  });

  it('takes the aggregation policy: H local steps per exchange and a byte budget per hour with units', async () => {
    const { config } = await loadDaemonConfig(['--local-steps-per-exchange', '40', '--byte-budget', '10MB'], {});
    assert.equal(config?.localStepsPerExchange, 40);
    assert.equal(config?.byteBudgetPerHour, 10_000_000);
    const defaults = (await loadDaemonConfig([], {})).config!;
    assert.equal(defaults.localStepsPerExchange, DEFAULT_PACING.localStepsPerExchange);
    assert.equal(defaults.byteBudgetPerHour, 0);
    assert.equal((await loadDaemonConfig([], { GOSSIP_LEARN_BYTE_BUDGET: '512KiB' })).config?.byteBudgetPerHour, 524_288);
    assert.equal((await loadDaemonConfig(['--byte-budget', '2000'], {})).config?.byteBudgetPerHour, 2000);
    const file = join(dir, 'budget.yaml');
    await writeFile(file, 'byte-budget: 1GB\n');
    assert.equal((await loadDaemonConfig(['--config', file], {})).config?.byteBudgetPerHour, 1_000_000_000);
    await rejectsWith(loadDaemonConfig(['--byte-budget', 'lots'], {}), 'bad-value', /^--byte-budget: not a byte size: 'lots' \(use e\.g\. 2000, 500kB, 10MB, 1GiB\)$/);
    await rejectsWith(loadDaemonConfig(['--local-steps-per-exchange', '1.5'], {}), 'bad-value', /^--local-steps-per-exchange: not an integer: '1.5'$/);
  });

  it('refuses an exchange interval below the floor, naming the floor, and a bare number with a hint', async () => {
    await rejectsWith(loadDaemonConfig(['--exchange-interval', '10ms'], {}), 'bad-value', /^--exchange-interval: 10ms is below the floor of 50ms$/);
    await rejectsWith(loadDaemonConfig(['--exchange-interval', '2'], {}), 'bad-value', /^--exchange-interval: '2' has no unit: 2ms or 2s\? \(write e\.g\. 500ms, 5s, 2m\)$/);
    await rejectsWith(loadDaemonConfig(['--exchange-interval', '0'], {}), 'bad-value', /^--exchange-interval: 0ms is below the floor of 50ms$/);
    await rejectsWith(loadDaemonConfig(['--exchange-interval', '0s'], {}), 'bad-value', /^--exchange-interval: 0ms is below the floor of 50ms$/);
    await rejectsWith(loadDaemonConfig(['--checkpoint-interval', '0'], {}), 'bad-value', /^--checkpoint-interval: 0ms: must be more than 0 \(e\.g\. 500ms, 5s, 2m\)$/);
    assert.equal((await loadDaemonConfig(['--exchange-interval', '50ms'], {})).config?.exchangeIntervalMs, 50);
  });

  it('offers every flag docs/architecture.md "Contracts" lists', () => {
    const flags = new Set(optionSpecs.map((o) => o.flag));
    for (const flag of ['config', 'listen', 'bootstrap', 'swarm', 'data', 'partition', 'node-index', 'num-nodes', 'model', 'backend', 'state-dir',
      'exchange-interval', 'codec', 'metrics-host', 'metrics-port', 'mdns', 'teacher', 'no-distill', 'log-level', 'seed', 'byte-budget', 'local-steps-per-exchange']) {
      assert.ok(flags.has(flag), `missing --${flag}`);
    }
  });

  it('names GOSSIP_LEARN_* variables no option reads, with the closest option\'s variable, and only those', () => {
    const env = { GOSSIP_LEARN_METRIC_PORT: '1', GOSSIP_LEARN_DISTIL: 'false', GOSSIP_LEARN_XYZZY: '1', GOSSIP_LEARN_SWARM: 'x', GOSSIP_LEARN_DISTILL: 'false', GOSSIP_LEARN_NETNS_KEEP: '1', GOSSIP_LEARN_EMPTY: '', HOME: '/root' };
    assert.deepEqual(unknownEnvWarnings(env), [
      'GOSSIP_LEARN_DISTIL: no daemon option reads this variable; ignored (did you mean GOSSIP_LEARN_DISTILL?)',
      'GOSSIP_LEARN_METRIC_PORT: no daemon option reads this variable; ignored (did you mean GOSSIP_LEARN_METRICS_PORT?)',
      'GOSSIP_LEARN_XYZZY: no daemon option reads this variable; ignored',
    ]);
    assert.deepEqual(unknownEnvWarnings(Object.fromEntries(optionSpecs.map((o) => [envName(o.flag), '1']))), []);
  });

  it('takes flags over environment over file', async () => {
    const file = join(dir, 'c.yaml');
    await writeFile(file, 'swarm: from-file\nseed: 7\nmodel: mlp-small\nexchangeIntervalMs: 2s\nbootstrap: [/ip4/127.0.0.1/tcp/1/p2p/x]\n');
    const { config } = await loadDaemonConfig(['--config', file, '--swarm', 'from-flag', '--bootstrap', '/a', '--bootstrap', '/b'], {
      GOSSIP_LEARN_SWARM: 'from-env',
      GOSSIP_LEARN_SEED: '9',
      GOSSIP_LEARN_DISTILL: 'false',
    });
    assert.ok(config);
    assert.equal(config.swarm, 'from-flag');
    assert.equal(config.seed, 9);
    assert.equal(config.model, 'mlp-small');
    assert.equal(config.exchangeIntervalMs, 2000);
    assert.deepEqual(config.bootstrap, ['/a', '/b']);
    assert.equal(config.distill, false);
  });

  it('reads JSON config files', async () => {
    const file = join(dir, 'c.json');
    await writeFile(file, JSON.stringify({ metricsPort: 0, listen: ['/ip4/127.0.0.1/tcp/0'] }));
    const { config } = await loadDaemonConfig(['--config', file, '--no-distill', '--mdns'], {});
    assert.equal(config?.metricsPort, 0);
    assert.deepEqual(config?.listen, ['/ip4/127.0.0.1/tcp/0']);
    assert.equal(config?.distill, false);
    assert.equal(config?.mdns, true);
  });

  it('parses durations', () => {
    assert.equal(parseDurationMs('250ms'), 250);
    assert.equal(parseDurationMs('1.5s'), 1500);
    assert.equal(parseDurationMs('2m'), 120_000);
    assert.equal(parseDurationMs('0'), 0);
    assert.throws(() => parseDurationMs('40'), { name: 'ConfigError', reason: 'bad-value', message: "'40' has no unit: 40ms or 40s? (write e.g. 500ms, 5s, 2m)" });
    assert.throws(() => parseDurationMs('soon'), (e: unknown) => e instanceof ConfigError && e.reason === 'bad-value');
  });

  it('names the environment variables after the flags', () => {
    assert.equal(envName('metrics-port'), 'GOSSIP_LEARN_METRICS_PORT');
    assert.equal(envName('no-distill'), 'GOSSIP_LEARN_DISTILL');
  });

  it('rejects bad input with one clear line', async () => {
    await rejectsWith(loadDaemonConfig(['--frobnicate'], {}), 'bad-flag', /^unknown option '--frobnicate'; `gossip-learn daemon --help` lists the options$/);
    await rejectsWith(loadDaemonConfig(['--state-dri', 'x'], {}), 'bad-flag', /^unknown option '--state-dri' \(did you mean --state-dir\?\); `gossip-learn daemon --help` lists the options$/);
    await rejectsWith(loadDaemonConfig(['--metricsPort', '0'], {}), 'bad-flag', /^unknown option '--metricsPort' \(did you mean --metrics-port\?\); `gossip-learn daemon --help` lists the options$/);
    await rejectsWith(loadDaemonConfig(['--seed', 'x'], {}), 'bad-value', /^--seed: not an integer: 'x'$/);
    await rejectsWith(loadDaemonConfig(['--model', 'resnet'], {}), 'bad-value', /^--model: /);
    await rejectsWith(loadDaemonConfig(['--metrics-port', '70000'], {}), 'bad-value', /^--metrics-port: must be at most 65535 \(got 70000\)$/);
    await rejectsWith(loadDaemonConfig(['--duty-cycle', '0'], {}), 'bad-value', /^--duty-cycle: must be more than 0 \(got 0\)$/);
    await rejectsWith(loadDaemonConfig(['--dp-clip', '1', '--dp-noise-multiplier', '1', '--dp-delta', '1'], {}), 'bad-value', /^--dp-delta: must be below 1 \(got 1\)$/);
    await rejectsWith(loadDaemonConfig(['--max-connections', '0'], {}), 'bad-value', /^--max-connections: must be more than 0 \(got 0\)$/);
    await rejectsWith(loadDaemonConfig(['--read-timeout', '60s'], {}), 'bad-value', /^--read-timeout: must be at most 30s \(got 60s\)$/);
    await rejectsWith(loadDaemonConfig(['--optimizer', 'rmsprop'], {}), 'bad-value', /^--optimizer: 'rmsprop' is not one of sgd \| momentum \| adam \| qgm$/);
    await rejectsWith(loadDaemonConfig([], { GOSSIP_LEARN_LOG_LEVEL: 'loud' }), 'bad-value', /^GOSSIP_LEARN_LOG_LEVEL: 'loud' is not one of fatal \| error \| warn \| info \| debug \| trace \| silent$/);
    await rejectsWith(loadDaemonConfig(['--node-index', '2', '--num-nodes', '2'], {}), 'bad-value', /node-index must be smaller than num-nodes/);
    await rejectsWith(loadDaemonConfig(['--exchange-interval', 'soon'], {}), 'bad-value', /--exchange-interval: not a duration/);
    await rejectsWith(loadDaemonConfig(['--swarm', 'a b'], {}), 'bad-value', /^--swarm: swarm must be/);
    await rejectsWith(loadDaemonConfig([], { GOSSIP_LEARN_METRICS_PORT: 'abc' }), 'bad-value', /^GOSSIP_LEARN_METRICS_PORT: not an integer/);
    await rejectsWith(loadDaemonConfig(['--config', join(dir, 'missing.yaml')], {}), 'bad-file', new RegExp(`^config file ${join(dir, 'missing.yaml')}: file not found$`));
    await rejectsWith(loadDaemonConfig(['--config', dir], {}), 'bad-file', new RegExp(`^config file ${dir}: a directory, not a file$`));
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ swarm: 'x', colour: 'red' }));
    await rejectsWith(
      loadDaemonConfig(['--config', bad], {}),
      'bad-file',
      new RegExp(`^config file ${bad}: unknown key 'colour'; keys are the flag names, as state-dir or stateDir; \`gossip-learn daemon --help\` lists the options$`),
    );
    const typo = join(dir, 'typo.yaml');
    await writeFile(typo, 'metrics-prot: 0\n');
    await rejectsWith(
      loadDaemonConfig(['--config', typo], {}),
      'bad-file',
      new RegExp(`^config file ${typo}: unknown key 'metrics-prot' \\(did you mean metrics-port\\?\\); keys are the flag names`),
    );
    const twice = join(dir, 'twice.yaml');
    await writeFile(twice, 'state-dir: a\nstateDir: b\n');
    await rejectsWith(loadDaemonConfig(['--config', twice], {}), 'bad-file', new RegExp(`^config file ${twice} sets state-dir twice \\(as 'state-dir' and 'stateDir'\\); keep one$`));
    const badDuration = join(dir, 'duration.yaml');
    await writeFile(badDuration, 'exchange-interval: soon\n');
    await rejectsWith(loadDaemonConfig(['--config', badDuration], {}), 'bad-file', new RegExp(`^config file ${badDuration}: exchange-interval: not a duration: 'soon' \\(use e\\.g\\. 500ms, 5s, 2m\\)$`));
  });

  it('refuses a bare number for a duration under its flag name in a config file, naming the file; takes it as ms under an ...Ms key', async () => {
    const file = join(dir, 'bare.yaml');
    for (const [key, n] of [['exchange-interval', 2], ['read-timeout', 20], ['checkpoint-interval', 60], ['evalInterval', 5]] as const) {
      await writeFile(file, `${key}: ${n}\n`);
      await rejectsWith(
        loadDaemonConfig(['--config', file], {}),
        'bad-file',
        new RegExp(`^config file ${file}: ${key}: '${n}' has no unit: ${n}ms or ${n}s\\? \\(write e\\.g\\. 500ms, 5s, 2m\\)$`),
      );
    }
    const json = join(dir, 'bare.json');
    await writeFile(json, JSON.stringify({ 'exchange-interval': 2 }));
    await rejectsWith(loadDaemonConfig(['--config', json], {}), 'bad-file', new RegExp(`^config file ${json}: exchange-interval: '2' has no unit: 2ms or 2s\\?`));
    await writeFile(file, 'exchangeIntervalMs: 300\nreadTimeoutMs: 20000\n');
    const { config } = await loadDaemonConfig(['--config', file], {});
    assert.deepEqual([config?.exchangeIntervalMs, config?.readTimeoutMs], [300, 20_000]);
  });

  it('refuses an unknown option key (as createNode passes them) with reason unknown-option and the closest key', () => {
    assert.throws(() => validateDaemonConfig({ byteBudget: 1000 }), {
      name: 'ConfigError',
      reason: 'unknown-option',
      message: "unknown option 'byteBudget' (did you mean byteBudgetPerHour?); options are the config keys in camelCase, as the NodeOptions type lists them (byteBudgetPerHour, exchangeIntervalMs, distill: false for --no-distill)",
    });
    assert.throws(() => validateDaemonConfig({ exchangeInterval: 500 }), { reason: 'unknown-option', message: /^unknown option 'exchangeInterval' \(did you mean exchangeIntervalMs\?\); / });
    assert.throws(() => validateDaemonConfig({ colour: 'red' }), { reason: 'unknown-option', message: /^unknown option 'colour'; options are the config keys/ });
  });

  it('takes config file keys as the flags are written (kebab case), in camelCase, or as the option keys', async () => {
    const file = join(dir, 'keys.yaml');
    await writeFile(file, 'state-dir: /tmp/s\nmetricsPort: 0\nexchange-interval: 2s\nannounceInterval: 3s\nevalIntervalMs: 4000\nno-distill: true\nexit-with-parent: true\n');
    const { config } = await loadDaemonConfig(['--config', file], {});
    assert.ok(config);
    assert.deepEqual(
      [config.stateDir, config.metricsPort, config.exchangeIntervalMs, config.announceIntervalMs, config.evalIntervalMs, config.distill, config.exitWithParent],
      ['/tmp/s', 0, 2000, 3000, 4000, false, true],
    );
    await writeFile(file, 'noDistill: false\n');
    assert.equal((await loadDaemonConfig(['--config', file], {})).config?.distill, true);
     // A list option given one value (as the repeatable flag given once): a list of one.
    await writeFile(file, 'listen: /ip4/127.0.0.1/tcp/0\nbootstrap:\n  - /ip4/127.0.0.1/tcp/47800\n');
    const lists = (await loadDaemonConfig(['--config', file], {})).config;
    assert.deepEqual([lists?.listen, lists?.bootstrap], [['/ip4/127.0.0.1/tcp/0'], ['/ip4/127.0.0.1/tcp/47800']]);
  });

  it('answers --version and -v without reading any other input', async () => {
    for (const flag of ['--version', '-v']) {
      const { help, version, config } = await loadDaemonConfig([flag, '--config', join(dir, 'missing.yaml')], {});
      assert.deepEqual({ help, version, config }, { help: false, version: true, config: null });
    }
  });

  it('rejects malformed spec strings before start-up (codec, data, partition, multiaddrs, teacher)', async () => {
    const checked = async (argv: string[]): Promise<void> => {
      const { config } = await loadDaemonConfig(argv, {});
      assert.ok(config);
      checkDaemonSpecs(config);
    };
    await checked(['--codec', 'topk:0.01+q4+deflate', '--data', 'csv:x.csv', '--partition', 'shards:2', '--num-nodes', '2',
      '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', '/ip4/127.0.0.1/tcp/47800', '--teacher', '/ip4/127.0.0.1/tcp/47800']);
    await rejectsWith(checked(['--codec', 'nope']), 'bad-value', /^--codec: codec spec "nope": unknown stage "nope"; a spec is \[topk:FRACTION\|COUNT \+\] f32 \| f16 \| q8 \| q4 \| q2 \| q1\[:BLOCK\] \[\+ deflate \| brotli\], e\.g\. q8\+deflate or topk:0\.01\+q4\+deflate$/);
    await rejectsWith(checked(['--data', 'imagenet']), 'bad-value', /^--data: unknown data spec 'imagenet'/);
    await rejectsWith(checked(['--partition', 'dirichlet']), 'bad-value', /^--partition: /);
    await rejectsWith(checked(['--listen', 'tcp/1']), 'bad-value', /^--listen: /);
    await rejectsWith(checked(['--bootstrap', '/ip4/1.2.3']), 'bad-value', /^--bootstrap: /);
    await rejectsWith(checked(['--teacher', 'x']), 'bad-value', /^--teacher: 'x' is neither a multiaddr nor a peer id; write a peer id \(12D3KooW\.\.\.\) or its multiaddr \(\/ip4\/127\.0\.0\.1\/tcp\/47800\/p2p\/12D3KooW\.\.\.\)$/);
    await rejectsWith(checked(['--allow-peer', 'foo']), 'bad-value', /^--allow-peer: 'foo' is not a peer id \(expected a base58 id like 12D3KooW\.\.\.\)$/);
  });

  it('takes --parent-pid (a launcher\'s pid, 2 or more), none by default', async () => {
    assert.equal((await loadDaemonConfig([], {})).config?.parentPid, null);
    assert.equal((await loadDaemonConfig(['--parent-pid', '4242'], {})).config?.parentPid, 4242);
    await rejectsWith(loadDaemonConfig(['--parent-pid', '1'], {}), 'bad-value', /^--parent-pid: 1 is not a launcher's pid \(2 or more\)$/);
    await rejectsWith(loadDaemonConfig(['--parent-pid', 'me'], {}), 'bad-value', /^--parent-pid: not an integer: 'me'$/);
  });

  it('names the environment variable or the config file key that gave a bad value, the flag only for a flag', async () => {
    const loadedAndChecked = async (argv: string[], env: NodeJS.ProcessEnv): Promise<void> => {
      const { config, nameOf } = await loadDaemonConfig(argv, env);
      assert.ok(config);
      checkDaemonSpecs(config, nameOf);
    };
    const exact = async (p: Promise<unknown>, message: string): Promise<void> => {
      await assert.rejects(p, (err: unknown) => err instanceof ConfigError && err.reason === 'bad-value' && err.message === message);
    };
    await exact(loadedAndChecked([], { GOSSIP_LEARN_CPU_WATTS: '-1' }), 'GOSSIP_LEARN_CPU_WATTS: must be more than 0 (got -1)');
    await exact(loadedAndChecked(['--cpu-watts=-1'], { GOSSIP_LEARN_CPU_WATTS: '5' }), '--cpu-watts: must be more than 0 (got -1)');
    // The flag wins over a bad variable, which is then never looked at.
    assert.equal((await loadDaemonConfig(['--cpu-watts', '5'], { GOSSIP_LEARN_CPU_WATTS: '-1' })).config?.cpuWatts, 5);
    await exact(loadedAndChecked([], { GOSSIP_LEARN_EXCHANGE_INTERVAL: '10ms' }), 'GOSSIP_LEARN_EXCHANGE_INTERVAL: 10ms is below the floor of 50ms');
    await exact(loadedAndChecked([], { GOSSIP_LEARN_METRICS_PORT: '70000' }), 'GOSSIP_LEARN_METRICS_PORT: must be at most 65535 (got 70000)');
    await exact(
      loadedAndChecked([], { GOSSIP_LEARN_METRICS_HOST: '0.0.0.0' }),
      'GOSSIP_LEARN_METRICS_HOST: a metrics host other than loopback needs --metrics-token TOKEN (or GOSSIP_LEARN_METRICS_TOKEN): /metrics would be open to the network',
    );
    // Spec strings checked after loading (checkDaemonSpecs) too.
    await exact(loadedAndChecked([], { GOSSIP_LEARN_PARTITION: 'shards' }), "GOSSIP_LEARN_PARTITION: " + (await specMessage(['--partition', 'shards'])).replace(/^--partition: /, ''));
    await exact(loadedAndChecked([], { GOSSIP_LEARN_LISTEN: '/ip4/1.2.3.4' }), "GOSSIP_LEARN_LISTEN: '/ip4/1.2.3.4' has no TCP port, the only transport (write e.g. /ip4/1.2.3.4/tcp/47800)");
    await exact(loadedAndChecked([], { GOSSIP_LEARN_CODEC: 'q9' }), `GOSSIP_LEARN_CODEC: codec spec "q9": unknown stage "q9"; a spec is ${CODEC_SPEC_SYNTAX}`);
    const file = join(dir, 'bad-watts.yaml');
    await writeFile(file, 'cpu-watts: -2\ncodec: q9\n');
    await exact(loadedAndChecked(['--config', file], {}), `config file ${file}: cpu-watts: must be more than 0 (got -2)`);
    await exact(loadedAndChecked(['--config', file, '--cpu-watts', '3'], {}), `config file ${file}: codec: codec spec "q9": unknown stage "q9"; a spec is ${CODEC_SPEC_SYNTAX}`);
  });

  it('takes the data schema flags (--classes, --csv-delimiter, --normalization, --test-data) and refuses bad ones in one line', async () => {
    const { config } = await loadDaemonConfig(['--classes', 'cat,dog', '--classes', 'fish', '--csv-delimiter', 'tab', '--normalization', 'stats.json', '--test-data', 'csv:t.csv'], {});
    assert.deepEqual(config?.classes, ['cat', 'dog', 'fish']);
    assert.equal(config?.csvDelimiter, 'tab');
    assert.equal(config?.normalization, 'stats.json');
    assert.equal(config?.testData, 'csv:t.csv');
    assert.equal((await loadDaemonConfig([], { GOSSIP_LEARN_CLASSES: 'a,b' })).config?.classes?.join(), 'a,b');
    assert.equal((await loadDaemonConfig([], {})).config?.classes, null);
    await rejectsWith(loadDaemonConfig(['--classes', 'cat,cat'], {}), 'bad-value', /^--classes: a class is named twice$/);
    await rejectsWith(loadDaemonConfig(['--classes', 'cat'], {}), 'bad-value', /^--classes: name at least 2 classes, in index order$/);
    const checked = async (argv: string[]): Promise<void> => {
      const { config: c } = await loadDaemonConfig(argv, {});
      checkDaemonSpecs(c!);
    };
    await rejectsWith(checked(['--csv-delimiter', ';;']), 'bad-value', /^--csv-delimiter: ';;' is not one character \(e\.g\. ',' or ';' or tab\)$/);
    await rejectsWith(checked(['--test-data', 'imagenet']), 'bad-value', /^--test-data: unknown data spec 'imagenet'/);
    assert.equal((await loadDaemonConfig(['--model', 'my-model/model.json'], {})).config?.model, 'my-model/model.json');
    await rejectsWith(loadDaemonConfig(['--model', 'resnet'], {}), 'bad-value', /^--model: 'resnet' is neither a registry model \(mlp \| mlp-small \| cnn\) nor a tfjs model file ending in \.json$/);
  });

  it('takes --aggregator from the registry, the default when unset, and names the closest one for a typo', async () => {
    assert.equal((await loadDaemonConfig([], {})).config?.aggregator, DEFAULT_AGGREGATOR);
    const { config } = await loadDaemonConfig(['--aggregator', 'median'], {});
    assert.equal(config?.aggregator, 'median');
    checkDaemonSpecs(config!);
    assert.equal((await loadDaemonConfig([], { GOSSIP_LEARN_AGGREGATOR: 'trimmed-mean' })).config?.aggregator, 'trimmed-mean');
    const typo = (await loadDaemonConfig(['--aggregator', 'medain'], {})).config!;
    assert.throws(() => checkDaemonSpecs(typo), {
      name: 'ConfigError',
      reason: 'bad-value',
      message: `--aggregator: unknown aggregator 'medain' (did you mean median?); known: ${AGGREGATOR_NAMES.join(', ')}`,
    });
    const abbreviated = (await loadDaemonConfig(['--aggregator', 'avg'], {})).config!;
    assert.throws(() => checkDaemonSpecs(abbreviated), {
      name: 'ConfigError',
      reason: 'bad-value',
      message: `--aggregator: unknown aggregator 'avg' (did you mean average?); known: ${AGGREGATOR_NAMES.join(', ')}`,
    });
  });
});
