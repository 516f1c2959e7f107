/**
 * Messages of the duplicate-identity check (`/gossip-learn/incarnation/1.0.0`,
 * src/node/identity-guard.ts), pure: bytes in, typed values out.
 *
 * Two daemons started from copies of one state dir share a peer id. Peers
 * cannot tell them apart by id, but each process has its own incarnation
 * (random, new on every start) and start time. On every connection a daemon
 * tells the peer its claim; the peer answers with its own claim plus the
 * claims it holds from OTHER open connections of the same peer id. A daemon
 * that hears of an older claim to its own id is the newer copy.
 *
 *   const bytes = encodeIncarnationMessage({ incarnation, startedAtMs, others: [] });
 *   const message = decodeIncarnationMessage(bytes);   // throws ProtocolError('bad-payload')
 *   const older = olderClaims(message.others, mine);
 *
 * Layout: UTF-8 JSON `{"v":1,"incarnation":"<hex>","startedAtMs":N,"others":[{"incarnation","startedAtMs"}]}`,
 * at most MAX_INCARNATION_MESSAGE_BYTES.
 */
import { ProtocolError } from './errors.ts';

export const INCARNATION_MESSAGE_VERSION = 1;
export const MAX_INCARNATION_MESSAGE_BYTES = 2048;
/** Claims of other connections listed in one answer (a peer id has a handful of connections at most). */
export const MAX_OTHER_CLAIMS = 8;
const INCARNATION_PATTERN = /^[0-9a-f]{8,64}$/;

/** One process's claim to a peer id: its incarnation and when it started (ms since the epoch, its wall clock). */
export interface IncarnationClaim {
  incarnation: string;
  startedAtMs: number;
}

export interface IncarnationMessage extends IncarnationClaim {
  /** Claims to the receiver's peer id the sender holds from its other open connections (empty in a request). */
  others: IncarnationClaim[];
}

function checkClaim(value: unknown, what: string): IncarnationClaim {
  const v = value as Partial<IncarnationClaim> | null;
  if (v === null || typeof v !== 'object') throw new ProtocolError('bad-payload', `${what} is not an object`);
  if (typeof v.incarnation !== 'string' || !INCARNATION_PATTERN.test(v.incarnation)) throw new ProtocolError('bad-payload', `${what}: bad incarnation`);
  if (typeof v.startedAtMs !== 'number' || !Number.isSafeInteger(v.startedAtMs) || v.startedAtMs < 0) {
    throw new ProtocolError('bad-payload', `${what}: bad startedAtMs`);
  }
  return { incarnation: v.incarnation, startedAtMs: v.startedAtMs };
}

export function encodeIncarnationMessage(message: IncarnationMessage): Uint8Array {
  const body = {
    v: INCARNATION_MESSAGE_VERSION,
    ...checkClaim(message, 'claim'),
    others: message.others.slice(0, MAX_OTHER_CLAIMS).map((o, i) => checkClaim(o, `others[${i}]`)),
  };
  return new TextEncoder().encode(JSON.stringify(body));
}

/** Parses a message; throws ProtocolError ('too-large' or 'bad-payload') on anything else. */
export function decodeIncarnationMessage(bytes: Uint8Array): IncarnationMessage {
  if (bytes.length > MAX_INCARNATION_MESSAGE_BYTES) throw new ProtocolError('too-large', `incarnation message of ${bytes.length} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ProtocolError('bad-payload', 'incarnation message is not UTF-8 JSON');
  }
  const b = body as { v?: unknown; others?: unknown } | null;
  if (b === null || typeof b !== 'object' || b.v !== INCARNATION_MESSAGE_VERSION) throw new ProtocolError('bad-payload', 'incarnation message: bad version');
  if (!Array.isArray(b.others) || b.others.length > MAX_OTHER_CLAIMS) throw new ProtocolError('bad-payload', 'incarnation message: bad others');
  return { ...checkClaim(b, 'claim'), others: b.others.map((o, i) => checkClaim(o, `others[${i}]`)) };
}

/** True when claim `a` is older than `b`: started earlier, ties broken by incarnation (both sides agree on the order). */
export function isOlderClaim(a: IncarnationClaim, b: IncarnationClaim): boolean {
  return a.startedAtMs < b.startedAtMs || (a.startedAtMs === b.startedAtMs && a.incarnation < b.incarnation);
}

/** The claims in `others` that are not `mine` and older than it. */
export function olderClaims(others: readonly IncarnationClaim[], mine: IncarnationClaim): IncarnationClaim[] {
  return others.filter((o) => o.incarnation !== mine.incarnation && isOlderClaim(o, mine));
}
