/**
 * In-process gossip simulation: N nodes in one process, each with its own
 * model, trainer and data partition, exchanging frames through the REAL
 * session (src/protocol/session.ts), codec and merge rules
 * (src/train/merge.ts); only the stream is replaced by handing bytes across.
 * Time is counted in samples processed, not seconds, so runs compare at equal
 * work on a noisy shared machine.
 *
 *   const run = await simulate({ data, partition: 'dirichlet:0.3', numNodes: 8, model: 'mlp',
 *     seed: 1, samplesPerNode: 24_000, mode: 'gossip', codec: 'topk:0.01+q4', pacing: DEFAULT_PACING });
 *   run.curve.at(-1)  // { samples, meanAccuracy, worstAccuracy, bytesPerNode }
 *
 * Schedule of a gossip run, one round at a time: every node trains
 * `localStepsPerExchange` batches, then every node (in a seeded random
 * order) initiates one push-pull exchange with a random partner. All nodes
 * start from the same seeded initialization, as daemons started with the same
 * --seed do.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset, Split } from '../train/dataset.ts';
import { mergePeer, mergedCounters } from '../train/merge.ts';
import type { MergeOptions } from '../train/merge.ts';
import { createModel } from '../train/models.ts';
import type { ModelName } from '../train/models.ts';
import { getFlatParams, paramCount, setFlatParams } from '../train/params.ts';
import { partitionIndices, subsetSplit } from '../train/partition.ts';
import { createRandom, deriveSeed } from '../train/random.ts';
import type { Random } from '../train/random.ts';
import { Trainer, evaluateModel } from '../train/trainer.ts';
import type { OptimizerName } from '../train/trainer.ts';
import { SessionTable } from '../protocol/session.ts';
import type { Exchange, LocalModel } from '../protocol/session.ts';

export type SimulationMode = 'centralized' | 'local' | 'gossip';

export interface Pacing {
  /** Local optimizer steps each node runs between two exchanges it initiates. */
  localStepsPerExchange: number;
  /** Merge rule (consensus step gamma, weighting, caps). */
  merge: MergeOptions;
  /**
   * Each node gossips with this many fixed partners (a random regular-ish
   * graph drawn from the seed); 0 = any other node. Few partners means few
   * per-pair replicas to bootstrap with snapshots.
   */
  partners: number;
}

export interface TrainingSetup {
  optimizer: OptimizerName;
  learningRate: number;
  batchSize: number;
}

export interface SimulationConfig {
  data: Dataset;
  partition: string;
  numNodes: number;
  model: ModelName;
  seed: number;
  mode: SimulationMode;
  /** Sample budget per node; a centralized run gets numNodes times this. */
  samplesPerNode: number;
  training: TrainingSetup;
  /** Gossip only. */
  codec?: string;
  snapshotCodec?: string;
  /** Quantizer rounding: 'stochastic' (unbiased, seeded) or 'nearest' (deterministic; the replica's error feedback removes the bias). */
  rounding?: 'stochastic' | 'nearest';
  pacing?: Pacing;
  /** Curve points (besides the start); the last one is always on the full test split. */
  evalPoints: number;
  /** Intermediate points evaluate on the first `evalRows` test rows (0 = full split). */
  evalRows: number;
  /** Called after each curve point (progress output). */
  onPoint?: (point: CurvePoint) => void;
}

export interface CurvePoint {
  /** Samples processed in total, all nodes together. */
  samples: number;
  meanAccuracy: number;
  worstAccuracy: number;
  /** Bytes sent per node so far (mean over nodes), frames included. */
  bytesPerNode: number;
  /** Test rows the accuracies were measured on. */
  testRows: number;
}

export interface SimulationResult {
  curve: CurvePoint[];
  /** Final accuracies per node on the full test split. */
  finalAccuracies: number[];
  bytesPerNode: number;
  payloadBytesPerNode: number;
  metaBytesPerNode: number;
  exchanges: number;
  snapshots: number;
  rejectedMerges: number;
  seconds: number;
}

interface SimNode {
  index: number;
  id: string;
  model: tf.LayersModel;
  trainer: Trainer;
  sessions: SessionTable | null;
  /** Age/samples the node announces (own training plus capped merged claims). */
  counters: { age: number; samplesSeen: number };
  partners: number[];
}

function firstRows(split: Split, featureCount: number, rows: number): Split {
  if (rows <= 0 || rows >= split.count) return split;
  return { x: split.x.subarray(0, rows * featureCount), y: split.y.subarray(0, rows), count: rows };
}

