/**
 * Tabular data from a CSV file: numeric feature columns plus one label
 * column. The first row is a header when it holds a non-numeric cell where
 * the next row has a number (or when every cell is text). The label column
 * is the one named label / class / target / y when there is a header, else
 * the last column. Labels are integers 0..K-1, or text mapped to 0..K-1 in
 * sorted order. A fixed-seed shuffle holds out CSV_TEST_FRACTION as the test
 * split; features are standardized with the train split's mean and spread.
 */
import { basename } from 'node:path';
import { createRandom, shuffleInPlace } from '../random.ts';
import { readDataFile } from './read-file.ts';
import { DataError, type Dataset, type Split } from './types.ts';

/** Share of the rows held out as the test split. */
export const CSV_TEST_FRACTION = 0.2;
// Fixed: every node reading the same file must hold out the same rows.
const CSV_SPLIT_SEED = 7321;
/** Header names (any case) that mark the label column; without one, the last column is the label. */
export const LABEL_COLUMN_NAMES = ['label', 'class', 'target', 'y'];

/** Splits one CSV line; double quotes may wrap a cell, `""` inside is a quote. */
function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

/** Strict number parse: Number('') is 0 and Number(' ') too, so reject blanks; reject NaN/Infinity. */
function parseNumber(cell: string): number | null {
  if (cell === '') return null;
  const value = Number(cell);
  return Number.isFinite(value) ? value : null;
}

interface Row {
  line: number;
  cells: string[];
}

function standardize(split: Split, featureCount: number, mean: Float64Array, scale: Float64Array): void {
  for (let r = 0; r < split.count; r++) {
    for (let f = 0; f < featureCount; f++) {
      const i = r * featureCount + f;
      split.x[i] = (split.x[i]! - mean[f]!) / scale[f]!;
    }
  }
}

export async function loadCsvDataset(path: string): Promise<Dataset> {
  const text = new TextDecoder('utf-8').decode(await readDataFile(path));
  const rows: Row[] = [];
  text.split(/\r?\n/).forEach((content, i) => {
    if (content.trim() !== '') rows.push({ line: i + 1, cells: splitCsvLine(content) });
  });
  if (rows.length === 0) throw new DataError('empty', `${path}: no rows`, path);

  const first = rows[0]!;
  const second = rows[1];
  const firstIsText = first.cells.map((c) => parseNumber(c) === null);
  const hasHeader =
    firstIsText.every(Boolean) || (second !== undefined && firstIsText.some((isText, c) => isText && parseNumber(second.cells[c] ?? '') !== null));
  const header = hasHeader ? first.cells : null;
  const data = hasHeader ? rows.slice(1) : rows;
  const columnCount = first.cells.length;
  if (columnCount < 2) throw new DataError('bad-csv', `${path}: need at least one feature column and a label column, found ${columnCount} column(s)`, path);
  const named = header?.findIndex((name) => LABEL_COLUMN_NAMES.includes(name.toLowerCase())) ?? -1;
  const labelColumn = named >= 0 ? named : columnCount - 1;
  const columnName = (c: number): string => (header ? `${c + 1} ('${header[c]}')` : `${c + 1}`);
  if (data.length < 2) throw new DataError('empty', `${path}: need at least 2 data rows to hold out a test split, found ${data.length}`, path);

  const featureCount = columnCount - 1;
  const features = new Float32Array(data.length * featureCount);
  const labelCells: string[] = [];
  data.forEach((row, r) => {
    if (row.cells.length !== columnCount) {
      throw new DataError('bad-csv', `${path}: row ${row.line} has ${row.cells.length} cells, expected ${columnCount}`, path);
    }
    let f = 0;
    row.cells.forEach((cell, c) => {
      if (c === labelColumn) {
        if (cell === '') throw new DataError('bad-csv', `${path}: row ${row.line}, column ${columnName(c)}: empty label`, path);
        labelCells.push(cell);
        return;
      }
      const value = parseNumber(cell);
      if (value === null) throw new DataError('bad-csv', `${path}: row ${row.line}, column ${columnName(c)}: '${cell}' is not a number`, path);
      features[r * featureCount + f++] = value;
    });
  });

  // Integer labels keep their values; text labels become indices in sorted order.
  const integerLabels = labelCells.every((cell) => /^\d+$/.test(cell));
  const classNames = integerLabels ? null : [...new Set(labelCells)].sort();
  const labels = Int32Array.from(labelCells, (cell) => (classNames ? classNames.indexOf(cell) : Number(cell)));
  const numClasses = classNames ? classNames.length : Math.max(...labels) + 1;
  if (numClasses < 2) throw new DataError('bad-label', `${path}: the label column ${columnName(labelColumn)} has a single class`, path);

  const order = shuffleInPlace(Int32Array.from(data.keys()), createRandom(CSV_SPLIT_SEED));
  const testCount = Math.max(1, Math.round(data.length * CSV_TEST_FRACTION));
  const pick = (rowsOf: Int32Array): Split => {
    const x = new Float32Array(rowsOf.length * featureCount);
    const y = new Int32Array(rowsOf.length);
    rowsOf.forEach((row, i) => {
      x.set(features.subarray(row * featureCount, (row + 1) * featureCount), i * featureCount);
      y[i] = labels[row]!;
    });
    return { x, y, count: rowsOf.length };
  };
  const train = pick(order.subarray(testCount));
  const test = pick(order.subarray(0, testCount));

  const mean = new Float64Array(featureCount);
  const scale = new Float64Array(featureCount);
  for (let r = 0; r < train.count; r++) for (let f = 0; f < featureCount; f++) mean[f] += train.x[r * featureCount + f]!;
  for (let f = 0; f < featureCount; f++) mean[f] /= train.count;
  for (let r = 0; r < train.count; r++) for (let f = 0; f < featureCount; f++) scale[f] += (train.x[r * featureCount + f]! - mean[f]!) ** 2;
  // A constant column would divide by zero: leave its spread at 1.
  for (let f = 0; f < featureCount; f++) scale[f] = Math.sqrt(scale[f]! / train.count) || 1;
  standardize(train, featureCount, mean, scale);
  standardize(test, featureCount, mean, scale);

  return { name: `csv:${basename(path)}`, featureCount, imageShape: null, numClasses, train, test };
}
