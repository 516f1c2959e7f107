/**
 * One supervised child process: spawned directly (never through npm/npx,
 * which do not forward signals: PLATFORM.md), its stdout and stderr appended
 * to a log file and scanned line by line, stopped gracefully (SIGTERM, wait,
 * then SIGKILL after a deadline) or killed hard (SIGKILL) on purpose.
 *
 *   const child = SupervisedChild.spawn({ command: process.execPath, args, logPath });
 *   const url = await child.waitForLine(/metrics at (\S+)/, 60_000);
 *   await child.stop(20_000);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface SpawnOptions {
  command: string;
  args: string[];
  logPath: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group: a terminal's Ctrl-C then reaches only the parent. */
  detached?: boolean;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type LineListener = (line: string, stream: 'stdout' | 'stderr') => void;

// A daemon that prints megabytes without a newline is broken; cap what we buffer.
const MAX_PARTIAL_LINE_CHARS = 64 * 1024;

export class SupervisedChild {
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  /** Settles once both pipes ended and the log file is closed. */
  readonly logClosed: Promise<void>;
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private readonly lineListeners = new Set<LineListener>();
  private exitInfo: ChildExit | null = null;

  private constructor(child: ChildProcess, log: WriteStream) {
    if (child.pid === undefined) throw new Error('spawn returned no pid');
    this.pid = child.pid;
    this.child = child;
    this.log = log;
    this.exited = new Promise<ChildExit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    // Close the log only after both pipes drained, so the last lines are kept.
    let open = 2;
    let resolveLogClosed!: () => void;
    this.logClosed = new Promise((resolve) => (resolveLogClosed = resolve));
    const closeLog = () => {
      open -= 1;
      if (open === 0) log.end(resolveLogClosed);
    };
    this.scan(child.stdout, 'stdout', closeLog);
    this.scan(child.stderr, 'stderr', closeLog);
  }

  /** Spawns the child; rejects if the executable cannot be started at all. */
  static async spawn(options: SpawnOptions): Promise<SupervisedChild> {
    const log = createWriteStream(options.logPath, { flags: 'a' });
    // stdin stays an open pipe: a daemon run with its exit-with-parent flag
    // sees EOF there when the launcher dies, even from SIGKILL.
    const child = spawn(options.command, options.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
      detached: options.detached ?? false,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => {
        log.end();
        reject(err);
      });
    });
    // An EPIPE on stdin after the child died is expected; never crash on it.
    child.stdin?.on('error', () => {});
    return new SupervisedChild(child, log);
  }

  get exitStatus(): ChildExit | null {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  onLine(listener: LineListener): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /**
   * Resolves with the first match of `pattern` in a stdout line, from now on;
   * rejects when the child exits first or the deadline passes.
   */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const done = (finish: () => void) => {
        clearTimeout(timer);
        off();
        finish();
      };
      const off = this.onLine((line, stream) => {
        if (stream !== 'stdout') return;
        const match = line.match(pattern);
        if (match) done(() => resolve(match));
      });
      const timer = setTimeout(() => done(() => reject(new LineTimeoutError(pattern, timeoutMs))), timeoutMs);
      void this.exited.then((exit) => done(() => reject(new ChildExitedError(exit))));
    });
  }

  /** SIGTERM, then SIGKILL when it has not exited after `deadlineMs`. */
  async stop(deadlineMs: number): Promise<ChildExit & { forced: boolean }> {
    if (this.exitInfo !== null) return { ...this.exitInfo, forced: false };
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deadlineMs);
    });
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return { ...first, forced: false };
    this.signal('SIGKILL');
    return { ...(await this.exited), forced: true };
  }

  /** kill -9: no checkpoint, no goodbye (churn). Resolves when it is gone. */
  async killHard(): Promise<ChildExit> {
    this.signal('SIGKILL');
    return this.exited;
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.exitInfo !== null) return;
    try {
      this.child.kill(signal);
    } catch {
      // Already gone between the check and the kill: `exited` settles anyway.
    }
  }

  private scan(stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr', onEnd: () => void): void {
    if (stream === null) {
      onEnd();
      return;
    }
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.log.write(chunk);
      partial += chunk;
      let newline = partial.indexOf('\n');
      while (newline >= 0) {
        const line = partial.slice(0, newline).replace(/\r$/, '');
        partial = partial.slice(newline + 1);
        for (const listener of this.lineListeners) listener(line, name);
        newline = partial.indexOf('\n');
      }
      if (partial.length > MAX_PARTIAL_LINE_CHARS) partial = partial.slice(-MAX_PARTIAL_LINE_CHARS);
    });
    stream.on('end', onEnd);
  }
}

export class LineTimeoutError extends Error {
  override name = 'LineTimeoutError';
  constructor(pattern: RegExp, timeoutMs: number) {
    super(`no stdout line matched ${pattern} within ${timeoutMs} ms`);
  }
}

export class ChildExitedError extends Error {
  override name = 'ChildExitedError';
  readonly exit: ChildExit;
  constructor(exit: ChildExit) {
    super(`process exited (code ${exit.code}, signal ${exit.signal})`);
    this.exit = exit;
  }
}
