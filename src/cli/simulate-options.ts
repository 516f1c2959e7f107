/**
 * Flags of `gossip-learn simulate` (src/cli/commands/simulate.ts), parsed and
 * checked without side effects (tests call parseSimulateOptions). Durations
 * carry units (`500ms`, `10s`, `2m`; a bare number is refused as in
 * src/node/config.ts parseDurationMs), rates too (`1MB/s`), ranges are
 * `LOW..HIGH`. A bad value throws CliUsageError with one line naming the flag.
 *
 *   const parsed = parseSimulateOptions(['--nodes', '1000', '--latency', '20ms..200ms', '--bandwidth', '1MB/s', '--drop', '0.1']);
 *   if (parsed.kind === 'ok') parsed.options.network.latencyMs   // { min: 20, max: 200 }
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseByteSize } from '../common/byte-size.ts';
import { DEFAULT_PACING } from '../core/pacing.ts';
import { parseDurationMs } from '../node/config.ts';
import { codecSpecProblem, DEFAULT_CODEC_SPEC } from '../protocol/codec/index.ts';
import type { ChurnSpec, NetworkConditions, Range } from '../sim/conditions.ts';
import { DEFAULT_VIEW, SWARM_EXCHANGE_TIMEOUT_MS } from '../sim/swarm.ts';
import { AGGREGATOR_NAMES, DEFAULT_AGGREGATOR } from '../train/aggregators/index.ts';
import { isBackendName, type BackendName } from '../train/backend.ts';
import { FASHION_MNIST_DEFAULT_DIR, type DataOptions } from '../train/dataset.ts';
import { DATA_SPEC_HELP } from '../train/data/spec-help.ts';
import { MODEL_SPEC_CHOICES, modelSpecProblem } from '../train/model-spec.ts';
import { parsePartitionSpec } from '../train/partition.ts';
import { DEFAULT_GOSSIP_TRAINING, OPTIMIZER_NAMES, type OptimizerName } from '../train/training-defaults.ts';
import { DATA_SCHEMA_SCRIPT_OPTIONS, parseDataSchemaFlags } from './data-flags.ts';
import { readScriptArgs, type ScriptOption } from './script-args.ts';
import { CliUsageError } from './usage-error.ts';

/** Fashion-MNIST when the Debian package is installed, else the embedded MNIST. */
export const DEFAULT_SIMULATE_DATA = existsSync(FASHION_MNIST_DEFAULT_DIR) ? 'fashion-mnist' : 'mnist';

export interface SimulateOptions {
  nodes: number;
  data: string;
  /** The data schema and test set (--classes, --csv-delimiter, --normalization, --test-data), as `train` and the daemon read them. */
  dataOptions: DataOptions;
  partition: string;
  /** A registry name or `PATH/model.json` (src/train/model-spec.ts). */
  model: string;
  codec: string;
  aggregator: string;
  optimizer: OptimizerName;
  learningRate: number;
  seed: number;
  durationMs: number;
  network: NetworkConditions;
  churn: ChurnSpec;
  view: { size: number; shuffleLength: number; shuffleIntervalMs: number };
  exchangeTimeoutMs: number;
  evalIntervalMs: number;
  evalNodes: number;
  evalRows: number;
  targetAccuracy: number | null;
  json: string | null;
  plot: string | null;
  backend: BackendName | 'auto';
}

