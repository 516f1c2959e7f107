/**
 * The per-peer exchange state machine (pure: bytes in, bytes out).
 *
 * Delta state (docs/architecture.md, CHOCO-gossip style): for every peer
 * we keep two replicas, one per direction of the pair.
 *   - `selfReplica`: what the peer holds as its estimate of OUR model. We
 *     send Q(x - selfReplica) and add the decoded Q to selfReplica, so what
 *     the codec dropped stays in x - selfReplica and goes out later (error
 *     feedback for free).
 *   - `peerReplica`: our estimate of the PEER's model; each received delta is
 *     added to it. This is what gets merged into the local model.
 * Every delta frame names its base (baseIdOf the sender's replica before the
 * delta). A receiver whose copy hashes differently (lost frame, restart,
 * eviction) answers NEED_BASE and the sender resets that direction with a
 * full quantized SNAPSHOT. Each start has a fresh `incarnation`; a peer with
 * a new incarnation lost its replicas, so both directions resync.
 *
 * Shared initial model (`initialParams`): nodes of a swarm usually start from
 * the same seeded parameters. When both sides hold them, a pair's first model
 * frame is an ordinary delta against that initial model (its baseId is
 * baseIdOf(initialParams)) instead of a snapshot, as long as the copy it gives
 * the peer is no coarser (L2) than the snapshot's: while the model is near
 * its start (bench:convergence) it costs a fraction of a snapshot; far from it
 * (50% frame loss, pairs formed late: test/sim/swarm.test.ts) one sparse
 * delta keeps too little of the change, and the snapshot goes out. A receiver without a replica
 * of the sender takes its own initial params as the base if the ids match; if
 * not (different seed, no initial params), the base is unknown as for any lost
 * base: NEED_BASE, and the resync that follows is always a real SNAPSHOT.
 *
 * One exchange = one stream. Initiator and responder each drive an
 * `Exchange`; every frame read from the stream goes into `handle`, every
 * frame it returns is written back, until `done`:
 *
 *   const sessions = new SessionTable({ swarmId, modelHash, paramCount,
 *     incarnation: randomHex(), codec: 'topk:0.01+q4+deflate', random: Math.random });
 *
 *   // initiator (dialer)
 *   const { exchange, frames } = sessions.initiate(peerId, local());
 *   write(frames);
 *   while (!exchange.done) {
 *     const step = exchange.handle(await readFrame(), local()); // throws ProtocolError
 *     write(step.frames);
 *     if (step.merge) applyMerge(step.merge);                  // an aggregator (src/train/aggregators) via src/core/gossip-node.ts
 *   }
 *
 *   // responder (protocol handler): the same loop, starting with
 *   const exchange = sessions.accept(peerId);
 *
 *   // on timeout, reset or any thrown error:
 *   exchange.close();
 *
 * Frames on one stream (request -> reply), at most six:
 *   PUSH | SNAPSHOT                      initiator's model (delta or full)
 *   [NEED_BASE -> SNAPSHOT]              responder lost the base: resync
 *   REPLY | SNAPSHOT | BUSY              responder's model (after it merged)
 *   [NEED_BASE -> SNAPSHOT]              initiator lost the base: resync
 * Merges happen on the responder when the request is applied and on the
 * initiator when the reply is applied; both use each other's model as it
 * was before the exchange (push-pull).
 *
 * `local` is read, never written: applying the merge to the live model is the
 * caller's job (between training steps). The arrays in `step.merge` belong
 * to the session: use them before the next call for that peer, or copy them.
 */
import { GossipLearnError } from '../common/errors.ts';

import { createCodec } from './codec/index.ts';
import type { Codec } from './codec/index.ts';
import { ProtocolError } from './errors.ts';
import { DEFAULT_FRAME_LIMITS, MessageType, decodeFrame, encodeFrame } from './frame.ts';
import type { FrameHeader, FrameLimits } from './frame.ts';
import { baseIdOf } from './base-id.ts';
import { LruMap } from '../common/lru.ts';
import { monotonicNowMs } from '../common/clock.ts';

