/**
 * The daemon's timer for local training, on the gossip core's pacing
 * (src/core/pacing.ts): `stepsPerInterval` training steps per training
 * window (TRAINING_WINDOW_MS, independent of the exchange interval), run in short slices, each followed by a rest so that training
 * takes at most `dutyCycle` of wall time; evaluation on the full test split
 * every `evalIntervalMs`. Exchanges and merges run concurrently: the Trainer
 * yields to the event loop between batches. After each slice the
 * divergence guard (src/train/divergence-guard.ts) judges the model and rolls
 * it back if it diverged.
 *
 *   daemon.addService(new TrainingLoop({ model, test, pacing, evalIntervalMs }));
 */
import { nextSliceSteps, trainingRestMs, type Pacing } from '../core/pacing.ts';
import type { Split } from '../train/dataset.ts';
import type { DivergenceGuard } from '../train/divergence-guard.ts';
import type { LiveModel } from '../train/live-model.ts';
import { sleep } from './abortable-sleep.ts';
import type { DaemonContext, DaemonService } from './service.ts';
import { monotonicNowMs } from '../common/clock.ts';

/** Evaluation batch size (inference only). */
const EVAL_BATCH_SIZE = 256;

export interface TrainingLoopOptions {
  model: LiveModel;
  /** Judges every slice and rolls a diverged model back (the daemon always passes one). */
  guard?: DivergenceGuard;
  test: Split;
  pacing: Pick<Pacing, 'intervalMs' | 'stepsPerInterval' | 'dutyCycle'>;
  evalIntervalMs: number;
  /** Told the local steps of every slice (the gossip core's aggregation policy counts them toward H). */
  onSteps?: (steps: number) => void;
  now?: () => number;
  /** Abortable wait (tests pass a fake clock's). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export class TrainingLoop implements DaemonService {
  readonly name = 'training';
  private readonly options: TrainingLoopOptions;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly stopController = new AbortController();
  private running: Promise<void> | null = null;
  private lastEvalMs = -Infinity;
  private context: DaemonContext | null = null;

  constructor(options: TrainingLoopOptions) {
    this.options = options;
    this.now = options.now ?? monotonicNowMs;
    this.sleep = options.sleep ?? sleep;
  }

  async start(context: DaemonContext): Promise<void> {
    this.context = context;
    this.evaluate();
    this.running = this.loop().catch((err: unknown) => {
      if (!this.stopController.signal.aborted) context.logger.error({ err }, 'training loop failed');
    });
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.running;
  }

  /** Evaluates on the full test split now and publishes the result in metrics. */
  evaluate(): { accuracy: number; loss: number } {
    const metrics = this.context?.metrics;
    const evaluate = (): { accuracy: number; loss: number } => this.options.model.trainer.evaluate(this.options.test, EVAL_BATCH_SIZE);
    const result = metrics === undefined ? evaluate() : metrics.keyMetrics.cpu.measure('evaluation', evaluate);
    this.lastEvalMs = this.now();
    if (metrics !== undefined) {
      metrics.keyMetrics.noteEvaluation(result.accuracy, this.lastEvalMs);
      metrics.eval.accuracy = result.accuracy;
      metrics.eval.loss = result.loss;
      // A wall-clock instant for people and other processes; lastEvalMs is on the monotonic clock (src/common/clock.ts), only for intervals.
      metrics.eval.at = new Date().toISOString();
      this.context?.events?.emit('evaluation', { accuracy: result.accuracy, loss: result.loss, age: this.options.model.age, at: metrics.eval.at, testSet: metrics.eval.testSet });
    }
    // One info line per evaluation: what a person watching the terminal wants to see.
    const exchange = metrics?.exchange;
    this.context?.logger.info(
      { accuracy: Number(result.accuracy.toFixed(4)), loss: Number(result.loss.toFixed(4)), age: this.options.model.age, merged: exchange?.merged, bytesSent: exchange?.bytesSent },
      'evaluated',
    );
    return result;
  }

  private async loop(): Promise<void> {
    const signal = this.stopController.signal;
    const { model, evalIntervalMs } = this.options;
    const { intervalMs, stepsPerInterval, dutyCycle } = this.options.pacing;
    const metrics = this.context!.metrics;
    const key = metrics.keyMetrics;
    // Each step's wall time (training.stepMs) and CPU time (compute.cpuSeconds.training).
    const around = <T>(step: () => T): T => {
      const started = performance.now();
      try {
        return key.cpu.measure('training', step);
      } finally {
        key.trainingStepMs.observe(performance.now() - started);
      }
    };
    while (!signal.aborted) {
      const windowStart = this.now();
      let done = 0;
      while (done < stepsPerInterval && !signal.aborted) {
        const sliceStart = this.now();
        const result = await model.trainer.trainSteps(nextSliceSteps(stepsPerInterval, done), { signal, around });
        done += result.steps;
        metrics.training.steps += result.steps;
        this.options.guard?.afterTraining(result);
        this.options.onSteps?.(result.steps);
        if (result.steps > 0) {
          metrics.training.loss = result.loss;
          metrics.training.samplesPerSecond = result.samplesPerSecond;
        }
        if (this.now() - this.lastEvalMs >= evalIntervalMs) this.evaluate();
        // Duty cycle: rest in proportion to the time just spent training.
        const busyMs = this.now() - sliceStart;
        await this.sleep(trainingRestMs(busyMs, dutyCycle), signal);
        if (result.steps === 0) break;
      }
      if (this.now() - this.lastEvalMs >= evalIntervalMs) this.evaluate();
      await this.sleep(windowStart + intervalMs - this.now(), signal);
    }
  }
}
