/**
 * Adapter of the pure session state machine (src/protocol/session.ts) onto
 * `/gossip-learn/exchange/1.0.0` streams: one push-pull exchange per stream,
 * frames chunked over lpStream (frame-stream.ts), every read under a timeout, a
 * stalled or bad stream reset. Inbound streams that end without a completed
 * exchange count as `exchange.rejected`; outbound ones as `exchange.failed`.
 * Merges go through the injected ExchangeModel, synchronously, so they land
 * between two training batches (the Trainer yields between batches).
 *
 *   const exchanges = new ExchangeService({ sessions, model, readTimeoutMs });
 *   daemon.addService(exchanges);
 *   await exchanges.exchangeWith(peerId);   // 'merged' | 'busy' | 'skipped'
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { MergeResult } from '../train/merge.ts';
import { DEFAULT_FRAME_LIMITS, decodeFrame } from '../protocol/frame.ts';
import { SessionError, type Exchange, type ExchangeOutcome, type ExchangeStep, type LocalModel, type PeerEstimate, type SessionTable } from '../protocol/session.ts';
import {
  EXCHANGE_PROTOCOL_ID,
  EXCHANGE_TIMEOUT_MS,
  MAX_INBOUND_EXCHANGE_STREAMS,
  MAX_OUTBOUND_EXCHANGE_STREAMS,
  MAX_CHUNK_DATA_BYTES,
  READ_TIMEOUT_MS,
} from './constants.ts';
import type { DaemonContext, DaemonService } from './service.ts';
import type { InboundGuard } from './admission.ts';
import { maxExchangeReadBufferBytes } from './limits.ts';
import { lpStream } from '@libp2p/utils';
import { readChunkedFrame, writeChunkedFrame, type LengthPrefixedChannel } from './frame-stream.ts';

/** The local model as the exchange sees it. */
export interface ExchangeModel {
  /** A consistent snapshot of the parameters and counters (copied: safe across awaits). */
  local(): LocalModel;
  /** Merges a peer estimate into the live model now (synchronously: between training batches). */
  merge(estimate: PeerEstimate): MergeResult;
}

export type ExchangeResult = 'merged' | 'busy' | 'skipped' | 'error-from-peer';

export interface ExchangeServiceOptions {
  sessions: SessionTable;
  model: ExchangeModel;
  readTimeoutMs?: number;
  exchangeTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Chunk size on the wire (tests use small chunks to exercise reassembly). */
  chunkBytes?: number;
  /** Per-peer admission and rejection reasons (src/node/hardening.ts). */
  inbound?: InboundGuard;
}

export class ExchangeFailedError extends Error {
  override name = 'ExchangeFailedError';
  readonly reason: 'no-frame' | 'merge-rejected' | 'stopped';
  constructor(reason: 'no-frame' | 'merge-rejected' | 'stopped', message: string) {
    super(message);
    this.reason = reason;
  }
}

export class ExchangeService implements DaemonService {
  readonly name = 'exchange';
  private readonly sessions: SessionTable;
  private readonly model: ExchangeModel;
  private readonly readTimeoutMs: number;
  private readonly exchangeTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly chunkBytes: number | undefined;
  private readonly inbound: InboundGuard | null;
  private context: DaemonContext | null = null;
  /** Every running exchange (both directions), aborted at the shutdown deadline. */
  private readonly inFlight = new Map<Promise<unknown>, AbortController>();
  private accepting = false;

