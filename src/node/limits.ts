/**
 * Limits that keep one hostile or broken peer from eating the daemon:
 * concurrent inbound streams per peer, inbound exchanges per peer per
 * minute (token bucket), and total connections (a connection gater in
 * front of libp2p's own `maxConnections`). Every refusal is counted by limit
 * name, so `/metrics` shows when a limit bites.
 *
 *   const limiter = new PeerStreamLimiter({ maxConcurrentPerPeer: 4, maxPerPeerPerMinute: 120 }, hits);
 *   const permit = limiter.tryAcquire(peerId);
 *   if (permit === null) { stream.abort(...); return; }   // counted in hits
 *   try { ... } finally { permit.release(); }
 */
import type { ConnectionGater } from '@libp2p/interface';
import { LruMap } from '../common/lru.ts';
import { CHUNK_BYTES } from './constants.ts';
import { monotonicNowMs } from '../common/clock.ts';

export const LIMIT_NAMES = [
  'streams-per-peer',
  'exchanges-per-peer-per-minute',
  'connections',
  'distill-streams-per-peer',
  'distill-requests-per-peer-per-minute',
  'streams-per-ip',
  'exchanges-per-ip-per-minute',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/** Per-limit refusal counters (shared by the limiters and read by metrics). */
export type LimitHits = Record<LimitName, number>;

export const newLimitHits = (): LimitHits => ({
  'streams-per-peer': 0,
  'exchanges-per-peer-per-minute': 0,
  connections: 0,
  'distill-streams-per-peer': 0,
  'distill-requests-per-peer-per-minute': 0,
  'streams-per-ip': 0,
  'exchanges-per-ip-per-minute': 0,
});

/** Defaults: generous for honest peers (one exchange at a time; at the default 500 ms interval a peer starts 2 a second, spread over all its peers), tight for floods. */
export const DEFAULT_MAX_STREAMS_PER_PEER = 4;
export const DEFAULT_MAX_EXCHANGES_PER_PEER_PER_MINUTE = 240;
export const DEFAULT_MAX_CONNECTIONS = 64;
/**
 * Per remote IP address, beside the per-peer limits (a fresh peer id per
 * connection resets those, not these): room for several honest daemons
 * behind one address (a NAT, or a cluster on 127.0.0.1).
 */
export const DEFAULT_MAX_STREAMS_PER_IP = 32;
export const DEFAULT_MAX_EXCHANGES_PER_IP_PER_MINUTE = 960;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 32;
/**
 * Distill teacher side: a joiner needs one model per join (and a refresh every
 * few minutes); each answer is a whole model, so a peer asking in a loop would
 * hold the few teacher slots and cost a model's bytes per tiny request.
 */
export const DISTILL_MAX_STREAMS_PER_PEER = 1;
export const DISTILL_MAX_REQUESTS_PER_PEER_PER_MINUTE = 12;
/** Peers whose buckets we remember; beyond it, idle full buckets are forgotten first (memory stays bounded). */
export const MAX_TRACKED_PEERS = 4096;

const MS_PER_MINUTE = 60_000;

export interface PeerStreamLimits {
  maxConcurrentPerPeer: number;
  /** Token bucket: this many per minute sustained, and at most this many in a burst. 0 = no rate limit. */
  maxPerPeerPerMinute: number;
  maxTrackedPeers?: number;
  now?: () => number;
}

export interface StreamPermit {
  /** Idempotent. */
  release(): void;
}

interface PeerState {
  active: number;
  tokens: number;
  refilledAtMs: number;
}

/** Which counters a limiter's refusals go to (the exchange's by default). */
export interface LimitHitNames {
  concurrent: LimitName;
  rate: LimitName;
}

export class PeerStreamLimiter {
  private readonly limits: Required<PeerStreamLimits>;
  private readonly hits: LimitHits;
  private readonly hitNames: LimitHitNames;
  /**
   * Bounded by maxTrackedPeers: the least recently touched peer without
   * active streams is forgotten first. Forgetting refills its bucket, so a
   * flood of fresh peer ids could launder a rate limit: the connection limit
   * and the per-peer cost of a Noise handshake bound that.
   */
  private readonly peers: LruMap<string, PeerState>;

  constructor(
    limits: PeerStreamLimits,
    hits: LimitHits = newLimitHits(),
    hitNames: LimitHitNames = { concurrent: 'streams-per-peer', rate: 'exchanges-per-peer-per-minute' },
  ) {
    if (!Number.isSafeInteger(limits.maxConcurrentPerPeer) || limits.maxConcurrentPerPeer < 1) {
      throw new RangeError(`maxConcurrentPerPeer must be a positive integer, got ${limits.maxConcurrentPerPeer}`);
    }
    if (!Number.isFinite(limits.maxPerPeerPerMinute) || limits.maxPerPeerPerMinute < 0) {
      throw new RangeError(`maxPerPeerPerMinute must be >= 0, got ${limits.maxPerPeerPerMinute}`);
    }
    this.limits = { maxTrackedPeers: MAX_TRACKED_PEERS, now: monotonicNowMs, ...limits };
    this.peers = new LruMap(this.limits.maxTrackedPeers, (state) => state.active === 0);
    this.hits = hits;
    this.hitNames = hitNames;
  }

  get trackedPeers(): number {
    return this.peers.size;
  }

  activeStreams(peerId: string): number {
    return this.peers.peek(peerId)?.active ?? 0;
  }

  /** A permit for one inbound stream, or null (counted) when a limit refuses it. */
  tryAcquire(peerId: string): StreamPermit | null {
    const now = this.limits.now();
    const state = this.touch(peerId, now);
    if (state.active >= this.limits.maxConcurrentPerPeer) {
      this.hits[this.hitNames.concurrent] = (this.hits[this.hitNames.concurrent] ?? 0) + 1;
      return null;
    }
    if (this.limits.maxPerPeerPerMinute > 0) {
      if (state.tokens < 1) {
        this.hits[this.hitNames.rate] = (this.hits[this.hitNames.rate] ?? 0) + 1;
        return null;
      }
      state.tokens -= 1;
    }
    state.active++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        state.active--;
      },
    };
  }

  /** The peer's state with its bucket refilled up to `now`; marks it recently touched. */
  private touch(peerId: string, now: number): PeerState {
    const capacity = this.limits.maxPerPeerPerMinute;
    let state = this.peers.get(peerId);
    if (state === undefined) {
      state = { active: 0, tokens: capacity, refilledAtMs: now };
      this.peers.set(peerId, state);
    } else {
      const elapsedMs = Math.max(0, now - state.refilledAtMs);
      state.tokens = Math.min(capacity, state.tokens + (elapsedMs * capacity) / MS_PER_MINUTE);
      state.refilledAtMs = now;
    }
    return state;
  }
}

