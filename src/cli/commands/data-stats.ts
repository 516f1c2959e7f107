/**
 * `gossip-learn data-stats --data SPEC --out FILE`: computes the per-feature
 * mean and standard deviation over all rows of a data source and writes
 * them as JSON (src/train/data/schema.ts, format gossip-learn-data-stats/1).
 * Every node of a swarm then starts with `--normalization FILE`, so the same
 * input means the same on every peer (the statistics are part of the model
 * hash: nodes with other statistics never merge).
 *
 *   gossip-learn data-stats --data csv:all-rows.csv --out stats.json
 *   gossip-learn daemon --data csv:node-a.csv --classes cat,dog,fish --normalization stats.json
 */
import { readCommandArgs, usageFailure, type UsageFailure } from '../command-args.ts';
import { writeFileAtomic } from '../../common/atomic-file.ts';
import { checkOutputPath } from '../output-path.ts';
import { DATA_SPEC_HELP } from '../../train/data/spec-help.ts';

const HELP_HINT = '`gossip-learn data-stats --help` lists the options';

const help = (): string => `Usage: gossip-learn data-stats --data SPEC --out FILE [options]

Computes the mean and standard deviation of every feature over all rows of
SPEC (a CSV file's every row; train and test split of a built-in set) and
writes them to FILE (JSON). Give the same FILE to every node
of a swarm with --normalization FILE: features are then normalized alike
everywhere, and nodes with other statistics never merge (part of the model hash).
Compute it once from data that represents the swarm's (e.g. one node's file,
or a sample of everyone's) and copy it to every node.

Options:
  --data SPEC           data source: ${DATA_SPEC_HELP} (required)
  --out FILE            where to write the statistics (required; replaced if it exists)
  --classes NAMES       class names in index order, as the nodes give them (text labels need them)
  --csv-delimiter CHAR  cell delimiter of csv: data: one character or tab (default: detected)
  --model FILE          images:DIR data: the nodes' --model file, whose input shape images become
                        (default: 28x28 grayscale)
  -v, --version         print the version and exit
  -h, --help            show this help`;

/** Runs the command; exit 0 when written. Bad flags and data problems throw CliUsageError (one line, exit 2). */
export async function run(argv: string[]): Promise<number> {
  const options = {
    data: { type: 'string' },
    out: { type: 'string' },
    classes: { type: 'string' },
    'csv-delimiter': { type: 'string' },
    model: { type: 'string' },
  } as const;
  const values = await readCommandArgs('data-stats', argv, options, HELP_HINT, help);
  if (values === null) return 0;
  const fail: UsageFailure = usageFailure('data-stats');
  if (values.data === undefined || values.data === '') fail(`--data SPEC is required; ${HELP_HINT}`);
  if (values.out === undefined || values.out === '') fail(`--out FILE is required; ${HELP_HINT}`);
  await checkOutputPath('data-stats: --out', values.out);
  const { computeDataStats, DataError, dataOptionsOf, loadDataset } = await import('../../train/dataset.ts');
  if (values.model !== undefined && !values.model.endsWith('.json')) fail(`--model: '${values.model}' is not a tfjs model file ending in .json`);
  // Loaded only when needed: models.ts brings tfjs (about 80 MB of RSS a CSV does not need).
  const imageShape = values.model === undefined ? null : await (await import('../../train/models.ts')).modelFileImageShape(values.model);
  // Images are resized with tfjs: pick its backend as the other commands do (and without tfjs's console banner).
  if (values.data.startsWith('images:')) await (await import('../../train/backend.ts')).initBackend();
  const classes = values.classes === undefined ? null : values.classes.split(',').map((c) => c.trim()).filter((c) => c !== '');
  let stats;
  try {
    const dataOptions = dataOptionsOf({ classes, csvDelimiter: values['csv-delimiter'] ?? null });
    stats = computeDataStats(await loadDataset(values.data, { ...dataOptions, testData: null, imageShape }), values.data);
  } catch (err) {
    if (err instanceof DataError) fail(err.message);
    if (values['csv-delimiter'] !== undefined && err instanceof Error && !(err instanceof DataError)) fail(`--csv-delimiter: ${err.message}`);
    throw err;
  }
  await writeFileAtomic(values.out, `${JSON.stringify(stats, null, 2)}\n`);
  console.log(`wrote statistics of ${stats.mean.length} features over ${stats.rows} rows of ${values.data} to ${values.out}; give every node --normalization ${values.out}`);
  return 0;
}
