/**
 * Pacing: when a node trains and when it starts an exchange. Training: each
 * TRAINING_WINDOW_MS window holds `stepsPerInterval` local steps, run in
 * slices of at most TRAINING_SLICE_STEPS with a rest after each so training
 * takes at most `dutyCycle` of the time. Exchanges: the exchange timer ticks
 * every interval, jittered by +/- `jitterFraction` so peers that started
 * together drift apart instead of calling each other in lockstep, and on
 * each tick the aggregation policy (exchange-policy.ts) decides whether to
 * call: after `localStepsPerExchange` (H) local steps, within the byte budget. The daemon runs
 * these decisions on real timers (src/node/training-loop.ts,
 * src/node/exchange-loop.ts), the simulator on a virtual clock
 * (src/sim/simulate.ts).
 *
 *   const delayMs = exchangeDelayMs(DEFAULT_PACING, random);      // 400..600
 *   const restMs = trainingRestMs(busyMs, DEFAULT_PACING.dutyCycle);
 */

export interface Pacing {
  /** Mean time between two exchanges a node starts, ms (> 0). */
  intervalMs: number;
  /** Local optimizer steps per interval (>= 0; 0 = the node only gossips). */
  stepsPerInterval: number;
  /** Largest share (0, 1] of wall time spent training. */
  dutyCycle: number;
  /** Interval jitter as a fraction [0, 1) of the interval. */
  jitterFraction: number;
  /**
   * H: local steps between two exchanges a node starts (>= 0; 0 = one
   * exchange every interval). The aggregation policy
   * (src/core/exchange-policy.ts) checks it on every tick of the exchange
   * timer, so a node exchanges at most once per interval and only after H
   * local steps.
   */
  localStepsPerExchange: number;
}

/**
 * An exchange tick every 500 ms (jittered by 20%), 5 local steps (batches
 * of 32) per 500 ms window, training at most half of the time, and an
 * exchange started only after 15 local steps: the defaults of the daemon,
 * the cluster launcher and the simulator alike.
 *
 * Measured with 5 real daemons, mnist shards:2, mlp, the default codec, 120 s,
 * same training rate (one seed each, so a few points of noise):
 *   1000 ms / 10 steps: mean 52.8%, worst node 47.1%, 0.8 MiB sent per node
 *    500 ms /  5 steps: mean 64.7%, worst node 54.3%, 1.4 MiB
 *    300 ms /  3 steps: mean 62.9%, worst node 60.2%, 1.6 MiB
 * and with the in-process simulation (8 nodes, Fashion-MNIST, mlp, momentum
 * 0.05, topk:0.1+q4+deflate, shards:2, 12k samples per node; final mean /
 * worst-node accuracy and bytes per node by local steps per exchange):
 *   20 steps: 49.1% / 33.5%, 0.67 MB     10 steps: 53.4% / 43.9%, 1.11 MB
 *    5 steps: 62.6% / 57.7%, 1.94 MB      2 steps: 66.2% / 63.4%, 4.31 MB
 * Under label skew, mixing more often per local step keeps every node good;
 * 5 steps is the knee (2 buys ~6 worst-node points for 2.2x the bytes).
 *
 * H (localStepsPerExchange) re-measured with the aggregation policy
 * (issue 14, npm run bench:convergence, 8 nodes, Fashion-MNIST,
 * dirichlet:0.3, mlp, topk:0.1+q4+deflate, seed 1, 8,000 samples per node;
 * final mean accuracy and bytes per node; f32 gossip 78.31% at 41.2 MB):
 *   momentum  H=5 76.09% 1.25 MB   H=10 72.78% 0.75 MB   H=20 71.55% 0.45 MB
 *   qgm       H=5 77.61% 1.26 MB   H=10 76.75% 0.75 MB   H=20 75.88% 0.47 MB
 * Quasi-global momentum (src/train/trainer.ts) bought 1.5 to 4 points at the
 * same bytes, but at H=20 over the full 24,000 samples per node with the
 * plain average it fell to 60.2% (49.5% re-measured with today's peer
 * sampling): each merge's jump, divided by the learning rate, entered its
 * momentum and overshot. With that jump clipped to a
 * local step's norm, at 24,000 samples per node (seed 1, centered-clip;
 * nodes train 5 steps per window, so H counts in fives):
 *   qgm H=5 82.68% / 79.76% 3.44 MB   H=10 82.79% / 80.82% 1.87 MB
 *       H=15 82.96% / 81.48% 1.33 MB  H=20 80.62% / 77.15% 1.04 MB
 * (mean / worst node, bytes per node; f32 gossip 83.09% at 123.49 MB). H=15:
 * the most local steps that keep the accuracy; one exchange every 1.5 s.
 */
export const DEFAULT_PACING: Readonly<Pacing> = Object.freeze({
  intervalMs: 500,
  stepsPerInterval: 5,
  dutyCycle: 0.5,
  jitterFraction: 0.2,
  localStepsPerExchange: 15,
});

/**
 * The training window: a node trains `stepsPerInterval` local steps per
 * window of this many ms (the training pace), whatever the exchange interval
 * is; how often it exchanges is the aggregation policy's
 * (exchange-policy.ts: H local steps, at most one exchange per interval).
 * 500 ms: the exchange interval both shared before they were separated, so
 * the default training pace did not change.
 */
export const TRAINING_WINDOW_MS = 500;

/** Steps per training slice: short slices keep merges and network reads flowing between batches. */
export const TRAINING_SLICE_STEPS = 10;

/** Throws RangeError for values outside the ranges documented on Pacing. */
export function validatePacing(pacing: Pacing): void {
  if (!(pacing.intervalMs > 0) || !Number.isFinite(pacing.intervalMs)) throw new RangeError(`intervalMs must be a positive number of ms, got ${pacing.intervalMs}`);
  if (!Number.isSafeInteger(pacing.stepsPerInterval) || pacing.stepsPerInterval < 0) throw new RangeError(`stepsPerInterval must be a non-negative integer, got ${pacing.stepsPerInterval}`);
  if (!(pacing.dutyCycle > 0 && pacing.dutyCycle <= 1)) throw new RangeError(`dutyCycle must be in (0, 1], got ${pacing.dutyCycle}`);
  if (!(pacing.jitterFraction >= 0 && pacing.jitterFraction < 1)) throw new RangeError(`jitterFraction must be in [0, 1), got ${pacing.jitterFraction}`);
  if (!Number.isSafeInteger(pacing.localStepsPerExchange) || pacing.localStepsPerExchange < 0) throw new RangeError(`localStepsPerExchange must be a non-negative integer, got ${pacing.localStepsPerExchange}`);
}

/** Time until the next exchange we start: intervalMs * (1 +/- jitterFraction), at least 1 ms. `random` is uniform in [0, 1). */
export function exchangeDelayMs(pacing: Pick<Pacing, 'intervalMs' | 'jitterFraction'>, random: () => number): number {
  return Math.max(1, Math.round(pacing.intervalMs * (1 + pacing.jitterFraction * (2 * random() - 1))));
}

/** Rest after `busyMs` of training so that training stays at `dutyCycle` of wall time, ms (>= 0). */
export function trainingRestMs(busyMs: number, dutyCycle: number): number {
  return Math.max(0, (busyMs * (1 - dutyCycle)) / dutyCycle);
}

/** Steps of the next training slice when `done` of the interval's `stepsPerInterval` have run (0: the interval's training is done). */
export function nextSliceSteps(stepsPerInterval: number, done: number): number {
  return Math.max(0, Math.min(TRAINING_SLICE_STEPS, stepsPerInterval - done));
}
