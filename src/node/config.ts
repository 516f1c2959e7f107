/**
 * Daemon configuration: one table of options drives the flags, the
 * environment variables (GOSSIP_LEARN_<FLAG_IN_CAPS>), the config file keys
 * (JSON or YAML; the flag names, as `state-dir` or `stateDir`) and the
 * `--help` text. Precedence:
 * flags > environment > config file > defaults; the merged object is
 * validated with zod and every problem is reported as one ConfigError line.
 *
 *   const config = await loadDaemonConfig(process.argv.slice(3), process.env);
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { multiaddr } from '@multiformats/multiaddr';
import { DEFAULT_PACING, TRAINING_WINDOW_MS } from '../core/pacing.ts';
import { checkCodecSpec, DEFAULT_CODEC_SPEC } from '../protocol/codec/index.ts';
import { AGGREGATOR_NAMES, checkAggregatorName, DEFAULT_AGGREGATOR } from '../train/aggregators/index.ts';
import { checkDataSpec, DATA_SPEC_HELP, parseCsvDelimiter } from '../train/dataset.ts';
import { parsePartitionSpec } from '../train/partition.ts';
import { DEFAULT_GOSSIP_TRAINING, defaultLearningRate, learningRateDefaultsText, OPTIMIZER_NAMES, TRAINING_DEFAULTS } from '../train/training-defaults.ts';
import { DEFAULT_CPU_WATTS } from './key-metrics/energy.ts';
import {
  DEFAULT_ANNOUNCE_INTERVAL_MS,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_EVAL_INTERVAL_MS,
  DEFAULT_LISTEN_ADDRESS,
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PORT,
  DEFAULT_SWARM,
  READ_TIMEOUT_MS,
} from './constants.ts';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_EXCHANGES_PER_PEER_PER_MINUTE, DEFAULT_MAX_STREAMS_PER_PEER } from './limits.ts';
import { DEFAULT_MAX_CONNECTIONS_PER_IP, DEFAULT_MAX_EXCHANGES_PER_IP_PER_MINUTE, DEFAULT_MAX_STREAMS_PER_IP } from './limits.ts';
import { isIP } from 'node:net';
import { peerIdFromString } from '@libp2p/peer-id';
import { DEFAULT_DP_DELTA } from '../core/dp-release.ts';
import { forcedTeacher } from './teacher-choice.ts';
import { closestName, describeArgsError, toKebabCase } from '../common/arg-errors.ts';
import { GossipLearnError } from '../common/errors.ts';
import { parseByteSize } from '../common/byte-size.ts';
import { DEFAULT_PREDICT_BATCH_WINDOW_MS, DEFAULT_PREDICT_MAX_BATCH, DEFAULT_PREDICT_MAX_QUEUE, MAX_INSTANCES_PER_REQUEST } from './inference/defaults.ts';

/** bad-flag: an unknown flag; bad-value: a value out of range; bad-file: the config file; unknown-option: a key createNode does not know. */
export type ConfigErrorReason = 'bad-flag' | 'bad-value' | 'bad-file' | 'bad-env' | 'unknown-option';

/** Bad configuration: the CLI prints the message as one line and exits 2. */
export class ConfigError extends GossipLearnError<ConfigErrorReason> {
  override readonly name = 'ConfigError';
}

type OptionKind = 'string' | 'int' | 'number' | 'boolean' | 'list' | 'duration' | 'bytes';

interface OptionSpec {
  /** Config file key (camelCase). */
  key: keyof DaemonConfigInput;
  /** Flag name without the leading dashes. */
  flag: string;
  kind: OptionKind;
  help: string;
  /** Shown in --help; the real default lives in the zod schema. */
  shown?: string;
}

/** Durations accept `500ms`, `5s`, `2m` (or `0`); a bare non-zero number is refused with a hint (3ms or 3s?). Throws ConfigError('bad-value'). */
export function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (match === null) throw new ConfigError('bad-value', `not a duration: '${text}' (use e.g. 500ms, 5s, 2m)`);
  const value = Number(match[1]);
  // A bare number reads two ways (3 ms or 3 s?): refused, except 0, which is 0 in any unit.
  if (match[2] === undefined && value !== 0) throw new ConfigError('bad-value', `'${text.trim()}' has no unit: ${match[1]}ms or ${match[1]}s? (write e.g. 500ms, 5s, 2m)`);
  const unit = match[2] ?? 'ms';
  return Math.round(unit === 'm' ? value * 60_000 : unit === 's' ? value * 1000 : value);
}

/**
 * Shortest --exchange-interval accepted: below it a node would spend its time
 * encoding and framing rather than training, and a typo such as `2ms` for
 * `2s` would flood its peers (the per-peer inbound limit is 240 a minute).
 */
export const MIN_EXCHANGE_INTERVAL_MS = 50;

const modelNameSchema = z.enum(['mlp', 'mlp-small', 'cnn']);
const notAModel = (model: string): string => `'${model}' is neither a registry model (mlp | mlp-small | cnn) nor a tfjs model file ending in .json`;

/** Throws an Error (message: notAModel) unless `model` is a registry model name or a tfjs model file (`.json`); for launchers that pass --model on. */
export function checkModelSpec(model: string): void {
  if (!modelNameSchema.safeParse(model).success && !model.endsWith('.json')) throw new Error(notAModel(model));
}
const backendSchema = z.enum(['auto', 'tensorflow', 'wasm', 'cpu']);
const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const optimizerSchema = z.enum(OPTIMIZER_NAMES);
/** A duration that must be more than 0 (0, written bare, passes parseDurationMs). */
const positiveMs = z.number().int().positive({ error: (issue) => `${String(issue.input)}ms: must be more than 0 (e.g. 500ms, 5s, 2m)` });
/** A bearer token shorter than this is refused (a guessable token protects nothing). */
export const MIN_METRICS_TOKEN_CHARS = 16;

