/**
 * Gradient kernels for the tfjs wasm backend (4.22), registered with
 * `tf.registerKernel` so conv, depthwise-conv and embedding models train on
 * wasm fast:
 *   missing in wasm:  Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter,
 *                     DepthwiseConv2dNativeBackpropInput, UnsortedSegmentSum
 *   replaced (slow):  Conv2DBackpropInput (wasm's own is direct loops, ~8x slower),
 *                     MaxPoolGrad (wasm's own ~70x slower than the forward pool),
 *                     BatchMatMul (wraps wasm's own: transpose flags made explicit,
 *                     4-9x faster for the x^T dy and dy W^T of every backprop)
 *
 * Usage, after `await tf.setBackend('wasm')` (src/train/backend.ts does this):
 *   registerWasmTrainingKernels();
 */
import * as tf from '@tensorflow/tfjs';
import { batchMatMulConfig, captureBuiltinBatchMatMul } from './batch-mat-mul.ts';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.ts';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise-conv2d-backprop-filter.ts';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise-conv2d-backprop-input.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';
import { WASM_BACKEND_NAME } from './wasm-backend.ts';

export const wasmTrainingKernelConfigs: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumConfig,
  maxPoolGradConfig,
  batchMatMulConfig,
];

/** Kernels wasm 4.22 has, that we replace because ours are much faster. */
const REPLACED_KERNEL_NAMES: ReadonlySet<string> = new Set([tf.Conv2DBackpropInput, tf.MaxPoolGrad, tf.BatchMatMul]);

/**
 * Registers the kernels above. Idempotent. A kernel that a later tfjs ships
 * itself is kept (theirs), except the ones we replace on purpose. Returns the
 * names that this call registered.
 */
export function registerWasmTrainingKernels(): string[] {
  // Replaced kernels' setup (their cwrap bindings) runs when the backend initializes.
  if (tf.findBackend(WASM_BACKEND_NAME) === null) throw new Error('registerWasmTrainingKernels: initialize the wasm backend first');
  const registered: string[] = [];
  for (const config of wasmTrainingKernelConfigs) {
    const existing = tf.getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing !== undefined) {
      if (!REPLACED_KERNEL_NAMES.has(config.kernelName)) continue;
      if (config.kernelName === tf.BatchMatMul) captureBuiltinBatchMatMul(existing);
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
    tf.registerKernel(config);
    registered.push(config.kernelName);
  }
  return registered;
}
