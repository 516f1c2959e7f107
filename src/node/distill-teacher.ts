/**
 * `/gossip-learn/distill/1.0.0` on libp2p streams: the teacher side (serve
 * our model to a bounded number of joiners at a time, BUSY otherwise) and
 * the joiner side (ask candidates in order until one answers with a valid
 * registry model, within a deadline). The message logic is pure and lives
 * in src/protocol/distill-messages.ts; this file adds streams, chunking,
 * timeouts and size limits.
 *
 *   const service = new DistillTeacher({ node, swarmId, incarnation, codecSpec: 'q8', snapshot: () => current });
 *   await service.start();
 *   const result = await fetchFromTeachers(node, candidates, { ...decodeOptions, deadlineMs: 30_000 });
 *   if (result.model === null) coldStart(); // every attempt is in result.attempts
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { lpStream } from '@libp2p/utils';
import { createCodec, type Codec } from '../protocol/codec/index.ts';
import {
  decodeDistillAnswer,
  decodeDistillRequest,
  encodeBusy,
  encodeDistillModel,
  encodeDistillRequest,
  type DecodeDistillOptions,
  type DistillAnswer,
} from '../protocol/distill-messages.ts';
import { ProtocolError } from '../protocol/errors.ts';
import type { FrameLimits } from '../protocol/frame.ts';
import { DISTILL_PROTOCOL_ID, MAX_CHUNK_DATA_BYTES } from './constants.ts';
import { DISTILL_MAX_ANSWER_BYTES, DISTILL_MAX_CONCURRENT_JOINERS, DISTILL_MAX_REQUEST_BYTES, DISTILL_READ_TIMEOUT_MS } from './distill-constants.ts';
import { readChunkedFrame, writeChunkedFrame } from './frame-stream.ts';

/** The part of the libp2p node this service uses (tests can pass any node). */
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

/** Teacher side of the protocol. */
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

export interface FetchTeacherOptions extends DecodeDistillOptions {
  incarnation: string;
  wantedModel: string | null;
  maxAnswerBytes?: number;
  readTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface FetchedTeacherModel {
  answer: DistillAnswer;
  /** Bytes of the answer frame (what the transfer cost). */
  bytes: number;
}

/** Asks one peer for its model. Throws ProtocolError on a bad answer; network errors propagate. */
export async function requestTeacherModel(
  node: Pick<Libp2p, 'dialProtocol'>,
  target: PeerId | Multiaddr | Multiaddr[],
  options: FetchTeacherOptions,
): Promise<FetchedTeacherModel> {
  const readTimeoutMs = options.readTimeoutMs ?? DISTILL_READ_TIMEOUT_MS;
  const withTimeout = (): AbortSignal =>
    options.signal === undefined ? AbortSignal.timeout(readTimeoutMs) : AbortSignal.any([AbortSignal.timeout(readTimeoutMs), options.signal]);
  const stream = await node.dialProtocol(target, DISTILL_PROTOCOL_ID, { signal: withTimeout() });
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_CHUNK_DATA_BYTES });
    const request = encodeDistillRequest({ swarmId: options.swarmId, incarnation: options.incarnation, wantedModel: options.wantedModel });
    await writeChunkedFrame(lp, request, { signal: withTimeout() });
    const answerBytes = await readChunkedFrame(lp, {
      maxFrameBytes: options.maxAnswerBytes ?? DISTILL_MAX_ANSWER_BYTES,
      readTimeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const answer = decodeDistillAnswer(answerBytes, options);
    await stream.close({ signal: withTimeout() }).catch(() => stream.abort(new Error('close failed')));
    return { answer, bytes: answerBytes.length + request.length };
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

export interface TeacherCandidate {
  /** How the teacher is named in logs and metrics (peer id or multiaddr). */
  id: string;
  target: PeerId | Multiaddr | Multiaddr[];
}

export type TeacherAttemptOutcome = 'model' | 'busy' | 'rejected' | 'failed' | 'skipped';

export interface TeacherAttempt {
  teacher: string;
  outcome: TeacherAttemptOutcome;
  /** ProtocolError reason or error name for 'rejected' / 'failed'. */
  reason: string | null;
}

export type FetchFromTeachersResult =
  | { model: Extract<DistillAnswer, { kind: 'model' }>; teacher: string; bytes: number; attempts: TeacherAttempt[] }
  | { model: null; teacher: null; bytes: number; attempts: TeacherAttempt[] };

/**
 * Tries candidates in order until one answers with a valid model; BUSY,
 * rejected answers (ProtocolError) and network failures move on to the next.
 * Gives up when the deadline passes (candidates not tried are 'skipped').
 */
export async function fetchFromTeachers(
  node: Pick<Libp2p, 'dialProtocol'>,
  candidates: readonly TeacherCandidate[],
  options: FetchTeacherOptions & { deadlineMs: number },
): Promise<FetchFromTeachersResult> {
  const deadline = AbortSignal.timeout(options.deadlineMs);
  const signal = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
  const attempts: TeacherAttempt[] = [];
  let bytes = 0;
  for (const candidate of candidates) {
    if (signal.aborted) {
      attempts.push({ teacher: candidate.id, outcome: 'skipped', reason: 'deadline' });
      continue;
    }
    try {
      const fetched = await requestTeacherModel(node, candidate.target, { ...options, signal });
      bytes += fetched.bytes;
      if (fetched.answer.kind === 'busy') {
        attempts.push({ teacher: candidate.id, outcome: 'busy', reason: null });
        continue;
      }
      attempts.push({ teacher: candidate.id, outcome: 'model', reason: null });
      return { model: fetched.answer, teacher: candidate.id, bytes, attempts };
    } catch (err) {
      if (err instanceof ProtocolError) attempts.push({ teacher: candidate.id, outcome: 'rejected', reason: err.reason });
      else attempts.push({ teacher: candidate.id, outcome: 'failed', reason: err instanceof Error ? err.name : 'error' });
    }
  }
  return { model: null, teacher: null, bytes, attempts };
}
