/**
 * Per-swarm announcements over gossipsub (topic `gossip-learn/<swarm>/announce/1`):
 * small JSON messages saying who we are (peer id, model name and hash, age,
 * latest accuracy, addresses). Received announcements fill a bounded,
 * expiring table that the peer selection (compatible peers) and the distill
 * service (teacher choice) read.
 *
 *   const announcer = new Announcer({ swarm, intervalMs, self: () => ({ ... }) });
 *   daemon.addService(announcer);
 *   announcer.table.compatible(modelHash)   // AnnouncedPeer[]
 */
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { z } from 'zod';
import { LruMap } from '../common/lru.ts';
import { ANNOUNCEMENT_TTL_MS, MAX_ANNOUNCED_ADDRESSES, MAX_ANNOUNCED_PEERS, MAX_ANNOUNCEMENT_BYTES, announceTopic } from './constants.ts';
import type { DaemonContext, DaemonService } from './service.ts';
import { monotonicNowMs } from '../common/clock.ts';

const announcementSchema = z
  .object({
    v: z.literal(1),
    peerId: z.string().min(1).max(128),
    swarm: z.string().min(1).max(64),
    modelName: z.string().min(1).max(64),
    modelHash: z.string().min(1).max(128),
    age: z.number().int().nonnegative(),
    samplesSeen: z.number().int().nonnegative(),
    accuracy: z.number().min(0).max(1).nullable(),
    addresses: z.array(z.string().max(256)).max(MAX_ANNOUNCED_ADDRESSES),
  })
  .strict();

export type Announcement = z.output<typeof announcementSchema>;

export interface AnnouncedPeer extends Announcement {
  /** Local clock (ms) when the latest announcement arrived. */
  receivedAtMs: number;
}

export function encodeAnnouncement(a: Announcement): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify({ ...a, addresses: a.addresses.slice(0, MAX_ANNOUNCED_ADDRESSES) }));
  if (bytes.length > MAX_ANNOUNCEMENT_BYTES) throw new RangeError(`announcement of ${bytes.length} bytes exceeds ${MAX_ANNOUNCEMENT_BYTES}`);
  return bytes;
}

/** Parses an announcement; null for anything malformed or oversized (never throws on peer input). */
export function decodeAnnouncement(bytes: Uint8Array): Announcement | null {
  if (bytes.length > MAX_ANNOUNCEMENT_BYTES) return null;
  try {
    const parsed = announcementSchema.safeParse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Bounded table of announced peers: newest announcement per peer, oldest evicted first, entries expire. */
export class AnnouncementTable {
  /** Only `upsert` marks an entry used (reads peek), so the order is least recently announced first. */
  private readonly peers: LruMap<string, AnnouncedPeer>;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: { maxPeers?: number; ttlMs?: number; now?: () => number } = {}) {
    this.peers = new LruMap(opts.maxPeers ?? MAX_ANNOUNCED_PEERS);
    this.ttlMs = opts.ttlMs ?? ANNOUNCEMENT_TTL_MS;
    this.now = opts.now ?? monotonicNowMs;
  }

  upsert(a: Announcement): void {
    this.peers.set(a.peerId, { ...a, receivedAtMs: this.now() });
  }

  remove(peerId: string): void {
    this.peers.delete(peerId);
  }

  get(peerId: string): AnnouncedPeer | undefined {
    this.expire();
    return this.peers.peek(peerId);
  }

  all(): AnnouncedPeer[] {
    this.expire();
    return [...this.peers.values()];
  }

  /** Peers that can exchange with us: same model hash (same swarm is implied by the topic). */
  compatible(modelHash: string): AnnouncedPeer[] {
    return this.all().filter((p) => p.modelHash === modelHash);
  }

  get size(): number {
    return this.peers.size;
  }

  private expire(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [id, p] of this.peers) {
      if (p.receivedAtMs < cutoff) this.peers.delete(id);
    }
  }
}

