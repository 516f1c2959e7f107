/**
 * A large simulated swarm (issue 21, `gossip-learn simulate`): N nodes in one
 * process, each running the daemon's gossip core (createGossipNode,
 * src/core/gossip-node.ts: sessions, codecs, aggregator, aggregation policy,
 * peer sampler), trained by the daemon's Trainer and DivergenceGuard, paced
 * by the daemon's pacing (src/core/pacing.ts), on a virtual clock, over a
 * simulated network (src/sim/conditions.ts: per-link latency, per-node
 * upload bandwidth, frame loss, churn). Frames are really encoded, sent as
 * bytes and decoded, so byte counts are real. Each node knows only a bounded
 * partial view of the swarm, refreshed by CYCLON shuffles
 * (src/core/partial-view.ts); its peer sampler picks partners in that view.
 *
 * Memory: one shared tfjs model and one parameter arena for all nodes
 * (src/sim/shared-model.ts); a node's optimizer state is parked in host
 * arrays between its training slices. What grows with N is the arena, the
 * parked optimizer state and the sessions' per-peer replicas (LRU-bounded
 * like the daemon's).
 *
 * What the driver does, on each node's virtual timers (none makes a
 * learning decision: the core and the trainer make them):
 *   - training: the daemon's training window (src/node/training-loop.ts):
 *     stepsPerInterval steps per TRAINING_WINDOW_MS, in slices, at most
 *     dutyCycle of the time, virtualStepMs per step;
 *   - exchanges: the daemon's exchange loop (src/node/exchange-loop.ts):
 *     one outbound exchange at a time; after it ends (or times out) the next
 *     tick comes after the jittered interval. Frames travel over SimLinks;
 *     a lost frame stalls its exchange until exchangeTimeoutMs, as a stalled
 *     stream does in the daemon;
 *   - membership: a CYCLON shuffle every shuffleIntervalMs; a shuffle with
 *     an offline peer fails (frame loss applies to model frames only);
 *   - churn: an offline node neither trains nor answers; its exchanges in
 *     flight time out; it keeps its model and comes back with it.
 *
 * Evaluation is bounded: every evalIntervalMs, a fixed seeded sample of
 * evalNodes nodes on the first evalRows rows of the test split; the final
 * point evaluates every node on the same rows.
 *
 *   const result = await simulateSwarm({ data, partition: 'dirichlet:0.3', numNodes: 1000, ... });
 *   result.curve.at(-1).meanAccuracy
 */
import { GossipError } from '../core/errors.ts';
import { createGossipNode, type GossipExchange, type GossipNode } from '../core/gossip-node.ts';
import { DEFAULT_PACING, exchangeDelayMs, nextSliceSteps, TRAINING_WINDOW_MS, trainingRestMs, validatePacing, type Pacing } from '../core/pacing.ts';
import { PartialView } from '../core/partial-view.ts';
import { GossipLearnError } from '../common/errors.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { createAggregator } from '../train/aggregators/index.ts';
import type { Dataset, Split } from '../train/dataset.ts';
import { DivergenceGuard } from '../train/divergence-guard.ts';
import { partitionIndices, subsetSplit } from '../train/partition.ts';
import { createRandom, deriveSeed, permutation, type Random } from '../train/random.ts';
import type { Trainer } from '../train/trainer.ts';
import { churnSchedule, SimLinks, type ChurnSpec, type NetworkConditions } from './conditions.ts';
import { SharedModel } from './shared-model.ts';
import type { GossipSetup, TrainingSetup } from './sim-node.ts';
import { simNodeId } from './sim-node.ts';
import { VirtualClock } from './virtual-clock.ts';

/** Virtual ms per training step: the in-process simulator's (src/sim/simulate.ts DEFAULT_VIRTUAL_STEP_MS). */
export const SWARM_VIRTUAL_STEP_MS = 5;
/** An exchange not finished after this long is abandoned by both sides: the daemon's EXCHANGE_TIMEOUT_MS (src/node/constants.ts). */
export const SWARM_EXCHANGE_TIMEOUT_MS = 30_000;

/** The partial view (src/core/partial-view.ts). */
export interface ViewSetup {
  /** Peers a node knows (>= 1); the daemon's session table keeps replicas for 16 (src/protocol/session.ts). */
  size: number;
  /** Entries exchanged per shuffle (1..size). */
  shuffleLength: number;
  /** Virtual ms between two shuffles a node starts (> 0). */
  shuffleIntervalMs: number;
}

