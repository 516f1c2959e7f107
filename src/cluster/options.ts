/**
 * Command-line options of `npm run cluster`, parsed and validated into a
 * ClusterConfig. The flag names --nodes, --duration, --data, --partition,
 * --model, --codec, --seed, --late-join, --churn and --out are a contract
 * (issue 9); the rest may change.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describeArgsError } from '../common/arg-errors.ts';
import { daemonFlagError } from './daemon-flag-hint.ts';
import { DEFAULT_PACING } from '../core/pacing.ts';
import { checkCodecSpec, DEFAULT_CODEC_SPEC } from '../protocol/codec/index.ts';
import { checkDataSpec, DATA_SPEC_HELP } from '../train/dataset.ts';
import { checkModelSpec, MIN_EXCHANGE_INTERVAL_MS, parseDurationMs } from '../node/config.ts';
import { AGGREGATOR_NAMES, checkAggregatorName, DEFAULT_AGGREGATOR } from '../train/aggregators/index.ts';
import { parsePartitionSpec } from '../train/partition.ts';
import { MAX_BASELINE_SAMPLES } from './baselines.ts';
import { ClusterError } from './errors.ts';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'none';

export interface ClusterConfig {
  /** Total daemons, late joiners included. */
  nodes: number;
  durationSeconds: number;
  data: string;
  partition: string;
  model: string;
  /** Codec spec passed to every daemon; null leaves the daemon's default. */
  codec: string | null;
  /** Aggregator passed to every daemon as --aggregator (registry name, src/train/aggregators). */
  aggregator: string;
  seed: number;
  /** How many of the `nodes` start late (the last ones by index). */
  lateJoin: number;
  lateJoinDelaySeconds: number;
  /** Seconds between two kill -9 of a random node; 0 = no churn. */
  churnSeconds: number;
  /** How long a killed node stays down before it restarts from its state dir. */
  churnDowntimeSeconds: number;
  /** No kill in the last this many seconds of the run (the soak, src/cluster/soak.ts); absent or 0: churn until the end. */
  churnQuietSeconds?: number;
  outDir: string;
  swarm: string;
  /** Passed as --exchange-interval, in ms (the flag takes a unit: 500ms, 3s). */
  exchangeIntervalMs: number;
  /** Passed as --duty-cycle (0..1]: the share of wall time a daemon may train. */
  dutyCycle: number;
  /** Passed as --steps-per-interval: local steps per 500 ms training window (the training pace). */
  stepsPerInterval: number;
  backend: string | null;
  pollIntervalMs: number;
  progress: ProgressMode;
  /** Seconds between two plain progress blocks (non-TTY). */
  progressEverySeconds: number;
  startTimeoutSeconds: number;
  stopTimeoutSeconds: number;
  /** Extra daemon flags, passed verbatim to every daemon (e.g. --daemon-arg=--log-level=debug). */
  daemonArgs: string[];
  /** Write report.html and SVGs (results.json is always written). */
  report: boolean;
  /** After the run, train the centralized and local-only baselines in-process (src/cluster/baselines.ts). Absent in older results.json files. */
  baselines?: boolean;
  /** The CLI file spawned as `node <cli> daemon …`; null = this repository's bin/gossip-learn.js. */
  cli: string | null;
  /** Port of the live swarm page on 127.0.0.1 (0 = a free port, printed); absent in older results.json files: 0. */
  dashboardPort?: number;
}

// Pacing: the gossip core's defaults (src/core/pacing.ts), the same a daemon
// started by hand and the simulator use, so a cluster run shows what a swarm of
// default daemons does. 5 wasm daemons each training at most half of the time
// at 10 steps/s is about one core of training in all on a 2-core machine.
export const DEFAULT_NODES = 5;
export const DEFAULT_DURATION_SECONDS = 120;
export const DEFAULT_POLL_INTERVAL_MS = 2000;
export const MIN_POLL_INTERVAL_MS = 100;
/**
 * Shortest --churn (and soak --kill-every) accepted: a daemon needs about a
 * second to come back from its state dir (tfjs backend, data, libp2p), so
 * kills more often than that would leave no node up, and a typo such as
 * `1ms` for `1m` would only kill processes.
 */
