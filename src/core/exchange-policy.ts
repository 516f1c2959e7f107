/**
 * The aggregation policy: whether a node starts an exchange now, decided on
 * every tick of its exchange timer (src/core/pacing.ts gives the ticks), the
 * same way in the daemon (src/node/exchange-loop.ts) and the simulator
 * (src/sim/simulate.ts). Two rules, both measured in npm run
 * bench:convergence (README "How many bytes learning costs"):
 *
 *   - fewer, richer exchanges: start one only after `localStepsPerExchange`
 *     (H) local optimizer steps since the last one we started (0: on every
 *     tick, classic gossip learning). What training added in between goes out
 *     as one delta against the pair's replica (src/protocol/session.ts), so a
 *     larger H sends fewer messages of about the same size (the codec keeps a
 *     fixed top-k fraction). Local SGD / DiLoCo (Douillard et al. 2023) and
 *     NoLoCo (Kolehmainen et al. 2025) exchange every H steps for the same
 *     reason.
 *   - a byte budget (`--byte-budget BYTES_PER_HOUR`, 0 = unlimited): bytes
 *     sent (requests and replies, frames included) in any rolling hour stay
 *     under the budget, and are spread evenly over the hour by a token
 *     bucket (rate = budget / hour, at most one minute's worth saved up,
 *     starting empty) rather than spent in the first minutes. Token-account
 *     flow control in gossip learning: Danner and Jelasity 2018.
 *
 * Pure: the clock is passed in; bytes are read from the sessions' counters.
 *
 *   const policy = new ExchangePolicy({ localStepsPerExchange: 20, byteBudgetPerHour: 0, now, sentBytes });
 *   policy.noteLocalSteps(5);                 // from the training driver
 *   const d = policy.decide();                // { exchange: true } | { exchange: false, reason }
 *   if (d.exchange) { policy.started(); ... }
 */
import { GossipLearnError } from '../common/errors.ts';

/** Why a due exchange was not started; `local-steps` (fewer than H steps since the last one) is not counted as skipped. */
/** byte-budget: spent; no-peer: no candidate; busy: an exchange of ours still running; backoff: every candidate in its backoff after a failure or BUSY (src/core/peer-sampler.ts). */
export type SkipReason = 'byte-budget' | 'no-peer' | 'busy' | 'backoff';
export const SKIP_REASONS: readonly SkipReason[] = ['byte-budget', 'no-peer', 'busy', 'backoff'];

export type ExchangeDecision = { exchange: true } | { exchange: false; reason: SkipReason | 'local-steps' };

export interface ExchangePolicyOptions {
  /** H: local steps between two exchanges this node starts (integer >= 0; 0 = every tick). */
  localStepsPerExchange: number;
  /** Bytes this node may send per rolling hour (>= 0; 0 = unlimited). */
  byteBudgetPerHour: number;
  /** Clock, ms. */
  now: () => number;
  /** Bytes this node has sent so far (cumulative, never decreasing). */
  sentBytes: () => number;
  /**
   * What one exchange costs before any was sent, bytes (>= 0; default 0): the
   * encoded snapshot that starts a pair, measured by createGossipNode
   * (src/core/gossip-node.ts). The first exchange is then held to the budget
   * like the later ones, and a budget below it is refused (ByteBudgetError).
   */
  firstExchangeBytes?: number;
}

/** A byte budget that cannot carry a single exchange of this model. */
export class ByteBudgetError extends GossipLearnError<'too-small'> {
  override readonly name = 'ByteBudgetError';
}

/** What the policy did, for /metrics. */
export interface ExchangePolicyStats {
  /** Configured H. */
  localStepsPerExchange: number;
  /** Local steps between the last two exchanges started (the H in effect; null before the first). */
  currentLocalSteps: number | null;
  /** Local steps since the last exchange started. */
  pendingLocalSteps: number;
  byteBudgetPerHour: number;
  /** Bytes sent in the current rolling-hour window (counted in whole minutes, so it may over-count by < 1 minute). */
  budgetWindowBytes: number;
  /** Due exchanges not started, by reason. */
  skipped: Record<SkipReason, number>;
}

export const HOUR_MS = 3_600_000;
const BUCKET_MS = 60_000;
/** Buckets in the rolling window: 60 full minutes plus the current one (conservative: never under-counts). */
const WINDOW_BUCKETS = HOUR_MS / BUCKET_MS + 1;

/** Throws RangeError for H or a budget outside the documented ranges, ByteBudgetError('too-small') for a budget below firstExchangeBytes. */
export function validatePolicyOptions(options: Pick<ExchangePolicyOptions, 'localStepsPerExchange' | 'byteBudgetPerHour' | 'firstExchangeBytes'>): void {
  if (!Number.isSafeInteger(options.localStepsPerExchange) || options.localStepsPerExchange < 0) {
    throw new RangeError(`localStepsPerExchange must be a non-negative integer, got ${options.localStepsPerExchange}`);
  }
  if (!(options.byteBudgetPerHour >= 0) || !Number.isFinite(options.byteBudgetPerHour)) {
    throw new RangeError(`byteBudgetPerHour must be a non-negative number of bytes, got ${options.byteBudgetPerHour}`);
  }
  const first = options.firstExchangeBytes ?? 0;
  if (!(first >= 0) || !Number.isFinite(first)) throw new RangeError(`firstExchangeBytes must be a non-negative number of bytes, got ${first}`);
  if (options.byteBudgetPerHour > 0 && first > options.byteBudgetPerHour) {
    throw new ByteBudgetError(
      'too-small',
      `a byte budget of ${options.byteBudgetPerHour} bytes per hour cannot carry one exchange: the snapshot that starts a pair is ${first} bytes for this model; give at least ${first} bytes per hour (e.g. ${suggestedBudget(first)}), or 0 for unlimited`,
    );
  }
}

