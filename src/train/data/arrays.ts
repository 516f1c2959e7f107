/**
 * A library caller's own data (createNode's `data`) as a Dataset: rows of
 * numbers and labels, given as arrays or as an async iterable of batches.
 *
 *   await datasetFromArrays({ x: [[5.1, 3.5], [6.2, 2.9]], y: ['setosa', 'versicolor'] }, { classes: ['setosa', 'versicolor', 'virginica'] });
 *
 * Labels follow the same rules as CSV labels (labels.ts). Without `test`,
 * CSV_TEST_FRACTION of the rows (a fixed-seed shuffle) are held out as the
 * test split, as for a CSV file.
 */
import { createRandom, shuffleInPlace } from '../random.ts';
import { GrowingRows } from './growing-rows.ts';
import { LabelMap } from './labels.ts';
import { DataError, type Dataset, type Split } from './types.ts';

/** Share of the rows held out as the test split when no test set is given (the CSV loader's). */
const TEST_FRACTION = 0.2;
const SPLIT_SEED = 7321;
/** Most rows a caller's data may hold (4 bytes per feature each): a bound on memory, not a model limit. */
export const MAX_ARRAY_ROWS = 10_000_000;

/** Rows and labels: `x` as one array per row, `y` as class names or integer indices. */
export interface ArrayRows {
  x: ArrayLike<ArrayLike<number>>;
  y: ArrayLike<number | string>;
}

export interface ArrayDataInput extends ArrayRows {
  /** A test set (e.g. shared by the swarm); absent: 20% of the rows are held out. */
  test?: ArrayRows;
  /** [height, width, channels] when rows are images (flattened row-major); absent: tabular. */
  imageShape?: [number, number, number];
}

/** What createNode accepts as data. */
export type ArrayData = ArrayDataInput | AsyncIterable<ArrayRows>;

function isIterable(data: ArrayData): data is AsyncIterable<ArrayRows> {
  return typeof (data as AsyncIterable<ArrayRows>)[Symbol.asyncIterator] === 'function';
}

/** Appends rows to typed arrays, checking width, values and labels; errors name `source`, the row (from 1) and the value. */
class RowSink {
  private rows: GrowingRows | null = null;
  readonly source: string;
  readonly labels: LabelMap;
  constructor(source: string, labels: LabelMap, width: number | null) {
    this.source = source;
    this.labels = labels;
    if (width !== null) this.rows = new GrowingRows(width);
  }
  get count(): number {
    return this.rows?.count ?? 0;
  }
  get width(): number | null {
    return this.rows?.width ?? null;
  }
  add(batch: ArrayRows): void {
    if (batch.x.length !== batch.y.length) throw new DataError('count-mismatch', `${this.source}: ${batch.x.length} rows of x but ${batch.y.length} labels`);
    for (let i = 0; i < batch.x.length; i++) {
      const row = batch.x[i]!;
      const at = `${this.source}: row ${this.count + 1}`;
      if (this.count >= MAX_ARRAY_ROWS) throw new DataError('bad-shape', `${this.source}: more than ${MAX_ARRAY_ROWS} rows`);
      this.rows ??= new GrowingRows(row.length);
      if (row.length !== this.rows.width) throw new DataError('bad-shape', `${at} has ${row.length} values, expected ${this.rows.width}`);
      for (let f = 0; f < row.length; f++) {
        const value = row[f];
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new DataError('bad-shape', `${at}, feature ${f + 1}: ${String(value)} is not a finite number`);
      }
      const index = this.labels.indexOf(String(batch.y[i]));
      if (typeof index === 'string') throw new DataError('bad-label', `${at}: ${index}`);
      this.rows.push(row, index);
    }
  }
  split(): Split {
    return this.rows?.split() ?? { x: new Float32Array(0), y: new Int32Array(0), count: 0 };
  }
}

function pick(all: Split, width: number, order: Int32Array): Split {
  const x = new Float32Array(order.length * width);
  const y = new Int32Array(order.length);
  order.forEach((row, i) => {
    x.set(all.x.subarray(row * width, (row + 1) * width), i * width);
    y[i] = all.y[row]!;
  });
  return { x, y, count: order.length };
}

/**
 * Builds a Dataset named `data` from a caller's rows. Throws DataError:
 * 'bad-shape' (uneven rows, a non-finite value, an image shape that does
 * not hold a row), 'count-mismatch' (x and y lengths), 'bad-label', 'empty'.
 */
export async function datasetFromArrays(data: ArrayData, options: { classes: string[] | null }): Promise<Dataset> {
  const labels = new LabelMap(options.classes);
  const sink = new RowSink('data', labels, null);
  let test: ArrayRows | undefined;
  let imageShape: [number, number, number] | null = null;
  if (isIterable(data)) {
    for await (const batch of data) sink.add(batch);
  } else {
    sink.add(data);
    test = data.test;
    imageShape = data.imageShape ?? null;
  }
  if (sink.count === 0 || sink.width === null) throw new DataError('empty', 'data: no rows');
  const width = sink.width;
  if (imageShape !== null && imageShape.reduce((a, b) => a * b, 1) !== width) {
    throw new DataError('bad-shape', `data: imageShape [${imageShape.join(', ')}] does not hold a row of ${width} values`);
  }
  const all = sink.split();
  let train: Split;
  let testSplit: Split;
  if (test !== undefined) {
    const testSink = new RowSink('data.test', labels, width);
    testSink.add(test);
    if (testSink.count === 0) throw new DataError('empty', 'data.test: no rows');
    train = all;
    testSplit = testSink.split();
  } else {
    if (all.count < 2) throw new DataError('empty', `data: need at least 2 rows to hold out a test split, found ${all.count}`);
    const order = shuffleInPlace(Int32Array.from({ length: all.count }, (_, i) => i), createRandom(SPLIT_SEED));
    const testCount = Math.max(1, Math.round(all.count * TEST_FRACTION));
    train = pick(all, width, order.subarray(testCount));
    testSplit = pick(all, width, order.subarray(0, testCount));
  }
  const numClasses = labels.numClasses;
  if (numClasses < 2) throw new DataError('bad-label', 'data: a single class; declare all classes of the swarm with classes: [...] and a node may hold one');
  return {
    name: 'arrays',
    featureCount: width,
    imageShape,
    numClasses,
    train,
    test: testSplit,
    ...(options.classes === null ? {} : { classNames: options.classes }),
    ...(test === undefined ? {} : { testSource: 'data.test' }),
  };
}