export interface AnnouncerOptions {
  swarm: string;
  intervalMs: number;
  /** Our current announcement (peerId and addresses are filled in from libp2p). */
  self: () => Omit<Announcement, 'v' | 'peerId' | 'swarm' | 'addresses'>;
  table?: AnnouncementTable;
}

export class Announcer implements DaemonService {
  readonly name = 'announcer';
  readonly table: AnnouncementTable;
  private readonly options: AnnouncerOptions;
  private context: DaemonContext | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly onMessage = (evt: CustomEvent<{ topic: string; data: Uint8Array; type: string; from?: { toString(): string } }>): void =>
    this.receive(evt.detail);
  private readonly onSubscriptionChange = (): void => {
    // A peer joined the topic: tell it about us now rather than at the next tick.
    this.publish();
  };
  private readonly onPeerDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
    // A peer that went away (stopped, crashed) is not worth calling until it announces itself again.
    this.table.remove(evt.detail.toString());
  };
  /** Announcements received and dropped (malformed, wrong swarm, forged sender). */
  dropped = 0;

  constructor(options: AnnouncerOptions) {
    this.options = options;
    this.table = options.table ?? new AnnouncementTable();
  }

  get topic(): string {
    return announceTopic(this.options.swarm);
  }

  async start(context: DaemonContext): Promise<void> {
    this.context = context;
    const pubsub = context.node.services.pubsub;
    pubsub.subscribe(this.topic);
    pubsub.addEventListener('message', this.onMessage as never);
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange);
    context.node.addEventListener('peer:disconnect', this.onPeerDisconnect);
    this.timer = setInterval(() => this.publish(), this.options.intervalMs);
    this.timer.unref();
    this.publish();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.context?.node.removeEventListener('peer:disconnect', this.onPeerDisconnect);
    const pubsub = this.context?.node.services.pubsub;
    if (pubsub !== undefined) {
      pubsub.removeEventListener('message', this.onMessage as never);
      pubsub.removeEventListener('subscription-change', this.onSubscriptionChange);
      try {
        pubsub.unsubscribe(this.topic);
      } catch {
        // already stopped
      }
    }
    this.context = null;
  }

  /** Publishes our announcement now (errors are logged, never thrown: announcements are best effort). */
  publish(): void {
    const context = this.context;
    if (context === null) return;
    const node = context.node;
    const announcement: Announcement = {
      v: 1,
      peerId: node.peerId.toString(),
      swarm: this.options.swarm,
      addresses: node
        .getMultiaddrs()
        .map((a) => a.toString())
        .slice(0, MAX_ANNOUNCED_ADDRESSES),
      ...this.options.self(),
    };
    node.services.pubsub.publish(this.topic, encodeAnnouncement(announcement)).catch((err: unknown) => {
      context.logger.debug({ err }, 'announcement not published');
    });
  }

  private receive(message: { topic: string; data: Uint8Array; type: string; from?: { toString(): string } }): void {
    if (message.topic !== this.topic) return;
    const a = decodeAnnouncement(message.data);
    // Signed gossipsub messages carry their author: an announcement may only speak for its signer.
    if (a === null || a.swarm !== this.options.swarm || (message.type === 'signed' && message.from?.toString() !== a.peerId)) {
      this.dropped++;
      return;
    }
    if (a.peerId === this.context?.node.peerId.toString()) return;
    this.table.upsert(a);
    this.rememberAddresses(a);
  }

  /** Announcements may arrive relayed through other peers: keep the author's addresses so we can dial it. */
  private rememberAddresses(a: Announcement): void {
    const node = this.context?.node;
    if (node === undefined || a.addresses.length === 0) return;
    try {
      const peerId = peerIdFromString(a.peerId);
      const multiaddrs = a.addresses.map((text) => multiaddr(text));
      node.peerStore.merge(peerId, { multiaddrs }).catch(() => undefined);
    } catch {
      // An unparsable peer id or address only costs us the shortcut; the table entry stays.
    }
  }
}
