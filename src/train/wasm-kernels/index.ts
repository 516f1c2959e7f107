/**
 * Gradient kernels the tfjs wasm backend lacks (Conv2DBackpropFilter,
 * DepthwiseConv2dNative gradients, UnsortedSegmentSum), registered with
 * `tf.registerKernel` so conv and embedding models train on wasm.
 * Called once by the backend selection after the wasm backend is ready.
 */
export function registerWasmTrainingKernels(): void {
  // Kernels are added here by the wasm-kernel work (issue 4).
}