const OPTIONS = {
  nodes: { type: 'string', default: '100', arg: 'N', help: 'simulated nodes (>= 2)' },
  duration: { type: 'string', default: '60s', arg: 'TIME', help: 'simulated (virtual) time to run, e.g. 90s, 5m' },
  data: { type: 'string', default: DEFAULT_SIMULATE_DATA, arg: 'SPEC', help: DATA_SPEC_HELP },
  ...DATA_SCHEMA_SCRIPT_OPTIONS,
  partition: { type: 'string', default: 'dirichlet:0.3', arg: 'SPEC', help: 'iid | dirichlet:<alpha> | shards:<k>' },
  model: { type: 'string', default: 'mlp-small', arg: 'SPEC', help: `${MODEL_SPEC_CHOICES} (a tfjs LayersModel: its weights, if any, are every node's initial point)` },
  codec: { type: 'string', default: DEFAULT_CODEC_SPEC, arg: 'SPEC', help: 'delta codec, as the daemon\'s --codec (f32 for uncompressed)' },
  aggregator: { type: 'string', default: DEFAULT_AGGREGATOR, arg: 'NAME', help: AGGREGATOR_NAMES.join(' | ') },
  optimizer: { type: 'string', default: DEFAULT_GOSSIP_TRAINING.optimizer, arg: 'NAME', help: OPTIMIZER_NAMES.join(' | ') },
  'learning-rate': { type: 'string', default: String(DEFAULT_GOSSIP_TRAINING.learningRate), arg: 'LR', help: 'learning rate' },
  seed: { type: 'string', default: '1', arg: 'S', help: 'seed of everything (same seed, same curve)' },
  latency: { type: 'string', default: '20ms..200ms', arg: 'TIME[..TIME]', help: 'one-way latency per link: fixed, or uniform in a range drawn once per link' },
  bandwidth: { type: 'string', default: '1MB/s', arg: 'RATE[..RATE]', help: 'upload rate per node (e.g. 500kB/s, 1MB/s..10MB/s, unlimited)' },
  drop: { type: 'string', default: '0', arg: 'P', help: 'probability in [0, 1) that a model frame is lost (its exchange then times out)' },
  'churn-online': { type: 'string', arg: 'TIME', help: 'churn: mean online period (exponential; with --churn-offline)' },
  'churn-offline': { type: 'string', arg: 'TIME', help: 'churn: mean offline period (exponential; with --churn-online)' },
  'churn-trace': { type: 'string', arg: 'FILE', help: 'churn from a trace: JSON [{"node": 0, "onlineSeconds": [[0, 120], [300, 900]]}, ...]; unlisted nodes stay online' },
  'view-size': { type: 'string', default: String(DEFAULT_VIEW.size), arg: 'N', help: 'peers each node knows (CYCLON partial view)' },
  'shuffle-length': { type: 'string', default: String(DEFAULT_VIEW.shuffleLength), arg: 'N', help: 'view entries swapped per CYCLON shuffle' },
  'shuffle-interval': { type: 'string', default: `${DEFAULT_VIEW.shuffleIntervalMs / 1000}s`, arg: 'TIME', help: 'time between two shuffles a node starts' },
  'exchange-timeout': { type: 'string', default: `${SWARM_EXCHANGE_TIMEOUT_MS / 1000}s`, arg: 'TIME', help: 'a stalled exchange is abandoned after this (the daemon\'s)' },
  'eval-interval': { type: 'string', default: '10s', arg: 'TIME', help: 'simulated time between two curve points' },
  'eval-nodes': { type: 'string', default: '100', arg: 'N', help: 'nodes evaluated per curve point (a fixed seeded sample; the final point evaluates all)' },
  'eval-rows': { type: 'string', default: '2000', arg: 'N', help: 'first N rows of the test split every evaluation uses (0 = all)' },
  target: { type: 'string', arg: 'ACC', help: 'report the simulated time when the mean accuracy first reaches ACC (0..1)' },
  json: { type: 'string', arg: 'FILE', output: true, help: 'write {nodes, partition, codec, wallSeconds, peakRssBytes, finalMeanAccuracy, bytesPerNode, curve, ...}' },
  plot: { type: 'string', arg: 'FILE', output: true, help: 'write the accuracy curve as SVG', shown: 'the --json path with .svg' },
  backend: { type: 'string', default: 'auto', arg: 'NAME', help: 'auto | tensorflow | wasm | cpu' },
} as const satisfies Record<string, ScriptOption>;

