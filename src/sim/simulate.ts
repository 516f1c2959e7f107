/**
 * The in-process simulator: N nodes in one process, each with its own model,
 * trainer and data partition, driving the SAME gossip core as the daemon
 * (src/core: sessions, codecs, aggregator, peer sampling, pacing) over an
 * in-memory network (network.ts) on a virtual clock (virtual-clock.ts). Only
 * the stream and the timers are replaced, so a result measured here is what
 * daemons with the same settings do. Accuracy is plotted against samples
 * processed and bytes sent, not seconds, so runs compare at equal work on a
 * noisy shared machine.
 *
 *   const run = await simulate({ data, partition: 'dirichlet:0.3', numNodes: 8, model: 'mlp', seed: 1,
 *     samplesPerNode: 24_000, mode: 'gossip', training, gossip: { codec, aggregator: 'average', rounding: 'nearest' },
 *     pacing: DEFAULT_PACING, partners: 3, evalPoints: 12, evalRows: 0 });
 *   run.curve.at(-1)  // { samples, meanAccuracy, worstAccuracy, bytesPerNode }
 *
 * Schedule, per node, as the daemon's two timers run it
 * (src/node/training-loop.ts, src/node/exchange-loop.ts): training slices of
 * the pacing's steps per training window (TRAINING_WINDOW_MS), each taking `virtualStepMs` per step and
 * followed by the duty-cycle rest; an exchange started every jittered
 * interval, when the core's aggregation policy (src/core/exchange-policy.ts:
 * H local steps, byte budget) says so, with a peer the core picks among the
 * node's neighbours in the simulated topology. A node stops training at its sample budget and keeps
 * gossiping until every node is done, and one exchange interval longer.
 */
import { GossipLearnError } from '../common/errors.ts';
import type { Pacing } from '../core/pacing.ts';
import { DEFAULT_PACING, exchangeDelayMs, nextSliceSteps, TRAINING_WINDOW_MS, trainingRestMs, validatePacing } from '../core/pacing.ts';
import type { Dataset, Split } from '../train/dataset.ts';
import type { ModelIdentity } from '../train/model-spec.ts';
import { createRandom, deriveSeed } from '../train/random.ts';
import type { Random } from '../train/random.ts';
import { evaluateModel } from '../train/trainer.ts';
import { nodeAttack, type AdversarySetup } from './adversary.ts';
import { exchangeInMemory } from './network.ts';
import { createSimNode, type GossipSetup, type SimNode, type TrainingSetup } from './sim-node.ts';
import { VirtualClock } from './virtual-clock.ts';

export type { GossipSetup, TrainingSetup } from './sim-node.ts';

export type SimulationMode = 'centralized' | 'local' | 'gossip';

/**
 * Virtual time one training step (a batch of 32) takes: ~5 ms is what the
 * wasm backend trains the mlp at (about 6k samples/s). Only the ratio to the
 * pacing's interval matters: a slice must fit into the duty cycle.
 */
export const DEFAULT_VIRTUAL_STEP_MS = 5;

export interface SimulationConfig {
  data: Dataset;
  partition: string;
  numNodes: number;
  /** A --model spec: a registry name or `PATH/model.json` (src/train/model-spec.ts); every node builds its own replica. */
  model: string;
  seed: number;
  mode: SimulationMode;
  /** Sample budget per node; a centralized run gets numNodes times this. */
  samplesPerNode: number;
  training: TrainingSetup;
  /** Required for mode 'gossip'. */
  gossip?: GossipSetup;
  /** When to train and to call (default DEFAULT_PACING, the daemon's). stepsPerInterval must be >= 1 here. */
  pacing?: Pacing;
  /**
   * Simulated topology: each node can reach this many neighbours (a random
   * regular-ish graph drawn from the seed); 0 = every other node.
   */
  partners: number;
  /** Virtual ms per training step (default DEFAULT_VIRTUAL_STEP_MS). */
  virtualStepMs?: number;
  /** Curve points (besides the start); the last one is always on the full test split. */
  evalPoints: number;
  /** Intermediate points evaluate on the first `evalRows` test rows (0 = full split). */
  evalRows: number;
  /** Called after each curve point (progress output). */
  onPoint?: (point: CurvePoint) => void;
  /** Malicious nodes and their attack (bench:poison); honest run when absent. */
  adversary?: AdversarySetup;
  /** Stops the run between two events: simulate then rejects with the signal's reason (an AbortError by default). */
  signal?: AbortSignal;
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
  /** Virtual time the run took, ms. */
  virtualMs: number;
  seconds: number;
  /** With differential privacy (gossip.dp): the largest epsilon and release count over the nodes, and how many nodes ran out of budget; else null. */
  privacy: { maxEpsilon: number; maxReleases: number; exhaustedNodes: number } | null;
  /** The model every node ran: its announced name, hash (topology, weight shapes, data schema) and parameter count. */
  model: ModelIdentity;
}

