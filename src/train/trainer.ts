/**
 * Local training on one node's split, in small steps the event loop can
 * interleave with networking:
 *
 *   const trainer = new Trainer({ model, train, featureCount, numClasses, learningRate: 1e-3, optimizer: 'adam', seed: 1 });
 *   const { loss, samplesPerSecond } = await trainer.trainSteps(50, { signal, maxSliceMs: 200 });
 *   const { accuracy } = trainer.evaluate(data.test);
 *
 * Each batch is one SYNCHRONOUS tf step (tidy + optimizer.minimize); between
 * batches trainSteps yields with setImmediate. Code that reads or replaces
 * the weights between batches (a gossip merge) can therefore never see or
 * cause a half-applied step. Rows are visited in a seeded order that is
 * reshuffled every epoch.
 */
import * as tf from '@tensorflow/tfjs';
import type { Split } from './dataset.ts';
import { createRandom, deriveSeed, shuffleInPlace } from './random.ts';
import { GossipLearnError } from '../common/errors.ts';
import { OPTIMIZER_NAMES, TRAINING_DEFAULTS, type OptimizerName } from './training-defaults.ts';

export type { OptimizerName } from './training-defaults.ts';
export const optimizerNames = OPTIMIZER_NAMES;
/** Rows per step when TrainerOptions.batchSize is not given (src/train/training-defaults.ts). */
export const DEFAULT_BATCH_SIZE = TRAINING_DEFAULTS.batchSize;
const MOMENTUM = 0.9;
/**
 * Quasi-global momentum: the largest jump (merge, rollback) folded into the
 * buffer, in local steps (QuasiGlobalMomentum). Measured at H = 20 (seed 1,
 * the plain average / centered-clip as merge rule, final mean accuracy): 1
 * step 81.02% / 80.62%, 5 steps 80.39% / 80.41%, 20 steps 79.92% / 80.36%,
 * unbounded 49.46% / 80.28%; without the jump (plain momentum of the local
 * steps) 80.16% mean but 73.44% worst node (centered-clip).
 */
const JUMP_BOUND_STEPS = 1;
/** Evaluation batch: large enough to amortize per-call overhead, small enough to bound memory. */
const EVAL_BATCH_SIZE = 1000;

export type TrainerErrorReason = 'bad-options';

export class TrainerError extends GossipLearnError<TrainerErrorReason> {
  override readonly name = 'TrainerError';
}

export interface TrainerOptions {
  model: tf.LayersModel;
  train: Split;
  featureCount: number;
  numClasses: number;
  batchSize?: number;
  learningRate: number;
  optimizer: OptimizerName;
  seed: number;
}

export interface TrainStepsResult {
  /** Steps actually run (fewer than asked when aborted or out of time). */
  steps: number;
  samples: number;
  /** Mean training loss over those steps; NaN when none ran. */
  loss: number;
  /** Samples per second of compute (time inside the steps, not the yields between them). */
  samplesPerSecond: number;
}

export interface Evaluation {
  accuracy: number;
  loss: number;
}

function createOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  switch (name) {
    case 'sgd':
    case 'qgm':
      // qgm: the SGD step on g + beta * m, with the quasi-global buffer m kept by the Trainer (QuasiGlobalMomentum).
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, MOMENTUM);
    case 'adam':
      return tf.train.adam(learningRate);
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Forward pass on rows [start, end) of a split with a fixed loss and
 * accuracy read-back; every tensor is freed before returning.
 */
function evaluateRows(model: tf.LayersModel, split: Split, featureCount: number, numClasses: number, start: number, end: number): { lossSum: number; correct: number } {
  return tf.tidy(() => {
    const rows = end - start;
    const x = tf.tensor2d(split.x.subarray(start * featureCount, end * featureCount), [rows, featureCount]);
    const labels = tf.tensor1d(split.y.subarray(start, end), 'int32');
    const logits = model.predict(x) as tf.Tensor2D;
    const lossSum = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, numClasses), logits, undefined, undefined, tf.Reduction.SUM);
    const correct = tf.equal(tf.argMax(logits, 1), labels).sum();
    return { lossSum: lossSum.dataSync()[0]!, correct: correct.dataSync()[0]! };
  });
}

