/**
 * A model's parameters as one flat Float32Array, in `model.getWeights()`
 * order (trainable first, then non-trainable), and back. This is the view
 * merge rules, codecs and checkpoints work on.
 *
 *   const flat = getFlatParams(model);   // a copy; the model keeps training
 *   setFlatParams(model, merged);        // throws on a wrong length
 */
import * as tf from '@tensorflow/tfjs';
import { GossipLearnError } from '../common/errors.ts';

/** A flat parameter vector whose length is not the model's parameter count. */
export class ParamsError extends GossipLearnError<'wrong-length'> {
  override readonly name = 'ParamsError';
  constructor(message: string) {
    super('wrong-length', message);
  }
}

export function paramCount(model: tf.LayersModel): number {
  let total = 0;
  for (const w of model.getWeights()) total += w.size;
  return total;
}

/** Copies every weight into one new Float32Array. */
export function getFlatParams(model: tf.LayersModel): Float32Array {
  const flat = new Float32Array(paramCount(model));
  let offset = 0;
  // getWeights returns the variables' own tensors (no copies): never dispose them.
  for (const tensor of model.getWeights()) {
    const values = tensor.dataSync() as Float32Array;
    flat.set(values, offset);
    offset += values.length;
  }
  return flat;
}

/** Overwrites every weight from `flat` (copied; the caller may reuse it). */
export function setFlatParams(model: tf.LayersModel, flat: Float32Array): void {
  const expected = paramCount(model);
  if (flat.length !== expected) throw new ParamsError(`flat parameter vector has ${flat.length} values, model needs ${expected}`);
  const shapes = model.getWeights().map((w) => w.shape);
  tf.tidy(() => {
    let offset = 0;
    const tensors = shapes.map((shape) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const t = tf.tensor(flat.slice(offset, offset + size), shape, 'float32');
      offset += size;
      return t;
    });
    // Variables keep their own reference to the new data; tidy frees ours.
    model.setWeights(tensors);
  });
}