/** Thrown for a configuration the simulator cannot run (reason 'bad-config'). */
export class SimulationError extends GossipLearnError<'bad-config'> {
  override readonly name = 'SimulationError';
  constructor(message: string) {
    super('bad-config', message);
  }
}

function firstRows(split: Split, featureCount: number, rows: number): Split {
  if (rows <= 0 || rows >= split.count) return split;
  return { x: split.x.subarray(0, rows * featureCount), y: split.y.subarray(0, rows), count: rows };
}

/** Each node gets `k` neighbours: a ring over a seeded permutation plus chords, symmetric. k <= 0 or >= n-1: everyone. */
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

function evaluateAll(nodes: SimNode[], data: Dataset, rows: number): { accuracies: number[]; testRows: number } {
  const test = firstRows(data.test, data.featureCount, rows);
  const accuracies = nodes.map((n) => evaluateModel(n.live.model, test, data.featureCount, data.numClasses).accuracy);
  return { accuracies, testRows: test.count };
}

/** Runs one simulation to the sample budget. Throws SimulationError for a configuration it cannot run, ModelError (naming the file) for a model that does not fit the data. */
export async function simulate(config: SimulationConfig): Promise<SimulationResult> {
  const started = performance.now();
  const { data } = config;
  const centralized = config.mode === 'centralized';
  const gossiping = config.mode === 'gossip';
  const nodeCount = centralized ? 1 : config.numNodes;
  const budgetPerNode = centralized ? config.samplesPerNode * config.numNodes : config.samplesPerNode;
  const pacing = config.pacing ?? DEFAULT_PACING;
  const stepMs = config.virtualStepMs ?? DEFAULT_VIRTUAL_STEP_MS;
  const aborted = (): boolean => config.signal?.aborted === true;
  if (gossiping && config.gossip === undefined) throw new SimulationError('a gossip simulation needs gossip settings (codec, aggregator)');
  try {
    validatePacing(pacing);
  } catch (err) {
    throw new SimulationError(`pacing: ${(err as Error).message}`);
  }
  if (pacing.stepsPerInterval < 1) throw new SimulationError('pacing.stepsPerInterval must be >= 1 in a simulation (nodes must reach their sample budget)');
  if (!(stepMs > 0)) throw new SimulationError(`virtualStepMs must be positive, got ${stepMs}`);
  const graph = partnerGraph(nodeCount, config.partners, createRandom(deriveSeed(config.seed, 'sim-partners')));

  const clock = new VirtualClock();
  const nodes: SimNode[] = [];
  const honestModels = () => nodes.filter((n) => !(config.adversary?.nodes.includes(n.index) ?? false)).map((n) => n.live.read());
  try {
    for (let i = 0; i < nodeCount; i++) {
      nodes.push(
        await createSimNode({
          data,
          partition: config.partition,
          index: i,
          numNodes: config.numNodes,
          model: config.model,
          seed: config.seed,
          training: config.training,
          gossip: gossiping ? config.gossip! : null,
          ...(centralized ? { train: data.train } : {}),
          now: () => clock.now(),
          attack: config.adversary === undefined || !gossiping ? null : nodeAttack(config.adversary, { index: i, numNodes: nodeCount, seed: config.seed, numClasses: data.numClasses, honest: honestModels }),
        }),
      );
    }

    const curve: CurvePoint[] = [];
    const sent = (f: (n: SimNode) => number): number => (gossiping ? nodes.reduce((s, n) => s + f(n), 0) / nodes.length : 0);
    const bytesPerNode = (): number => sent((n) => n.gossip!.sessions.stats.sent.payloadBytes + n.gossip!.sessions.stats.sent.metaBytes);
    let finalAccuracies: number[] = [];
    const record = (samples: number, full: boolean): void => {
      const { accuracies, testRows } = evaluateAll(nodes, data, full ? 0 : config.evalRows);
      if (full) finalAccuracies = accuracies;
      const point = { samples, meanAccuracy: accuracies.reduce((a, b) => a + b, 0) / accuracies.length, worstAccuracy: Math.min(...accuracies), bytesPerNode: bytesPerNode(), testRows };
      curve.push(point);
      config.onPoint?.(point);
    };

    // Samples each node trained on itself (merged claims do not count toward its budget).
    const trained = nodes.map(() => 0);
    const totalSamples = (): number => trained.reduce((a, b) => a + b, 0);
    const finished = (): boolean => trained.every((t) => t >= budgetPerNode);
    const pointEvery = (budgetPerNode * nodeCount) / config.evalPoints;
    let nextPoint = pointEvery;
    let exchanges = 0;
    record(0, false);

    // The daemon's training timer (src/node/training-loop.ts) on the virtual clock.
    const trainWindow = (node: SimNode, windowStartMs: number, done: number): void => {
      const remaining = budgetPerNode - trained[node.index]!;
      if (remaining <= 0) {
        node.gossip?.setTraining(false);
        return;
      }
      const steps = Math.min(nextSliceSteps(pacing.stepsPerInterval, done), Math.ceil(remaining / config.training.batchSize));
      if (steps === 0) {
        clock.schedule(windowStartMs + TRAINING_WINDOW_MS, () => trainWindow(node, windowStartMs + TRAINING_WINDOW_MS, 0));
        return;
      }
      clock.schedule(clock.now(), async () => {
        const result = await node.live.trainer.trainSteps(steps);
        node.guard.afterTraining(result);
        node.gossip?.noteLocalSteps(result.steps);
        trained[node.index]! += result.samples;
        const total = totalSamples();
        if (!finished() && total >= nextPoint - 1e-9) {
          record(total, false);
          while (nextPoint <= total) nextPoint += pointEvery;
        }
        const busyMs = result.steps * stepMs;
        const at = clock.now() + busyMs + trainingRestMs(busyMs, pacing.dutyCycle);
        clock.schedule(at, () => trainWindow(node, windowStartMs, done + result.steps));
      });
    };
    // The daemon's exchange timer (src/node/exchange-loop.ts) on the virtual clock.
    const exchangeTimer = (node: SimNode): void => {
      clock.schedule(clock.now() + exchangeDelayMs(pacing, node.random), () => {
        const gossip = node.gossip!;
        const { peerId } = gossip.nextExchange(graph[node.index]!.map((j) => nodes[j]!.id));
        if (peerId !== null) {
          const peer = byId.get(peerId)!;
          const outcome = exchangeInMemory(gossip, node.id, peer.gossip!, peer.id, { initiator: node.tamper, responder: peer.tamper });
          if (outcome !== 'skipped') {
            exchanges += 1;
            gossip.reportOutcome(peer.id, { ok: outcome === 'merged', durationMs: 0 });
          }
        }
        exchangeTimer(node);
      });
    };
    const byId = new Map(nodes.map((n) => [n.id, n]));
    for (const node of nodes) {
      trainWindow(node, 0, 0);
      if (gossiping) exchangeTimer(node);
    }
    await clock.run(() => finished() || aborted());
    config.signal?.throwIfAborted();
    // A swarm keeps gossiping after a node's last step: one more exchange interval (no training) before the
    // final point, so the result does not depend on whether a node's last event was a step or a merge.
    if (gossiping) {
      const endMs = clock.now() + pacing.intervalMs * (1 + pacing.jitterFraction);
      await clock.run(() => clock.peekMs() > endMs || aborted());
      config.signal?.throwIfAborted();
    }
    record(totalSamples(), true);

    return {
      curve,
      finalAccuracies,
      bytesPerNode: bytesPerNode(),
      payloadBytesPerNode: sent((n) => n.gossip!.sessions.stats.sent.payloadBytes),
      metaBytesPerNode: sent((n) => n.gossip!.sessions.stats.sent.metaBytes),
      exchanges,
      snapshots: gossiping ? nodes.reduce((s, n) => s + n.gossip!.sessions.stats.snapshotsSent, 0) : 0,
      rejectedMerges: gossiping ? nodes.reduce((s, n) => s + n.gossip!.counters.mergeRejected, 0) : 0,
      virtualMs: clock.now(),
      seconds: (performance.now() - started) / 1000,
      privacy: privacySummary(nodes),
      model: { name: nodes[0]!.live.modelName, hash: nodes[0]!.live.modelHash, paramCount: nodes[0]!.live.paramCount },
    };
  } finally {
    for (const node of nodes) node.dispose();
  }
}

/** The `privacy` figure of a result: over the nodes that gossip with differential privacy, or null. */
function privacySummary(nodes: readonly SimNode[]): SimulationResult['privacy'] {
  const statuses = nodes.flatMap((n) => (n.gossip?.dp ? [n.gossip.dp.status()] : []));
  if (statuses.length === 0) return null;
  return {
    maxEpsilon: Math.max(...statuses.map((s) => s.epsilon)),
    maxReleases: Math.max(...statuses.map((s) => s.releases)),
    exhaustedNodes: statuses.filter((s) => s.exhausted).length,
  };
}
