/**
 * Plain-text tables for benchmark output: every column padded to its widest
 * cell, two spaces apart; names left-aligned, numbers right-aligned.
 *
 *   console.log(formatTable(['codec', 'bytes'], [['q8', '1024']], { leftColumns: 1, rule: true }));
 */
export interface TableOptions {
  /** The first this many columns are left-aligned (names); the rest right-aligned (numbers). Default 0. */
  leftColumns?: number;
  /** A dashed line under the header. */
  rule?: boolean;
}

export function formatTable(header: string[], rows: string[][], options: TableOptions = {}): string {
  const leftColumns = options.leftColumns ?? 0;
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: string[]): string =>
    widths.map((width, c) => (c < leftColumns ? (cells[c] ?? '').padEnd(width) : (cells[c] ?? '').padStart(width))).join('  ').trimEnd();
  return [line(header), ...(options.rule === true ? [widths.map((w) => '-'.repeat(w)).join('  ')] : []), ...rows.map(line)].join('\n');
}
