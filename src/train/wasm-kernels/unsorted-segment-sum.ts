/**
 * UnsortedSegmentSum for the wasm backend (the gradient of gather, so of
 * embedding layers): out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s.
 *
 * Runs on the wasm ScatterNd kernel, which adds rows that share an index.
 * Ids outside [0, numSegments) are dropped, as the cpu kernel does (its
 * per-segment masks never match them); TensorFlow drops negative ids too.
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, type TensorInfo, WASM_BACKEND_NAME, heapI32, release, reshape, runWasmKernel } from './wasm-backend.ts';

function unsortedSegmentSum(args: { inputs: tf.UnsortedSegmentSumInputs; backend: BackendWasm; attrs: tf.UnsortedSegmentSumAttrs }): TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs.x as TensorInfo;
  const segmentIds = args.inputs.segmentIds as TensorInfo;
  const numSegments = attrs.numSegments;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum on wasm supports float32 and int32, got ${x.dtype}`);
  }
  // segmentIds covers a prefix of x's shape; flatten that prefix into rows.
  const rows = tf.util.sizeFromShape(segmentIds.shape);
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const outShape = [numSegments, ...innerShape];

  const ids = heapI32(backend, segmentIds);
  const kept: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (ids[i] >= 0 && ids[i] < numSegments) kept.push(i);
  }

  const updatesAll = reshape(backend, x, [rows, ...innerShape]);
  let indices: TensorInfo;
  let updates: TensorInfo;
  if (kept.length === rows) {
    indices = reshape(backend, segmentIds, [rows, 1]);
    updates = updatesAll;
  } else {
    // Rare path: keep only valid rows (gathered in wasm), then scatter those.
    const keptRows = backend.makeOutput([kept.length], 'int32');
    heapI32(backend, keptRows).set(kept);
    updates = runWasmKernel(backend, tf.GatherV2, { x: updatesAll, indices: keptRows }, { axis: 0, batchDims: 0 });
    indices = backend.makeOutput([kept.length, 1], 'int32');
    const keptIds = heapI32(backend, indices);
    const idsNow = heapI32(backend, segmentIds); // the heap may have grown
    for (let k = 0; k < kept.length; k++) keptIds[k] = idsNow[kept[k]];
    release(backend, keptRows, updatesAll);
  }
  const out = runWasmKernel(backend, tf.ScatterNd, { indices, updates }, { shape: outShape });
  release(backend, indices, updates);
  return out;
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: WASM_BACKEND_NAME,
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};
