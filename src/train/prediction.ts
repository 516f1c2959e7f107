/**
 * Predictions from a classifier that outputs logits (every registry model,
 * and every model `gossip-learn export` writes): class probabilities by
 * softmax, the label by argmax, and the class name when known. Shared by
 * `gossip-learn predict` and the daemon's `POST /predict`.
 *
 *   const logits = predictLogits(model, rows, count);           // count * numClasses floats
 *   const predictions = toPredictions(logits, count, classNames); // [{ label, className, probabilities }]
 */
import * as tf from '@tensorflow/tfjs';

export interface Prediction {
  /** Index of the most probable class (the lowest index on a tie). */
  label: number;
  /** classNames[label], or null when the classes have no names. */
  className: string | null;
  /** Softmax of the logits: numClasses values in [0, 1] summing to 1. */
  probabilities: number[];
}

/** Rows per forward pass when a caller hands over many rows (bounds the activations held at once). */
export const PREDICT_CHUNK_ROWS = 1024;

/**
 * The model's outputs for `count` flat rows (`count * featureCount` values,
 * featureCount = the model's flat input size), computed synchronously in
 * chunks of PREDICT_CHUNK_ROWS with every tensor freed. Synchronous on
 * purpose: in the daemon nothing (a training step, a merge) can change the
 * weights between the first and the last chunk, so one call sees one model.
 */
export function predictLogits(model: tf.LayersModel, rows: Float32Array, count: number): Float32Array {
  const featureCount = rows.length / Math.max(count, 1);
  const outputs: Float32Array[] = [];
  for (let start = 0; start < count; start += PREDICT_CHUNK_ROWS) {
    const n = Math.min(PREDICT_CHUNK_ROWS, count - start);
    // The tensor leaves tidy, not the array: tidy walks what it returns looking for tensors, a
    // typed array index by index (96 µs for a 38-row batch of 10 classes, measured under
    // `npm run bench:predict` with node --cpu-prof).
    const y = tf.tidy(() => model.predict(tf.tensor2d(rows.subarray(start * featureCount, (start + n) * featureCount), [n, featureCount])) as tf.Tensor);
    try {
      // A copy of our own (a backend may hand out its internal buffer).
      outputs.push(new Float32Array(y.dataSync()));
    } finally {
      y.dispose();
    }
  }
  if (outputs.length === 1) return outputs[0]!;
  const all = new Float32Array(outputs.reduce((s, o) => s + o.length, 0));
  let at = 0;
  for (const o of outputs) {
    all.set(o, at);
    at += o.length;
  }
  return all;
}

/** Softmax (max-subtracted, so large logits do not overflow), argmax and class name per row. */
export function toPredictions(logits: Float32Array, count: number, classNames: readonly string[] | null): Prediction[] {
  const numClasses = logits.length / Math.max(count, 1);
  const out: Prediction[] = [];
  for (let r = 0; r < count; r++) {
    const row = logits.subarray(r * numClasses, (r + 1) * numClasses);
    let label = 0;
    for (let k = 1; k < numClasses; k++) if (row[k]! > row[label]!) label = k;
    const max = row[label]!;
    let sum = 0;
    const probabilities = Array.from(row, (v) => {
      const e = Math.exp(v - max);
      sum += e;
      return e;
    });
    for (let k = 0; k < numClasses; k++) probabilities[k]! /= sum;
    out.push({ label, className: classNames?.[label] ?? null, probabilities });
  }
  return out;
}

/**
 * `JSON.stringify(toPredictions(logits, count, classNames))` for finite logits, the same text
 * character for character, written directly: no objects or arrays per row
 * (a third of the time for one row; `POST /predict` writes one per answer).
 */
export function predictionsJson(logits: Float32Array, count: number, classNames: readonly string[] | null): string {
  const numClasses = logits.length / Math.max(count, 1);
  const exps = new Float64Array(numClasses);
  let text = '[';
  for (let r = 0; r < count; r++) {
    const base = r * numClasses;
    let label = 0;
    for (let k = 1; k < numClasses; k++) if (logits[base + k]! > logits[base + label]!) label = k;
    const max = logits[base + label]!;
    let sum = 0;
    for (let k = 0; k < numClasses; k++) {
      const e = Math.exp(logits[base + k]! - max);
      exps[k] = e;
      sum += e;
    }
    text += `${r === 0 ? '' : ','}{"label":${label},"className":${JSON.stringify(classNames?.[label] ?? null)},"probabilities":[`;
    for (let k = 0; k < numClasses; k++) text += `${k === 0 ? '' : ','}${exps[k]! / sum}`;
    text += ']}';
  }
  return `${text}]`;
}

/** The flat input size a model takes ([null, F] -> F), or null when its input is not one flat row. */
export function flatInputSize(model: tf.LayersModel): number | null {
  const shape = model.inputs[0]?.shape;
  if (shape === undefined || shape.length !== 2 || typeof shape[1] !== 'number') return null;
  return shape[1];
}
