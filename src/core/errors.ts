/**
 * Errors of the gossip core. `reason` is a stable code callers branch on and
 * the daemon counts (exchange.rejectedByReason in /metrics).
 */
import { GossipLearnError } from '../common/errors.ts';
import type { FrameBytes } from '../protocol/session.ts';

export type GossipErrorReason = 'merge-rejected' | 'privacy-budget';

export class GossipError extends GossipLearnError<GossipErrorReason> {
  override readonly name = 'GossipError';
  /** Bytes of the frame whose model was refused (it was received and decoded in full). */
  readonly received: FrameBytes | null;
  constructor(reason: GossipErrorReason, message: string, received: FrameBytes | null = null) {
    super(reason, message);
    this.received = received;
  }
}
