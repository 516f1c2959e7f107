/**
 * `gossip-learn export`: a daemon's model (its state dir) or a checkpoint
 * file as a standard TensorFlow.js LayersModel directory (model.json +
 * weight shards) that plain `tf.loadLayersModel` loads, optionally pruned by
 * magnitude and with quantized weights (src/train/export/).
 *
 *   gossip-learn export --state-dir .gossip-learn/node-a --out model --quantize uint8
 *   gossip-learn export --state-dir .gossip-learn/iris-a --out iris-model   # model file, classes, normalization: as recorded
 *   gossip-learn export --checkpoint mlp.ckpt --out model-p80 --quantize uint8 --prune 0.8 --fine-tune-steps 500
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCommandArgs, usageFailure, type UsageFailure } from '../command-args.ts';
import { outputDirProblem, outputPathProblem } from '../output-path.ts';
import { DATA_SPEC_HELP } from '../../train/data/spec-help.ts';

const EXPORT_HELP_HINT = '`gossip-learn export --help` lists the options';
const QUANTIZATIONS = ['none', 'float16', 'uint16', 'uint8'] as const;
/** Typed errors whose message is enough for the user (exit 2, one line). */
const INPUT_ERROR_NAMES = new Set(['CheckpointError', 'DataError', 'ModelError', 'PruningError', 'ModelExportError', 'BackendError', 'WeightQuantizationError']);

