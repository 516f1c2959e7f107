/**
 * BatchMatMul for the wasm backend with transposed operands made explicit.
 * tfjs-backend-wasm 4.22's kernel is fast (XNNPACK) only without transpose
 * flags; with transposeA or transposeB it was 4x slower at [32,784]^T x
 * [32,128] and ~9x at batch 256 (measured). Backprop through every dense and
 * conv layer asks for exactly those (x^T dy, dy W^T), so this kernel
 * transposes the operand with the wasm Transpose kernel and then runs the
 * original kernel without flags.
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, type TensorInfo, WASM_BACKEND_NAME, release, transpose } from './wasm-backend.ts';

type BatchMatMulArgs = { inputs: tf.BatchMatMulInputs; backend: BackendWasm; attrs: tf.BatchMatMulAttrs };

/** The wasm backend's own kernel, captured when ours replaces it. */
let builtinBatchMatMul: tf.KernelFunc | null = null;

export function captureBuiltinBatchMatMul(kernel: tf.KernelConfig | undefined): void {
  if (kernel !== undefined && kernel.kernelFunc !== batchMatMulConfig.kernelFunc) builtinBatchMatMul = kernel.kernelFunc;
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return perm;
}

function batchMatMul(args: BatchMatMulArgs): TensorInfo {
  const { backend, attrs } = args;
  if (builtinBatchMatMul === null) throw new Error('BatchMatMul: the wasm kernel was not captured before replacing it');
  const a = args.inputs.a as TensorInfo;
  const b = args.inputs.b as TensorInfo;
  const aPlain = attrs.transposeA ? transpose(backend, a, swapLastTwo(a.shape.length)) : a;
  const bPlain = attrs.transposeB ? transpose(backend, b, swapLastTwo(b.shape.length)) : b;
  const out = builtinBatchMatMul({
    inputs: { a: aPlain, b: bPlain },
    backend,
    attrs: { transposeA: false, transposeB: false },
  }) as TensorInfo;
  if (attrs.transposeA) release(backend, aPlain);
  if (attrs.transposeB) release(backend, bPlain);
  return out;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: WASM_BACKEND_NAME,
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
};
