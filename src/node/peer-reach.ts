/**
 * How this node reaches each peer, and how reachable it is itself, for
 * `/metrics` `reach` (docs/architecture.md "Across networks").
 *
 * A connection is `relayed` when it runs through a circuit relay
 * (`/p2p-circuit` in its remote address), `hole-punched` when it is a direct
 * connection to a public address that opened while a relayed connection to the same peer was
 * open (DCUtR, src/node/libp2p.ts, is what dials then: libp2p does not dial a
 * peer it already holds an unlimited connection to, and a limited relayed
 * one is exactly what DCUtR upgrades; our own plain direct dials of such a
 * peer, src/node/direct-upgrade.ts, are marked `direct`), and `direct`
 * otherwise. `limited`
 * says whether the relay limits the connection (data and time): libp2p opens
 * no exchange or distill stream on such a connection, so model bytes wait
 * for a direct one, or cross a relay run with `--relay-unlimited`.
 *
 * Own reachability comes from the address manager, which AutoNAT feeds:
 * `public` once a public (non-private, non-relay) address of ours is
 * confirmed (AutoNAT dial-backs, or `--announce`), `relayed` when we are
 * reachable only through a relay reservation, `private` otherwise. It says
 * who can dial us, whatever we serve: a `--relay` listening on loopback or a
 * LAN address is `private`, which is right (only this machine or that LAN can
 * reach it, so it relays for no NATed peer elsewhere); a relay for other
 * networks shows `public` once its public address is confirmed or announced.
 *
 *   const reach = new PeerReach();
 *   reach.bind(node);                       // listens to connection:open
 *   reach.pathOf(connection)                // 'direct' | 'relayed' | 'hole-punched'
 *   reach.countExchange(connection)         // per path and per peer
 *   reach.snapshot(node)                    // the /metrics block
 */
import type { Connection, Libp2p } from '@libp2p/interface';
import { isPrivate } from '@libp2p/utils';
import type { Multiaddr } from '@multiformats/multiaddr';
import { LruMap } from '../common/lru.ts';
import type { DhtDiscoveryStats } from './dht-discovery.ts';

export type ReachPath = 'direct' | 'relayed' | 'hole-punched';
export type Reachability = 'public' | 'relayed' | 'private';

/** Per connected peer in /metrics `reach.peers`. */
export interface PeerReachEntry {
  /** The best open connection: direct or hole-punched before relayed. */
  via: ReachPath;
  /** Whether every open connection to the peer is limited by its relay (no model bytes then). */
  limited: boolean;
  /** Exchanges (both directions) with this peer, by the path of the connection they ran on. */
  exchanges: Record<ReachPath, number>;
}

export interface ReachMetrics {
  /** Own reachability, who can dial us: public (a confirmed public address), relayed (only through a relay slot), private (only this machine or its LAN; for a --relay: no peer of another network can use it). */
  reachability: Reachability | null;
  /** Our public addresses that AutoNAT confirmed or --announce set. */
  publicAddresses: string[];
  /** Our circuit addresses (relay reservations we hold). */
  relayAddresses: string[];
  /** Serving as a relay (--relay) and whether without limits (--relay-unlimited). */
  relay: { serving: boolean; unlimited: boolean };
  /** Connections by path among the open ones. */
  connections: Record<ReachPath, number>;
  /** Exchanges (both directions) by the path of the connection they ran on. */
  exchanges: Record<ReachPath, number>;
  /** Direct connections opened while a relayed one to the peer was open (DCUtR upgrades). */
  holePunched: number;
  /** Connected peers (at most MAX_REACH_PEERS). */
  peers: Record<string, PeerReachEntry>;
  /** Discovery through the swarm's DHT (src/node/dht-discovery.ts), null before it runs. */
  dht: DhtDiscoveryStats | null;
}

/** Per-peer exchange counts kept for at most this many peers (least recently used dropped). */
export const MAX_REACH_PEERS = 256;

const newCounts = (): Record<ReachPath, number> => ({ direct: 0, relayed: 0, 'hole-punched': 0 });

/** Whether `address` runs through a circuit relay. */
export function isRelayed(address: Multiaddr): boolean {
  return address.getComponents().some((c) => c.name === 'p2p-circuit');
}

