/**
 * Image datasets stored as IDX files (Fashion-MNIST layout):
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte, each optionally gzipped (`.gz`).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { parseIdx } from './idx.ts';
import { readDataFile } from './read-file.ts';
import { DataError, type Dataset, type Split } from './types.ts';

/** Where the Debian package `dataset-fashion-mnist` installs the files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';
const FASHION_MNIST_CLASSES = 10;

// Scaling through a table is ~3x faster than dividing 47M bytes one by one.
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The file for `stem` in `dir`: `<stem>.gz` if present, else `<stem>`; a missing-file error names both. */
async function findIdxFile(dir: string, stem: string): Promise<string> {
  const gz = join(dir, `${stem}.gz`);
  if (await exists(gz)) return gz;
  const plain = join(dir, stem);
  if (await exists(plain)) return plain;
  throw new DataError('missing-file', `${gz}: file not found (nor ${stem} uncompressed)`, gz);
}

async function loadIdxSplit(dir: string, prefix: 'train' | 't10k', numClasses: number): Promise<{ split: Split; imageShape: [number, number, number] }> {
  const imagesFile = await findIdxFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = await findIdxFile(dir, `${prefix}-labels-idx1-ubyte`);
  const images = parseIdx(await readDataFile(imagesFile), imagesFile, 3);
  const labels = parseIdx(await readDataFile(labelsFile), labelsFile, 1);
  const [count, rows, cols] = images.shape as [number, number, number];
  if (labels.shape[0] !== count) {
    throw new DataError('count-mismatch', `${labelsFile}: ${labels.shape[0]} labels but ${imagesFile} has ${count} images`, labelsFile);
  }
  if (count === 0) throw new DataError('empty', `${imagesFile}: no images`, imagesFile);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = labels.data[i]!;
    if (label >= numClasses) {
      throw new DataError('bad-label', `${labelsFile}: label ${label} at index ${i} is outside 0..${numClasses - 1}`, labelsFile);
    }
    y[i] = label;
  }
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = BYTE_TO_UNIT[images.data[i]!]!;
  return { split: { x, y, count }, imageShape: [rows, cols, 1] };
}

/** Loads Fashion-MNIST (or any 10-class IDX image set in that layout) from `dir`. */
export async function loadIdxImageDataset(name: string, dir: string): Promise<Dataset> {
  if (!(await exists(dir))) {
    const hint = dir === FASHION_MNIST_DEFAULT_DIR ? ' (install the Debian package dataset-fashion-mnist, or use fashion-mnist:<dir>)' : '';
    throw new DataError('missing-file', `${dir}: directory not found${hint}`, dir);
  }
  const train = await loadIdxSplit(dir, 'train', FASHION_MNIST_CLASSES);
  const test = await loadIdxSplit(dir, 't10k', FASHION_MNIST_CLASSES);
  if (train.imageShape.join('x') !== test.imageShape.join('x')) {
    throw new DataError('bad-shape', `${dir}: train images are ${train.imageShape.slice(0, 2).join('x')} but test images are ${test.imageShape.slice(0, 2).join('x')}`, dir);
  }
  const [rows, cols] = train.imageShape;
  return {
    name,
    featureCount: rows * cols,
    imageShape: train.imageShape,
    numClasses: FASHION_MNIST_CLASSES,
    train: train.split,
    test: test.split,
  };
}
