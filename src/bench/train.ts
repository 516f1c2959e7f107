/**
 * The training throughput benchmark behind `npm run bench:train`: local
 * training samples/s per backend, model and batch size, side by side in one
 * run (the machine is noisy). Each (backend, model, batch size) row runs in
 * its own child process, because a process picks its backend once: the
 * parent (runTrainBenchmark) starts the script again in worker mode, and the
 * worker (measureTrainRow) times one row on the embedded mnist data: a
 * warm-up of up to warmupSeconds, then optimizer steps for about seconds. A
 * row whose single step outlasts the warm-up (the cpu backend's cnn) is
 * timed on one step only. Rows report samples/s of compute wall time and per
 * CPU second (this machine is shared), tf.memory().numTensors before and
 * after the timed steps (a leak shows as a difference), and the wasm/cpu
 * speed-up per model and batch size against its targets. Backends that
 * cannot start here are listed as skipped.
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { formatTable } from '../cli/table.ts';

export interface TrainBenchRow {
  backend: string;
  model: string;
  batchSize: number;
  steps: number;
  samplesPerSecond: number;
  samplesPerCpuSecond: number;
  tensorsBefore: number;
  tensorsAfter: number;
  loadAverage: number;
}

export interface TrainBenchSpeedup {
  model: string;
  batchSize: number;
  wasmOverCpu: number;
  target: number | null;
}

/** Also the --json document. */
export interface TrainBenchResult {
  results: TrainBenchRow[];
  speedups: TrainBenchSpeedup[];
  skipped: { backend: string; reason: string }[];
}

export interface TrainBenchOptions {
  /** The script that runs one row when given `--worker B:M:N --seconds S --warmup-seconds S`. */
  workerScript: string;
  backends: string[];
  models: string[];
  batchSizes: number[];
  seconds: number;
  warmupSeconds: number;
  /** One line per finished row (the script sends these to stderr). */
  progress: (line: string) => void;
}

const WARMUP_MAX_STEPS = 30;
/** Speed-up targets of wasm over cpu (issue 4). */
const SPEEDUP_TARGETS: Record<string, number> = { mlp: 4, cnn: 20 };
/** Exit code of a worker whose backend cannot start here. */
export const EXIT_BACKEND_UNAVAILABLE = 3;

/**
 * Worker mode: times one backend, model and batch size in this process.
 * tfjs and the trainer load lazily, so the parent process never loads them.
 */
export async function measureTrainRow(
  backendName: string,
  modelName: string,
  batchSize: number,
  seconds: number,
  warmupSeconds: number,
): Promise<{ kind: 'row'; row: TrainBenchRow } | { kind: 'unavailable'; message: string }> {
  const tf = await import('@tensorflow/tfjs');
  const { BackendError, initBackend, isBackendName } = await import('../train/backend.ts');
  const { loadDataset } = await import('../train/dataset.ts');
  const { buildModel, isModelFile, isModelName } = await import('../train/models.ts');
  const { Trainer } = await import('../train/trainer.ts');
  if (!isBackendName(backendName)) throw new Error(`unknown backend ${backendName}`);
  if (!isModelName(modelName) && !isModelFile(modelName)) throw new Error(`unknown model ${modelName}`);
  try {
    await initBackend(backendName);
  } catch (err) {
    if (err instanceof BackendError && err.reason === 'unavailable') return { kind: 'unavailable', message: err.message };
    throw err;
  }
  const data = await loadDataset('mnist');
  const model = await buildModel(modelName, { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses, seed: 1 });
  const trainer = new Trainer({ model, train: data.train, featureCount: data.featureCount, numClasses: data.numClasses, batchSize, learningRate: 1e-3, optimizer: 'adam', seed: 1 });
  const warmup = await trainer.trainSteps(WARMUP_MAX_STEPS, { maxSliceMs: warmupSeconds * 1000 });
  // A row too slow for two warm-up steps gets one timed step (trainSteps always runs at least one).
  const timedMs = warmup.steps < 2 ? 0 : seconds * 1000;
  const tensorsBefore = tf.memory().numTensors;
  const cpu0 = process.cpuUsage();
  const result = await trainer.trainSteps(Number.MAX_SAFE_INTEGER, { maxSliceMs: timedMs });
  const cpu = process.cpuUsage(cpu0);
  const tensorsAfter = tf.memory().numTensors;
  trainer.dispose();
  model.dispose();
  return {
    kind: 'row',
    row: {
      backend: backendName,
      model: modelName,
      batchSize,
      steps: result.steps,
      samplesPerSecond: result.samplesPerSecond,
      samplesPerCpuSecond: result.samples / ((cpu.user + cpu.system) / 1e6),
      tensorsBefore,
      tensorsAfter,
      loadAverage: loadavg()[0]!,
    },
  };
}