export class PeerReach {
  readonly exchanges = newCounts();
  holePunched = 0;
  private readonly punched = new WeakSet<Connection>();
  private readonly perPeer = new LruMap<string, Record<ReachPath, number>>(MAX_REACH_PEERS);
  private readonly relay: { serving: boolean; unlimited: boolean };
  private node: Pick<Libp2p, 'getConnections' | 'removeEventListener'> | null = null;
  private readonly onOpen = (evt: CustomEvent<Connection>): void => this.opened(evt.detail);

  constructor(relay: { serving: boolean; unlimited: boolean } = { serving: false, unlimited: false }) {
    this.relay = relay;
  }

  /** Starts watching the node's new connections (call before node.start()). */
  bind(node: Pick<Libp2p, 'getConnections' | 'addEventListener' | 'removeEventListener'>): void {
    this.node = node;
    node.addEventListener('connection:open', this.onOpen);
  }

  unbind(): void {
    this.node?.removeEventListener('connection:open', this.onOpen);
    this.node = null;
  }

  private opened(connection: Connection): void {
    // DCUtR dials public addresses only: a direct connection to a private one is a LAN dial, never a hole punch.
    if (isRelayed(connection.remoteAddr) || isPrivate(connection.remoteAddr) !== false || this.node === null) return;
    const relayedOpen = this.node
      .getConnections(connection.remotePeer)
      .some((c) => c !== connection && c.status === 'open' && isRelayed(c.remoteAddr));
    if (relayedOpen) {
      this.punched.add(connection);
      this.holePunched++;
    }
  }

  /** `connection` is a plain direct dial of ours (src/node/direct-upgrade.ts), not a hole punch, though a relayed connection was open. */
  markDirect(connection: Connection): void {
    if (this.punched.delete(connection)) this.holePunched--;
  }

  pathOf(connection: Connection): ReachPath {
    if (isRelayed(connection.remoteAddr)) return 'relayed';
    return this.punched.has(connection) ? 'hole-punched' : 'direct';
  }

  /** Counts one exchange that ran on `connection`. */
  countExchange(connection: Connection): void {
    const path = this.pathOf(connection);
    this.exchanges[path]++;
    const id = connection.remotePeer.toString();
    const counts = this.perPeer.get(id) ?? newCounts();
    counts[path]++;
    this.perPeer.set(id, counts);
  }

  /** The `reach` block of /metrics for the node's current connections and addresses. */
  snapshot(node: Pick<Libp2p, 'getConnections' | 'getMultiaddrs'>, dht: DhtDiscoveryStats | null = null): ReachMetrics {
    const connections = newCounts();
    const peers: Record<string, PeerReachEntry> = {};
    const rank: Record<ReachPath, number> = { direct: 2, 'hole-punched': 2, relayed: 1 };
    for (const connection of node.getConnections()) {
      if (connection.status !== 'open') continue;
      const path = this.pathOf(connection);
      connections[path]++;
      const id = connection.remotePeer.toString();
      const entry = peers[id];
      const limited = connection.limits != null;
      if (entry === undefined) {
        if (Object.keys(peers).length >= MAX_REACH_PEERS) continue;
        peers[id] = { via: path, limited, exchanges: { ...(this.perPeer.peek(id) ?? newCounts()) } };
      } else {
        if (rank[path] > rank[entry.via]) entry.via = path;
        entry.limited &&= limited;
      }
    }
    const addresses = node.getMultiaddrs();
    const publicAddresses = addresses.filter((a) => !isRelayed(a) && isPrivate(a) === false).map(String);
    const relayAddresses = addresses.filter(isRelayed).map(String);
    const reachability: Reachability = publicAddresses.length > 0 ? 'public' : relayAddresses.length > 0 ? 'relayed' : 'private';
    return {
      reachability,
      publicAddresses,
      relayAddresses,
      relay: { ...this.relay },
      connections,
      exchanges: { ...this.exchanges },
      holePunched: this.holePunched,
      peers,
      dht: dht === null ? null : { ...dht, providers: [...dht.providers] },
    };
  }
}
