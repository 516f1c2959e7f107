/**
 * The codec benchmark behind `npm run bench:codec`: how small, how accurate
 * and how fast is each codec spec? Side by side in one run (the machine is
 * noisy), on (a) mlp-delta: a real parameter delta, the `mlp` after minus
 * before some training steps on the embedded mnist data, and (b) synthetic:
 * delta-like vectors of given lengths (Gaussian, 2% of entries 10x larger:
 * parameter deltas are heavy-tailed). Per spec: payload bytes, ratio vs f32
 * (4 bytes/param), bits/param, relative L2 error ||decoded - x|| / ||x||,
 * encode and decode throughput in M params/s (median of timed runs after a
 * warm-up; wall clock, and per CPU second because this machine is shared),
 * and a memcpy row (copying the same Float32Array) as the physical
 * reference. Deterministic rounding unless the row says stochastic.
 */
import { availableParallelism, loadavg } from 'node:os';
import { formatTable } from '../cli/table.ts';
import { createCodec, DEFAULT_CODEC_SPEC } from '../protocol/codec/index.ts';
import { initBackend } from '../train/backend.ts';
import { loadDataset } from '../train/dataset.ts';
import { createModel } from '../train/models.ts';
import { getFlatParams } from '../train/params.ts';
import { createRandom, normal } from '../train/random.ts';
import { Trainer } from '../train/trainer.ts';
import type { OptimizerName } from '../train/trainer.ts';

export const CODEC_BENCH_SPECS = [
  'f32',
  'f16',
  'q8',
  'q4',
  'q2',
  'q1',
  'q8+deflate',
  'q4+deflate',
  'topk:0.1+q8',
  'topk:0.01+f16',
  'topk:0.01+q8',
  'topk:0.01+q4',
  'topk:0.01+q2',
  'topk:0.01+q4+deflate',
  'topk:0.01+q4+brotli',
  'topk:0.01+q2+deflate',
  'topk:0.03+q4+deflate',
  'topk:0.003+q4',
  'topk:0.001+q4',
];
/** Rows also timed with stochastic rounding (a seeded random source passed to encode). */
export const CODEC_BENCH_STOCHASTIC_SPECS = ['q8', 'q4', DEFAULT_CODEC_SPEC];

export interface CodecBenchOptions {
  /** Training steps between the two mlp snapshots of the real delta (0: no mlp-delta input). */
  steps: number;
  /** Optimizer and learning rate of those steps, as given on the command line. */
  optimizer: string;
  learningRate: string;
  /** Lengths of the synthetic vectors. */
  sizes: number[];
  /** Time each spec until its timed runs add up to this (at least 2 runs). */
  minMs: number;
  /** Timed runs per spec at most. */
  maxRuns: number;
  seed: number;
  /** Where progress lines and tables go. */
  log: (line: string) => void;
}

