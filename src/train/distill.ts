/**
 * Knowledge distillation: a student model learns from a teacher model's
 * softened outputs on the student's own local data.
 *
 *   loss = T^2 * KL(softmax(teacher/T) || softmax(student/T)) + alpha * CE(labels, softmax(student))
 *
 * (Hinton et al. 2015: the T^2 factor keeps the soft-target gradients on the
 * same scale as the hard ones when T changes.) Teacher logits are computed
 * batch by batch, never for the whole data set at once, so memory stays
 * bounded whatever the local data size.
 *
 * Usage:
 *   const distiller = new Distiller({ teacher, student, train, featureCount, numClasses, seed: 1 });
 *   await distiller.distill({ steps: 200 });      // or { seconds: 10 }
 *   distiller.dispose();
 *
 * Registry models may end in a softmax; `logitsFunction` then takes the
 * pre-activation of the last dense layer (same variables, so gradients reach
 * the model) instead of taking log(softmax), which loses precision when a
 * probability underflows.
 */
import * as tf from '@tensorflow/tfjs';
import type { Split } from './dataset.ts';
import { createRandom, deriveSeed, shuffleInPlace, type Random } from './random.ts';
import { GossipLearnError } from '../common/errors.ts';

export type DistillOptimizerName = 'sgd' | 'momentum' | 'adam';

export type DistillErrorReason = 'bad-option' | 'shape-mismatch' | 'unsupported-output';

export class DistillError extends GossipLearnError<DistillErrorReason> {
  override readonly name = 'DistillError';
}

export interface DistillLossOptions {
  /** Softmax temperature T (> 0); higher shows more of the teacher's "dark knowledge". */
  temperature: number;
  /** Weight of the hard-label cross-entropy term (>= 0); 0 = pure distillation. */
  alpha: number;
}

export const DEFAULT_DISTILL_TEMPERATURE = 2;
export const DEFAULT_DISTILL_ALPHA = 0.5;

/**
 * The distillation loss, averaged over the batch. `labels` may be null
 * (pure distillation, whatever alpha says).
 */
export function distillationLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  labels: tf.Tensor1D | null,
  numClasses: number,
  options: DistillLossOptions,
): tf.Scalar {
  const { temperature, alpha } = options;
  return tf.tidy(() => {
    const kl = softKl(teacherLogits, studentLogits, temperature);
    let loss = tf.mul(kl, temperature * temperature) as tf.Scalar;
    if (labels !== null && alpha > 0) {
      const logProbs = tf.logSoftmax(studentLogits);
      const oneHot = tf.oneHot(labels, numClasses).toFloat();
      const ce = tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProbs), 1)));
      loss = tf.add(loss, tf.mul(ce, alpha)) as tf.Scalar;
    }
    return loss;
  });
}

/** Mean over the batch of KL(softmax(p/T) || softmax(q/T)) for logits p (teacher) and q (student). */
export function softKl(teacherLogits: tf.Tensor2D, studentLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const teacherLog = tf.logSoftmax(tf.div(teacherLogits, temperature));
    const studentLog = tf.logSoftmax(tf.div(studentLogits, temperature));
    const teacherProb = tf.exp(teacherLog);
    return tf.mean(tf.sum(tf.mul(teacherProb, tf.sub(teacherLog, studentLog)), 1)) as tf.Scalar;
  });
}

type LogitsFunction = (x: tf.Tensor2D, training: boolean) => tf.Tensor2D;

interface VariableHolder {
  read(): tf.Variable;
}

/**
 * A function computing a model's logits. Models whose last layer is a dense
 * layer with a softmax activation (or a separate softmax activation layer)
 * get their pre-softmax output; models whose last layer is linear are used
 * as they are.
 */
