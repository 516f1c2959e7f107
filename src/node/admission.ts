/**
 * Admission control for inbound connections and streams: a connection
 * limit in front of libp2p's own, per-peer and per-IP limits on inbound
 * exchange streams (concurrent, and per minute; a fresh peer id resets only
 * the per-peer ones), and the counts `/metrics` shows:
 * refusals by limit (`limits.hits`) and rejected inbound streams by reason
 * (`exchange.rejectedByReason`).
 *
 *   const admission = new InboundAdmission(limits);
 *   const node = await createLibp2pNode({ ..., ...admission.libp2pOptions() });
 *   admission.bindNode(node);
 *   admission.reportTo(metrics);
 *   new ExchangeService({ ..., inbound: admission });
 *
 * The limiters themselves are in limits.ts; monitoring.ts exports the
 * figures as Prometheus text.
 */
import type { Connection, ConnectionGater } from '@libp2p/interface';
import {
  connectionLimitGater,
  ConnectionTrimmer,
  DEFAULT_MAX_EXCHANGES_PER_IP_PER_MINUTE,
  DEFAULT_MAX_STREAMS_PER_IP,
  newLimitHits, PeerStreamLimiter, type LimitHits, type StreamPermit } from './limits.ts';
import type { DaemonMetrics } from './metrics.ts';
import { rejectionReason } from './rejection-reason.ts';

export interface AdmissionLimits {
  maxStreamsPerPeer: number;
  /** 0 = no rate limit. */
  maxExchangesPerPeerPerMinute: number;
  maxConnections: number;
  /** Concurrent inbound exchange streams from one IP address (default DEFAULT_MAX_STREAMS_PER_IP). */
  maxStreamsPerIp?: number;
  /** Inbound exchanges from one IP address per minute; 0 = no rate limit (default DEFAULT_MAX_EXCHANGES_PER_IP_PER_MINUTE). */
  maxExchangesPerIpPerMinute?: number;
  /** Newcomers let in past maxConnections at a time (default DEFAULT_NEWCOMER_SLOTS in limits.ts). */
  newcomerSlots?: number;
  /** How long such a newcomer stays before it is closed (default DEFAULT_NEWCOMER_GRACE_MS). */
  newcomerGraceMs?: number;
}

/** The part of the libp2p node admission binds to. */
export interface AdmissionNode {
  getConnections(): unknown[];
  addEventListener(type: 'connection:open', listener: (evt: CustomEvent<Connection>) => void): void;
  removeEventListener(type: 'connection:open', listener: (evt: CustomEvent<Connection>) => void): void;
}

/** Our gater refuses (and counts) at maxConnections; libp2p's own limit, a little higher, is the silent backstop. */
const LIBP2P_CONNECTION_MARGIN = 8;
/** Distinct rejection reason codes kept; further ones are counted as 'other' (the map stays bounded). */
const MAX_REJECTION_REASONS = 64;

/** What the exchange (and distill) services call for every inbound stream. */
export interface InboundGuard {
  /** A permit for one inbound stream from `peerId` at address `ip` (null: not an IP transport), or null: refuse the stream (the hit and the rejection reason are counted). */
  admit(peerId: string, ip?: string | null): StreamPermit | null;
  /** Records why an inbound stream was rejected; returns the reason code. */
  countRejection(err: unknown): string;
}

export class InboundAdmission implements InboundGuard {
  readonly limits: AdmissionLimits;
  readonly hits: LimitHits = newLimitHits();
  readonly rejectedByReason: Record<string, number> = {};
  private readonly limiter: PeerStreamLimiter;
  private readonly ipLimiter: PeerStreamLimiter;
  /** Called for every refusal by a per-IP limit (the daemon counts them in `peers.refused['ip-limit']`). */
  onIpLimit: () => void = () => undefined;
  private openConnections: () => number = () => 0;
  private readonly trimmer: ConnectionTrimmer;
  private readonly onOpen = (evt: CustomEvent<Connection>): void => this.trimmer.opened(evt.detail);
  private node: AdmissionNode | null = null;

  constructor(limits: AdmissionLimits) {
    this.limits = limits;
    this.limiter = new PeerStreamLimiter(
      { maxConcurrentPerPeer: limits.maxStreamsPerPeer, maxPerPeerPerMinute: limits.maxExchangesPerPeerPerMinute },
      this.hits,
    );
    this.ipLimiter = new PeerStreamLimiter(
      {
        maxConcurrentPerPeer: limits.maxStreamsPerIp ?? DEFAULT_MAX_STREAMS_PER_IP,
        maxPerPeerPerMinute: limits.maxExchangesPerIpPerMinute ?? DEFAULT_MAX_EXCHANGES_PER_IP_PER_MINUTE,
      },
      this.hits,
      { concurrent: 'streams-per-ip', rate: 'exchanges-per-ip-per-minute' },
    );
    this.trimmer = new ConnectionTrimmer(
      { maxConnections: limits.maxConnections, openConnections: () => this.openConnections(), ...(limits.newcomerGraceMs === undefined ? {} : { graceMs: limits.newcomerGraceMs }) },
      this.hits,
    );
  }

  /** Options for createLibp2pNode. */
  libp2pOptions(): { connectionGater: ConnectionGater; maxConnections: number } {
    return {
      connectionGater: connectionLimitGater(
        {
          maxConnections: this.limits.maxConnections,
          openConnections: () => this.openConnections(),
          ...(this.limits.newcomerSlots === undefined ? {} : { newcomerSlots: this.limits.newcomerSlots }),
        },
        this.hits,
      ),
      maxConnections: this.limits.maxConnections + LIBP2P_CONNECTION_MARGIN,
    };
  }

  /** Lets the connection gater count open connections once the node exists, and trims newcomers past the limit after their grace. */
  bindNode(node: AdmissionNode): void {
    this.openConnections = () => node.getConnections().length;
    this.node = node;
    node.addEventListener('connection:open', this.onOpen);
  }

  /** Stops trimming (the node is stopping). */
  unbind(): void {
    this.node?.removeEventListener('connection:open', this.onOpen);
    this.node = null;
    this.trimmer.stop();
  }

  /** Shares our counters with the JSON metrics: `limits.hits` and `exchange.rejectedByReason`. */
  reportTo(metrics: DaemonMetrics): void {
    metrics.limits.hits = this.hits;
    metrics.exchange.rejectedByReason = this.rejectedByReason;
  }

  /** Refusals are counted twice here: as a limit hit, and as rejection reason 'limit' (the caller counts exchange.rejected). */
  admit(peerId: string, ip: string | null = null): StreamPermit | null {
    const permit = this.limiter.tryAcquire(peerId);
    if (permit === null) {
      this.countReason('limit');
      return null;
    }
    if (ip === null) return permit;
    // The peer's token is spent even when its address is over the limit: a flood costs both buckets.
    const ipPermit = this.ipLimiter.tryAcquire(ip);
    if (ipPermit === null) {
      permit.release();
      this.countReason('limit');
      this.onIpLimit();
      return null;
    }
    return {
      release: () => {
        permit.release();
        ipPermit.release();
      },
    };
  }

  countRejection(err: unknown): string {
    return this.countReason(rejectionReason(err));
  }

  private countReason(code: string): string {
    const reason = code in this.rejectedByReason || Object.keys(this.rejectedByReason).length < MAX_REJECTION_REASONS ? code : 'other';
    this.rejectedByReason[reason] = (this.rejectedByReason[reason] ?? 0) + 1;
    return reason;
  }
}
