/**
 * Builds the daemon's libp2p node: TCP + Noise + Yamux, identify (gossipsub
 * needs it), gossipsub for announcements, discovery by bootstrap list and
 * per-swarm pubsub peer discovery, mDNS only when asked (never in tests: it
 * multicasts on every interface). Discovery only emits `peer:discovery`;
 * the daemon dials (src/node/connectivity.ts).
 *
 *   const node = await createLibp2pNode({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'],
 *     bootstrap: [], swarm: 'demo', mdns: false });
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
import { createLibp2p, type Libp2pOptions } from 'libp2p';
import { DIAL_TIMEOUT_MS, discoveryTopic } from './constants.ts';

export interface Libp2pNodeOptions {
  privateKey: PrivateKey;
  listen: string[];
  bootstrap: string[];
  swarm: string;
  mdns: boolean;
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
  const node = await createLibp2p({
    privateKey: options.privateKey,
    start: false,
    ...(options.agentVersion === undefined ? {} : { nodeInfo: { userAgent: options.agentVersion } }),
    addresses: { listen: options.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: { dialTimeout: DIAL_TIMEOUT_MS, ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }) },
    ...(options.connectionGater === undefined ? {} : { connectionGater: options.connectionGater }),
    ...(options.connectionProtector === undefined ? {} : { connectionProtector: options.connectionProtector }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    services: {
      identify: identify(),
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
