/**
 * How much a robust aggregator trusts each peer, from what that peer sent
 * before: a new or unknown peer's mixing weight ramps up over its first
 * merges (it cannot claim weight it has not earned, whatever age it names),
 * and a peer whose estimates the rule keeps cutting down (clipped, far from
 * the target) loses weight with its suspicion, an exponential moving average
 * of how often that happened: weight x (1 - 0.9 suspicion)^2. (The peer
 * sampler, src/core/peer-sampler.ts, also calls such a peer less often.)
 *
 *   const trust = new PeerTrust({ rampMerges: 5, maxPeers: 256 });
 *   trust.weightFactor('p');          // 0.2 for a peer never merged, 1 after 4 clean merges
 *   trust.recordMerge('p', false);    // true: its estimate was cut down
 *
 * Bounded: at most `maxPeers` records (least recently seen forgotten, so a
 * forgotten peer starts over at the bottom of its ramp).
 */
import { LruMap } from '../../common/lru.ts';

export interface PeerTrustOptions {
  /** Merges after which a peer's weight is no longer scaled down (>= 1). */
  rampMerges: number;
  /** Peers remembered (>= 1). */
  maxPeers: number;
}

/** Suspicion follows about the last 5 merges of a peer. */
const SUSPICION_EMA_ALPHA = 0.2;
/** A peer suspect every time keeps 1% of its weight: still merged a little, so an honest one can earn its way back. */
const SUSPICION_WEIGHT_FLOOR = 0.1;

interface TrustRecord {
  merges: number;
  /** In [0, 1]. */
  suspicion: number;
}

export class PeerTrust {
  private readonly records: LruMap<string, TrustRecord>;
  private readonly rampMerges: number;

  /** Throws RangeError for a ramp below 1 or a bad capacity. */
  constructor(options: PeerTrustOptions) {
    if (!(Number.isSafeInteger(options.rampMerges) && options.rampMerges >= 1)) throw new RangeError(`rampMerges must be an integer >= 1, got ${options.rampMerges}`);
    this.rampMerges = options.rampMerges;
    this.records = new LruMap(options.maxPeers);
  }

  /** Factor in (0, 1] on the peer's mixing weight: min(1, (merges + 1) / rampMerges) x (1 - 0.9 suspicion)^2. */
  weightFactor(peerId: string): number {
    const record = this.records.peek(peerId);
    const ramp = Math.min(1, ((record?.merges ?? 0) + 1) / this.rampMerges);
    return ramp * (1 - (1 - SUSPICION_WEIGHT_FLOOR) * (record?.suspicion ?? 0)) ** 2;
  }

  /** Counts one merge of the peer's estimate; `suspect` when the rule cut it down. */
  recordMerge(peerId: string, suspect: boolean): void {
    const record = this.records.get(peerId) ?? { merges: 0, suspicion: 0 };
    record.merges++;
    record.suspicion += SUSPICION_EMA_ALPHA * ((suspect ? 1 : 0) - record.suspicion);
    this.records.set(peerId, record);
  }

  /** A refused estimate (NaN/Inf, outsized norm) raises the peer's suspicion like a cut-down one, without counting a merge. */
  recordRejection(peerId: string): void {
    const record = this.records.get(peerId) ?? { merges: 0, suspicion: 0 };
    record.suspicion += SUSPICION_EMA_ALPHA * (1 - record.suspicion);
    this.records.set(peerId, record);
  }

  /** Merges counted for the peer (0 when unknown or forgotten). */
  mergesOf(peerId: string): number {
    return this.records.peek(peerId)?.merges ?? 0;
  }

  /** Suspicion of the peer in [0, 1] (0 when unknown or forgotten). */
  suspicionOf(peerId: string): number {
    return this.records.peek(peerId)?.suspicion ?? 0;
  }
}
