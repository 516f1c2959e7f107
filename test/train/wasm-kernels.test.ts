/**
 * The wasm training kernels against the cpu backend's kernels, on seeded
 * random shapes, strides, paddings (same, valid, numeric, explicit) and
 * dilations. Tolerance: max |wasm - cpu| <= 1e-4 * max(1, max |cpu|)
 * (float32 sums in a different order; observed errors are ~1e-6 relative).
 *
 * The cpu kernels of DepthwiseConv2dNativeBackprop{Filter,Input} ignore
 * dilations, so dilated cases are checked against the cpu kernel applied to
 * the equivalent undilated filter (zeros between the taps).
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createRandom, type Random } from '../../src/train/random.ts';
import { registerWasmTrainingKernels, wasmTrainingKernelConfigs } from '../../src/train/wasm-kernels/index.ts';
import { patchMemory } from '../../src/train/wasm-kernels/im2col.ts';
import { createModel } from '../../src/train/models.ts';
import { loadDataset } from '../../src/train/dataset.ts';
import { subsetSplit } from '../../src/train/partition.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { getFlatParams, setFlatParams } from '../../src/train/params.ts';

const RELATIVE_TOLERANCE = 1e-4;

type Inputs = Record<string, { shape: number[]; values: Float32Array | Int32Array; dtype: 'float32' | 'int32' }>;

function randomFloats(random: Random, shape: number[]): { shape: number[]; values: Float32Array; dtype: 'float32' } {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = random() * 2 - 1;
  return { shape, values, dtype: 'float32' };
}

function randomInt(random: Random, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

async function runOn(backend: 'cpu' | 'wasm', kernelName: string, inputs: Inputs, attrs: Record<string, unknown>): Promise<{ shape: number[]; values: Float32Array | Int32Array }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, input] of Object.entries(inputs)) tensors[name] = tf.tensor(input.values, input.shape, input.dtype);
    const out = tf.engine().runKernel(kernelName, tensors as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { shape: out.shape, values: out.dataSync() as Float32Array | Int32Array };
  });
}

function assertClose(actual: { shape: number[]; values: ArrayLike<number> }, expected: { shape: number[]; values: ArrayLike<number> }, label: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  let scale = 1;
  for (let i = 0; i < expected.values.length; i++) scale = Math.max(scale, Math.abs(expected.values[i]));
  let worst = 0;
  for (let i = 0; i < expected.values.length; i++) {
    const diff = Math.abs(actual.values[i] - expected.values[i]);
    if (!(diff <= worst)) worst = diff; // NaN-safe: a NaN makes worst NaN
  }
  assert.ok(worst <= RELATIVE_TOLERANCE * scale, `${label}: max abs diff ${worst} > ${RELATIVE_TOLERANCE} * ${scale}`);
}

type Pad = 'same' | 'valid' | number | number[][];

function randomPad(random: Random, filterHeight: number, filterWidth: number, dataFormat: 'NHWC' | 'NCHW' = 'NHWC'): Pad {
  const kind = randomInt(random, 0, 3);
  if (kind === 0) return 'same';
  if (kind === 1) return 'valid';
  if (kind === 2) return randomInt(random, 0, 2);
  const hw = [[randomInt(random, 0, filterHeight - 1), randomInt(random, 0, filterHeight - 1)], [randomInt(random, 0, filterWidth - 1), randomInt(random, 0, filterWidth - 1)]];
  return dataFormat === 'NHWC' ? [[0, 0], hw[0], hw[1], [0, 0]] : [[0, 0], [0, 0], hw[0], hw[1]];
}

/** Output height and width as tfjs computes them (null when the output would be empty). */
function outHeightWidth(xShape: number[], filterShape: number[], strides: [number, number], dilations: [number, number], pad: Pad,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined, depthwise: boolean, dataFormat: 'NHWC' | 'NCHW' = 'NHWC'): [number, number] | null {
  const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number],
    strides, dilations, pad as 'same', dimRoundingMode, depthwise, dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst');
  return info.outHeight >= 1 && info.outWidth >= 1 ? [info.outHeight, info.outWidth] : null;
}

