/**
 * gossip-learn as a library: `createNode` runs one gossip learning node in the
 * caller's process, the same node `gossip-learn daemon` runs (libp2p
 * exchanges, paced local training, checkpoints, the HTTP /metrics server).
 *
 *   import { createNode } from 'gossip-learn';
 *
 *   const node = await createNode({
 *     swarm: 'demo',
 *     listen: ['/ip4/127.0.0.1/tcp/0'],
 *     bootstrap: ['/ip4/127.0.0.1/tcp/47800'],   // another node, or none for the first one
 *     metricsPort: 0,                            // a free port
 *     stateDir: '.gossip-learn/library-node',
 *     logLevel: 'warn',
 *   });
 *   console.log(node.peerId, node.addresses, node.metricsUrl);
 *   const timer = setInterval(() => console.log(node.metrics().eval.accuracy), 5000);
 *   process.once('SIGINT', () => { clearInterval(timer); void node.stop(); });
 *
 * Options are the daemon's (`gossip-learn daemon --help`), keyed as in a
 * config file in camelCase (`stateDir`, `exchangeIntervalMs` in
 * milliseconds), with the daemon's defaults, and validated by the same schema
 * (src/node/config.ts): a bad option rejects with a ConfigError whose message
 * names the option as its flag (`--metrics-port: ...`). `config` names a JSON
 * or YAML file read first; the options given here win over it. The node logs
 * JSON lines to stderr at `logLevel` ('info' by default, as the daemon).
 *
 * Your own model and data: `model` may be a tfjs LayersModel (its weights
 * are the swarm's shared initial point; a final softmax is trained as
 * logits) and `data` rows and labels (arrays, or an async iterable of
 * batches; labels are names from `classes` or integer indices):
 *
 *   const node = await createNode({
 *     swarm: 'iris', stateDir: '.gossip-learn/iris-a', metricsPort: 0,
 *     model: myTfjsModel,
 *     data: { x: rows, y: labels },            // test: { x, y } for a shared test set
 *     classes: ['setosa', 'versicolor', 'virginica'],
 *   });
 *   node.on('merge', (e) => console.log(`merged a model from ${e.peer}`));
 *   node.on('evaluation', (e) => console.log(`accuracy ${e.accuracy}`));
 *
 * The package's entry point (package.json `exports`); the CLI is
 * src/cli/main.ts.
 */
import { ConfigError, checkDaemonSpecs, readConfigFile, validateDaemonConfig, type DaemonConfig, type DaemonConfigInput } from './node/config.ts';
import { Daemon } from './node/daemon.ts';
import type { MetricsJson } from './node/metrics.ts';
import type { NodeEventMap, NodeEventName } from './node/node-events.ts';
import { datasetFromArrays, type ArrayData } from './train/data/arrays.ts';
import type * as tf from '@tensorflow/tfjs';

export { ConfigError } from './node/config.ts';
export { DaemonStartError, DaemonStoppedError } from './node/daemon.ts';
export { GossipLearnError } from './common/errors.ts';
export type { DaemonConfig } from './node/config.ts';
export type { NodeEventMap, NodeEventName } from './node/node-events.ts';
export type { ArrayData, ArrayDataInput, ArrayRows } from './train/data/arrays.ts';
export { DataError } from './train/data/types.ts';
export { ModelError } from './train/models/builder.ts';
export type {
  DistillMetrics,
  EvalMetrics,
  ExchangeMetrics,
  LimitMetrics,
  MemoryMetrics,
  MetricsJson,
  ModelMetrics,
  PeerMetrics,
  TrainingMetrics,
} from './node/metrics.ts';

/**
 * The daemon's options (DaemonConfigInput, all optional). `exitWithParent`
 * and `parentPid` are left out: they belong to the `daemon` command, which exits the process;
 * a library node stops when the caller calls stop(). `model` and `data`
 * also take the caller's own tfjs LayersModel and rows (see above).
 */
export type NodeOptions = Omit<DaemonConfigInput, 'exitWithParent' | 'parentPid' | 'model' | 'data'> & {
  /** A registry name, a `PATH/model.json` file, or your own tfjs LayersModel (not modified: the node trains a copy). */
  model?: DaemonConfigInput['model'] | tf.LayersModel;
  /** A data spec (`csv:PATH`, `mnist`...), or your own rows: `{ x, y, test? }` or an async iterable of `{ x, y }` batches (used as given: no partition; testData, normalization and csvDelimiter are refused). */
  data?: DaemonConfigInput['data'] | ArrayData;
};