/**
 * Codec for full snapshots (first contact without a usable initial model,
 * resync). Dense 4-bit: the replica it starts is refined by every later delta
 * (error feedback), so the first copy need not be precise; q8+deflate cost
 * ~2.5x the bytes and snapshots were most of what compressed gossip sent
 * (npm run bench:convergence). Not 2-bit: q2+deflate (21.1 kB for mlp
 * against 51.3 kB) took bench:convergence past 100x fewer bytes than f32 at
 * H = 15 (seed 1 / 2 / 3: 1.22 / 1.24 / 1.21 MB per node against 1.33 / 1.36 /
 * 1.32 MB), but in the 20-node swarm with 50% of the frames lost, where
 * resyncs are frequent, it ended at 65.3% mean accuracy, below the 75% that
 * test/sim/swarm.test.ts requires and q4+deflate meets. What got past 100x
 * instead: pairs start with a delta against the shared initial model
 * (SessionConfig.initialParams), 1.17 / 1.19 / 1.15 MB per node (105-107x),
 * and q4+deflate snapshots remain for resyncs and far-moved models.
 */
export const DEFAULT_SNAPSHOT_CODEC_SPEC = 'q4+deflate';
/** Peer records kept (each holds two replicas of paramCount floats). */
export const DEFAULT_MAX_PEER_RECORDS = 16;
/** An exchange silent for longer than this no longer blocks new ones with the same peer. */
export const DEFAULT_EXCHANGE_STALE_MS = 60_000;

export interface LocalModel {
  /** Current flat parameters (read only). */
  params: Float32Array;
  age: number;
  samplesSeen: number;
}

export interface SessionConfig {
  swarmId: string;
  modelHash: string;
  paramCount: number;
  /** New on every start (random hex), so peers know our replicas are gone. */
  incarnation: string;
  /** Codec for deltas (Q in Q(x - replica)). */
  codec: string;
  /** Codec for snapshots. */
  snapshotCodec?: string;
  /**
   * The model every node of the swarm starts from (before training or a
   * checkpoint restore), paramCount values; copied. With it, a pair's first
   * model frame is a delta against it rather than a snapshot (see the file
   * comment). Omit to always start pairs with a snapshot.
   */
  initialParams?: Float32Array;
  maxPeerRecords?: number;
  /** Uniform [0,1) source for stochastic rounding; omit for round-to-nearest. */
  random?: () => number;
  /** Clock in ms, monotonic (only used to expire abandoned exchanges; default src/common/clock.ts). */
  now?: () => number;
  exchangeStaleMs?: number;
  frameLimits?: FrameLimits;
}

/** What to merge: our estimate of the peer's model and the counters it announced. */
export interface PeerEstimate {
  peerId: string;
  incarnation: string;
  /** Decoded replica of the peer's model (owned by the session: use now or copy). */
  params: Float32Array;
  /** Our own replica as the peer holds it, for CHOCO-style steps (x += g * (peer - selfReplica)). */
  selfReplica: Float32Array | null;
  age: number;
  samplesSeen: number;
  /** Whether this estimate started a fresh pair (a full snapshot, or a first delta against the shared initial model) rather than continuing one. */
  fromSnapshot: boolean;
}

export interface FrameBytes {
  frames: number;
  /** Frames that carried a model payload (SNAPSHOT, PUSH, REPLY): each stands for paramCount float32 values. */
  modelFrames: number;
  /** Codec payload bytes. */
  payloadBytes: number;
  /** Frame header and checksum bytes. */
  metaBytes: number;
}

export type ExchangeOutcome = 'merged' | 'busy' | 'error-from-peer' | null;