/**
 * Quasi-global momentum (Lin, Karimireddy, Stich and Jaggi, ICML 2021,
 * "Quasi-global momentum: accelerating decentralized deep learning on
 * heterogeneous data", QG-DSGDm): the heavy-ball buffer is built from how the
 * model actually moved between two steps, merges included,
 *   m <- mu * m + (1 - mu) * (x_prev - x) / lr,
 * and each step descends on g + beta * m. Local heavy-ball momentum instead
 * keeps pushing along the node's own (label-skewed) gradients right after a
 * merge pulled the model toward its peers. mu = beta = 0.9 (the paper's).
 *
 * The move since the last step is split in two: the local step (lr times
 * the direction applied, folded in at once) and the jump that came after it
 * (a merge, a rollback, a restart; zero when nothing else touched the
 * model), folded in at the next step with its L2 norm clipped, per tensor,
 * to JUMP_BOUND_STEPS times the last local step's. The paper merges a little
 * every step; here a merge comes every H steps, and a restarted or rolled-back
 * node's first merges are as large as the whole model's drift. Unclipped,
 * a jump J divided by the learning rate becomes velocity that moves the
 * model up to 9 J further over the next ~100 steps (the buffer decays by
 * mu + (1 - mu) beta = 0.99 a step), past the peer: with the plain average,
 * H = 20 collapsed to 49.46% mean accuracy (npm run bench:convergence, seed
 * 1, Fashion-MNIST, dirichlet:0.3, 24,000 samples per node); clipped, 81.02%.
 * Before the first local step the bound is 0: a fresh buffer ignores jumps.
 */
class QuasiGlobalMomentum {
  private readonly momentum: tf.Variable[];
  /** Per tensor: the weights right after the last local step. */
  private readonly previous: tf.Variable[];
  /** Per tensor: the L2 norm of the last local step (0 before the first). */
  private readonly stepNorm: tf.Variable[];
  private readonly learningRate: number;

  constructor(variables: readonly tf.Variable[], learningRate: number) {
    this.learningRate = learningRate;
    // tidy frees the initial values; variables outlive it.
    this.momentum = tf.tidy(() => variables.map((v) => tf.variable(tf.zerosLike(v), false)));
    this.previous = tf.tidy(() => variables.map((v) => tf.variable(v.clone(), false)));
    this.stepNorm = tf.tidy(() => variables.map(() => tf.variable(tf.scalar(0), false)));
  }

  /**
   * Folds the (clipped) jump since the last local step into m, returns the
   * gradients to apply (g + beta * m), and folds that local step into m as
   * well. Call stepped() once the optimizer has applied them.
   */
  direction(variables: readonly tf.Variable[], grads: readonly tf.Tensor[]): tf.Tensor[] {
    return tf.tidy(() =>
      variables.map((v, i) => {
        const m = this.momentum[i]!;
        const jump = this.previous[i]!.sub(v);
        const bound = this.stepNorm[i]!.mul(JUMP_BOUND_STEPS);
        const clipped = jump.mul(tf.minimum(1, bound.div(jump.norm().add(1e-12))));
        const withJump = m.add(clipped.mul((1 - MOMENTUM) / this.learningRate));
        const direction = grads[i]!.add(withJump.mul(MOMENTUM));
        m.assign(withJump.mul(MOMENTUM).add(direction.mul(1 - MOMENTUM)));
        this.stepNorm[i]!.assign(direction.norm().mul(this.learningRate));
        return tf.keep(direction);
      }),
    );
  }

  /** Records where the local step left the model (after the optimizer applied direction()). */
  stepped(variables: readonly tf.Variable[]): void {
    tf.tidy(() => variables.forEach((v, i) => this.previous[i]!.assign(v)));
  }

  /** The buffers as host arrays (momentum, previous, then the step norms, in variable order); the tensors stay. */
  values(): Float32Array[] {
    return [...this.momentum, ...this.previous, ...this.stepNorm].map((t) => t.dataSync() as Float32Array);
  }

  /** Overwrites the buffers from `values` (as `values()` returns them). */
  restore(values: readonly Float32Array[]): void {
    tf.tidy(() => [...this.momentum, ...this.previous, ...this.stepNorm].forEach((t, i) => t.assign(tf.tensor(values[i]!, t.shape, 'float32'))));
  }

