/** Small synthetic data sets for tests that train real models quickly. */
import type { Dataset, Split } from '../../src/train/dataset.ts';
import { createRandom } from '../../src/train/random.ts';

/**
 * `count` rows of `classes` Gaussian blobs in `features` dimensions: class c
 * sits at 1 on the features f with f % classes === c, plus uniform noise of
 * width `noise`. Learnable from a few hundred samples; seeded.
 */
export function blobs(count: number, seed: number, options: { features?: number; classes?: number; noise?: number } = {}): Split {
  const features = options.features ?? 8;
  const classes = options.classes ?? 4;
  const noise = options.noise ?? 0.6;
  const random = createRandom(seed);
  const x = new Float32Array(count * features);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % classes;
    y[i] = label;
    for (let f = 0; f < features; f++) x[i * features + f] = (f % classes === label ? 1 : 0) + (random() - 0.5) * noise;
  }
  return { x, y, count };
}

/** The four-blob data set in 8 dimensions: 800 training rows, 400 test rows. */
export function blobDataset(): Dataset {
  return { name: 'blobs', featureCount: 8, imageShape: null, numClasses: 4, train: blobs(800, 1), test: blobs(400, 2) };
}

/** `rows` as CSV text: a header `f0,...,label` and one row per sample, integer labels (what `--data csv:FILE` reads). */
export function blobsCsv(rows: Split, features = 8): string {
  const header = [...Array.from({ length: features }, (_, f) => `f${f}`), 'label'].join(',');
  const lines = Array.from({ length: rows.count }, (_, i) => [...rows.x.subarray(i * features, (i + 1) * features)].map((v) => v.toFixed(4)).join(',') + `,${rows.y[i]}`);
  return `${[header, ...lines].join('\n')}\n`;
}
