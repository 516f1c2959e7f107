/**
 * Live progress of a cluster run. On a terminal: a block of one line per
 * node, redrawn in place. Elsewhere (CI logs, pipes): a plain block every
 * few seconds. Events (late joins, kills, restarts) print as their own
 * lines in both modes.
 */
import { formatBytes } from './units.ts';
import type { NodeSample } from './results.ts';

export type NodeStatus = 'waiting' | 'starting' | 'up' | 'down' | 'stopping' | 'exited';

export interface NodeRow {
  name: string;
  status: NodeStatus;
  sample: NodeSample | null;
}

export interface ProgressView {
  /** `phase` says where the run is: 'starting', '58 s left', 'stopping', 'done'. */
  update(elapsedSeconds: number, rows: NodeRow[], phase: string): void;
  event(message: string): void;
  close(): void;
}

const pad = (s: string, n: number): string => s.padEnd(n);
const padLeft = (s: string, n: number): string => s.padStart(n);

export function formatHeader(elapsedSeconds: number, phase: string, rows: NodeRow[]): string {
  const up = rows.filter((r) => r.status === 'up').length;
  const accuracies = rows.map((r) => r.sample?.accuracy).filter((a): a is number => typeof a === 'number');
  const mean = accuracies.length === 0 ? '–' : `${((accuracies.reduce((a, b) => a + b, 0) / accuracies.length) * 100).toFixed(1)}%`;
  return `gossip-learn cluster  ${Math.floor(elapsedSeconds)} s (${phase})  ${up}/${rows.length} up  mean accuracy ${mean}`;
}

export function formatRow(row: NodeRow): string {
  const s = row.sample;
  const accuracy = s?.accuracy === null || s?.accuracy === undefined ? '–' : `${(s.accuracy * 100).toFixed(1)}%`;
  return [
    pad(row.name, 8),
    pad(row.status, 8),
    `acc ${padLeft(accuracy, 6)}`,
    `age ${padLeft(String(s?.age ?? '–'), 6)}`,
    `peers ${padLeft(String(s?.peers ?? '–'), 2)}`,
    `exch ${padLeft(String(s?.exchanges ?? '–'), 5)}`,
    `sent ${padLeft(s ? formatBytes(s.bytesSent) : '–', 10)}`,
    `recv ${padLeft(s ? formatBytes(s.bytesReceived) : '–', 10)}`,
  ].join('  ');
}

/** Redraws the block in place with ANSI cursor moves. */
export class TtyProgress implements ProgressView {
  private drawnLines = 0;
  private lastBlock: string[] = [];
  private readonly out: NodeJS.WriteStream;

  constructor(out: NodeJS.WriteStream) {
    this.out = out;
  }

  update(elapsedSeconds: number, rows: NodeRow[], phase: string): void {
    this.lastBlock = [formatHeader(elapsedSeconds, phase, rows), ...rows.map(formatRow)];
    this.redraw();
  }

  event(message: string): void {
    this.erase();
    this.out.write(`${message}\n`);
    this.redraw();
  }

  close(): void {
    this.drawnLines = 0;
  }

  private erase(): void {
    if (this.drawnLines > 0) this.out.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  private redraw(): void {
    // A pty may report 0 columns (e.g. under `script`): treat that as unknown.
    const columns = this.out.columns || 120;
    this.erase();
    // Cut lines to the terminal width: a wrapped line would break the cursor arithmetic.
    this.out.write(this.lastBlock.map((l) => l.slice(0, Math.max(20, columns - 1))).join('\n') + (this.lastBlock.length ? '\n' : ''));
    this.drawnLines = this.lastBlock.length;
  }
}

/** Prints a timestamped block every `everySeconds`; never moves the cursor. */
export class PlainProgress implements ProgressView {
  private lastPrintedAt = Number.NEGATIVE_INFINITY;
  private readonly write: (line: string) => void;
  private readonly everySeconds: number;

  constructor(write: (line: string) => void, everySeconds: number) {
    this.write = write;
    this.everySeconds = everySeconds;
  }

  update(elapsedSeconds: number, rows: NodeRow[], phase: string): void {
    // Always show the final state; otherwise one block per `everySeconds`.
    if (phase !== 'done' && elapsedSeconds - this.lastPrintedAt < this.everySeconds) return;
    this.lastPrintedAt = elapsedSeconds;
    this.write(formatHeader(elapsedSeconds, phase, rows));
    for (const row of rows) this.write(`  ${formatRow(row)}`);
  }

  event(message: string): void {
    this.write(message);
  }

  close(): void {}
}

export class SilentProgress implements ProgressView {
  update(): void {}
  event(): void {}
  close(): void {}
}