export interface ExchangeStep {
  /** Frames to write to the stream, in order. */
  frames: Uint8Array[];
  /** Set when a peer model was applied to our replica and should be merged now. */
  merge: PeerEstimate | null;
  /** No more frames will be sent or expected on this stream. */
  done: boolean;
  /** Bytes of `frames`. */
  sent: FrameBytes;
  /** Bytes of the frame this step consumed (as decoded: so callers never re-decode to count). */
  received: FrameBytes;
}

export interface SessionStats {
  sent: FrameBytes;
  received: FrameBytes;
  snapshotsSent: number;
  /** First frames of a pair sent as a delta against the shared initial model instead of a snapshot. */
  initialDeltasSent: number;
  needBaseSent: number;
  exchangesCompleted: number;
  merges: number;
  busy: number;
}

/** Caller misuse (not a peer's fault). */
export class SessionError extends GossipLearnError<'busy' | 'closed' | 'bad-local'> {
  override readonly name = 'SessionError';
  constructor(reason: 'busy' | 'closed' | 'bad-local', message: string) {
    super(reason, `${reason}: ${message}`);
  }
}

interface PeerRecord {
  peerId: string;
  /** Peer incarnation the replicas belong to (null until the peer spoke). */
  incarnation: string | null;
  selfReplica: Float32Array | null;
  selfBaseId: string | null;
  peerReplica: Float32Array | null;
  peerBaseId: string | null;
  activeSince: number | null;
  /** Which exchange holds the record (an abandoned one that a newer exchange took over must not touch it). */
  lockId: number;
}

type ExchangeState = 'awaiting-request' | 'awaiting-reply' | 'awaiting-snapshot' | 'replied' | 'done';

const MAX_CODEC_CACHE = 8;

function addBytes(total: FrameBytes, more: FrameBytes): void {
  total.frames += more.frames;
  total.modelFrames += more.modelFrames;
  total.payloadBytes += more.payloadBytes;
  total.metaBytes += more.metaBytes;
}

function squaredDistance(x: Float32Array, y: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - y[i]!;
    sum += d * d;
  }
  return sum;
}

function emptyBytes(): FrameBytes {
  return { frames: 0, modelFrames: 0, payloadBytes: 0, metaBytes: 0 };
}

export class SessionTable {
  readonly config: Readonly<Required<Omit<SessionConfig, 'random' | 'initialParams'>>> & { random: (() => number) | undefined };
  readonly stats: SessionStats = { sent: emptyBytes(), received: emptyBytes(), snapshotsSent: 0, initialDeltasSent: 0, needBaseSent: 0, exchangesCompleted: 0, merges: 0, busy: 0 };
  private readonly records: LruMap<string, PeerRecord>;
  /** Codecs by spec: peers may name any spec, so the cache is bounded (our own two specs stay hot). */
  private readonly codecs = new LruMap<string, Codec>(MAX_CODEC_CACHE);
  private sequence = 0;
  private lockCounter = 0;
  /** Own copy of SessionConfig.initialParams and its base id (null: pairs start with snapshots). */
  private readonly initial: { params: Float32Array; baseId: string } | null;

  constructor(config: SessionConfig) {
    if (!Number.isSafeInteger(config.paramCount) || config.paramCount <= 0) throw new SessionError('bad-local', `paramCount must be a positive integer, got ${config.paramCount}`);
    if (config.initialParams !== undefined && config.initialParams.length !== config.paramCount) throw new SessionError('bad-local', `initial model has ${config.initialParams.length} parameters, expected ${config.paramCount}`);
    if (config.initialParams === undefined) this.initial = null;
    else {
      const params = Float32Array.from(config.initialParams);
      this.initial = { params, baseId: baseIdOf(params) };
    }
    this.config = {
      swarmId: config.swarmId,
      modelHash: config.modelHash,
      paramCount: config.paramCount,
      incarnation: config.incarnation,
      codec: config.codec,
      snapshotCodec: config.snapshotCodec ?? DEFAULT_SNAPSHOT_CODEC_SPEC,
      maxPeerRecords: config.maxPeerRecords ?? DEFAULT_MAX_PEER_RECORDS,
      random: config.random,
      now: config.now ?? monotonicNowMs,
      exchangeStaleMs: config.exchangeStaleMs ?? DEFAULT_EXCHANGE_STALE_MS,
      frameLimits: config.frameLimits ?? DEFAULT_FRAME_LIMITS,
    };
    // Fail fast on a bad spec at start-up rather than on the first exchange.
    this.codecFor(this.config.codec);
    this.codecFor(this.config.snapshotCodec);
    this.records = new LruMap(this.config.maxPeerRecords, (record) => record.activeSince === null || this.isStale(record));
  }

