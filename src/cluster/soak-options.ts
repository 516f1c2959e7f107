/**
 * Command-line options of `npm run soak` (src/cluster/soak.ts), parsed and
 * validated into a SoakConfig. Durations take a unit (`30s`, `10m`); a bare
 * number is refused with a hint, as for the daemon (src/node/config.ts
 * parseDurationMs).
 *
 *   const command = parseSoakCommand(['--duration', '60s', '--kill-every', '15s']);
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describeArgsError } from '../common/arg-errors.ts';
import { daemonFlagError } from './daemon-flag-hint.ts';
import { parseDurationMs } from '../node/config.ts';
import { checkDataSpec, DATA_SPEC_HELP } from '../train/dataset.ts';
import { parsePartitionSpec } from '../train/partition.ts';
import { ClusterError } from './errors.ts';
import { MAX_NODES, MIN_CHURN_INTERVAL_MS } from './options.ts';

export interface SoakConfig {
  /** Length of each run once its nodes are up, in seconds. */
  durationSeconds: number;
  nodes: number;
  /** Seconds between two kill -9 of a random live node of the churn run. */
  killEverySeconds: number;
  /** How long a killed node stays down before it restarts on the same state dir, seconds. */
  downtimeSeconds: number;
  /** No kill in the last this many seconds, so the last node killed can come back and rejoin. */
  settleSeconds: number;
  /** Also run the same swarm without churn, side by side, and compare final mean accuracy. */
  steady: boolean;
  /** With `steady`: the churn run's final mean accuracy may be at most this much (0..1) below the steady run's. */
  maxAccuracyDrop: number;
  /** The churn run's final mean accuracy must reach this (0..1); 0 = no floor. */
  minAccuracy: number;
  data: string;
  partition: string;
  model: string;
  seed: number;
  outDir: string;
  /** Write the report as JSON here (null: not at all). */
  jsonPath: string | null;
  /** Extra flags for every daemon (as the cluster's --daemon-arg). */
  daemonArgs: string[];
  /** The CLI file the daemons run from (null: this checkout's bin/gossip-learn.js). */
  cli: string | null;
  /** Print the cluster's plain progress blocks. */
  verbose: boolean;
}

export const DEFAULT_SOAK_DURATION_MS = 10 * 60_000;
export const DEFAULT_SOAK_NODES = 5;
export const DEFAULT_KILL_EVERY_MS = 30_000;
export const DEFAULT_DOWNTIME_MS = 3000;
export const DEFAULT_SETTLE_MS = 60_000;
/** The target: churn costs at most 3 points of final mean accuracy. */
export const DEFAULT_MAX_ACCURACY_DROP = 0.03;

export const soakHelp = `Usage: npm run soak -- [options]

Churn soak: N real gossip-learn daemons on 127.0.0.1; every --kill-every one
of them, at random, is killed with SIGKILL and restarted on its state dir after
--downtime. Beside it (unless --no-steady) the same swarm runs without churn.
Checks, each of which fails the run (exit 1): every checkpoint ever found on
disk loads; every restarted node merges exchanges again; no daemon exits
unless killed on purpose, and each stops with exit code 0; no log line says
unhandled or uncaught; no temp file is left in a state dir; the churn run's
final mean accuracy is at most --max-accuracy-drop below the steady run's
(and at least --min-accuracy).

Options:
  --duration TIME           length of each run once its nodes are up (default: 10m)
  --nodes N                 daemons per run, 2 to ${MAX_NODES} (default: ${DEFAULT_SOAK_NODES})
  --kill-every TIME         time between two kill -9, at least ${MIN_CHURN_INTERVAL_MS / 1000}s (default: 30s)
  --downtime TIME           how long a killed node stays down (default: 3s)
  --settle TIME             no kill in the last TIME of the run (default: 60s, at most half of --duration)
  --no-steady               skip the run without churn (no accuracy comparison)
  --max-accuracy-drop X     allowed drop of final mean accuracy vs the steady run, 0..1 (default: ${DEFAULT_MAX_ACCURACY_DROP})
  --min-accuracy X          the churn run's final mean accuracy must reach X, 0..1 (default: 0 = no floor)
  --data SPEC               ${DATA_SPEC_HELP} (default: mnist)
  --partition SPEC          iid | dirichlet:<alpha> | shards:<k> (default: iid)
  --model NAME              mlp | mlp-small | cnn (default: mlp)
  --seed N                  seed of partitions, models and kills (default: 1)
  --out DIR                 output directory (default: runs/soak-<time>)
  --json FILE               write the report as JSON
  --daemon-arg ARG          extra flag for every daemon, repeatable (e.g. --daemon-arg=--eval-interval=2s)
  --cli PATH                gossip-learn CLI file to run daemons from (default: this checkout's)
  --verbose                 print the clusters' progress blocks
  -h, --help                show this help

TIME: 500ms, 30s, 10m; a bare number is refused (30 -> 30ms or 30s?).
`;

