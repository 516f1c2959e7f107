/**
 * `gossip-learn export`'s work: a checkpoint (a daemon's state dir or a file
 * `gossip-learn train --checkpoint` wrote) becomes a compressed tfjs
 * LayersModel directory. Steps: rebuild the model as the checkpoint
 * records it was built (src/train/model-source.ts: data, registry model or
 * model file, classes, normalization, CSV delimiter, test set; flags
 * override), check its hash (with the data schema) against the
 * checkpoint, load the parameters, optionally prune by magnitude and fine-tune with the mask
 * fixed (src/train/export/pruning.ts), then write model.json and the shards
 * with the chosen weight quantization (Deep Compression, Han, Mao and Dally
 * 2016, without its weight-sharing stage: the tfjs format has no codebook),
 * and finally load the written directory back through tfjs and evaluate it
 * on the full test split.
 *
 *   const report = await exportCheckpoint({ checkpoint: 'state/checkpoint.bin', out: 'model', quantize: 'uint8', prune: 0.8 });
 *   report.files.bytes, report.files.gzipBytes, report.accuracy.exported
 */
import { gzipSync } from 'node:zlib';
import { loadCheckpoint } from '../checkpoint.ts';
import { classNamesOf } from '../class-names.ts';
import { datasetSchema, loadDataset } from '../dataset.ts';
import type { Normalization } from '../data/types.ts';
import { buildModel, isModelFile, isModelName, ModelError, modelFileImageShape, modelHash } from '../models.ts';
import { readModelSource } from '../model-source.ts';
import { paramCount, setFlatParams } from '../params.ts';
import { deriveSeed } from '../random.ts';
import { evaluateModel, Trainer } from '../trainer.ts';
import { defaultLearningRate, TRAINING_DEFAULTS, type OptimizerName } from '../training-defaults.ts';
import { loadModelDir } from './model-dir.ts';
import { encodeLayersModel, EXPORT_METADATA_VERSION, writeModelDir, type ModelFiles } from './model-export.ts';
import { fineTuneMasked, pruneModel, prunedFraction, type PruneMasks } from './pruning.ts';
import type { WeightQuantization } from './weight-quantization.ts';

export interface ExportCheckpointOptions {
  /** The checkpoint file (a state dir's checkpoint.bin or a train --checkpoint file). */
  checkpoint: string;
  /** The output directory (new or empty). */
  out: string;
  quantize: WeightQuantization;
  /** Fraction of each weight matrix / kernel pruned by magnitude, 0 <= prune < 1 (0: none). */
  prune: number;
  /** Fine-tuning steps on the training split (momentum at a tenth of its rate), with the pruning mask fixed (0: none). */
  fineTuneSteps: number;
  /** Data spec; default: the one the checkpoint records (`meta.source.data`, else `meta.data`). */
  data?: string | null;
  /** --model value (registry name or model.json); default: the recorded one, else the checkpoint's registry model name. */
  model?: string | null;
  /** --classes; default: the recorded ones. */
  classes?: string[] | null;
  /** A data-stats file or statistics; default: the recorded statistics, else the recorded file. */
  normalization?: string | Normalization | null;
  /** CSV delimiter character; default: the recorded one, else detected. */
  csvDelimiter?: string | null;
  /** --test-data SPEC; default: the recorded one. */
  testData?: string | null;
  seed?: number;
  /** Evaluate the checkpoint and the exported files on the full test split (default true). */
  evaluate?: boolean;
  /** 'gossip-learn <version>', written as the converter in model.json. */
  generator: string;
  log?: (line: string) => void;
}

export interface ExportReport {
  out: string;
  modelName: string;
  params: number;
  quantize: WeightQuantization;
  /** Zeros / prunable weights after pruning (0 without --prune). */
  prunedFraction: number;
  fineTuneSteps: number;
  files: { count: number; bytes: number; gzipBytes: number; float32Bytes: number };
  /** On the full test split; null when not evaluated. */
  accuracy: { checkpoint: number | null; exported: number | null };
  classes: string[] | null;
  /** The normalization a consumer applies to raw rows before the model (also in the metadata), null: none. */
  normalization: Normalization | null;
}

/** Size of the files gzipped one by one at level 9 (what a web server with gzip sends). */
function gzipBytes(files: ModelFiles): number {
  const json = gzipSync(`${JSON.stringify(files.modelJson)}\n`, { level: 9 }).length;
  return files.shards.reduce((n, s) => n + gzipSync(s.bytes, { level: 9 }).length, json);
}

/**
 * Runs the export. Throws CheckpointError (bad or missing checkpoint),
 * DataError (bad data spec), ModelError('bad-options') when the checkpoint
 * does not name its data and none is given or the rebuilt model's hash
 * differs from the checkpoint's, PruningError, ModelExportError.
 */
