/**
 * What the model registry (../models.ts) and every model builder in this
 * folder share: the registry names, the build options, the registry's error
 * class and the seeded initializer. It lives apart from the registry so a
 * builder never imports its parent (the registry imports every builder).
 *
 *   export function buildCnn(opts: ModelOptions): tf.LayersModel {
 *     ... kernelInitializer: seededKernelInitializer(opts.seed, 'cnn_conv1') ...
 *   }
 */
import * as tf from '@tensorflow/tfjs';
import { GossipLearnError } from '../../common/errors.ts';
import { deriveSeed } from '../random.ts';

/** Registry names (a contract: peers name a model, never send a layer graph). */
export const modelNames = ['mlp', 'mlp-small', 'cnn'] as const;
export type ModelName = (typeof modelNames)[number];

export function isModelName(s: string): s is ModelName {
  return (modelNames as readonly string[]).includes(s);
}

export interface ModelOptions {
  featureCount: number;
  /** [height, width, channels] for image data, null for tabular data. */
  imageShape: [number, number, number] | null;
  numClasses: number;
  /** Seeds every initializer: same seed, same initial weights. */
  seed: number;
}

export type ModelBuilder = (opts: ModelOptions) => tf.LayersModel;

export type ModelErrorReason = 'unknown-model' | 'unavailable' | 'bad-options' | 'missing-file' | 'bad-model-file' | 'custom-layer';

export class ModelError extends GossipLearnError<ModelErrorReason> {
  override readonly name = 'ModelError';
}

/** Seeded Glorot-uniform, one distinct stream per layer. */
export function seededKernelInitializer(seed: number, layerName: string): ReturnType<typeof tf.initializers.glorotUniform> {
  return tf.initializers.glorotUniform({ seed: deriveSeed(seed, 'init', layerName) });
}