export function logitsFunction(model: tf.LayersModel): LogitsFunction {
  const last = model.layers[model.layers.length - 1];
  if (last === undefined) throw new DistillError('unsupported-output', 'model has no layers');
  const config = last.getConfig() as { activation?: unknown };
  const activation = typeof config.activation === 'string' ? config.activation : 'linear';
  if (activation === 'linear') {
    return (x, training) => model.apply(x, { training }) as tf.Tensor2D;
  }
  if (activation !== 'softmax') {
    throw new DistillError('unsupported-output', `last layer activation ${activation} is neither softmax nor linear`);
  }
  // The sub-model shares the original layers (and their variables).
  const body = tf.model({ inputs: model.inputs, outputs: last.input as tf.SymbolicTensor });
  if (last.getClassName() === 'Activation') {
    return (x, training) => body.apply(x, { training }) as tf.Tensor2D;
  }
  if (last.getClassName() !== 'Dense') {
    throw new DistillError('unsupported-output', `cannot take logits before a softmax in a ${last.getClassName()} layer`);
  }
  const [kernel, bias] = last.weights as unknown as VariableHolder[];
  if (kernel === undefined) throw new DistillError('unsupported-output', 'dense layer without kernel');
  return (x, training) => {
    const hidden = body.apply(x, { training }) as tf.Tensor2D;
    const product = tf.matMul(hidden, kernel.read() as tf.Tensor2D);
    return (bias === undefined ? product : tf.add(product, bias.read())) as tf.Tensor2D;
  };
}

export interface DistillerOptions {
  teacher: tf.LayersModel;
  student: tf.LayersModel;
  /** The joiner's local data (its own partition). */
  train: Split;
  featureCount: number;
  numClasses: number;
  batchSize?: number;
  learningRate?: number;
  optimizer?: DistillOptimizerName;
  temperature?: number;
  alpha?: number;
  seed: number;
}

export interface DistillBudget {
  steps?: number;
  seconds?: number;
}

export interface DistillResult {
  steps: number;
  samples: number;
  /** Mean loss over the steps run (NaN when none ran). */
  loss: number;
  seconds: number;
}

export interface DistillRunOptions {
  signal?: AbortSignal;
  /** Called after every batch (between batches, never inside a tf step). */
  onStep?: (stepsDone: number) => void | boolean;
}

