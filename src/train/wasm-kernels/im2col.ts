/**
 * im2col / col2im on NHWC data: the data movement that turns convolution
 * gradients into matrix products for the wasm BatchMatMul. These are plain
 * copies (and adds, for col2im); the arithmetic happens in wasm.
 *
 * Patch matrix layout: one row per output pixel (batch, outRow, outCol),
 * columns ordered (filterRow, filterCol, inChannel), i.e. the row-major order
 * of a [filterHeight, filterWidth, inChannels, ...] filter.
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
 * Fills `cols` ([batchCount * outHeight * outWidth, patchLength]) with the
 * patches of images batchStart .. batchStart+batchCount-1 of `x` (NHWC).
 * Out-of-image taps (padding) are written as zeros.
 */
export function im2col(x: Float32Array, cols: Float32Array, g: PatchGeometry, batchStart: number, batchCount: number): void {
  const channels = g.inChannels;
  const rowStride = g.inWidth * channels;
  const imageStride = g.inHeight * rowStride;
  const patch = patchLength(g);
  let out = 0;
  for (let b = batchStart; b < batchStart + batchCount; b++) {
    const imageBase = b * imageStride;
    for (let oy = 0; oy < g.outHeight; oy++) {
      const yOrigin = oy * g.strideHeight - g.padInfo.top;
      for (let ox = 0; ox < g.outWidth; ox++) {
        const xOrigin = ox * g.strideWidth - g.padInfo.left;
        for (let fy = 0; fy < g.filterHeight; fy++) {
          const iy = yOrigin + fy * g.dilationHeight;
          if (iy < 0 || iy >= g.inHeight) {
            cols.fill(0, out, out + g.filterWidth * channels);
            out += g.filterWidth * channels;
            continue;
          }
          const rowBase = imageBase + iy * rowStride;
          for (let fx = 0; fx < g.filterWidth; fx++) {
            const ix = xOrigin + fx * g.dilationWidth;
            if (ix < 0 || ix >= g.inWidth) {
              cols.fill(0, out, out + channels);
            } else if (channels === 1) {
              cols[out] = x[rowBase + ix];
            } else {
              const src = rowBase + ix * channels;
              cols.set(x.subarray(src, src + channels), out);
            }
            out += channels;
          }
        }
      }
    }
  }
  if (out !== batchCount * g.outHeight * g.outWidth * patch) throw new Error('im2col: size mismatch');
}

/**
 * The adjoint of im2col: adds every patch value of `cols` back onto the input
 * position it was read from, into `dx` (NHWC, zeroed by the caller).
 */
export function col2imAdd(cols: Float32Array, dx: Float32Array, g: PatchGeometry, batchStart: number, batchCount: number): void {
  const channels = g.inChannels;
  const rowStride = g.inWidth * channels;
  const imageStride = g.inHeight * rowStride;
  let src = 0;
  for (let b = batchStart; b < batchStart + batchCount; b++) {
    const imageBase = b * imageStride;
    for (let oy = 0; oy < g.outHeight; oy++) {
      const yOrigin = oy * g.strideHeight - g.padInfo.top;
      for (let ox = 0; ox < g.outWidth; ox++) {
        const xOrigin = ox * g.strideWidth - g.padInfo.left;
        for (let fy = 0; fy < g.filterHeight; fy++) {
          const iy = yOrigin + fy * g.dilationHeight;
          if (iy < 0 || iy >= g.inHeight) {
            src += g.filterWidth * channels;
            continue;
          }
          const rowBase = imageBase + iy * rowStride;
          for (let fx = 0; fx < g.filterWidth; fx++) {
            const ix = xOrigin + fx * g.dilationWidth;
            if (ix >= 0 && ix < g.inWidth) {
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
 * Channel-major patches for depthwise convolution: `cols` is
 * [inChannels, batchCount * outHeight * outWidth, filterHeight * filterWidth],
 * so that each channel is one matrix of a batched BatchMatMul (no transpose
 * of the patch matrix needed, which costs more than writing it this way).
 */
export function im2colByChannel(x: Float32Array, cols: Float32Array, g: PatchGeometry, batchStart: number, batchCount: number): void {
  forEachTap(g, batchStart, batchCount, (src, dst) => {
    cols[dst] = src < 0 ? 0 : x[src];
  });
}

/** The adjoint of im2colByChannel: adds channel-major patches back into `dx` (NHWC, zeroed). */
export function col2imAddByChannel(cols: Float32Array, dx: Float32Array, g: PatchGeometry, batchStart: number, batchCount: number): void {
  forEachTap(g, batchStart, batchCount, (src, dst) => {
    if (src >= 0) dx[src] += cols[dst];
  });
}

/**
 * Visits every (channel, output pixel, filter tap): `src` is the NHWC index
 * read in x (-1 in the padding), `dst` the channel-major patch index.
 */
function forEachTap(g: PatchGeometry, batchStart: number, batchCount: number, visit: (src: number, dst: number) => void): void {
  const channels = g.inChannels;
  const rowStride = g.inWidth * channels;
  const imageStride = g.inHeight * rowStride;
  const taps = g.filterHeight * g.filterWidth;
  const channelStride = batchCount * g.outHeight * g.outWidth * taps;
  let pixel = 0;
  for (let b = batchStart; b < batchStart + batchCount; b++) {
    const imageBase = b * imageStride;
    for (let oy = 0; oy < g.outHeight; oy++) {
      const yOrigin = oy * g.strideHeight - g.padInfo.top;
      for (let ox = 0; ox < g.outWidth; ox++, pixel++) {
        const xOrigin = ox * g.strideWidth - g.padInfo.left;
        let tap = pixel * taps;
        for (let fy = 0; fy < g.filterHeight; fy++) {
          const iy = yOrigin + fy * g.dilationHeight;
          const rowOk = iy >= 0 && iy < g.inHeight;
          for (let fx = 0; fx < g.filterWidth; fx++, tap++) {
            const ix = xOrigin + fx * g.dilationWidth;
            const base = rowOk && ix >= 0 && ix < g.inWidth ? imageBase + iy * rowStride + ix * channels : -1;
            for (let c = 0; c < channels; c++) {
              visit(base < 0 ? -1 : base + c, c * channelStride + tap);
            }
          }
        }
      }
    }
  }
}

/** How many images go into one patch matrix so that it stays under maxFloats. */
export function imagesPerChunk(g: PatchGeometry, batchSize: number, maxFloats: number): number {
  const floatsPerImage = g.outHeight * g.outWidth * patchLength(g);
  return Math.max(1, Math.min(batchSize, Math.floor(maxFloats / Math.max(1, floatsPerImage))));
}
