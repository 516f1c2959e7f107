/**
 * The teacher side of the knowledge-transfer join
 * (`/gossip-learn/distill/1.0.0`): answer a joiner's model request with our
 * model (a registry name plus a compressed snapshot), to a bounded number
 * of joiners at a time, and BUSY otherwise or while our model is untrained.
 * The joiner side is distill-joiner.ts; the message logic is pure and lives
 * in src/protocol/distill-messages.ts; this file adds streams, chunking,
 * timeouts and size limits.
 *
 *   // On any libp2p node:
 *   const teacher = new DistillTeacher({ node, swarmId, incarnation, frameLimits, codecSpec: 'q8', snapshot: () => current });
 *   await teacher.start();
 *
 *   // In the daemon (always on, so late joiners can learn from us):
 *   new Daemon({ config, joinServices: [new DistillTeacherService(), new DistillJoinerService()] });
 */
import { randomBytes } from 'node:crypto';
import type { Libp2p, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { createCodec, type Codec } from '../protocol/codec/index.ts';
import { decodeDistillRequest, encodeBusy, encodeDistillModel } from '../protocol/distill-messages.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { DEFAULT_FRAME_LIMITS, type FrameLimits } from '../protocol/frame.ts';
import { DISTILL_PROTOCOL_ID, MAX_CHUNK_DATA_BYTES } from './constants.ts';
import { DISTILL_DEFAULT_CODEC, DISTILL_MAX_CONCURRENT_JOINERS, DISTILL_MAX_REQUEST_BYTES, DISTILL_READ_TIMEOUT_MS } from './distill-constants.ts';
import { readChunkedFrame, writeChunkedFrame } from './frame-stream.ts';
import { DISTILL_MAX_REQUESTS_PER_PEER_PER_MINUTE, DISTILL_MAX_STREAMS_PER_PEER, PeerStreamLimiter, type LimitHits } from './limits.ts';
import { distillRejectionCode } from './rejection-reason.ts';
import type { DaemonContext, DaemonService } from './service.ts';

/** The part of the libp2p node the teacher uses (tests can pass any node). */
export type DistillNode = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>;

export interface TeacherSnapshot {
  modelName: string;
  modelHash: string;
  params: Float32Array;
  age: number;
  samplesSeen: number;
}

export interface DistillTeacherOptions {
  node: DistillNode;
  swarmId: string;
  incarnation: string;
  frameLimits: FrameLimits;
  /** Codec of the snapshots we serve (a lossy codec keeps joins cheap; q8 costs ~no accuracy). */
  codecSpec: string;
  /** The model to serve right now, or null when there is none yet (answered BUSY). */
  snapshot: () => TeacherSnapshot | null;
  maxConcurrentJoiners?: number;
  readTimeoutMs?: number;
  /**
   * Per-peer admission of inbound requests (src/node/limits.ts): null refuses
   * the stream before anything is read (reported to onInboundRejected as 'limit').
   */
  admit?: (peerId: string) => { release(): void } | null;
  /** Called with every inbound distill stream we refuse or that fails. */
  onInboundRejected?: (reason: string) => void;
  /** Called with the bytes of every model we serve. */
  onServed?: (bytes: number) => void;
}

/** What an inbound request stream may hold unread: a request is tiny; one chunk of slack. */
const TEACHER_READ_BUFFER_BYTES = MAX_CHUNK_DATA_BYTES + 1024;

/** The teacher side of the protocol on a libp2p node. */
export class DistillTeacher {
  private readonly options: DistillTeacherOptions;
  private readonly codec: Codec;
  private readonly maxConcurrent: number;
  private active = 0;
  private started = false;
  /** Joiners served a model / answered BUSY so far. */
  served = 0;
  busy = 0;

  constructor(options: DistillTeacherOptions) {
    this.options = options;
    this.codec = createCodec(options.codecSpec);
    this.maxConcurrent = options.maxConcurrentJoiners ?? DISTILL_MAX_CONCURRENT_JOINERS;
  }

  /** Joiners being served right now. */
  get serving(): number {
    return this.active;
  }

  async start(): Promise<void> {
    if (this.started) return;
    // Streams beyond our own bound still open, so that they get a BUSY answer instead of a reset.
    await this.options.node.handle(DISTILL_PROTOCOL_ID, (stream, connection) => this.admitted(stream, connection.remotePeer.toString()), {
      maxInboundStreams: this.maxConcurrent + 8,
      maxOutboundStreams: 4,
    });
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.options.node.unhandle(DISTILL_PROTOCOL_ID);
  }

  private async admitted(stream: Stream, peerId: string): Promise<void> {
    const permit = this.options.admit === undefined ? null : this.options.admit(peerId);
    if (this.options.admit !== undefined && permit === null) {
      this.options.onInboundRejected?.('limit');
      stream.abort(new Error('per-peer distill limit reached'));
      return;
    }
    try {
      await this.handle(stream);
    } finally {
      permit?.release();
    }
  }

  private async handle(stream: Stream): Promise<void> {
    // A request is at most DISTILL_MAX_REQUEST_BYTES: never let a peer park libp2p's default 4 MB in our read buffer.
    const lp = lpStream(stream, { maxDataLength: MAX_CHUNK_DATA_BYTES, maxBufferSize: TEACHER_READ_BUFFER_BYTES });
    const { swarmId, incarnation } = this.options;
    const snapshot = this.active < this.maxConcurrent ? this.options.snapshot() : null;
    if (snapshot === null) {
      this.busy++;
      try {
        await writeChunkedFrame(lp, encodeBusy(swarmId, incarnation), { signal: AbortSignal.timeout(this.readTimeoutMs()) });
        await stream.close({ signal: AbortSignal.timeout(this.readTimeoutMs()) });
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)));
      }
      return;
    }
    this.active++;
    try {
      const requestBytes = await readChunkedFrame(lp, { maxFrameBytes: DISTILL_MAX_REQUEST_BYTES, readTimeoutMs: this.readTimeoutMs() });
      decodeDistillRequest(requestBytes, { swarmId, frameLimits: this.options.frameLimits });
      const answer = encodeDistillModel({ ...snapshot, swarmId, incarnation }, this.codec);
      await writeChunkedFrame(lp, answer, { signal: AbortSignal.timeout(this.readTimeoutMs()) });
      await stream.close({ signal: AbortSignal.timeout(this.readTimeoutMs()) });
      this.served++;
      this.options.onServed?.(answer.length);
    } catch (err) {
      this.options.onInboundRejected?.(err instanceof ProtocolError ? err.reason : err instanceof Error ? err.name : 'error');
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.active--;
    }
  }

  private readTimeoutMs(): number {
    return this.options.readTimeoutMs ?? DISTILL_READ_TIMEOUT_MS;
  }
}