/** Whether an HTTP bind host only listens on this machine: localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return isIP(bare) === 6 && (bare === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(bare) || bare === '::ffff:127.0.0.1');
}

export const daemonConfigSchema = z
  .object({
    config: z.string().nullable().default(null),
    listen: z.array(z.string().min(1)).default([DEFAULT_LISTEN_ADDRESS]),
    bootstrap: z.array(z.string().min(1)).default([]),
    swarm: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'swarm must be 1-64 characters of A-Z a-z 0-9 . _ -')
      .default(DEFAULT_SWARM),
    data: z.string().min(1).default('mnist'),
    // Own data (issue 17): the swarm's data schema (src/train/data/schema.ts) and a shared test set.
    classes: z.array(z.string().min(1)).min(2, 'name at least 2 classes, in index order').refine((c) => new Set(c).size === c.length, 'a class is named twice').nullable().default(null),
    csvDelimiter: z.string().min(1).nullable().default(null),
    normalization: z.string().min(1).nullable().default(null),
    testData: z.string().min(1).nullable().default(null),
    partition: z.string().min(1).default('iid'),
    nodeIndex: z.number().int().nonnegative().default(0),
    numNodes: z.number().int().positive().default(1),
    // A registry name, or a tfjs LayersModel file (contract: a value ending in .json; src/train/models/file-model.ts).
    model: z
      .string()
      .refine((m) => modelNameSchema.safeParse(m).success || m.endsWith('.json'), { error: (issue) => notAModel(String(issue.input)) })
      .default('mlp'),
    backend: backendSchema.default('auto'),
    stateDir: z.string().min(1).default('.gossip-learn'),
    exchangeIntervalMs: z
      .number()
      .int()
      .min(MIN_EXCHANGE_INTERVAL_MS, { error: (issue) => `${issue.input}ms is below the floor of ${MIN_EXCHANGE_INTERVAL_MS}ms` })
      .default(DEFAULT_PACING.intervalMs),
    localStepsPerExchange: z.number().int().nonnegative().default(DEFAULT_PACING.localStepsPerExchange),
    byteBudgetPerHour: z.number().int().nonnegative().default(0),
    codec: z.string().min(1).nullable().default(null),
    aggregator: z.string().min(1).default(DEFAULT_AGGREGATOR),
    metricsHost: z.string().min(1).default(DEFAULT_METRICS_HOST),
    metricsPort: z.number().int().min(0).max(65535).default(DEFAULT_METRICS_PORT),
    mdns: z.boolean().default(false),
    // Across networks (src/node/libp2p.ts): addresses to advertise, and serving as a circuit relay.
    announce: z.array(z.string().min(1)).default([]),
    relay: z.boolean().default(false),
    relayUnlimited: z.boolean().default(false),
    teacher: z.string().min(1).nullable().default(null),
    distill: z.boolean().default(true),
    logLevel: logLevelSchema.default('info'),
    seed: z.number().int().nonnegative().default(1),
    stepsPerInterval: z.number().int().nonnegative().default(DEFAULT_PACING.stepsPerInterval),
    dutyCycle: z.number().gt(0).max(1).default(DEFAULT_PACING.dutyCycle),
    batchSize: z.number().int().positive().max(4096).default(TRAINING_DEFAULTS.batchSize),
    // Unset: the default of the optimizer (src/train/training-defaults.ts), filled in below.
    learningRate: z.number().positive().optional(),
    optimizer: optimizerSchema.default(DEFAULT_GOSSIP_TRAINING.optimizer),
    checkpointIntervalMs: positiveMs.default(DEFAULT_CHECKPOINT_INTERVAL_MS),
    evalIntervalMs: positiveMs.default(DEFAULT_EVAL_INTERVAL_MS),
    announceIntervalMs: positiveMs.default(DEFAULT_ANNOUNCE_INTERVAL_MS),
    exitWithParent: z.boolean().default(false),
    // The launcher's own pid (src/node/launcher.ts): a daemon it started watches it even if it died before the daemon could read its parent.
    parentPid: z.number().int().min(2, { error: (issue) => `${String(issue.input)} is not a launcher's pid (2 or more)` }).nullable().default(null),
    // Hardening (issue 7): every exchange read gives up after this (at most 30 s; a stalled stream is reset).
    readTimeoutMs: positiveMs.max(30_000).default(READ_TIMEOUT_MS),
    maxStreamsPerPeer: z.number().int().positive().default(DEFAULT_MAX_STREAMS_PER_PEER),
    maxExchangesPerPeerPerMinute: z.number().int().nonnegative().default(DEFAULT_MAX_EXCHANGES_PER_PEER_PER_MINUTE),
    maxConnections: z.number().int().positive().default(DEFAULT_MAX_CONNECTIONS),
    // Privacy (issue 15): src/node/access-control.ts, src/node/swarm-key.ts, src/core/dp-release.ts.
    psk: z.string().min(1).nullable().default(null),
    allowPeer: z.array(z.string().min(1)).default([]),
    allowPeers: z.string().min(1).nullable().default(null),
    maxConnectionsPerIp: z.number().int().positive().default(DEFAULT_MAX_CONNECTIONS_PER_IP),
    maxStreamsPerIp: z.number().int().positive().default(DEFAULT_MAX_STREAMS_PER_IP),
    maxExchangesPerIpPerMinute: z.number().int().nonnegative().default(DEFAULT_MAX_EXCHANGES_PER_IP_PER_MINUTE),
    metricsToken: z.string().min(MIN_METRICS_TOKEN_CHARS, `a token needs at least ${MIN_METRICS_TOKEN_CHARS} characters (e.g. openssl rand -hex 32)`).nullable().default(null),
    dpClip: z.number().positive().nullable().default(null),
    dpNoiseMultiplier: z.number().positive().nullable().default(null),
    dpDelta: z.number().gt(0).lt(1).nullable().default(null),
    dpEpsilonBudget: z.number().positive().nullable().default(null),
    // Dashboard (issue 19): src/node/key-metrics/energy.ts.
    cpuWatts: z.number().positive().max(1000).default(DEFAULT_CPU_WATTS),
    // Inference (issue 18): src/node/inference/.
    predictBatchWindowMs: z
      .number()
      .int()
      .nonnegative()
      .max(1000, { error: (issue) => `${String(issue.input)}ms is over the limit of 1s (a request waits at most this long for its batch)` })
      .default(DEFAULT_PREDICT_BATCH_WINDOW_MS),
    predictMaxBatch: z
      .number()
      .int()
      .positive({ error: (issue) => `${String(issue.input)} rows: must be at least 1` })
      .max(MAX_INSTANCES_PER_REQUEST, { error: (issue) => `${String(issue.input)} rows is over the limit of ${MAX_INSTANCES_PER_REQUEST} (the most one request may carry)` })
      .default(DEFAULT_PREDICT_MAX_BATCH),
    predictMaxQueue: z.number().int().positive({ error: (issue) => `${String(issue.input)} rows: must be at least 1` }).default(DEFAULT_PREDICT_MAX_QUEUE),
  })
  .strict()
  .refine((c) => c.nodeIndex < c.numNodes, { message: 'node-index must be smaller than num-nodes', path: ['nodeIndex'] })
  .refine((c) => c.metricsToken !== null || isLoopbackHost(c.metricsHost), {
    message: 'a metrics host other than loopback needs --metrics-token TOKEN (or GOSSIP_LEARN_METRICS_TOKEN): /metrics would be open to the network',
    path: ['metricsHost'],
  })
  .refine((c) => (c.dpClip === null) === (c.dpNoiseMultiplier === null), {
    message: 'differential privacy needs both --dp-clip and --dp-noise-multiplier',
    path: ['dpClip'],
  })
  .refine((c) => c.dpClip !== null || (c.dpDelta === null && c.dpEpsilonBudget === null), {
    message: '--dp-delta and --dp-epsilon-budget need --dp-clip and --dp-noise-multiplier',
    path: ['dpClip'],
  })
  .refine((c) => c.relay || !c.relayUnlimited, {
    message: 'only applies to a relay: add --relay',
    path: ['relayUnlimited'],
  })
  .transform((c) => ({ ...c, learningRate: c.learningRate ?? defaultLearningRate(c.optimizer) }));

export type DaemonConfig = z.output<typeof daemonConfigSchema>;
export type DaemonConfigInput = z.input<typeof daemonConfigSchema>;

/** A default duration as people write it: 60s rather than 60000ms. */
const shownMs = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