/** Parent mode: one worker process per row, one after the other; the wasm/cpu speed-ups. */
export function runTrainBenchmark(options: TrainBenchOptions): TrainBenchResult {
  const { seconds, warmupSeconds } = options;
  const rows: TrainBenchRow[] = [];
  const skipped: { backend: string; reason: string }[] = [];
  for (const model of options.models) {
    for (const batchSize of options.batchSizes) {
      for (const backend of options.backends) {
        if (skipped.some((s) => s.backend === backend)) continue;
        const args = [options.workerScript, '--worker', `${backend}:${model}:${batchSize}`, '--seconds', String(seconds), '--warmup-seconds', String(warmupSeconds)];
        try {
          const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
          const row = JSON.parse(out.trim().split('\n').at(-1)!) as TrainBenchRow;
          rows.push(row);
          options.progress(`${backend} ${model} batch ${batchSize}: ${row.samplesPerSecond.toFixed(0)} samples/s (${row.steps} steps)`);
        } catch (err) {
          const failed = err as { status?: number; stderr?: string };
          if (failed.status !== EXIT_BACKEND_UNAVAILABLE) throw err;
          skipped.push({ backend, reason: (failed.stderr ?? '').trim().split('\n').at(-1) ?? 'unavailable' });
        }
      }
    }
  }
  const speedups: TrainBenchSpeedup[] = [];
  for (const wasm of rows.filter((r) => r.backend === 'wasm')) {
    const cpu = rows.find((r) => r.backend === 'cpu' && r.model === wasm.model && r.batchSize === wasm.batchSize);
    if (cpu !== undefined) speedups.push({ model: wasm.model, batchSize: wasm.batchSize, wasmOverCpu: wasm.samplesPerSecond / cpu.samplesPerSecond, target: SPEEDUP_TARGETS[wasm.model] ?? null });
  }
  return { results: rows, speedups, skipped };
}

/** The report: a blank line, the rows table, then (if any) a blank line and the speed-up table, then one line per skipped backend. */
export function formatTrainBenchReport(result: TrainBenchResult): string {
  const lines: string[] = ['', formatTable(
    ['backend', 'model', 'batch', 'steps', 'samples/s', 'samples/cpu-s', 'tensors before', 'tensors after', 'load avg'],
    result.results.map((r) => [r.backend, r.model, String(r.batchSize), String(r.steps), r.samplesPerSecond.toFixed(1), r.samplesPerCpuSecond.toFixed(1), String(r.tensorsBefore), String(r.tensorsAfter), r.loadAverage.toFixed(2)]),
  )];
  if (result.speedups.length > 0) {
    lines.push('', formatTable(
      ['model', 'batch', 'wasm / cpu', 'target', 'met'],
      result.speedups.map((s) => [s.model, String(s.batchSize), `${s.wasmOverCpu.toFixed(1)}x`, s.target === null ? '-' : `>= ${s.target}x`, s.target === null ? '-' : s.wasmOverCpu >= s.target ? 'yes' : 'NO']),
    ));
  }
  for (const s of result.skipped) lines.push(`skipped ${s.backend}: ${s.reason}`);
  return lines.join('\n');
}
