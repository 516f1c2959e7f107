/**
 * The gossip core of one node: every decision a node makes about gossip, with
 * no I/O. It owns the per-peer sessions (src/protocol/session.ts: what to
 * send, delta or snapshot, replicas), the aggregator (how to merge,
 * src/train/aggregators), the peer sampler (whom to call, peer-sampler.ts)
 * and the counters. Pacing (when to train and to call) is in pacing.ts.
 * Clock and randomness come in through the session config and the sampler.
 *
 * Two drivers run it: the daemon (src/node/exchange-service.ts moves the
 * frames over libp2p streams, src/node/exchange-loop.ts calls on real
 * timers) and the simulator (src/sim: in-memory network, virtual clock).
 * Neither makes a learning decision of its own, so what the simulator
 * measures is what the daemon does.
 *
 *   const node = new GossipNode({ sessions, model: liveModel, aggregator: createAggregator('average'), sampler });
 *   const peer = node.choosePeer(candidates);
 *   const start = node.initiate(peer);              // null: an exchange with that peer is already running
 *   send(start.frames);
 *   while (!start.exchange.done) send(start.exchange.receive(await readFrame()).frames);
 *   node.reportOutcome(peer, { ok: true, durationMs });
 *
 * An inbound stream: `const exchange = node.accept(peerId)`, then the same
 * receive loop. `receive` throws ProtocolError (a bad frame: nothing merged)
 * and GossipError('merge-rejected') (the aggregator refused the peer's
 * model: the model is untouched and the pair's replicas are dropped, so both
 * sides resync). Always `close()` an exchange that ends early.
 *
 * With differential privacy (`dp` in the setup, dp-release.ts) every model
 * frame is computed from the node's released model instead of the local
 * one, one release per exchange and side; once the budget is spent
 * `initiate` returns null and `accept` answers BUSY. A release refused in
 * the middle of an exchange (another exchange spent the last of the budget)
 * makes `receive` throw GossipError('privacy-budget').
 */
import { GossipError } from './errors.ts';
import { Exchange, SessionError, SessionTable, type ExchangeOutcome, type FrameBytes, type LocalModel } from '../protocol/session.ts';
import { createCodec } from '../protocol/codec/index.ts';
import { FRAME_FIXED_BYTES } from '../protocol/frame.ts';
import type { Aggregator } from '../train/aggregators/index.ts';
import type { LocalModelStore } from '../train/model-state.ts';
import { relativeDistance } from '../train/merge.ts';
import { PeerSampler, type PeerOutcome } from './peer-sampler.ts';
import { ExchangePolicy, type SkipReason } from './exchange-policy.ts';
import { DpRelease, type DpReleaseOptions, type DpSettings } from './dp-release.ts';

export interface GossipNodeOptions {
  /** Per-peer exchange state (swarm, model hash, codec, incarnation, rounding randomness, clock). */
  sessions: SessionTable;
  /** The local model the node reads to send and writes merges into. */
  model: LocalModelStore;
  aggregator: Aggregator;
  sampler: PeerSampler;
  /** When to start an exchange (default: on every tick, no byte budget). */
  policy?: ExchangePolicy;
  /** Differential privacy (dp-release.ts): every model frame is computed from the released model instead of the local one. */
  dp?: DpRelease | null;
  /** Accounts the work of each phase (the daemon measures CPU time, src/node/cpu-accounting.ts); default: none. */
  meter?: WorkMeter;
}

/** The phases of the core's work a driver may account: encoding and decoding frames (codec, replicas, DP noise), and merging. */
export type CorePhase = 'codec' | 'merging';

/**
 * Runs each phase of the core's work through the driver, which may measure it
 * (the core itself reads no clock). `measure` must return what `run` returns
 * and let its exceptions through.
 */
export interface WorkMeter {
  measure<T>(phase: CorePhase, run: () => T): T;
}

const UNMEASURED: WorkMeter = { measure: (_phase, run) => run() };

/**
 * Weight of the newest merge in the smoothed consensus distance (an
 * exponential moving average): about the last 1 / 0.2 = 5 merges count, so
 * one peer that lags does not hide the trend of the others.
 */
export const CONSENSUS_SMOOTHING = 0.2;

