/**
 * Coordinate-wise robust statistics over a few parameter vectors (the local
 * model and a window of recent peer estimates): the trimmed mean and the
 * median (Yin, Chen, Ramchandran and Bartlett 2018, "Byzantine-robust
 * distributed learning: towards optimal statistical rates"). Pure loops over
 * Float32Array; n is small (<= 10), so each coordinate is sorted by insertion
 * in a scratch array.
 *
 *   trimmedMean(out, [a, b, c, d, e], 1)   // per coordinate: drop the lowest and highest, average the 3 left
 *   coordinateMedian(out, [a, b, c, d])    // per coordinate: mean of the two middle values
 */
import { MergeError } from '../merge.ts';

/**
 * Per coordinate, drops the `trimPerSide` smallest and largest values and
 * averages the rest into `out`. Throws MergeError('bad-weights') for no
 * vectors, a length differing from `out`'s, or a trim that leaves nothing.
 */
export function trimmedMean(out: Float32Array, vectors: readonly Float32Array[], trimPerSide: number): Float32Array {
  const n = vectors.length;
  if (n === 0) throw new MergeError('bad-weights', 'trimmed mean of no vectors');
  if (!(Number.isSafeInteger(trimPerSide) && trimPerSide >= 0 && 2 * trimPerSide < n)) throw new MergeError('bad-weights', `cannot trim ${trimPerSide} per side of ${n} values`);
  for (const v of vectors) if (v.length !== out.length) throw new MergeError('bad-weights', `vector length ${v.length} differs from output length ${out.length}`);
  const scratch = new Float64Array(n);
  const kept = n - 2 * trimPerSide;
  for (let i = 0; i < out.length; i++) {
    for (let k = 0; k < n; k++) {
      const x = vectors[k]![i]!;
      let j = k - 1;
      while (j >= 0 && scratch[j]! > x) {
        scratch[j + 1] = scratch[j]!;
        j--;
      }
      scratch[j + 1] = x;
    }
    let sum = 0;
    for (let k = trimPerSide; k < n - trimPerSide; k++) sum += scratch[k]!;
    out[i] = sum / kept;
  }
  return out;
}

/** Coordinate-wise median into `out` (the mean of the two middle values for an even count). Same errors as trimmedMean. */
export function coordinateMedian(out: Float32Array, vectors: readonly Float32Array[]): Float32Array {
  return trimmedMean(out, vectors, Math.floor((vectors.length - 1) / 2));
}
