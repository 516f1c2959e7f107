/**
 * The paced local training loop: `stepsPerInterval` training steps per
 * exchange interval, run in short slices, each followed by a rest so that
 * training takes at most `dutyCycle` of wall time; evaluation on the full test
 * split every `evalIntervalMs`. Exchanges and merges run concurrently: the
 * Trainer yields to the event loop between batches.
 *
 *   daemon.addService(new TrainingLoop({ host, test, intervalMs, stepsPerInterval, dutyCycle, evalIntervalMs }));
 */
import type { Split } from '../train/dataset.ts';
import { sleep } from './abortable-sleep.ts';
import type { DaemonContext, DaemonService } from './service.ts';
import type { ModelHost } from './model-host.ts';

/** Steps per trainSteps call: short slices keep merges and network reads flowing. */
const SLICE_STEPS = 10;
/** Evaluation batch size (inference only). */
const EVAL_BATCH_SIZE = 256;

export interface TrainingLoopOptions {
  host: ModelHost;
  test: Split;
  intervalMs: number;
  stepsPerInterval: number;
  /** Max fraction (0..1] of wall time spent training. */
  dutyCycle: number;
  evalIntervalMs: number;
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
    this.now = options.now ?? Date.now;
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
    const result = this.options.host.trainer.evaluate(this.options.test, EVAL_BATCH_SIZE);
    this.lastEvalMs = this.now();
    const metrics = this.context?.metrics;
    if (metrics !== undefined) {
      metrics.eval.accuracy = result.accuracy;
      metrics.eval.loss = result.loss;
      metrics.eval.at = new Date(this.lastEvalMs).toISOString();
    }
    // One info line per evaluation: what a person watching the terminal wants to see.
    const exchange = metrics?.exchange;
    this.context?.logger.info(
      { accuracy: Number(result.accuracy.toFixed(4)), loss: Number(result.loss.toFixed(4)), age: this.options.host.age, merged: exchange?.merged, bytesSent: exchange?.bytesSent },
      'evaluated',
    );
    return result;
  }

  private async loop(): Promise<void> {
    const signal = this.stopController.signal;
    const { host, intervalMs, stepsPerInterval, dutyCycle, evalIntervalMs } = this.options;
    const metrics = this.context!.metrics;
    while (!signal.aborted) {
      const windowStart = this.now();
      let done = 0;
      while (done < stepsPerInterval && !signal.aborted) {
        const sliceStart = this.now();
        const result = await host.trainer.trainSteps(Math.min(SLICE_STEPS, stepsPerInterval - done), { signal });
        done += result.steps;
        metrics.training.steps += result.steps;
        if (result.steps > 0) {
          metrics.training.loss = result.loss;
          metrics.training.samplesPerSecond = result.samplesPerSecond;
        }
        if (this.now() - this.lastEvalMs >= evalIntervalMs) this.evaluate();
        // Duty cycle: rest in proportion to the time just spent training.
        const busyMs = this.now() - sliceStart;
        await this.sleep((busyMs * (1 - dutyCycle)) / dutyCycle, signal);
        if (result.steps === 0) break;
      }
      if (this.now() - this.lastEvalMs >= evalIntervalMs) this.evaluate();
      await this.sleep(windowStart + intervalMs - this.now(), signal);
    }
  }
}
