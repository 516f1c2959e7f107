/**
 * DepthwiseConv2dNativeBackpropFilter for the wasm backend.
 *
 *   dW[fy, fx, c, m] = sum over pixels p of patch_c[p, (fy,fx)] * dy[p, c*M + m]
 *
 * One small matrix product per input channel c: dy_c^T (M x pixels) times
 * patch_c (pixels x taps), run as ONE batched wasm BatchMatMul over channels.
 * Dilations are honoured (tfjs's cpu kernel ignores them).
 */
import * as tf from '@tensorflow/tfjs';
import { im2colByChannel, imagesPerChunk } from './im2col.ts';
import {
  type BackendWasm, type TensorInfo, WASM_BACKEND_NAME,
  add, assertFloat32, batchMatMul, heapF32, release, reshape, slice, transpose,
} from './wasm-backend.ts';

function depthwiseConv2dNativeBackpropFilter(args: {
  inputs: tf.DepthwiseConv2dNativeBackpropFilterInputs; backend: BackendWasm; attrs: tf.DepthwiseConv2dNativeBackpropFilterAttrs;
}): TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs.x as TensorInfo;
  const dy = args.inputs.dy as TensorInfo;
  assertFloat32(tf.DepthwiseConv2dNativeBackpropFilter, x, dy);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, attrs.dilations, attrs.pad,
    attrs.dimRoundingMode, true);

  const batchSize = info.batchSize;
  const pixels = info.outHeight * info.outWidth;
  const channels = info.inChannels;
  const multiplier = info.outChannels / channels;
  const taps = info.filterHeight * info.filterWidth;

  const dy4 = reshape(backend, dy, [batchSize, pixels, channels, multiplier]);
  const dyT = transpose(backend, dy4, [2, 3, 0, 1]); // [channels, multiplier, batch, pixels]
  release(backend, dy4);

  let sum: TensorInfo | null = null;
  const chunk = imagesPerChunk(info, batchSize);
  for (let start = 0; start < batchSize; start += chunk) {
    const count = Math.min(chunk, batchSize - start);
    const cols = backend.makeOutput([channels, count * pixels, taps], 'float32');
    im2colByChannel(heapF32(backend, x), heapF32(backend, cols), info, start, count);
    let dyPart: TensorInfo;
    if (count === batchSize) {
      dyPart = reshape(backend, dyT, [channels, multiplier, count * pixels]);
    } else {
      const sliced = slice(backend, dyT, [0, 0, start, 0], [channels, multiplier, count, pixels]);
      dyPart = reshape(backend, sliced, [channels, multiplier, count * pixels]);
      release(backend, sliced);
    }
    const part = batchMatMul(backend, dyPart, cols); // [channels, multiplier, taps]
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

  if (sum === null) {
    const zeros = backend.makeOutput(attrs.filterShape, 'float32');
    heapF32(backend, zeros).fill(0);
    return zeros;
  }
  const sumT = transpose(backend, sum, [2, 0, 1]); // [taps, channels, multiplier]
  release(backend, sum);
  const dW = reshape(backend, sumT, attrs.filterShape);
  release(backend, sumT);
  return dW;
}

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: WASM_BACKEND_NAME,
  kernelFunc: depthwiseConv2dNativeBackpropFilter as unknown as tf.KernelFunc,
};