  dispose(): void {
    for (const t of [...this.momentum, ...this.previous, ...this.stepNorm]) t.dispose();
  }
}

/**
 * A trainer's optimizer state outside TensorFlow.js (Trainer.park): the
 * optimizer's own slots (tfjs getWeights order, iterations first) and the
 * quasi-global momentum buffers, as host arrays. `fresh`: nothing to restore
 * (never stepped, or reset while parked): unpark builds a new optimizer.
 */
interface ParkedOptimizer {
  fresh: boolean;
  slots: Array<{ name: string; shape: number[]; values: Float32Array }>;
  quasiGlobal: Float32Array[] | null;
}

export class Trainer {
  readonly model: tf.LayersModel;
  readonly batchSize: number;
  readonly featureCount: number;
  readonly numClasses: number;
  private readonly train: Split;
  private optimizer: tf.Optimizer;
  private readonly optimizerName: OptimizerName;
  private rate: number;
  private readonly variables: tf.Variable[];
  private quasiGlobal: QuasiGlobalMomentum | null;
  private readonly seed: number;
  private readonly order: Int32Array;
  private readonly batchX: Float32Array;
  private readonly batchY: Int32Array;
  private cursor = 0;
  private epochIndex = 0;
  private stepsApplied = 0;
  private samplesTrained = 0;
  private disposed = false;
  /** Non-null while parked: the optimizer's state lives here and its tensors are freed. */
  private parked: ParkedOptimizer | null = null;

  constructor(opts: TrainerOptions) {
    const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new TrainerError('bad-options', `batchSize must be a positive integer, got ${batchSize}`);
    if (!(opts.learningRate > 0) || !Number.isFinite(opts.learningRate)) throw new TrainerError('bad-options', `learningRate must be a positive number, got ${opts.learningRate}`);
    if (!(optimizerNames as readonly string[]).includes(opts.optimizer)) throw new TrainerError('bad-options', `unknown optimizer '${opts.optimizer}' (expected ${optimizerNames.join(' | ')})`);
    if (opts.train.count < 1) throw new TrainerError('bad-options', 'the training split is empty');
    if (opts.train.x.length !== opts.train.count * opts.featureCount || opts.train.y.length !== opts.train.count) {
      throw new TrainerError('bad-options', `training split sizes do not match: ${opts.train.x.length} values, ${opts.train.y.length} labels for ${opts.train.count} rows of ${opts.featureCount}`);
    }
    this.model = opts.model;
    this.train = opts.train;
    this.featureCount = opts.featureCount;
    this.numClasses = opts.numClasses;
    this.batchSize = batchSize;
    this.seed = opts.seed;
    this.optimizerName = opts.optimizer;
    this.rate = opts.learningRate;
    this.optimizer = createOptimizer(opts.optimizer, opts.learningRate);
    // An explicit list: by default minimize() differentiates every variable in the process (other models too).
    this.variables = opts.model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.quasiGlobal = opts.optimizer === 'qgm' ? new QuasiGlobalMomentum(this.variables, opts.learningRate) : null;
    this.order = Int32Array.from(opts.train.y.keys());
    this.shuffle();
    this.batchX = new Float32Array(batchSize * opts.featureCount);
    this.batchY = new Int32Array(batchSize);
  }

  /** The optimizer's current learning rate. */
  get learningRate(): number {
    return this.rate;
  }

  /**
   * Replaces the optimizer with a fresh one of the same kind at
   * `learningRate`: its state (momentum, Adam moments) starts over, which a
   * rollback after divergence needs (src/train/divergence-guard.ts). Throws
   * TrainerError('bad-options') for a rate that is not a positive finite number.
   */
  resetOptimizer(learningRate: number): void {
    if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new TrainerError('bad-options', `learningRate must be a positive number, got ${learningRate}`);
    if (this.disposed) throw new TrainerError('bad-options', 'trainer is disposed');
    this.rate = learningRate;
    if (this.parked !== null) {
      // A fresh optimizer is built from the model's weights at unpark (the quasi-global buffer starts there).
      this.parked = { fresh: true, slots: [], quasiGlobal: null };
      return;
    }
    disposeOptimizer(this.optimizer);
    this.optimizer = createOptimizer(this.optimizerName, learningRate);
    if (this.quasiGlobal !== null) {
      this.quasiGlobal.dispose();
      this.quasiGlobal = new QuasiGlobalMomentum(this.variables, learningRate);
    }
  }

