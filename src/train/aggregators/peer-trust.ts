/**
 * How much a robust aggregator trusts each peer, from what that peer sent
 * before: a new or unknown peer's mixing weight ramps up over its first
 * merges (it cannot claim weight it has not earned, whatever age it names),
 * and estimates that were clipped, trimmed or rejected are counted so the
 * peer sampler (src/core/peer-sampler.ts) calls that peer less often.
 *
 *   const trust = new PeerTrust({ rampMerges: 5, maxPeers: 256 });
 *   trust.weightFactor('p');   // 0.2 for a peer never merged, 1 after 4 merges
 *   trust.recordMerge('p');
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

export class PeerTrust {
  private readonly merges: LruMap<string, number>;
  private readonly rampMerges: number;

  /** Throws RangeError for a ramp below 1 or a bad capacity. */
  constructor(options: PeerTrustOptions) {
    if (!(Number.isSafeInteger(options.rampMerges) && options.rampMerges >= 1)) throw new RangeError(`rampMerges must be an integer >= 1, got ${options.rampMerges}`);
    this.rampMerges = options.rampMerges;
    this.merges = new LruMap(options.maxPeers);
  }

  /** Factor in (0, 1] on the peer's mixing weight: (merges + 1) / rampMerges, at most 1. */
  weightFactor(peerId: string): number {
    const merged = this.merges.peek(peerId) ?? 0;
    return Math.min(1, (merged + 1) / this.rampMerges);
  }

  /** Counts one merge of the peer's estimate (clipped or not: it still took part). */
  recordMerge(peerId: string): void {
    this.merges.set(peerId, (this.merges.get(peerId) ?? 0) + 1);
  }

  /** Merges counted for the peer (0 when unknown or forgotten). */
  mergesOf(peerId: string): number {
    return this.merges.peek(peerId) ?? 0;
  }
}