export const DEFAULT_VIEW: Readonly<ViewSetup> = Object.freeze({ size: 16, shuffleLength: 4, shuffleIntervalMs: 10_000 });

export interface SwarmConfig {
  data: Dataset;
  partition: string;
  numNodes: number;
  /** A --model spec: a registry name or `PATH/model.json` (built once, src/sim/shared-model.ts). */
  model: string;
  seed: number;
  training: TrainingSetup;
  gossip: GossipSetup;
  pacing?: Pacing;
  virtualStepMs?: number;
  /** Simulated time to run, ms (> 0). */
  durationMs: number;
  network: NetworkConditions;
  churn: ChurnSpec;
  view: ViewSetup;
  exchangeTimeoutMs?: number;
  /** Virtual ms between two curve points (> 0). */
  evalIntervalMs: number;
  /** Nodes evaluated at each intermediate point (a fixed seeded sample; >= numNodes: all). */
  evalNodes: number;
  /** Test rows every point evaluates on (the first ones of the test split; 0 = all). */
  evalRows: number;
  /** Mean accuracy whose first crossing is reported as timeToTargetMs (optional). */
  targetAccuracy?: number;
  /** Called after each curve point (progress output). */
  onPoint?: (point: SwarmPoint) => void;
  /** Stops between two events: simulateSwarm then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface SwarmPoint {
  /** Virtual time, ms. */
  timeMs: number;
  meanAccuracy: number;
  worstAccuracy: number;
  /** Accuracy percentiles over the evaluated nodes (nearest rank). */
  p10Accuracy: number;
  p50Accuracy: number;
  p90Accuracy: number;
  /** Nodes evaluated, test rows each. */
  evaluatedNodes: number;
  testRows: number;
  /** Bytes sent per node so far (all nodes' frames / N). */
  bytesPerNode: number;
  /** Frames sent and lost so far, all nodes. */
  messages: number;
  drops: number;
  /** Nodes online at this instant. */
  online: number;
  /** Wall seconds since the run started. */
  wallSeconds: number;
}

export interface SwarmResult {
  curve: SwarmPoint[];
  /** Every node's final accuracy on the evaluation rows. */
  finalAccuracies: number[];
  finalMeanAccuracy: number;
  finalWorstAccuracy: number;
  bytesPerNode: number;
  payloadBytesPerNode: number;
  metaBytesPerNode: number;
  /** Sum of the lengths of every frame put on the simulated network. */
  networkBytes: number;
  messages: number;
  drops: number;
  exchanges: { started: number; completed: number; timedOut: number; failedDials: number; merges: number; rejectedMerges: number };
  shuffles: { started: number; failed: number };
  /** Parameters per model. */
  paramCount: number;
  /** The name nodes announce the model under (`file:<hash>` for a model file) and its hash (topology, weight shapes, data schema). */
  modelName: string;
  modelHash: string;
  virtualMs: number;
  wallSeconds: number;
  /** Virtual ms of the first curve point at or above targetAccuracy; null if never (or no target). */
  timeToTargetMs: number | null;
}

/** Thrown for a configuration simulateSwarm cannot run (reason 'bad-config'). */
export class SwarmConfigError extends GossipLearnError<'bad-config'> {
  override readonly name = 'SwarmConfigError';
  constructor(message: string) {
    super('bad-config', message);
  }
}

interface SwarmNode {
  index: number;
  id: string;
  trainer: Trainer;
  guard: DivergenceGuard;
  gossip: GossipNode;
  view: PartialView;
  random: Random;
  /** Online intervals [fromMs, toMs). */
  schedule: Array<[number, number]>;
  online: boolean;
  /** Bumped at every going-online: a timer scheduled under an older epoch is void. */
  epoch: number;
}

