/**
 * The daemon's driver of the gossip core's exchanges (src/core/gossip-node.ts)
 * on `/gossip-learn/exchange/1.0.0` streams: one push-pull exchange per
 * stream, frames chunked over lpStream (frame-stream.ts), every read under a
 * timeout, a stalled or bad stream reset. It moves bytes and counts them; what
 * to send and how to merge is the core's. Inbound streams that end without a
 * completed exchange count as `exchange.rejected`; outbound ones as
 * `exchange.failed`. Merges happen synchronously inside `receive`, so they
 * land between two training batches (the Trainer yields between batches).
 *
 *   const exchanges = new ExchangeService({ gossip, readTimeoutMs });
 *   daemon.addService(exchanges);
 *   await exchanges.exchangeWith(peerId);   // 'merged' | 'busy' | 'skipped'
 */
import { GossipLearnError } from '../common/errors.ts';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { GossipError } from '../core/errors.ts';
import type { GossipExchange, GossipNode, GossipStep } from '../core/gossip-node.ts';
import { DEFAULT_FRAME_LIMITS } from '../protocol/frame.ts';
import type { ExchangeOutcome, FrameBytes } from '../protocol/session.ts';
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
import { limitedIpOf } from './access-control.ts';
import { maxExchangeReadBufferBytes } from './limits.ts';
import { lpStream } from '@libp2p/utils';
import { readChunkedFrame, writeChunkedFrame, type LengthPrefixedChannel } from './frame-stream.ts';
import type { PeerReach } from './peer-reach.ts';

export type ExchangeResult = 'merged' | 'busy' | 'skipped' | 'error-from-peer';

export interface ExchangeServiceOptions {
  /** The node's gossip core: sessions, aggregator, counters. */
  gossip: GossipNode;
  readTimeoutMs?: number;
  exchangeTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Chunk size on the wire (tests use small chunks to exercise reassembly). */
  chunkBytes?: number;
  /** Per-peer admission and rejection reasons (src/node/admission.ts). */
  inbound?: InboundGuard;
  /** Counts completed exchanges by the path of their connection: direct, relayed, hole-punched (src/node/peer-reach.ts). */
  reach?: Pick<PeerReach, 'countExchange'>;
}

/** An exchange that ended without a model: the peer answered ERROR ('no-frame'), or we are shutting down ('stopped'). */
export class ExchangeFailedError extends GossipLearnError<'no-frame' | 'stopped'> {
  override readonly name = 'ExchangeFailedError';
}

export class ExchangeService implements DaemonService {
  readonly name = 'exchange';
  private readonly gossip: GossipNode;
  private readonly readTimeoutMs: number;
  private readonly exchangeTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly chunkBytes: number | undefined;
  private readonly inbound: InboundGuard | null;
  private readonly reach: Pick<PeerReach, 'countExchange'> | null;
  private context: DaemonContext | null = null;
  /** Every running exchange (both directions), aborted at the shutdown deadline. */
  private readonly inFlight = new Map<Promise<unknown>, AbortController>();
  private accepting = false;

