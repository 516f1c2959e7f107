/**
 * `npm run bench:accuracy`: centralized training of `mlp` and `cnn` on the
 * full Fashion-MNIST training set (60k) for a fixed number of epochs, then
 * accuracy on the full test set (10k): the baseline that gossip runs are
 * compared against. One process, one backend (auto: wasm here). Without the
 * Debian package dataset-fashion-mnist it says so and uses embedded mnist.
 *
 *   npm run bench:accuracy -- [--models mlp,cnn] [--data fashion-mnist] [--epochs-mlp 6] [--epochs-cnn 5]
 *                             [--batch-size 32] [--learning-rate 0.001] [--backend auto] [--max-minutes 19] [--json FILE]
 *
 * --max-minutes bounds the whole run (this machine is shared): a model still
 * training at the deadline stops there, and its row says how many epochs it
 * completed. Targets: mlp >= 0.87, cnn >= 0.89 test accuracy.
 *
 * --json writes {"data", "backend", "results": [{model, params, epochs, epochsPlanned,
 * batchSize, learningRate, testAccuracy, testLoss, trainSeconds, wallSeconds,
 * samplesPerSecond, target, perEpoch: [{epoch, testAccuracy, testLoss, seconds}]}]}.
 */
import { writeFileSync } from 'node:fs';
import { exitScriptUsage, parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { formatTable } from '../src/cli/table.ts';
import { initBackend, isBackendName } from '../src/train/backend.ts';
import { DataError, loadDataset, type Dataset } from '../src/train/dataset.ts';
import { createModel, isModelName, type ModelName } from '../src/train/models.ts';
import { paramCount } from '../src/train/params.ts';
import { Trainer } from '../src/train/trainer.ts';

const ACCURACY_TARGETS: Record<string, number> = { mlp: 0.87, cnn: 0.89 };
const SEED = 1;

interface EpochRow {
  epoch: number;
  testAccuracy: number;
  testLoss: number;
  seconds: number;
}

interface ResultRow {
  model: ModelName;
  params: number;
  epochs: number;
  epochsPlanned: number;
  batchSize: number;
  learningRate: number;
  testAccuracy: number;
  testLoss: number;
  /** Time inside optimizer steps. */
  trainSeconds: number;
  /** Everything for this model: steps, yields, per-epoch evaluations. */
  wallSeconds: number;
  samplesPerSecond: number;
  target: number | null;
  perEpoch: EpochRow[];
}

const NAME = 'bench:accuracy';
const { values: args } = parseScriptArgs({
  name: NAME,
  usage: 'npm run bench:accuracy -- [options]',
  summary: `Centralized training of each model on the full training set for a fixed
number of epochs, then accuracy on the full test split: the baseline gossip
runs are compared to. Falls back to the embedded mnist when Fashion-MNIST is
not installed (apt-get install dataset-fashion-mnist).`,
  options: {
    models: { type: 'string', default: 'mlp,cnn', arg: 'LIST', help: 'registry models: mlp | mlp-small | cnn' },
    data: { type: 'string', default: 'fashion-mnist', arg: 'SPEC', help: 'data source' },
    'epochs-mlp': { type: 'string', default: '6', arg: 'N', help: 'epochs of mlp' },
    'epochs-cnn': { type: 'string', default: '5', arg: 'N', help: 'epochs of cnn' },
    'epochs-mlp-small': { type: 'string', default: '6', arg: 'N', help: 'epochs of mlp-small' },
    'batch-size': { type: 'string', default: '32', arg: 'N', help: 'rows per adam step' },
    'learning-rate': { type: 'string', default: '0.001', arg: 'X', help: 'adam step size' },
    backend: { type: 'string', default: 'auto', arg: 'NAME', help: 'auto | tensorflow | wasm | cpu' },
    'max-minutes': { type: 'string', default: '19', arg: 'M', help: 'bound on the whole run; a model training at the deadline stops there' },
    json: { type: 'string', arg: 'FILE', help: 'write the figures as JSON here' },
  },
});

const models = args.models.split(',');
for (const name of models) if (!isModelName(name)) exitScriptUsage(`${NAME}: --models: unknown model '${name}'`);
const batchSize = scriptNumber(args['batch-size'], '--batch-size', NAME, { integer: true, min: 1 });
const learningRate = scriptNumber(args['learning-rate'], '--learning-rate', NAME, { positive: true });
const deadline = performance.now() + scriptNumber(args['max-minutes'], '--max-minutes', NAME, { min: 0 }) * 60_000;
if (args.backend !== 'auto' && !isBackendName(args.backend)) exitScriptUsage(`${NAME}: --backend: unknown backend '${args.backend}'`);

const backend = await initBackend(args.backend as 'auto', { log: (line) => console.log(line) });

async function loadData(spec: string): Promise<{ data: Dataset; spec: string }> {
  try {
    return { data: await loadDataset(spec), spec };
  } catch (err) {
    if (!(err instanceof DataError) || spec === 'mnist') throw err;
    console.log(`${spec} is not available (${err.message}); using the embedded mnist instead.`);
    console.log('For Fashion-MNIST: apt-get update && apt-get install -y dataset-fashion-mnist');
    return { data: await loadDataset('mnist'), spec: 'mnist' };
  }
}
const { data, spec: dataSpec } = await loadData(args.data);
console.log(`data: ${dataSpec} (${data.train.count} train, ${data.test.count} test), batch ${batchSize}, adam lr ${learningRate}, deadline ${args['max-minutes']} min`);

const results: ResultRow[] = [];
for (const name of models as ModelName[]) {
  const epochsPlanned = Number(args[`epochs-${name}` as 'epochs-mlp']);
  const started = performance.now();
  const model = createModel(name, { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses, seed: SEED });
  const trainer = new Trainer({ model, train: data.train, featureCount: data.featureCount, numClasses: data.numClasses, batchSize, learningRate, optimizer: 'adam', seed: SEED });
  const perEpoch: EpochRow[] = [];
  let trainMs = 0;
  let samples = 0;
  let evaluation = { accuracy: Number.NaN, loss: Number.NaN };
  for (let epoch = 1; epoch <= epochsPlanned; epoch++) {
    const remainingMs = deadline - performance.now();
    if (remainingMs <= 0) break;
    const result = await trainer.trainSteps(trainer.stepsPerEpoch, { maxSliceMs: remainingMs });
    trainMs += result.samplesPerSecond > 0 ? (result.samples * 1000) / result.samplesPerSecond : 0;
    samples += result.samples;
    if (result.steps < trainer.stepsPerEpoch) {
      console.log(`${name}: deadline reached during epoch ${epoch} (${result.steps}/${trainer.stepsPerEpoch} steps); evaluating as is`);
      evaluation = trainer.evaluate(data.test);
      break;
    }
    evaluation = trainer.evaluate(data.test);
    const seconds = (performance.now() - started) / 1000;
    perEpoch.push({ epoch, testAccuracy: evaluation.accuracy, testLoss: evaluation.loss, seconds });
    console.log(`${name} epoch ${epoch}/${epochsPlanned}: test accuracy ${evaluation.accuracy.toFixed(4)}, loss ${evaluation.loss.toFixed(4)}, ${seconds.toFixed(0)} s, ${(result.samplesPerSecond).toFixed(0)} samples/s`);
  }
  results.push({
    model: name,
    params: paramCount(model),
    epochs: perEpoch.length,
    epochsPlanned,
    batchSize,
    learningRate,
    testAccuracy: evaluation.accuracy,
    testLoss: evaluation.loss,
    trainSeconds: trainMs / 1000,
    wallSeconds: (performance.now() - started) / 1000,
    samplesPerSecond: trainMs > 0 ? (samples * 1000) / trainMs : 0,
    target: ACCURACY_TARGETS[name] ?? null,
    perEpoch,
  });
  trainer.dispose();
  model.dispose();
}

const header = ['model', 'params', 'epochs', 'test acc', 'test loss', 'train s', 'wall s', 'samples/s', 'target', 'met'];
const table = results.map((r) => [
  r.model,
  String(r.params),
  r.epochs === r.epochsPlanned ? String(r.epochs) : `${r.epochs}/${r.epochsPlanned} (deadline)`,
  r.testAccuracy.toFixed(4),
  r.testLoss.toFixed(4),
  r.trainSeconds.toFixed(0),
  r.wallSeconds.toFixed(0),
  r.samplesPerSecond.toFixed(0),
  r.target === null ? '-' : `>= ${r.target}`,
  r.target === null ? '-' : r.testAccuracy >= r.target ? 'yes' : 'NO',
]);
console.log(`\ncentralized training on ${dataSpec}, backend ${backend}, batch ${batchSize}, adam lr ${learningRate}`);
console.log(formatTable(header, table));
if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify({ data: dataSpec, backend, results }, null, 2)}\n`);
