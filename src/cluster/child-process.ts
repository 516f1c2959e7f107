/**
 * Daemons run as child processes: the one supervisor that the cluster
 * launcher, the real-daemon benchmarks and fuzz (src/bench) and the tests
 * use to start, watch and stop them.
 *
 * SupervisedChild is one child process: spawned directly (never through npm
 * or npx, which do not forward SIGTERM or SIGINT to the program they run),
 * its stdout and stderr scanned line by line, appended to a log file when it
 * has one, the end of its stderr kept for error messages, stopped gracefully
 * (SIGTERM, wait, then SIGKILL after a deadline) or killed hard (SIGKILL) on
 * purpose.
 *
 *   const child = await SupervisedChild.spawn({ command: process.execPath, args, logPath });
 *   const url = await child.waitForLine(/metrics at (\S+)/, 60_000);
 *   await child.stop(20_000);
 *
 * startDaemonProcess runs `node bin/gossip-learn.js daemon <args>` as one and
 * resolves once the daemon printed its ready lines and serves /healthz with
 * 200; getDaemonMetrics reads its /metrics; stopDaemonProcess stops it.
 * Daemons started here (and by the cluster launcher) get daemonEnv(): our
 * environment without GOSSIP_LEARN_* variables, so their arguments alone
 * configure them.
 *
 *   const daemon = await startDaemonProcess(['--swarm', 'x', '--metrics-port', '0'], { startTimeoutMs: 120_000 });
 *   const metrics = await getDaemonMetrics(daemon.metricsUrl);
 *   const exitCode = await stopDaemonProcess(daemon, 30_000);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LISTEN_LINE_PREFIX, METRICS_LINE_PATTERN, PEER_ID_LINE_PREFIX } from '../node/constants.ts';
import type { MetricsJson } from '../node/metrics.ts';

export interface SpawnOptions {
  command: string;
  args: string[];
  /** Append stdout and stderr to this file (none: the output is only scanned). */
  logPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group: a terminal's Ctrl-C then reaches only the parent. */
  detached?: boolean;
  /** Also copy the child's stderr to ours (debugging). */
  echoStderr?: boolean;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type LineListener = (line: string, stream: 'stdout' | 'stderr') => void;

// A daemon that prints megabytes without a newline is broken; cap what we buffer.
const MAX_PARTIAL_LINE_CHARS = 64 * 1024;
/** How much of the child's stderr (its logs) stderrTail() keeps. */
const STDERR_TAIL_CHARS = 8192;

export class SupervisedChild {
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  /** Settles once both pipes ended and the log file (if any) is closed. */
  readonly logClosed: Promise<void>;
  private readonly child: ChildProcess;
  private readonly log: WriteStream | null;
  private readonly echoStderr: boolean;
  private readonly lineListeners = new Set<LineListener>();
  private exitInfo: ChildExit | null = null;
  private stderrText = '';

  private constructor(child: ChildProcess, log: WriteStream | null, echoStderr: boolean) {
    if (child.pid === undefined) throw new Error('spawn returned no pid');
    this.pid = child.pid;
    this.child = child;
    this.log = log;
    this.echoStderr = echoStderr;
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
      if (open > 0) return;
      if (log === null) resolveLogClosed();
      else log.end(resolveLogClosed);
    };
    this.scan(child.stdout, 'stdout', closeLog);
    this.scan(child.stderr, 'stderr', closeLog);
  }

  /** Spawns the child; rejects if the executable cannot be started at all. */
  static async spawn(options: SpawnOptions): Promise<SupervisedChild> {
    const log = options.logPath === undefined ? null : createWriteStream(options.logPath, { flags: 'a' });
    // stdin stays an open pipe that nobody writes to; it closes when this
    // process exits, even from SIGKILL. (A daemon run with --exit-with-parent
    // notices its parent's death by its parent pid changing.)
    const child = spawn(options.command, options.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
      detached: options.detached ?? false,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => {
        log?.end();
        reject(err);
      });
    });
    // An EPIPE on stdin after the child died is expected; never crash on it.
    child.stdin?.on('error', () => {});
    return new SupervisedChild(child, log, options.echoStderr ?? false);
  }

  get exitStatus(): ChildExit | null {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** The last few KB of its stderr (a daemon's logs), for error messages. */
  stderrTail(): string {
    return this.stderrText;
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
      this.log?.write(chunk);
      if (name === 'stderr') {
        this.stderrText = (this.stderrText + chunk).slice(-STDERR_TAIL_CHARS);
        if (this.echoStderr) process.stderr.write(chunk);
      }
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

/** bin/gossip-learn.js, the CLI whose `daemon` command runs a node. */
export const CLI_PATH = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));

/**
 * Node flags for a daemon process. V8 sizes the young generation from the
 * machine's memory: on this 24 GiB machine new space grows to 128 MB, most of
 * it garbage from training steps, and it is never given back. Capping the
 * semi-space at 8 MB measured 254 MB RSS instead of 324 MB for an `mlp`
 * daemon, with the same training throughput (2900 vs 2980 steps in 60 s).
 * Launchers pass these before the CLI path (also allowed in NODE_OPTIONS).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

// The daemon's stdout lines are its CLI contract; they are defined next to
// the daemon (src/node/constants.ts) and only read here: no daemon code runs
// in a supervisor. The daemon prints them together, metrics line last.
/** `metrics: <url>`: the first capture group is the /metrics URL. */
export const METRICS_LINE = METRICS_LINE_PATTERN;
/** `peer id: <id>`. */
export const PEER_ID_LINE = new RegExp(`^${PEER_ID_LINE_PREFIX}(\\S+)$`);
/** `listen: <multiaddr>`, one line per address. */
export const LISTEN_LINE = new RegExp(`^${LISTEN_LINE_PREFIX}(\\S+)$`);

/** Environment variables with this prefix configure a daemon (`GOSSIP_LEARN_<FLAG>`, src/node/config.ts envName). */
export const DAEMON_ENV_PREFIX = 'GOSSIP_LEARN_';

/**
 * The environment of a supervised daemon: `base` without any GOSSIP_LEARN_*
 * variable, plus `extra`. Daemons of a cluster run, a benchmark or a test are
 * configured by their arguments alone: a variable left in the shell
 * (GOSSIP_LEARN_MDNS, GOSSIP_LEARN_BOOTSTRAP, GOSSIP_LEARN_BACKEND, ...)
 * would otherwise change them unseen, and flags win only over what they set.
 */
export function daemonEnv(extra: NodeJS.ProcessEnv = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) if (!name.startsWith(DAEMON_ENV_PREFIX)) env[name] = value;
  return { ...env, ...extra };
}

