/**
 * Which character separates the cells of a CSV file, from its first lines.
 * csv-parse's own `delimiter_auto` (7.0.3) fails on quoted cells that hold
 * the delimiter (tried: `"3,5",4` raises "Invalid Closing Quote"), so each
 * candidate is tried with the real parser on a sample instead:
 *
 *   detectDelimiter('a;b;label\n1,5;2,25;cat\n')   // ';'
 *
 * A candidate counts when every sampled record splits into the same number
 * (at least 2) of cells; among those, the one whose cells read as numbers
 * most often wins (a decimal comma counts as a number here, so a
 * semicolon-separated file with decimal commas is read as one; the loader
 * then names the decimal comma), then the one with more cells, then the
 * order of CSV_DELIMITER_CANDIDATES. No candidate: ','.
 */
import { parse } from 'csv-parse/sync';

/** Delimiters tried, most common first. */
export const CSV_DELIMITER_CANDIDATES = [',', ';', '\t', '|'] as const;
/** Records of the sample parsed per candidate. */
const SAMPLE_RECORDS = 50;

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const DECIMAL_COMMA_NUMBER = /^[-+]?\d+,\d+$/;

/** True when `cell` is a number written with a decimal comma, e.g. `1,5` (the loader's hint). */
export function isDecimalCommaNumber(cell: string): boolean {
  return DECIMAL_COMMA_NUMBER.test(cell);
}

/** Drops one empty cell at the end of a record (a trailing delimiter on every row). */
export function withoutTrailingEmptyCell(record: string[]): string[] {
  return record.length > 1 && record.at(-1) === '' ? record.slice(0, -1) : record;
}

/**
 * The delimiter of the text `sample` (the start of a file; a cut-off last
 * line is ignored when `complete` is false). Never throws.
 */
export function detectDelimiter(sample: string, complete = true): string {
  const text = complete ? sample : sample.slice(0, sample.lastIndexOf('\n') + 1);
  let best: { delimiter: string; numeric: number; columns: number } | null = null;
  for (const delimiter of CSV_DELIMITER_CANDIDATES) {
    let records: string[][];
    try {
      records = parse(text, { delimiter, bom: true, trim: true, relax_column_count: true, skip_empty_lines: true, to: SAMPLE_RECORDS }) as string[][];
    } catch {
      continue;
    }
    if (records.length === 0) continue;
    const counts = records.map((r) => withoutTrailingEmptyCell(r).length);
    const columns = counts[0]!;
    if (columns < 2 || counts.some((n) => n !== columns)) continue;
    let cells = 0;
    let numbers = 0;
    for (const record of records) {
      for (const cell of withoutTrailingEmptyCell(record)) {
        cells++;
        if (NUMBER.test(cell) || (delimiter !== ',' && DECIMAL_COMMA_NUMBER.test(cell))) numbers++;
      }
    }
    const numeric = numbers / cells;
    if (best === null || numeric > best.numeric || (numeric === best.numeric && columns > best.columns)) best = { delimiter, numeric, columns };
  }
  return best?.delimiter ?? ',';
}

/**
 * Parses a --csv-delimiter value: one character, or `tab` (also `\t`
 * written as two characters). Throws Error with a one-line message.
 */
export function parseCsvDelimiter(text: string): string {
  if (text === 'tab' || text === '\\t') return '\t';
  if ([...text].length !== 1) throw new Error(`'${text}' is not one character (e.g. ',' or ';' or tab)`);
  if (text === '"' || text === '\n' || text === '\r') throw new Error(`'${text === '"' ? '"' : 'a line break'}' cannot separate cells`);
  return text;
}