export async function exportCheckpoint(o: ExportCheckpointOptions): Promise<ExportReport> {
  const log = o.log ?? (() => {});
  const ckpt = await loadCheckpoint(o.checkpoint);
  const source = readModelSource(ckpt.meta);
  const dataSpec = o.data ?? source?.data ?? (typeof ckpt.meta.data === 'string' ? ckpt.meta.data : null);
  if (dataSpec === null) throw new ModelError('bad-options', `${o.checkpoint} does not record its data source: give --data SPEC (the data the model was trained on)`);
  const modelSpec = o.model ?? source?.model ?? (isModelName(ckpt.modelName) ? ckpt.modelName : null);
  if (modelSpec === null) {
    throw new ModelError('unknown-model', `${o.checkpoint} holds model '${ckpt.modelName}', not a registry model, and records no model file: give --model PATH/model.json (the file it was trained from)`);
  }
  const imageShape = isModelFile(modelSpec) ? await modelFileImageShape(modelSpec) : null;
  const data = await loadDataset(dataSpec, {
    classes: o.classes ?? source?.classes ?? null,
    normalization: o.normalization ?? (source?.normalization == null ? (source?.normalizationFile ?? null) : { ...source.normalization, origin: `the normalization ${o.checkpoint} records` }),
    csvDelimiter: o.csvDelimiter ?? source?.csvDelimiter ?? null,
    testData: o.testData ?? source?.testData ?? null,
    imageShape,
  });
  const seed = o.seed ?? 1;
  const model = await buildModel(modelSpec, { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses, seed });
  let trainer: Trainer | null = null;
  try {
    const hash = modelHash(model, datasetSchema(data));
    if (hash !== ckpt.modelHash) {
      throw new ModelError(
        'bad-options',
        `${o.checkpoint} holds a '${ckpt.modelName}' that is not ${modelSpec} over ${dataSpec} as rebuilt (${describeSchema(data)}; model hash ${ckpt.modelHash.slice(0, 12)}, rebuilt ${hash.slice(0, 12)}): ` +
          'give the --data, --model, --classes and --normalization it was trained with',
      );
    }
    setFlatParams(model, ckpt.params);
    const evaluate = o.evaluate ?? true;
    const checkpointAccuracy = evaluate ? evaluateModel(model, data.test, data.featureCount, data.numClasses).accuracy : null;
    if (checkpointAccuracy !== null) log(`checkpoint: ${ckpt.modelName}, age ${ckpt.age}, test accuracy ${checkpointAccuracy.toFixed(4)}`);
    let pruned = 0;
    // No pruning: no masks, and a fine-tuning is plain training (the baseline a pruned and fine-tuned model compares to).
    let masks: PruneMasks = model.getWeights().map(() => null);
    if (o.prune > 0) {
      masks = pruneModel(model, o.prune);
      pruned = prunedFraction(masks);
      log(`pruned ${(pruned * 100).toFixed(1)}% of the weight matrices and kernels by magnitude`);
    }
    if (o.fineTuneSteps > 0) {
      const optimizer: OptimizerName = TRAINING_DEFAULTS.optimizer;
      trainer = new Trainer({
        model,
        train: data.train,
        featureCount: data.featureCount,
        numClasses: data.numClasses,
        batchSize: TRAINING_DEFAULTS.batchSize,
        // A tenth of the training rate: fine-tuning repairs, it does not retrain.
        learningRate: defaultLearningRate(optimizer) / 10,
        optimizer,
        seed: deriveSeed(seed, 'export-fine-tune', 0),
      });
      const loss = await fineTuneMasked(trainer, masks, o.fineTuneSteps);
      log(`fine-tuned ${o.fineTuneSteps} steps on the training split${o.prune > 0 ? ' with the mask fixed' : ''} (mean loss ${loss.toFixed(4)})`);
    }
    const classes = classNamesOf(data);
    const normalization = data.normalization === undefined ? null : { mean: [...data.normalization.mean], std: [...data.normalization.std] };
    const files = await encodeLayersModel(model, {
      quantize: o.quantize,
      metadata: {
        version: EXPORT_METADATA_VERSION,
        generator: o.generator,
        model: { name: ckpt.modelName, hash: ckpt.modelHash, params: paramCount(model), age: ckpt.age, samplesSeen: ckpt.samplesSeen },
        schema: {
          data: dataSpec,
          featureCount: data.featureCount,
          imageShape: data.imageShape,
          numClasses: data.numClasses,
          featureNames: data.featureNames ?? null,
          normalization,
          output: 'logits',
        },
        classes,
        compression: { quantize: o.quantize, prune: o.prune, fineTuneSteps: o.fineTuneSteps },
        exportedAt: new Date().toISOString(),
      },
    });
    await writeModelDir(o.out, files);
    const bytes = files.shards.reduce((n, s) => n + s.bytes.length, Buffer.byteLength(`${JSON.stringify(files.modelJson)}\n`));
    let exportedAccuracy: number | null = null;
    if (evaluate) {
      // Read back from disk through tfjs's loader: the figure is that of the files, dequantized by tfjs.
      const loaded = await loadModelDir(o.out);
      exportedAccuracy = evaluateModel(loaded.model, data.test, data.featureCount, data.numClasses).accuracy;
      loaded.model.dispose();
    }
    return {
      out: o.out,
      modelName: ckpt.modelName,
      params: ckpt.params.length,
      quantize: o.quantize,
      prunedFraction: pruned,
      fineTuneSteps: o.fineTuneSteps,
      files: { count: files.shards.length + 1, bytes, gzipBytes: gzipBytes(files), float32Bytes: 4 * ckpt.params.length },
      accuracy: { checkpoint: checkpointAccuracy, exported: exportedAccuracy },
      classes,
      normalization,
    };
  } finally {
    trainer?.dispose();
    model.dispose();
  }
}

/** The data a rebuilt model's hash covered, for the mismatch message: `4 features, 3 classes, classes a,b,c, normalized, columns f0,f1`. */
function describeSchema(data: { classNames?: string[]; normalization?: Normalization; featureNames?: string[]; featureCount: number; numClasses: number }): string {
  const parts = [`${data.featureCount} features, ${data.numClasses} classes`];
  if (data.classNames !== undefined) parts.push(`classes ${data.classNames.join(',')}`);
  if (data.normalization !== undefined) parts.push('normalized');
  if (data.featureNames !== undefined) parts.push(`columns ${data.featureNames.join(',')}`);
  return parts.join(', ');
}
