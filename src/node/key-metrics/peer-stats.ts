/**
 * Per-peer exchange figures for the dashboard's peer table (`peerStats` in
 * /metrics): when we last completed an exchange with each peer, how many,
 * the bytes both ways and how many of its streams we rejected. Bounded: the
 * least recently active peers beyond `capacity` are forgotten.
 *
 *   const peers = new PeerStats(64);
 *   peers.countBytes(peerId, 'sent', 1200);
 *   peers.completed(peerId, new Date());
 *   peers.list();   // most recently active first
 */
import { LruMap } from '../../common/lru.ts';

/** One row of `peerStats`. */
export interface PeerStat {
  peerId: string;
  /** ISO time of the last completed exchange (either direction); null: none yet. */
  lastExchangeAt: string | null;
  /** Completed exchanges (either direction). */
  exchanges: number;
  bytesSent: number;
  bytesReceived: number;
  /** Inbound streams from this peer that ended without a valid frame (counted in exchange.rejected too). */
  rejections: number;
}

/** Peers kept in the table by default: a dashboard row each. */
export const DEFAULT_PEER_STATS_CAPACITY = 64;

export class PeerStats {
  private readonly rows: LruMap<string, PeerStat>;

  constructor(capacity = DEFAULT_PEER_STATS_CAPACITY) {
    this.rows = new LruMap(capacity);
  }

  private row(peerId: string): PeerStat {
    let row = this.rows.get(peerId);
    if (row === undefined) {
      row = { peerId, lastExchangeAt: null, exchanges: 0, bytesSent: 0, bytesReceived: 0, rejections: 0 };
      this.rows.set(peerId, row);
    }
    return row;
  }

  countBytes(peerId: string, direction: 'sent' | 'received', bytes: number): void {
    const row = this.row(peerId);
    if (direction === 'sent') row.bytesSent += bytes;
    else row.bytesReceived += bytes;
  }

  completed(peerId: string, at: Date): void {
    const row = this.row(peerId);
    row.exchanges += 1;
    row.lastExchangeAt = at.toISOString();
  }

  rejected(peerId: string): void {
    this.row(peerId).rejections += 1;
  }

  /** Copies of the rows, the most recent exchange first (peers never completed last). */
  list(): PeerStat[] {
    const rows = [...this.rows.values()].map((row) => ({ ...row }));
    return rows.sort((a, b) => (b.lastExchangeAt ?? '').localeCompare(a.lastExchangeAt ?? '') || a.peerId.localeCompare(b.peerId));
  }
}
