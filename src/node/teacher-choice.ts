/**
 * Teacher choice for the knowledge-transfer join: rank the peers the
 * announcer has heard from (best announced accuracy first, then the most
 * trained, i.e. highest age), and turn `--teacher <peer id or multiaddr>`
 * into the one forced candidate.
 *
 *   const candidates = forced === null ? rankTeachers(announcer.peers(), { selfPeerId }) : [forced];
 */
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { GossipLearnError } from '../common/errors.ts';

/** A teacher to ask, in the form the joiner dials (distill-joiner.ts). */
export interface TeacherCandidate {
  /** How the teacher is named in logs and metrics (peer id or multiaddr). */
  id: string;
  target: PeerId | Multiaddr | Multiaddr[];
}

/** What teacher choice reads from an announcement (the announcer's table rows carry at least this). */
export interface AnnouncedTeacher {
  peerId: string;
  modelName: string;
  modelHash: string;
  age: number;
  accuracy: number | null;
  addresses: readonly string[];
}

/** A `--teacher` value that names no usable peer (the join then starts cold). */
export class TeacherChoiceError extends GossipLearnError<'bad-teacher'> {
  override readonly name = 'TeacherChoiceError';
  constructor(message: string) {
    super('bad-teacher', message);
  }
}

/**
 * Teachers whose announced accuracy is within this much (0..1) of the best
 * count as equally good: a joiner picks among them at random, so that joiners
 * that start together spread over them instead of all calling the best one
 * (which serves DISTILL_MAX_CONCURRENT_JOINERS at a time and answers BUSY to
 * the rest). Announced accuracies of a converged swarm differ by about a point.
 */
export const TEACHER_ACCURACY_TIE = 0.02;

/**
 * Candidates in the order to try them: accuracy descending (unknown last),
 * then age descending, then peer id (so ties are deterministic). Untrained
 * peers (age 0) and ourselves are left out; at most `limit` are returned.
 * With `random` (uniform [0, 1), seeded per joiner), the leading teachers
 * within TEACHER_ACCURACY_TIE of the best are shuffled.
 */
export function rankTeachers(
  announced: Iterable<AnnouncedTeacher>,
  options: { selfPeerId: string; limit?: number; random?: () => number },
): TeacherCandidate[] {
  const rows = [...announced].filter((row) => row.peerId !== options.selfPeerId && row.age > 0);
  rows.sort((a, b) => {
    const accuracyA = a.accuracy ?? -1;
    const accuracyB = b.accuracy ?? -1;
    if (accuracyA !== accuracyB) return accuracyB - accuracyA;
    if (a.age !== b.age) return b.age - a.age;
    return a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0;
  });
  const best = rows[0]?.accuracy ?? null;
  if (options.random !== undefined && best !== null) {
    let tied = 0;
    while (tied < rows.length && (rows[tied]!.accuracy ?? -1) >= best - TEACHER_ACCURACY_TIE) tied++;
    // Fisher-Yates over the tied prefix.
    for (let i = tied - 1; i > 0; i--) {
      const j = Math.floor(options.random() * (i + 1));
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
  }
  return rows.slice(0, options.limit ?? 8).map((row) => toCandidate(row));
}

function toCandidate(row: AnnouncedTeacher): TeacherCandidate {
  const addresses = row.addresses.flatMap((text) => {
    try {
      const address = multiaddr(text);
      return [address.getComponents().some((c) => c.name === 'p2p') ? address : address.encapsulate(`/p2p/${row.peerId}`)];
    } catch {
      return [];
    }
  });
  return { id: row.peerId, target: addresses.length > 0 ? addresses : peerIdFromString(row.peerId) };
}

/** What a --teacher value looks like, for the refusal of one that parses as neither. */
const TEACHER_EXAMPLE = 'write a peer id (12D3KooW...) or its multiaddr (/ip4/127.0.0.1/tcp/47800/p2p/12D3KooW...)';

/**
 * `--teacher` value to a candidate: a multiaddr (starts with '/') or a peer
 * id; a peer id we have an announcement for is dialled at its announced
 * addresses.
 */
export function forcedTeacher(value: string, announced: Iterable<AnnouncedTeacher>): TeacherCandidate {
  if (value.startsWith('/')) {
    try {
      return { id: value, target: multiaddr(value) };
    } catch (err) {
      throw new TeacherChoiceError(`--teacher: '${value}' is not a multiaddr (${(err as Error).message}); ${TEACHER_EXAMPLE}`);
    }
  }
  for (const row of announced) if (row.peerId === value) return toCandidate(row);
  try {
    return { id: value, target: peerIdFromString(value) };
  } catch (err) {
    throw new TeacherChoiceError(`--teacher: '${value}' is neither a multiaddr nor a peer id; ${TEACHER_EXAMPLE}`);
  }
}
