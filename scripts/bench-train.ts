/**
 * `npm run bench:train`: local training throughput (samples/s) per backend,
 * model and batch size, side by side in one run (the machine is noisy).
 * Each (backend, model, batch size) row runs in its own child process (a
 * process picks its backend once), on the embedded mnist data: a warm-up of
 * up to --warmup-seconds, then optimizer steps for about --seconds. A row
 * whose single step outlasts the warm-up (the cpu backend's cnn) is timed on
 * one step only: a short run, said in the steps column. Reports samples/s of
 * compute wall time and per CPU second (this machine is shared), the
 * tf.memory().numTensors before and after the timed steps (a leak shows as a
 * difference), and the wasm/cpu speed-up per model and batch size against
 * the targets (mlp >= 4x, cnn >= 20x). Backends that cannot start here
 * (tensorflow without tfjs-node) are listed as skipped.
 *
 *   npm run bench:train -- [--backends tensorflow,wasm,cpu] [--models mlp,cnn] [--batch-sizes 32,256]
 *                          [--seconds 8] [--warmup-seconds 2] [--json FILE]
 *
 * --json writes {"results": [{backend, model, batchSize, steps, samplesPerSecond,
 * samplesPerCpuSecond, tensorsBefore, tensorsAfter, loadAverage}, ...],
 * "speedups": [{model, batchSize, wasmOverCpu, target}], "skipped": [{backend, reason}]}.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { formatTable } from '../src/cli/table.ts';

interface Row {
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

const WARMUP_MAX_STEPS = 30;
/** Speed-up targets of wasm over cpu (issue 4). */
const SPEEDUP_TARGETS: Record<string, number> = { mlp: 4, cnn: 20 };
/** Exit code of a worker whose backend cannot start here. */
const EXIT_BACKEND_UNAVAILABLE = 3;

/** Child mode: one backend, model and batch size; prints one JSON row. */
async function measure(backendName: string, modelName: string, batchSize: number, seconds: number, warmupSeconds: number): Promise<Row> {
  const tf = await import('@tensorflow/tfjs');
  const { BackendError, initBackend, isBackendName } = await import('../src/train/backend.ts');
  const { loadDataset } = await import('../src/train/dataset.ts');
  const { createModel, isModelName } = await import('../src/train/models.ts');
  const { Trainer } = await import('../src/train/trainer.ts');
  if (!isBackendName(backendName)) throw new Error(`unknown backend ${backendName}`);
  if (!isModelName(modelName)) throw new Error(`unknown model ${modelName}`);
  try {
    await initBackend(backendName);
  } catch (err) {
    if (err instanceof BackendError && err.reason === 'unavailable') {
      console.error(err.message);
      process.exit(EXIT_BACKEND_UNAVAILABLE);
    }
    throw err;
  }
  const data = await loadDataset('mnist');
  const model = createModel(modelName, { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses, seed: 1 });
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
    backend: backendName,
    model: modelName,
    batchSize,
    steps: result.steps,
    samplesPerSecond: result.samplesPerSecond,
    samplesPerCpuSecond: result.samples / ((cpu.user + cpu.system) / 1e6),
    tensorsBefore,
    tensorsAfter,
    loadAverage: loadavg()[0]!,
  };
}

function printTable(header: string[], rows: string[][]): void {
  console.log(formatTable(header, rows));
}

