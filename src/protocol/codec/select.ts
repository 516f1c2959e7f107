/**
 * Top-k selection by magnitude without sorting the whole vector:
 * quickselect (Hoare partition, median-of-three pivot, expected O(n)) finds
 * the k-th largest magnitude T; one scan then takes every index with
 * |v| > T and, in index order, as many |v| == T as needed to reach exactly
 * k. The result is sorted ascending, which is what the index coding wants.
 *
 * For large vectors and small k (the gossip case: 1% of 10^5..10^7) a
 * sample of 8192 magnitudes gives a threshold t0 a little below T; one pass
 * collects the candidates |v| >= t0 (about 2k of them, in index order) and
 * quickselect runs on those only. Exact, not approximate: if fewer than k
 * or more than a cap of candidates pass, it falls back to the full select.
 * The sample positions are fixed pseudo-random (no randomness needed).
 */

/** Rearranges `a` so that a[kth] holds the value it would have if `a` were sorted ascending. */
export function quickselect(a: Float32Array, kth: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >>> 1);
    // Median of three as pivot: robust on sorted and constant runs (common in deltas).
    let x = a[lo]!;
    let y = a[mid]!;
    let z = a[hi]!;
    if (x > y) [x, y] = [y, x];
    if (y > z) [y, z] = [z, y];
    if (x > y) [x, y] = [y, x];
    const pivot = y;
    let i = lo - 1;
    let j = hi + 1;
    for (;;) {
      do i++; while (a[i]! < pivot);
      do j--; while (a[j]! > pivot);
      if (i >= j) break;
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    // Hoare: [lo..j] <= pivot <= [j+1..hi]
    if (kth <= j) hi = j;
    else lo = j + 1;
  }
  return a[kth]!;
}

/** Below this many values the sampling shortcut is not worth it. */
const SAMPLED_SELECT_MIN_VALUES = 1 << 16;
const SELECT_SAMPLE_SIZE = 8192;

/** Indices (ascending) of the k largest |values|; ties broken by lower index. */
export function topkIndices(values: Float32Array, k: number): Uint32Array {
  const n = values.length;
  if (k >= n) {
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return all;
  }
  if (k <= 0) return new Uint32Array(0);
  if (n >= SAMPLED_SELECT_MIN_VALUES && k * 8 <= n) {
    const sampled = sampledTopk(values, k);
    if (sampled !== null) return sampled;
  }
  const magnitudes = new Float32Array(n);
  for (let i = 0; i < n; i++) magnitudes[i] = Math.abs(values[i]!);
  const threshold = quickselect(magnitudes, n - k);
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  return takeAboveThreshold(values, all, n, k, threshold);
}

/** From candidates (ascending indices), every |v| > threshold and the first ties, k in all. */
function takeAboveThreshold(values: Float32Array, candidates: Uint32Array, count: number, k: number, threshold: number): Uint32Array {
  let above = 0;
  for (let c = 0; c < count; c++) if (Math.abs(values[candidates[c]!]!) > threshold) above++;
  let tiesWanted = k - above;
  const out = new Uint32Array(k);
  let o = 0;
  for (let c = 0; c < count && o < k; c++) {
    const i = candidates[c]!;
    const a = Math.abs(values[i]!);
    if (a > threshold) out[o++] = i;
    else if (a === threshold && tiesWanted > 0) {
      out[o++] = i;
      tiesWanted--;
    }
  }
  return out;
}

function sampledTopk(values: Float32Array, k: number): Uint32Array | null {
  const n = values.length;
  const sample = new Float32Array(SELECT_SAMPLE_SIZE);
  const stride = n / SELECT_SAMPLE_SIZE;
  let h = 0x9e3779b9;
  for (let s = 0; s < SELECT_SAMPLE_SIZE; s++) {
    h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
    h ^= h >>> 13;
    const offset = ((h >>> 0) / 4294967296) * stride;
    sample[s] = Math.abs(values[Math.min(n - 1, Math.floor(s * stride + offset))]!);
  }
  // Aim for ~2k candidates: twice the sample's expected count above T, plus slack for small k.
  const wanted = Math.min(SELECT_SAMPLE_SIZE, Math.ceil((2 * k * SELECT_SAMPLE_SIZE) / n) + 16);
  const floorMagnitude = quickselect(sample, SELECT_SAMPLE_SIZE - wanted);
  const cap = 4 * k + 4096;
  const candidates = new Uint32Array(cap);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (Math.abs(values[i]!) >= floorMagnitude) {
      if (count === cap) return null; // too many (e.g. mass ties at the floor): do the full select
      candidates[count++] = i;
    }
  }
  if (count < k) return null;
  const magnitudes = new Float32Array(count);
  for (let c = 0; c < count; c++) magnitudes[c] = Math.abs(values[candidates[c]!]!);
  const threshold = quickselect(magnitudes, count - k);
  return takeAboveThreshold(values, candidates, count, k, threshold);
}
