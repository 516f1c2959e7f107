/**
 * Constants of the daemon (src/node): protocol ids, topics, default ports,
 * limits and timeouts. One place, units in the names, so other services
 * (distill, hardening, cluster launcher) import rather than repeat them.
 *
 *   import { EXCHANGE_PROTOCOL_ID, announceTopic } from './constants.ts';
 *   announceTopic('demo') // 'gossip-learn/demo/announce/1'
 */

/** Contract (docs/architecture.md "Contracts"): the push-pull exchange protocol. */
export const EXCHANGE_PROTOCOL_ID = '/gossip-learn/exchange/1.0.0';
/** Contract (docs/architecture.md "Contracts"): the knowledge-transfer join protocol. */
export const DISTILL_PROTOCOL_ID = '/gossip-learn/distill/1.0.0';
/** The duplicate-identity check (src/node/identity-guard.ts): which processes claim a peer id. */
export const INCARNATION_PROTOCOL_ID = '/gossip-learn/incarnation/1.0.0';

/** Contract (docs/architecture.md "Contracts"): gossipsub topic of the per-swarm announcements. */
export const announceTopic = (swarm: string): string => `gossip-learn/${swarm}/announce/1`;
/** Contract (docs/architecture.md "Contracts"): per-swarm pubsub peer discovery topic, so swarms do not discover each other. */
export const discoveryTopic = (swarm: string): string => `gossip-learn/${swarm}/discovery/1`;

/** A fixed default port users can put in bootstrap lists. */
export const DEFAULT_LISTEN_PORT = 47800;
export const DEFAULT_LISTEN_ADDRESS = `/ip4/0.0.0.0/tcp/${DEFAULT_LISTEN_PORT}`;
export const DEFAULT_METRICS_HOST = '127.0.0.1';
/** Default metrics port; 0 asks the OS for a free port (printed at start). */
export const DEFAULT_METRICS_PORT = 47900;
export const DEFAULT_SWARM = 'default';

/**
 * The line the daemon prints on stdout once its HTTP server listens, e.g.
 * `metrics: http://127.0.0.1:47900/metrics`. The cluster launcher parses it
 * with METRICS_LINE_PATTERN (first capture group = the URL).
 */
export const METRICS_LINE_PREFIX = 'metrics: ';
export const METRICS_LINE_PATTERN = /^metrics: (http:\/\/\S+\/metrics)$/m;
/** Printed on stdout at start: `peer id: <id>` and one `listen: <multiaddr>` per address. */
export const PEER_ID_LINE_PREFIX = 'peer id: ';
export const LISTEN_LINE_PREFIX = 'listen: ';

/**
 * Flag with which a launcher gives a daemon its own pid: the daemon stops
 * when its parent is not that process, even when the launcher died before
 * the daemon read its parent (the cluster launcher passes it).
 */
export const PARENT_PID_FLAG = '--parent-pid';
/** How often the daemon checks that its parent is still alive. */
export const PARENT_CHECK_INTERVAL_MS = 1_000;

/** File names inside the state dir (contracts, docs/architecture.md "Contracts"). */
export const IDENTITY_FILE = 'identity.key';
export const CHECKPOINT_FILE = 'checkpoint.bin';

// Limits and timeouts of the exchange stream.
/** Every read on an exchange stream gives up after this (reads never wait more than 30 s: a stalled stream is reset). */
export const READ_TIMEOUT_MS = 20_000;
/** Whole outbound exchange (dial + push + reply) deadline. */
export const EXCHANGE_TIMEOUT_MS = 30_000;
/**
 * Frames are cut into length-prefixed chunks of at most this many bytes, well
 * below libp2p's 4 MB stream read buffer (docs/architecture.md "Platform notes": a stream whose read
 * buffer overflows is aborted).
 */
export const CHUNK_BYTES = 256 * 1024;
/** lpStream maxDataLength: one chunk plus its 1-byte continuation flag. */
export const MAX_CHUNK_DATA_BYTES = CHUNK_BYTES + 1;
/** Concurrent exchange streams per direction (registrar limits). */
export const MAX_INBOUND_EXCHANGE_STREAMS = 8;
export const MAX_OUTBOUND_EXCHANGE_STREAMS = 4;

/** Bounded table of announced peers. */
export const MAX_ANNOUNCED_PEERS = 1024;
/** An announcement older than this is dropped from the table. */
export const ANNOUNCEMENT_TTL_MS = 120_000;
/** Largest announcement we publish or accept (gossipsub must carry small messages only). */
export const MAX_ANNOUNCEMENT_BYTES = 4 * 1024;
/** Max addresses kept per announced peer. */
export const MAX_ANNOUNCED_ADDRESSES = 8;

// Defaults of the daemon loop (pacing defaults are the gossip core's: src/core/pacing.ts).
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 5_000;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;
export const DEFAULT_EVAL_INTERVAL_MS = 10_000;
/** SIGINT/SIGTERM: in-flight exchanges get this long before they are aborted. */
export const SHUTDOWN_DEADLINE_MS = 5_000;
/** How long a discovered peer dial may take. */
export const DIAL_TIMEOUT_MS = 10_000;

// Across networks (src/node/libp2p.ts, src/node/dht-discovery.ts).
/** The swarm's own Kademlia DHT protocol: swarms never share routing tables or provider records. */
export const dhtProtocol = (swarm: string): string => `/gossip-learn/${swarm}/kad/1.0.0`;
/** Hashed (sha-256) into the CID under which every node of a swarm provides itself on the DHT. */
export const rendezvousKey = (swarm: string): string => `gossip-learn/${swarm}/rendezvous/1`;
/** How often a node re-provides the rendezvous key and looks up the swarm's other providers. */
export const DHT_DISCOVERY_INTERVAL_MS = 30_000;
/** Pause between rounds while no other provider has been found yet. */
export const DHT_EARLY_INTERVAL_MS = 5_000;
/** One provide or lookup on the DHT gives up after this. */
export const DHT_QUERY_TIMEOUT_MS = 20_000;
/** At most this many providers are read from one lookup. */
export const MAX_DHT_PROVIDERS_PER_LOOKUP = 32;
/** Slots a `--relay` node grants at once (one per NATed peer that reserves one). */
export const MAX_RELAY_RESERVATIONS = 128;
