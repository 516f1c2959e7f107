/**
 * `gossip-learn predict`: runs an exported model (a tfjs LayersModel
 * directory, `gossip-learn export`) over a data set offline; prints the
 * accuracy on its labelled rows and writes the predictions as CSV or JSON.
 *
 *   gossip-learn predict --model mlp-uint8 --data fashion-mnist
 *   gossip-learn predict --model mlp-uint8 --data csv:rows.csv --out predictions.json
 */
import { writeFile } from 'node:fs/promises';
import { outputPathProblem } from '../output-path.ts';
import { join } from 'node:path';
import { readCommandArgs, usageFailure, type UsageFailure } from '../command-args.ts';
import { DATA_SPEC_HELP } from '../../train/data/spec-help.ts';

const PREDICT_HELP_HINT = '`gossip-learn predict --help` lists the options';
const INPUT_ERROR_NAMES = new Set(['DataError', 'ModelDirError', 'BackendError']);

const help = (): string => `Usage: gossip-learn predict --model DIR --data SPEC [options]

Runs the model in DIR (a TensorFlow.js LayersModel directory, as gossip-learn
export writes it) over the rows of a data source, prints "accuracy: X" against
their labels, and writes one prediction per row (label, class name, class
probabilities) as CSV or JSON. The data is read with the schema the export
records: its class names map text labels (no --classes needed), its
normalization statistics are applied to the raw features, and images:DIR
becomes its image shape.

Options:
  --model DIR        the model directory (model.json + weight shards; required)
  --data SPEC        ${DATA_SPEC_HELP} (required)
  --classes NAMES    class names in index order, comma separated (default: the export's)
  --csv-delimiter C  the CSV delimiter, one character or tab (default: detected)
  --split NAME       test | train | all: which rows to run; all (csv: and images:
                     only) is every row of the file, in file order (default: test)
  --no-labels        the csv: file has no label column (every column a feature):
                     predict every row (--split all), no accuracy
  --out FILE         write the predictions here; - for stdout (default: none, only the accuracy)
  --format NAME      csv | json (default: from --out's extension, else csv)
  --backend NAME     auto | tensorflow | wasm | cpu (default: auto)
  -v, --version      print the version and exit
  -h, --help         show this help

CSV columns: index, label, class_name, true_label, p0 .. p<K-1> (index: the
row's place in the split; with --split all, its data row in the file, from 0;
true_label empty with --no-labels).
JSON: {"model": {...}, "accuracy": X, "predictions": [{"label", "className", "trueLabel", "probabilities"}]}.`;