export const optionSpecs: OptionSpec[] = [
  { key: 'config', flag: 'config', kind: 'string', help: 'config file (JSON or YAML; keys are the flag names, as state-dir or stateDir)', shown: 'none' },
  { key: 'listen', flag: 'listen', kind: 'list', help: 'listen multiaddr (repeatable)', shown: DEFAULT_LISTEN_ADDRESS },
  { key: 'bootstrap', flag: 'bootstrap', kind: 'list', help: 'peer to join, e.g. /ip4/127.0.0.1/tcp/47800[/p2p/<id>] (repeatable)', shown: 'none' },
  { key: 'swarm', flag: 'swarm', kind: 'string', help: 'swarm id: only peers of the same swarm exchange', shown: DEFAULT_SWARM },
  { key: 'data', flag: 'data', kind: 'string', help: `data source: ${DATA_SPEC_HELP}`, shown: 'mnist' },
  { key: 'classes', flag: 'classes', kind: 'list', help: 'class names in index order, the same on every node (a node may hold only some); part of the model hash', shown: 'integer labels' },
  { key: 'csvDelimiter', flag: 'csv-delimiter', kind: 'string', help: 'cell delimiter of csv: data: one character or tab', shown: 'detected' },
  { key: 'normalization', flag: 'normalization', kind: 'string', help: 'normalize features with this file of gossip-learn data-stats (the same on every node)', shown: 'none' },
  { key: 'testData', flag: 'test-data', kind: 'string', help: 'shared test set (a data spec) instead of this node\'s held-out rows', shown: 'held-out rows' },
  { key: 'partition', flag: 'partition', kind: 'string', help: 'partition: iid | dirichlet:<alpha> | shards:<k>', shown: 'iid' },
  { key: 'nodeIndex', flag: 'node-index', kind: 'int', help: 'this node\'s index in the partition', shown: '0' },
  { key: 'numNodes', flag: 'num-nodes', kind: 'int', help: 'number of partitions', shown: '1' },
  { key: 'model', flag: 'model', kind: 'string', help: 'model: mlp | mlp-small | cnn, or PATH/model.json (a tfjs LayersModel; its weights, if any, are the shared initial point)', shown: 'mlp' },
  { key: 'backend', flag: 'backend', kind: 'string', help: 'tfjs backend: auto | tensorflow | wasm | cpu', shown: 'auto' },
  { key: 'stateDir', flag: 'state-dir', kind: 'string', help: 'identity key, checkpoint, lock', shown: '.gossip-learn' },
  { key: 'exchangeIntervalMs', flag: 'exchange-interval', kind: 'duration', help: `tick of the exchange timer: at most one exchange we start per interval (jittered; at least ${MIN_EXCHANGE_INTERVAL_MS}ms)`, shown: shownMs(DEFAULT_PACING.intervalMs) },
  { key: 'localStepsPerExchange', flag: 'local-steps-per-exchange', kind: 'int', help: 'H: local training steps between two exchanges we start (0 = every interval)', shown: String(DEFAULT_PACING.localStepsPerExchange) },
  { key: 'byteBudgetPerHour', flag: 'byte-budget', kind: 'bytes', help: 'most exchange bytes sent in any rolling hour, spread evenly; bytes or kB/MB/GB/KiB/MiB/GiB (0 = unlimited)', shown: '0' },
  { key: 'codec', flag: 'codec', kind: 'string', help: 'delta codec spec, e.g. q8+deflate, topk:0.01+q4+deflate', shown: DEFAULT_CODEC_SPEC },
  { key: 'aggregator', flag: 'aggregator', kind: 'string', help: `merge rule: ${AGGREGATOR_NAMES.join(' | ')}`, shown: DEFAULT_AGGREGATOR },
  { key: 'metricsHost', flag: 'metrics-host', kind: 'string', help: 'HTTP bind host for /metrics and /healthz', shown: DEFAULT_METRICS_HOST },
  { key: 'metricsPort', flag: 'metrics-port', kind: 'int', help: 'HTTP port (0 = a free port, printed at start)', shown: String(DEFAULT_METRICS_PORT) },
  { key: 'mdns', flag: 'mdns', kind: 'boolean', help: 'discover peers on the LAN with mDNS (multicast)', shown: 'off' },
  { key: 'announce', flag: 'announce', kind: 'list', help: 'address peers should dial us at instead of the listen ones, e.g. /ip4/203.0.113.7/tcp/47800 on a public host (repeatable)', shown: 'listen + observed' },
  { key: 'relay', flag: 'relay', kind: 'boolean', help: 'serve as a circuit relay (and DHT server) for NATed peers; for a publicly reachable host', shown: 'off' },
  { key: 'relayUnlimited', flag: 'relay-unlimited', kind: 'boolean', help: 'with --relay: no data or time limit on relayed connections, so model exchanges may cross this relay (otherwise they wait for a direct connection)', shown: 'off' },
  { key: 'teacher', flag: 'teacher', kind: 'string', help: 'join: distill from this peer id or multiaddr', shown: 'best announced peer' },
  { key: 'distill', flag: 'no-distill', kind: 'boolean', help: 'join: skip distillation from a teacher', shown: 'distill on' },
  { key: 'logLevel', flag: 'log-level', kind: 'string', help: 'fatal | error | warn | info | debug | trace | silent', shown: 'info' },
  { key: 'seed', flag: 'seed', kind: 'int', help: 'seed of model init, partition and shuffling', shown: '1' },
  { key: 'stepsPerInterval', flag: 'steps-per-interval', kind: 'int', help: `training pace: local steps per ${TRAINING_WINDOW_MS} ms training window, whatever the exchange interval (0 = no training)`, shown: String(DEFAULT_PACING.stepsPerInterval) },
  { key: 'dutyCycle', flag: 'duty-cycle', kind: 'number', help: 'max fraction (0..1] of wall time spent training', shown: String(DEFAULT_PACING.dutyCycle) },
  { key: 'batchSize', flag: 'batch-size', kind: 'int', help: 'rows per optimizer step', shown: String(TRAINING_DEFAULTS.batchSize) },
  { key: 'learningRate', flag: 'learning-rate', kind: 'number', help: 'step size', shown: learningRateDefaultsText(DEFAULT_GOSSIP_TRAINING.optimizer) },
  { key: 'optimizer', flag: 'optimizer', kind: 'string', help: `${OPTIMIZER_NAMES.join(' | ')} (momentum: 0.9; qgm: quasi-global momentum 0.9, momentum from how the model moved, merges included)`, shown: DEFAULT_GOSSIP_TRAINING.optimizer },
  { key: 'checkpointIntervalMs', flag: 'checkpoint-interval', kind: 'duration', help: 'time between checkpoints', shown: shownMs(DEFAULT_CHECKPOINT_INTERVAL_MS) },
  { key: 'evalIntervalMs', flag: 'eval-interval', kind: 'duration', help: 'time between evaluations on the full test split', shown: shownMs(DEFAULT_EVAL_INTERVAL_MS) },
  { key: 'announceIntervalMs', flag: 'announce-interval', kind: 'duration', help: 'time between gossipsub announcements', shown: shownMs(DEFAULT_ANNOUNCE_INTERVAL_MS) },
  { key: 'readTimeoutMs', flag: 'read-timeout', kind: 'duration', help: 'exchange read timeout: a stalled stream is reset after this (max 30s)', shown: shownMs(READ_TIMEOUT_MS) },
  { key: 'maxStreamsPerPeer', flag: 'max-streams-per-peer', kind: 'int', help: 'concurrent inbound exchange streams per peer', shown: String(DEFAULT_MAX_STREAMS_PER_PEER) },
  { key: 'maxExchangesPerPeerPerMinute', flag: 'max-exchanges-per-peer-per-minute', kind: 'int', help: 'inbound exchanges per peer per minute (0 = unlimited)', shown: String(DEFAULT_MAX_EXCHANGES_PER_PEER_PER_MINUTE) },
  { key: 'maxConnections', flag: 'max-connections', kind: 'int', help: 'open connections; beyond, a few newcomers get 15 s to find other peers, then inbound ones are refused', shown: String(DEFAULT_MAX_CONNECTIONS) },
  { key: 'psk', flag: 'psk', kind: 'string', help: 'private swarm: pre-shared key file (gossip-learn keygen --out FILE); peers without it cannot connect', shown: 'none' },
  { key: 'allowPeer', flag: 'allow-peer', kind: 'list', help: 'only these peer ids may connect (repeatable)', shown: 'anyone' },
  { key: 'allowPeers', flag: 'allow-peers', kind: 'string', help: 'file of allowed peer ids, one a line (# comments); adds to --allow-peer', shown: 'none' },
  { key: 'maxConnectionsPerIp', flag: 'max-connections-per-ip', kind: 'int', help: 'inbound connections one IP address may hold', shown: String(DEFAULT_MAX_CONNECTIONS_PER_IP) },
  { key: 'maxStreamsPerIp', flag: 'max-streams-per-ip', kind: 'int', help: 'concurrent inbound exchange streams per IP address', shown: String(DEFAULT_MAX_STREAMS_PER_IP) },
  { key: 'maxExchangesPerIpPerMinute', flag: 'max-exchanges-per-ip-per-minute', kind: 'int', help: 'inbound exchanges per IP address per minute (0 = unlimited)', shown: String(DEFAULT_MAX_EXCHANGES_PER_IP_PER_MINUTE) },
  { key: 'metricsToken', flag: 'metrics-token', kind: 'string', help: 'require Authorization: Bearer TOKEN on every route but /healthz (needed when --metrics-host is not loopback)', shown: 'none' },
  { key: 'dpClip', flag: 'dp-clip', kind: 'number', help: 'differential privacy: L2 norm bound C of every update that leaves the device', shown: 'off' },
  { key: 'dpNoiseMultiplier', flag: 'dp-noise-multiplier', kind: 'number', help: 'differential privacy: Gaussian noise std Z*C per coordinate', shown: 'off' },
  { key: 'dpDelta', flag: 'dp-delta', kind: 'number', help: 'differential privacy: delta of the reported (epsilon, delta)', shown: String(DEFAULT_DP_DELTA) },
  { key: 'dpEpsilonBudget', flag: 'dp-epsilon-budget', kind: 'number', help: 'differential privacy: stop sharing before epsilon would pass this', shown: 'no budget' },
  { key: 'cpuWatts', flag: 'cpu-watts', kind: 'number', help: 'energy estimate: watts one busy CPU core draws (energy = CPU seconds x W unless RAPL counters are readable)', shown: String(DEFAULT_CPU_WATTS) },
  { key: 'predictBatchWindowMs', flag: 'predict-batch-window', kind: 'duration', help: 'POST /predict: how long the first request of a batch waits for others (0 = no batching; at most 1s)', shown: `${DEFAULT_PREDICT_BATCH_WINDOW_MS}ms` },
  { key: 'predictMaxBatch', flag: 'predict-max-batch', kind: 'int', help: `POST /predict: most rows in one forward pass (at most ${MAX_INSTANCES_PER_REQUEST})`, shown: String(DEFAULT_PREDICT_MAX_BATCH) },
  { key: 'predictMaxQueue', flag: 'predict-max-queue', kind: 'int', help: 'POST /predict: most rows waiting for a batch; beyond, 503 with Retry-After', shown: String(DEFAULT_PREDICT_MAX_QUEUE) },
  { key: 'exitWithParent', flag: 'exit-with-parent', kind: 'boolean', help: 'exit when the parent process dies (under npm or npx the daemon watches npm anyway)', shown: 'off' },
  { key: 'parentPid', flag: 'parent-pid', kind: 'int', help: 'exit when process PID, which started this daemon, dies, also if it died before the daemon was up (the cluster launcher passes its own pid)', shown: 'none' },
];

