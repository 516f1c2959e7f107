/**
 * Who may connect at all: the allowlist (`--allow-peer`, `--allow-peers`),
 * the private-swarm key (`--psk`, src/node/swarm-key.ts) and the per-IP
 * connection limit, with every refusal counted by reason for `/metrics`
 * `peers.refused` (docs/architecture.md "Contracts").
 *
 *   const access = new AccessControl({ allowlist: new Set([id]), psk: key, maxConnectionsPerIp: 16 });
 *   const node = await createLibp2pNode({ ..., ...access.libp2pOptions(admission.libp2pOptions()) });
 *   access.bindNode(node);
 *   metrics.peers.refused = access.refused;
 *
 * Reasons:
 * - `allowlist`: a peer id not on the list, refused by the connection gater
 *   right after the Noise handshake proved the id (inbound) or before we
 *   dial it by id. Nothing of ours runs on such a connection.
 * - `psk`: a connection that got through the pre-shared-key nonce exchange
 *   but never completed the encrypted handshake (or failed the nonce
 *   exchange). With another key or none, Noise cannot decrypt a byte, so
 *   the upgrade fails. libp2p raises no event for a failed upgrade; we see it
 *   because our wrapper of the protector watches the raw connection close
 *   before the gater saw it encrypted. It therefore also counts anything
 *   else that breaks that early while a key is set (a port scan, a timeout),
 *   and on both sides: an outbound dial to an outsider counts too.
 * - `ip-limit`: an inbound connection from an address that already holds
 *   `maxConnectionsPerIp` connections (a fresh peer id per connection does
 *   not reset it); per-IP stream and exchange limits are in admission.ts
 *   and count here as well. Loopback is exempt (limitedIpOf).
 * - `connections`: the total inbound connection limit (admission.ts).
 */
import type { ConnectionGater, ConnectionProtector, MessageStream, MultiaddrConnection, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';

export const REFUSAL_REASONS = ['psk', 'allowlist', 'ip-limit', 'connections'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
/** Refusals by reason (every reason always present). */
export type RefusalCounts = Record<RefusalReason, number>;

export const newRefusalCounts = (): RefusalCounts => ({ psk: 0, allowlist: 0, 'ip-limit': 0, connections: 0 });

export interface AccessControlOptions {
  /** Peer ids allowed to connect; null = anyone. */
  allowlist: ReadonlySet<string> | null;
  /** Whether a pre-shared key protects connections (the protector itself comes from swarm-key.ts). */
  psk: (() => ConnectionProtector) | null;
  /** Inbound connections one IP address may hold open. */
  maxConnectionsPerIp: number;
}

/** The IP address of a multiaddr (ip4 / ip6 component), or null for other kinds. */
export function ipOf(address: Multiaddr): string | null {
  const part = address.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6');
  return part?.value ?? null;
}

/**
 * The address per-IP limits key on, or null when they do not apply: not an
 * IP transport, or loopback (127.0.0.0/8, ::1), which every daemon on this
 * machine shares (`npm run cluster` runs up to 64 there) and which no remote
 * peer can use.
 */
export function limitedIpOf(address: Multiaddr): string | null {
  const ip = ipOf(address);
  if (ip === null || ip.startsWith('127.') || ip === '::1') return null;
  return ip;
}

export class AccessControl {
  readonly refused: RefusalCounts = newRefusalCounts();
  readonly options: AccessControlOptions;
  private connections: () => Array<{ remoteAddr: Multiaddr }> = () => [];
  /** Raw connections past the protector whose encrypted handshake has not finished yet. */
  private readonly unproven = new WeakSet<object>();

  constructor(options: AccessControlOptions) {
    if (!Number.isSafeInteger(options.maxConnectionsPerIp) || options.maxConnectionsPerIp < 1) {
      throw new RangeError(`maxConnectionsPerIp must be a positive integer, got ${options.maxConnectionsPerIp}`);
    }
    this.options = options;
  }

  /** Lets the gater count open connections per IP once the node exists. */
  bindNode(node: { getConnections(): Array<{ remoteAddr: Multiaddr }> }): void {
    this.connections = () => node.getConnections();
  }

  /** Counts one refusal by a per-IP limit that lives elsewhere (streams and exchanges, admission.ts). */
  countIpLimit(): void {
    this.refused['ip-limit']++;
  }

  /** Whether `peerId` may connect (always true without an allowlist). */
  allows(peerId: string): boolean {
    return this.options.allowlist === null || this.options.allowlist.has(peerId);
  }

  /** libp2p options: `inner`'s gater (the connection limit) in front of ours, and the counting protector when a key is set. */
  libp2pOptions(inner: { connectionGater: ConnectionGater; maxConnections: number }): {
    connectionGater: ConnectionGater;
    maxConnections: number;
    connectionProtector?: () => ConnectionProtector;
  } {
    const protector = this.options.psk;
    return {
      connectionGater: this.gater(inner.connectionGater),
      maxConnections: inner.maxConnections,
      ...(protector === null ? {} : { connectionProtector: () => this.countingProtector(protector()) }),
    };
  }

  private gater(inner: ConnectionGater): ConnectionGater {
    const denyPeer = (peerId: PeerId): boolean => {
      if (this.allows(peerId.toString())) return false;
      this.refused.allowlist++;
      return true;
    };
    const encrypted = (peerId: PeerId, maConn: MultiaddrConnection): boolean => {
      this.unproven.delete(maConn);
      return denyPeer(peerId);
    };
    return {
      ...inner,
      denyInboundConnection: async (maConn) => {
        if ((await inner.denyInboundConnection?.(maConn)) === true) {
          this.refused.connections++;
          return true;
        }
        const ip = limitedIpOf(maConn.remoteAddr);
        if (ip === null) return false;
        const open = this.connections().filter((c) => ipOf(c.remoteAddr) === ip).length;
        if (open < this.options.maxConnectionsPerIp) return false;
        this.refused['ip-limit']++;
        return true;
      },
      // Dialing a peer off the list is not a refusal of anyone: skip it silently (discovery keeps offering them).
      denyDialPeer: (peerId) => !this.allows(peerId.toString()),
      denyInboundEncryptedConnection: encrypted,
      denyOutboundEncryptedConnection: encrypted,
    };
  }

  /** Wraps the pre-shared-key protector so that a connection that never gets through the encrypted handshake is counted as `psk`. */
  private countingProtector(inner: ConnectionProtector): ConnectionProtector {
    return {
      protect: async (connection: MessageStream, options) => {
        let protectedStream: MessageStream;
        try {
          protectedStream = await inner.protect(connection, options);
        } catch (err) {
          this.refused.psk++;
          throw err;
        }
        this.unproven.add(connection);
        connection.addEventListener(
          'close',
          () => {
            if (this.unproven.delete(connection)) this.refused.psk++;
          },
          { once: true },
        );
        return protectedStream;
      },
    };
  }
}
