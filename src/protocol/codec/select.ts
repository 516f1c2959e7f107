/**
 * Top-k selection by magnitude without sorting the whole vector:
 * quickselect (Hoare partition, median-of-three pivot, expected O(n)) on a
 * scratch copy of the magnitudes finds the k-th largest magnitude T; one
 * scan then takes every index with |v| > T and, in index order, as many
 * |v| == T as needed to reach exactly k. The result is sorted ascending,
 * which is what the index coding wants.
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

/** Indices (ascending) of the k largest |values|; ties broken by lower index. */
export function topkIndices(values: Float32Array, k: number): Uint32Array {
  const n = values.length;
  if (k >= n) {
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return all;
  }
  if (k <= 0) return new Uint32Array(0);
  const magnitudes = new Float32Array(n);
  for (let i = 0; i < n; i++) magnitudes[i] = Math.abs(values[i]!);
  const threshold = quickselect(magnitudes, n - k);
  let above = 0;
  for (let i = 0; i < n; i++) if (Math.abs(values[i]!) > threshold) above++;
  let tiesWanted = k - above;
  const out = new Uint32Array(k);
  let o = 0;
  for (let i = 0; i < n && o < k; i++) {
    const a = Math.abs(values[i]!);
    if (a > threshold) out[o++] = i;
    else if (a === threshold && tiesWanted > 0) {
      out[o++] = i;
      tiesWanted--;
    }
  }
  return out;
}