/** Placeholders in --help, in the style of `gossip-learn train --help`; by kind unless named here. */
const HELP_ARG_BY_FLAG: Record<string, string> = {
  config: 'FILE', swarm: 'ID', data: 'SPEC', partition: 'SPEC', codec: 'SPEC', model: 'NAME', backend: 'NAME', optimizer: 'NAME',
  'log-level': 'LEVEL', 'state-dir': 'DIR', psk: 'FILE', 'allow-peer': 'ID', 'allow-peers': 'FILE', 'metrics-token': 'TOKEN', 'dp-clip': 'C',
  'dp-noise-multiplier': 'Z', 'dp-delta': 'D', 'dp-epsilon-budget': 'E', 'metrics-host': 'HOST', 'metrics-port': 'PORT', teacher: 'PEER', 'node-index': 'I', 'parent-pid': 'PID',
  aggregator: 'NAME', 'cpu-watts': 'W', classes: 'NAMES', 'csv-delimiter': 'CHAR', normalization: 'FILE', 'test-data': 'SPEC',
};
const HELP_ARG_BY_KIND: Record<OptionKind, string> = { boolean: '', list: 'ADDR', duration: 'TIME', int: 'N', number: 'X', string: 'VALUE', bytes: 'BYTES_PER_HOUR' };
const helpArg = (o: OptionSpec): string => {
  const arg = o.kind === 'boolean' ? '' : (HELP_ARG_BY_FLAG[o.flag] ?? HELP_ARG_BY_KIND[o.kind]);
  return arg === '' ? '' : ` ${arg}`;
};

