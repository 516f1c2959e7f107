/**
 * Compact model storage for many simulated nodes: one Float32Array arena
 * holds every node's parameters (node i at [i * P, (i + 1) * P), P floats),
 * and ONE TensorFlow.js model serves all of them. A node's training slice
 * loads its parameters into the shared model and unparks its trainer's
 * optimizer state (src/train/trainer.ts park/unpark), trains, then writes the
 * parameters back and parks the optimizer again; an evaluation loads and
 * predicts. Between two of those no tensor belongs to any node, so memory
 * grows by P floats of parameters (plus the parked optimizer state and the
 * gossip sessions' replicas) per node, not by a tfjs model per node.
 *
 *   const shared = await SharedModel.create({ model: 'mlp-small', data, seed: 1, nodes: 1000 });   // or model: 'my-model/model.json'
 *   const trainer = shared.createTrainer({ train, batchSize: 32, learningRate: 0.05, optimizer: 'qgm', seed: 7 });
 *   const slot = shared.slotModel(3, trainer);            // node 3's LocalModelStore (the gossip core reads and writes it)
 *   const result = await shared.train(3, trainer, 5);     // 5 local steps on node 3's weights
 *   shared.evaluate(3, testSplit)                          // { accuracy, loss }
 *   shared.dispose();
 *
 * Events of the simulator never overlap (src/sim/virtual-clock.ts awaits
 * each), so the one model is never used by two nodes at once.
 *
 * The model is a --model spec built once as a daemon builds it
 * (src/train/model-spec.ts buildReplica); every slot starts from its
 * parameters: a model file's weights when it has them, else the seeded
 * initialization, the shared initial point of daemons with the same --seed.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset, Split } from '../train/dataset.ts';
import type { GuardedModel } from '../train/divergence-guard.ts';
import type { TrainingCounters } from '../train/merge.ts';
import type { ModelState } from '../train/model-state.ts';
import { buildReplica, type ModelReplica } from '../train/model-spec.ts';
import { getFlatParams, ParamsError, setFlatParams } from '../train/params.ts';
import { evaluateModel, Trainer, type Evaluation, type OptimizerName, type TrainStepsResult } from '../train/trainer.ts';

export interface SharedModelOptions {
  /** A --model spec: a registry name or `PATH/model.json`. */
  model: string;
  /** The data the model must fit (feature count, image shape, classes, schema for the hash). */
  data: Dataset;
  /** Seed of the common initialization every node starts from (as daemons started with the same --seed). */
  seed: number;
  /** Slots in the arena (nodes). */
  nodes: number;
}

export class SharedModel {
  readonly model: tf.LayersModel;
  /** The name nodes announce (`file:<hash>` for a model file). */
  readonly modelName: string;
  readonly modelHash: string;
  readonly paramCount: number;
  readonly featureCount: number;
  readonly numClasses: number;
  /** Every node's parameters, node after node. */
  readonly arena: Float32Array;
  private disposed = false;
  /** The rows `accuracy` last evaluated, as a tensor. */
  private rows: { split: Split; x: tf.Tensor2D } | null = null;

  /** Builds the model (ModelError, naming a model file that does not fit the data) and fills every slot with its parameters (RangeError when the arena would not fit in one typed array). */
  static async create(options: SharedModelOptions): Promise<SharedModel> {
    const replica = await buildReplica(options.model, options.data, options.seed);
    try {
      return new SharedModel(replica, options.data, options.nodes);
    } catch (err) {
      replica.model.dispose();
      throw err;
    }
  }

  private constructor(replica: ModelReplica, data: Dataset, nodes: number) {
    this.model = replica.model;
    this.modelName = replica.name;
    this.modelHash = replica.hash;
    this.paramCount = replica.paramCount;
    this.featureCount = data.featureCount;
    this.numClasses = data.numClasses;
    this.arena = new Float32Array(this.paramCount * nodes);
    const initial = getFlatParams(this.model);
    for (let i = 0; i < nodes; i++) this.arena.set(initial, i * this.paramCount);
  }

  /** Node `index`'s parameters: a view into the arena (writes go straight to the node's model). */
  slot(index: number): Float32Array {
    return this.arena.subarray(index * this.paramCount, (index + 1) * this.paramCount);
  }

  /**
   * A trainer for one node on the shared model, parked at once (its
   * optimizer state lives outside tfjs until `train` unparks it). Throws
   * TrainerError for bad options.
   */
  async createTrainer(options: { train: Split; batchSize: number; learningRate: number; optimizer: OptimizerName; seed: number }): Promise<Trainer> {
    const trainer = new Trainer({ model: this.model, featureCount: this.featureCount, numClasses: this.numClasses, ...options });
    await trainer.park();
    return trainer;
  }

  /** Node `index` as the gossip core and the divergence guard see it (src/train/divergence-guard.ts GuardedModel). */
  slotModel(index: number, trainer: Trainer): GuardedModel {
    const slot = this.slot(index);
    const { modelName, modelHash } = this;
    return {
      modelName,
      modelHash,
      trainer,
      read: (): ModelState => ({ params: slot.slice(), age: trainer.age, samplesSeen: trainer.samplesSeen }),
      write: (params: Float32Array, counters: TrainingCounters): void => {
        if (params.length !== slot.length) throw new ParamsError(`flat parameter vector has ${params.length} values, model needs ${slot.length}`);
        slot.set(params);
        trainer.restoreCounters(counters);
      },
    };
  }

  /** Runs `steps` local steps of node `index` (its weights and optimizer state swapped in, then out again). */
  async train(index: number, trainer: Trainer, steps: number): Promise<TrainStepsResult> {
    const slot = this.slot(index);
    setFlatParams(this.model, slot);
    await trainer.unpark();
    try {
      return await trainer.trainSteps(steps);
    } finally {
      slot.set(getFlatParams(this.model));
      await trainer.park();
    }
  }

  /** Accuracy and loss of node `index`'s model on `split` (src/train/trainer.ts evaluateModel). */
  evaluate(index: number, split: Split): Evaluation {
    setFlatParams(this.model, this.slot(index));
    return evaluateModel(this.model, split, this.featureCount, this.numClasses);
  }

  /**
   * Accuracy only (argmax of the logits against the labels) of node
   * `index`'s model on `split`: what a curve over many nodes needs, without
   * the loss. The split's rows stay in one tensor between calls (freed by
   * dispose or when another split comes).
   */
  accuracy(index: number, split: Split): number {
    if (split.count === 0) return Number.NaN;
    setFlatParams(this.model, this.slot(index));
    if (this.rows?.split !== split) {
      this.rows?.x.dispose();
      this.rows = { split, x: tf.tensor2d(split.x.subarray(0, split.count * this.featureCount), [split.count, this.featureCount]) };
    }
    const x = this.rows.x;
    const predicted = tf.tidy(() => (this.model.predict(x) as tf.Tensor2D).argMax(1).dataSync());
    let correct = 0;
    for (let i = 0; i < split.count; i++) if (predicted[i] === split.y[i]) correct += 1;
    return correct / split.count;
  }

  /** Frees the shared model's tensors (the trainers' state is parked: host memory only). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rows?.x.dispose();
    this.rows = null;
    this.model.dispose();
  }
}
