/**
 * The registry model `cnn`: a small convolutional network for image data
 * (28x28x1 Fashion-MNIST / MNIST), 20,490 parameters at those shapes, so a
 * full float32 snapshot is ~80 KB and far less quantized.
 *
 *   flat input -> reshape HxWxC -> conv 3x3x16 relu -> maxpool 2
 *              -> conv 3x3x32 relu -> maxpool 2 -> dense numClasses (logits)
 *
 * Trains on wasm through src/train/wasm-kernels (Conv2DBackpropFilter and the
 * faster Conv2DBackpropInput / MaxPoolGrad). Like every registry model it
 * outputs logits, names its layers (stable weight names and model hash) and
 * seeds every initializer per layer.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError, seededKernelInitializer, type ModelOptions } from './builder.ts';

const NAME = 'cnn';

export function buildCnn(opts: ModelOptions): tf.LayersModel {
  if (opts.imageShape === null) throw new ModelError('bad-options', 'cnn needs image data (an imageShape), not a flat table');
  const conv = (name: string, filters: number) =>
    tf.layers.conv2d({
      name: `${NAME}_${name}`,
      filters,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: seededKernelInitializer(opts.seed, `${NAME}_${name}`),
      biasInitializer: 'zeros',
    });
  const model = tf.sequential({ name: NAME });
  model.add(tf.layers.reshape({ name: `${NAME}_image`, inputShape: [opts.featureCount], targetShape: opts.imageShape }));
  model.add(conv('conv1', 16));
  model.add(tf.layers.maxPooling2d({ name: `${NAME}_pool1`, poolSize: 2, strides: 2 }));
  model.add(conv('conv2', 32));
  model.add(tf.layers.maxPooling2d({ name: `${NAME}_pool2`, poolSize: 2, strides: 2 }));
  model.add(tf.layers.flatten({ name: `${NAME}_flatten` }));
  model.add(
    tf.layers.dense({
      name: `${NAME}_logits`,
      units: opts.numClasses,
      activation: 'linear',
      kernelInitializer: seededKernelInitializer(opts.seed, `${NAME}_logits`),
      biasInitializer: 'zeros',
    }),
  );
  return model;
}
