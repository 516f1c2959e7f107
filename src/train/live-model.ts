/**
 * The live local model: a tfjs model and its Trainer seen as flat parameters
 * plus training counters. The gossip core (src/core/gossip-node.ts) reads a
 * copy to encode and merge, and writes merged parameters back; checkpoints
 * and the distill join read and restore it. Every method is synchronous, so
 * a write always lands between two training batches (the Trainer runs each
 * batch as one synchronous tf step and yields between batches).
 *
 *   const live = new LiveModel({ model, trainer, modelName: 'mlp', modelHash });
 *   const local = live.read();             // { params (a copy), age, samplesSeen }
 *   live.write(merged, { age, samplesSeen });
 */
import type * as tf from '@tensorflow/tfjs';
import type { TrainingCounters } from './merge.ts';
import { getFlatParams, paramCount, setFlatParams } from './params.ts';
import type { Trainer } from './trainer.ts';
import type { LocalModelStore, ModelState } from './model-state.ts';

export type { LocalModelStore, ModelState } from './model-state.ts';

export interface LiveModelOptions {
  model: tf.LayersModel;
  trainer: Trainer;
  /** Registry name (src/train/models.ts). */
  modelName: string;
  /** Architecture hash (modelHash in src/train/models.ts). */
  modelHash: string;
}

export class LiveModel implements LocalModelStore {
  readonly model: tf.LayersModel;
  readonly trainer: Trainer;
  readonly modelName: string;
  readonly modelHash: string;
  readonly paramCount: number;

  constructor(options: LiveModelOptions) {
    this.model = options.model;
    this.trainer = options.trainer;
    this.modelName = options.modelName;
    this.modelHash = options.modelHash;
    this.paramCount = paramCount(this.model);
  }

  get age(): number {
    return this.trainer.age;
  }

  get samplesSeen(): number {
    return this.trainer.samplesSeen;
  }

  read(): ModelState {
    return { params: getFlatParams(this.model), age: this.trainer.age, samplesSeen: this.trainer.samplesSeen };
  }

  write(params: Float32Array, counters: TrainingCounters): void {
    setFlatParams(this.model, params);
    this.trainer.restoreCounters(counters);
  }

  /** Frees the model's and the trainer's tensors; the object is unusable afterwards. */
  dispose(): void {
    this.trainer.dispose();
    this.model.dispose();
  }
}
