/**
 * When a first start stops waiting for a teacher. Waiting the whole join
 * deadline is only worth it while a trained peer may still show up:
 *
 * - nobody can be found (no `--teacher`, no `--bootstrap`, no `--mdns`):
 *   cold start at once (`teacherDiscoveryPossible` is false);
 * - peers have announced but none is a usable teacher (all untrained, i.e.
 *   age 0, which includes peers that are themselves still joining): cold
 *   start once that has held for a short grace period;
 * - a usable teacher is announced, or `--teacher` forces one: ask until the
 *   deadline, as before;
 * - nobody announced at all (bootstrap peer not up yet): wait the deadline,
 *   unless every peer we are connected to is of another swarm (a forgotten
 *   `--swarm`: they never announce on our topic): cold start after the same
 *   grace period.
 *
 * Pure (clock passed in), so the timing rules are tested with a fake clock.
 *
 *   const wait = new TeacherWait({ deadlineMs, untrainedGraceMs, now: monotonicNowMs });
 *   const step = wait.next({ announcedPeers, usableTeachers });   // 'ask' | 'wait' | cold
 */
import type { DaemonConfig } from './config.ts';
import { DISTILL_UNTRAINED_GRACE_EXTRA_MS } from './distill-constants.ts';

export type TeacherWaitStep =
  | { action: 'ask' }
  | { action: 'wait' }
  | { action: 'cold'; reason: 'no-teacher' | 'untrained-peers' | 'other-swarm-peers' };

/** What the joiner sees on one poll of the announcement table. */
export interface TeacherWaitView {
  /** Peers (other than us) with a current announcement. */
  announcedPeers: number;
  /** Of those, candidates worth asking (trained, not refused); 1 for a forced `--teacher`. */
  usableTeachers: number;
  /** We are connected, but only to peers of other swarms (src/node/peer-identity.ts). */
  otherSwarmPeersOnly?: boolean;
}

/** False when no peer can reach us in time: no forced teacher, no bootstrap list, no mDNS. */
export function teacherDiscoveryPossible(config: Pick<DaemonConfig, 'teacher' | 'bootstrap' | 'mdns'>): boolean {
  return config.teacher !== null || config.bootstrap.length > 0 || config.mdns;
}

/**
 * Grace period after which announced-but-untrained peers mean a cold start:
 * one announce interval plus a margin, so every peer in the mesh has announced
 * its current age at least once (one that started training meanwhile shows
 * age > 0 and becomes a teacher).
 */
export function untrainedGraceMs(announceIntervalMs: number): number {
  return announceIntervalMs + DISTILL_UNTRAINED_GRACE_EXTRA_MS;
}

export class TeacherWait {
  private readonly deadlineAtMs: number;
  private readonly graceMs: number | null;
  private readonly now: () => number;
  /** Since when only untrained peers have been announced; null while that is not the case. */
  private untrainedSinceMs: number | null = null;
  /** Since when we have reached only peers of other swarms; null while that is not the case. */
  private otherSwarmSinceMs: number | null = null;

  /** `untrainedGraceMs` null: wait the whole deadline whatever peers announce (periodic re-distillation). */
  constructor(options: { deadlineMs: number; untrainedGraceMs: number | null; now: () => number }) {
    this.now = options.now;
    this.deadlineAtMs = options.now() + options.deadlineMs;
    this.graceMs = options.untrainedGraceMs;
  }

  /** Milliseconds left until the deadline (0 once passed). */
  get remainingMs(): number {
    return Math.max(0, this.deadlineAtMs - this.now());
  }

  next(view: TeacherWaitView): TeacherWaitStep {
    const nowMs = this.now();
    if (nowMs >= this.deadlineAtMs) return { action: 'cold', reason: 'no-teacher' };
    if (view.usableTeachers > 0) {
      this.untrainedSinceMs = null;
      return { action: 'ask' };
    }
    if (view.announcedPeers === 0 && view.otherSwarmPeersOnly === true && this.graceMs !== null) {
      this.untrainedSinceMs = null;
      this.otherSwarmSinceMs ??= nowMs;
      return nowMs - this.otherSwarmSinceMs >= this.graceMs ? { action: 'cold', reason: 'other-swarm-peers' } : { action: 'wait' };
    }
    this.otherSwarmSinceMs = null;
    if (view.announcedPeers === 0 || this.graceMs === null) {
      this.untrainedSinceMs = null;
      return { action: 'wait' };
    }
    this.untrainedSinceMs ??= nowMs;
    return nowMs - this.untrainedSinceMs >= this.graceMs ? { action: 'cold', reason: 'untrained-peers' } : { action: 'wait' };
  }
}