/** Counters of what the node merged; bytes are in `sessions.stats`. */
export interface GossipCounters {
  /** Peer models merged into the local model. */
  merged: number;
  /** Peer models the aggregator refused (the pair was dropped). */
  mergeRejected: number;
  /** Consensus distance (src/train/merge.ts relativeDistance) at the latest merge, before it; null before the first. */
  consensusDistance: number | null;
  /** The same, smoothed over merges (CONSENSUS_SMOOTHING); null before the first merge. */
  consensusDistanceSmoothed: number | null;
}

/** What one received frame produced. */
export interface GossipStep {
  /** Frames to send back, in order (possibly none). */
  frames: Uint8Array[];
  /** Nothing more will be sent or expected on this stream. */
  done: boolean;
  /** Bytes of `frames`. */
  sent: FrameBytes;
  /** Bytes of the frame consumed. */
  received: FrameBytes;
  /** True when this frame's model was merged into the local model. */
  merged: boolean;
  /** When merged: the consensus distance between our model and our replica of the peer just before the merge (else null). */
  consensusDistance: number | null;
}

export class GossipNode {
  readonly sessions: SessionTable;
  readonly model: LocalModelStore;
  readonly aggregator: Aggregator;
  readonly sampler: PeerSampler;
  readonly policy: ExchangePolicy;
  readonly counters: GossipCounters = { merged: 0, mergeRejected: 0, consensusDistance: null, consensusDistanceSmoothed: null };
  /** null: no differential privacy, frames carry the local model. */
  readonly dp: DpRelease | null;
  readonly meter: WorkMeter;

  constructor(options: GossipNodeOptions) {
    this.dp = options.dp ?? null;
    this.meter = options.meter ?? UNMEASURED;
    this.sessions = options.sessions;
    this.model = options.model;
    this.aggregator = options.aggregator;
    this.sampler = options.sampler;
    const sent = this.sessions.stats.sent;
    this.policy =
      options.policy ?? new ExchangePolicy({ localStepsPerExchange: 0, byteBudgetPerHour: 0, now: this.sessions.config.now, sentBytes: () => sent.payloadBytes + sent.metaBytes });
  }

  /** The training driver reports local optimizer steps (the aggregation policy counts them toward H). */
  noteLocalSteps(steps: number): void {
    this.policy.noteLocalSteps(steps);
  }

  /** The training driver says whether the node trains at all (one that does not gossips on every tick). */
  setTraining(active: boolean): void {
    this.policy.setTraining(active);
  }

  /**
   * On a tick of the exchange timer: the peer to call now (then `initiate`
   * it), or null and why not (the policy says wait for more local steps, the
   * byte budget is spent, or there is no candidate).
   */
  nextExchange(candidates: readonly string[]): { peerId: string } | { peerId: null; reason: SkipReason | 'local-steps' } {
    const decision = this.policy.decide();
    if (!decision.exchange) return { peerId: null, reason: decision.reason };
    const peerId = this.sampler.choose(candidates);
    if (peerId === null) {
      // Candidates, but each in its backoff after failing or answering BUSY: wait rather than call them every tick.
      const reason = candidates.length > 0 ? 'backoff' : 'no-peer';
      this.policy.skip(reason);
      return { peerId: null, reason };
    }
    return { peerId };
  }

  /** A peer to call among `candidates` (compatible peers the driver can reach), or null when there is none. */
  choosePeer(candidates: readonly string[]): string | null {
    return this.sampler.choose(candidates);
  }

  /** How an exchange we started went (failures and slowness make a peer less likely to be chosen). */
  reportOutcome(peerId: string, outcome: PeerOutcome): void {
    this.sampler.report(peerId, outcome);
  }

  /**
   * Starts an exchange with `peerId`: send `frames`, then feed each frame read
   * back to `exchange.receive`. Returns null when an exchange with that peer
   * is already running, or when differential privacy allows no more
   * releases (the caller skips this round). Throws SessionError
   * ('bad-local') when the local model does not match the session's size.
   */
  initiate(peerId: string): { exchange: GossipExchange; frames: Uint8Array[]; sent: FrameBytes } | null {
    let start: ReturnType<SessionTable['initiate']>;
    let released: LocalModel | null = null;
    try {
      const local = this.model.read();
      const begun = this.meter.measure('codec', () => {
        if (this.dp !== null) {
          // Spend a release only on an exchange that will run.
          if (this.sessions.isBusy(peerId)) return null;
          const params = this.dp.release(local.params);
          if (params === null) return null;
          released = { params, age: local.age, samplesSeen: local.samplesSeen };
        }
        return this.sessions.initiate(peerId, released ?? local);
      });
      if (begun === null) return null;
      start = begun;
    } catch (err) {
      if (err instanceof SessionError && err.reason === 'busy') {
        this.policy.skip('busy');
        return null;
      }
      throw err;
    }
    this.policy.started();
    return { exchange: new GossipExchange(this, peerId, start.exchange, released), frames: start.frames, sent: start.sent };
  }

