/**
 * `npm run bench:train`: local training throughput per backend and model,
 * side by side in one run (the machine is noisy). Each backend runs in its
 * own child process (a process picks its backend once), on the embedded
 * mnist data: a warm-up, then --steps timed optimizer steps. Reports
 * samples/s of wall time and per CPU second (this machine is shared), and
 * tf.memory().numTensors before and after the timed steps (a leak shows as
 * a difference).
 *
 *   npm run bench:train -- [--backends wasm,cpu] [--models mlp] [--batch-size 32] [--steps 300] [--json FILE]
 *
 * --json writes {"results": [{backend, model, batchSize, steps, samplesPerSecond,
 * samplesPerCpuSecond, tensorsBefore, tensorsAfter, loadAverage}, ...]}.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

const WARMUP_STEPS = 30;

/** Child mode: one backend, one model; prints one JSON row. */
async function measure(backendName: string, modelName: string, batchSize: number, steps: number): Promise<Row> {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend, isBackendName } = await import('../src/train/backend.ts');
  const { loadDataset } = await import('../src/train/dataset.ts');
  const { createModel, isModelName } = await import('../src/train/models.ts');
  const { Trainer } = await import('../src/train/trainer.ts');
  if (!isBackendName(backendName)) throw new Error(`unknown backend ${backendName}`);
  if (!isModelName(modelName)) throw new Error(`unknown model ${modelName}`);
  await initBackend(backendName);
  const data = await loadDataset('mnist');
  const model = createModel(modelName, { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses, seed: 1 });
  const trainer = new Trainer({ model, train: data.train, featureCount: data.featureCount, numClasses: data.numClasses, batchSize, learningRate: 1e-3, optimizer: 'adam', seed: 1 });
  await trainer.trainSteps(WARMUP_STEPS);
  const tensorsBefore = tf.memory().numTensors;
  const cpu0 = process.cpuUsage();
  const result = await trainer.trainSteps(steps);
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

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,cpu' },
    models: { type: 'string', default: 'mlp' },
    'batch-size': { type: 'string', default: '32' },
    steps: { type: 'string', default: '300' },
    json: { type: 'string' },
    worker: { type: 'string' },
  },
});
const batchSize = Number(values['batch-size']);
const steps = Number(values.steps);

if (values.worker !== undefined) {
  const [backend, model] = values.worker.split(':') as [string, string];
  console.log(JSON.stringify(await measure(backend, model, batchSize, steps)));
} else {
  const self = fileURLToPath(import.meta.url);
  const rows: Row[] = [];
  for (const model of values.models.split(',')) {
    for (const backend of values.backends.split(',')) {
      const out = execFileSync(process.execPath, [self, '--worker', `${backend}:${model}`, '--batch-size', String(batchSize), '--steps', String(steps)], { encoding: 'utf8' });
      rows.push(JSON.parse(out.trim().split('\n').at(-1)!) as Row);
    }
  }
  const header = ['backend', 'model', 'batch', 'steps', 'samples/s', 'samples/cpu-s', 'tensors before', 'tensors after', 'load avg'];
  const table = rows.map((r) => [r.backend, r.model, String(r.batchSize), String(r.steps), r.samplesPerSecond.toFixed(0), r.samplesPerCpuSecond.toFixed(0), String(r.tensorsBefore), String(r.tensorsAfter), r.loadAverage.toFixed(2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify({ results: rows }, null, 2)}\n`);
}