/** Each node gets `k` partners: a ring over a seeded permutation plus chords, symmetric. */
export function partnerGraph(numNodes: number, k: number, random: Random): number[][] {
  const partners = Array.from({ length: numNodes }, () => new Set<number>());
  if (k <= 0 || k >= numNodes - 1) {
    for (let i = 0; i < numNodes; i++) for (let j = 0; j < numNodes; j++) if (i !== j) partners[i]!.add(j);
    return partners.map((s) => [...s]);
  }
  const order = Array.from({ length: numNodes }, (_, i) => i);
  for (let i = numNodes - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  // Ring offsets 1..ceil(k/2) give every node about k neighbours and keep the graph connected.
  for (let offset = 1; offset <= Math.ceil(k / 2); offset++) {
    for (let p = 0; p < numNodes; p++) {
      const a = order[p]!;
      const b = order[(p + offset) % numNodes]!;
      partners[a]!.add(b);
      partners[b]!.add(a);
    }
  }
  return partners.map((s) => [...s].sort((x, y) => x - y));
}

function localModel(node: SimNode): LocalModel {
  return { params: getFlatParams(node.model), age: node.counters.age, samplesSeen: node.counters.samplesSeen };
}

/**
 * One push-pull exchange between two simulated nodes over an in-memory
 * "stream". Each side merges what its session hands back, as the daemon does.
 */
function runExchange(initiator: SimNode, responder: SimNode, merge: MergeOptions, tally: { rejected: number }): void {
  const applyMerge = (node: SimNode, estimate: NonNullable<ReturnType<Exchange['handle']>['merge']>): void => {
    const params = getFlatParams(node.model);
    const result = mergePeer(params, estimate, node.counters, merge);
    if (result.status !== 'merged') {
      tally.rejected += 1;
      return;
    }
    setFlatParams(node.model, params);
    node.counters = mergedCounters(node.counters, estimate, merge.capFactor);
  };
  const start = initiator.sessions!.initiate(responder.id, localModel(initiator));
  const initiatorSide = start.exchange;
  const responderSide = responder.sessions!.accept(initiator.id);
  let toResponder = start.frames;
  try {
    // At most six frames cross one stream; the bound guards against a state-machine bug looping.
    for (let round = 0; round < 6 && toResponder.length > 0; round++) {
      const toInitiator: Uint8Array[] = [];
      for (const frame of toResponder) {
        const step = responderSide.handle(frame, localModel(responder));
        if (step.merge) applyMerge(responder, step.merge);
        toInitiator.push(...step.frames);
      }
      toResponder = [];
      for (const frame of toInitiator) {
        const step = initiatorSide.handle(frame, localModel(initiator));
        if (step.merge) applyMerge(initiator, step.merge);
        toResponder.push(...step.frames);
      }
    }
  } finally {
    initiatorSide.close();
    responderSide.close();
  }
}

function evaluateAll(nodes: SimNode[], data: Dataset, rows: number): { accuracies: number[]; testRows: number } {
  const test = firstRows(data.test, data.featureCount, rows);
  const accuracies = nodes.map((n) => evaluateModel(n.model, test, data.featureCount, data.numClasses).accuracy);
  return { accuracies, testRows: test.count };
}

export async function simulate(config: SimulationConfig): Promise<SimulationResult> {
  const started = performance.now();
  const { data } = config;
  const centralized = config.mode === 'centralized';
  const nodeCount = centralized ? 1 : config.numNodes;
  const budgetPerNode = centralized ? config.samplesPerNode * config.numNodes : config.samplesPerNode;
  const pacing = config.pacing;
  if (config.mode === 'gossip' && (!pacing || !config.codec)) throw new Error('a gossip simulation needs a codec and pacing');
  const graphRandom = createRandom(deriveSeed(config.seed, 'sim-partners'));
  const graph = partnerGraph(nodeCount, pacing?.partners ?? 0, graphRandom);

  const nodes: SimNode[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const train = centralized ? data.train : subsetSplit(data.train, data.featureCount, partitionIndices(config.partition, data.train.y, data.numClasses, { seed: config.seed, nodeIndex: i, numNodes: config.numNodes }));
    const model = createModel(config.model, { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses, seed: config.seed });
    const trainer = new Trainer({ model, train, featureCount: data.featureCount, numClasses: data.numClasses, batchSize: config.training.batchSize, learningRate: config.training.learningRate, optimizer: config.training.optimizer, seed: deriveSeed(config.seed, 'sim-node', i) });
    const sessions =
      config.mode === 'gossip'
        ? new SessionTable({
            swarmId: 'simulation',
            modelHash: `${config.model}-${data.featureCount}-${data.numClasses}`,
            paramCount: paramCount(model),
            incarnation: `sim-${i}`,
            codec: config.codec!,
            ...(config.snapshotCodec ? { snapshotCodec: config.snapshotCodec } : {}),
            maxPeerRecords: Math.max(1, graph[i]!.length),
            ...(config.rounding === 'nearest' ? {} : { random: createRandom(deriveSeed(config.seed, 'sim-rounding', i)) }),
          })
        : null;
    nodes.push({ index: i, id: `node-${i}`, model, trainer, sessions, counters: { age: 0, samplesSeen: 0 }, partners: graph[i]! });
  }

  const curve: CurvePoint[] = [];
  const bytesPerNode = (): number => (config.mode === 'gossip' ? nodes.reduce((s, n) => s + n.sessions!.stats.sent.payloadBytes + n.sessions!.stats.sent.metaBytes, 0) / nodes.length : 0);
  let finalAccuracies: number[] = [];
  const record = (samples: number, full: boolean): void => {
    const { accuracies, testRows } = evaluateAll(nodes, data, full ? 0 : config.evalRows);
    if (full) finalAccuracies = accuracies;
    const point = { samples, meanAccuracy: accuracies.reduce((a, b) => a + b, 0) / accuracies.length, worstAccuracy: Math.min(...accuracies), bytesPerNode: bytesPerNode(), testRows };
    curve.push(point);
    config.onPoint?.(point);
  };

  const order = createRandom(deriveSeed(config.seed, 'sim-order'));
  const tally = { rejected: 0 };
  let exchanges = 0;
  // Samples each node has trained on; a node stops at its budget (the last batch of an epoch may be short).
  const trained = nodes.map(() => 0);
  const stepsPerRound = config.mode === 'gossip' ? pacing!.localStepsPerExchange : Math.max(1, Math.round(budgetPerNode / config.training.batchSize / 200));
  const totalSamples = (): number => trained.reduce((a, b) => a + b, 0);
  const pointEvery = (budgetPerNode * nodeCount) / config.evalPoints;
  let nextPoint = pointEvery;
  record(0, false);
  try {
    while (trained.some((t) => t < budgetPerNode)) {
      for (const node of nodes) {
        const remaining = budgetPerNode - trained[node.index]!;
        if (remaining <= 0) continue;
        const result = await node.trainer.trainSteps(Math.min(stepsPerRound, Math.ceil(remaining / config.training.batchSize)));
        trained[node.index]! += result.samples;
        node.counters = { age: node.counters.age + result.steps, samplesSeen: node.counters.samplesSeen + result.samples };
      }
      if (config.mode === 'gossip') {
        const initiators = nodes.map((n) => n.index);
        for (let i = initiators.length - 1; i > 0; i--) {
          const j = Math.floor(order() * (i + 1));
          [initiators[i], initiators[j]] = [initiators[j]!, initiators[i]!];
        }
        for (const i of initiators) {
          const partners = nodes[i]!.partners;
          const peer = partners[Math.floor(order() * partners.length)]!;
          runExchange(nodes[i]!, nodes[peer]!, pacing!.merge, tally);
          exchanges += 1;
        }
      }
      const finished = trained.every((t) => t >= budgetPerNode);
      // Points land on the budget grid; the last one waits until every node has finished.
      if (finished || (totalSamples() >= nextPoint - 1e-9 && totalSamples() < budgetPerNode * nodeCount)) {
        record(totalSamples(), finished);
        while (nextPoint <= totalSamples()) nextPoint += pointEvery;
      }
    }
    const sum = (f: (s: SessionTable) => number): number => (config.mode === 'gossip' ? nodes.reduce((s, n) => s + f(n.sessions!), 0) / nodes.length : 0);
    return {
      curve,
      finalAccuracies,
      bytesPerNode: bytesPerNode(),
      payloadBytesPerNode: sum((s) => s.stats.sent.payloadBytes),
      metaBytesPerNode: sum((s) => s.stats.sent.metaBytes),
      exchanges,
      snapshots: config.mode === 'gossip' ? nodes.reduce((s, n) => s + n.sessions!.stats.snapshotsSent, 0) : 0,
      rejectedMerges: tally.rejected,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const node of nodes) {
      node.trainer.dispose();
      node.model.dispose();
    }
  }
}