const HEALTH_POLL_MS = 100;
const METRICS_TIMEOUT_MS = 10_000;

/** A daemon started by startDaemonProcess, ready. */
export interface DaemonProcess {
  child: SupervisedChild;
  pid: number;
  peerId: string;
  metricsUrl: string;
  /** The first listen multiaddr with /p2p/<id>. */
  listen: string;
  /** Last few KB of its stderr (logs), for error messages. */
  stderrTail: () => string;
}

export interface StartDaemonOptions {
  startTimeoutMs: number;
  /** Copy the daemon's stderr to ours (debugging). */
  pipeStderr?: boolean;
  /** The CLI to run (default: this repository's bin/gossip-learn.js). */
  cliPath?: string;
  /** The daemon's environment, used as given (default: daemonEnv(), ours without GOSSIP_LEARN_* variables). */
  env?: NodeJS.ProcessEnv;
  /** Node flags after DAEMON_NODE_FLAGS (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeFlags?: readonly string[];
}

/**
 * Starts `gossip-learn daemon <args>` (with DAEMON_NODE_FLAGS, no log file, daemonEnv() unless told);
 * resolves once it printed its peer id, a listen address with /p2p/ and its
 * metrics URL, and serves /healthz with 200. On failure (exit, deadline) the
 * daemon is SIGKILLed and the error carries the end of its stderr.
 */
export async function startDaemonProcess(args: string[], options: StartDaemonOptions): Promise<DaemonProcess> {
  const child = await SupervisedChild.spawn({
    command: process.execPath,
    args: [...DAEMON_NODE_FLAGS, ...(options.nodeFlags ?? []), options.cliPath ?? CLI_PATH, 'daemon', ...args],
    env: options.env ?? daemonEnv(),
    echoStderr: options.pipeStderr ?? false,
  });
  const deadline = AbortSignal.timeout(options.startTimeoutMs);
  try {
    const ready = await new Promise<{ metricsUrl: string; listen: string; peerId: string }>((resolve, reject) => {
      let metricsUrl: string | null = null;
      let listen: string | null = null;
      let peerId: string | null = null;
      const off = child.onLine((line, stream) => {
        if (stream !== 'stdout') return;
        metricsUrl ??= line.match(METRICS_LINE)?.[1] ?? null;
        const address = line.match(LISTEN_LINE)?.[1];
        if (listen === null && address?.includes('/p2p/')) listen = address;
        peerId ??= line.match(PEER_ID_LINE)?.[1] ?? null;
        if (metricsUrl !== null && listen !== null && peerId !== null) {
          off();
          resolve({ metricsUrl, listen, peerId });
        }
      });
      void child.exited.then(({ code }) => reject(new Error(`daemon exited with ${code} before it was ready:\n${child.stderrTail()}`)));
      deadline.addEventListener('abort', () => reject(new Error(`daemon not ready after ${options.startTimeoutMs} ms:\n${child.stderrTail()}`)), { once: true });
    });
    // The metrics line comes before the services start; /healthz says 200 once they all run.
    const healthUrl = ready.metricsUrl.replace(/\/metrics$/, '/healthz');
    while ((await fetch(healthUrl).then((r) => r.status, () => 0)) !== 200) {
      if (deadline.aborted || !child.running) throw new Error(`daemon never became healthy:\n${child.stderrTail()}`);
      await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
    }
    return { child, pid: child.pid, ...ready, stderrTail: () => child.stderrTail() };
  } catch (err) {
    await child.killHard();
    throw err;
  }
}

export async function getDaemonMetrics(metricsUrl: string): Promise<MetricsJson> {
  const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) });
  if (response.status !== 200) throw new Error(`GET ${metricsUrl}: ${response.status}`);
  return (await response.json()) as MetricsJson;
}

export async function daemonHealthStatus(metricsUrl: string): Promise<number> {
  return fetch(metricsUrl.replace(/\/metrics$/, '/healthz'), { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) }).then(
    (r) => r.status,
    () => 0,
  );
}

/** SIGTERM (graceful: checkpoint, exit 0), SIGKILL after `timeoutMs`; resolves with the exit code (null when killed). */
export async function stopDaemonProcess(daemon: DaemonProcess, timeoutMs: number): Promise<number | null> {
  return (await daemon.child.stop(timeoutMs)).code;
}