  /** Start an exchange with `peerId`; write `frames`, then feed replies to `exchange.handle`. Throws SessionError('busy') while another exchange with that peer is active. */
  initiate(peerId: string, local: LocalModel): { exchange: Exchange; frames: Uint8Array[]; sent: FrameBytes } {
    const record = this.lock(peerId, true);
    const exchange = new Exchange(this, record, 'initiator');
    try {
      const frame = this.modelFrame(record, local, MessageType.PUSH, true);
      return { exchange, frames: [frame], sent: this.account([frame], this.takePayload()) };
    } catch (error) {
      exchange.close();
      throw error;
    }
  }

  /** Serve an inbound exchange stream from `peerId`. A concurrent exchange with the same peer gets BUSY. */
  accept(peerId: string): Exchange {
    const record = this.records.get(peerId);
    if (record && record.activeSince !== null && !this.isStale(record)) return new Exchange(this, null, 'responder');
    return new Exchange(this, this.lock(peerId, false), 'responder');
  }

  /** An inbound exchange that sends nothing back, not even BUSY, and touches no peer record (the node's byte budget is spent). */
  refuse(): Exchange {
    return new Exchange(this, null, 'responder', true);
  }

  /** True while an exchange with `peerId` is in progress. */
  isBusy(peerId: string): boolean {
    const record = this.records.get(peerId);
    return record !== undefined && record.activeSince !== null && !this.isStale(record);
  }

  /** Drop everything we know about a peer (both directions resync next time). */
  forget(peerId: string): void {
    this.records.delete(peerId);
  }

  get peerRecordCount(): number {
    return this.records.size;
  }

  /** Peer ids with a record, least recently used first (for tests and metrics). */
  peerIds(): string[] {
    return [...this.records.keys()];
  }

  // ---- internals used by Exchange ----

  /** @internal */
  lock(peerId: string, failIfBusy: boolean): PeerRecord {
    let record = this.records.get(peerId);
    if (record && record.activeSince !== null && !this.isStale(record) && failIfBusy) throw new SessionError('busy', `an exchange with ${peerId} is already in progress`);
    if (!record) {
      record = { peerId, incarnation: null, selfReplica: null, selfBaseId: null, peerReplica: null, peerBaseId: null, activeSince: null, lockId: 0 };
      this.records.set(peerId, record);
    }
    record.activeSince = this.config.now();
    record.lockId = ++this.lockCounter;
    return record;
  }

  /** @internal Release the record if `lockId` still holds it. */
  release(record: PeerRecord, lockId: number): void {
    if (record.lockId !== lockId) return;
    record.activeSince = null;
    record.lockId = 0;
  }

  private isStale(record: PeerRecord): boolean {
    return record.activeSince !== null && this.config.now() - record.activeSince > this.config.exchangeStaleMs;
  }

  /** @internal */
  codecFor(spec: string): Codec {
    let codec = this.codecs.get(spec);
    if (!codec) {
      codec = createCodec(spec);
      this.codecs.set(spec, codec);
    }
    return codec;
  }

