/**
 * Image folders (contract spec `images:DIR`): one subfolder per class,
 * PNG and JPEG files in it, decoded by pngjs and jpeg-js and converted to
 * the model's input shape (bilinear resize with tfjs, grayscale by ITU-R
 * BT.601 luma or RGB, values 0..1).
 *
 *   DIR/cat/001.png  DIR/cat/002.jpg  DIR/dog/a.jpeg ...
 *   const data = await loadImageFolder('DIR', { classes: ['cat', 'dog', 'fish'], imageShape: [28, 28, 1] }, 'hold-out');
 *
 * Classes: with declared classes (--classes) each folder name must be one
 * of them (or an index below their count), so a node holding some classes
 * numbers them as every node does; without, the folder names in sorted
 * order, which are then part of the model hash (the schema), so nodes with
 * other folder sets never merge. Files other than .png/.jpg/.jpeg and
 * names starting with a dot are skipped. Images are decoded one at a time.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type * as Tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { createRandom, shuffleInPlace } from '../random.ts';
import { LabelMap } from './labels.ts';
import { DataError, type Dataset, type Split } from './types.ts';

/** The input the registry models are sized for (28x28 grayscale, as MNIST) when the model declares none. */
export const DEFAULT_IMAGE_SHAPE: [number, number, number] = [28, 28, 1];
/** Share of the images held out as the test split (as for CSV files). */
const TEST_FRACTION = 0.2;
const SPLIT_SEED = 7321;
/** Largest image file read (bytes); a bound on memory per decode. */
export const MAX_IMAGE_FILE_BYTES = 64 * 1024 * 1024;
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export interface ImageFolderOptions {
  /** Declared class names in index order; null: the folder names, sorted. */
  classes: string[] | null;
  /** [height, width, channels] every image becomes; channels 1 (grayscale) or 3 (RGB). */
  imageShape: [number, number, number];
}

async function listDir(path: string, what: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await readdir(path, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError('missing-file', `${path}: ${what} not found`, path);
    throw new DataError('unreadable', `${path}: cannot read (${code ?? String(err)})`, path);
  }
}

/** RGBA pixels of a PNG or JPEG file; DataError('bad-shape') naming the file when it does not decode. */
function decode(path: string, bytes: Buffer): { width: number; height: number; rgba: Uint8Array } {
  try {
    if (extname(path).toLowerCase() === '.png') {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: MAX_IMAGE_FILE_BYTES / 2 ** 20 });
    return { width: image.width, height: image.height, rgba: image.data };
  } catch (err) {
    throw new DataError('bad-shape', `${path}: not a readable ${extname(path).slice(1).toUpperCase()} image (${(err as Error).message.split('\n')[0]})`, path);
  }
}

/** Writes the image, resized and converted to `shape`, as 0..1 floats into `out`. */
function convert(tf: typeof Tf, image: { width: number; height: number; rgba: Uint8Array }, shape: [number, number, number], out: Float32Array): void {
  const [height, width, channels] = shape;
  const values = tf.tidy(() => {
    const rgb = tf.tensor3d(image.rgba, [image.height, image.width, 4], 'int32').slice([0, 0, 0], [-1, -1, 3]).toFloat().div(255) as Tf.Tensor3D;
    const pixels = channels === 1 ? rgb.mul(tf.tensor1d([0.299, 0.587, 0.114])).sum(2, true) : rgb;
    const sized = image.height === height && image.width === width ? pixels : tf.image.resizeBilinear(pixels as Tf.Tensor3D, [height, width]);
    return sized.dataSync() as Float32Array;
  });
  out.set(values);
}

/**
 * Loads an image folder. `split` as loadCsvDataset's: 'hold-out' keeps 20%
 * (a fixed-seed shuffle) as the test split, 'all-train' / 'all-test' use
 * every image for one side. Throws DataError: 'missing-file', 'unreadable',
 * 'bad-label' (a folder outside the classes), 'bad-shape' (an image that
 * does not decode, a channel count other than 1 or 3), 'empty'.
 */
export async function loadImageFolder(dir: string, options: ImageFolderOptions, split: 'hold-out' | 'all-train' | 'all-test'): Promise<Dataset> {
  const [, , channels] = options.imageShape;
  if (channels !== 1 && channels !== 3) {
    throw new DataError('bad-shape', `${dir}: images become [${options.imageShape.join(', ')}], but only 1 (grayscale) or 3 (RGB) channels are supported`, dir);
  }
  const folders = (await listDir(dir, 'image folder')).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (folders.length === 0) throw new DataError('empty', `${dir}: no class subfolders (expected one folder of images per class)`, dir);
  const classes = options.classes ?? folders;
  const labels = new LabelMap(classes);
  const files: Array<{ path: string; label: number }> = [];
  for (const folder of folders) {
    const label = labels.indexOf(folder);
    if (typeof label === 'string') throw new DataError('bad-label', `${join(dir, folder)}: folder ${label.replace(/^label /, '')}`, dir);
    for (const entry of (await listDir(join(dir, folder), 'class folder')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.isFile() && !entry.name.startsWith('.') && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) files.push({ path: join(dir, folder, entry.name), label });
    }
  }
  if (files.length === 0) throw new DataError('empty', `${dir}: no .png, .jpg or .jpeg files in its class folders`, dir);
  if (labels.numClasses < 2) throw new DataError('bad-label', `${dir}: a single class folder; declare all classes of the swarm with --classes NAME,NAME,... and a node may hold one`, dir);

  // Loaded here: dataset.ts (and through it the daemon's config checks) must not pull in tfjs.
  const tf = await import('@tensorflow/tfjs');
  const featureCount = options.imageShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(files.length * featureCount);
  const y = new Int32Array(files.length);
  for (let i = 0; i < files.length; i++) {
    const { path, label } = files[i]!;
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new DataError('unreadable', `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, path);
    }
    if (bytes.length > MAX_IMAGE_FILE_BYTES) throw new DataError('bad-shape', `${path}: ${bytes.length} bytes, more than the ${MAX_IMAGE_FILE_BYTES} an image may have`, path);
    convert(tf, decode(path, bytes), options.imageShape, x.subarray(i * featureCount, (i + 1) * featureCount));
    y[i] = label;
  }
  const all: Split = { x, y, count: files.length };
  const empty: Split = { x: new Float32Array(0), y: new Int32Array(0), count: 0 };
  let train = split === 'all-train' ? all : empty;
  let test = split === 'all-test' ? all : empty;
  if (split === 'hold-out') {
    if (files.length < 2) throw new DataError('empty', `${dir}: need at least 2 images to hold out a test split, found ${files.length}`, dir);
    const order = shuffleInPlace(Int32Array.from({ length: files.length }, (_, i) => i), createRandom(SPLIT_SEED));
    const testCount = Math.max(1, Math.round(files.length * TEST_FRACTION));
    const pick = (rows: Int32Array): Split => {
      const px = new Float32Array(rows.length * featureCount);
      const py = new Int32Array(rows.length);
      rows.forEach((row, i) => {
        px.set(x.subarray(row * featureCount, (row + 1) * featureCount), i * featureCount);
        py[i] = y[row]!;
      });
      return { x: px, y: py, count: rows.length };
    };
    train = pick(order.subarray(testCount));
    test = pick(order.subarray(0, testCount));
  }
  return { name: `images:${basename(dir)}`, featureCount, imageShape: options.imageShape, numClasses: labels.numClasses, train, test, classNames: classes };
}