  /** True between park() and unpark(). */
  get isParked(): boolean {
    return this.parked !== null;
  }

  /**
   * Moves the optimizer's state (momentum, Adam moments, the quasi-global
   * buffers) out of TensorFlow.js into host arrays and frees its tensors, so
   * many trainers can share one tfjs model: the simulator keeps one model
   * for all its nodes and swaps a node's weights and optimizer state in for
   * its training slice (src/sim/shared-model.ts). trainSteps refuses to run
   * while parked. Idempotent.
   */
  async park(): Promise<void> {
    if (this.parked !== null || this.disposed) return;
    const named = await this.optimizer.getWeights();
    const slots = named.map((w) => ({ name: w.name, shape: [...w.tensor.shape], values: Float32Array.from(w.tensor.dataSync()) }));
    // getWeights makes a new iterations scalar (first) and hands out the slots' own variables (freed with the optimizer).
    named[0]?.tensor.dispose();
    const quasiGlobal = this.quasiGlobal === null ? null : this.quasiGlobal.values().map((v) => Float32Array.from(v));
    disposeOptimizer(this.optimizer);
    this.quasiGlobal?.dispose();
    this.quasiGlobal = null;
    this.parked = { fresh: false, slots, quasiGlobal };
  }

  /**
   * Rebuilds the optimizer from the parked state, on the model's weights as
   * they are now (load the node's weights first). Idempotent.
   */
  async unpark(): Promise<void> {
    const parked = this.parked;
    if (parked === null || this.disposed) return;
    this.parked = null;
    this.optimizer = createOptimizer(this.optimizerName, this.rate);
    if (this.optimizerName === 'qgm') this.quasiGlobal = new QuasiGlobalMomentum(this.variables, this.rate);
    if (parked.fresh) return;
    if (parked.slots.length > 0) {
      const tensors = parked.slots.map((s) => ({ name: s.name, tensor: tf.tensor(s.values, s.shape, 'float32') }));
      await this.optimizer.setWeights(tensors);
      // setWeights made its own variables from these.
      for (const t of tensors) t.tensor.dispose();
    }
    if (parked.quasiGlobal !== null) this.quasiGlobal!.restore(parked.quasiGlobal);
  }

  /** Optimizer steps applied so far (the model's age). */
  get age(): number {
    return this.stepsApplied;
  }

  get samplesSeen(): number {
    return this.samplesTrained;
  }

  /** Full passes over the local split completed. */
  get epoch(): number {
    return this.epochIndex;
  }

  /** Batches in one pass over the local split (the last one may be smaller). */
  get stepsPerEpoch(): number {
    return Math.ceil(this.train.count / this.batchSize);
  }

  /** Sets the counters, e.g. from a checkpoint or after adopting a peer's model. */
  restoreCounters(counters: { age: number; samplesSeen: number }): void {
    if (!(counters.age >= 0) || !(counters.samplesSeen >= 0)) throw new TrainerError('bad-options', `counters must be non-negative, got age ${counters.age}, samplesSeen ${counters.samplesSeen}`);
    this.stepsApplied = counters.age;
    this.samplesTrained = counters.samplesSeen;
  }

  private shuffle(): void {
    shuffleInPlace(this.order, createRandom(deriveSeed(this.seed, 'trainer-epoch', this.epochIndex)));
  }