/** Inserts dilation-1 zero taps between filter taps: [fh, fw, c, m] -> [(fh-1)d+1, (fw-1)d+1, c, m]. */
function dilateFilter(values: Float32Array, shape: number[], dh: number, dw: number): { shape: number[]; values: Float32Array; dtype: 'float32' } {
  const [fh, fw, c, m] = shape;
  const eh = (fh - 1) * dh + 1;
  const ew = (fw - 1) * dw + 1;
  const out = new Float32Array(eh * ew * c * m);
  for (let y = 0; y < fh; y++) {
    for (let x = 0; x < fw; x++) {
      const src = (y * fw + x) * c * m;
      out.set(values.subarray(src, src + c * m), ((y * dh) * ew + x * dw) * c * m);
    }
  }
  return { shape: [eh, ew, c, m], values: out, dtype: 'float32' };
}

describe('wasm training kernels', function () {
  // Other test files share this process: give back the backend they were using.
  let backendBefore: string | undefined;
  before(async () => {
    backendBefore = tf.getBackend();
    await tf.setBackend('wasm');
    await tf.ready();
    registerWasmTrainingKernels();
  });
  const defaultMaxPatchFloats = patchMemory.maxFloats;
  /** Forces small patch matrices, so that a small batch is split into several chunks. */
  const chunkLimit = (maxFloats: number) => {
    patchMemory.maxFloats = maxFloats;
  };
  afterEach(() => {
    patchMemory.maxFloats = defaultMaxPatchFloats;
  });
  after(async () => {
    await tf.setBackend(backendBefore ?? 'wasm');
  });

  it('registers each missing kernel for wasm, idempotently', () => {
    for (const config of wasmTrainingKernelConfigs) {
      assert.equal(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc, config.kernelFunc, config.kernelName);
    }
    assert.deepEqual(registerWasmTrainingKernels(), []);
    assert.deepEqual(wasmTrainingKernelConfigs.map((c) => c.kernelName).sort(), [
      'BatchMatMul', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'MaxPoolGrad',
      'UnsortedSegmentSum',
    ]);
  });

  describe('Conv2DBackpropFilter and Conv2DBackpropInput', () => {
    it('match cpu on 24 random NHWC/NCHW cases (strides 1-3, same/valid/numeric/explicit padding)', async () => {
      const random = createRandom(401);
      let checked = 0;
      for (let i = 0; i < 24; i++) {
        const dataFormat = i % 4 === 3 ? 'NCHW' : 'NHWC';
        const [b, h, w, ci, co] = [randomInt(random, 1, 3), randomInt(random, 4, 11), randomInt(random, 4, 11), randomInt(random, 1, 5), randomInt(random, 1, 6)];
        const [fh, fw] = [randomInt(random, 1, 4), randomInt(random, 1, 4)];
        const strides: [number, number] = [randomInt(random, 1, 3), randomInt(random, 1, 3)];
        const pad = randomPad(random, fh, fw, dataFormat);
        const xShape = dataFormat === 'NHWC' ? [b, h, w, ci] : [b, ci, h, w];
        const dimRoundingMode = typeof pad === 'number' ? 'floor' : undefined;
        const outHW = outHeightWidth(xShape, [fh, fw, ci, co], strides, [1, 1], pad, dimRoundingMode, false, dataFormat);
        if (outHW === null) continue;
        checked++;
        const [oh, ow] = outHW;
        const dyShape = dataFormat === 'NHWC' ? [b, oh, ow, co] : [b, co, oh, ow];
        const inputs = { x: randomFloats(random, xShape), dy: randomFloats(random, dyShape) };
        const attrs = { strides, pad, dataFormat, dimRoundingMode, filterShape: [fh, fw, ci, co] };
        const label = `case ${i} ${JSON.stringify({ xShape, dyShape, attrs })}`;
        assertClose(await runOn('wasm', 'Conv2DBackpropFilter', inputs, attrs), await runOn('cpu', 'Conv2DBackpropFilter', inputs, attrs), `filter grad ${label}`);
        const inputGradInputs = { dy: inputs.dy, filter: randomFloats(random, [fh, fw, ci, co]) };
        const inputGradAttrs = { strides, pad, dataFormat, dimRoundingMode, inputShape: xShape };
        assertClose(await runOn('wasm', 'Conv2DBackpropInput', inputGradInputs, inputGradAttrs),
          await runOn('cpu', 'Conv2DBackpropInput', inputGradInputs, inputGradAttrs), `input grad ${label}`);
      }
      assert.ok(checked >= 18, `only ${checked} of 24 random cases had a non-empty output`);
    });

    it('match cpu when the patch matrix is split into several image chunks', async () => {
      chunkLimit(6000);
      const random = createRandom(402);
      // 8x8x3 with a 3x3 filter: 1728 patch floats per image, 3 images per chunk, 5 chunks.
      const inputs = { x: randomFloats(random, [13, 8, 8, 3]), dy: randomFloats(random, [13, 8, 8, 2]) };
      const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 2] };
      assertClose(await runOn('wasm', 'Conv2DBackpropFilter', inputs, attrs), await runOn('cpu', 'Conv2DBackpropFilter', inputs, attrs), 'filter grad chunked');
      const inputGradInputs = { dy: inputs.dy, filter: randomFloats(random, [3, 3, 3, 2]) };
      const inputGradAttrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', inputShape: [13, 8, 8, 3] };
      assertClose(await runOn('wasm', 'Conv2DBackpropInput', inputGradInputs, inputGradAttrs),
        await runOn('cpu', 'Conv2DBackpropInput', inputGradInputs, inputGradAttrs), 'input grad chunked');
    });
  });

  describe('DepthwiseConv2dNativeBackpropFilter and ...Input', () => {
    it('match cpu on 24 random cases (strides 1-3, dilations 1-3, multipliers 1-3, all paddings)', async () => {
      const random = createRandom(403);
      let checked = 0;
      for (let i = 0; i < 24; i++) {
        const [b, h, w, ci, mult] = [randomInt(random, 1, 3), randomInt(random, 5, 12), randomInt(random, 5, 12), randomInt(random, 1, 4), randomInt(random, 1, 3)];
        const [fh, fw] = [randomInt(random, 1, 3), randomInt(random, 1, 3)];
        const strides: [number, number] = [randomInt(random, 1, 3), randomInt(random, 1, 3)];
        const dilations: [number, number] = i % 2 === 0 ? [1, 1] : [randomInt(random, 1, 3), randomInt(random, 1, 3)];
        const pad = randomPad(random, fh, fw);
        const dimRoundingMode = typeof pad === 'number' ? 'round' : undefined;
        const outHW = outHeightWidth([b, h, w, ci], [fh, fw, ci, mult], strides, dilations, pad, dimRoundingMode, true);
        if (outHW === null) continue;
        checked++;
        const [oh, ow] = outHW;
        const x = randomFloats(random, [b, h, w, ci]);
        const dy = randomFloats(random, [b, oh, ow, ci * mult]);
        const filter = randomFloats(random, [fh, fw, ci, mult]);
        const label = `case ${i} ${JSON.stringify({ x: x.shape, dy: dy.shape, filter: filter.shape, strides, dilations, pad })}`;

        const filterAttrs = { strides, dilations, pad, dimRoundingMode, filterShape: filter.shape };
        const wasmFilterGrad = await runOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, filterAttrs);
        const dilatedShape = dilateFilter(filter.values, filter.shape, dilations[0], dilations[1]).shape;
        const cpuDilated = await runOn('cpu', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...filterAttrs, dilations: [1, 1], filterShape: dilatedShape });
        // Keep the taps that exist in the real filter.
        const cpuFilterGrad = new Float32Array(filter.values.length);
        for (let y = 0; y < fh; y++) {
          for (let xx = 0; xx < fw; xx++) {
            const src = ((y * dilations[0]) * dilatedShape[1] + xx * dilations[1]) * ci * mult;
            cpuFilterGrad.set(cpuDilated.values.subarray(src, src + ci * mult) as Float32Array, (y * fw + xx) * ci * mult);
          }
        }
        assertClose(wasmFilterGrad, { shape: filter.shape, values: cpuFilterGrad }, `filter grad ${label}`);

        const inputAttrs = { strides, dilations, pad, dimRoundingMode, inputShape: x.shape };
        const wasmInputGrad = await runOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, inputAttrs);
        const cpuInputGrad = await runOn('cpu', 'DepthwiseConv2dNativeBackpropInput',
          { dy, filter: dilateFilter(filter.values, filter.shape, dilations[0], dilations[1]) }, { ...inputAttrs, dilations: [1, 1] });
        assertClose(wasmInputGrad, cpuInputGrad, `input grad ${label}`);
      }
      assert.ok(checked >= 18, `only ${checked} of 24 random cases had a non-empty output`);
    });

    it('match cpu on a MobileNet-like layer (batch 8, 16x16x8, 3x3, stride 2, same)', async () => {
      const random = createRandom(404);
      const x = randomFloats(random, [8, 16, 16, 8]);
      const dy = randomFloats(random, [8, 8, 8, 8]);
      const filter = randomFloats(random, [3, 3, 8, 1]);
      const filterAttrs = { strides: [2, 2], dilations: [1, 1], pad: 'same', filterShape: [3, 3, 8, 1] };
      assertClose(await runOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, filterAttrs),
        await runOn('cpu', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, filterAttrs), 'filter grad');
      const inputAttrs = { strides: [2, 2], dilations: [1, 1], pad: 'same', inputShape: x.shape };
      assertClose(await runOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, inputAttrs),
        await runOn('cpu', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, inputAttrs), 'input grad');
    });
  });

  describe('MaxPoolGrad', () => {
    it('matches cpu on 24 random cases (windows 1-4, strides 1-3, same/valid/numeric padding, ties as after relu)', async () => {
      const random = createRandom(407);
      let checked = 0;
      for (let i = 0; i < 24; i++) {
        const [b, h, w, c] = [randomInt(random, 1, 3), randomInt(random, 3, 10), randomInt(random, 3, 10), randomInt(random, 1, 5)];
        const filterSize: [number, number] = [randomInt(random, 1, 4), randomInt(random, 1, 4)];
        const strides: [number, number] = [randomInt(random, 1, 3), randomInt(random, 1, 3)];
        const padKind = randomInt(random, 0, 2);
        const pad = padKind === 0 ? 'same' : padKind === 1 ? 'valid' : randomInt(random, 0, 1);
        const dimRoundingMode = typeof pad === 'number' ? 'ceil' : undefined;
        const info = tf.backend_util.computePool2DInfo([b, h, w, c], filterSize, strides, 1, pad, dimRoundingMode);
        if (info.outHeight < 1 || info.outWidth < 1) continue;
        checked++;
        const x = randomFloats(random, [b, h, w, c]);
        // Half the cases rounded to a few levels and clipped at 0, so that windows hold equal maxima.
        if (i % 2 === 0) x.values.forEach((v, k) => { x.values[k] = Math.max(0, Math.round(v * 2) / 2); });
        const output = await runOn('cpu', 'MaxPool', { x }, { filterSize, strides, pad, dimRoundingMode });
        const inputs = {
          dy: randomFloats(random, output.shape),
          input: x,
          output: { shape: output.shape, values: output.values as Float32Array, dtype: 'float32' as const },
        };
        const attrs = { filterSize, strides, pad, dimRoundingMode };
        const label = `case ${i} ${JSON.stringify({ x: x.shape, attrs })}`;
        assertClose(await runOn('wasm', 'MaxPoolGrad', inputs, attrs), await runOn('cpu', 'MaxPoolGrad', inputs, attrs), label);
      }
      assert.ok(checked >= 18, `only ${checked} of 24 random cases had a non-empty output`);
    });
  });

  describe('BatchMatMul (transpose flags made explicit)', () => {
    it('matches cpu for every transposeA/transposeB combination, ranks 2-4, broadcast batch dims', async () => {
      const random = createRandom(408);
      for (let i = 0; i < 32; i++) {
        const transposeA = (i & 1) === 1;
        const transposeB = (i & 2) === 2;
        const [m, k, n] = [randomInt(random, 1, 9), randomInt(random, 1, 9), randomInt(random, 1, 9)];
        const outer = i < 8 ? [] : i < 16 ? [randomInt(random, 1, 3)] : [randomInt(random, 1, 3), randomInt(random, 1, 3)];
        const outerB = i >= 24 ? outer.map((d, j) => (j === 0 ? 1 : d)) : outer; // broadcast over the first batch dim
        const a = randomFloats(random, [...outer, ...(transposeA ? [k, m] : [m, k])]);
        const b = randomFloats(random, [...outerB, ...(transposeB ? [n, k] : [k, n])]);
        const attrs = { transposeA, transposeB };
        const label = `case ${i} ${JSON.stringify({ a: a.shape, b: b.shape, attrs })}`;
        assertClose(await runOn('wasm', 'BatchMatMul', { a, b }, attrs), await runOn('cpu', 'BatchMatMul', { a, b }, attrs), label);
      }
    });
  });

  describe('UnsortedSegmentSum', () => {
    it('matches cpu for float32 and int32, 1-D and 2-D segment ids, with and without out-of-range ids', async () => {
      const random = createRandom(405);
      for (let i = 0; i < 16; i++) {
        const numSegments = randomInt(random, 1, 8);
        const idShape = i % 3 === 2 ? [randomInt(random, 1, 4), randomInt(random, 1, 4)] : [randomInt(random, 1, 12)];
        const innerShape = i % 4 === 0 ? [] : [randomInt(random, 1, 4), randomInt(random, 1, 3)];
        const rows = idShape.reduce((a, b) => a * b, 1);
        const invalidAllowed = i % 2 === 1;
        const ids = new Int32Array(rows);
        for (let r = 0; r < rows; r++) ids[r] = invalidAllowed ? randomInt(random, -2, numSegments + 1) : randomInt(random, 0, numSegments - 1);
        const xFloat = randomFloats(random, [...idShape, ...innerShape]);
        const x = i % 5 === 4
          ? { shape: xFloat.shape, values: Int32Array.from(xFloat.values, (v) => Math.round(v * 50)), dtype: 'int32' as const }
          : xFloat;
        const inputs = { x, segmentIds: { shape: idShape, values: ids, dtype: 'int32' as const } };
        const attrs = { numSegments };
        const label = `case ${i} ${JSON.stringify({ idShape, innerShape, numSegments, dtype: x.dtype })}`;
        const wasmResult = await runOn('wasm', 'UnsortedSegmentSum', inputs, attrs);
        // The cpu kernel fails on multi-dimensional ids: compare with flattened ids there.
        const flatInputs = { x: { ...x, shape: [rows, ...innerShape] }, segmentIds: { ...inputs.segmentIds, shape: [rows] } };
        assertClose(wasmResult, await runOn('cpu', 'UnsortedSegmentSum', flatInputs, attrs), label);
        assert.equal(wasmResult.values instanceof Int32Array, x.dtype === 'int32', `${label}: dtype`);
      }
    });

    it('gives zeros for empty input and for ids that are all out of range', async () => {
      await tf.setBackend('wasm');
      for (let i = 0; i < 4; i++) tf.fill([4, 3], 7).dispose(); // leave non-zero bytes on the heap
      const empty = tf.tidy(() => tf.unsortedSegmentSum(tf.zeros([0, 3]), tf.tensor1d([], 'int32'), 2).arraySync());
      assert.deepEqual(empty, [[0, 0, 0], [0, 0, 0]]);
      const outOfRange = tf.tidy(() => tf.unsortedSegmentSum(tf.ones([2, 3]), tf.tensor1d([-1, 5], 'int32'), 2).arraySync());
      assert.deepEqual(outOfRange, [[0, 0, 0], [0, 0, 0]]);
    });

    it('gives embedding layers a gradient on wasm equal to cpu', async () => {
      const grads: Float32Array[] = [];
      for (const backend of ['wasm', 'cpu'] as const) {
        await tf.setBackend(backend);
        grads.push(tf.tidy(() => {
          const table = tf.tensor2d(Array.from({ length: 40 }, (_, k) => Math.sin(k)), [10, 4]);
          const ids = tf.tensor1d([1, 3, 3, 9, 0, 1], 'int32');
          const grad = tf.grad((t: tf.Tensor) => tf.gather(t, ids).square().sum())(table);
          return grad.dataSync() as Float32Array;
        }));
      }
      assertClose({ shape: [40], values: grads[0] }, { shape: [40], values: grads[1] }, 'embedding grad');
    });
  });

  it('leaks no tensors', async () => {
    await tf.setBackend('wasm');
    const random = createRandom(406);
    const before = tf.memory().numTensors;
    const inputs = { x: randomFloats(random, [20, 6, 6, 3]), dy: randomFloats(random, [20, 6, 6, 2]) };
    await runOn('wasm', 'Conv2DBackpropFilter', inputs, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 2] });
    assert.equal(tf.memory().numTensors, before);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const ids = backend.numDataIds();
    await runOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy: randomFloats(random, [2, 6, 6, 6]), filter: randomFloats(random, [3, 3, 3, 2]) },
      { strides: [1, 1], dilations: [1, 1], pad: 'same', inputShape: [2, 6, 6, 3] });
    await runOn('wasm', 'UnsortedSegmentSum', { x: randomFloats(random, [4, 2]), segmentIds: { shape: [4], values: Int32Array.from([0, -1, 2, 1]), dtype: 'int32' } }, { numSegments: 3 });
    assert.equal(backend.numDataIds(), ids);
  });

  describe('the cnn registry model on wasm', () => {
    const modelOptions = { featureCount: 784, imageShape: [28, 28, 1] as [number, number, number], numClasses: 10, seed: 7 };

    it('gets the same gradients for every weight as on cpu (one batch, after relu and max pools)', async () => {
      const data = await loadDataset('mnist');
      const batch = subsetSplit(data.train, data.featureCount, Int32Array.from([0, 1, 2]));
      let initial: Float32Array | null = null;
      const grads: Float32Array[][] = [];
      for (const backend of ['wasm', 'cpu'] as const) {
        await tf.setBackend(backend);
        const model = createModel('cnn', modelOptions);
        if (initial === null) initial = getFlatParams(model);
        else setFlatParams(model, initial);
        grads.push(tf.tidy(() => {
          const x = tf.tensor2d(batch.x, [batch.count, 784]);
          const y = tf.oneHot(tf.tensor1d(batch.y, 'int32'), 10);
          const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
          const { grads: byName } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, variables);
          return variables.map((v) => byName[v.name]!.dataSync() as Float32Array);
        }));
        model.dispose();
      }
      grads[0]!.forEach((wasmGrad, i) => {
        assertClose({ shape: [wasmGrad.length], values: wasmGrad }, { shape: [wasmGrad.length], values: grads[1]![i]! }, `weight ${i}`);
      });
    });

    it('trains: loss on the training rows falls from ~2.3 to under half in 40 adam steps', async () => {
      await tf.setBackend('wasm');
      const data = await loadDataset('mnist');
      const train = subsetSplit(data.train, data.featureCount, Int32Array.from({ length: 320 }, (_, i) => i));
      const model = createModel('cnn', modelOptions);
      const trainer = new Trainer({ model, train, featureCount: 784, numClasses: 10, batchSize: 32, learningRate: 3e-3, optimizer: 'adam', seed: 7 });
      const before = trainer.evaluate(train).loss;
      await trainer.trainSteps(1); // creates adam's moment variables
      const tensorsBefore = tf.memory().numTensors;
      await trainer.trainSteps(39);
      const after = trainer.evaluate(train).loss;
      assert.equal(tf.memory().numTensors, tensorsBefore, 'training steps leak no tensors');
      trainer.dispose();
      model.dispose();
      assert.ok(before > 2 && before < 2.6, `initial loss ${before}`);
      assert.ok(after < before / 2, `loss ${before} -> ${after}`);
    });
  });
});
