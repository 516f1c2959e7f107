/**
 * Two daemons with one identity: a state dir copied to a second machine (or
 * directory) gives the copy the same peer id. Peers then mix the two up (one
 * peer record, replicas that never match, checkpoints of two models under
 * one name), so the newer copy must not run. The state-dir lock cannot see
 * a copy; the swarm can.
 *
 * Every daemon speaks `/gossip-learn/incarnation/1.0.0` (messages in
 * src/protocol/incarnation-messages.ts): on each new connection, and again
 * every IDENTITY_RECHECK_INTERVAL_MS on its open connections, it tells the
 * peer its claim (incarnation, start time); the peer remembers the claim of
 * that connection and answers with the claims to the same peer id that its
 * OTHER open connections give when asked again right then (within
 * IDENTITY_PROBE_TIMEOUT_MS: a connection to a killed process can look open
 * for a while, and its stale claim must not stop the restarted daemon). A daemon that hears of an older claim to
 * its own id calls `onDuplicate` once (the daemon stops and the CLI exits 1
 * with one line saying so); one that hears of a newer claim logs one warning
 * and keeps running: the newer copy stops by itself.
 *
 * Start times are wall-clock instants (ms since the epoch), compared across
 * processes and machines; two clocks apart by more than the two starts are
 * may pick the wrong one to stop, but one of the two still stops.
 *
 *   daemon.addService(new IdentityGuard({ claim: { incarnation, startedAtMs: Date.now() }, onDuplicate: (err) => refuse(err) }));
 */
