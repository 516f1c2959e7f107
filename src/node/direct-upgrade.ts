/**
 * Replaces relayed connections with direct ones where a plain dial works:
 * two daemons of one home network that first met through a public relay
 * (their DHT provider records or pubsub announcements carry circuit
 * addresses too) would otherwise keep talking through it, since libp2p
 * reuses an open unlimited connection and DCUtR (src/node/libp2p.ts) only
 * tries public addresses. Every `intervalMs`, for up to
 * MAX_UPGRADES_PER_ROUND peers we reach only through a relay, it dials their
 * known non-relay addresses (at most once per `retryMs` per peer); when that
 * succeeds it closes the relayed connections to the peer. The connection it
 * opened counts as `direct` in /metrics `reach`, not as hole-punched.
 *
 *   daemon.addService(new DirectUpgrade({ reach }));
 *   upgrade.stats   // { attempts, upgraded }
 */
import type { Connection, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { LruMap } from '../common/lru.ts';
import { monotonicNowMs } from '../common/clock.ts';
import { DIAL_TIMEOUT_MS } from './constants.ts';
import { isRelayed, type PeerReach } from './peer-reach.ts';
import type { DaemonContext, DaemonService } from './service.ts';

/** How often relayed-only peers are looked at. */
export const DIRECT_UPGRADE_INTERVAL_MS = 5_000;
/** A peer whose direct dial failed is tried again after this. */
export const DIRECT_UPGRADE_RETRY_MS = 60_000;
/** Dials started per round at most. */
export const MAX_UPGRADES_PER_ROUND = 4;

export interface DirectUpgradeOptions {
  reach: Pick<PeerReach, 'markDirect'>;
  intervalMs?: number;
  retryMs?: number;
  now?: () => number;
}

export class DirectUpgrade implements DaemonService {
  readonly name = 'direct-upgrade';
  readonly stats = { attempts: 0, upgraded: 0 };
  private readonly options: DirectUpgradeOptions;
  /** Last attempt per peer (bounded: least recently tried dropped). */
  private readonly lastTriedMs = new LruMap<string, number>(1024);
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private context: DaemonContext | null = null;

  constructor(options: DirectUpgradeOptions) {
    this.options = options;
  }

  async start(context: DaemonContext): Promise<void> {
    this.context = context;
    this.timer = setInterval(() => void this.round(), this.options.intervalMs ?? DIRECT_UPGRADE_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.context = null;
  }

  /** Starts direct dials to peers reached only through relays; returns how many it started. */
  async round(): Promise<number> {
    const context = this.context;
    if (context === null) return 0;
    const now = (this.options.now ?? monotonicNowMs)();
    const byPeer = new Map<string, { id: PeerId; relayed: Connection[]; direct: boolean }>();
    for (const connection of context.node.getConnections()) {
      const key = connection.remotePeer.toString();
      const entry = byPeer.get(key) ?? { id: connection.remotePeer, relayed: [], direct: false };
      if (isRelayed(connection.remoteAddr)) entry.relayed.push(connection);
      else entry.direct = true;
      byPeer.set(key, entry);
    }
    let started = 0;
    for (const [key, entry] of byPeer) {
      if (started >= MAX_UPGRADES_PER_ROUND) break;
      if (entry.direct || entry.relayed.length === 0 || this.inFlight.has(key)) continue;
      const last = this.lastTriedMs.peek(key);
      if (last !== undefined && now - last < (this.options.retryMs ?? DIRECT_UPGRADE_RETRY_MS)) continue;
      const peer = await context.node.peerStore.get(entry.id).catch(() => null);
      const addresses: Multiaddr[] = (peer?.addresses ?? []).map((a) => a.multiaddr).filter((a) => !isRelayed(a));
      if (addresses.length === 0) continue;
      this.lastTriedMs.set(key, now);
      this.inFlight.add(key);
      this.stats.attempts++;
      started++;
      void this.upgrade(context, key, entry.relayed, addresses).finally(() => this.inFlight.delete(key));
    }
    return started;
  }

  private async upgrade(context: DaemonContext, key: string, relayed: Connection[], addresses: Multiaddr[]): Promise<void> {
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]);
    try {
      // force: libp2p would otherwise hand back the open relayed connection.
      const withId = addresses.map((a) => (a.getComponents().some((c) => c.name === 'p2p') ? a : a.encapsulate(`/p2p/${key}`)));
      const connection = await context.node.dial(withId, { signal, force: true });
      if (isRelayed(connection.remoteAddr)) return;
      this.options.reach.markDirect(connection);
      this.stats.upgraded++;
      await Promise.all(relayed.map((c) => c.close({ signal }).catch(() => c.abort(new Error('replaced by a direct connection')))));
      context.logger.debug({ peer: key, address: connection.remoteAddr.toString() }, 'relayed connection replaced by a direct one');
    } catch (err) {
      context.logger.debug({ peer: key, err: (err as Error).message }, 'direct dial to a relayed peer failed');
    }
  }
}
