/**
 * Keeps the node connected: dials peers that discovery reports (pubsub peer
 * discovery and mDNS only emit `peer:discovery`; libp2p 3 does not dial them
 * for us), up to a bound, and redials the bootstrap list while the node has
 * no connection at all (@libp2p/bootstrap dials once at start, so a node
 * started before its bootstrap peer would otherwise stay alone). Bootstrap
 * addresses without `/p2p/<id>` work too: the peer id is learnt from Noise.
 *
 *   daemon.addService(new Connectivity({ bootstrap: ['/ip4/127.0.0.1/tcp/47800'] }));
 */
import type { PeerInfo } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { DIAL_TIMEOUT_MS } from './constants.ts';
import type { DaemonContext, DaemonService } from './service.ts';

/** Discovered peers we dial ourselves only while we have fewer connections than this. */
export const MAX_DISCOVERY_CONNECTIONS = 16;
/** How often an isolated node retries its bootstrap list. */
export const BOOTSTRAP_RETRY_MS = 3_000;

export interface ConnectivityOptions {
  bootstrap: string[];
  retryMs?: number;
  maxDiscoveryConnections?: number;
}

export class Connectivity implements DaemonService {
  readonly name = 'connectivity';
  private readonly options: ConnectivityOptions;
  private context: DaemonContext | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly dialing = new Set<string>();
  private readonly onDiscovery = (evt: CustomEvent<PeerInfo>): void => this.dialDiscovered(evt.detail);

  constructor(options: ConnectivityOptions) {
    this.options = options;
  }

  async start(context: DaemonContext): Promise<void> {
    this.context = context;
    context.node.addEventListener('peer:discovery', this.onDiscovery);
    if (this.options.bootstrap.length > 0) {
      this.timer = setInterval(() => this.redialBootstrap(), this.options.retryMs ?? BOOTSTRAP_RETRY_MS);
      this.timer.unref();
      this.redialBootstrap();
    }
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.context?.node.removeEventListener('peer:discovery', this.onDiscovery);
    this.context = null;
  }

  private dialDiscovered(peer: PeerInfo): void {
    const context = this.context;
    if (context === null) return;
    const id = peer.id.toString();
    const node = context.node;
    if (id === node.peerId.toString() || this.dialing.has(id)) return;
    if (node.getConnections(peer.id).length > 0) return;
    if (node.getConnections().length >= (this.options.maxDiscoveryConnections ?? MAX_DISCOVERY_CONNECTIONS)) return;
    this.dial(id, () => node.dial(peer.id, { signal: AbortSignal.any([AbortSignal.timeout(DIAL_TIMEOUT_MS), context.signal]) }));
  }

  private redialBootstrap(): void {
    const context = this.context;
    if (context === null || context.node.getConnections().length > 0) return;
    for (const address of this.options.bootstrap) {
      const target = multiaddr(address);
      this.dial(address, () => context.node.dial(target, { signal: AbortSignal.any([AbortSignal.timeout(DIAL_TIMEOUT_MS), context.signal]) }));
    }
  }

  private dial(key: string, dial: () => Promise<unknown>): void {
    this.dialing.add(key);
    dial()
      .catch((err: unknown) => this.context?.logger.debug({ target: key, err: (err as Error).message }, 'dial failed'))
      .finally(() => this.dialing.delete(key));
  }
}