/** Runs the command; exit 0 on success. Bad flags, a missing or malformed model, bad data: CliUsageError (one line, exit 2). */
export async function run(argv: string[]): Promise<number> {
  const options = {
    model: { type: 'string' },
    data: { type: 'string' },
    classes: { type: 'string' },
    'csv-delimiter': { type: 'string' },
    'no-labels': { type: 'boolean' },
    split: { type: 'string' },
    out: { type: 'string' },
    format: { type: 'string' },
    backend: { type: 'string' },
  } as const;
  const values = await readCommandArgs('predict', argv, options, PREDICT_HELP_HINT, help);
  if (values === null) return 0;
  const fail: UsageFailure = usageFailure('predict');
  if (values.model === undefined || values.model === '') fail(`--model DIR is required; ${PREDICT_HELP_HINT}`);
  if (values.data === undefined || values.data === '') fail(`--data SPEC is required; ${PREDICT_HELP_HINT}`);
  const unlabelled = values['no-labels'] === true;
  if (unlabelled && !values.data!.startsWith('csv:')) fail(`--no-labels: csv: data only (${values.data} has its labels)`);
  if (unlabelled && values.split !== undefined && values.split !== 'all') fail(`--no-labels runs every row of the file: --split all (its default), not '${values.split}'`);
  const split = values.split ?? (unlabelled ? 'all' : 'test');
  if (split !== 'test' && split !== 'train' && split !== 'all') fail(`--split: '${split}' is not one of test | train | all`);
  if (split === 'all' && !values.data!.startsWith('csv:') && !values.data!.startsWith('images:')) {
    fail(`--split all: ${values.data} has fixed train and test splits; give --split test or --split train`);
  }
  const format = values.format ?? (values.out?.endsWith('.json') === true ? 'json' : 'csv');
  if (format !== 'csv' && format !== 'json') fail(`--format: '${format}' is not one of csv | json`);
  if (values.out !== undefined && values.out !== '-') {
    const outProblem = outputPathProblem(values.out);
    if (outProblem !== null) fail(`--out: ${outProblem}`);
  }
  const givenClasses = values.classes === undefined ? null : values.classes.split(',').map((c) => c.trim()).filter((c) => c !== '');
  if (givenClasses !== null && givenClasses.length < 2) fail(`--classes: name at least 2 classes, comma separated, in index order (got '${values.classes}')`);
  const backendName = values.backend ?? process.env.GOSSIP_LEARN_BACKEND ?? 'auto';
  if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(backendName)) fail(`--backend: '${backendName}' is not one of auto | tensorflow | wasm | cpu`);

  const [{ initBackend }, { loadDataset, parseCsvDelimiter }, { loadModelDir }, { flatInputSize, predictLogits, toPredictions }, { classNamesOf }] = await Promise.all([
    import('../../train/backend.ts'),
    import('../../train/dataset.ts'),
    import('../../train/export/model-dir.ts'),
    import('../../train/prediction.ts'),
    import('../../train/class-names.ts'),
  ]);
  let csvDelimiter: string | null = null;
  try {
    csvDelimiter = values['csv-delimiter'] === undefined ? null : parseCsvDelimiter(values['csv-delimiter']);
  } catch (err) {
    fail(`--csv-delimiter: ${(err as Error).message}`);
  }
  try {
    await initBackend(backendName as 'auto', { log: () => {} });
    const { model, metadata } = await loadModelDir(values.model!);
    try {
      // The export's schema: its classes name text labels, its statistics normalize raw features (the model was trained on normalized ones).
      const data = await loadDataset(values.data!, {
        classes: givenClasses ?? metadata?.classes ?? null,
        classesOrigin: givenClasses === null ? `the model (${join(values.model!, 'model.json')})` : '--classes',
        normalization: metadata?.schema.normalization == null ? null : { ...metadata.schema.normalization, origin: `the normalization of ${join(values.model!, 'model.json')}` },
        csvDelimiter,
        imageShape: metadata?.schema.imageShape ?? null,
        // Every row of the file, in order, as the test rows (the way a shared --test-data file is read).
        ...(split === 'all' ? { testData: values.data! } : {}),
        unlabelled,
      });
      const rows = split === 'train' ? data.train : data.test;
      const inputSize = flatInputSize(model);
      if (inputSize !== data.featureCount) fail(`the model in ${values.model} takes ${inputSize ?? 'a non-flat input'} features per row, ${values.data} has ${data.featureCount}`);
      const logits = predictLogits(model, rows.x, rows.count);
      const numClasses = logits.length / Math.max(rows.count, 1);
      if (!unlabelled && numClasses !== data.numClasses) fail(`the model in ${values.model} outputs ${numClasses} classes, ${values.data} has ${data.numClasses}`);
      const classes = classNamesOf(data) ?? metadata?.classes ?? null;
      const predictions = toPredictions(logits, rows.count, classes);
      let correct = 0;
      predictions.forEach((p, i) => {
        if (p.label === rows.y[i]) correct++;
      });
      const accuracy = unlabelled ? null : rows.count === 0 ? Number.NaN : correct / rows.count;
      const trueLabel = (i: number): number | null => (unlabelled ? null : rows.y[i]!);
      if (values.out !== undefined) {
        const text =
          format === 'json'
            ? `${JSON.stringify({
                model: metadata === null ? null : { name: metadata.model.name, hash: metadata.model.hash, age: metadata.model.age, quantize: metadata.compression.quantize, prune: metadata.compression.prune },
                accuracy,
                predictions: predictions.map((p, i) => ({ label: p.label, className: p.className, trueLabel: trueLabel(i), probabilities: p.probabilities })),
              })}\n`
            : [
                ['index', 'label', 'class_name', 'true_label', ...Array.from({ length: numClasses }, (_, k) => `p${k}`)].join(','),
                ...predictions.map((p, i) => [i, p.label, csvCell(p.className ?? ''), trueLabel(i) ?? '', ...p.probabilities.map((q) => q.toPrecision(6))].join(',')),
              ].join('\n') + '\n';
        if (values.out === '-') {
          // A reader that stops early (| head) is no error.
          process.stdout.on('error', (err: NodeJS.ErrnoException) => {
            if (err.code !== 'EPIPE') throw err;
          });
          process.stdout.write(text);
        }
        else await writeFile(values.out, text);
      }
      // With predictions on stdout the summary goes to stderr, so the CSV/JSON stays clean.
      const summary = values.out === '-' ? console.error : console.log;
      if (accuracy !== null) summary(`accuracy: ${accuracy.toFixed(4)}`);
      summary(`rows: ${rows.count} (${values.data} ${split === 'all' ? 'all rows' : `${split} split`}), model ${metadata?.model.name ?? 'unknown'}${metadata === null ? '' : `, weights ${metadata.compression.quantize}${metadata.compression.prune > 0 ? `, pruned ${metadata.compression.prune}` : ''}`}`);
      return 0;
    } finally {
      model.dispose();
    }
  } catch (err) {
    if (err instanceof Error && INPUT_ERROR_NAMES.has(err.name)) fail(err.message);
    throw err;
  }
}

/** A CSV cell: quoted when it holds a comma, quote or line break (RFC 4180). */
function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
