/**
 * The registry models `mlp` and `mlp-small`: dense ReLU layers then a linear
 * output (logits). Layer names are fixed so that weight names and the model
 * hash do not depend on how many models the process built before (tfjs
 * numbers unnamed layers globally).
 *
 *   buildMlp('mlp', [128], opts)   // 784-128-10 for MNIST shapes
 */
import * as tf from '@tensorflow/tfjs';
import { seededKernelInitializer, type ModelOptions } from './builder.ts';

export function buildMlp(name: string, hiddenUnits: number[], opts: ModelOptions): tf.LayersModel {
  const model = tf.sequential({ name });
  hiddenUnits.forEach((units, i) => {
    const layerName = `${name}_dense${i}`;
    model.add(
      tf.layers.dense({
        name: layerName,
        ...(i === 0 ? { inputShape: [opts.featureCount] } : {}),
        units,
        activation: 'relu',
        kernelInitializer: seededKernelInitializer(opts.seed, layerName),
        biasInitializer: 'zeros',
      }),
    );
  });
  const outName = `${name}_logits`;
  model.add(
    tf.layers.dense({
      name: outName,
      ...(hiddenUnits.length === 0 ? { inputShape: [opts.featureCount] } : {}),
      units: opts.numClasses,
      activation: 'linear',
      kernelInitializer: seededKernelInitializer(opts.seed, outName),
      biasInitializer: 'zeros',
    }),
  );
  return model;
}
