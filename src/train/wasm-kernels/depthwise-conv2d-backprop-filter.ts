/**
 * DepthwiseConv2dNativeBackpropFilter for the wasm backend.
 *
 *   dW[fy, fx, c, m] = sum over (b, oy, ox) of x[b, iy, ix, c] * dy[b, oy, ox, c*M + m]
 *     with iy = oy*strideHeight + fy*dilationHeight - padTop (ix likewise)
 *
 * One pass over dy accumulating into the (small) filter gradient. This is a
 * JS loop on purpose: per channel the product is a dot product, not a matrix
 * product, and every wasm formulation measured slower on a 32x28x28x32 input
 * with a 3x3 filter: im2col + batched BatchMatMul 37-91 ms, a per-tap
 * slice*dy+sum 45 ms, depthwise conv with batch moved into channels 22 ms,
 * this loop 15 ms. Dilations are honoured (tfjs's cpu kernel ignores them).
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, type TensorInfo, WASM_BACKEND_NAME, assertFloat32, heapF32 } from './wasm-backend.ts';

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
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth, outChannels } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, filterHeight, filterWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const multiplier = outChannels / channels;

  const xValues = heapF32(backend, x);
  const dyValues = heapF32(backend, dy);
  // float64 sums: a filter tap sums batch * pixels products.
  const sums = new Float64Array(filterHeight * filterWidth * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const dyBase = ((b * outHeight + oy) * outWidth + ox) * outChannels;
        for (let fy = 0; fy < filterHeight; fy++) {
          const iy = oy * strideHeight + fy * dilationHeight - padTop;
          if (iy < 0 || iy >= inHeight) continue;
          for (let fx = 0; fx < filterWidth; fx++) {
            const ix = ox * strideWidth + fx * dilationWidth - padLeft;
            if (ix < 0 || ix >= inWidth) continue;
            const xBase = ((b * inHeight + iy) * inWidth + ix) * channels;
            const sumBase = (fy * filterWidth + fx) * outChannels;
            if (multiplier === 1) {
              for (let c = 0; c < channels; c++) sums[sumBase + c] += xValues[xBase + c]! * dyValues[dyBase + c]!;
            } else {
              for (let c = 0; c < channels; c++) {
                const xValue = xValues[xBase + c]!;
                const o = c * multiplier;
                for (let m = 0; m < multiplier; m++) sums[sumBase + o + m] += xValue * dyValues[dyBase + o + m]!;
              }
            }
          }
        }
      }
    }
  }
  const dW = backend.makeOutput(attrs.filterShape, 'float32');
  heapF32(backend, dW).set(sums);
  return dW;
}

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: WASM_BACKEND_NAME,
  kernelFunc: depthwiseConv2dNativeBackpropFilter as unknown as tf.KernelFunc,
};