const SPEC = {
  usage: 'gossip-learn simulate [options]',
  summary: `Runs N gossip nodes in one process on a virtual clock: the daemon's gossip core (sessions, codecs,
aggregator, pacing, peer sampling) over a simulated network with per-link latency, per-node upload
bandwidth, frame loss and churn. Frames are really encoded and decoded (byte counts are real). Each
node knows a bounded partial view (CYCLON shuffles). Prints progress per curve point.`,
  options: OPTIONS,
  name: 'simulate',
};

const traceSchema = z.array(z.object({ node: z.number().int().min(0), onlineSeconds: z.array(z.tuple([z.number().min(0), z.number().min(0)])) }));

function fail(flag: string, message: string): never {
  throw new CliUsageError(`simulate: --${flag}: ${message}`);
}

function duration(flag: string, raw: string, positive = true): number {
  let ms: number;
  try {
    ms = parseDurationMs(raw);
  } catch (err) {
    return fail(flag, (err as Error).message);
  }
  if (positive && ms <= 0) fail(flag, `must be more than 0 (e.g. 500ms, 5s, 2m), got '${raw}'`);
  return ms;
}

function integer(flag: string, raw: string, min: number): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(value) || value < min) fail(flag, `must be an integer >= ${min}, got '${raw}'`);
  return value;
}

function fraction(flag: string, raw: string, check: (x: number) => boolean, expect: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || !check(value)) fail(flag, `must be ${expect}, got '${raw}'`);
  return value;
}

function range(flag: string, raw: string, one: (text: string) => number): Range {
  const parts = raw.split('..');
  if (parts.length > 2) fail(flag, `a range is LOW..HIGH, got '${raw}'`);
  const min = one(parts[0]!);
  const max = parts.length === 2 ? one(parts[1]!) : min;
  if (max < min) fail(flag, `the range ${raw} runs backwards`);
  return { min, max };
}

/** A rate such as `1MB/s` or `500kB/s` in bytes per second; a size without `/s` is refused. */
export function parseRate(text: string): number {
  const match = /^(.*)\/s$/i.exec(text.trim());
  if (match === null) throw new Error(`'${text}' is not a rate: write bytes per second, e.g. 500kB/s, 1MB/s`);
  const bytes = parseByteSize(match[1]!);
  if (bytes <= 0) throw new Error(`a rate must be more than 0, got '${text}'`);
  return bytes;
}

function churn(values: { 'churn-online'?: string; 'churn-offline'?: string; 'churn-trace'?: string }): ChurnSpec {
  const online = values['churn-online'];
  const offline = values['churn-offline'];
  const trace = values['churn-trace'];
  if (trace !== undefined) {
    if (online !== undefined || offline !== undefined) fail('churn-trace', 'give either a trace or --churn-online/--churn-offline, not both');
    let parsed: z.infer<typeof traceSchema>;
    try {
      parsed = traceSchema.parse(JSON.parse(readFileSync(trace, 'utf8')));
    } catch (err) {
      const why = err instanceof z.ZodError ? (err.issues[0] === undefined ? 'invalid' : `${err.issues[0].path.join('.')}: ${err.issues[0].message}`) : (err as Error).message;
      return fail('churn-trace', `${trace}: ${why} (expected [{"node": 0, "onlineSeconds": [[0, 120], [300, 900]]}, ...])`);
    }
    const map = new Map<number, Array<[number, number]>>();
    for (const entry of parsed) {
      const list = map.get(entry.node) ?? [];
      for (const [from, to] of entry.onlineSeconds) {
        if (to < from) fail('churn-trace', `${trace}: node ${entry.node} has an interval [${from}, ${to}] that ends before it starts`);
        list.push([from * 1000, to * 1000]);
      }
      map.set(entry.node, list.sort((a, b) => a[0] - b[0]));
    }
    return { kind: 'trace', online: map };
  }
  if (online === undefined && offline === undefined) return { kind: 'none' };
  if (online === undefined || offline === undefined) fail(offline === undefined ? 'churn-offline' : 'churn-online', 'churn needs both --churn-online and --churn-offline (mean periods, e.g. 10m and 2m)');
  return { kind: 'rates', meanOnlineMs: duration('churn-online', online), meanOfflineMs: duration('churn-offline', offline) };
}

