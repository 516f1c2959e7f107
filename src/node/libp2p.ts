/**
 * Builds the daemon's libp2p node: TCP + Noise + Yamux, identify (gossipsub
 * needs it), gossipsub for announcements, discovery by bootstrap list and
 * per-swarm pubsub peer discovery, mDNS only when asked (never in tests: it
 * multicasts on every interface). Discovery only emits `peer:discovery`;
 * the daemon dials (src/node/connectivity.ts).
 *
 * Across networks (docs/architecture.md "Across networks"): a per-swarm
 * Kademlia DHT (protocol `/gossip-learn/<swarm>/kad/1.0.0`, so swarms never
 * share routing tables; src/node/dht-discovery.ts provides and looks up the
 * swarm's rendezvous key on it), AutoNAT (is a public address of ours
 * dialable?), the circuit relay v2 transport on every node (a node that is
 * not itself a relay listens on `/p2p-circuit`: it reserves a slot on a relay
 * it is connected to and can be dialled through it), DCUtR (upgrade a relayed
 * connection to a direct one by hole punching), and with `relay` the relay
 * server. `announce` replaces the addresses we advertise.
 *
 *   const node = await createLibp2pNode({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'],
 *     bootstrap: [], swarm: 'demo', mdns: false, relay: null, announce: [] });
 *   await node.start();
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { bootstrap } from '@libp2p/bootstrap';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { identify, type Identify } from '@libp2p/identify';
import type { ConnectionGater, Libp2p, PeerDiscovery, PrivateKey } from '@libp2p/interface';
import { mdns } from '@libp2p/mdns';
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery';
import { tcp } from '@libp2p/tcp';
import { autoNAT } from '@libp2p/autonat';
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { dcutr } from '@libp2p/dcutr';
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht';
import { ping } from '@libp2p/ping';
import { createLibp2p, type Libp2pOptions } from 'libp2p';
import { DIAL_TIMEOUT_MS, dhtProtocol, discoveryTopic, MAX_RELAY_RESERVATIONS } from './constants.ts';

export interface Libp2pNodeOptions {
  privateKey: PrivateKey;
  listen: string[];
  bootstrap: string[];
  swarm: string;
  mdns: boolean;
  /**
   * Serve as a circuit relay v2 (`--relay`), or null. `unlimited`
   * (`--relay-unlimited`): relayed connections get no data or time limit, so
   * model exchanges may run over them; otherwise libp2p's defaults apply
   * (2 minutes, 128 KiB per direction) and only announcements and the
   * hole-punching handshake cross the relay. Default null.
   */
  relay?: { unlimited: boolean } | null;
  /** Addresses to advertise instead of the listen addresses (`--announce`); empty (the default) = the listen and observed ones. */
  announce?: string[];
  /** How often pubsub peer discovery broadcasts our addresses. */
  discoveryIntervalMs?: number;
  /** Hooks for the hardening engineer (allowlists, private swarms, limits). */
  connectionGater?: ConnectionGater;
  connectionProtector?: NonNullable<Libp2pOptions['connectionProtector']>;
  maxConnections?: number;
  /** Identify agent version (src/node/peer-identity.ts agentVersion): tells peers our swarm and model. */
  agentVersion?: string;
  /** libp2p metrics factory (the Prometheus exporter's). */
  metrics?: NonNullable<Libp2pOptions['metrics']>;
}

export interface DaemonServices {
  identify: Identify;
  pubsub: GossipSub;
  // Index signature so Libp2p<DaemonServices> satisfies libp2p's ServiceMap.
  [name: string]: unknown;
}

export type DaemonLibp2p = Libp2p<DaemonServices>;

export async function createLibp2pNode(options: Libp2pNodeOptions): Promise<DaemonLibp2p> {
  const peerDiscovery: Array<(components: any) => PeerDiscovery> = [
    pubsubPeerDiscovery({ topics: [discoveryTopic(options.swarm)], interval: options.discoveryIntervalMs ?? 5_000 }),
  ];
  if (options.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: options.bootstrap, timeout: 100 }));
  if (options.mdns) peerDiscovery.push(mdns());
  const relay = options.relay ?? null;
  const announce = options.announce ?? [];
  // A relay is publicly reachable by definition; other nodes listen through a relay they reserve a slot on.
  const listen = relay === null ? [...options.listen, '/p2p-circuit'] : options.listen;
  const node = await createLibp2p({
    privateKey: options.privateKey,
    start: false,
    ...(options.agentVersion === undefined ? {} : { nodeInfo: { userAgent: options.agentVersion } }),
    addresses: { listen, ...(announce.length === 0 ? {} : { announce }) },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: { dialTimeout: DIAL_TIMEOUT_MS, ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }) },
    ...(options.connectionGater === undefined ? {} : { connectionGater: options.connectionGater }),
    ...(options.connectionProtector === undefined ? {} : { connectionProtector: options.connectionProtector }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    services: {
      identify: identify(),
      // kad-dht pings contacts before it evicts them from its routing table.
      ping: ping(),
      dht: kadDHT({
        protocol: dhtProtocol(options.swarm),
        // A relay, or a node that announces addresses, is reachable: it serves the DHT. Others start as
        // clients and become servers when a public address of theirs is confirmed (kad-dht's own switch).
        ...(relay !== null || announce.length > 0 ? { clientMode: false } : {}),
        // Keep LAN and loopback addresses in DHT answers: swarms on one network (and our tests) need them.
        peerInfoMapper: passthroughMapper,
      }),
      autoNAT: autoNAT(),
      dcutr: dcutr(),
      ...(relay === null
        ? {}
        : {
            relay: circuitRelayServer({
              reservations: { maxReservations: MAX_RELAY_RESERVATIONS, applyDefaultLimit: !relay.unlimited },
            }),
          }),
      pubsub: gossipsub({
        // Announcements are small and idempotent; publishing before the mesh forms is not an error.
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        emitSelf: false,
        // Small swarms (2-3 nodes) must still get every announcement.
        floodPublish: true,
      }),
    },
  });
  return node as unknown as DaemonLibp2p;
}