const NAME = 'bench:train';
const { values } = parseScriptArgs({
  name: NAME,
  usage: 'npm run bench:train -- [options]',
  summary: `Local training throughput (samples/s) per backend, model and batch size, side
by side, each row in its own child process on the embedded mnist data; the
wasm/cpu speed-up against its targets. Backends that cannot start are skipped.`,
  options: {
    backends: { type: 'string', default: 'tensorflow,wasm,cpu', arg: 'LIST', help: 'backends to time' },
    models: { type: 'string', default: 'mlp,cnn', arg: 'LIST', help: 'registry models to time' },
    'batch-sizes': { type: 'string', default: '32,256', arg: 'LIST', help: 'batch sizes to time' },
    seconds: { type: 'string', default: '8', arg: 'S', help: 'timed training per row' },
    'warmup-seconds': { type: 'string', default: '2', arg: 'S', help: 'warm-up per row (at most 30 steps)' },
    json: { type: 'string', arg: 'FILE', help: 'write the figures as JSON here' },
    worker: { type: 'string', arg: 'B:M:N', help: 'internal: time one backend:model:batch row and print it as JSON' },
  },
});
const seconds = scriptNumber(values.seconds, '--seconds', NAME, { min: 0 });
const warmupSeconds = scriptNumber(values['warmup-seconds'], '--warmup-seconds', NAME, { min: 0 });
for (const batch of values['batch-sizes'].split(',')) scriptNumber(batch, '--batch-sizes', NAME, { integer: true, min: 1 });

if (values.worker !== undefined) {
  const [backend, model, batch] = values.worker.split(':') as [string, string, string];
  console.log(JSON.stringify(await measure(backend, model, Number(batch), seconds, warmupSeconds)));
} else {
  const self = fileURLToPath(import.meta.url);
  const rows: Row[] = [];
  const skipped: { backend: string; reason: string }[] = [];
  const batchSizes = values['batch-sizes'].split(',').map(Number);
  for (const model of values.models.split(',')) {
    for (const batchSize of batchSizes) {
      for (const backend of values.backends.split(',')) {
        if (skipped.some((s) => s.backend === backend)) continue;
        const args = [self, '--worker', `${backend}:${model}:${batchSize}`, '--seconds', String(seconds), '--warmup-seconds', String(warmupSeconds)];
        try {
          const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
          const row = JSON.parse(out.trim().split('\n').at(-1)!) as Row;
          rows.push(row);
          console.error(`${backend} ${model} batch ${batchSize}: ${row.samplesPerSecond.toFixed(0)} samples/s (${row.steps} steps)`);
        } catch (err) {
          const failed = err as { status?: number; stderr?: string };
          if (failed.status !== EXIT_BACKEND_UNAVAILABLE) throw err;
          skipped.push({ backend, reason: (failed.stderr ?? '').trim().split('\n').at(-1) ?? 'unavailable' });
        }
      }
    }
  }
  console.log();
  printTable(
    ['backend', 'model', 'batch', 'steps', 'samples/s', 'samples/cpu-s', 'tensors before', 'tensors after', 'load avg'],
    rows.map((r) => [r.backend, r.model, String(r.batchSize), String(r.steps), r.samplesPerSecond.toFixed(1), r.samplesPerCpuSecond.toFixed(1), String(r.tensorsBefore), String(r.tensorsAfter), r.loadAverage.toFixed(2)]),
  );
  const speedups: { model: string; batchSize: number; wasmOverCpu: number; target: number | null }[] = [];
  for (const wasm of rows.filter((r) => r.backend === 'wasm')) {
    const cpu = rows.find((r) => r.backend === 'cpu' && r.model === wasm.model && r.batchSize === wasm.batchSize);
    if (cpu !== undefined) speedups.push({ model: wasm.model, batchSize: wasm.batchSize, wasmOverCpu: wasm.samplesPerSecond / cpu.samplesPerSecond, target: SPEEDUP_TARGETS[wasm.model] ?? null });
  }
  if (speedups.length > 0) {
    console.log();
    printTable(
      ['model', 'batch', 'wasm / cpu', 'target', 'met'],
      speedups.map((s) => [s.model, String(s.batchSize), `${s.wasmOverCpu.toFixed(1)}x`, s.target === null ? '-' : `>= ${s.target}x`, s.target === null ? '-' : s.wasmOverCpu >= s.target ? 'yes' : 'NO']),
    );
  }
  for (const s of skipped) console.log(`skipped ${s.backend}: ${s.reason}`);
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify({ results: rows, speedups, skipped }, null, 2)}\n`);
}