/** One exchange in flight between two nodes. */
interface Flow {
  initiator: SwarmNode;
  responder: SwarmNode;
  /** The initiator's epoch when it started (its next tick belongs to that epoch). */
  epoch: number;
  /** Each side until it is done (then null: a finished flow that a pending timeout still holds must not keep the pair's replicas alive). */
  sides: { initiator: GossipExchange | null; responder: GossipExchange | null };
  startedMs: number;
  /** A frame was lost in this direction: later frames on the stream do not arrive either. */
  lost: { toResponder: boolean; toInitiator: boolean };
  /** A side is done (finished, failed or timed out) and closed. */
  initiatorDone: boolean;
  responderDone: boolean;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function firstRows(split: Split, featureCount: number, rows: number): Split {
  if (rows <= 0 || rows >= split.count) return split;
  return { x: split.x.subarray(0, rows * featureCount), y: split.y.subarray(0, rows), count: rows };
}

function validate(config: SwarmConfig): void {
  const bad = (message: string): never => {
    throw new SwarmConfigError(message);
  };
  if (!Number.isSafeInteger(config.numNodes) || config.numNodes < 2) bad(`a swarm needs at least 2 nodes, got ${config.numNodes}`);
  if (!(config.durationMs > 0) || !Number.isFinite(config.durationMs)) bad(`the simulated duration must be more than 0 ms, got ${config.durationMs}`);
  if (!(config.evalIntervalMs > 0)) bad(`the evaluation interval must be more than 0 ms, got ${config.evalIntervalMs}`);
  if (!Number.isSafeInteger(config.evalNodes) || config.evalNodes < 1) bad(`evalNodes must be an integer >= 1, got ${config.evalNodes}`);
  if (!Number.isSafeInteger(config.evalRows) || config.evalRows < 0) bad(`evalRows must be an integer >= 0, got ${config.evalRows}`);
  if (!(config.view.shuffleIntervalMs > 0)) bad(`the shuffle interval must be more than 0 ms, got ${config.view.shuffleIntervalMs}`);
  if (!((config.exchangeTimeoutMs ?? SWARM_EXCHANGE_TIMEOUT_MS) > 0)) bad('the exchange timeout must be more than 0 ms');
  if (!((config.virtualStepMs ?? SWARM_VIRTUAL_STEP_MS) > 0)) bad('virtualStepMs must be more than 0');
  try {
    validatePacing(config.pacing ?? DEFAULT_PACING);
    new PartialView({ self: 'check', size: config.view.size, shuffleLength: config.view.shuffleLength, random: Math.random });
  } catch (err) {
    bad((err as Error).message);
  }
}

/** Runs one swarm for `durationMs` of virtual time. Throws SwarmConfigError (or the partition's, model's or codec's error; a model file that does not fit the data: ModelError naming it) for a bad configuration. */
export async function simulateSwarm(config: SwarmConfig): Promise<SwarmResult> {
  validate(config);
  const started = performance.now();
  const wallSeconds = (): number => (performance.now() - started) / 1000;
  const { data, numNodes } = config;
  const pacing = config.pacing ?? DEFAULT_PACING;
  const stepMs = config.virtualStepMs ?? SWARM_VIRTUAL_STEP_MS;
  const timeoutMs = config.exchangeTimeoutMs ?? SWARM_EXCHANGE_TIMEOUT_MS;
  const clock = new VirtualClock();
  const links = new SimLinks(config.network, numNodes, config.seed);
  const shared = await SharedModel.create({ model: config.model, data, seed: config.seed, nodes: numNodes });
  const nodes: SwarmNode[] = [];
  try {
    const initial = shared.slot(0).slice();
    for (let i = 0; i < numNodes; i++) {
      const train = subsetSplit(data.train, data.featureCount, partitionIndices(config.partition, data.train.y, data.numClasses, { seed: config.seed, nodeIndex: i, numNodes }));
      const trainer = await shared.createTrainer({ train, batchSize: config.training.batchSize, learningRate: config.training.learningRate, optimizer: config.training.optimizer, seed: deriveSeed(config.seed, 'sim-node', i) });
      const store = shared.slotModel(i, trainer);
      const guard = new DivergenceGuard({ model: store, numClasses: data.numClasses });
      const random = createRandom(deriveSeed(config.seed, 'sim-gossip', i));
      const setup = config.gossip;
      const gossip = createGossipNode({
        swarmId: setup.swarmId ?? 'simulation',
        modelHash: shared.modelHash,
        paramCount: shared.paramCount,
        model: guard,
        incarnation: `sim-${i}`,
        codec: setup.codec,
        ...(setup.snapshotCodec === undefined ? {} : { snapshotCodec: setup.snapshotCodec }),
        // Every node starts from the same seeded model: pairs start with a delta against it.
        initialParams: initial,
        aggregator: createAggregator(setup.aggregator, setup.mergeOptions ?? {}),
        random,
        ...(setup.rounding === 'stochastic' ? { rounding: createRandom(deriveSeed(config.seed, 'sim-rounding', i)) } : {}),
        now: () => clock.now(),
        ...(setup.localStepsPerExchange === undefined ? {} : { localStepsPerExchange: setup.localStepsPerExchange }),
        ...(setup.byteBudgetPerHour === undefined ? {} : { byteBudgetPerHour: setup.byteBudgetPerHour }),
        ...(setup.dp === undefined ? {} : { dp: { settings: setup.dp, publicBase: initial, random: createRandom(deriveSeed(config.seed, 'sim-dp', i)) } }),
      });
      const view = new PartialView({ self: simNodeId(i), size: config.view.size, shuffleLength: config.view.shuffleLength, random: createRandom(deriveSeed(config.seed, 'sim-view', i)) });
      const schedule = churnSchedule(config.churn, i, config.durationMs, createRandom(deriveSeed(config.seed, 'sim-churn', i)));
      nodes.push({ index: i, id: simNodeId(i), trainer, guard, gossip, view, random, schedule, online: false, epoch: 0 });
    }
    // Bootstrap: each node starts knowing `size` random others (CYCLON's experiments start from a random graph).
    const bootstrap = createRandom(deriveSeed(config.seed, 'sim-bootstrap'));
    for (const node of nodes) {
      const order = permutation(numNodes, bootstrap);
      node.view.add(Array.from(order.subarray(0, config.view.size + 1), (j) => simNodeId(j)));
    }
    const byId = new Map(nodes.map((n) => [n.id, n]));

    const counters = { started: 0, completed: 0, timedOut: 0, failedDials: 0, rejectedMerges: 0, shuffles: 0, shufflesFailed: 0 };

    // ---- training: the daemon's training window on the virtual clock ----
    const trainWindow = (node: SwarmNode, epoch: number, windowStartMs: number, done: number): void => {
      if (!node.online || node.epoch !== epoch) return;
      const steps = nextSliceSteps(pacing.stepsPerInterval, done);
      if (steps === 0) {
        const next = Math.max(windowStartMs + TRAINING_WINDOW_MS, clock.now());
        clock.schedule(next, () => trainWindow(node, epoch, next, 0));
        return;
      }
      clock.schedule(clock.now(), async () => {
        if (!node.online || node.epoch !== epoch) return;
        const result = await shared.train(node.index, node.trainer, steps);
        node.guard.afterTraining(result);
        node.gossip.noteLocalSteps(result.steps);
        const busyMs = result.steps * stepMs;
        clock.schedule(clock.now() + busyMs + trainingRestMs(busyMs, pacing.dutyCycle), () => trainWindow(node, epoch, windowStartMs, done + result.steps));
      });
    };

    // ---- exchanges: the daemon's exchange loop, frames over SimLinks ----
    const nextTick = (node: SwarmNode, epoch: number): void => {
      clock.schedule(clock.now() + exchangeDelayMs(pacing, node.random), () => exchangeTick(node, epoch));
    };
    /** The initiator's side ends: its outcome goes to its peer sampler, and its loop ticks again. */
    const endInitiator = (flow: Flow, ok: boolean): void => {
      if (flow.initiatorDone) return;
      flow.initiatorDone = true;
      flow.sides.initiator?.close();
      flow.sides.initiator = null;
      flow.initiator.gossip.reportOutcome(flow.responder.id, { ok, durationMs: clock.now() - flow.startedMs });
      if (ok) counters.completed += 1;
      nextTick(flow.initiator, flow.epoch);
    };
    const endResponder = (flow: Flow): void => {
      if (flow.responderDone) return;
      flow.responderDone = true;
      flow.sides.responder?.close();
      flow.sides.responder = null;
    };
    const send = (flow: Flow, fromInitiator: boolean, frames: readonly Uint8Array[]): void => {
      const from = fromInitiator ? flow.initiator : flow.responder;
      const to = fromInitiator ? flow.responder : flow.initiator;
      for (const frame of frames) {
        const arrival = links.transmit(from.index, to.index, frame.length, clock.now());
        if (arrival === null) {
          if (fromInitiator) flow.lost.toResponder = true;
          else flow.lost.toInitiator = true;
          continue;
        }
        clock.schedule(arrival, () => deliver(flow, !fromInitiator, frame));
      }
    };
    const deliver = (flow: Flow, toInitiator: boolean, frame: Uint8Array): void => {
      if (toInitiator ? flow.initiatorDone || flow.lost.toInitiator : flow.responderDone || flow.lost.toResponder) return;
      const node = toInitiator ? flow.initiator : flow.responder;
      if (!node.online) return;
      const side = toInitiator ? flow.sides.initiator : flow.sides.responder;
      if (side === null) return;
      let step;
      try {
        step = side.receive(frame);
      } catch (err) {
        // The aggregator refused the peer's model (the pair is dropped on that side), or a frame was refused: the stream is reset, both sides end.
        if (err instanceof GossipError || err instanceof ProtocolError) {
          if (err instanceof GossipError && err.reason === 'merge-rejected') counters.rejectedMerges += 1;
          endResponder(flow);
          endInitiator(flow, false);
          return;
        }
        throw err;
      }
      send(flow, toInitiator, step.frames);
      if (!side.done) return;
      if (!toInitiator) return endResponder(flow);
      endInitiator(flow, side.outcome === 'merged');
      // The initiator closes its stream: the responder (waiting for a NEED_BASE or the end) sees the end a latency later.
      clock.schedule(clock.now() + links.latencyMs(flow.initiator.index, flow.responder.index), () => endResponder(flow));
    };
    const exchangeTick = (node: SwarmNode, epoch: number): void => {
      if (!node.online || node.epoch !== epoch) return;
      const choice = node.gossip.nextExchange(node.view.ids());
      if (choice.peerId === null) return nextTick(node, epoch);
      const peer = byId.get(choice.peerId)!;
      const start = node.gossip.initiate(peer.id);
      if (start === null) return nextTick(node, epoch);
      counters.started += 1;
      if (!peer.online) {
        // A dial to a node that is gone fails after a round trip (connection refused / reset).
        counters.failedDials += 1;
        start.exchange.close();
        const at = clock.now() + 2 * links.latencyMs(node.index, peer.index);
        clock.schedule(at, () => {
          node.gossip.reportOutcome(peer.id, { ok: false, durationMs: clock.now() - at });
          nextTick(node, epoch);
        });
        return;
      }
      const flow: Flow = {
        initiator: node,
        responder: peer,
        epoch,
        sides: { initiator: start.exchange, responder: peer.gossip.accept(node.id) },
        startedMs: clock.now(),
        lost: { toResponder: false, toInitiator: false },
        initiatorDone: false,
        responderDone: false,
      };
      send(flow, true, start.frames);
      // A stalled stream (a lost frame, a peer gone offline) is abandoned by both sides.
      clock.schedule(clock.now() + timeoutMs, () => {
        if (!flow.initiatorDone) counters.timedOut += 1;
        endResponder(flow);
        endInitiator(flow, false);
      });
    };

    // ---- membership: CYCLON shuffles ----
    const shuffleTick = (node: SwarmNode, epoch: number): void => {
      if (!node.online || node.epoch !== epoch) return;
      const shuffle = node.view.startShuffle();
      if (shuffle !== null) {
        counters.shuffles += 1;
        const peer = byId.get(shuffle.target)!;
        const rtt = 2 * links.latencyMs(node.index, peer.index);
        clock.schedule(clock.now() + rtt, () => {
          if (!peer.online) {
            counters.shufflesFailed += 1;
            return;
          }
          const answer = peer.view.answerShuffle(node.id, shuffle.offer);
          node.view.completeShuffle(shuffle.offer, answer);
        });
      }
      clock.schedule(clock.now() + exchangeDelayMs({ intervalMs: config.view.shuffleIntervalMs, jitterFraction: pacing.jitterFraction }, node.random), () => shuffleTick(node, epoch));
    };

    // ---- churn ----
    const goOnline = (node: SwarmNode, untilMs: number): void => {
      node.online = true;
      node.epoch += 1;
      const epoch = node.epoch;
      trainWindow(node, epoch, clock.now(), 0);
      nextTick(node, epoch);
      clock.schedule(clock.now() + exchangeDelayMs({ intervalMs: config.view.shuffleIntervalMs, jitterFraction: pacing.jitterFraction }, node.random), () => shuffleTick(node, epoch));
      if (untilMs < config.durationMs) clock.schedule(untilMs, () => goOffline(node));
    };
    const goOffline = (node: SwarmNode): void => {
      node.online = false;
      // Its streams die with it: the peer's side times out (flows stay until their timeout).
    };
    for (const node of nodes) for (const [from, to] of node.schedule) clock.schedule(from, () => goOnline(node, to));

    // ---- evaluation ----
    const test = firstRows(data.test, data.featureCount, config.evalRows);
    const sample = numNodes <= config.evalNodes ? nodes.map((n) => n.index) : Array.from(permutation(numNodes, createRandom(deriveSeed(config.seed, 'sim-eval-sample'))).subarray(0, config.evalNodes)).sort((a, b) => a - b);
    const curve: SwarmPoint[] = [];
    let timeToTargetMs: number | null = null;
    const bytesPerNode = (): number => nodes.reduce((s, n) => s + n.gossip.sessions.stats.sent.payloadBytes + n.gossip.sessions.stats.sent.metaBytes, 0) / numNodes;
    const record = (indices: readonly number[]): number[] => {
      const accuracies = indices.map((i) => shared.accuracy(i, test));
      const sorted = accuracies.slice().sort((a, b) => a - b);
      const mean = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
      const point: SwarmPoint = {
        timeMs: clock.now(),
        meanAccuracy: mean,
        worstAccuracy: sorted[0]!,
        p10Accuracy: percentile(sorted, 0.1),
        p50Accuracy: percentile(sorted, 0.5),
        p90Accuracy: percentile(sorted, 0.9),
        evaluatedNodes: indices.length,
        testRows: test.count,
        bytesPerNode: bytesPerNode(),
        messages: links.framesSent,
        drops: links.framesDropped,
        online: nodes.reduce((s, n) => s + (n.online ? 1 : 0), 0),
        wallSeconds: wallSeconds(),
      };
      curve.push(point);
      if (timeToTargetMs === null && config.targetAccuracy !== undefined && mean >= config.targetAccuracy) timeToTargetMs = point.timeMs;
      config.onPoint?.(point);
      return accuracies;
    };
    const evalTick = (): void => {
      if (clock.now() >= config.durationMs) return;
      record(sample);
      clock.schedule(clock.now() + config.evalIntervalMs, evalTick);
    };
    clock.schedule(0, evalTick);

    const aborted = (): boolean => config.signal?.aborted === true;
    await clock.run(() => clock.peekMs() > config.durationMs || aborted());
    config.signal?.throwIfAborted();
    // The end of the run: virtual time stops at durationMs.
    clock.schedule(config.durationMs, () => {});
    await clock.run(() => clock.peekMs() > config.durationMs);
    const finalAccuracies = record(nodes.map((n) => n.index));
    const sent = (f: (n: SwarmNode) => number): number => nodes.reduce((s, n) => s + f(n), 0) / numNodes;
    return {
      curve,
      finalAccuracies,
      finalMeanAccuracy: curve.at(-1)!.meanAccuracy,
      finalWorstAccuracy: curve.at(-1)!.worstAccuracy,
      bytesPerNode: bytesPerNode(),
      payloadBytesPerNode: sent((n) => n.gossip.sessions.stats.sent.payloadBytes),
      metaBytesPerNode: sent((n) => n.gossip.sessions.stats.sent.metaBytes),
      networkBytes: links.bytesSent,
      messages: links.framesSent,
      drops: links.framesDropped,
      exchanges: { ...pick(counters, ['started', 'completed', 'timedOut', 'failedDials', 'rejectedMerges']), merges: nodes.reduce((s, n) => s + n.gossip.counters.merged, 0) },
      shuffles: { started: counters.shuffles, failed: counters.shufflesFailed },
      paramCount: shared.paramCount,
      modelName: shared.modelName,
      modelHash: shared.modelHash,
      virtualMs: clock.now(),
      wallSeconds: wallSeconds(),
      timeToTargetMs,
    };
  } finally {
    for (const node of nodes) node.trainer.dispose();
    shared.dispose();
  }
}

function pick<T extends object, K extends keyof T>(object: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, object[k]])) as Pick<T, K>;
}