import type { Connection, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { GossipLearnError } from '../common/errors.ts';
import { LruMap } from '../common/lru.ts';
import {
  decodeIncarnationMessage,
  encodeIncarnationMessage,
  MAX_INCARNATION_MESSAGE_BYTES,
  MAX_OTHER_CLAIMS,
  olderClaims,
  type IncarnationClaim,
  type IncarnationMessage,
} from '../protocol/incarnation-messages.ts';
import { INCARNATION_PROTOCOL_ID } from './constants.ts';
import type { DaemonContext, DaemonService } from './service.ts';

/** How often the open connections are asked again (two copies that connected to a peer at the same moment miss each other once). */
export const IDENTITY_RECHECK_INTERVAL_MS = 15_000;
/** Each exchange of claims must finish within this. */
export const IDENTITY_READ_TIMEOUT_MS = 5000;
/**
 * Before reporting another connection's claim, a peer asks that connection
 * again within this (well inside the asker's IDENTITY_READ_TIMEOUT_MS): a
 * connection to a process that was killed or lost power may look open for a
 * while, and its stale claim must not make the restarted daemon refuse to run.
 */
export const IDENTITY_PROBE_TIMEOUT_MS = 2000;
/** Connections asked per recheck (a large node does not ask all of them every time). */
const MAX_CONNECTIONS_PER_RECHECK = 16;
/** Claims remembered, one per connection (only open connections are consulted). */
const MAX_REMEMBERED_CLAIMS = 2048;

/** Another process with our peer id runs in the swarm and started first. */
export class DuplicateIdentityError extends GossipLearnError<'newer-copy'> {
  override readonly name = 'DuplicateIdentityError';
}

export interface IdentityGuardOptions {
  /** This process's claim: its incarnation and start time (ms since the epoch). */
  claim: IncarnationClaim;
  /** Called once when an older process with our peer id is found. */
  onDuplicate: (err: DuplicateIdentityError) => void;
  recheckIntervalMs?: number;
  readTimeoutMs?: number;
}

export class IdentityGuard implements DaemonService {
  readonly name = 'identity-guard';
  private readonly options: IdentityGuardOptions;
  private context: DaemonContext | null = null;
  private readonly claims = new LruMap<string, { peerId: string; claim: IncarnationClaim }>(MAX_REMEMBERED_CLAIMS);
  private readonly warned = new LruMap<string, true>(MAX_OTHER_CLAIMS);
  private timer: NodeJS.Timeout | null = null;
  private duplicateFound = false;
  private readonly onOpen = (evt: CustomEvent<Connection>): void => void this.check(evt.detail);
  private readonly onClose = (evt: CustomEvent<Connection>): void => void this.claims.delete(evt.detail.id);

  constructor(options: IdentityGuardOptions) {
    this.options = options;
  }

  async start(context: DaemonContext): Promise<void> {
    this.context = context;
    const { node } = context;
    await node.handle(INCARNATION_PROTOCOL_ID, (stream, connection) => void this.answer(stream, connection), {
      maxInboundStreams: 2,
      maxOutboundStreams: 2,
    });
    node.addEventListener('connection:open', this.onOpen);
    node.addEventListener('connection:close', this.onClose);
    this.timer = setInterval(() => this.recheck(), this.options.recheckIntervalMs ?? IDENTITY_RECHECK_INTERVAL_MS);
    this.timer.unref();
    this.recheck();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const node = this.context?.node;
    if (node === undefined) return;
    node.removeEventListener('connection:open', this.onOpen);
    node.removeEventListener('connection:close', this.onClose);
    await node.unhandle(INCARNATION_PROTOCOL_ID).catch(() => undefined);
    this.context = null;
  }

  private recheck(): void {
    const node = this.context?.node;
    if (node === undefined) return;
    for (const connection of node.getConnections().slice(0, MAX_CONNECTIONS_PER_RECHECK)) void this.check(connection);
  }

  private signal(timeoutMs = this.options.readTimeoutMs ?? IDENTITY_READ_TIMEOUT_MS): AbortSignal {
    return AbortSignal.timeout(timeoutMs);
  }

  /** Tells the peer on `connection` our claim and reads what it knows of other claims to our id. */
  private async check(connection: Connection): Promise<void> {
    if (this.context === null || this.duplicateFound) return;
    const answer = await this.exchangeClaims(connection, this.options.readTimeoutMs ?? IDENTITY_READ_TIMEOUT_MS);
    if (answer !== null) this.judge(answer.others, connection.remotePeer.toString());
  }

  /** Our claim out, the peer's answer in (null: no answer within `timeoutMs`, or none to have). */
  private async exchangeClaims(connection: Connection, timeoutMs: number): Promise<IncarnationMessage | null> {
    const context = this.context;
    if (context === null || connection.status !== 'open') return null;
    let stream: Stream;
    try {
      stream = await connection.newStream(INCARNATION_PROTOCOL_ID, { signal: this.signal(timeoutMs) });
    } catch {
      return null; // A peer without the protocol (an older daemon) or a connection going away.
    }
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_INCARNATION_MESSAGE_BYTES });
      await lp.write(encodeIncarnationMessage({ ...this.options.claim, others: [] }), { signal: this.signal(timeoutMs) });
      const answer = decodeIncarnationMessage((await lp.read({ signal: this.signal(timeoutMs) })).subarray());
      await stream.close({ signal: this.signal(timeoutMs) }).catch(() => stream.abort(new Error('close failed')));
      this.remember(connection, answer);
      return answer;
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      context.logger.debug({ err, peer: connection.remotePeer.toString() }, 'identity check failed');
      return null;
    }
  }

  /** Answers a peer's claim with ours and the claims to its id from our other open connections. */
  private async answer(stream: Stream, connection: Connection): Promise<void> {
    const node = this.context?.node;
    if (node === undefined) {
      stream.abort(new Error('stopping'));
      return;
    }
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_INCARNATION_MESSAGE_BYTES });
      const request = decodeIncarnationMessage((await lp.read({ signal: this.signal() })).subarray());
      this.remember(connection, request);
      // Only claims of connections that answer now: a dead process's connection may still look open.
      const others = new Map<string, IncarnationClaim>();
      const candidates = node
        .getConnections(connection.remotePeer)
        .filter((other) => other.id !== connection.id && this.claims.peek(other.id)?.claim.incarnation !== request.incarnation)
        .slice(0, MAX_OTHER_CLAIMS);
      const fresh = await Promise.all(candidates.map((other) => this.exchangeClaims(other, IDENTITY_PROBE_TIMEOUT_MS)));
      for (const claim of fresh) {
        if (claim !== null && claim.incarnation !== request.incarnation) others.set(claim.incarnation, { incarnation: claim.incarnation, startedAtMs: claim.startedAtMs });
      }
      const reply = { ...this.options.claim, others: [...others.values()].slice(0, MAX_OTHER_CLAIMS) };
      this.context?.logger.debug({ peer: connection.remotePeer.toString(), probed: candidates.length, reported: reply.others.length }, 'identity: answered a claim');
      await lp.write(encodeIncarnationMessage(reply), { signal: this.signal() });
      await stream.close({ signal: this.signal() }).catch(() => stream.abort(new Error('close failed')));
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private remember(connection: Connection, claim: IncarnationClaim): void {
    this.claims.set(connection.id, { peerId: connection.remotePeer.toString(), claim: { incarnation: claim.incarnation, startedAtMs: claim.startedAtMs } });
  }

  private judge(others: IncarnationClaim[], reportedBy: string): void {
    const context = this.context;
    if (context === null || this.duplicateFound) return;
    const mine = this.options.claim;
    const older = olderClaims(others, mine)[0];
    const peerId = context.node.peerId.toString();
    if (older !== undefined) {
      this.duplicateFound = true;
      this.options.onDuplicate(
        new DuplicateIdentityError(
          'newer-copy',
          `another daemon with this peer id (${peerId}) already runs in the swarm, started ${new Date(older.startedAtMs).toISOString()} ` +
            `(seen by peer ${reportedBy}); this one started later, from a copy of its state dir?, and stops: give each daemon its own --state-dir`,
        ),
      );
      return;
    }
    for (const newer of others) {
      if (newer.incarnation === mine.incarnation || this.warned.has(newer.incarnation)) continue;
      this.warned.set(newer.incarnation, true);
      context.logger.warn(
        { peerId, otherStartedAt: new Date(newer.startedAtMs).toISOString(), reportedBy },
        'a newer daemon with our peer id (a copy of our state dir?) joined the swarm; it stops by itself, we keep running',
      );
    }
  }
}