  constructor(options: ExchangeServiceOptions) {
    this.sessions = options.sessions;
    this.model = options.model;
    this.readTimeoutMs = options.readTimeoutMs ?? READ_TIMEOUT_MS;
    this.exchangeTimeoutMs = options.exchangeTimeoutMs ?? EXCHANGE_TIMEOUT_MS;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_FRAME_LIMITS.maxFrameBytes;
    this.chunkBytes = options.chunkBytes;
    this.inbound = options.inbound ?? null;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  async start(context: DaemonContext): Promise<void> {
    this.context = context;
    this.accepting = true;
    await context.node.handle(EXCHANGE_PROTOCOL_ID, (stream, connection) => this.onInbound(stream, connection), {
      maxInboundStreams: MAX_INBOUND_EXCHANGE_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_EXCHANGE_STREAMS,
    });
  }

  /** First step of a shutdown: refuse new inbound streams and new outbound exchanges; running ones go on. */
  async stopAccepting(): Promise<void> {
    if (!this.accepting) return;
    this.accepting = false;
    await this.context?.node.unhandle(EXCHANGE_PROTOCOL_ID).catch(() => undefined);
  }

  /** Stops accepting, lets running exchanges finish until `deadline`, then aborts the rest. */
  async stop(deadline: AbortSignal): Promise<void> {
    await this.stopAccepting();
    const context = this.context;
    if (context === null) return;
    if (this.inFlight.size > 0) {
      const abortAll = (): void => {
        for (const controller of this.inFlight.values()) controller.abort(new ExchangeFailedError('stopped', 'daemon shutting down'));
      };
      if (deadline.aborted) abortAll();
      else deadline.addEventListener('abort', abortAll, { once: true });
      await Promise.allSettled([...this.inFlight.keys()]);
      deadline.removeEventListener('abort', abortAll);
    }
    this.context = null;
  }

  private track<T>(run: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]);
    const promise = run(signal);
    this.inFlight.set(promise, controller);
    const untrack = (): void => {
      this.inFlight.delete(promise);
    };
    promise.then(untrack, untrack);
    return promise;
  }

  /** Runs one outbound push-pull exchange. Throws on failure (counted in exchange.failed). */
  exchangeWith(peer: string | PeerId): Promise<ExchangeResult> {
    const context = this.context;
    if (context === null || !this.accepting) return Promise.reject(new ExchangeFailedError('stopped', 'exchange service not running'));
    const peerId = typeof peer === 'string' ? peerIdFromString(peer) : peer;
    const id = peerId.toString();
    // Lock the peer's record before dialling: an inbound exchange from that peer meanwhile gets BUSY
    // instead of racing us (and we never open a stream we then leave empty, which it would count as rejected).
    let start: ReturnType<SessionTable['initiate']>;
    try {
      start = this.sessions.initiate(id, this.model.local());
    } catch (err) {
      if (err instanceof SessionError && err.reason === 'busy') return Promise.resolve('skipped');
      return Promise.reject(err);
    }
    const { metrics } = context;
    metrics.exchange.initiated++;
    return this.track(async (signal) => {
      let stream: Stream | null = null;
      const exchange = start.exchange;
      try {
        stream = await context.node.dialProtocol(peerId, EXCHANGE_PROTOCOL_ID, { signal });
        const wire = lpStream(stream, { maxDataLength: MAX_CHUNK_DATA_BYTES, maxBufferSize: maxExchangeReadBufferBytes(this.maxFrameBytes) });
        await this.writeFrames(wire, start.frames, signal);
        while (!exchange.done) {
          const bytes = await this.readFrame(wire, signal);
          const step = this.handleFrame(exchange, bytes);
          this.applyMerge(id, step, 'outbound');
          await this.writeFrames(wire, step.frames, signal);
        }
        await stream.close({ signal });
        const outcome = exchange.outcome;
        if (outcome === 'busy') {
          metrics.exchange.busy++;
          return 'busy';
        }
        if (outcome === 'error-from-peer') throw new ExchangeFailedError('no-frame', 'peer answered ERROR');
        metrics.exchange.lastAt = new Date().toISOString();
        return 'merged';
      } catch (err) {
        exchange.close();
        stream?.abort(err as Error);
        metrics.exchange.failed++;
        throw err;
      }
    }, this.exchangeTimeoutMs);
  }

  private onInbound(stream: Stream, connection: Connection): void {
    const context = this.context;
    if (context === null || !this.accepting) {
      stream.abort(new ExchangeFailedError('stopped', 'not accepting exchanges'));
      return;
    }
    const id = connection.remotePeer.toString();
    const { metrics } = context;
    const permit = this.inbound === null ? null : this.inbound.admit(id);
    if (this.inbound !== null && permit === null) {
      // Over a per-peer limit: refused before reading anything (the guard counts the hit).
      stream.abort(new ExchangeFailedError('stopped', 'per-peer limit reached'));
      metrics.exchange.rejected++;
      return;
    }
    void this.track(async (signal) => {
      const exchange = this.sessions.accept(id);
      try {
        const wire = lpStream(stream, { maxDataLength: MAX_CHUNK_DATA_BYTES, maxBufferSize: maxExchangeReadBufferBytes(this.maxFrameBytes) });
        while (!exchange.done) {
          let bytes: Uint8Array;
          try {
            bytes = await this.readFrame(wire, signal);
          } catch (err) {
            // After our reply the initiator either closes (the normal end) or asks once for NEED_BASE.
            if (exchange.outcome !== null && isEndOfStream(err)) break;
            throw err;
          }
          const step = this.handleFrame(exchange, bytes);
          this.applyMerge(id, step, 'inbound');
          await this.writeFrames(wire, step.frames, signal);
        }
        exchange.close();
        await stream.close({ signal });
        this.countInbound(exchange.outcome);
      } catch (err) {
        exchange.close();
        stream.abort(err as Error);
        // A stream that already delivered a merged model is not a rejection, whatever happens after;
        // one whose update the model refused (outcome 'merged' at session level only) is.
        const modelRefused = err instanceof ExchangeFailedError && err.reason === 'merge-rejected';
        if (exchange.outcome === 'merged' && !modelRefused) this.countInbound('merged');
        else {
          metrics.exchange.rejected++;
          this.inbound?.countRejection(err);
        }
        context.logger.debug({ err, peer: id }, exchange.outcome === 'merged' ? 'inbound exchange ended badly after merging' : 'inbound exchange rejected');
      } finally {
        permit?.release();
      }
    }, this.exchangeTimeoutMs);
  }

  private countInbound(outcome: ExchangeOutcome): void {
    const metrics = this.context?.metrics;
    if (metrics === undefined) return;
    if (outcome === 'merged') {
      metrics.exchange.accepted++;
      metrics.exchange.lastAt = new Date().toISOString();
    } else if (outcome === 'busy') {
      metrics.exchange.busy++;
    }
  }

  private readFrame(wire: LengthPrefixedChannel, signal: AbortSignal): Promise<Uint8Array> {
    return readChunkedFrame(wire, { maxFrameBytes: this.maxFrameBytes, readTimeoutMs: this.readTimeoutMs, signal });
  }

  /** Feeds one received frame to the session and counts its bytes (throws ProtocolError on a bad frame). */
  private handleFrame(exchange: Exchange, bytes: Uint8Array): ExchangeStep {
    const stats = this.sessions.stats.received;
    const payloadBefore = stats.payloadBytes;
    const step = exchange.handle(bytes, this.model.local());
    // handle() is synchronous: the session's counters moved by exactly this frame.
    const payloadBytes = stats.payloadBytes - payloadBefore;
    const metrics = this.context?.metrics;
    if (metrics !== undefined) {
      metrics.countFrame('received', bytes.length, payloadBytes, payloadBytes > 0 ? this.sessions.config.paramCount : 0);
      metrics.exchange.needBase = this.sessions.stats.needBaseSent;
    }
    return step;
  }

  private applyMerge(peerId: string, step: ExchangeStep, direction: 'inbound' | 'outbound'): void {
    if (step.merge === null) return;
    const result = this.model.merge(step.merge);
    const metrics = this.context?.metrics;
    if (result.status === 'merged') {
      if (metrics !== undefined) metrics.exchange.merged++;
      return;
    }
    // The replicas moved but the model refused the update: drop the pair so both sides resync.
    this.sessions.forget(peerId);
    if (metrics !== undefined) metrics.exchange.mergeRejected++;
    throw new ExchangeFailedError('merge-rejected', `${direction} update from ${peerId} rejected: ${result.reason}`);
  }

  private async writeFrames(wire: LengthPrefixedChannel, frames: Uint8Array[], signal: AbortSignal): Promise<void> {
    const metrics = this.context?.metrics;
    for (const frame of frames) {
      await writeChunkedFrame(wire, frame, { signal, ...(this.chunkBytes === undefined ? {} : { chunkBytes: this.chunkBytes }) });
      // Our own frame, decoded for its payload size: the byte split is measured, not inferred.
      const { header, payload } = decodeFrame(frame, DEFAULT_FRAME_LIMITS);
      metrics?.countFrame('sent', frame.length, payload.length, payload.length > 0 ? header.paramCount : 0);
    }
  }
}

/** lpStream's error for a stream that closed before (or inside) the next message. */
function isEndOfStream(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'UnexpectedEOFError';
}