  /** @internal Decode and check a frame's envelope (swarm, model, size) before anything is touched. */
  decode(bytes: Uint8Array): { header: FrameHeader; payload: Uint8Array; received: FrameBytes } {
    const frame = decodeFrame(bytes, this.config.frameLimits);
    const { header } = frame;
    if (header.swarmId !== this.config.swarmId) throw new ProtocolError('wrong-swarm', `frame for swarm ${JSON.stringify(header.swarmId)}, we are in ${JSON.stringify(this.config.swarmId)}`);
    if (header.modelHash !== this.config.modelHash) throw new ProtocolError('wrong-model', `frame for model ${header.modelHash}, ours is ${this.config.modelHash}`);
    if (header.paramCount !== this.config.paramCount) throw new ProtocolError('wrong-param-count', `frame has ${header.paramCount} parameters, our model has ${this.config.paramCount}`);
    const received: FrameBytes = { frames: 1, modelFrames: frame.payload.length > 0 ? 1 : 0, payloadBytes: frame.payload.length, metaBytes: bytes.length - frame.payload.length };
    addBytes(this.stats.received, received);
    return { ...frame, received };
  }

  /** @internal Counts frames about to be sent; `payloadBytes` and `modelFrames` come from modelFrame (takePayload). */
  account(frames: Uint8Array[], payload: { bytes: number; frames: number } = { bytes: 0, frames: 0 }): FrameBytes {
    const total = frames.reduce((n, f) => n + f.length, 0);
    const bytes: FrameBytes = { frames: frames.length, modelFrames: payload.frames, payloadBytes: payload.bytes, metaBytes: total - payload.bytes };
    addBytes(this.stats.sent, bytes);
    return bytes;
  }

  /** @internal A frame without a payload (NEED_BASE, BUSY). */
  controlFrame(type: FrameHeader['type'], local: Pick<LocalModel, 'age' | 'samplesSeen'> | null): Uint8Array {
    return encodeFrame(this.header(type, '', local?.age ?? 0, local?.samplesSeen ?? 0, ''), new Uint8Array(0));
  }

  /**
   * @internal Our model for this peer: a delta against selfReplica when the
   * pair has one; else, when `fromInitial` and initial params are configured, a
   * delta against them if the replica it creates is no farther (L2) from our
   * model than the snapshot's; else a full snapshot (either way the pair's self
   * direction restarts).
   * Answers to NEED_BASE pass `fromInitial` false: the peer expects a SNAPSHOT.
   * The replica is advanced at send time; a lost frame shows up as a base
   * mismatch on the next exchange.
   */
  modelFrame(record: PeerRecord, local: LocalModel, deltaType: FrameHeader['type'], fromInitial: boolean): Uint8Array {
    if (local.params.length !== this.config.paramCount) throw new SessionError('bad-local', `local model has ${local.params.length} parameters, expected ${this.config.paramCount}`);
    const options = this.config.random ? { random: this.config.random } : {};
    if (record.selfReplica === null || record.selfBaseId === null) {
      const codec = this.codecFor(this.config.snapshotCodec);
      const payload = codec.encode(local.params, options);
      const snapshot = codec.decode(payload, this.config.paramCount);
      if (fromInitial && this.initial !== null) {
        const first = this.initialDelta(local.params, options);
        // The peer merges what the first frame gives it: never a coarser copy than the snapshot would be
        // (a model far from the initial one keeps little of its change in one sparse delta).
        if (first !== null && first.squaredError <= squaredDistance(local.params, snapshot)) {
          record.selfReplica = first.replica;
          record.selfBaseId = baseIdOf(first.replica);
          this.stats.initialDeltasSent += 1;
          return this.withPayload(this.header(deltaType, this.initial.baseId, local.age, local.samplesSeen, first.codec), first.payload);
        }
      }
      record.selfReplica = snapshot;
      record.selfBaseId = baseIdOf(record.selfReplica);
      this.stats.snapshotsSent += 1;
      // A snapshot names the replica it creates, so the receiver can verify it decoded the same thing.
      return this.withPayload(this.header(MessageType.SNAPSHOT, record.selfBaseId, local.age, local.samplesSeen, codec.spec), payload);
    }
    const codec = this.codecFor(this.config.codec);
    const replica = record.selfReplica;
    const delta = new Float32Array(replica.length);
    for (let i = 0; i < delta.length; i++) delta[i] = local.params[i]! - replica[i]!;
    const payload = codec.encode(delta, options);
    const decoded = codec.decode(payload, this.config.paramCount);
    const base = record.selfBaseId;
    for (let i = 0; i < replica.length; i++) replica[i] = replica[i]! + decoded[i]!;
    record.selfBaseId = baseIdOf(replica);
    return this.withPayload(this.header(deltaType, base, local.age, local.samplesSeen, codec.spec), payload);
  }

