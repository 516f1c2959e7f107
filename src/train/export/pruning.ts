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
 *   await pruneGradually(trainer, { fraction: 0.8, stages: 10, steps: 2000, scope: 'global' }); // Zhu and Gupta 2017
 *
 * Gradual pruning (Zhu and Gupta 2017, "To prune, or not to prune: exploring
 * the efficacy of pruning for model compression"; the iterative pruning of
 * Han et al. 2015) reaches the final sparsity in `stages` steps along a cubic
 * schedule, s_k = s_f (1 - (1 - k/K)^3), with fine-tuning between them, so
 * the network adapts while little is removed at a time. Scope `layer` prunes
 * the fraction of every kernel; scope `global` sets one magnitude threshold
 * over all kernels, so a layer whose weights are larger (a first convolution,
 * whose fan-in is small) keeps more of them and a wide dense layer gives more.
 */
import * as tf from '@tensorflow/tfjs';
import { GossipLearnError } from '../../common/errors.ts';
import type { Trainer } from '../trainer.ts';

export class PruningError extends GossipLearnError<'bad-fraction' | 'bad-schedule'> {
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

/** `layer`: the fraction of every kernel; `global`: the fraction of all kernels together, by one magnitude threshold. */
export type PruneScope = 'layer' | 'global';
export const PRUNE_SCOPES: readonly PruneScope[] = ['layer', 'global'];

/**
 * The keep-masks of a global magnitude pruning: floor(fraction * n) of the n
 * values of all `tensors` together, the smallest in magnitude, are pruned
 * (ties to the earlier tensor, then the lower index). Throws PruningError('bad-fraction').
 */
export function globalMagnitudePruneMasks(tensors: readonly Float32Array[], fraction: number): Uint8Array[] {
  checkFraction(fraction);
  const all = new Float32Array(tensors.reduce((n, t) => n + t.length, 0));
  let at = 0;
  for (const t of tensors) {
    all.set(t, at);
    at += t.length;
  }
  const flat = magnitudePruneMask(all, fraction);
  at = 0;
  return tensors.map((t) => {
    const mask = flat.slice(at, at + t.length);
    at += t.length;
    return mask;
  });
}

/**
 * Prunes every prunable weight of `model` in place by magnitude; returns the
 * masks. A weight `previous` pruned stays pruned (its zero is the smallest
 * magnitude, and the masks are combined), so a gradual schedule only adds zeros.
 */
export function pruneModel(model: tf.LayersModel, fraction: number, opts: { scope?: PruneScope; previous?: PruneMasks } = {}): PruneMasks {
  checkFraction(fraction);
  const weights = model.getWeights();
  const prunable = weights.map((w, i) => (isPrunable(w.shape) ? i : -1)).filter((i) => i >= 0);
  const values = prunable.map((i) => weights[i]!.dataSync() as Float32Array);
  const fresh = (opts.scope ?? 'layer') === 'global' ? globalMagnitudePruneMasks(values, fraction) : values.map((v) => magnitudePruneMask(v, fraction));
  const masks: PruneMasks = weights.map(() => null);
  prunable.forEach((wi, k) => {
    const mask = fresh[k]!;
    const before = opts.previous?.[wi];
    if (before != null) for (let j = 0; j < mask.length; j++) mask[j]! &= before[j]!;
    masks[wi] = mask;
  });
  applyMasks(model, masks);
  return masks;
}

/** Sparsity after stage k of K of the cubic schedule (Zhu and Gupta 2017, with s_i = 0): s_f (1 - (1 - k/K)^3). */
export function cubicSparsity(finalFraction: number, stage: number, stages: number): number {
  return finalFraction * (1 - (1 - stage / stages) ** 3);
}

export interface GradualPruningOptions {
  /** Final pruned fraction, 0 <= fraction < 1. */
  fraction: number;
  /** Pruning stages K >= 1 (1: one-shot pruning, then `steps` of fine-tuning). */
  stages: number;
  /** Fine-tuning steps in all; stage k (1..K) prunes at step (k - 1) * floor(steps / (K + 1)), so at least two intervals of recovery follow the last. */
  steps: number;
  scope?: PruneScope;
  signal?: AbortSignal;
}

/**
 * Prunes the trainer's model gradually: K stages along the cubic schedule
 * with fine-tuning (mask fixed) between and after them, `steps` in all.
 * Resolves to the final masks and the mean training loss of the steps
 * (NaN for 0 steps). Throws PruningError('bad-fraction'), and
 * PruningError('bad-schedule') when stages is not a positive integer or
 * K > 1 stages have fewer than K + 1 steps to spread over.
 */
export async function pruneGradually(trainer: Trainer, o: GradualPruningOptions): Promise<{ masks: PruneMasks; loss: number }> {
  checkFraction(o.fraction);
  if (!(Number.isInteger(o.stages) && o.stages >= 1)) throw new PruningError('bad-schedule', `pruning stages must be a positive integer, got ${o.stages}`);
  if (o.stages > 1 && o.steps < o.stages + 1) {
    throw new PruningError('bad-schedule', `${o.stages} pruning stages need at least ${o.stages + 1} fine-tuning steps to spread over, got ${o.steps}`);
  }
  const interval = o.stages === 1 ? 0 : Math.floor(o.steps / (o.stages + 1));
  const scope = o.scope ?? 'layer';
  let masks: PruneMasks = trainer.model.getWeights().map(() => null);
  let lossSum = 0;
  let done = 0;
  for (let k = 1; k <= o.stages; k++) {
    masks = pruneModel(trainer.model, k === o.stages ? o.fraction : cubicSparsity(o.fraction, k, o.stages), { scope, previous: masks });
    const until = k === o.stages ? o.steps : k * interval;
    const stepsNow = until - done;
    const loss = await fineTuneMasked(trainer, masks, stepsNow, o.signal === undefined ? {} : { signal: o.signal });
    if (stepsNow > 0 && Number.isFinite(loss)) lossSum += loss * stepsNow;
    done = until;
    if (o.signal?.aborted === true) break;
  }
  return { masks, loss: done === 0 ? Number.NaN : lossSum / done };
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