export const MIN_CHURN_INTERVAL_MS = 1000;
export const DEFAULT_DUTY_CYCLE = DEFAULT_PACING.dutyCycle;
export const DEFAULT_STEPS_PER_INTERVAL = DEFAULT_PACING.stepsPerInterval;
export const DEFAULT_EXCHANGE_INTERVAL_MS = DEFAULT_PACING.intervalMs;
export const MAX_NODES = 64;

/** A default duration as people write it: 120s, 500ms, 2.5s. */
const shown = (ms: number): string => (ms % 1000 === 0 || ms >= 10_000 ? `${ms / 1000}s` : `${ms}ms`);

export const clusterHelp = `Usage: npm run cluster -- [options]

Start a swarm of gossip-learn daemons on 127.0.0.1 (real processes, real TCP),
show how they learn, stop them, and write results.json + report.html.

Options:
  --nodes N                 daemons in all, late joiners included (default: ${DEFAULT_NODES})
  --duration TIME           how long to run after the first nodes are up (default: ${DEFAULT_DURATION_SECONDS}s)
  --data SPEC               ${DATA_SPEC_HELP} (default: mnist;
                            --classes, --normalization, --test-data go to the daemons as --daemon-arg,
                            and the baselines read the data as the daemons do)
  --partition SPEC          iid | dirichlet:<alpha> | shards:<k> (default: dirichlet:0.3)
  --model NAME              mlp | mlp-small | cnn, or PATH/model.json (a tfjs LayersModel; the baselines
                            then are skipped: they train registry models only) (default: mlp)
  --codec SPEC              update codec, e.g. topk:0.01+q4+deflate (default: the daemon's, ${DEFAULT_CODEC_SPEC})
  --aggregator NAME         merge rule of every daemon: ${AGGREGATOR_NAMES.join(' | ')} (default: ${DEFAULT_AGGREGATOR})
  --seed N                  seed for partitions, models and churn (default: 1)
  --late-join N             the last N nodes start late and join a trained swarm (default: 1)
  --late-join-delay TIME    when late joiners start (default: 40% of --duration)
  --churn TIME              kill -9 a random node this often and restart it, at least ${shown(MIN_CHURN_INTERVAL_MS)} (default: 0 = off)
  --churn-downtime TIME     how long a killed node stays down (default: 3s)
  --out DIR                 output directory (default: runs/cluster-<time>)
  --swarm NAME              swarm id (default: cluster-<seed>)
  --exchange-interval TIME  tick of each daemon's exchange timer: at most one exchange started per tick, after
                            the daemon's --local-steps-per-exchange local steps (default: ${shown(DEFAULT_EXCHANGE_INTERVAL_MS)})
  --steps-per-interval N    training pace: local steps per 500 ms training window (default: ${DEFAULT_STEPS_PER_INTERVAL})
  --duty-cycle F            share of time each daemon may train, 0..1 (default: ${DEFAULT_DUTY_CYCLE})
  --backend NAME            tensorflow | wasm | cpu (default: the daemon's choice)
  --poll-interval TIME      how often the launcher reads each /metrics, at least ${MIN_POLL_INTERVAL_MS}ms (default: ${shown(DEFAULT_POLL_INTERVAL_MS)})
  --dashboard-port PORT     port of the live swarm page on 127.0.0.1, printed at start (default: 0 = a free port)
  --progress MODE           auto | tty | plain | none (default: auto)
  --progress-every TIME     time between plain progress blocks (default: 10s)
  --start-timeout TIME      how long a daemon may take to become ready (default: 120s)
  --stop-timeout TIME       how long a daemon may take to stop before SIGKILL (default: 20s)
  --daemon-arg ARG          extra flag for every daemon, repeatable (e.g. --daemon-arg=--log-level=debug)
  --no-report               write results.json only
  --no-baselines            skip the yardstick: after the daemons stop, one model on all
                            the data (centralized) and each node alone (local-only) train
                            in this process with the daemons' data, partition, model, seed,
                            optimizer, learning rate, batch size and mean samples per node
                            (at most ${MAX_BASELINE_SAMPLES.toLocaleString('en-US')} samples per baseline). Cost: about 20 s after
                            the default 2-minute run on 2 cores, at most ~40 s for the mlp
                            however long the run (cnn several times that); Ctrl-C skips them
  --report-only DIR         no run: re-render DIR/report.html from DIR/results.json, also
                            of a run whose launcher died (computes the baselines if missing;
                            takes only --no-baselines)
  --cli PATH                gossip-learn CLI file to run daemons from (default: this checkout's bin/gossip-learn.js)
  -h, --help                show this help

TIME is written as the daemon takes it: 500ms, 30s, 2m (also 1.5s). The flags
that took seconds before units were accepted (--duration, --late-join-delay,
--churn, --churn-downtime, --progress-every, --start-timeout, --stop-timeout)
still read a bare number as seconds (--duration 120); --exchange-interval and
--poll-interval, which took milliseconds, refuse a bare number: write 500ms or 3s.
`;