/**
 * A node at its connection limit still lets this many newcomers in at a time,
 * for NEWCOMER_GRACE_MS: long enough to learn other peers' addresses from it
 * (pubsub peer discovery, announcements) and dial them. A newcomer whose
 * only bootstrap address is a full node would otherwise never reach the swarm.
 */
export const DEFAULT_NEWCOMER_SLOTS = 4;
/** Two of pubsub peer discovery's default 5 s broadcasts, plus a gossipsub heartbeat or two. */
export const DEFAULT_NEWCOMER_GRACE_MS = 15_000;

export interface ConnectionLimitOptions {
  maxConnections: number;
  /** Inbound connections beyond maxConnections let in for a grace period (default DEFAULT_NEWCOMER_SLOTS). */
  newcomerSlots?: number;
  /** Open connections right now (bound after the libp2p node exists). */
  openConnections: () => number;
}

/**
 * A connection gater that refuses inbound connections once `maxConnections`
 * plus the newcomer slots are open, counting each refusal. libp2p's own
 * `maxConnections` stays as the backstop (it prunes silently); this one makes
 * the limit visible. ConnectionTrimmer closes newcomers beyond
 * `maxConnections` once their grace is over.
 */
export function connectionLimitGater(options: ConnectionLimitOptions, hits: LimitHits): ConnectionGater {
  return {
    denyInboundConnection: () => {
      if (options.openConnections() < options.maxConnections + (options.newcomerSlots ?? DEFAULT_NEWCOMER_SLOTS)) return false;
      hits.connections++;
      return true;
    },
  };
}

/** The part of a libp2p connection the trimmer reads and closes. */
export interface TrimmableConnection {
  direction: 'inbound' | 'outbound';
  status: string;
  close(): Promise<void>;
}

/**
 * Closes an inbound connection that took a node past `maxConnections`
 * (a newcomer let in by connectionLimitGater) once `graceMs` has passed, if
 * the node is still past its limit then. Each close counts as a
 * `connections` limit hit.
 */
export class ConnectionTrimmer {
  private readonly options: { maxConnections: number; graceMs: number; openConnections: () => number };
  private readonly hits: LimitHits;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(options: { maxConnections: number; graceMs?: number; openConnections: () => number }, hits: LimitHits) {
    this.options = { ...options, graceMs: options.graceMs ?? DEFAULT_NEWCOMER_GRACE_MS };
    this.hits = hits;
  }

  /** Call for every connection that opens. */
  opened(connection: TrimmableConnection): void {
    if (connection.direction !== 'inbound' || this.options.openConnections() <= this.options.maxConnections) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (connection.status !== 'open' || this.options.openConnections() <= this.options.maxConnections) return;
      this.hits.connections++;
      connection.close().catch(() => undefined);
    }, this.options.graceMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Newcomers waiting for the end of their grace. */
  get pending(): number {
    return this.timers.size;
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/**
 * Largest exchange frame worth reading for a model of `paramCount` values.
 * A peer picks the codec of each frame, so the bound covers the widest one
 * (f32, 4 bytes per value; sparse codecs stay under 8 with their indices)
 * plus the header. For `mlp` (~10^5 parameters) that is under 1 MB instead of
 * the frame format's generic 64 MiB, which a hostile peer could otherwise make
 * us buffer on every stream.
 */
export function maxExchangeFrameBytes(paramCount: number): number {
  return paramCount * 8 + 64 * 1024;
}

/**
 * What one exchange stream may hold unread (lpStream's maxBufferSize): one
 * whole frame plus a chunk, within [1 MiB, 4 MiB] (4 MiB is libp2p's default;
 * a peer pushing faster than we read is reset beyond it). Measured with
 * fuzz:peer: with the 4 MiB default an endless stream got 4.4 MB in before its
 * reset, whatever the frame limit.
 */
export function maxExchangeReadBufferBytes(maxFrameBytes: number): number {
  return Math.min(4 * 1024 * 1024, Math.max(1024 * 1024, maxFrameBytes + CHUNK_BYTES));
}