/** Width of the flag column in --help (the longest flag plus its argument). */
export const HELP_FLAG_COLUMN_CHARS = Math.max(...optionSpecs.map((o) => `--${o.flag}${helpArg(o)}`.length));

export const configHelp = (): string =>
  optionSpecs.map((o) => `  ${`--${o.flag}${helpArg(o)}`.padEnd(HELP_FLAG_COLUMN_CHARS)}  ${o.help} (default: ${o.shown ?? '-'})`).join('\n');

function convert(spec: OptionSpec, raw: string, where: string): unknown {
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError('bad-value', `${where}: not an integer: '${raw}'`);
      return Number(raw);
    }
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError('bad-value', `${where}: not a number: '${raw}'`);
      return n;
    }
    case 'bytes':
      try {
        return parseByteSize(raw);
      } catch (err) {
        throw new ConfigError('bad-value', `${where}: ${(err as Error).message}`);
      }
    case 'duration':
      try {
        return parseDurationMs(raw);
      } catch (err) {
        throw new ConfigError('bad-value', `${where}: ${(err as Error).message}`);
      }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return spec.flag === 'no-distill' ? false : true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return spec.flag === 'no-distill' ? true : false;
      throw new ConfigError('bad-value', `${where}: not a boolean: '${raw}'`);
    }
  }
}