  constructor(options: ExchangeServiceOptions) {
    this.gossip = options.gossip;
    this.readTimeoutMs = options.readTimeoutMs ?? READ_TIMEOUT_MS;
    this.exchangeTimeoutMs = options.exchangeTimeoutMs ?? EXCHANGE_TIMEOUT_MS;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_FRAME_LIMITS.maxFrameBytes;
    this.chunkBytes = options.chunkBytes;
    this.inbound = options.inbound ?? null;
    this.reach = options.reach ?? null;
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
    let start: ReturnType<GossipNode['initiate']>;
    try {
      start = this.gossip.initiate(id);
    } catch (err) {
      return Promise.reject(err);
    }
    if (start === null) return Promise.resolve('skipped');
    const started = start;
    const { metrics } = context;
    metrics.exchange.initiated++;
    return this.track(async (signal) => {
      let stream: Stream | null = null;
      const exchange = started.exchange;
      const startedMs = performance.now();
      try {
        // libp2p reuses an open unlimited connection (direct, or through a --relay-unlimited relay); on a
        // connection a relay limits, newStream throws LimitedConnectionError: model bytes wait for a direct one.
        const connection = await context.node.dial(peerId, { signal });
        stream = await connection.newStream(EXCHANGE_PROTOCOL_ID, { signal });
        const wire = lpStream(stream, { maxDataLength: MAX_CHUNK_DATA_BYTES, maxBufferSize: maxExchangeReadBufferBytes(this.maxFrameBytes) });
        await this.writeFrames(wire, started.frames, signal);
        this.countBytes('sent', started.sent, id);
        while (!exchange.done) {
          const { bytes, arrivedMs } = await this.readFrame(wire, signal);
          const step = this.receive(exchange, bytes, arrivedMs);
          await this.writeFrames(wire, step.frames, signal);
          this.countBytes('sent', step.sent, id);
        }
        await stream.close({ signal });
        const outcome = exchange.outcome;
        if (outcome === 'busy') {
          metrics.exchange.busy++;
          context.events?.emit('exchange', { peer: id, direction: 'outbound', outcome: 'busy' });
          return 'busy';
        }
        if (outcome === 'error-from-peer') throw new ExchangeFailedError('no-frame', 'peer answered ERROR');
        metrics.exchange.lastAt = new Date().toISOString();
        metrics.keyMetrics.exchangeRoundTripMs.observe(performance.now() - startedMs);
        metrics.keyMetrics.exchangeCompleted(id);
        this.reach?.countExchange(connection);
        context.events?.emit('exchange', { peer: id, direction: 'outbound', outcome: 'merged' });
        return 'merged';
      } catch (err) {
        exchange.close();
        stream?.abort(err as Error);
        metrics.exchange.failed++;
        context.events?.emit('exchange', { peer: id, direction: 'outbound', outcome: 'failed' });
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
    const permit = this.inbound === null ? null : this.inbound.admit(id, limitedIpOf(connection.remoteAddr));
    if (this.inbound !== null && permit === null) {
      // Over a per-peer limit: refused before reading anything (the guard counts the hit).
      stream.abort(new ExchangeFailedError('stopped', 'per-peer limit reached'));
      metrics.exchange.rejected++;
      metrics.keyMetrics.peers.rejected(id);
      return;
    }
    void this.track(async (signal) => {
      const exchange = this.gossip.accept(id);
      try {
        const wire = lpStream(stream, { maxDataLength: MAX_CHUNK_DATA_BYTES, maxBufferSize: maxExchangeReadBufferBytes(this.maxFrameBytes) });
        while (!exchange.done) {
          let frame: { bytes: Uint8Array; arrivedMs: number };
          try {
            frame = await this.readFrame(wire, signal);
          } catch (err) {
            // After our reply the initiator either closes (the normal end) or asks once for NEED_BASE.
            if (exchange.outcome !== null && isEndOfStream(err)) break;
            throw err;
          }
          const step = this.receive(exchange, frame.bytes, frame.arrivedMs);
          await this.writeFrames(wire, step.frames, signal);
          this.countBytes('sent', step.sent, id);
        }
        exchange.close();
        await stream.close({ signal });
        this.countInbound(exchange.outcome, id, connection);
      } catch (err) {
        exchange.close();
        stream.abort(err as Error);
        // A stream that already delivered a merged model is not a rejection, whatever happens after;
        // one whose update the model refused (outcome 'merged' at session level only) is.
        const modelRefused = err instanceof GossipError && err.reason === 'merge-rejected';
        if (exchange.outcome === 'merged' && !modelRefused) this.countInbound('merged', id, connection);
        else {
          metrics.exchange.rejected++;
          metrics.keyMetrics.peers.rejected(id);
          context.events?.emit('exchange', { peer: id, direction: 'inbound', outcome: 'rejected' });
          this.inbound?.countRejection(err);
        }
        context.logger.debug({ err, peer: id }, exchange.outcome === 'merged' ? 'inbound exchange ended badly after merging' : 'inbound exchange rejected');
      } finally {
        permit?.release();
      }
    }, this.exchangeTimeoutMs);
  }

  private countInbound(outcome: ExchangeOutcome, peerId: string, connection: Connection): void {
    const metrics = this.context?.metrics;
    if (metrics === undefined) return;
    if (outcome === 'merged') {
      this.reach?.countExchange(connection);
      metrics.exchange.accepted++;
      metrics.exchange.lastAt = new Date().toISOString();
      metrics.keyMetrics.exchangeCompleted(peerId);
      this.context?.events?.emit('exchange', { peer: peerId, direction: 'inbound', outcome: 'merged' });
    } else if (outcome === 'busy') {
      metrics.exchange.busy++;
      this.context?.events?.emit('exchange', { peer: peerId, direction: 'inbound', outcome: 'busy' });
    }
  }

  /** One whole frame, and when its first chunk arrived (performance.now ms: the start of updateToMergeMs). */
  private async readFrame(wire: LengthPrefixedChannel, signal: AbortSignal): Promise<{ bytes: Uint8Array; arrivedMs: number }> {
    let arrivedMs: number | null = null;
    const timed: LengthPrefixedChannel = {
      read: async (options) => {
        const chunk = await wire.read(options);
        arrivedMs ??= performance.now();
        return chunk;
      },
      write: (data, options) => wire.write(data, options),
    };
    const bytes = await readChunkedFrame(timed, { maxFrameBytes: this.maxFrameBytes, readTimeoutMs: this.readTimeoutMs, signal });
    return { bytes, arrivedMs: arrivedMs ?? performance.now() };
  }

  /** Feeds one received frame to the gossip core (which merges) and counts what it did (throws ProtocolError, GossipError). */
  private receive(exchange: GossipExchange, bytes: Uint8Array, arrivedMs: number): GossipStep {
    const mergedBefore = this.gossip.counters.merged;
    let step: GossipStep;
    try {
      step = exchange.receive(bytes);
    } catch (err) {
      // A refused model was still received in full: its bytes count like any other frame's.
      if (err instanceof GossipError && err.received !== null) this.countBytes('received', err.received, exchange.peerId);
      throw err;
    } finally {
      const metrics = this.context?.metrics;
      if (metrics !== undefined) {
        metrics.exchange.merged = this.gossip.counters.merged;
        metrics.exchange.mergeRejected = this.gossip.counters.mergeRejected;
        metrics.exchange.needBase = this.gossip.sessions.stats.needBaseSent;
      }
      if (this.gossip.counters.merged > mergedBefore) this.context?.events?.emit('merge', { peer: exchange.peerId, merged: this.gossip.counters.merged });
    }
    this.countBytes('received', step.received, exchange.peerId);
    if (step.merged) this.context?.metrics.keyMetrics.updateToMergeMs.observe(performance.now() - arrivedMs);
    return step;
  }

  /** Bytes as the session measured them (frames, payload, model frames): never re-decoded here. */
  private countBytes(direction: 'sent' | 'received', bytes: FrameBytes, peerId: string): void {
    const metrics = this.context?.metrics;
    if (metrics === undefined) return;
    metrics.countFrames(direction, bytes, this.gossip.sessions.config.paramCount);
    metrics.keyMetrics.peers.countBytes(peerId, direction, bytes.payloadBytes + bytes.metaBytes);
  }

  private async writeFrames(wire: LengthPrefixedChannel, frames: Uint8Array[], signal: AbortSignal): Promise<void> {
    for (const frame of frames) {
      await writeChunkedFrame(wire, frame, { signal, ...(this.chunkBytes === undefined ? {} : { chunkBytes: this.chunkBytes }) });
    }
  }
}

/** lpStream's error for a stream that closed before (or inside) the next message. */
function isEndOfStream(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'UnexpectedEOFError';
}