function parseNumber(flag: string, raw: string | undefined, fallback: number, check: (n: number) => boolean, expect: string): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || !check(value)) {
    throw new ClusterError('bad-option', `--${flag} must be ${expect} (got '${raw}')`);
  }
  return value;
}

const isInt = (min: number, max = Number.MAX_SAFE_INTEGER) => (n: number) => Number.isInteger(n) && n >= min && n <= max;
const isNonNegative = (n: number) => n >= 0;
const isPositive = (n: number) => n > 0;

/** How a duration flag reads a number without a unit. */
type BareNumber =
  | 'seconds' // documented in seconds before units were accepted (--duration 120): kept
  | 'refuse'; // was milliseconds in the cluster while people write 3s: '3' reads two ways, so it needs a unit

const BARE_NUMBER = /^\d+(?:\.\d+)?$/;

/**
 * A duration flag, in ms: `500ms`, `30s`, `2m` through the daemon's parser
 * (src/node/config.ts parseDurationMs), a bare number as `bare` says (0 is
 * 0 in any unit). Throws ClusterError('bad-option') naming the flag, with a
 * hint for a bare number that needs a unit.
 */
function parseDuration(flag: string, raw: string | undefined, fallbackMs: number, bare: BareNumber, check: (ms: number) => boolean, expect: string): number {
  if (raw === undefined) return fallbackMs;
  const text = raw.trim();
  let ms: number;
  if (BARE_NUMBER.test(text) && Number(text) !== 0) {
    if (bare === 'refuse') {
      throw new ClusterError('bad-option', `--${flag} '${raw}' has no unit: ${text}ms or ${text}s? (write e.g. --${flag} 500ms or --${flag} 3s)`);
    }
    ms = Math.round(Number(text) * 1000);
  } else {
    try {
      ms = parseDurationMs(text);
    } catch {
      throw new ClusterError('bad-option', `--${flag} must be a duration such as 500ms, 30s or 2m (got '${raw}')`);
    }
  }
  if (!check(ms)) throw new ClusterError('bad-option', `--${flag} must be ${expect} (got '${raw}')`);
  return ms;
}

/** The same in seconds, for the config fields that keep seconds. */
const durationSecondsOf = (...args: Parameters<typeof parseDuration>): number => parseDuration(...args) / 1000;

function nonEmpty(flag: string, raw: string | undefined, fallback: string): string {
  if (raw === undefined) return fallback;
  if (raw.trim() === '') throw new ClusterError('bad-option', `--${flag} must not be empty`);
  return raw;
}

/** A spec string checked by the parser the daemons will use, so a typo fails here (exit 2), not in every daemon's log. */
function spec(flag: string, raw: string | undefined, fallback: string, check: (value: string) => void): string {
  const value = nonEmpty(flag, raw, fallback);
  try {
    check(value);
  } catch (err) {
    throw new ClusterError('bad-option', `--${flag}: ${(err as Error).message}`);
  }
  return value;
}