  /** The delta codec's frame against the initial params: payload, the replica it creates on both sides and that replica's squared error against `params`. */
  private initialDelta(params: Float32Array, options: { random?: () => number }): { payload: Uint8Array; replica: Float32Array; squaredError: number; codec: string } | null {
    if (this.initial === null) return null;
    const codec = this.codecFor(this.config.codec);
    const init = this.initial.params;
    const delta = new Float32Array(init.length);
    for (let i = 0; i < delta.length; i++) delta[i] = params[i]! - init[i]!;
    const payload = codec.encode(delta, options);
    const replica = codec.decode(payload, this.config.paramCount);
    for (let i = 0; i < replica.length; i++) replica[i] = init[i]! + replica[i]!;
    return { payload, replica, squaredError: squaredDistance(params, replica), codec: codec.spec };
  }

  private pendingPayload = { bytes: 0, frames: 0 };

  /** @internal Payload bytes and model frames built by modelFrame since the last call. */
  takePayload(): { bytes: number; frames: number } {
    const taken = this.pendingPayload;
    this.pendingPayload = { bytes: 0, frames: 0 };
    return taken;
  }

  private withPayload(header: FrameHeader, payload: Uint8Array): Uint8Array {
    this.pendingPayload.bytes += payload.length;
    this.pendingPayload.frames += 1;
    return encodeFrame(header, payload);
  }

  private header(type: FrameHeader['type'], baseId: string, age: number, samplesSeen: number, codec: string): FrameHeader {
    this.sequence += 1;
    return {
      type,
      swarmId: this.config.swarmId,
      modelHash: this.config.modelHash,
      incarnation: this.config.incarnation,
      sequence: this.sequence,
      baseId,
      age: Math.max(0, Math.floor(age)),
      samplesSeen: Math.max(0, Math.floor(samplesSeen)),
      codec,
      paramCount: this.config.paramCount,
    };
  }

  /** @internal Apply a received model frame to the peer direction; returns null when the base does not match. */
  applyModel(record: PeerRecord, header: FrameHeader, payload: Uint8Array): PeerEstimate | null {
    if (header.codec === '') throw new ProtocolError('unknown-codec', 'a model frame must name its codec');
    const codec = this.codecFor(header.codec);
    if (header.type === MessageType.SNAPSHOT) {
      const replica = codec.decode(payload, this.config.paramCount);
      const id = baseIdOf(replica);
      if (id !== header.baseId) throw new ProtocolError('bad-payload', `snapshot decodes to base ${id}, sender announced ${header.baseId}`);
      record.peerReplica = replica;
      record.peerBaseId = id;
      record.incarnation = header.incarnation;
      return this.estimate(record, header, true);
    }
    const continues = record.incarnation === header.incarnation && record.peerReplica !== null && record.peerBaseId === header.baseId;
    // A delta against the shared initial model starts the peer direction afresh (like a snapshot).
    const fromInitial = !continues && this.initial !== null && header.baseId === this.initial.baseId;
    if (!continues && !fromInitial) return null;
    // Decode fully before touching the replica: a bad payload leaves the pair intact.
    const decoded = codec.decode(payload, this.config.paramCount);
    const replica = continues ? record.peerReplica! : Float32Array.from(this.initial!.params);
    for (let i = 0; i < replica.length; i++) replica[i] = replica[i]! + decoded[i]!;
    record.peerReplica = replica;
    record.peerBaseId = baseIdOf(replica);
    record.incarnation = header.incarnation;
    return this.estimate(record, header, fromInitial);
  }

