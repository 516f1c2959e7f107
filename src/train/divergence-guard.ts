/**
 * Self-healing of a local model that diverges: the one decision the daemon
 * (src/node/training-loop.ts) and the simulator (src/sim/simulate.ts) share.
 * After every training slice the guard checks the slice's mean loss and the
 * parameters. When the parameters hold NaN/Inf, or the loss is not finite or
 * exploded (above LOSS_EXPLOSION_FACTOR x the larger of its recent healthy
 * average and ln(classes), the loss of a uniform guess), it rolls the model
 * back to its last good copy (taken after each healthy slice; at first the
 * model it started from, i.e. the restored checkpoint or the seeded
 * initialization), starts the optimizer over at ROLLBACK_LEARNING_RATE_FACTOR
 * x the learning rate, and counts a rollback.
 *
 * The guard is also the model the gossip core and the checkpoints read: a
 * read first heals a model whose parameters are not finite, so a diverged
 * model is never sent or written (and the codecs refuse NaN/Inf anyway).
 *
 *   const guard = new DivergenceGuard({ model: live, numClasses: 10, onRollback: (e) => log(e) });
 *   const result = await live.trainer.trainSteps(5);
 *   guard.afterTraining(result);               // null, or the cause of a rollback
 *   createGossipNode({ ..., model: guard });   // reads never see NaN/Inf
 */
import { allFinite, type TrainingCounters } from './merge.ts';
import type { Trainer } from './trainer.ts';
import type { LocalModelStore, ModelState } from './model-state.ts';

/** Loss above this multiple of the reference (recent healthy mean, at least ln(classes)) counts as divergence. */
export const LOSS_EXPLOSION_FACTOR = 10;
/** Each rollback trains on at this fraction of the previous learning rate: from 1e6, eight rollbacks reach 0.01. */
export const ROLLBACK_LEARNING_RATE_FACTOR = 0.1;
/** Smoothing of the healthy-loss reference (about the last 10 slices). */
const LOSS_EMA_ALPHA = 0.1;

export type DivergenceCause = 'non-finite-params' | 'non-finite-loss' | 'loss-exploded';

export interface RollbackEvent {
  cause: DivergenceCause;
  /** Mean loss of the slice that triggered it (NaN when the trigger was a read). */
  loss: number;
  previousLearningRate: number;
  learningRate: number;
  /** Age of the model rolled back to. */
  restoredAge: number;
  /** Rollbacks so far, this one included. */
  rollbacks: number;
}

/**
 * What the guard needs of a model: the LiveModel (live-model.ts) of the
 * daemon, or a simulated node's slot of the shared model (src/sim/shared-model.ts).
 */
export interface GuardedModel extends LocalModelStore {
  readonly modelName: string;
  readonly modelHash: string;
  readonly trainer: Pick<Trainer, 'learningRate' | 'resetOptimizer'>;
}

export interface DivergenceGuardOptions {
  model: GuardedModel;
  /** Classes of the task: ln(numClasses) is the loss floor of the explosion test. */
  numClasses: number;
  /** Told about every rollback (the daemon logs it). */
  onRollback?: (event: RollbackEvent) => void;
}

export class DivergenceGuard implements LocalModelStore {
  readonly model: GuardedModel;
  private readonly chanceLoss: number;
  private readonly onRollback: ((event: RollbackEvent) => void) | undefined;
  private lastGood: ModelState;
  private healthyLoss: number | null = null;
  private rollbackCount = 0;

  /** Takes the model as it is now (checkpoint restored, or initialized) as the first good copy. Throws RangeError if it is not finite. */
  constructor(options: DivergenceGuardOptions) {
    this.model = options.model;
    this.chanceLoss = Math.log(Math.max(2, options.numClasses));
    this.onRollback = options.onRollback;
    const start = this.model.read();
    if (!allFinite(start.params)) throw new RangeError('the model to guard already holds NaN or Infinity');
    this.lastGood = start;
  }

  get modelName(): string {
    return this.model.modelName;
  }

  get modelHash(): string {
    return this.model.modelHash;
  }

  /** Rollbacks so far. */
  get rollbacks(): number {
    return this.rollbackCount;
  }

  /** The model's parameters and counters, healed first if they are not finite. */
  read(): ModelState {
    const state = this.model.read();
    if (allFinite(state.params)) return state;
    this.rollback('non-finite-params', Number.NaN);
    return this.model.read();
  }

  /** Merged parameters go straight to the model (the aggregators refuse NaN/Inf peers). */
  write(params: Float32Array, counters: TrainingCounters): void {
    this.model.write(params, counters);
  }

  /**
   * Judges the slice just trained (its mean loss; a slice of no steps is
   * ignored). Rolls back and returns the cause when the model diverged; else
   * keeps the model as the last good copy and returns null.
   */
  afterTraining(result: { steps: number; loss: number }): DivergenceCause | null {
    if (result.steps <= 0) return null;
    const state = this.model.read();
    const reference = Math.max(this.healthyLoss ?? this.chanceLoss, this.chanceLoss);
    const cause: DivergenceCause | null = !allFinite(state.params)
      ? 'non-finite-params'
      : !Number.isFinite(result.loss)
        ? 'non-finite-loss'
        : result.loss > LOSS_EXPLOSION_FACTOR * reference
          ? 'loss-exploded'
          : null;
    if (cause !== null) {
      this.rollback(cause, result.loss);
      return cause;
    }
    this.healthyLoss = this.healthyLoss === null ? result.loss : this.healthyLoss + LOSS_EMA_ALPHA * (result.loss - this.healthyLoss);
    this.lastGood = state;
    return null;
  }

  private rollback(cause: DivergenceCause, loss: number): void {
    const trainer = this.model.trainer;
    const previousLearningRate = trainer.learningRate;
    const learningRate = previousLearningRate * ROLLBACK_LEARNING_RATE_FACTOR;
    this.model.write(this.lastGood.params, { age: this.lastGood.age, samplesSeen: this.lastGood.samplesSeen });
    trainer.resetOptimizer(learningRate);
    this.rollbackCount++;
    this.onRollback?.({ cause, loss, previousLearningRate, learningRate, restoredAge: this.lastGood.age, rollbacks: this.rollbackCount });
  }
}