function timestampForPath(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

/** What `npm run cluster` was asked to do. */
export type ClusterCommand =
  | { kind: 'help' }
  | { kind: 'run'; config: ClusterConfig }
  /** Re-render `dir`'s report from its results.json; `baselines`: compute them when results.json has none. */
  | { kind: 'report'; dir: string; baselines: boolean };

/** Flags --report-only goes with; every other one configures a run. */
const REPORT_ONLY_FLAGS = new Set(['report-only', 'no-baselines']);

/** The cluster's flags (node:util parseArgs). */
const CLUSTER_OPTIONS = {
  nodes: { type: 'string' },
  duration: { type: 'string' },
  data: { type: 'string' },
  partition: { type: 'string' },
  model: { type: 'string' },
  codec: { type: 'string' },
  aggregator: { type: 'string' },
  seed: { type: 'string' },
  'late-join': { type: 'string' },
  'late-join-delay': { type: 'string' },
  churn: { type: 'string' },
  'churn-downtime': { type: 'string' },
  out: { type: 'string' },
  swarm: { type: 'string' },
  'exchange-interval': { type: 'string' },
  'duty-cycle': { type: 'string' },
  'steps-per-interval': { type: 'string' },
  backend: { type: 'string' },
  'poll-interval': { type: 'string' },
  'dashboard-port': { type: 'string' },
  progress: { type: 'string' },
  'progress-every': { type: 'string' },
  'start-timeout': { type: 'string' },
  'stop-timeout': { type: 'string' },
  'daemon-arg': { type: 'string', multiple: true },
  'no-report': { type: 'boolean' },
  'no-baselines': { type: 'boolean' },
  'report-only': { type: 'string' },
  cli: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Parses argv (the arguments after `cluster`) for a run; returns null when --help was asked. Throws ClusterError('bad-option'), also for --report-only. */
export function parseClusterArgs(argv: string[], now: Date = new Date()): ClusterConfig | null {
  const command = parseClusterCommand(argv, now);
  if (command.kind === 'report') throw new ClusterError('bad-option', '--report-only is not a run option');
  return command.kind === 'help' ? null : command.config;
}

/** Parses argv (the arguments after `cluster`) into a run, a re-render or help. Throws ClusterError('bad-option') naming the flag. */
export function parseClusterCommand(argv: string[], now: Date = new Date()): ClusterCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: CLUSTER_OPTIONS,
    });
  } catch (err) {
    const option = (err as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? (/'([^']*)'/.exec((err as Error).message)?.[1] ?? '') : '';
    const daemonFlag = option === '' ? null : daemonFlagError(argv, option, Object.keys(CLUSTER_OPTIONS), '`npm run cluster -- --help` lists the options');
    throw new ClusterError('bad-option', daemonFlag ?? describeArgsError(err, Object.keys(CLUSTER_OPTIONS), '`npm run cluster -- --help` lists the options'));
  }
  const v = parsed.values;
  if (v.help) return { kind: 'help' };
  if (v['report-only'] !== undefined) {
    const others = Object.keys(v).filter((flag) => !REPORT_ONLY_FLAGS.has(flag));
    if (others.length > 0) {
      throw new ClusterError('bad-option', `--report-only takes only --no-baselines (got --${others.join(', --')}): the run's settings come from its results.json`);
    }
    return { kind: 'report', dir: nonEmpty('report-only', v['report-only'], ''), baselines: !v['no-baselines'] };
  }

  const nodes = parseNumber('nodes', v.nodes, DEFAULT_NODES, isInt(1, MAX_NODES), `an integer from 1 to ${MAX_NODES}`);
  const durationSeconds = durationSecondsOf('duration', v.duration, DEFAULT_DURATION_SECONDS * 1000, 'seconds', isPositive, 'a positive duration');
  const seed = parseNumber('seed', v.seed, 1, isInt(0, 2 ** 31 - 1), 'an integer from 0 to 2^31-1');
  const lateJoin = parseNumber('late-join', v['late-join'], Math.min(1, nodes - 1), isInt(0), 'a non-negative integer');
  if (lateJoin >= nodes) {
    throw new ClusterError('bad-option', `--late-join must be smaller than --nodes (${lateJoin} >= ${nodes}): at least one node starts first`);
  }
  const lateJoinDelaySeconds = durationSecondsOf(
    'late-join-delay',
    v['late-join-delay'],
    Math.round(durationSeconds * 0.4 * 10) * 100,
    'seconds',
    isNonNegative,
    'a duration (0 or more)',
  );
  const churnSeconds = durationSecondsOf('churn', v.churn, 0, 'seconds', (ms) => ms === 0 || ms >= MIN_CHURN_INTERVAL_MS, `0 (off) or at least the floor of ${shown(MIN_CHURN_INTERVAL_MS)}`);
  const churnDowntimeSeconds = durationSecondsOf('churn-downtime', v['churn-downtime'], 3000, 'seconds', isNonNegative, 'a duration (0 or more)');
  const exchangeIntervalMs = parseDuration('exchange-interval', v['exchange-interval'], DEFAULT_EXCHANGE_INTERVAL_MS, 'refuse', isInt(MIN_EXCHANGE_INTERVAL_MS), `at least the daemon's floor of ${MIN_EXCHANGE_INTERVAL_MS}ms`);
  const stepsPerInterval = parseNumber('steps-per-interval', v['steps-per-interval'], DEFAULT_STEPS_PER_INTERVAL, isInt(0), 'a non-negative integer');
  const dutyCycle = parseNumber('duty-cycle', v['duty-cycle'], DEFAULT_DUTY_CYCLE, (n) => n > 0 && n <= 1, 'a number in (0, 1]');
  const pollIntervalMs = parseDuration('poll-interval', v['poll-interval'], DEFAULT_POLL_INTERVAL_MS, 'refuse', isInt(MIN_POLL_INTERVAL_MS), `at least ${MIN_POLL_INTERVAL_MS}ms`);
  const dashboardPort = parseNumber('dashboard-port', v['dashboard-port'], 0, isInt(0, 65535), 'a port from 0 to 65535 (0 = a free port)');
  const progressEverySeconds = durationSecondsOf('progress-every', v['progress-every'], 10_000, 'seconds', isPositive, 'a positive duration');
  const startTimeoutSeconds = durationSecondsOf('start-timeout', v['start-timeout'], 120_000, 'seconds', isPositive, 'a positive duration');
  const stopTimeoutSeconds = durationSecondsOf('stop-timeout', v['stop-timeout'], 20_000, 'seconds', isPositive, 'a positive duration');

  const progress = (v.progress ?? 'auto') as ProgressMode;
  if (!['auto', 'tty', 'plain', 'none'].includes(progress)) {
    throw new ClusterError('bad-option', `--progress must be auto, tty, plain or none (got '${v.progress}')`);
  }

  const config: ClusterConfig = {
    nodes,
    durationSeconds,
    data: spec('data', v.data, 'mnist', checkDataSpec),
    partition: spec('partition', v.partition, 'dirichlet:0.3', parsePartitionSpec),
    model: spec('model', v.model, 'mlp', checkModelSpec),
    codec:
      v.codec === undefined
        ? null
        : spec('codec', v.codec, '', checkCodecSpec),
    aggregator: spec('aggregator', v.aggregator, DEFAULT_AGGREGATOR, checkAggregatorName),
    seed,
    lateJoin,
    lateJoinDelaySeconds,
    churnSeconds,
    churnDowntimeSeconds,
    outDir: nonEmpty('out', v.out, `runs/cluster-${timestampForPath(now)}`),
    swarm: nonEmpty('swarm', v.swarm, `cluster-${seed}`),
    exchangeIntervalMs,
    dutyCycle,
    stepsPerInterval,
    backend: v.backend === undefined ? null : nonEmpty('backend', v.backend, ''),
    pollIntervalMs,
    progress,
    progressEverySeconds,
    startTimeoutSeconds,
    stopTimeoutSeconds,
    daemonArgs: v['daemon-arg'] ?? [],
    report: !v['no-report'],
    baselines: !v['no-baselines'],
    cli: v.cli === undefined ? null : nonEmpty('cli', v.cli, ''),
    dashboardPort,
  };
  return { kind: 'run', config };
}