export interface CodecBenchRow {
  codec: string;
  input: 'mlp-delta' | 'synthetic';
  params: number;
  bytes: number;
  ratio: number;
  bitsPerParam: number;
  relL2: number;
  encodeMps: number;
  decodeMps: number;
  encodeCpuMps: number;
  decodeCpuMps: number;
  rounding: 'deterministic' | 'stochastic' | 'none';
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Median wall and CPU milliseconds of fn over >= 2 runs and >= minMs in
 * total (after the caller's warm-up). CPU time is reported too because this
 * machine is shared (load average often far above its 2 cores): wall time
 * then measures the neighbours as much as the code.
 */
function timeMs(fn: () => void, minMs: number, maxRuns: number): { wall: number; cpu: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  let total = 0;
  while (walls.length < 2 || (total < minMs && walls.length < maxRuns)) {
    const startCpu = cpuMs();
    const start = performance.now();
    fn();
    const ms = performance.now() - start;
    cpus.push(cpuMs() - startCpu);
    walls.push(ms);
    total += ms;
  }
  return { wall: median(walls), cpu: Math.max(median(cpus), 1e-3) };
}

function relativeL2(x: Float32Array, y: Float32Array): number {
  let error = 0;
  let norm = 0;
  for (let i = 0; i < x.length; i++) {
    const d = y[i]! - x[i]!;
    error += d * d;
    norm += x[i]! * x[i]!;
  }
  return norm === 0 ? 0 : Math.sqrt(error / norm);
}

function measure(options: CodecBenchOptions, values: Float32Array, input: CodecBenchRow['input'], spec: string, stochastic: boolean): CodecBenchRow {
  const codec = createCodec(spec);
  const n = values.length;
  const encodeOptions = stochastic ? { random: createRandom(options.seed) } : {};
  const bytes = codec.encode(values, encodeOptions); // warm-up run, also the measured payload
  const decoded = codec.decode(bytes, n);
  const relL2 = relativeL2(values, decoded);
  const encodeMs = timeMs(() => codec.encode(values, encodeOptions), options.minMs, options.maxRuns);
  const decodeMs = timeMs(() => codec.decode(bytes, n), options.minMs, options.maxRuns);
  return {
    codec: spec,
    input,
    params: n,
    bytes: bytes.length,
    ratio: (4 * n) / bytes.length,
    bitsPerParam: (8 * bytes.length) / n,
    relL2,
    encodeMps: n / encodeMs.wall / 1000,
    decodeMps: n / decodeMs.wall / 1000,
    encodeCpuMps: n / encodeMs.cpu / 1000,
    decodeCpuMps: n / decodeMs.cpu / 1000,
    rounding: stochastic ? 'stochastic' : 'deterministic',
  };
}

function memcpyRow(options: CodecBenchOptions, values: Float32Array, input: CodecBenchRow['input']): CodecBenchRow {
  const copy = new Float32Array(values.length);
  copy.set(values);
  const ms = timeMs(() => copy.set(values), options.minMs, options.maxRuns);
  const mps = values.length / ms.wall / 1000;
  const cpuMps = values.length / ms.cpu / 1000;
  return { codec: 'memcpy', input, params: values.length, bytes: values.length * 4, ratio: 1, bitsPerParam: 32, relL2: 0, encodeMps: mps, decodeMps: mps, encodeCpuMps: cpuMps, decodeCpuMps: cpuMps, rounding: 'none' };
}

async function mlpDelta(options: CodecBenchOptions): Promise<Float32Array> {
  const { seed } = options;
  const backend = await initBackend('auto');
  const data = await loadDataset('mnist');
  const model = createModel('mlp', { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses, seed });
  const trainer = new Trainer({
    model,
    train: data.train,
    featureCount: data.featureCount,
    numClasses: data.numClasses,
    learningRate: Number(options.learningRate),
    optimizer: options.optimizer as OptimizerName,
    seed,
  });
  try {
    const before = getFlatParams(model);
    const result = await trainer.trainSteps(options.steps);
    const after = getFlatParams(model);
    const delta = new Float32Array(after.length);
    for (let i = 0; i < delta.length; i++) delta[i] = after[i]! - before[i]!;
    let zeros = 0;
    for (let i = 0; i < delta.length; i++) if (delta[i] === 0) zeros++;
    options.log(
      `mlp delta: ${delta.length} params after ${result.steps} ${options.optimizer} steps (lr ${options.learningRate}, batch 32, backend ${backend}, loss ${result.loss.toFixed(3)}), ${((100 * zeros) / delta.length).toFixed(1)}% exactly zero`,
    );
    return delta;
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

function synthetic(n: number, seed: number): Float32Array {
  const random = createRandom(seed + n);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = normal(random) * 0.001 * (random() < 0.02 ? 10 : 1);
  return values;
}

/** One block of rows (one input) as the printed table. */
export function formatCodecBenchTable(rows: CodecBenchRow[]): string {
  const header = ['input', 'params', 'codec', 'rounding', 'bytes', 'ratio', 'bits/param', 'relL2', 'enc M/s', 'dec M/s', 'enc cpu', 'dec cpu'];
  const cells = rows.map((r) => [
    r.input,
    String(r.params),
    r.codec,
    r.rounding === 'stochastic' ? 'stoch' : r.rounding === 'none' ? '-' : 'det',
    String(r.bytes),
    r.ratio.toFixed(1),
    r.bitsPerParam.toFixed(3),
    r.relL2.toFixed(4),
    r.encodeMps.toFixed(1),
    r.decodeMps.toFixed(1),
    r.encodeCpuMps.toFixed(1),
    r.decodeCpuMps.toFixed(1),
  ]);
  return formatTable(header, cells, { leftColumns: 4, rule: true });
}

/** Runs every spec on every input; logs a table per input and the summary lines; returns all rows. */
export async function runCodecBenchmark(options: CodecBenchOptions): Promise<CodecBenchRow[]> {
  const { log } = options;
  log(`load average at the start: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (${availableParallelism()} cores)`);
  const inputs: Array<{ input: CodecBenchRow['input']; values: Float32Array }> = [];
  if (options.steps > 0) inputs.push({ input: 'mlp-delta', values: await mlpDelta(options) });
  for (const n of options.sizes) inputs.push({ input: 'synthetic', values: synthetic(n, options.seed) });

  const rows: CodecBenchRow[] = [];
  for (const { input, values } of inputs) {
    const block: CodecBenchRow[] = [memcpyRow(options, values, input)];
    for (const spec of new Set([...CODEC_BENCH_SPECS, DEFAULT_CODEC_SPEC])) block.push(measure(options, values, input, spec, false));
    for (const spec of CODEC_BENCH_STOCHASTIC_SPECS) block.push(measure(options, values, input, spec, true));
    rows.push(...block);
    log(formatCodecBenchTable(block));
    log('');
  }

  const defaultOnDelta = rows.find((r) => r.input === 'mlp-delta' && r.codec === DEFAULT_CODEC_SPEC && r.rounding === 'deterministic');
  const q8At1M = rows.find((r) => r.input === 'synthetic' && r.params === 1_000_000 && r.codec === 'q8' && r.rounding === 'deterministic');
  log(`default codec ${DEFAULT_CODEC_SPEC}: ${defaultOnDelta ? `${defaultOnDelta.ratio.toFixed(1)}x smaller than f32 on the mlp delta (target >= 100x)` : 'no mlp-delta row'}`);
  if (q8At1M) {
    log(
      `q8 at 1,000,000 params: encode ${q8At1M.encodeMps.toFixed(1)} M/s wall, ${q8At1M.encodeCpuMps.toFixed(1)} M/s per CPU second (target >= 50); ` +
        `decode ${q8At1M.decodeMps.toFixed(1)} wall, ${q8At1M.decodeCpuMps.toFixed(1)} per CPU second (target >= 100)`,
    );
  }
  log(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (${availableParallelism()} cores)`);
  return rows;
}

/** The --json document: {"defaultCodec", "results": [...]} with rounded figures. */
export function codecBenchJson(rows: CodecBenchRow[]): { defaultCodec: string; results: Array<Record<string, unknown>> } {
  const round = (x: number, digits: number): number => Number(x.toFixed(digits));
  const results = rows.map((r) => ({
    codec: r.codec,
    input: r.input,
    params: r.params,
    bytes: r.bytes,
    ratio: round(r.ratio, 3),
    relL2: round(r.relL2, 6),
    encodeMps: round(r.encodeMps, 2),
    decodeMps: round(r.decodeMps, 2),
    encodeCpuMps: round(r.encodeCpuMps, 2),
    decodeCpuMps: round(r.decodeCpuMps, 2),
    bitsPerParam: round(r.bitsPerParam, 4),
    rounding: r.rounding,
  }));
  return { defaultCodec: DEFAULT_CODEC_SPEC, results };
}
