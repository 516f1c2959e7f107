/**
 * DepthwiseConv2dNativeBackpropInput for the wasm backend.
 *
 * The input gradient of a depthwise convolution is itself a depthwise
 * convolution: of dy, spread out by the stride (zeros between rows and
 * columns) and padded, with the filter rotated by 180 degrees, stride 1 and
 * the same dilation. The spreading is one copy pass here; the convolution is
 * the wasm backend's DepthwiseConv2dNative (XNNPACK) and the rotation its
 * Reverse. With a channel multiplier M > 1, the M output channels that came
 * from one input channel are summed (wasm Sum). Dilations are honoured
 * (tfjs's cpu kernel ignores them).
 *
 * Why not im2col + BatchMatMul: per channel that product is an outer product
 * (M = 1), which XNNPACK handles poorly; it measured ~30x slower than this
 * for a 32x28x28x32 input.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type BackendWasm, type TensorInfo, WASM_BACKEND_NAME,
  assertFloat32, heapF32, release, reshape, runWasmKernel,
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
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, filterHeight, filterWidth } = info;
  const multiplier = outChannels / inChannels;

  // Spread dy: row oy lands at offsetTop + oy*strideHeight of a buffer that a
  // VALID convolution with the dilated filter maps back onto inHeight rows.
  const offsetTop = (filterHeight - 1) * dilationHeight - info.padInfo.top;
  const offsetLeft = (filterWidth - 1) * dilationWidth - info.padInfo.left;
  const spreadHeight = inHeight + (filterHeight - 1) * dilationHeight;
  const spreadWidth = inWidth + (filterWidth - 1) * dilationWidth;
  const spread = backend.makeOutput([batchSize, spreadHeight, spreadWidth, outChannels], 'float32');
  const spreadValues = heapF32(backend, spread);
  const dyValues = heapF32(backend, dy);
  spreadValues.fill(0);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const row = offsetTop + oy * strideHeight;
      // Rows or columns that land outside the buffer reach no input position.
      if (row < 0 || row >= spreadHeight) continue;
      const dyRow = (b * outHeight + oy) * outWidth * outChannels;
      const spreadRow = (b * spreadHeight + row) * spreadWidth * outChannels;
      for (let ox = 0; ox < outWidth; ox++) {
        const col = offsetLeft + ox * strideWidth;
        if (col < 0 || col >= spreadWidth) continue;
        spreadValues.set(dyValues.subarray(dyRow + ox * outChannels, dyRow + (ox + 1) * outChannels), spreadRow + col * outChannels);
      }
    }
  }

  const flatFilter = reshape(backend, filter, [filterHeight, filterWidth, outChannels, 1]);
  const rotated = runWasmKernel(backend, tf.Reverse, { x: flatFilter }, { dims: [0, 1] });
  release(backend, flatFilter);
  const perOutChannel = runWasmKernel(backend, tf.DepthwiseConv2dNative, { x: spread, filter: rotated }, {
    strides: [1, 1], dilations: [dilationHeight, dilationWidth], pad: 'valid', dataFormat: 'NHWC',
  });
  release(backend, spread, rotated);
  if (multiplier === 1) return perOutChannel;
  const grouped = reshape(backend, perOutChannel, [batchSize, inHeight, inWidth, inChannels, multiplier]);
  release(backend, perOutChannel);
  const dx = runWasmKernel(backend, tf.Sum, { x: grouped }, { axis: [4], keepDims: false });
  release(backend, grouped);
  return dx;
}

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: WASM_BACKEND_NAME,
  kernelFunc: depthwiseConv2dNativeBackpropInput as unknown as tf.KernelFunc,
};
