/**
 * Magnitude pruning (Han, Pool, Tran and Dally 2015, "Learning both Weights
 * and Connections for Efficient Neural Networks", the first stage of Deep
 * Compression, Han, Mao and Dally 2016): in every weight matrix and
 * convolution kernel, the given fraction of weights with the smallest
 * absolute value is set to zero. Biases stay (they are a fraction of a
 * percent of the parameters). Optionally the model is then fine-tuned on
 * local data with the mask fixed (the zeros stay zero), which recovers most
 * of the accuracy pruning cost.
 *
 *   const masks = pruneModel(model, 0.8);              // 80% of each kernel is now zero
 *   await fineTuneMasked(trainer, masks, 200);          // 200 steps, pruned weights kept at zero
 */
import * as tf from '@tensorflow/tfjs';
import { GossipLearnError } from '../../common/errors.ts';
import type { Trainer } from '../trainer.ts';

export class PruningError extends GossipLearnError<'bad-fraction'> {
  override readonly name = 'PruningError';
}

/** Whether a weight tensor of this shape is pruned: matrices and kernels (rank >= 2), not biases. */
export function isPrunable(shape: readonly number[]): boolean {
  return shape.length >= 2;
}

/**
 * The keep-mask (1 keep, 0 pruned) that zeroes floor(fraction * n) values of
 * smallest magnitude; ties go to the lower index, so the mask is deterministic.
 * Throws PruningError('bad-fraction') unless 0 <= fraction < 1.
 */
export function magnitudePruneMask(values: Float32Array, fraction: number): Uint8Array {
  checkFraction(fraction);
  const mask = new Uint8Array(values.length).fill(1);
  const prune = Math.floor(fraction * values.length);
  if (prune === 0) return mask;
  const order = Int32Array.from(values.keys()).sort((a, b) => Math.abs(values[a]!) - Math.abs(values[b]!) || a - b);
  for (let i = 0; i < prune; i++) mask[order[i]!] = 0;
  return mask;
}

function checkFraction(fraction: number): void {
  if (!(fraction >= 0 && fraction < 1)) throw new PruningError('bad-fraction', `prune fraction must be in [0, 1), got ${fraction}`);
}

/** One mask per entry of `model.getWeights()` (null: not pruned). */
export type PruneMasks = Array<Uint8Array | null>;

/** Prunes every prunable weight of `model` in place by magnitude; returns the masks. */
export function pruneModel(model: tf.LayersModel, fraction: number): PruneMasks {
  checkFraction(fraction);
  const masks = model.getWeights().map((w) => (isPrunable(w.shape) ? magnitudePruneMask(w.dataSync() as Float32Array, fraction) : null));
  applyMasks(model, masks);
  return masks;
}

/** Sets the weights the masks prune back to zero (after a training step moved them). */
export function applyMasks(model: tf.LayersModel, masks: PruneMasks): void {
  const weights = model.getWeights();
  tf.tidy(() => {
    model.setWeights(
      weights.map((w, i) => {
        const mask = masks[i];
        if (mask === null || mask === undefined) return w;
        const values = Float32Array.from(w.dataSync() as Float32Array);
        for (let j = 0; j < values.length; j++) if (mask[j] === 0) values[j] = 0;
        return tf.tensor(values, w.shape, 'float32');
      }),
    );
  });
}

/** Zeros over all masked tensors / their sizes: the pruned share of the prunable weights. */
export function prunedFraction(masks: PruneMasks): number {
  let zeros = 0;
  let total = 0;
  for (const mask of masks) {
    if (mask === null) continue;
    total += mask.length;
    for (const keep of mask) if (keep === 0) zeros++;
  }
  return total === 0 ? 0 : zeros / total;
}

/**
 * Fine-tunes the trainer's model for `steps` optimizer steps with the mask
 * fixed: after every step the pruned weights are set back to zero (a
 * projected gradient step). Resolves to the mean training loss (NaN for 0 steps).
 */
export async function fineTuneMasked(trainer: Trainer, masks: PruneMasks, steps: number, opts: { signal?: AbortSignal } = {}): Promise<number> {
  let lossSum = 0;
  let done = 0;
  while (done < steps && opts.signal?.aborted !== true) {
    const r = await trainer.trainSteps(1, opts.signal === undefined ? {} : { signal: opts.signal });
    if (r.steps === 0) break;
    applyMasks(trainer.model, masks);
    lossSum += r.loss;
    done++;
  }
  return done === 0 ? Number.NaN : lossSum / done;
}
