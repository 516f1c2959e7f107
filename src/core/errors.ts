/**
 * Errors of the gossip core. `reason` is a stable code callers branch on and
 * the daemon counts (exchange.rejectedByReason in /metrics).
 */
import type { FrameBytes } from '../protocol/session.ts';

export type GossipErrorReason = 'merge-rejected';

export class GossipError extends Error {
  override readonly name = 'GossipError';
  readonly reason: GossipErrorReason;
  /** Bytes of the frame whose model was refused (it was received and decoded in full). */
  readonly received: FrameBytes | null;
  constructor(reason: GossipErrorReason, message: string, received: FrameBytes | null = null) {
    super(message);
    this.reason = reason;
    this.received = received;
  }
}
