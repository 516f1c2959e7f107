/**
 * Conv2DBackpropFilter for the wasm backend: the filter gradient of conv2d.
 *
 *   dW[fy, fx, ci, co] = sum over (b, oy, ox) of patch[(b,oy,ox), (fy,fx,ci)] * dy[b, oy, ox, co]
 *
 * i.e. dW^T = dy^T (outChannels x pixels) times the im2col patch matrix
 * (pixels x patchLength), one wasm BatchMatMul per chunk of images. dy^T is
 * built by the wasm Transpose kernel, so that BatchMatMul runs without its
 * transpose flags (which are ~15x slower on this backend).
 */
import * as tf from '@tensorflow/tfjs';
import { im2col, imagesPerChunk, patchLength } from './im2col.ts';
import {
  type BackendWasm, type TensorInfo, WASM_BACKEND_NAME,
  add, assertFloat32, batchMatMul, heapF32, release, reshape, slice, transpose,
} from './wasm-backend.ts';

/** Patch matrix bound per BatchMatMul (floats): 4M floats = 16 MiB of wasm heap. */
export const MAX_PATCH_FLOATS = 4 * 1024 * 1024;

function conv2DBackpropFilter(args: { inputs: tf.Conv2DBackpropFilterInputs; backend: BackendWasm; attrs: tf.Conv2DBackpropFilterAttrs }): TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs.x as TensorInfo;
  const dy = args.inputs.dy as TensorInfo;
  assertFloat32(tf.Conv2DBackpropFilter, x, dy);
  const dataFormat = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, dataFormat);

  // The patch code reads NHWC; NCHW inputs are transposed once in wasm.
  const channelsFirst = info.dataFormat === 'channelsFirst';
  const xNhwc = channelsFirst ? transpose(backend, x, [0, 2, 3, 1]) : x;
  const dyNhwc = channelsFirst ? transpose(backend, dy, [0, 2, 3, 1]) : dy;

  const batchSize = info.batchSize;
  const pixels = info.outHeight * info.outWidth;
  const outChannels = info.outChannels;
  const patch = patchLength(info);

  const dy3 = reshape(backend, dyNhwc, [batchSize, pixels, outChannels]);
  const dyT = transpose(backend, dy3, [2, 0, 1]); // [outChannels, batch, pixels]
  release(backend, dy3);

  let sum: TensorInfo | null = null;
  const chunk = imagesPerChunk(info, batchSize, MAX_PATCH_FLOATS);
  for (let start = 0; start < batchSize; start += chunk) {
    const count = Math.min(chunk, batchSize - start);
    const cols = backend.makeOutput([count * pixels, patch], 'float32');
    im2col(heapF32(backend, xNhwc), heapF32(backend, cols), info, start, count);
    let dyPart: TensorInfo;
    if (count === batchSize) {
      dyPart = reshape(backend, dyT, [outChannels, count * pixels]);
    } else {
      const sliced = slice(backend, dyT, [0, start, 0], [outChannels, count, pixels]);
      dyPart = reshape(backend, sliced, [outChannels, count * pixels]);
      release(backend, sliced);
    }
    const part = batchMatMul(backend, dyPart, cols); // [outChannels, patch]
    release(backend, cols, dyPart);
    if (sum === null) {
      sum = part;
    } else {
      const next = add(backend, sum, part);
      release(backend, sum, part);
      sum = next;
    }
  }
  release(backend, dyT);
  if (channelsFirst) release(backend, xNhwc, dyNhwc);

  if (sum === null) {
    // Empty batch: the gradient is zero.
    const zeros = backend.makeOutput(attrs.filterShape, 'float32');
    heapF32(backend, zeros).fill(0);
    return zeros;
  }
  const sumT = transpose(backend, sum, [1, 0]); // [patch, outChannels]
  release(backend, sum);
  const dW = reshape(backend, sumT, attrs.filterShape);
  release(backend, sumT);
  return dW;
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: WASM_BACKEND_NAME,
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
