/**
 * Rows of floats and their labels in typed arrays that double as rows
 * arrive: no per-row objects or boxed numbers, so a loader's memory is
 * about 4 bytes per value (up to twice that while growing).
 *
 *   const rows = new GrowingRows(4);
 *   rows.push([5.1, 3.5, 1.4, 0.2], 0);
 *   rows.x.subarray(0, rows.count * 4)
 */
import type { Split } from './types.ts';

/** Float32/Int32 storage for rows of `width` values; read `x`/`y` up to `count` rows. */
export class GrowingRows {
  x: Float32Array;
  y: Int32Array;
  count = 0;
  readonly width: number;
  constructor(width: number) {
    this.width = width;
    this.x = new Float32Array(1024 * width);
    this.y = new Int32Array(1024);
  }
  push(features: ArrayLike<number>, label: number): void {
    if (this.count === this.y.length) {
      const x = new Float32Array(this.x.length * 2);
      x.set(this.x);
      this.x = x;
      const y = new Int32Array(this.y.length * 2);
      y.set(this.y);
      this.y = y;
    }
    this.x.set(features, this.count * this.width);
    this.y[this.count++] = label;
  }
  /** The rows so far as a split (views, no copy). */
  split(): Split {
    return { x: this.x.subarray(0, this.count * this.width), y: this.y.subarray(0, this.count), count: this.count };
  }
}