  private estimate(record: PeerRecord, header: FrameHeader, fromSnapshot: boolean): PeerEstimate {
    this.stats.merges += 1;
    return {
      peerId: record.peerId,
      incarnation: header.incarnation,
      params: record.peerReplica!,
      selfReplica: record.selfReplica,
      age: header.age,
      samplesSeen: header.samplesSeen,
      fromSnapshot,
    };
  }

  /** @internal The peer lost our base: the next model frame to it is a snapshot. */
  resetSelfDirection(record: PeerRecord): void {
    record.selfReplica = null;
    record.selfBaseId = null;
  }

  /** @internal The peer restarted (or we never met it): every replica of the pair is void. */
  resetPair(record: PeerRecord, incarnation: string): void {
    record.incarnation = incarnation;
    record.selfReplica = null;
    record.selfBaseId = null;
    record.peerReplica = null;
    record.peerBaseId = null;
  }
}

/** One exchange over one stream, from one side. Feed every received frame to `handle` until `done` (or EOF). */
export class Exchange {
  readonly role: 'initiator' | 'responder';
  private state: ExchangeState;
  private readonly table: SessionTable;
  /** null: we answer BUSY (another exchange with this peer holds the record). */
  private readonly record: PeerRecord | null;
  private answeredNeedBase = false;
  private closed = false;
  private outcomeValue: ExchangeOutcome = null;
  private readonly lockId: number;

  /** Refuses silently: the request is read and nothing is sent (SessionTable.refuse). */
  private readonly silent: boolean;

  /** @internal use SessionTable.initiate / accept / refuse */
  constructor(table: SessionTable, record: PeerRecord | null, role: 'initiator' | 'responder', silent = false) {
    this.silent = silent;
    this.table = table;
    this.record = record;
    this.lockId = record?.lockId ?? 0;
    this.role = role;
    this.state = role === 'initiator' ? 'awaiting-reply' : 'awaiting-request';
  }

  /** Nothing more will be sent or accepted: close the stream. */
  get done(): boolean {
    return this.state === 'done';
  }

  /** 'merged' once a peer model was merged (a responder may still serve a NEED_BASE after that), 'busy', 'error-from-peer'; null otherwise. */
  get outcome(): ExchangeOutcome {
    return this.outcomeValue;
  }

