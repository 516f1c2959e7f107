/**
 * Conv2DBackpropFilter for the wasm backend: the filter gradient of conv2d.
 *
 *   dW[(fy,fx,ci), co] = sum over pixels p=(b,oy,ox) of patchT[(fy,fx,ci), p] * dy[p, co]
 *
 * i.e. one wasm BatchMatMul per chunk of images: the transposed im2col patch
 * matrix (patchLength x pixels) times dy seen as (pixels x outChannels). The
 * product is already in filter layout; no transposes needed for NHWC.
 */
import * as tf from '@tensorflow/tfjs';
import { im2colTransposed, imagesPerChunk, patchLength } from './im2col.ts';
import {
  type BackendWasm, type TensorInfo, WASM_BACKEND_NAME,
  add, assertFloat32, batchMatMul, heapF32, release, reshape, slice, transpose,
} from './wasm-backend.ts';

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

  let sum: TensorInfo | null = null;
  const chunk = imagesPerChunk(info, batchSize);
  for (let start = 0; start < batchSize; start += chunk) {
    const count = Math.min(chunk, batchSize - start);
    const colsT = backend.makeOutput([patch, count * pixels], 'float32');
    im2colTransposed(heapF32(backend, xNhwc), heapF32(backend, colsT), info, start, count);
    let dyPart: TensorInfo;
    if (count === batchSize) {
      dyPart = reshape(backend, dyNhwc, [count * pixels, outChannels]);
    } else {
      const sliced = slice(backend, dyNhwc, [start, 0, 0, 0], [count, info.outHeight, info.outWidth, outChannels]);
      dyPart = reshape(backend, sliced, [count * pixels, outChannels]);
      release(backend, sliced);
    }
    const part = batchMatMul(backend, colsT, dyPart); // [patch, outChannels]
    release(backend, colsT, dyPart);
    if (sum === null) {
      sum = part;
    } else {
      const next = add(backend, sum, part);
      release(backend, sum, part);
      sum = next;
    }
  }
  if (channelsFirst) release(backend, xNhwc, dyNhwc);

  if (sum === null) {
    // Empty batch: the gradient is zero.
    const zeros = backend.makeOutput(attrs.filterShape, 'float32');
    heapF32(backend, zeros).fill(0);
    return zeros;
  }
  const dW = reshape(backend, sum, attrs.filterShape);
  release(backend, sum);
  return dW;
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: WASM_BACKEND_NAME,
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