/** A round budget in the units --byte-budget reads, about ten exchanges' worth of `bytes`. */
function suggestedBudget(bytes: number): string {
  const tenFold = 10 * bytes;
  return tenFold >= 1e6 ? `${Math.ceil(tenFold / 1e6)}MB` : `${Math.ceil(tenFold / 1e3)}kB`;
}

export class ExchangePolicy {
  readonly localStepsPerExchange: number;
  readonly byteBudgetPerHour: number;
  private readonly now: () => number;
  private readonly sentBytes: () => number;
  private pendingSteps = 0;
  private training = true;
  private lastSteps: number | null = null;
  private readonly skipped: Record<SkipReason, number> = { 'byte-budget': 0, 'no-peer': 0, busy: 0, backoff: 0 };
  /** Bytes sent per minute, ring of WINDOW_BUCKETS (bounded). */
  private readonly buckets = new Float64Array(WINDOW_BUCKETS);
  private bucketMinute: number;
  private accountedBytes: number;
  private tokens = 0;
  private tokensAtMs: number;
  /** Largest bytes sent between two ticks so far (at first: firstExchangeBytes): the estimate of what the next exchange costs. */
  private largestSpend = 0;

  /** Throws RangeError or ByteBudgetError (validatePolicyOptions). */
  constructor(options: ExchangePolicyOptions) {
    validatePolicyOptions(options);
    this.localStepsPerExchange = options.localStepsPerExchange;
    this.byteBudgetPerHour = options.byteBudgetPerHour;
    this.now = options.now;
    this.sentBytes = options.sentBytes;
    const t = this.now();
    this.bucketMinute = Math.floor(t / BUCKET_MS);
    this.tokensAtMs = t;
    this.accountedBytes = this.sentBytes();
    this.largestSpend = options.firstExchangeBytes ?? 0;
  }

  /** The training driver reports local optimizer steps (merges do not count). */
  noteLocalSteps(steps: number): void {
    if (steps > 0) this.pendingSteps += steps;
  }

  /**
   * The training driver says whether the node trains at all (a daemon with
   * --steps-per-interval 0, a simulated node past its sample budget): a node
   * that does not train gossips on every tick, whatever H is.
   */
  setTraining(active: boolean): void {
    this.training = active;
  }

  /** Whether to start an exchange now. Call on every tick of the exchange timer. */
  decide(): ExchangeDecision {
    this.account();
    if (this.training && this.pendingSteps < this.localStepsPerExchange) return { exchange: false, reason: 'local-steps' };
    if (!this.budgetAllows()) {
      this.skipped['byte-budget'] += 1;
      return { exchange: false, reason: 'byte-budget' };
    }
    return { exchange: true };
  }

  /**
   * True unless answering a peer's request would break the budget or run
   * ahead of its even spread (then the node does not answer at all: even a
   * BUSY frame costs bytes).
   */
  canRespond(): boolean {
    this.account();
    return this.budgetAllows();
  }

  /** A due exchange was started: the local-step count restarts. */
  started(): void {
    this.lastSteps = this.pendingSteps;
    this.pendingSteps = 0;
  }

  /** A due exchange could not be started (no peer, peer busy): counted, the steps stay pending. */
  skip(reason: Exclude<SkipReason, 'byte-budget'>): void {
    this.skipped[reason] += 1;
  }

  stats(): ExchangePolicyStats {
    this.account();
    return {
      localStepsPerExchange: this.localStepsPerExchange,
      currentLocalSteps: this.lastSteps,
      pendingLocalSteps: this.pendingSteps,
      byteBudgetPerHour: this.byteBudgetPerHour,
      budgetWindowBytes: this.windowBytes(),
      skipped: { ...this.skipped },
    };
  }

  private budgetAllows(): boolean {
    if (this.byteBudgetPerHour === 0) return true;
    if (this.windowBytes() + this.largestSpend > this.byteBudgetPerHour) return false;
    return this.tokens >= 0;
  }

  private windowBytes(): number {
    let sum = 0;
    for (let i = 0; i < this.buckets.length; i++) sum += this.buckets[i]!;
    return sum;
  }

  /** Moves the window to now and books the bytes sent since the last call into the current minute and the token bucket. */
  private account(): void {
    const t = this.now();
    const minute = Math.floor(t / BUCKET_MS);
    if (minute > this.bucketMinute) {
      const steps = Math.min(minute - this.bucketMinute, WINDOW_BUCKETS);
      for (let k = 1; k <= steps; k++) this.buckets[(this.bucketMinute + k) % WINDOW_BUCKETS] = 0;
      this.bucketMinute = minute;
    }
    const sent = this.sentBytes();
    const spent = Math.max(0, sent - this.accountedBytes);
    this.accountedBytes = sent;
    this.buckets[this.bucketMinute % WINDOW_BUCKETS]! += spent;
    if (spent > this.largestSpend) this.largestSpend = spent;
    if (this.byteBudgetPerHour > 0) {
      const rate = this.byteBudgetPerHour / HOUR_MS;
      const cap = this.byteBudgetPerHour / (HOUR_MS / BUCKET_MS);
      this.tokens = Math.min(cap, this.tokens + rate * Math.max(0, t - this.tokensAtMs)) - spent;
      this.tokensAtMs = t;
    }
  }
}