  /**
   * Handle one received frame. Throws ProtocolError for a frame that must be
   * rejected (bad bytes, wrong swarm/model, unexpected type); the exchange is
   * then closed and nothing from that frame was merged.
   */
  handle(bytes: Uint8Array, local: LocalModel): ExchangeStep {
    if (this.closed) throw new SessionError('closed', 'exchange already finished');
    if (this.record && this.record.lockId !== this.lockId) {
      // Abandoned past exchangeStaleMs and taken over by a newer exchange: its frames must not touch the pair.
      this.close();
      throw new SessionError('closed', 'exchange was superseded after going stale');
    }
    try {
      const { header, payload, received } = this.table.decode(bytes);
      return { ...this.step(header, payload, local), received };
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Release the peer record (idempotent). Call at EOF, on timeout, reset or error. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state = 'done';
    if (this.record) this.table.release(this.record, this.lockId);
  }

  private emit(frames: Uint8Array[], merge: PeerEstimate | null, next: ExchangeState, outcome?: ExchangeOutcome): Omit<ExchangeStep, 'received'> {
    const sent = this.table.account(frames, this.table.takePayload());
    if (outcome !== undefined) {
      this.outcomeValue = outcome;
      if (outcome === 'merged') this.table.stats.exchangesCompleted += 1;
      if (outcome === 'busy') this.table.stats.busy += 1;
    }
    if (next === 'done') this.close();
    else this.state = next;
    return { frames, merge, done: this.state === 'done', sent };
  }

  private needBase(local: LocalModel): Omit<ExchangeStep, 'received'> {
    this.table.stats.needBaseSent += 1;
    return this.emit([this.table.controlFrame(MessageType.NEED_BASE, local)], null, 'awaiting-snapshot');
  }

  private unexpected(header: FrameHeader): never {
    throw new ProtocolError('unexpected-message', `message type ${header.type} not expected by the ${this.role} while ${this.state}`);
  }

  private step(header: FrameHeader, payload: Uint8Array, local: LocalModel): Omit<ExchangeStep, 'received'> {
    const T = MessageType;
    if (this.record === null) {
      // Another exchange with this peer is running: refuse without touching its state.
      if (header.type !== T.PUSH && header.type !== T.SNAPSHOT) this.unexpected(header);
      if (this.silent) return this.emit([], null, 'done', 'busy');
      return this.emit([this.table.controlFrame(T.BUSY, local)], null, 'done', 'busy');
    }
    const record = this.record;
    switch (this.state) {
      case 'awaiting-request': {
        if (header.type !== T.PUSH && header.type !== T.SNAPSHOT) this.unexpected(header);
        // A new incarnation lost its replicas of us too: resync both directions.
        if (record.incarnation !== header.incarnation) this.table.resetPair(record, header.incarnation);
        const merge = this.table.applyModel(record, header, payload);
        if (merge === null) return this.needBase(local);
        return this.reply(record, local, merge, true);
      }
      case 'awaiting-snapshot': {
        if (header.type !== T.SNAPSHOT) this.unexpected(header);
        const merge = this.table.applyModel(record, header, payload)!;
        // The initiator could not use our base: if we have no replica for it either, it gets a snapshot.
        if (this.role === 'responder') return this.reply(record, local, merge, false);
        return this.emit([], merge, 'done', 'merged');
      }
      case 'replied': {
        // The initiator could not apply our reply (it lost our base): resync our direction once.
        if (header.type !== T.NEED_BASE || this.answeredNeedBase) this.unexpected(header);
        this.answeredNeedBase = true;
        this.table.resetSelfDirection(record);
        return this.emit([this.table.modelFrame(record, local, T.REPLY, false)], null, 'done');
      }
      case 'awaiting-reply': {
        switch (header.type) {
          case T.REPLY:
          case T.SNAPSHOT: {
            const merge = this.table.applyModel(record, header, payload);
            if (merge === null) return this.needBase(local);
            return this.emit([], merge, 'done', 'merged');
          }
          case T.NEED_BASE: {
            if (this.answeredNeedBase) this.unexpected(header);
            this.answeredNeedBase = true;
            // The responder restarted: our replica of it is void as well.
            if (record.incarnation !== header.incarnation) this.table.resetPair(record, header.incarnation);
            else this.table.resetSelfDirection(record);
            return this.emit([this.table.modelFrame(record, local, T.PUSH, false)], null, 'awaiting-reply');
          }
          case T.BUSY:
            return this.emit([], null, 'done', 'busy');
          case T.ERROR:
            return this.emit([], null, 'done', 'error-from-peer');
          default:
            return this.unexpected(header);
        }
      }
      case 'done':
        throw new SessionError('closed', 'exchange already finished');
    }
  }

  /** Responder: answer with our model (`fromInitial`: see SessionTable.modelFrame); stay open for one NEED_BASE unless the initiator closes. */
  private reply(record: PeerRecord, local: LocalModel, merge: PeerEstimate, fromInitial: boolean): Omit<ExchangeStep, 'received'> {
    const frame = this.table.modelFrame(record, local, MessageType.REPLY, fromInitial);
    // Our replica as the peer now holds it (the reply just advanced or created it), for CHOCO steps:
    // on a first contact it did not exist yet when the request was applied.
    merge.selfReplica = record.selfReplica;
    return this.emit([frame], merge, 'replied', 'merged');
  }
}
