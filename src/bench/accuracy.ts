/**
 * The accuracy baseline behind `npm run bench:accuracy`: centralized
 * training of each model (a registry name, or a tfjs LayersModel file
 * `PATH/model.json` built as the daemon builds it, src/train/model-spec.ts)
 * on the full training set (Fashion-MNIST by default) for a fixed number of
 * epochs, then accuracy on the full test split: the figure gossip runs are
 * compared against. One process, one backend. A deadline bounds the whole
 * run (the machine is shared): a model still training at the deadline stops
 * there and its row says how many epochs it completed. Without the
 * Fashion-MNIST files it says so and falls back to the embedded mnist (no
 * other data falls back: a missing CSV is an error).
 * Targets: mlp >= 0.87, cnn >= 0.89 (none for a model file).
 */
import { formatTable } from '../cli/table.ts';
import { initBackend, type BackendName } from '../train/backend.ts';
import { DataError, loadDataset, type DataOptions, type Dataset } from '../train/dataset.ts';
import { buildReplica, describeModel, modelSpecImageShape } from '../train/model-spec.ts';
import { isModelFile, type ModelName } from '../train/models.ts';
import { Trainer } from '../train/trainer.ts';

const ACCURACY_TARGETS: Record<string, number> = { mlp: 0.87, cnn: 0.89 };
const SEED = 1;

export interface AccuracyBenchOptions {
  /** Registry names or `PATH/model.json` files. */
  models: string[];
  /** Data source spec; fashion-mnist falls back to 'mnist' when it is not installed. */
  data: string;
  /** The data schema and test set (--classes, --csv-delimiter, --normalization, --test-data), as `train` reads them. */
  dataOptions: DataOptions;
  /** Planned epochs per registry model, and (`file`) for each model file. */
  epochs: Record<ModelName | 'file', number>;
  batchSize: number;
  learningRate: number;
  backend: BackendName | 'auto';
  /** Bound on the whole run, and its text as given (shown in the log). */
  maxMinutes: number;
  maxMinutesText: string;
  log: (line: string) => void;
}

export interface AccuracyEpochRow {
  epoch: number;
  testAccuracy: number;
  testLoss: number;
  seconds: number;
}

export interface AccuracyResultRow {
  /** The --models entry: a registry name or a model file's path. */
  model: string;
  params: number;
  /** The model hash (topology, weight shapes, data schema; src/train/models.ts modelHash). */
  modelHash: string;
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
  perEpoch: AccuracyEpochRow[];
}

/** Also the --json document. */
export interface AccuracyBenchResult {
  data: string;
  backend: string;
  results: AccuracyResultRow[];
}

/** Loads `spec`; only Fashion-MNIST, the default that may not be installed, falls back to the embedded mnist: any other data problem is thrown (DataError), never swapped for other data. */
async function loadData(spec: string, options: DataOptions, log: (line: string) => void): Promise<{ data: Dataset; spec: string }> {
  try {
    return { data: await loadDataset(spec, options), spec };
  } catch (err) {
    const fashion = spec === 'fashion-mnist' || spec.startsWith('fashion-mnist:');
    if (!(err instanceof DataError) || !fashion || err.reason !== 'missing-file') throw err;
    log(`${spec} is not available (${err.message}); using the embedded mnist instead.`);
    log('For Fashion-MNIST: apt-get update && apt-get install -y dataset-fashion-mnist');
    return { data: await loadDataset('mnist', options), spec: 'mnist' };
  }
}

/**
 * Trains each model in turn until its epochs or the deadline; logs
 * per-epoch lines. `images:DIR` data takes the input shape of the first
 * model file in the list. Every model is checked against the data before
 * any trains: ModelError (naming a model file that does not fit).
 */
export async function runAccuracyBenchmark(options: AccuracyBenchOptions): Promise<AccuracyBenchResult> {
  const { batchSize, learningRate, log } = options;
  const deadline = performance.now() + options.maxMinutes * 60_000;
  const backend = await initBackend(options.backend, { log });
  const firstFile = options.models.find(isModelFile);
  const { data, spec: dataSpec } = await loadData(options.data, { ...options.dataOptions, imageShape: firstFile === undefined ? null : await modelSpecImageShape(firstFile) }, log);
  for (const name of options.models) await describeModel(name, data, SEED);
  log(`data: ${dataSpec} (${data.train.count} train, ${data.test.count} test), batch ${batchSize}, adam lr ${learningRate}, deadline ${options.maxMinutesText} min`);

  const results: AccuracyResultRow[] = [];
  for (const name of options.models) {
    const epochsPlanned = isModelFile(name) ? options.epochs.file : options.epochs[name as ModelName];
    const started = performance.now();
    const { model, hash, paramCount: params } = await buildReplica(name, data, SEED);
    if (isModelFile(name)) log(`${name}: ${params} parameters, hash ${hash.slice(0, 16)}`);
    const trainer = new Trainer({ model, train: data.train, featureCount: data.featureCount, numClasses: data.numClasses, batchSize, learningRate, optimizer: 'adam', seed: SEED });
    const perEpoch: AccuracyEpochRow[] = [];
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
        log(`${name}: deadline reached during epoch ${epoch} (${result.steps}/${trainer.stepsPerEpoch} steps); evaluating as is`);
        evaluation = trainer.evaluate(data.test);
        break;
      }
      evaluation = trainer.evaluate(data.test);
      const seconds = (performance.now() - started) / 1000;
      perEpoch.push({ epoch, testAccuracy: evaluation.accuracy, testLoss: evaluation.loss, seconds });
      log(`${name} epoch ${epoch}/${epochsPlanned}: test accuracy ${evaluation.accuracy.toFixed(4)}, loss ${evaluation.loss.toFixed(4)}, ${seconds.toFixed(0)} s, ${(result.samplesPerSecond).toFixed(0)} samples/s`);
    }
    results.push({
      model: name,
      params,
      modelHash: hash,
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
  return { data: dataSpec, backend, results };
}

/** The closing report: a blank line, the settings line, then one table row per model. */
export function formatAccuracyBenchReport(result: AccuracyBenchResult, options: Pick<AccuracyBenchOptions, 'batchSize' | 'learningRate'>): string {
  const header = ['model', 'params', 'epochs', 'test acc', 'test loss', 'train s', 'wall s', 'samples/s', 'target', 'met'];
  const table = result.results.map((r) => [
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
  return `\ncentralized training on ${result.data}, backend ${result.backend}, batch ${options.batchSize}, adam lr ${options.learningRate}\n${formatTable(header, table)}`;
}
