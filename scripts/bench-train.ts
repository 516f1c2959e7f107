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
 *
 * The benchmark lives in src/bench/train.ts; this script is also its worker
 * (--worker runs one row in this process).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT_BACKEND_UNAVAILABLE, formatTrainBenchReport, measureTrainRow, runTrainBenchmark } from '../src/bench/train.ts';
import { parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';

const NAME = 'bench:train';
const { values } = parseScriptArgs({
  name: NAME,
  usage: 'npm run bench:train -- [options]',
  summary: `Local training throughput (samples/s) per backend, model and batch size, side
by side, each row in its own child process on the embedded mnist data; the
wasm/cpu speed-up against its targets. Backends that cannot start are skipped.`,
  options: {
    backends: { type: 'string', default: 'tensorflow,wasm,cpu', arg: 'LIST', help: 'backends to time' },
    models: { type: 'string', default: 'mlp,cnn', arg: 'LIST', help: 'registry models to time, or PATH/model.json files (tfjs LayersModels taking MNIST rows: 784 inputs, 10 outputs)' },
    'batch-sizes': { type: 'string', default: '32,256', arg: 'LIST', help: 'batch sizes to time' },
    seconds: { type: 'string', default: '8', arg: 'S', help: 'timed training per row' },
    'warmup-seconds': { type: 'string', default: '2', arg: 'S', help: 'warm-up per row (at most 30 steps)' },
    json: { type: 'string', arg: 'FILE', output: true, help: 'write the figures as JSON here' },
    worker: { type: 'string', arg: 'B:M:N', help: 'internal: time one backend:model:batch row and print it as JSON' },
  },
});
const seconds = scriptNumber(values.seconds, '--seconds', NAME, { min: 0 });
const warmupSeconds = scriptNumber(values['warmup-seconds'], '--warmup-seconds', NAME, { min: 0 });
for (const batch of values['batch-sizes'].split(',')) scriptNumber(batch, '--batch-sizes', NAME, { integer: true, min: 1 });

if (values.worker !== undefined) {
  const [backend, model, batch] = values.worker.split(':') as [string, string, string];
  const measured = await measureTrainRow(backend, model, Number(batch), seconds, warmupSeconds);
  if (measured.kind === 'unavailable') {
    console.error(measured.message);
    process.exit(EXIT_BACKEND_UNAVAILABLE);
  }
  console.log(JSON.stringify(measured.row));
} else {
  const result = runTrainBenchmark({
    workerScript: fileURLToPath(import.meta.url),
    backends: values.backends.split(','),
    models: values.models.split(','),
    batchSizes: values['batch-sizes'].split(',').map(Number),
    seconds,
    warmupSeconds,
    progress: (line) => console.error(line),
  });
  console.log(formatTrainBenchReport(result));
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
}
