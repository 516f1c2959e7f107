/**
 * Discovery through the swarm's Kademlia DHT (src/node/libp2p.ts runs one
 * per swarm): every node provides the swarm's rendezvous key, a CID of the
 * sha-256 of `gossip-learn/<swarm>/rendezvous/1`, and looks up the other
 * providers of that key, then dials the ones it is not connected to (their
 * provider records carry their addresses, relay circuit addresses
 * included). This finds peers that neither the bootstrap list nor gossipsub
 * (which needs a connection first) would: two NATed homes that only share a
 * public relay meet here. Bounded: one round at a time, each query under a
 * timeout, at most MAX_DHT_PROVIDERS_PER_LOOKUP providers read per lookup and
 * no dial once the node holds `maxConnections`.
 *
 *   daemon.addService(new DhtDiscovery({ swarm: 'demo', intervalMs: 30_000 }));
 *   discovery.stats   // { rounds, provided, providersFound, dialled, lastError }
 */
import type { PeerId, PeerInfo } from '@libp2p/interface';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { sleep } from './abortable-sleep.ts';
import { MAX_DISCOVERY_CONNECTIONS } from './connectivity.ts';
import { DHT_DISCOVERY_INTERVAL_MS, DHT_EARLY_INTERVAL_MS, DHT_QUERY_TIMEOUT_MS, DIAL_TIMEOUT_MS, MAX_DHT_PROVIDERS_PER_LOOKUP, rendezvousKey } from './constants.ts';
import type { DaemonContext, DaemonService } from './service.ts';

/** The CID (v1, raw, sha-256) every node of `swarm` provides on the DHT. */
export async function swarmRendezvousCid(swarm: string): Promise<CID> {
  return CID.create(1, raw.code, await sha256.digest(new TextEncoder().encode(rendezvousKey(swarm))));
}

export interface DhtDiscoveryOptions {
  swarm: string;
  /** Pause between two rounds (provide + lookup); the first round starts at once, and rounds come every DHT_EARLY_INTERVAL_MS at most until a provider is found. */
  intervalMs?: number;
  queryTimeoutMs?: number;
  /** No new dials once the node holds this many connections. */
  maxConnections?: number;
}

export interface DhtDiscoveryStats {
  /** Completed rounds (provide + lookup). */
  rounds: number;
  /** Rounds whose provide reached at least one DHT server. */
  provided: number;
  /** Distinct other providers seen (counted up to MAX_LISTED_PROVIDERS). */
  providersFound: number;
  /** Dials started to providers we were not connected to. */
  dialled: number;
  /** Message of the latest failed query, or null. */
  lastError: string | null;
  /** Peer ids of the other providers seen (at most MAX_LISTED_PROVIDERS). */
  providers: string[];
}

/** Provider peer ids listed in the stats (and so in /metrics). */
export const MAX_LISTED_PROVIDERS = 64;

export class DhtDiscovery implements DaemonService {
  readonly name = 'dht-discovery';
  readonly stats: DhtDiscoveryStats = { rounds: 0, provided: 0, providersFound: 0, dialled: 0, lastError: null, providers: [] };
  private readonly options: DhtDiscoveryOptions;
  private readonly stopController = new AbortController();
  private running: Promise<void> | null = null;

  constructor(options: DhtDiscoveryOptions) {
    this.options = options;
  }

  async start(context: DaemonContext): Promise<void> {
    const cid = await swarmRendezvousCid(this.options.swarm);
    this.running = this.loop(context, cid);
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.running;
  }

  private async loop(context: DaemonContext, cid: CID): Promise<void> {
    const signal = AbortSignal.any([this.stopController.signal, context.signal]);
    while (!signal.aborted) {
      await this.round(context, cid, signal);
      const intervalMs = this.options.intervalMs ?? DHT_DISCOVERY_INTERVAL_MS;
      // Until another provider turned up (peers start in any order), look again sooner.
      await sleep(this.stats.providersFound === 0 ? Math.min(intervalMs, DHT_EARLY_INTERVAL_MS) : intervalMs, signal);
    }
  }

  /** One provide and one lookup, each under the query timeout; failures are kept in stats, never thrown. */
  private async round(context: DaemonContext, cid: CID, stop: AbortSignal): Promise<void> {
    const { node, logger } = context;
    const timeoutMs = this.options.queryTimeoutMs ?? DHT_QUERY_TIMEOUT_MS;
    try {
      await node.contentRouting.provide(cid, { signal: AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]) });
      this.stats.provided++;
    } catch (err) {
      if (stop.aborted) return;
      // No DHT server reachable yet (a lone node, or before the bootstrap dial): the next round retries.
      this.stats.lastError = (err as Error).message;
      logger.debug({ err: (err as Error).message }, 'dht: provide failed');
    }
    try {
      let read = 0;
      for await (const provider of node.contentRouting.findProviders(cid, { signal: AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]) })) {
        this.found(context, provider, stop);
        if (++read >= MAX_DHT_PROVIDERS_PER_LOOKUP) break;
      }
    } catch (err) {
      if (stop.aborted) return;
      this.stats.lastError = (err as Error).message;
      logger.debug({ err: (err as Error).message }, 'dht: lookup failed');
    }
    this.stats.rounds++;
  }

  private found(context: DaemonContext, provider: PeerInfo, stop: AbortSignal): void {
    const { node, logger } = context;
    const id = provider.id.toString();
    if (id === node.peerId.toString()) return;
    if (!this.stats.providers.includes(id) && this.stats.providers.length < MAX_LISTED_PROVIDERS) {
      this.stats.providers.push(id);
      this.stats.providersFound = this.stats.providers.length;
    }
    if (node.getConnections(provider.id).length > 0) return;
    if (node.getConnections().length >= (this.options.maxConnections ?? MAX_DISCOVERY_CONNECTIONS)) return;
    this.stats.dialled++;
    void this.dial(context, provider.id, provider.multiaddrs, stop).catch((err: unknown) =>
      logger.debug({ peer: id, err: (err as Error).message }, 'dht: dial to provider failed'),
    );
  }

  private async dial(context: DaemonContext, id: PeerId, addresses: PeerInfo['multiaddrs'], stop: AbortSignal): Promise<void> {
    const { node } = context;
    // The provider record's addresses (a NATed peer's are its relay circuit addresses) go to the peer store, so later dials by id find them.
    if (addresses.length > 0) await node.peerStore.merge(id, { multiaddrs: addresses });
    await node.dial(id, { signal: AbortSignal.any([stop, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) });
    context.logger.debug({ peer: id.toString() }, 'dht: connected to provider');
  }
}