export interface DistillTeacherServiceOptions {
  codecSpec?: string;
  maxConcurrentJoiners?: number;
  readTimeoutMs?: number;
  /** Differential privacy: serve this (the latest release, already public) instead of the local model; null = nothing released yet (BUSY). */
  released?: () => Float32Array | null;
}

/**
 * What a teacher serves a joiner: nothing while untrained (BUSY, the joiner
 * asks someone else); with differential privacy (`released`) the latest
 * release, which gossip partners already hold, never the local model, and
 * nothing before the first release; else the local model.
 */
export function taughtModel(
  live: { age: number; modelName: string; modelHash: string; read(): { params: Float32Array; age: number; samplesSeen: number } },
  released?: () => Float32Array | null,
): { modelName: string; modelHash: string; params: Float32Array; age: number; samplesSeen: number } | null {
  if (live.age === 0) return null;
  const local = live.read();
  if (released === undefined) return { modelName: live.modelName, modelHash: live.modelHash, ...local };
  const params = released();
  return params === null ? null : { modelName: live.modelName, modelHash: live.modelHash, ...local, params };
}

/**
 * The teacher side as a daemon service: serves our model while the daemon
 * runs, with per-peer limits on distill streams and requests, and counts
 * refused or failed inbound distill streams in `exchange.rejected`.
 */
export class DistillTeacherService implements DaemonService {
  readonly name = 'distill-teacher';
  private readonly options: DistillTeacherServiceOptions;
  private readonly incarnation = randomBytes(8).toString('hex');
  private teacher: DistillTeacher | null = null;

  constructor(options: DistillTeacherServiceOptions = {}) {
    this.options = options;
  }

  async start(context: DaemonContext): Promise<void> {
    const { config, model: live, node } = context;
    // Hits land in the daemon's limits.hits (InboundAdmission's counters, shared through the metrics object).
    const limiter = new PeerStreamLimiter(
      { maxConcurrentPerPeer: DISTILL_MAX_STREAMS_PER_PEER, maxPerPeerPerMinute: DISTILL_MAX_REQUESTS_PER_PEER_PER_MINUTE },
      context.metrics.limits.hits as LimitHits,
      { concurrent: 'distill-streams-per-peer', rate: 'distill-requests-per-peer-per-minute' },
    );
    this.teacher = new DistillTeacher({
      node,
      swarmId: config.swarm,
      incarnation: this.incarnation,
      frameLimits: DEFAULT_FRAME_LIMITS,
      codecSpec: this.options.codecSpec ?? DISTILL_DEFAULT_CODEC,
      // An untrained model teaches nothing: answer BUSY so the joiner asks someone else.
      snapshot: () => taughtModel(live, this.options.released),
      ...(this.options.maxConcurrentJoiners === undefined ? {} : { maxConcurrentJoiners: this.options.maxConcurrentJoiners }),
      readTimeoutMs: this.options.readTimeoutMs ?? config.readTimeoutMs,
      admit: (peerId) => limiter.tryAcquire(peerId),
      onServed: (bytes) => context.logger.debug({ bytes }, 'distill: served our model to a joiner'),
      // A hostile inbound stream of either protocol counts in exchange.rejected, by reason.
      onInboundRejected: (reason) => {
        const code = distillRejectionCode(reason);
        context.metrics.exchange.rejected++;
        context.metrics.exchange.rejectedByReason[code] = (context.metrics.exchange.rejectedByReason[code] ?? 0) + 1;
        context.logger.debug({ reason }, 'distill: inbound stream rejected');
      },
    });
    await this.teacher.start();
  }

  async stop(): Promise<void> {
    await this.teacher?.stop();
  }
}
