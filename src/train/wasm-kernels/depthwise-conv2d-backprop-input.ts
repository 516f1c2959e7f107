/**
 * DepthwiseConv2dNativeBackpropInput for the wasm backend.
 *
 * Per input channel c, the patch gradient is dy_c (pixels x M) times
 * W_c (M x taps): one batched wasm BatchMatMul over channels. col2im then adds
 * each patch gradient back onto the input positions it was read from.
 * Dilations are honoured (tfjs's cpu kernel ignores them).
 */
import * as tf from '@tensorflow/tfjs';
import { col2imAddByChannel, imagesPerChunk } from './im2col.ts';
import {
  type BackendWasm, type TensorInfo, WASM_BACKEND_NAME,
  assertFloat32, batchMatMul, heapF32, release, reshape, slice, transpose,
} from './wasm-backend.ts';

function depthwiseConv2dNativeBackpropInput(args: {
  inputs: tf.DepthwiseConv2dNativeBackpropInputInputs; backend: BackendWasm; attrs: tf.DepthwiseConv2dNativeBackpropInputAttrs;
}): TensorInfo {
  const { backend, attrs } = args;
  const dy = args.inputs.dy as TensorInfo;
  const filter = args.inputs.filter as TensorInfo;
  assertFloat32(tf.DepthwiseConv2dNativeBackpropInput, dy, filter);
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, attrs.dilations, attrs.pad,
    attrs.dimRoundingMode, true);

  const batchSize = info.batchSize;
  const pixels = info.outHeight * info.outWidth;
  const channels = info.inChannels;
  const multiplier = info.outChannels / channels;
  const taps = info.filterHeight * info.filterWidth;

  const w3 = reshape(backend, filter, [taps, channels, multiplier]);
  const wT = transpose(backend, w3, [1, 2, 0]); // [channels, multiplier, taps]
  release(backend, w3);
  const dy4 = reshape(backend, dy, [batchSize, pixels, channels, multiplier]);
  const dyT = transpose(backend, dy4, [2, 0, 1, 3]); // [channels, batch, pixels, multiplier]
  release(backend, dy4);

  const dx = backend.makeOutput(attrs.inputShape, 'float32');
  heapF32(backend, dx).fill(0);
  const chunk = imagesPerChunk(info, batchSize);
  for (let start = 0; start < batchSize; start += chunk) {
    const count = Math.min(chunk, batchSize - start);
    let dyPart: TensorInfo;
    if (count === batchSize) {
      dyPart = reshape(backend, dyT, [channels, count * pixels, multiplier]);
    } else {
      const sliced = slice(backend, dyT, [0, start, 0, 0], [channels, count, pixels, multiplier]);
      dyPart = reshape(backend, sliced, [channels, count * pixels, multiplier]);
      release(backend, sliced);
    }
    const patchGrad = batchMatMul(backend, dyPart, wT); // [channels, pixels, taps]
    release(backend, dyPart);
    col2imAddByChannel(heapF32(backend, patchGrad), heapF32(backend, dx), info, start, count);
    release(backend, patchGrad);
  }
  release(backend, dyT, wT);
  return dx;
}

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: WASM_BACKEND_NAME,
  kernelFunc: depthwiseConv2dNativeBackpropInput as unknown as tf.KernelFunc,
};
