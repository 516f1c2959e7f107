/**
 * The yardstick of a cluster run: what one model trained on all the data
 * (centralized) and each node trained alone on its own partition (local
 * only) reach with the same data, partition, model, seed, optimizer,
 * learning rate, batch size and samples per node as the daemons trained.
 * A swarm's accuracy means something only between those two.
 *
 *   const training = await daemonTraining(config.daemonArgs, process.env);   // sgd 0.05, batch 32 unless overridden
 *   const outcome = await computeBaselines(results, training, { onProgress: console.log });
 *   if (outcome.status === 'done') outcome.centralizedAccuracy;
 *
 * Both run in this process in the simulator (src/sim/simulate.ts, modes
 * 'centralized' and 'local'), which trains with the daemon's own trainer:
 * no network, no pacing effects, so the only differences to the daemons are
 * that nobody gossips and nobody waits.
 */
import { loadDaemonConfig } from '../node/config.ts';
import { dataOptionsOf, type DataOptions, type Dataset } from '../train/dataset.ts';
import type { OptimizerName } from '../train/trainer.ts';
import type { ClusterResults } from './results.ts';

/**
 * At most this many samples per baseline (all nodes together), so the
 * yardstick of a long run stays bounded: about 20 s per baseline for the
 * mlp on the 2-core reference machine (measured: the default 2-minute run,
 * 2 x 174k samples in 21 s on wasm, evaluations included), several times
 * that for the cnn. On the embedded MNIST (8,000 training rows) that is 37
 * passes over the data, far past where either baseline stops moving.
 */
export const MAX_BASELINE_SAMPLES = 300_000;

/** Curve points per baseline: one progress line each. */
const BASELINE_PROGRESS_POINTS = 4;

/** How the daemons trained: what the baselines must use to compare like with like. */
export interface BaselineTraining {
  optimizer: OptimizerName;
  learningRate: number;
  /** Samples per training step. */
  batchSize: number;
}

export interface Baselines {
  status: 'done';
  /** Mean over all nodes of the samples each daemon trained itself (training.steps x batch size, over restarts; distillation not counted). */
  daemonSamplesPerNode: number;
  /** Samples each local-only node trained; the centralized model trained `nodes` times this. daemonSamplesPerNode unless `capped`. */
  samplesPerNode: number;
  /** True when MAX_BASELINE_SAMPLES cut the budget below what the daemons trained. */
  capped: boolean;
  training: BaselineTraining;
  /** TensorFlow.js backend the baselines trained on. */
  backend: string;
  /** One model trained on all the training rows, accuracy on the full test split. */
  centralizedAccuracy: number;
  /** Every node alone on its own partition: mean and worst accuracy over the nodes, full test split. */
  localMeanAccuracy: number;
  localWorstAccuracy: number;
  /** Wall time both baselines took, seconds. */
  seconds: number;
}

/** What results.json holds under `baselines`: the figures, or why there are none. */
export type BaselineOutcome = Baselines | { status: 'skipped'; reason: string };

/**
 * The optimizer, learning rate and batch size the cluster's daemons trained
 * with: the daemon's defaults (src/node/config.ts) under the same precedence
 * the daemon applies to the --daemon-arg flags and GOSSIP_LEARN_* variables
 * it was started with. Throws the daemon's ConfigError for flags the daemon
 * itself would refuse.
 */
export async function daemonTraining(daemonArgs: readonly string[], env: NodeJS.ProcessEnv): Promise<BaselineTraining> {
  const { config } = await loadDaemonConfig([...daemonArgs], env);
  if (config === null) throw new Error('--daemon-arg=--help is not a daemon setting');
  return { optimizer: config.optimizer, learningRate: config.learningRate, batchSize: config.batchSize };
}

/** The data schema the cluster's daemons read their data with (--classes, --csv-delimiter, --normalization, --test-data as --daemon-arg). */
export async function daemonDataOptions(daemonArgs: readonly string[], env: NodeJS.ProcessEnv): Promise<DataOptions> {
  const { config } = await loadDaemonConfig([...daemonArgs], env);
  if (config === null) throw new Error('--daemon-arg=--help is not a daemon setting');
  return dataOptionsOf(config);
}

export type BaselineBudget =
  | { ok: true; daemonSamplesPerNode: number; samplesPerNode: number; capped: boolean }
  | { ok: false; reason: string };

/**
 * Samples per node for the baselines: the mean over all `config.nodes` nodes
 * of training steps x `batchSize` (a node that never trained counts 0),
 * capped so that one baseline trains at most `maxSamples` in all.
 */
export function baselineBudget(results: ClusterResults, batchSize: number, maxSamples = MAX_BASELINE_SAMPLES): BaselineBudget {
  const nodes = Math.max(results.config.nodes, results.nodes.length);
  if (results.nodes.some((n) => n.final.trainingSteps === undefined)) {
    return { ok: false, reason: 'results.json has no training step counts (it was written before the launcher recorded them)' };
  }
  const steps = results.nodes.reduce((sum, n) => sum + (n.final.trainingSteps ?? 0), 0);
  const daemonSamplesPerNode = Math.round((steps * batchSize) / nodes);
  if (daemonSamplesPerNode < batchSize) return { ok: false, reason: 'the daemons trained less than one batch per node' };
  const cap = Math.floor(maxSamples / nodes);
  return { ok: true, daemonSamplesPerNode, samplesPerNode: Math.min(daemonSamplesPerNode, cap), capped: daemonSamplesPerNode > cap };
}

