/**
 * The live local model as the rest of the daemon sees it: flat-parameter
 * snapshots for the exchange and checkpoints, and merges applied in place.
 * Every method is synchronous, so a merge always lands between two training
 * batches (the Trainer runs each batch as one synchronous tf step and yields
 * between batches).
 *
 *   const host = new ModelHost({ model, trainer, modelName: 'mlp', modelHash });
 *   host.local();                // { params, age, samplesSeen }
 *   host.merge(estimate);        // MergeResult
 */
import type * as tf from '@tensorflow/tfjs';
import { DEFAULT_MERGE_OPTIONS, mergePeer, type MergeOptions, type MergeResult } from '../train/merge.ts';
import { getFlatParams, setFlatParams } from '../train/params.ts';
import type { Trainer } from '../train/trainer.ts';
import type { LocalModel, PeerEstimate } from '../protocol/session.ts';
import type { ExchangeModel } from './exchange-service.ts';

export interface ModelHostOptions {
  model: tf.LayersModel;
  trainer: Trainer;
  modelName: string;
  modelHash: string;
  mergeOptions?: MergeOptions;
}

export class ModelHost implements ExchangeModel {
  readonly model: tf.LayersModel;
  readonly trainer: Trainer;
  readonly modelName: string;
  readonly modelHash: string;
  readonly paramCount: number;
  private readonly mergeOptions: MergeOptions;

  constructor(options: ModelHostOptions) {
    this.model = options.model;
    this.trainer = options.trainer;
    this.modelName = options.modelName;
    this.modelHash = options.modelHash;
    this.mergeOptions = options.mergeOptions ?? DEFAULT_MERGE_OPTIONS;
    this.paramCount = getFlatParams(this.model).length;
  }

  get age(): number {
    return this.trainer.age;
  }

  get samplesSeen(): number {
    return this.trainer.samplesSeen;
  }

  local(): LocalModel {
    return { params: getFlatParams(this.model), age: this.trainer.age, samplesSeen: this.trainer.samplesSeen };
  }

  merge(estimate: PeerEstimate): MergeResult {
    const params = getFlatParams(this.model);
    const self = { age: this.trainer.age, samplesSeen: this.trainer.samplesSeen };
    const result = mergePeer(params, { params: estimate.params, age: estimate.age, samplesSeen: estimate.samplesSeen }, self, this.mergeOptions);
    if (result.status === 'merged') {
      setFlatParams(this.model, params);
      this.trainer.restoreCounters(result.counters);
    }
    return result;
  }

  /** Replaces parameters and counters (checkpoint restore, distillation result). */
  restore(params: Float32Array, counters: { age: number; samplesSeen: number }): void {
    setFlatParams(this.model, params);
    this.trainer.restoreCounters(counters);
  }
}
