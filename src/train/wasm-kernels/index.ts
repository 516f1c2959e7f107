/**
 * Gradient kernels the tfjs wasm backend (4.22) lacks, registered with
 * `tf.registerKernel` so conv, depthwise-conv and embedding models train on
 * wasm:
 *   Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter,
 *   DepthwiseConv2dNativeBackpropInput, UnsortedSegmentSum.
 * (Conv2DBackpropInput, MaxPoolGrad and AvgPoolGrad already exist in wasm.)
 *
 * Usage, after `await tf.setBackend('wasm')` (src/train/backend.ts does this):
 *   registerWasmTrainingKernels();
 */
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise-conv2d-backprop-filter.ts';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise-conv2d-backprop-input.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';

export const wasmTrainingKernelConfigs: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumConfig,
];

/**
 * Registers every kernel above that wasm does not have yet. Idempotent, and
 * a later tfjs that ships its own kernel keeps it. Returns the names that
 * this call registered.
 */
export function registerWasmTrainingKernels(): string[] {
  const registered: string[] = [];
  for (const config of wasmTrainingKernelConfigs) {
    if (tf.getKernel(config.kernelName, config.backendName) !== undefined) continue;
    tf.registerKernel(config);
    registered.push(config.kernelName);
  }
  return registered;
}
