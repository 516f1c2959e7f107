/**
 * Small bridge to the tfjs wasm backend for kernels written here: calling the
 * backend's own kernels (BatchMatMul, Transpose, ...) directly inside a
 * kernel, and reading/writing tensor memory on the wasm heap.
 *
 * Heap views must be taken AFTER every allocation of a step: allocating
 * (makeOutput, or a kernel that allocates) may grow the wasm memory, which
 * detaches earlier Float32Array views.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type { BackendWasm };
export type TensorInfo = tf.TensorInfo;

export const WASM_BACKEND_NAME = 'wasm';

/** Runs a kernel of the wasm backend directly (no tape, no engine bookkeeping). */
export function runWasmKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown> = {},
): TensorInfo {
  const kernel = tf.getKernel(kernelName, WASM_BACKEND_NAME);
  if (kernel === undefined) {
    throw new Error(`wasm backend has no ${kernelName} kernel`);
  }
  const result = kernel.kernelFunc({
    inputs: inputs as tf.NamedTensorInfoMap,
    backend,
    attrs: attrs as tf.NamedAttrMap,
  });
  if (Array.isArray(result)) {
    throw new Error(`${kernelName} returned several outputs`);
  }
  return result;
}

export function reshape(backend: BackendWasm, x: TensorInfo, shape: number[]): TensorInfo {
  return runWasmKernel(backend, tf.Reshape, { x }, { shape });
}

export function transpose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasmKernel(backend, tf.Transpose, { x }, { perm });
}

/** a x b (no transposes: the wasm BatchMatMul is ~15x slower with transposeA). */
export function batchMatMul(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  return runWasmKernel(backend, tf.BatchMatMul, { a, b }, { transposeA: false, transposeB: false });
}

export function slice(backend: BackendWasm, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  return runWasmKernel(backend, tf.Slice, { x }, { begin, size });
}

export function add(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  return runWasmKernel(backend, tf.Add, { a, b });
}

/** Frees intermediates created inside a kernel (reshape only bumps a refcount). */
export function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

export function heapF32(backend: BackendWasm, info: TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array)) throw new Error(`expected a float32 tensor, got ${info.dtype}`);
  return view;
}

export function heapI32(backend: BackendWasm, info: TensorInfo): Int32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Int32Array)) throw new Error(`expected an int32 tensor, got ${info.dtype}`);
  return view;
}

export function assertFloat32(kernelName: string, ...infos: TensorInfo[]): void {
  for (const info of infos) {
    if (info.dtype !== 'float32') {
      throw new Error(`${kernelName} on wasm supports float32 only, got ${info.dtype}`);
    }
  }
}