/** Parses `simulate`'s arguments; throws CliUsageError (one line) for a bad flag or value. */
export function parseSimulateOptions(argv: string[]): { kind: 'help'; text: string } | { kind: 'ok'; options: SimulateOptions } {
  const result = readScriptArgs(SPEC, argv);
  if (result.kind === 'help') return result;
  if (result.kind === 'error') throw new CliUsageError(result.message.replace(/`npm run simulate -- --help`/, '`gossip-learn simulate --help`'));
  const v = result.values;
  const nodes = integer('nodes', v.nodes, 2);
  const dataOptions = parseDataSchemaFlags('simulate', v);
  const modelProblem = modelSpecProblem(v.model);
  if (modelProblem !== null) fail('model', modelProblem);
  try {
    parsePartitionSpec(v.partition);
  } catch (err) {
    fail('partition', (err as Error).message);
  }
  const codecProblem = codecSpecProblem(v.codec);
  if (codecProblem !== null) fail('codec', codecProblem);
  if (!(AGGREGATOR_NAMES as readonly string[]).includes(v.aggregator)) fail('aggregator', `unknown aggregator '${v.aggregator}' (expected ${AGGREGATOR_NAMES.join(' | ')})`);
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(v.optimizer)) fail('optimizer', `unknown optimizer '${v.optimizer}' (expected ${OPTIMIZER_NAMES.join(' | ')})`);
  const backend = v.backend;
  if (backend !== 'auto' && !isBackendName(backend)) fail('backend', `unknown backend '${backend}' (expected auto | tensorflow | wasm | cpu)`);
  const latencyMs = range('latency', v.latency, (t) => duration('latency', t, false));
  const uploadBytesPerSecond =
    v.bandwidth.trim().toLowerCase() === 'unlimited'
      ? null
      : range('bandwidth', v.bandwidth, (t) => {
          try {
            return parseRate(t);
          } catch (err) {
            return fail('bandwidth', (err as Error).message);
          }
        });
  const viewSize = integer('view-size', v['view-size'], 1);
  const shuffleLength = integer('shuffle-length', v['shuffle-length'], 1);
  if (shuffleLength > viewSize) fail('shuffle-length', `must be at most the view size (${viewSize}), got ${shuffleLength}`);
  return {
    kind: 'ok',
    options: {
      nodes,
      data: v.data,
      dataOptions,
      partition: v.partition,
      model: v.model,
      codec: v.codec,
      aggregator: v.aggregator,
      optimizer: v.optimizer as OptimizerName,
      learningRate: fraction('learning-rate', v['learning-rate'], (x) => x > 0, 'a positive number'),
      seed: integer('seed', v.seed, 0),
      durationMs: duration('duration', v.duration),
      network: { latencyMs, uploadBytesPerSecond, dropRate: fraction('drop', v.drop, (x) => x >= 0 && x < 1, 'a probability in [0, 1) (e.g. 0.1)') },
      churn: churn(v),
      view: { size: viewSize, shuffleLength, shuffleIntervalMs: duration('shuffle-interval', v['shuffle-interval']) },
      exchangeTimeoutMs: duration('exchange-timeout', v['exchange-timeout']),
      evalIntervalMs: duration('eval-interval', v['eval-interval']),
      evalNodes: integer('eval-nodes', v['eval-nodes'], 1),
      evalRows: integer('eval-rows', v['eval-rows'], 0),
      targetAccuracy: v.target === undefined ? null : fraction('target', v.target, (x) => x > 0 && x <= 1, 'an accuracy in (0, 1]'),
      json: v.json ?? null,
      plot: v.plot ?? (v.json === undefined ? null : v.json.replace(/\.json$/i, '') + '.svg'),
      backend: backend as BackendName | 'auto',
    },
  };
}

/** Local steps per exchange the simulated nodes use: the daemon's default H. */
export const SIMULATE_LOCAL_STEPS_PER_EXCHANGE = DEFAULT_PACING.localStepsPerExchange;