function createDistillOptimizer(name: DistillOptimizerName, learningRate: number): tf.Optimizer {
  switch (name) {
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, 0.9);
    case 'adam':
      return tf.train.adam(learningRate);
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Trains a student toward a teacher on local data, one synchronous tf step
 * per batch, yielding to the event loop between batches (like the Trainer),
 * so network reads keep flowing while it runs.
 */
export class Distiller {
  readonly temperature: number;
  readonly alpha: number;
  readonly batchSize: number;
  private readonly teacherLogits: LogitsFunction;
  private readonly studentLogits: LogitsFunction;
  private readonly optimizer: tf.Optimizer;
  private readonly random: Random;
  private readonly options: DistillerOptions;
  private order: Int32Array;
  private cursor: number;
  /** Distillation steps applied so far (all runs). */
  stepsDone = 0;

  constructor(options: DistillerOptions) {
    const temperature = options.temperature ?? DEFAULT_DISTILL_TEMPERATURE;
    const alpha = options.alpha ?? DEFAULT_DISTILL_ALPHA;
    const batchSize = options.batchSize ?? 32;
    if (!(temperature > 0) || !Number.isFinite(temperature)) throw new DistillError('bad-option', `temperature must be > 0, got ${temperature}`);
    if (!(alpha >= 0) || !Number.isFinite(alpha)) throw new DistillError('bad-option', `alpha must be >= 0, got ${alpha}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new DistillError('bad-option', `batchSize must be a positive integer, got ${batchSize}`);
    if (options.train.count < 1) throw new DistillError('bad-option', 'no local data to distill on');
    const teacherOut = options.teacher.outputs[0]?.shape;
    const studentOut = options.student.outputs[0]?.shape;
    if (teacherOut?.[1] !== options.numClasses || studentOut?.[1] !== options.numClasses) {
      throw new DistillError('shape-mismatch', `teacher outputs ${teacherOut?.[1]}, student ${studentOut?.[1]}, expected ${options.numClasses} classes`);
    }
    this.options = options;
    this.temperature = temperature;
    this.alpha = alpha;
    this.batchSize = batchSize;
    this.teacherLogits = logitsFunction(options.teacher);
    this.studentLogits = logitsFunction(options.student);
    this.optimizer = createDistillOptimizer(options.optimizer ?? 'adam', options.learningRate ?? 1e-3);
    this.random = createRandom(deriveSeed(options.seed, 'distill-batches'));
    this.order = new Int32Array(options.train.count);
    this.cursor = options.train.count; // forces a shuffle on the first batch
  }

  private nextBatchIndices(): Int32Array {
    const count = this.options.train.count;
    const size = Math.min(this.batchSize, count);
    const batch = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      if (this.cursor >= count) {
        for (let j = 0; j < count; j++) this.order[j] = j;
        shuffleInPlace(this.order, this.random);
        this.cursor = 0;
      }
      batch[i] = this.order[this.cursor++]!;
    }
    return batch;
  }

  private gather(split: Split, indices: Int32Array): { x: Float32Array; y: Int32Array } {
    const features = this.options.featureCount;
    const x = new Float32Array(indices.length * features);
    const y = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const row = indices[i]!;
      x.set(split.x.subarray(row * features, (row + 1) * features), i * features);
      y[i] = split.y[row]!;
    }
    return { x, y };
  }

  /** One synchronous distillation step on the next batch; returns its loss. */
  step(): number {
    const { x, y } = this.gather(this.options.train, this.nextBatchIndices());
    const varList = this.options.student.trainableWeights.map((w) => (w as unknown as VariableHolder).read());
    const loss = tf.tidy(() => {
      const input = tf.tensor2d(x, [y.length, this.options.featureCount]);
      const labels = tf.tensor1d(y, 'int32');
      // Outside the optimizer's tape: the teacher's variables get no gradient.
      const teacher = this.teacherLogits(input, false);
      const cost = this.optimizer.minimize(
        () => distillationLoss(this.studentLogits(input, true), teacher, labels, this.options.numClasses, { temperature: this.temperature, alpha: this.alpha }),
        true,
        varList,
      );
      return cost === null ? Number.NaN : cost.dataSync()[0]!;
    });
    this.stepsDone++;
    return loss;
  }

  /** Runs steps until the budget (steps and/or seconds, whichever ends first) is spent. */
  async distill(budget: DistillBudget, options: DistillRunOptions = {}): Promise<DistillResult> {
    const maxSteps = budget.steps ?? Number.POSITIVE_INFINITY;
    const maxMs = budget.seconds === undefined ? Number.POSITIVE_INFINITY : budget.seconds * 1000;
    if (maxSteps === Number.POSITIVE_INFINITY && maxMs === Number.POSITIVE_INFINITY) {
      throw new DistillError('bad-option', 'a distillation budget needs steps or seconds');
    }
    const started = performance.now();
    let steps = 0;
    let lossSum = 0;
    while (steps < maxSteps && performance.now() - started < maxMs && options.signal?.aborted !== true) {
      lossSum += this.step();
      steps++;
      if (options.onStep?.(this.stepsDone) === false) break;
      await yieldToEventLoop();
    }
    return {
      steps,
      samples: steps * Math.min(this.batchSize, this.options.train.count),
      loss: steps === 0 ? Number.NaN : lossSum / steps,
      seconds: (performance.now() - started) / 1000,
    };
  }

  /** Mean KL(teacher || student) at the distillation temperature over a split. */
  klToTeacher(split: Split, batchSize = 256): number {
    let total = 0;
    for (let start = 0; start < split.count; start += batchSize) {
      const size = Math.min(batchSize, split.count - start);
      const indices = new Int32Array(size);
      for (let i = 0; i < size; i++) indices[i] = start + i;
      const { x } = this.gather(split, indices);
      total += tf.tidy(() => {
        const input = tf.tensor2d(x, [size, this.options.featureCount]);
        const kl = softKl(this.teacherLogits(input, false), this.studentLogits(input, false), this.temperature);
        return kl.dataSync()[0]! * size;
      });
    }
    return split.count === 0 ? Number.NaN : total / split.count;
  }

  /** Frees the optimizer state (the models belong to the caller). */
  dispose(): void {
    this.optimizer.dispose();
  }
}