  /** One synchronous optimizer step on the next batch; returns its loss and size. */
  private step(): { loss: number; samples: number } {
    const rows = Math.min(this.batchSize, this.train.count - this.cursor);
    const F = this.featureCount;
    for (let i = 0; i < rows; i++) {
      const row = this.order[this.cursor + i]!;
      this.batchX.set(this.train.x.subarray(row * F, (row + 1) * F), i * F);
      this.batchY[i] = this.train.y[row]!;
    }
    const loss = tf.tidy(() => {
      const x = tf.tensor2d(this.batchX.subarray(0, rows * F), [rows, F]);
      const y = tf.oneHot(tf.tensor1d(this.batchY.subarray(0, rows), 'int32'), this.numClasses);
      const lossOf = (): tf.Scalar => tf.losses.softmaxCrossEntropy(y, this.model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
      if (this.quasiGlobal !== null) {
        const { value, grads } = tf.variableGrads(lossOf, this.variables);
        const directions = this.quasiGlobal.direction(this.variables, this.variables.map((v) => grads[v.name]!));
        this.optimizer.applyGradients(Object.fromEntries(this.variables.map((v, i) => [v.name, directions[i]!])));
        this.quasiGlobal.stepped(this.variables);
        // Kept past the inner tidy (tf.keep holds against every enclosing tidy): freed here.
        tf.dispose(directions);
        return value.dataSync()[0]!;
      }
      const value = this.optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(y, this.model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        true,
        this.variables,
      );
      return value!.dataSync()[0]!;
    });
    this.cursor += rows;
    if (this.cursor >= this.train.count) {
      this.cursor = 0;
      this.epochIndex++;
      this.shuffle();
    }
    this.stepsApplied++;
    this.samplesTrained += rows;
    return { loss, samples: rows };
  }

  /**
   * Runs up to `steps` batches, yielding to the event loop between them.
   * Stops early (without throwing) when `signal` aborts, or when
   * `maxSliceMs` of wall time has passed since the call began; a time
   * budget still runs at least one step, so a paced caller always makes
   * progress (pass steps = 0 for none). `around`, when given, runs each
   * step (synchronous) and must return what it returns: the daemon measures
   * each step's time and CPU time with it.
   */
  async trainSteps(
    steps: number,
    opts: { signal?: AbortSignal; maxSliceMs?: number; around?: <T>(step: () => T) => T } = {},
  ): Promise<TrainStepsResult> {
    if (this.disposed) throw new TrainerError('bad-options', 'trainer is disposed');
    if (this.parked !== null) throw new TrainerError('bad-options', 'trainer is parked: unpark() it first');
    const started = performance.now();
    let done = 0;
    let samples = 0;
    let lossSum = 0;
    let computeMs = 0;
    while (done < steps) {
      if (opts.signal?.aborted) break;
      if (opts.maxSliceMs !== undefined && done > 0 && performance.now() - started >= opts.maxSliceMs) break;
      const t0 = performance.now();
      const result = opts.around === undefined ? this.step() : opts.around(() => this.step());
      computeMs += performance.now() - t0;
      done++;
      samples += result.samples;
      lossSum += result.loss;
      if (done < steps) await yieldToEventLoop();
    }
    return {
      steps: done,
      samples,
      loss: done > 0 ? lossSum / done : Number.NaN,
      samplesPerSecond: computeMs > 0 ? (samples * 1000) / computeMs : 0,
    };
  }

  /** Accuracy and mean loss on a whole split (use the full test split). */
  evaluate(split: Split, batchSize = EVAL_BATCH_SIZE): Evaluation {
    return evaluateModel(this.model, split, this.featureCount, this.numClasses, batchSize);
  }

  /** Frees the optimizer's state (the model belongs to the caller). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.parked !== null) return;
    this.quasiGlobal?.dispose();
    disposeOptimizer(this.optimizer);
  }
}

function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  // tfjs 4.22: MomentumOptimizer.dispose() forgets the learning-rate scalar its SGD base keeps.
  const learningRateScalar = (optimizer as unknown as { c?: tf.Tensor }).c;
  if (optimizer instanceof tf.MomentumOptimizer && learningRateScalar !== undefined && !learningRateScalar.isDisposed) learningRateScalar.dispose();
}

/** Accuracy and mean softmax cross-entropy of `model` (logits output) on a split. */
export function evaluateModel(model: tf.LayersModel, split: Split, featureCount: number, numClasses: number, batchSize = EVAL_BATCH_SIZE): Evaluation {
  if (split.count === 0) return { accuracy: Number.NaN, loss: Number.NaN };
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < split.count; start += batchSize) {
    const part = evaluateRows(model, split, featureCount, numClasses, start, Math.min(split.count, start + batchSize));
    lossSum += part.lossSum;
    correct += part.correct;
  }
  return { accuracy: correct / split.count, loss: lossSum / split.count };
}