  /**
   * Serves an exchange a peer started: answered BUSY when one with the same
   * peer is running or the privacy budget is spent; not answered at all when
   * replying would break the byte budget.
   */
  accept(peerId: string): GossipExchange {
    if (!this.policy.canRespond()) return new GossipExchange(this, peerId, this.sessions.refuse());
    if (this.dp !== null && !this.dp.canRelease()) return new GossipExchange(this, peerId, new Exchange(this.sessions, null, 'responder'));
    return new GossipExchange(this, peerId, this.sessions.accept(peerId));
  }
}

/** One exchange from one side, on one stream. */
export class GossipExchange {
  readonly peerId: string;
  private readonly node: GossipNode;
  private readonly exchange: Exchange;
  /** With differential privacy: this exchange's one release, made when the first model frame needs it. */
  private released: LocalModel | null;

  /** @internal use GossipNode.initiate / accept */
  constructor(node: GossipNode, peerId: string, exchange: Exchange, released: LocalModel | null = null) {
    this.node = node;
    this.peerId = peerId;
    this.exchange = exchange;
    this.released = released;
  }

  get done(): boolean {
    return this.exchange.done;
  }

  /** 'merged' once the peer's model reached the session (the aggregator may still refuse it), 'busy', 'error-from-peer', or null. */
  get outcome(): ExchangeOutcome {
    return this.exchange.outcome;
  }

  get role(): 'initiator' | 'responder' {
    return this.exchange.role;
  }

  /**
   * Handles one received frame: the session decodes it and updates the
   * replicas, the aggregator merges the peer's model into the local model
   * (read once per frame: the same copy is encoded and merged into).
   * Throws ProtocolError or SessionError for a frame that must be rejected,
   * GossipError('merge-rejected') when the aggregator refuses the model.
   */
  receive(bytes: Uint8Array): GossipStep {
    const node = this.node;
    const local = node.model.read();
    const step = node.meter.measure('codec', () => this.exchange.handle(bytes, this.outgoing(local)));
    const base = { frames: step.frames, done: step.done, sent: step.sent, received: step.received };
    if (step.merge === null) return { ...base, merged: false, consensusDistance: null };
    const estimate = step.merge;
    // Measured before the merge moves our model toward the peer: how far apart the pair was.
    const { distance, result } = node.meter.measure('merging', () => ({
      distance: relativeDistance(local.params, estimate.params),
      result: node.aggregator.aggregate(local, [
        { peerId: estimate.peerId, params: estimate.params, selfReplica: estimate.selfReplica, age: estimate.age, samplesSeen: estimate.samplesSeen },
      ]),
    }));
    node.sampler.reportUpdate(this.peerId, result.status === 'rejected' || result.suspects?.includes(this.peerId) === true ? 'suspect' : 'accepted');
    if (result.status === 'rejected') {
      // The replicas moved but the model refused the update: drop the pair so both sides resync.
      node.sessions.forget(this.peerId);
      node.counters.mergeRejected += 1;
      this.exchange.close();
      throw new GossipError('merge-rejected', `${this.exchange.role === 'initiator' ? 'outbound' : 'inbound'} update from ${this.peerId} rejected: ${result.reason}`, step.received);
    }
    node.meter.measure('merging', () => node.model.write(local.params, result.counters));
    node.counters.merged += 1;
    if (distance !== null) {
      const counters = node.counters;
      counters.consensusDistance = distance;
      const previous = counters.consensusDistanceSmoothed;
      counters.consensusDistanceSmoothed = previous === null ? distance : previous + CONSENSUS_SMOOTHING * (distance - previous);
    }
    return { ...base, merged: true, consensusDistance: distance };
  }