export interface ParsedFlags {
  help: boolean;
  /** --version / -v: print the package version. */
  version: boolean;
  values: Partial<Record<keyof DaemonConfigInput, unknown>>;
}

/** Where an unknown flag or config key sends the user. */
export const DAEMON_HELP_HINT = '`gossip-learn daemon --help` lists the options';

/** Parses daemon flags; unknown flags (with the closest known one) and bad values throw ConfigError('bad-flag' | 'bad-value'). */
export function parseDaemonFlags(argv: string[]): ParsedFlags {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const o of optionSpecs) {
    options[o.flag] = { type: o.kind === 'boolean' ? 'boolean' : 'string', ...(o.kind === 'list' ? { multiple: true } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new ConfigError('bad-flag', describeArgsError(err, Object.keys(options), DAEMON_HELP_HINT));
  }
  const values: ParsedFlags['values'] = {};
  for (const o of optionSpecs) {
    const v = parsed.values[o.flag];
    if (v === undefined) continue;
    if (o.kind === 'boolean') values[o.key] = o.flag === 'no-distill' ? !v : v;
    else if (o.kind === 'list') values[o.key] = (v as string[]).flatMap((s) => convert(o, s, `--${o.flag}`) as string[]);
    else values[o.key] = convert(o, v as string, `--${o.flag}`);
  }
  return { help: parsed.values.help === true, version: parsed.values.version === true, values };
}

export const envName = (flag: string): string => `GOSSIP_LEARN_${(flag === 'no-distill' ? 'distill' : flag).replaceAll('-', '_').toUpperCase()}`;

/** GOSSIP_LEARN_* variables that something other than a daemon option reads (tests' and benchmarks' switches). */
const OTHER_ENV_NAMES: ReadonlySet<string> = new Set(['GOSSIP_LEARN_FUZZ_DAEMON_STDERR', 'GOSSIP_LEARN_NETNS_SECONDS', 'GOSSIP_LEARN_NETNS_KEEP']);

/**
 * One warning per set GOSSIP_LEARN_* variable that no daemon option reads,
 * a typo the daemon would otherwise ignore without a word, with the closest
 * option's variable: `GOSSIP_LEARN_METRIC_PORT: no daemon option reads this
 * variable; ignored (did you mean GOSSIP_LEARN_METRICS_PORT?)`.
 */
export function unknownEnvWarnings(env: NodeJS.ProcessEnv): string[] {
  const known = new Set(optionSpecs.map((o) => envName(o.flag)));
  const flags = optionSpecs.map((o) => (o.flag === 'no-distill' ? 'distill' : o.flag));
  return Object.keys(env)
    .filter((name) => name.startsWith('GOSSIP_LEARN_') && env[name] !== undefined && env[name] !== '' && !known.has(name) && !OTHER_ENV_NAMES.has(name))
    .sort()
    .map((name) => {
      const close = closestName(name.slice('GOSSIP_LEARN_'.length).toLowerCase().replaceAll('_', '-'), flags);
      return `${name}: no daemon option reads this variable; ignored${close === null ? '' : ` (did you mean ${envName(close)}?)`}`;
    });
}

/** Reads GOSSIP_LEARN_* variables (lists comma separated; GOSSIP_LEARN_DISTILL=false skips distillation). */
export function parseDaemonEnv(env: NodeJS.ProcessEnv): ParsedFlags['values'] {
  const values: ParsedFlags['values'] = {};
  for (const o of optionSpecs) {
    const raw = env[envName(o.flag)];
    if (raw === undefined || raw === '') continue;
    const spec = o.flag === 'no-distill' ? { ...o, flag: 'distill' } : o;
    values[o.key] = convert(spec, raw, envName(o.flag));
  }
  return values;
}

/** Reads a JSON or YAML config file (by extension; YAML is a superset of JSON anyway). */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'a directory, not a file' : code === 'EACCES' ? 'permission denied' : (code ?? (err as Error).message);
    throw new ConfigError('bad-file', `config file ${path}: ${why}`);
  }
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError('bad-file', `config file ${path} does not parse: ${(err as Error).message.split('\n')[0]}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError('bad-file', `config file ${path} must hold an object`);
  return configFileValues(value as Record<string, unknown>, path);
}

/** `state-dir` -> `stateDir`. */
const camelCase = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The option a config-file key names: the flag (`state-dir`), its camelCase (`stateDir`), or the option key (`exchangeIntervalMs`). */
function optionOfFileKey(key: string): OptionSpec | undefined {
  return optionSpecs.find((o) => key === o.flag || key === camelCase(o.flag) || key === o.key);
}

/**
 * A config file's object as option values: keys may be the flag names in
 * kebab or camel case (`no-distill: true` is `distill: false`); durations may
 * be strings ("5s") like on the command line. A duration under its flag name
 * needs a unit as the flag does (`exchange-interval: 2` is refused: 2ms or
 * 2s?); under its option key (`exchangeIntervalMs: 300`) a number is ms. An unknown key or one option
 * given twice is a ConfigError naming the key (and the closest known one).
 */
export function configFileValues(raw: Record<string, unknown>, path: string): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const seenAs = new Map<string, string>();
  for (const [key, value] of Object.entries(raw)) {
    const o = optionOfFileKey(key);
    if (o === undefined) {
      const close = closestName(key, optionSpecs.map((spec) => spec.flag));
      throw new ConfigError(
        'bad-file',
        `config file ${path}: unknown key '${key}'${close === null ? '' : ` (did you mean ${close}?)`}; keys are the flag names, as state-dir or stateDir; ${DAEMON_HELP_HINT}`,
      );
    }
    const earlier = seenAs.get(o.key);
    if (earlier !== undefined) throw new ConfigError('bad-file', `config file ${path} sets ${o.flag} twice (as '${earlier}' and '${key}'); keep one`);
    seenAs.set(o.key, key);
    if (o.flag === 'no-distill' && o.key !== key && typeof value === 'boolean') values[o.key] = !value;
    else if (o.kind === 'duration' && (typeof value === 'string' || (typeof value === 'number' && key !== o.key))) {
      // `exchangeIntervalMs: 300` says milliseconds in its name; `exchange-interval: 2` reads two ways and is refused as the flag is.
      try {
        values[o.key] = parseDurationMs(String(value));
      } catch (err) {
        throw new ConfigError('bad-file', `config file ${path}: ${key}: ${(err as Error).message}`);
      }
    } else if (o.kind === 'bytes' && typeof value === 'string') {
      try {
        values[o.key] = parseByteSize(value);
      } catch (err) {
        throw new ConfigError('bad-file', `config file ${path}: ${key}: ${(err as Error).message}`);
      }
    } else if (o.kind === 'list' && typeof value === 'string') {
      // `listen: /ip4/127.0.0.1/tcp/0` means a list of one, as the repeatable flag given once does.
      values[o.key] = [value];
    } else values[o.key] = value;
  }
  return values;
}

const flagOfKey = (key: string): string => optionSpecs.find((o) => o.key === key)?.flag ?? key;

/**
 * How an error names an option, by the option key (`cpuWatts`): as the flag
 * (`--cpu-watts`), the environment variable (`GOSSIP_LEARN_CPU_WATTS`) or
 * the config file key (`config file gl.yaml: cpu-watts`) that gave its value.
 */
export type OptionNamer = (key: string) => string;

/** Names every option as its flag (`--cpu-watts`): values given on the command line or through createNode. */
export const flagNameOf: OptionNamer = (key) => `--${flagOfKey(key)}`;

/** Names each option by where its value came from: the flags win over the environment, which wins over the file. */
function sourceNamer(flags: object, env: object, file: object, configPath: string | undefined): OptionNamer {
  return (key) => {
    if (Object.hasOwn(flags, key)) return flagNameOf(key);
    if (Object.hasOwn(env, key)) return envName(flagOfKey(key));
    if (Object.hasOwn(file, key) && configPath !== undefined) return `config file ${configPath}: ${flagOfKey(key)}`;
    return flagNameOf(key);
  };
}

/** The option key (`byteBudgetPerHour`) closest to an unknown one (`byteBudget`), compared in kebab case; null when none is close. */
function closestOptionKey(given: string): string | null {
  const keys = Object.keys(daemonConfigSchema.in.shape);
  const close = closestName(given, keys.map(toKebabCase));
  return close === null ? null : (keys.find((k) => toKebabCase(k) === close) ?? null);
}

/**
 * Validates a merged raw object (option keys: the config file's, or
 * createNode's options); the first problem becomes a one-line ConfigError:
 * 'unknown-option' for a key no option has (with the closest key), else
 * 'bad-value' naming the option as its flag.
 */
export function validateDaemonConfig(raw: Record<string, unknown>, nameOf: OptionNamer = flagNameOf): DaemonConfig {
  const result = daemonConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new ConfigError('bad-value', 'invalid configuration');
  const key = String(issue.path[0] ?? '');
  if (issue.code === 'unrecognized_keys') {
    const given = issue.keys[0]!;
    const close = closestOptionKey(given);
    throw new ConfigError(
      'unknown-option',
      `unknown option '${given}'${close === null ? '' : ` (did you mean ${close}?)`}; options are the config keys in camelCase, as the NodeOptions type lists them (byteBudgetPerHour, exchangeIntervalMs, distill: false for --no-distill)`,
    );
  }
  const duration = optionSpecs.find((o) => o.key === key)?.kind === 'duration';
  throw new ConfigError('bad-value', `${nameOf(key)}: ${inWords(issue, raw[key], duration) ?? issue.message}`);
}

/**
 * zod's default messages in words with the value given: a number out of
 * range ("Too big: expected number to be <=65535") as "must be at most 65535
 * (got 99999)" (a duration as 30s rather than 30000), a value not among the
 * choices ('Invalid option: expected one of "sgd"|"adam"') as "'rmsprop' is
 * not one of sgd | adam". Null for any other issue and for custom messages.
 */
function inWords(issue: z.core.$ZodIssue, value: unknown, duration: boolean): string | null {
  if (issue.code === 'invalid_value' && /^Invalid option:/.test(issue.message)) return `'${String(value)}' is not one of ${issue.values.map(String).join(' | ')}`;
  if ((issue.code !== 'too_big' && issue.code !== 'too_small') || issue.origin !== 'number' || !/^Too (big|small):/.test(issue.message)) return null;
  const shown = (n: unknown): string => (duration && typeof n === 'number' ? shownMs(n) : String(n));
  const bound = issue.code === 'too_big' ? `${issue.inclusive === true ? 'at most' : 'below'} ${shown(issue.maximum)}` : `${issue.inclusive === true ? 'at least' : 'more than'} ${shown(issue.minimum)}`;
  return `must be ${bound} (got ${shown(value)})`;
}

/**
 * flags > environment > config file > defaults. A bad value is a ConfigError
 * naming where it came from (`--cpu-watts`, `GOSSIP_LEARN_CPU_WATTS`, or the
 * config file and key); `nameOf` names options the same way for later checks
 * (checkDaemonSpecs).
 */
export async function loadDaemonConfig(argv: string[], env: NodeJS.ProcessEnv): Promise<{ help: boolean; version: boolean; config: DaemonConfig | null; nameOf: OptionNamer }> {
  const flags = parseDaemonFlags(argv);
  if (flags.help || flags.version) return { help: flags.help, version: flags.version, config: null, nameOf: flagNameOf };
  const fromEnv = parseDaemonEnv(env);
  const configPath = (flags.values.config ?? fromEnv.config) as string | undefined;
  const fromFile = configPath === undefined ? {} : await readConfigFile(configPath);
  delete fromFile.config;
  const merged = { ...fromFile, ...fromEnv, ...flags.values };
  const nameOf = sourceNamer(flags.values, fromEnv, fromFile, configPath);
  return { help: false, version: false, config: validateDaemonConfig(merged, nameOf), nameOf };
}

/** What is wrong with a string that does not parse as a peer id, without libp2p's decoder internals. */
export const notAPeerId = (text: string): string => `'${text}' is not a peer id (expected a base58 id like 12D3KooW...)`;

/**
 * Checks a TCP multiaddr given to --listen, --bootstrap or --announce: the
 * daemon's only transport is TCP (src/node/libp2p.ts), so an address without a
 * /tcp/<port> part could never be listened on or dialled. Throws an Error whose
 * message says what to write instead: `1.2.3.4:47800` gets `/ip4/1.2.3.4/tcp/47800`,
 * `/ip4/1.2.3.4` the same with a port.
 */
export function checkTcpMultiaddr(text: string): void {
  let components: Array<{ name: string; value?: string }>;
  try {
    components = multiaddr(text).getComponents();
  } catch (err) {
    // A multiaddr with a bad part keeps the parser's reason ('Invalid IPv4 address "1.2.3"'); anything else gets an example.
    const hostPort = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
    const hint = text.startsWith('/') ? (err as Error).message : hostPort === null ? 'write e.g. /ip4/127.0.0.1/tcp/47800' : `did you mean /${isIP(hostPort[1]!) === 4 ? 'ip4' : 'dns'}/${hostPort[1]}/tcp/${hostPort[2]}?`;
    throw new Error(`'${text}' is not a multiaddr (${hint})`);
  }
  if (!components.some((c) => c.name === 'tcp')) {
    const host = components[0];
    const at = text.indexOf('/p2p/');
    const fixed = host?.value === undefined || host.name === 'p2p' ? '/ip4/127.0.0.1/tcp/47800' : `/${host.name}/${host.value}/tcp/47800${at < 0 ? '' : text.slice(at)}`;
    throw new Error(`'${text}' has no TCP port, the only transport (write e.g. ${fixed})`);
  }
}

/**
 * Checks the spec strings zod sees only as strings (codec, data, partition,
 * multiaddrs, teacher) with the parsers that will use them, so a typo is one
 * ConfigError line (exit 2) before the daemon binds ports, not a stack later.
 */
export function checkDaemonSpecs(config: DaemonConfig, nameOf: OptionNamer = flagNameOf): void {
  const check = (key: keyof DaemonConfig, parse: () => unknown): void => {
    try {
      parse();
    } catch (err) {
      const message = (err as Error).message;
      const name = nameOf(key);
      throw new ConfigError('bad-value', message.startsWith(`--${flagOfKey(key)}`) ? message.replace(`--${flagOfKey(key)}`, name) : `${name}: ${message}`);
    }
  };
  if (config.codec !== null) check('codec', () => checkCodecSpec(config.codec as string));
  check('aggregator', () => checkAggregatorName(config.aggregator));
  check('data', () => checkDataSpec(config.data));
  if (config.testData !== null) check('testData', () => checkDataSpec(config.testData as string));
  if (config.csvDelimiter !== null) check('csvDelimiter', () => parseCsvDelimiter(config.csvDelimiter as string));
  check('partition', () => parsePartitionSpec(config.partition));
  for (const address of config.listen) check('listen', () => checkTcpMultiaddr(address));
  for (const address of config.bootstrap) check('bootstrap', () => checkTcpMultiaddr(address));
  for (const address of config.announce) check('announce', () => checkTcpMultiaddr(address));
  if (config.teacher !== null) check('teacher', () => forcedTeacher(config.teacher as string, []));
  for (const id of config.allowPeer) {
    check('allowPeer', () => {
      try {
        peerIdFromString(id);
      } catch {
        throw new Error(notAPeerId(id));
      }
    });
  }
}