export interface BaselineOptions {
  /** One line per step: what runs, then each curve point. */
  onProgress?: (line: string) => void;
  /** Aborts between two training slices; the outcome is then 'skipped'. */
  signal?: AbortSignal;
  /** The data to use instead of loading `results.config.data` (tests). */
  data?: Dataset;
  /** How the daemons read `results.config.data` (--classes, --normalization, ... given as --daemon-arg; daemonDataOptions). */
  dataOptions?: DataOptions;
  /** Cap of samples per baseline (default MAX_BASELINE_SAMPLES). */
  maxSamples?: number;
}

const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;
const count = (n: number): string => n.toLocaleString('en-US');

/**
 * Trains the centralized and the local-only baseline of a finished (or
 * partial) run in this process. Never throws for a run it cannot measure:
 * the outcome is then { status: 'skipped', reason } (old results.json, no
 * training, an unknown model, data that will not load, an abort).
 */
export async function computeBaselines(results: ClusterResults, training: BaselineTraining, options: BaselineOptions = {}): Promise<BaselineOutcome> {
  const c = results.config;
  const say = options.onProgress ?? (() => {});
  const budget = baselineBudget(results, training.batchSize, options.maxSamples);
  if (!budget.ok) return { status: 'skipped', reason: budget.reason };
  const started = performance.now();
  try {
    // Loaded here, not at the top: the launcher process stays light while the daemons run.
    const [{ simulate }, { initBackend, isBackendName }, { loadDataset }, { isModelName }, { DEFAULT_PACING }] = await Promise.all([
      import('../sim/simulate.ts'),
      import('../train/backend.ts'),
      import('../train/dataset.ts'),
      import('../train/models.ts'),
      import('../core/pacing.ts'),
    ]);
    if (!isModelName(c.model)) return { status: 'skipped', reason: `'${c.model}' is not a registry model` };
    const requested = c.backend ?? 'auto';
    if (requested !== 'auto' && !isBackendName(requested)) return { status: 'skipped', reason: `'${requested}' is not a backend` };
    const backend = await initBackend(requested);
    const data = options.data ?? (await loadDataset(c.data, options.dataOptions ?? {}));
    const nodes = c.nodes;
    say(
      `baselines: ${count(budget.samplesPerNode)} samples per node` +
        (budget.capped ? ` (capped; the daemons trained ${count(budget.daemonSamplesPerNode)})` : ' (as the daemons trained)') +
        `, ${training.optimizer} lr ${training.learningRate} batch ${training.batchSize}, ${backend}`,
    );
    const common = {
      data,
      partition: c.partition,
      numNodes: nodes,
      model: c.model,
      seed: c.seed,
      samplesPerNode: budget.samplesPerNode,
      training,
      // Pacing only orders the virtual schedule here (nobody gossips); the cluster's, with at least one step per interval.
      pacing: { ...DEFAULT_PACING, intervalMs: c.exchangeIntervalMs, dutyCycle: c.dutyCycle, stepsPerInterval: Math.max(1, c.stepsPerInterval) },
      partners: 0,
      evalPoints: BASELINE_PROGRESS_POINTS,
      evalRows: 0,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    };
    const total = budget.samplesPerNode * nodes;
    // Progress on the points in between; the final one is in the summary.
    const between = (samples: number): boolean => samples > 0 && samples < total;
    const central = await simulate({
      ...common,
      mode: 'centralized',
      onPoint: (p) => between(p.samples) && say(`baselines: centralized ${count(p.samples)}/${count(total)} samples, accuracy ${percent(p.meanAccuracy)}`),
    });
    const local = await simulate({
      ...common,
      mode: 'local',
      onPoint: (p) =>
        between(p.samples) && say(`baselines: local-only ${count(p.samples)}/${count(total)} samples, mean ${percent(p.meanAccuracy)}, worst ${percent(p.worstAccuracy)}`),
    });
    const centralized = central.curve.at(-1);
    const alone = local.curve.at(-1);
    if (centralized === undefined || alone === undefined) return { status: 'skipped', reason: 'the simulator returned no curve' };
    const round = (x: number): number => Math.round(x * 10_000) / 10_000;
    return {
      status: 'done',
      daemonSamplesPerNode: budget.daemonSamplesPerNode,
      samplesPerNode: budget.samplesPerNode,
      capped: budget.capped,
      training,
      backend,
      centralizedAccuracy: round(centralized.meanAccuracy),
      localMeanAccuracy: round(alone.meanAccuracy),
      localWorstAccuracy: round(alone.worstAccuracy),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } catch (err) {
    if (options.signal?.aborted) return { status: 'skipped', reason: 'interrupted' };
    return { status: 'skipped', reason: (err as Error).message };
  }
}

/**
 * One line that places the swarm between its baselines, e.g. "the swarm
 * 78.6%; one model on all the data 91.0%, each node alone 46.7% (worst
 * 33.3%), at 38,400 samples per node"; for a skipped outcome, why.
 */
export function describeBaselines(outcome: BaselineOutcome | undefined, swarmMeanAccuracy: number | null): string {
  if (outcome === undefined) return 'no baselines in results.json';
  if (outcome.status === 'skipped') return `baselines skipped: ${outcome.reason}`;
  const swarm = swarmMeanAccuracy === null ? '–' : percent(swarmMeanAccuracy);
  return (
    `the swarm ${swarm}; one model on all the data ${percent(outcome.centralizedAccuracy)}, ` +
    `each node alone ${percent(outcome.localMeanAccuracy)} (worst ${percent(outcome.localWorstAccuracy)}), ` +
    `at ${count(outcome.samplesPerNode)} samples per node${outcome.capped ? ` (capped; the daemons trained ${count(outcome.daemonSamplesPerNode)})` : ''}`
  );
}