/** A running node, as createNode returns it. */
export interface GossipLearnNode {
  /** libp2p peer id (base58), kept in `stateDir` across restarts. */
  readonly peerId: string;
  /** The multiaddrs libp2p listens on (ports resolved: `/tcp/0` became a real port). */
  readonly addresses: string[];
  /** The HTTP endpoint serving `metrics()` as JSON (and /healthz next to it). */
  readonly metricsUrl: string;
  /** The validated options with every default filled in. */
  readonly config: DaemonConfig;
  /** A fresh snapshot of what GET /metrics serves: model age, accuracy on the full test split, exchange counters, peers. */
  metrics(): MetricsJson;
  /** Calls `listener` on every `exchange` (ended), `merge` (a peer's model merged into ours) or `evaluation`; a listener that throws is logged, the node goes on. */
  on<K extends NodeEventName>(event: K, listener: (...args: NodeEventMap[K]) => void): this;
  /** As on(), for the next event only. */
  once<K extends NodeEventName>(event: K, listener: (...args: NodeEventMap[K]) => void): this;
  /** Removes a listener added with on() or once(). */
  off<K extends NodeEventName>(event: K, listener: (...args: NodeEventMap[K]) => void): this;
  /**
   * Graceful stop: finishes or aborts running exchanges within `deadlineMs`
   * (default: the daemon's shutdown deadline), writes the final checkpoint,
   * stops libp2p and the HTTP server, releases the state-dir lock. Safe to call twice.
   */
  stop(deadlineMs?: number): Promise<void>;
}

/**
 * Validates `options`, starts a node and resolves once libp2p, the HTTP
 * server and the node's services run (including the distill join of a first
 * start, which may take a while when a teacher is found).
 *
 * Rejects with ConfigError (a bad option or config file), DaemonStartError
 * (a port in use, an address it cannot listen on), or the typed error of the
 * failing step (StateLockError when another node holds `stateDir`, DataError,
 * BackendError...); a failed start leaves nothing running and removes the
 * state directory or identity it created.
 */
/** A tfjs LayersModel by shape (the caller's tfjs may be another copy of the package than ours: no instanceof). */
function isLayersModel(value: unknown): value is tf.LayersModel {
  return typeof value === 'object' && value !== null && typeof (value as tf.LayersModel).getWeights === 'function' && typeof (value as tf.LayersModel).save === 'function';
}

export async function createNode(options: NodeOptions = {}): Promise<GossipLearnNode> {
  for (const key of ['exitWithParent', 'parentPid'] as const) {
    if (key in options) throw new ConfigError('bad-value', `${key} belongs to the \`gossip-learn daemon\` command; a library node stops when you call stop()`);
  }
  const { model, data, ...rest } = options;
  const ownModel = isLayersModel(model) ? model : undefined;
  const ownData = data !== undefined && typeof data !== 'string' ? data : undefined;
  const fromFile = typeof options.config === 'string' ? await readConfigFile(options.config) : {};
  delete fromFile.config;
  const config = validateDaemonConfig({
    ...fromFile,
    ...rest,
    ...(model === undefined || ownModel !== undefined ? {} : { model }),
    ...(data === undefined || ownData !== undefined ? {} : { data }),
  });
  checkDaemonSpecs(config);
  const specOnly = (['testData', 'normalization', 'csvDelimiter'] as const).filter((key) => config[key] !== null);
  if (ownData !== undefined && specOnly.length > 0) {
    throw new ConfigError('bad-value', `${specOnly.join(', ')} read a data spec; with your own rows give data.test for a shared test set and normalize the rows yourself`);
  }
  const dataset = ownData === undefined ? undefined : await datasetFromArrays(ownData, { classes: config.classes });
  const daemon = new Daemon({ config, ...(ownModel === undefined ? {} : { model: ownModel }), ...(dataset === undefined ? {} : { dataset }) });
  const info = await daemon.start();
  const node: GossipLearnNode = {
    peerId: info.peerId,
    addresses: info.addresses,
    metricsUrl: info.metricsUrl,
    config,
    metrics: () => daemon.metrics.toJson(),
    on: (event, listener) => (daemon.events.on(event, listener), node),
    once: (event, listener) => (daemon.events.once(event, listener), node),
    off: (event, listener) => (daemon.events.off(event, listener), node),
    stop: (deadlineMs) => daemon.stop(deadlineMs),
  };
  return node;
}
