/**
 * `gossip-learn train`: one model, one data partition, no network; prints
 * progress and the final accuracy on the full test split.
 *
 *   gossip-learn train --data mnist --model mlp --epochs 1
 *   gossip-learn train --data fashion-mnist --partition shards:2 --node-index 3 --num-nodes 10
 *
 * On a terminal progress is one updating line; otherwise plain lines. The
 * first SIGINT stops training after the current batch and still evaluates
 * (and checkpoints); a second one exits at once.
 */
import { writeFile } from 'node:fs/promises';
import { checkOutputPath } from '../output-path.ts';
import { CliUsageError } from '../usage-error.ts';
import { parseTrainOptions, trainHelp, type TrainOptions } from '../train-options.ts';

/** Typed input errors from src/train whose message is enough for the user. */
const INPUT_ERROR_NAMES = new Set(['DataError', 'PartitionError', 'BackendError', 'ModelError']);
/** Progress cadence: TTY line refreshes, plain lines per epoch. */
const TTY_REFRESH_MS = 250;
const PLAIN_LINES_PER_EPOCH = 10;

const fmt = (x: number, digits = 4): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

class ProgressPrinter {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private lineOpen = false;
  constructor(stream: NodeJS.WriteStream) {
    this.stream = stream;
    this.tty = stream.isTTY === true;
  }
  get isTTY(): boolean {
    return this.tty;
  }
  /** A transient status: rewritten in place on a terminal, printed as a line otherwise. */
  status(text: string): void {
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${text}`);
      this.lineOpen = true;
    } else {
      this.stream.write(`${text}\n`);
    }
  }
  /** A permanent line. */
  line(text: string): void {
    if (this.lineOpen) {
      this.stream.write('\r\x1b[2K');
      this.lineOpen = false;
    }
    this.stream.write(`${text}\n`);
  }
}

async function train(o: TrainOptions): Promise<number> {
  const out = new ProgressPrinter(process.stdout);
  const started = performance.now();
  const [{ initBackend }, { loadDataset, datasetSchema }, { partitionIndices, subsetSplit }, { buildModel, isModelFile, modelFileImageShape, modelHash, modelNameOf }, { paramCount, getFlatParams }, { Trainer }, { deriveSeed }] =
    await Promise.all([
      import('../../train/backend.ts'),
      import('../../train/dataset.ts'),
      import('../../train/partition.ts'),
      import('../../train/models.ts'),
      import('../../train/params.ts'),
      import('../../train/trainer.ts'),
      import('../../train/random.ts'),
    ]);

  const backend = await initBackend(o.backend, { log: (line) => out.line(line) });
  const imageShape = isModelFile(o.model) ? await modelFileImageShape(o.model) : null;
  const data = await loadDataset(o.data, { ...o.dataOptions, imageShape });
  const mine = partitionIndices(o.partition, data.train.y, data.numClasses, { seed: o.seed, nodeIndex: o.nodeIndex, numNodes: o.numNodes });
  const local = o.numNodes === 1 ? data.train : subsetSplit(data.train, data.featureCount, mine);
  out.line(
    `data: ${data.name}, ${local.count} of ${data.train.count} training rows (partition ${o.partition}, node ${o.nodeIndex} of ${o.numNodes}), ` +
      `${data.test.count} test rows (${data.testSource ?? 'held out'}), ${data.numClasses} classes${data.classNames === undefined ? '' : ` (${data.classNames.join(', ')})`}`,
  );
  // Same seed on every node: gossip averaging works best from a common initialization.
  const model = await buildModel(o.model, { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses, seed: o.seed });
  const hash = modelHash(model, datasetSchema(data));
  const modelName = modelNameOf(o.model, hash);
  out.line(`model: ${o.model}, ${paramCount(model)} parameters, hash ${hash.slice(0, 12)}; ${o.optimizer} lr ${o.learningRate}, batch ${o.batchSize}`);
  const trainer = new Trainer({
    model,
    train: local,
    featureCount: data.featureCount,
    numClasses: data.numClasses,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    optimizer: o.optimizer,
    seed: deriveSeed(o.seed, 'train-order', o.nodeIndex),
  });

  const controller = new AbortController();
  const onSigint = (): void => {
    out.line('interrupted: finishing the current batch, then evaluating');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSigint);

  const stepsPerEpoch = trainer.stepsPerEpoch;
  const stepBudget = o.maxSteps ?? Number.POSITIVE_INFINITY;
  const chunk = out.isTTY ? Math.max(1, Math.min(stepsPerEpoch, 20)) : Math.max(1, Math.ceil(stepsPerEpoch / PLAIN_LINES_PER_EPOCH));
  let totalSteps = 0;
  let totalSamples = 0;
  let computeSeconds = 0;
  let lastLoss = Number.NaN;
  let lastTtyRefresh = 0;
  let evaluation = { accuracy: Number.NaN, loss: Number.NaN };
  const epochs: Array<{ epoch: number; trainLoss: number; testAccuracy: number; testLoss: number }> = [];

  try {
    for (let epoch = 1; epoch <= o.epochs && totalSteps < stepBudget && !controller.signal.aborted; epoch++) {
      let epochSteps = 0;
      let epochLossSum = 0;
      while (epochSteps < stepsPerEpoch && totalSteps < stepBudget && !controller.signal.aborted) {
        const want = Math.min(chunk, stepsPerEpoch - epochSteps, stepBudget - totalSteps);
        const r = await trainer.trainSteps(want, { signal: controller.signal });
        epochSteps += r.steps;
        totalSteps += r.steps;
        totalSamples += r.samples;
        if (r.steps > 0) {
          computeSeconds += r.samples / r.samplesPerSecond;
          epochLossSum += r.loss * r.steps;
          lastLoss = r.loss;
        }
        const now = performance.now();
        if (!out.isTTY || now - lastTtyRefresh >= TTY_REFRESH_MS) {
          lastTtyRefresh = now;
          out.status(
            `epoch ${epoch}/${o.epochs}  step ${epochSteps}/${stepsPerEpoch}  loss ${fmt(lastLoss)}  ${Math.round(totalSamples / Math.max(computeSeconds, 1e-9))} samples/s`,
          );
        }
      }
      evaluation = trainer.evaluate(data.test);
      const trainLoss = epochSteps > 0 ? epochLossSum / epochSteps : Number.NaN;
      epochs.push({ epoch, trainLoss, testAccuracy: evaluation.accuracy, testLoss: evaluation.loss });
      const partial = epochSteps < stepsPerEpoch ? ` (${epochSteps} of ${stepsPerEpoch} steps)` : '';
      out.line(`epoch ${epoch}/${o.epochs}${partial}: train loss ${fmt(trainLoss)}, test accuracy ${fmt(evaluation.accuracy)}, test loss ${fmt(evaluation.loss)}`);
    }
    if (epochs.length === 0) evaluation = trainer.evaluate(data.test);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }

  const samplesPerSecond = computeSeconds > 0 ? totalSamples / computeSeconds : 0;
  const seconds = (performance.now() - started) / 1000;
  out.line(`trained ${totalSteps} steps, ${totalSamples} samples at ${Math.round(samplesPerSecond)} samples/s on ${backend} (${fmt(seconds, 1)} s in all)`);
  out.line(`test accuracy: ${fmt(evaluation.accuracy)} (loss ${fmt(evaluation.loss)}, ${data.test.count} test rows)`);

  if (o.checkpoint !== null) {
    const [{ saveCheckpoint }, { modelSourceOf }] = await Promise.all([import('../../train/checkpoint.ts'), import('../../train/model-source.ts')]);
    await saveCheckpoint(o.checkpoint, {
      modelName,
      modelHash: hash,
      params: getFlatParams(model),
      age: trainer.age,
      samplesSeen: trainer.samplesSeen,
      meta: {
        data: o.data,
        // What gossip-learn export needs to rebuild this very model (src/train/model-source.ts).
        source: modelSourceOf({ data: o.data, model: o.model, options: o.dataOptions, dataset: data }),
        partition: o.partition,
        nodeIndex: o.nodeIndex,
        numNodes: o.numNodes,
        seed: o.seed,
        testAccuracy: evaluation.accuracy,
      },
    });
    out.line(`checkpoint: ${o.checkpoint}`);
  }
  if (o.json !== null) {
    const result = {
      data: data.name,
      model: o.model,
      modelHash: hash,
      paramCount: paramCount(model),
      backend,
      optimizer: o.optimizer,
      learningRate: o.learningRate,
      batchSize: o.batchSize,
      partition: o.partition,
      nodeIndex: o.nodeIndex,
      numNodes: o.numNodes,
      seed: o.seed,
      trainRows: local.count,
      testRows: data.test.count,
      steps: totalSteps,
      samples: totalSamples,
      samplesPerSecond,
      seconds,
      interrupted: controller.signal.aborted,
      epochs,
      test: evaluation,
    };
    await writeFile(o.json, `${JSON.stringify(result, null, 2)}\n`);
  }
  trainer.dispose();
  model.dispose();
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(trainHelp());
    return 0;
  }
  const options = parseTrainOptions(argv);
  if (options.version) {
    const { packageVersion } = await import('../../node/version.ts');
    console.log(packageVersion());
    return 0;
  }
  // Before training: a result that cannot be written must not cost the run.
  if (options.checkpoint !== null) await checkOutputPath('train: --checkpoint', options.checkpoint);
  if (options.json !== null) await checkOutputPath('train: --json', options.json);
  try {
    return await train(options);
  } catch (err) {
    if (err instanceof Error && INPUT_ERROR_NAMES.has(err.name)) throw new CliUsageError(`train: ${err.message}`);
    throw err;
  }
}