  /**
   * What the session encodes from: the local model, or with differential
   * privacy this exchange's release, made lazily (a frame that sends no
   * model spends nothing). Throws GossipError('privacy-budget') when the
   * release is refused for the budget.
   */
  private outgoing(local: LocalModel): LocalModel {
    const dp = this.node.dp;
    if (dp === null) return local;
    const exchange = this;
    return {
      age: local.age,
      samplesSeen: local.samplesSeen,
      get params(): Float32Array {
        if (exchange.released === null) {
          const params = dp.release(local.params);
          if (params === null) throw new GossipError('privacy-budget', 'the privacy budget is spent: no more model frames');
          exchange.released = { params, age: local.age, samplesSeen: local.samplesSeen };
        }
        return exchange.released.params;
      },
    };
  }

  /** Releases the peer record (idempotent): at EOF, on timeout, reset or any error. */
  close(): void {
    this.exchange.close();
  }
}

export interface GossipNodeSetup {
  swarmId: string;
  modelHash: string;
  /** Length of the flat parameter vector. */
  paramCount: number;
  model: LocalModelStore;
  /** New on every start (random hex in the daemon), so peers know our replicas of them are gone. */
  incarnation: string;
  /** Delta codec spec (src/protocol/codec), e.g. 'topk:0.1+q4+deflate'. */
  codec: string;
  /** Snapshot codec spec; default DEFAULT_SNAPSHOT_CODEC_SPEC (src/protocol/session.ts). */
  snapshotCodec?: string;
  /** The model as first built (before training or a checkpoint restore), shared by the swarm's nodes: pairs start with a delta against it (SessionConfig.initialParams); omit to start with snapshots. */
  initialParams?: Float32Array;
  aggregator: Aggregator;
  /** Uniform [0, 1) source for peer sampling. */
  random: () => number;
  /** Uniform [0, 1) source for stochastic rounding in the codec; omit for round-to-nearest. */
  rounding?: () => number;
  /** Clock in ms for expiring abandoned exchanges and the byte budget (default monotonicNowMs, src/common/clock.ts; the simulator passes its virtual clock). */
  now?: () => number;
  /** H: local steps between two exchanges this node starts (default 0: every tick of the exchange timer). */
  localStepsPerExchange?: number;
  /** Bytes per rolling hour this node may send (default 0: unlimited). */
  byteBudgetPerHour?: number;
  /** Differential privacy (dp-release.ts); omit for none. */
  dp?: { settings: DpSettings } & DpReleaseOptions;
  /** Accounts the codec and merging work (the daemon's CPU time); omit for none. */
  meter?: WorkMeter;
}

/**
 * Builds a node's gossip core the one way the daemon and the simulator both
 * use. Throws an Error naming the problem for a bad codec spec, SessionError('bad-local') for a
 * bad paramCount, RangeError for a bad H or byte budget, ByteBudgetError when the
 * byte budget cannot carry one snapshot of this model (src/core/exchange-policy.ts).
 */
export function createGossipNode(setup: GossipNodeSetup): GossipNode {
  const sessions = new SessionTable({
    swarmId: setup.swarmId,
    modelHash: setup.modelHash,
    paramCount: setup.paramCount,
    incarnation: setup.incarnation,
    codec: setup.codec,
    ...(setup.snapshotCodec === undefined ? {} : { snapshotCodec: setup.snapshotCodec }),
    ...(setup.initialParams === undefined ? {} : { initialParams: setup.initialParams }),
    ...(setup.rounding === undefined ? {} : { random: setup.rounding }),
    ...(setup.now === undefined ? {} : { now: setup.now }),
  });
  const sent = sessions.stats.sent;
  const byteBudgetPerHour = setup.byteBudgetPerHour ?? 0;
  const policy = new ExchangePolicy({
    localStepsPerExchange: setup.localStepsPerExchange ?? 0,
    byteBudgetPerHour,
    now: sessions.config.now,
    sentBytes: () => sent.payloadBytes + sent.metaBytes,
    // Measured, not guessed: the snapshot of the current model that the first exchange with a new partner sends.
    ...(byteBudgetPerHour > 0 ? { firstExchangeBytes: createCodec(sessions.config.snapshotCodec).encode(setup.model.read().params).length + FRAME_FIXED_BYTES } : {}),
  });
  const dp = setup.dp === undefined ? null : new DpRelease(setup.dp.settings, setup.dp);
  return new GossipNode({
    sessions,
    model: setup.model,
    aggregator: setup.aggregator,
    sampler: new PeerSampler({ random: setup.random, now: sessions.config.now }),
    policy,
    dp,
    ...(setup.meter === undefined ? {} : { meter: setup.meter }),
  });
}
