/**
 * The daemon's defences and monitoring in one place, so daemon.ts only has
 * to plug it in at three points: libp2p options (metrics, connection limit),
 * the exchange service (per-peer stream limits, rejection reasons), and the
 * HTTP server / metrics refreshers (Prometheus text, memory, params digest).
 *
 *   const hardening = new Hardening(limits);
 *   const node = await createLibp2pNode({ ..., ...hardening.libp2pOptions() });
 *   hardening.bindNode(node);
 *   new ExchangeService({ ..., inbound: hardening });
 *   hardening.attach({ metrics, http, params: () => host.local().params });
 */
import * as tf from '@tensorflow/tfjs';
import type { ConnectionGater, Metrics } from '@libp2p/interface';
import { baseIdOf } from '../protocol/base-id.ts';
import type { HttpServer } from './http.ts';
import {
  connectionLimitGater,
  newLimitHits,
  PeerStreamLimiter,
  type LimitHits,
  type StreamPermit,
} from './limits.ts';
import type { DaemonMetrics } from './metrics.ts';
import { createLibp2pMetrics, PROMETHEUS_PATH, PrometheusExporter } from './prometheus.ts';
import { rejectionReason } from './rejection-reason.ts';

// Re-exported: the daemon imports its stream size bounds from here with the rest of the hardening.
export { maxExchangeFrameBytes, maxExchangeReadBufferBytes } from './limits.ts';

export interface HardeningLimits {
  maxStreamsPerPeer: number;
  /** 0 = no rate limit. */
  maxExchangesPerPeerPerMinute: number;
  maxConnections: number;
}

/** Our gater refuses (and counts) at maxConnections; libp2p's own limit, a little higher, is the silent backstop. */
const LIBP2P_CONNECTION_MARGIN = 8;
/** Distinct rejection reason codes kept; further ones are counted as 'other' (the map stays bounded). */
const MAX_REJECTION_REASONS = 64;

/** What the exchange (and distill) services call for every inbound stream. */
export interface InboundGuard {
  /** A permit for one inbound stream from `peerId`, or null: refuse the stream (the hit and the rejection reason are counted). */
  admit(peerId: string): StreamPermit | null;
  /** Records why an inbound stream was rejected; returns the reason code. */
  countRejection(err: unknown): string;
}

export class Hardening implements InboundGuard {
  readonly limits: HardeningLimits;
  readonly hits: LimitHits = newLimitHits();
  readonly rejectedByReason: Record<string, number> = {};
  private readonly limiter: PeerStreamLimiter;
  private readonly libp2pMetrics = createLibp2pMetrics();
  private openConnections: () => number = () => 0;

  constructor(limits: HardeningLimits) {
    this.limits = limits;
    this.limiter = new PeerStreamLimiter(
      { maxConcurrentPerPeer: limits.maxStreamsPerPeer, maxPerPeerPerMinute: limits.maxExchangesPerPeerPerMinute },
      this.hits,
    );
  }

  /** Options for createLibp2pNode. */
  libp2pOptions(): { metrics: (components: any) => Metrics; connectionGater: ConnectionGater; maxConnections: number } {
    return {
      metrics: this.libp2pMetrics.factory as (components: any) => Metrics,
      connectionGater: connectionLimitGater(
        { maxConnections: this.limits.maxConnections, openConnections: () => this.openConnections() },
        this.hits,
      ),
      maxConnections: this.limits.maxConnections + LIBP2P_CONNECTION_MARGIN,
    };
  }

  /** Lets the connection gater count open connections once the node exists. */
  bindNode(node: { getConnections(): unknown[] }): void {
    this.openConnections = () => node.getConnections().length;
  }

  /** Refusals are counted twice here: as a limit hit, and as rejection reason 'limit' (the caller counts exchange.rejected). */
  admit(peerId: string): StreamPermit | null {
    const permit = this.limiter.tryAcquire(peerId);
    if (permit === null) this.countReason('limit');
    return permit;
  }

  countRejection(err: unknown): string {
    return this.countReason(rejectionReason(err));
  }

  private countReason(code: string): string {
    const reason = code in this.rejectedByReason || Object.keys(this.rejectedByReason).length < MAX_REJECTION_REASONS ? code : 'other';
    this.rejectedByReason[reason] = (this.rejectedByReason[reason] ?? 0) + 1;
    return reason;
  }

  /**
   * Adds `/metrics/prometheus` and the hardening figures to the JSON metrics:
   * `memory {rssBytes, numTensors}`, `limits {hits}`, `exchange.rejectedByReason`,
   * `model.paramsDigest` (when `params` is given).
   */
  attach(options: { metrics: DaemonMetrics; http: HttpServer; params?: () => Float32Array }): PrometheusExporter {
    const { metrics, http } = options;
    metrics.limits.hits = this.hits;
    metrics.exchange.rejectedByReason = this.rejectedByReason;
    metrics.addRefresher(() => {
      metrics.memory.rssBytes = process.memoryUsage.rss();
      metrics.memory.numTensors = tf.memory().numTensors;
      // Fingerprint of the exact parameter bits: shows a model did not change (fuzz:peer) or that two nodes agree.
      if (options.params !== undefined) metrics.model.paramsDigest = baseIdOf(options.params());
    });
    const exporter = new PrometheusExporter({
      snapshot: () => metrics.toJson(),
      libp2pRegistry: this.libp2pMetrics.registry,
    });
    http.addRoute('GET', PROMETHEUS_PATH, () => exporter.response());
    return exporter;
  }
}
