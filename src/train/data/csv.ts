/**
 * Tabular data from a CSV file: numeric feature columns plus one label
 * column, parsed by csv-parse as a stream (quotes, line breaks inside quoted
 * cells, BOM, CRLF), so memory grows with rows * features * 4 bytes, not
 * with the file's text.
 *
 *   const table = await readCsvTable('/data/node-a.csv', { classes: ['cat', 'dog', 'fish'], delimiter: null });
 *   table.y   // Int32Array of indices into classes
 *
 * Layout: the delimiter is detected from the first lines (csv-delimiter.ts)
 * unless given. The first row is a header when it holds a non-numeric cell
 * where the next row has a number (or when every cell is text). The label
 * column is the one named label / class / target / y in a header, else the
 * last column. One empty cell after the last column (a trailing delimiter)
 * is ignored.
 *
 * Labels: with declared classes (--classes, in index order, the same on
 * every node), a label is a class name, or an integer index below the class
 * count; a name wins over an index. Without declared classes, labels are
 * integers below MAX_UNDECLARED_CLASSES and the class count is the largest
 * + 1. Anything else is a DataError naming file, row (the line number) and
 * value. Features are used as they are: a fixed normalization, the same on
 * every node, is applied by the caller (../dataset.ts, --normalization).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { createRandom, shuffleInPlace } from '../random.ts';
import { detectDelimiter, isDecimalCommaNumber, withoutTrailingEmptyCell } from './csv-delimiter.ts';
import { GrowingRows } from './growing-rows.ts';
import { LabelMap } from './labels.ts';
import { DataError, type Dataset, type Split } from './types.ts';

/** Share of the rows held out as the test split. */
export const CSV_TEST_FRACTION = 0.2;
// Fixed: every node reading the same file must hold out the same rows.
const CSV_SPLIT_SEED = 7321;
/** Header names (any case) that mark the label column; without one, the last column is the label. */
export const LABEL_COLUMN_NAMES = ['label', 'class', 'target', 'y'];
export { MAX_UNDECLARED_CLASSES } from './labels.ts';
/** Bytes read to detect the delimiter. */
const DELIMITER_SAMPLE_BYTES = 64 * 1024;

export interface CsvOptions {
  /** Class names in index order (--classes); null: integer labels, count = largest + 1. */
  classes: string[] | null;
  /** The cell delimiter (--csv-delimiter); null: detected from the first lines. */
  delimiter: string | null;
  /** True: no label column, every column is a feature and every label is UNLABELLED (rows to predict: predict --no-labels). */
  unlabelled?: boolean;
}

/** The label of a row of an unlabelled file (CsvOptions.unlabelled): no class index. */
export const UNLABELLED = -1;

/** A whole CSV file as numbers. */
export interface CsvTable {
  /** Feature column names from the header, in order; null without a header. */
  featureNames: string[] | null;
  featureCount: number;
  /** The declared classes, or (undeclared) the largest label + 1. */
  numClasses: number;
  /** count * featureCount values, row-major, as written in the file. */
  x: Float32Array;
  y: Int32Array;
  count: number;
}

/** Strict number parse: Number('') is 0 and Number(' ') too, so reject blanks; reject NaN/Infinity. */
function parseNumber(cell: string): number | null {
  if (cell === '') return null;
  const value = Number(cell);
  return Number.isFinite(value) ? value : null;
}

/** The file's bytes as a stream, gunzipped when it starts with the gzip magic bytes. */
async function openSource(path: string): Promise<{ stream: Readable; head: Buffer }> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError('missing-file', `${path}: file not found`, path);
    throw new DataError('unreadable', `${path}: cannot read (${code ?? String(err)})`, path);
  }
  const headRaw = Buffer.alloc(DELIMITER_SAMPLE_BYTES);
  let gzip = false;
  try {
    const { bytesRead } = await handle.read(headRaw, 0, 2, 0);
    gzip = bytesRead === 2 && headRaw[0] === 0x1f && headRaw[1] === 0x8b;
  } finally {
    await handle.close();
  }
  const wrap = (): Readable => {
    const file = createReadStream(path);
    if (!gzip) return file;
    const gunzip = createGunzip();
    file.on('error', (err) => gunzip.destroy(err));
    return file.pipe(gunzip);
  };
  // The delimiter sample: the first DELIMITER_SAMPLE_BYTES of the (decompressed) text.
  const chunks: Buffer[] = [];
  let length = 0;
  const probe = wrap();
  try {
    for await (const chunk of probe) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= DELIMITER_SAMPLE_BYTES) break;
    }
  } catch (err) {
    throw new DataError(gzip ? 'bad-gzip' : 'unreadable', `${path}: ${gzip ? 'corrupt or truncated gzip data' : 'cannot read'} (${(err as Error).message})`, path);
  } finally {
    probe.destroy();
  }
  return { stream: wrap(), head: Buffer.concat(chunks).subarray(0, DELIMITER_SAMPLE_BYTES) };
}