const SOAK_OPTIONS = {
  duration: { type: 'string' },
  nodes: { type: 'string' },
  'kill-every': { type: 'string' },
  downtime: { type: 'string' },
  settle: { type: 'string' },
  'no-steady': { type: 'boolean' },
  'max-accuracy-drop': { type: 'string' },
  'min-accuracy': { type: 'string' },
  data: { type: 'string' },
  partition: { type: 'string' },
  model: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'string' },
  'daemon-arg': { type: 'string', multiple: true },
  cli: { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const bad = (message: string): never => {
  throw new ClusterError('bad-option', message);
};

function duration(flag: string, raw: string | undefined, fallbackMs: number, minMs: number): number {
  if (raw === undefined) return fallbackMs;
  let ms = 0;
  try {
    ms = parseDurationMs(raw);
  } catch (err) {
    bad(`--${flag}: ${(err as Error).message}`);
  }
  if (ms < minMs) bad(`--${flag} must be at least ${minMs} ms (got '${raw}')`);
  return ms;
}

function fraction(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) bad(`--${flag} must be a number from 0 to 1 (got '${raw}')`);
  return value;
}

function integer(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) bad(`--${flag} must be an integer from ${min} to ${max} (got '${raw}')`);
  return value;
}

function checked(flag: string, raw: string | undefined, fallback: string, check: (value: string) => unknown): string {
  const value = raw ?? fallback;
  try {
    check(value);
  } catch (err) {
    bad(`--${flag}: ${(err as Error).message}`);
  }
  return value;
}

export type SoakCommand = { kind: 'help' } | { kind: 'run'; config: SoakConfig };

/** Parses the arguments after `npm run soak --`. Throws ClusterError('bad-option') naming the flag. */
export function parseSoakCommand(argv: string[], now: Date = new Date()): SoakCommand {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, strict: true, allowPositionals: false, options: SOAK_OPTIONS });
  } catch (err) {
    const option = (err as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? (/'([^']*)'/.exec((err as Error).message)?.[1] ?? '') : '';
    const daemonFlag = option === '' ? null : daemonFlagError(argv, option, Object.keys(SOAK_OPTIONS), '`npm run soak -- --help` lists the options');
    throw new ClusterError('bad-option', daemonFlag ?? describeArgsError(err, Object.keys(SOAK_OPTIONS), '`npm run soak -- --help` lists the options'));
  }
  const v = parsed.values;
  if (v.help) return { kind: 'help' };
  const durationMs = duration('duration', v.duration, DEFAULT_SOAK_DURATION_MS, 1000);
  const killEveryMs = duration('kill-every', v['kill-every'], DEFAULT_KILL_EVERY_MS, MIN_CHURN_INTERVAL_MS);
  const settleMs = duration('settle', v.settle, Math.min(DEFAULT_SETTLE_MS, Math.floor(durationMs / 2)), 0);
  if (settleMs > durationMs / 2) bad(`--settle must be at most half of --duration (${settleMs} ms > ${durationMs / 2} ms)`);
  if (killEveryMs > durationMs - settleMs) bad(`--kill-every (${killEveryMs} ms) leaves no kill before the last --settle (${settleMs} ms) of a ${durationMs} ms run`);
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return {
    kind: 'run',
    config: {
      durationSeconds: durationMs / 1000,
      nodes: integer('nodes', v.nodes, DEFAULT_SOAK_NODES, 2, MAX_NODES),
      killEverySeconds: killEveryMs / 1000,
      downtimeSeconds: duration('downtime', v.downtime, DEFAULT_DOWNTIME_MS, 0) / 1000,
      settleSeconds: settleMs / 1000,
      steady: v['no-steady'] !== true,
      maxAccuracyDrop: fraction('max-accuracy-drop', v['max-accuracy-drop'], DEFAULT_MAX_ACCURACY_DROP),
      minAccuracy: fraction('min-accuracy', v['min-accuracy'], 0),
      data: checked('data', v.data, 'mnist', checkDataSpec),
      partition: checked('partition', v.partition, 'iid', parsePartitionSpec),
      model: checked('model', v.model, 'mlp', (m) => {
        if (!['mlp', 'mlp-small', 'cnn'].includes(m) && !m.endsWith('.json')) throw new Error(`unknown model '${m}' (mlp, mlp-small or cnn, or a tfjs model file ending in .json)`);
      }),
      seed: integer('seed', v.seed, 1, 0, 2 ** 31 - 1),
      outDir: v.out ?? `runs/soak-${stamp}`,
      jsonPath: v.json ?? null,
      daemonArgs: v['daemon-arg'] ?? [],
      cli: v.cli ?? null,
      verbose: v.verbose === true,
    },
  };
}
