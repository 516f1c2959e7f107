/**
 * im2col / col2im on NHWC data: the data movement that turns convolution
 * gradients into matrix products for the wasm BatchMatMul. These are plain
 * copies (and adds, for col2im); the arithmetic happens in wasm.
 *
 * Patch matrix: one row per output pixel (batch, outRow, outCol), columns
 * ordered (filterRow, filterCol, inChannel), i.e. the row-major order of a
 * [filterHeight, filterWidth, inChannels, ...] filter (or its transpose).
 */

/** The fields of tfjs's Conv2DInfo that patch extraction needs. */
export interface PatchGeometry {
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padInfo: { top: number; left: number };
}

export function patchLength(g: PatchGeometry): number {
  return g.filterHeight * g.filterWidth * g.inChannels;
}

/**
 * Fills `colsT` ([patchLength, batchCount * outHeight * outWidth]: the
 * TRANSPOSED patch matrix, one row per filter tap and channel) with the
 * patches of images batchStart .. batchStart+batchCount-1 of `x` (NHWC).
 * Out-of-image taps (padding) are zeros.
 *
 * Transposed because the wasm BatchMatMul (XNNPACK) repacks its right-hand
 * operand on every call: a fresh 2.5M-float patch matrix on the right cost
 * 23 ms against 5.5 ms on the left (measured, 32x14x14x16 input, 5x5 filter).
 */
export function im2colTransposed(x: Float32Array, colsT: Float32Array, g: PatchGeometry, batchStart: number, batchCount: number): void {
  // Geometry in locals: tfjs's Conv2DInfo is a large object, and reading its
  // fields inside the loops was measured several times slower.
  const { inHeight, inWidth, inChannels: channels, outHeight, outWidth, filterHeight, filterWidth } = g;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = g;
  const padTop = g.padInfo.top;
  const padLeft = g.padInfo.left;
  const rowStride = inWidth * channels;
  const imageStride = inHeight * rowStride;
  let out = 0;
  for (let fy = 0; fy < filterHeight; fy++) {
    for (let fx = 0; fx < filterWidth; fx++) {
      for (let c = 0; c < channels; c++) {
        for (let b = batchStart; b < batchStart + batchCount; b++) {
          const imageBase = b * imageStride + c;
          for (let oy = 0; oy < outHeight; oy++) {
            const iy = oy * strideHeight - padTop + fy * dilationHeight;
            if (iy < 0 || iy >= inHeight) {
              const end = out + outWidth;
              for (; out < end; out++) colsT[out] = 0;
              continue;
            }
            const rowBase = imageBase + iy * rowStride;
            let ix = fx * dilationWidth - padLeft;
            for (let ox = 0; ox < outWidth; ox++, ix += strideWidth) {
              colsT[out++] = ix >= 0 && ix < inWidth ? x[rowBase + ix * channels] : 0;
            }
          }
        }
      }
    }
  }
  if (out !== batchCount * outHeight * outWidth * patchLength(g)) throw new Error('im2colTransposed: size mismatch');
}

/**
 * col2im: adds every value of the patch matrix `cols`
 * ([batchCount * outHeight * outWidth, patchLength], the layout of
 * im2colTransposed's transpose) back onto the input position it was read
 * from, into `dx` (NHWC, zeroed by the caller).
 */
export function col2imAdd(cols: Float32Array, dx: Float32Array, g: PatchGeometry, batchStart: number, batchCount: number): void {
  const { inHeight, inWidth, inChannels: channels, outHeight, outWidth, filterHeight, filterWidth } = g;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = g;
  const padTop = g.padInfo.top;
  const padLeft = g.padInfo.left;
  const rowStride = inWidth * channels;
  const imageStride = inHeight * rowStride;
  const filterRowLength = filterWidth * channels;
  let src = 0;
  for (let b = batchStart; b < batchStart + batchCount; b++) {
    const imageBase = b * imageStride;
    for (let oy = 0; oy < outHeight; oy++) {
      const yOrigin = oy * strideHeight - padTop;
      for (let ox = 0; ox < outWidth; ox++) {
        const xOrigin = ox * strideWidth - padLeft;
        for (let fy = 0; fy < filterHeight; fy++) {
          const iy = yOrigin + fy * dilationHeight;
          if (iy < 0 || iy >= inHeight) {
            src += filterRowLength;
            continue;
          }
          const rowBase = imageBase + iy * rowStride;
          for (let fx = 0; fx < filterWidth; fx++) {
            const ix = xOrigin + fx * dilationWidth;
            if (ix >= 0 && ix < inWidth) {
              const dst = rowBase + ix * channels;
              for (let c = 0; c < channels; c++) dx[dst + c] += cols[src + c];
            }
            src += channels;
          }
        }
      }
    }
  }
}

/**
 * Bound on one patch matrix (floats): 4M floats = 16 MiB of wasm heap, so a
 * large batch is processed in chunks of images. Mutable for tests only.
 */
export const patchMemory = { maxFloats: 4 * 1024 * 1024 };

/** How many images go into one patch matrix so that it stays under maxFloats. */
export function imagesPerChunk(g: PatchGeometry, batchSize: number, maxFloats = patchMemory.maxFloats): number {
  const floatsPerImage = g.outHeight * g.outWidth * patchLength(g);
  return Math.max(1, Math.min(batchSize, Math.floor(maxFloats / Math.max(1, floatsPerImage))));
}