const help = (): string => `Usage: gossip-learn export (--state-dir DIR | --checkpoint FILE) --out DIR [options]

Writes the model of a daemon's state dir (its checkpoint.bin) or of a
checkpoint file (gossip-learn train --checkpoint) as a TensorFlow.js
LayersModel directory: model.json and weight shards, which
tf.loadLayersModel loads unchanged in Node and in browsers. Quantized weights
use the tfjs weights-manifest quantization fields, so the loader dequantizes
them itself. model.json's userDefinedMetadata.gossipLearn holds the class
names, the input schema (with the normalization statistics a consumer
applies to raw rows: x' = (x - mean) / std), the model name, hash and age.
The model outputs logits. The model is rebuilt as the checkpoint records
it was trained (data, --model file, --classes, --normalization statistics,
--csv-delimiter, --test-data); the flags below override a record. The
export is then loaded back and evaluated on the full test split.

Options:
  --state-dir DIR          export the checkpoint of this daemon state dir (stop the daemon first for its latest model)
  --checkpoint FILE        export this checkpoint file instead
  --out DIR                where to write (a new or empty directory; required)
  --quantize MODE          weight storage: none (float32) | float16 | uint16 | uint8 (default: none)
  --prune FRACTION         magnitude pruning: zero this fraction (0..1) of each weight matrix and kernel (default: 0)
  --fine-tune-steps N      then train N steps on the training split at a tenth of the learning rate, pruned weights kept at zero (default: 0)
  --prune-steps K          prune gradually in K stages along a cubic schedule spread over the fine-tuning steps (Zhu and Gupta 2017; default: 1, at once)
  --prune-scope SCOPE      layer: the fraction of every kernel | global: one magnitude threshold over all kernels (default: layer)
  --data SPEC              data the model was trained on, ${DATA_SPEC_HELP} (shapes, class names, evaluation; default: what the checkpoint records)
  --model NAME|FILE        the --model it was trained with, a registry name or model.json (default: recorded)
  --classes NAMES          the --classes it was trained with, comma separated (default: recorded)
  --normalization FILE     the data-stats file it was trained with (default: the recorded statistics)
  --csv-delimiter CHAR     the CSV delimiter, one character or tab (default: recorded, else detected)
  --test-data SPEC         the shared test set to evaluate on (default: recorded, else held-out rows)
  --seed N                 seed of the fine-tuning order (default: 1)
  --backend NAME           auto | tensorflow | wasm | cpu (default: auto)
  --no-evaluate            skip the test-split evaluation
  --json FILE              write the report (sizes, accuracies) as JSON here
  -v, --version            print the version and exit
  -h, --help               show this help

Example:
  gossip-learn train --data fashion-mnist --model mlp --epochs 5 --checkpoint mlp.ckpt
  gossip-learn export --checkpoint mlp.ckpt --out mlp-uint8 --quantize uint8
  gossip-learn predict --model mlp-uint8 --data fashion-mnist`;

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/** Runs the command; exit 0 when written. Bad flags, checkpoints, data or an occupied --out are CliUsageError (one line, exit 2). */
export async function run(argv: string[]): Promise<number> {
  const options = {
    'state-dir': { type: 'string' },
    checkpoint: { type: 'string' },
    out: { type: 'string' },
    quantize: { type: 'string' },
    prune: { type: 'string' },
    'fine-tune-steps': { type: 'string' },
    'prune-steps': { type: 'string' },
    'prune-scope': { type: 'string' },
    data: { type: 'string' },
    model: { type: 'string' },
    classes: { type: 'string' },
    normalization: { type: 'string' },
    'csv-delimiter': { type: 'string' },
    'test-data': { type: 'string' },
    seed: { type: 'string' },
    backend: { type: 'string' },
    'no-evaluate': { type: 'boolean' },
    json: { type: 'string' },
  } as const;
  const values = await readCommandArgs('export', argv, options, EXPORT_HELP_HINT, help);
  if (values === null) return 0;
  const fail: UsageFailure = usageFailure('export');
  if ((values['state-dir'] === undefined) === (values.checkpoint === undefined)) fail(`give exactly one of --state-dir DIR and --checkpoint FILE; ${EXPORT_HELP_HINT}`);
  if (values.out === undefined || values.out === '') fail(`--out DIR is required; ${EXPORT_HELP_HINT}`);
  const quantize = values.quantize ?? 'none';
  if (!(QUANTIZATIONS as readonly string[]).includes(quantize)) fail(`--quantize: '${quantize}' is not one of ${QUANTIZATIONS.join(' | ')}`);
  const prune = values.prune === undefined ? 0 : Number(values.prune);
  if (values.prune !== undefined && (values.prune.trim() === '' || !(prune >= 0 && prune < 1))) fail(`--prune: '${values.prune}' is not a fraction in [0, 1) (e.g. 0.8 prunes 80%)`);
  const fineTuneSteps = values['fine-tune-steps'] === undefined ? 0 : Number(values['fine-tune-steps']);
  if (values['fine-tune-steps'] !== undefined && !/^\d+$/.test(values['fine-tune-steps'])) fail(`--fine-tune-steps: '${values['fine-tune-steps']}' is not a non-negative integer`);
  const pruneStages = values['prune-steps'] === undefined ? 1 : Number(values['prune-steps']);
  if (values['prune-steps'] !== undefined && !(/^\d+$/.test(values['prune-steps']) && pruneStages >= 1)) fail(`--prune-steps: '${values['prune-steps']}' is not a positive integer`);
  if (pruneStages > 1 && fineTuneSteps < pruneStages + 1) fail(`--prune-steps ${pruneStages} spreads over the fine-tuning: give --fine-tune-steps of at least ${pruneStages + 1}`);
  const pruneScope = values['prune-scope'] ?? 'layer';
  if (pruneScope !== 'layer' && pruneScope !== 'global') fail(`--prune-scope: '${pruneScope}' is not one of layer | global`);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) fail(`--seed: '${values.seed}' is not a non-negative integer`);
  const classes = values.classes === undefined ? null : values.classes.split(',').map((c) => c.trim()).filter((c) => c !== '');
  if (classes !== null && classes.length < 2) fail(`--classes: name at least 2 classes, comma separated, in index order (got '${values.classes}')`);
  if (classes !== null && new Set(classes).size !== classes.length) fail(`--classes: a class is named twice (got '${values.classes}')`);
  for (const flag of ['model', 'normalization', 'test-data', 'data'] as const) if (values[flag] === '') fail(`--${flag} must not be empty`);
  const backendName = values.backend ?? process.env.GOSSIP_LEARN_BACKEND ?? 'auto';
  if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(backendName)) fail(`--backend: '${backendName}' is not one of auto | tensorflow | wasm | cpu`);

  // Checked before the checkpoint is loaded, evaluated and fine-tuned (minutes): the directory and the report file are written last.
  const outProblem = outputDirProblem(values.out!);
  if (outProblem !== null) fail(outProblem);
  if (values.json !== undefined) {
    const jsonProblem = outputPathProblem(values.json);
    if (jsonProblem !== null) fail(`--json: ${jsonProblem}`);
  }
  const [{ CHECKPOINT_FILE }, { packageVersion }, { initBackend }, { exportCheckpoint }, { parseCsvDelimiter }] = await Promise.all([
    import('../../node/constants.ts'),
    import('../../node/version.ts'),
    import('../../train/backend.ts'),
    import('../../train/export/export-checkpoint.ts'),
    import('../../train/dataset.ts'),
  ]);
  let csvDelimiter: string | null = null;
  try {
    csvDelimiter = values['csv-delimiter'] === undefined ? null : parseCsvDelimiter(values['csv-delimiter']);
  } catch (err) {
    fail(`--csv-delimiter: ${(err as Error).message}`);
  }
  const checkpoint = values.checkpoint ?? join(values['state-dir']!, CHECKPOINT_FILE);
  try {
    await initBackend(backendName as 'auto', { log: () => {} });
    const report = await exportCheckpoint({
      checkpoint,
      out: values.out!,
      quantize: quantize as (typeof QUANTIZATIONS)[number],
      prune,
      fineTuneSteps,
      pruneStages,
      pruneScope: pruneScope as 'layer' | 'global',
      data: values.data ?? null,
      model: values.model ?? null,
      classes,
      normalization: values.normalization ?? null,
      csvDelimiter,
      testData: values['test-data'] ?? null,
      seed,
      evaluate: values['no-evaluate'] !== true,
      generator: `gossip-learn ${packageVersion()}`,
      log: (line) => console.log(line),
    });
    const { files, accuracy } = report;
    console.log(`exported: ${report.out} (${report.modelName}, ${report.params} parameters, weights ${report.quantize}${report.prunedFraction > 0 ? `, ${(report.prunedFraction * 100).toFixed(1)}% pruned` : ''}; model.json + ${files.count - 1} shard${files.count === 2 ? '' : 's'})`);
    console.log(
      `size: ${files.bytes} bytes (${kib(files.bytes)}), gzip ${files.gzipBytes} bytes; float32 weights ${files.float32Bytes} bytes: ` +
        `${(files.float32Bytes / files.bytes).toFixed(2)}x smaller, ${(files.float32Bytes / files.gzipBytes).toFixed(2)}x with gzip`,
    );
    if (accuracy.exported !== null) console.log(`test accuracy: checkpoint ${accuracy.checkpoint?.toFixed(4)}, exported ${accuracy.exported.toFixed(4)}`);
    if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof Error && INPUT_ERROR_NAMES.has(err.name)) fail(err.message);
    throw err;
  }
}