const shownDelimiter = (d: string): string => (d === '\t' ? 'tab' : `'${d}'`);

/**
 * Reads every row of a CSV file. Throws DataError: 'missing-file' /
 * 'unreadable', 'bad-csv' (layout, a cell that is not a number, a parse
 * error), 'bad-label' (a label outside the classes), 'empty'.
 */
export async function readCsvTable(path: string, options: CsvOptions): Promise<CsvTable> {
  const { stream, head } = await openSource(path);
  const sample = head.toString('utf8');
  const delimiter = options.delimiter ?? detectDelimiter(sample, head.length < DELIMITER_SAMPLE_BYTES);
  const labels = new LabelMap(options.classes);

  const parser = parse({ delimiter, bom: true, trim: true, relax_column_count: true, skip_empty_lines: true, info: true });
  stream.on('error', (err) => parser.destroy(err));
  stream.pipe(parser);

  let firstRecord: { record: string[]; line: number } | null = null;
  let header: string[] | null = null;
  let columnCount = 0;
  let labelColumn = -1;
  let rows: GrowingRows | null = null;
  let features = new Float32Array(0);
  const columnName = (c: number): string => (header ? `${c + 1} ('${header[c]}')` : `${c + 1}`);
  const where = (line: number): string => `${path}: row ${line}`;

  const setLayout = (first: string[], second: string[] | null): void => {
    const firstIsText = first.map((c) => parseNumber(c) === null);
    const hasHeader = firstIsText.every(Boolean) || (second !== null && firstIsText.some((isText, c) => isText && parseNumber(second[c] ?? '') !== null));
    header = hasHeader ? first : null;
    columnCount = first.length;
    if (options.unlabelled === true) {
      labelColumn = -1;
      rows = new GrowingRows(columnCount);
      features = new Float32Array(columnCount);
      return;
    }
    if (columnCount < 2) {
      const others = [',', ';', '\t'].filter((d) => d !== delimiter && sample.split('\n', 1)[0]!.includes(d));
      const hint = others.length > 0 ? `; the first line holds ${others.map(shownDelimiter).join(' and ')}: try --csv-delimiter ${others[0] === '\t' ? 'tab' : `'${others[0]}'`}` : '';
      throw new DataError('bad-csv', `${path}: need at least one feature column and a label column, found ${columnCount} column(s) separated by ${shownDelimiter(delimiter)}${hint}`, path);
    }
    const named = header?.findIndex((name) => LABEL_COLUMN_NAMES.includes(name.toLowerCase())) ?? -1;
    labelColumn = named >= 0 ? named : columnCount - 1;
    rows = new GrowingRows(columnCount - 1);
    features = new Float32Array(columnCount - 1);
  };

  const labelOf = (cell: string, line: number): number => {
    const index = labels.indexOf(cell);
    if (typeof index === 'number') return index;
    throw new DataError('bad-label', cell === '' ? `${where(line)}, column ${columnName(labelColumn)}: ${index}` : `${where(line)}: ${index}`, path);
  };

  const addRow = (record: string[], line: number): void => {
    if (record.length !== columnCount) throw new DataError('bad-csv', `${where(line)} has ${record.length} cells, expected ${columnCount}`, path);
    let f = 0;
    for (let c = 0; c < columnCount; c++) {
      if (c === labelColumn) continue;
      const cell = record[c]!;
      const value = parseNumber(cell);
      if (value === null) {
        const hint = isDecimalCommaNumber(cell)
          ? `; a decimal comma? write ${cell.replace(',', '.')} (numbers use a decimal point)`
          : options.unlabelled === true
            ? ' (without labels every column is a feature)'
            : '';
        throw new DataError('bad-csv', `${where(line)}, column ${columnName(c)}: '${cell}' is not a number${hint}`, path);
      }
      features[f++] = value;
    }
    rows!.push(features, labelColumn < 0 ? UNLABELLED : labelOf(record[labelColumn]!, line));
  };

  try {
    for await (const { record: raw, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const record = withoutTrailingEmptyCell(raw);
      if (firstRecord === null) {
        firstRecord = { record, line: info.lines };
        continue;
      }
      if (rows === null) {
        setLayout(firstRecord.record, record);
        if (header === null) addRow(firstRecord.record, firstRecord.line);
      }
      addRow(record, info.lines);
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError('bad-csv', `${path}: ${(err as Error).message.split('\n')[0]}`, path);
  } finally {
    stream.destroy();
    parser.destroy();
  }
  if (firstRecord === null) throw new DataError('empty', `${path}: no rows`, path);
  if (rows === null) {
    setLayout(firstRecord.record, null);
    if (header === null) addRow(firstRecord.record, firstRecord.line);
  }
  const table = rows! as GrowingRows;
  const headerNames = header as string[] | null;
  if (table.count === 0) throw new DataError('empty', `${path}: no rows below the header`, path);
  const numClasses = labels.numClasses;
  if (numClasses < 2 && options.unlabelled !== true) {
    throw new DataError('bad-label', `${path}: the label column ${columnName(labelColumn)} has a single class; declare all classes of the swarm with --classes NAME,NAME,... and a node may hold one`, path);
  }
  const featureCount = labelColumn < 0 ? columnCount : columnCount - 1;
  return {
    featureNames: headerNames === null ? null : headerNames.filter((_, c) => c !== labelColumn),
    featureCount,
    numClasses,
    x: table.x.subarray(0, table.count * featureCount),
    y: table.y.subarray(0, table.count),
    count: table.count,
  };
}

/** Rows of `table` in `order` as a split (copied). */
function pick(table: CsvTable, order: Int32Array): Split {
  const width = table.featureCount;
  const x = new Float32Array(order.length * width);
  const y = new Int32Array(order.length);
  order.forEach((row, i) => {
    x.set(table.x.subarray(row * width, (row + 1) * width), i * width);
    y[i] = table.y[row]!;
  });
  return { x, y, count: order.length };
}

/**
 * A CSV file as a Dataset. `split`: 'hold-out' keeps CSV_TEST_FRACTION of
 * the rows (a fixed-seed shuffle, the same on every node reading the same
 * file) as the test split; 'all-train' trains on every row (a shared test
 * set comes from --test-data); 'all-test' makes every row a test row (the
 * --test-data file itself).
 */
export async function loadCsvDataset(path: string, options: CsvOptions, split: 'hold-out' | 'all-train' | 'all-test' = 'hold-out'): Promise<Dataset> {
  const table = await readCsvTable(path, options);
  if (split === 'hold-out' && table.count < 2) throw new DataError('empty', `${path}: need at least 2 data rows to hold out a test split, found ${table.count}`, path);
  const all = { x: table.x, y: table.y, count: table.count };
  const empty = { x: new Float32Array(0), y: new Int32Array(0), count: 0 };
  let train: Split;
  let test: Split;
  if (split === 'hold-out') {
    const order = shuffleInPlace(Int32Array.from({ length: table.count }, (_, i) => i), createRandom(CSV_SPLIT_SEED));
    const testCount = Math.max(1, Math.round(table.count * CSV_TEST_FRACTION));
    train = pick(table, order.subarray(testCount));
    test = pick(table, order.subarray(0, testCount));
  } else {
    train = split === 'all-train' ? all : empty;
    test = split === 'all-test' ? all : empty;
  }
  return {
    name: `csv:${basename(path)}`,
    featureCount: table.featureCount,
    imageShape: null,
    numClasses: table.numClasses,
    train,
    test,
    ...(options.classes === null ? {} : { classNames: options.classes }),
    ...(table.featureNames === null ? {} : { featureNames: table.featureNames }),
  };
}
