/**
 * A `gossip-learn daemon` as a child process, for tools that test or measure
 * real daemons (fuzz:peer, bench:daemon, bench:daemon-pair). Spawns `node bin/gossip-learn.js
 * daemon` directly (never through npm, which does not forward signals),
 * waits until it serves (/healthz 200), reads its /metrics, and stops it with
 * SIGTERM (SIGKILL after a deadline).
 *
 *   const daemon = await startDaemonProcess(['--swarm', 'x', '--metrics-port', '0'], { startTimeoutMs: 120_000 });
 *   const metrics = await getDaemonMetrics(daemon.metricsUrl);
 *   const exitCode = await stopDaemonProcess(daemon, 30_000);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LISTEN_LINE_PREFIX, METRICS_LINE_PATTERN, PEER_ID_LINE_PREFIX } from './constants.ts';
import type { MetricsJson } from './metrics.ts';

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
const STDERR_TAIL_CHARS = 8192;
const HEALTH_POLL_MS = 100;
const METRICS_TIMEOUT_MS = 10_000;

export interface DaemonProcess {
  child: ChildProcess;
  pid: number;
  peerId: string;
  metricsUrl: string;
  /** The first listen multiaddr with /p2p/<id>. */
  listen: string;
  /** Last few KB of its stderr (logs), for error messages. */
  stderrTail: () => string;
  exited: Promise<number | null>;
}

export interface StartDaemonOptions {
  startTimeoutMs: number;
  /** Copy the daemon's stderr to ours (debugging). */
  pipeStderr?: boolean;
}

/** Starts `gossip-learn daemon <args>`; resolves once it serves /healthz with 200. */
export async function startDaemonProcess(args: string[], options: StartDaemonOptions): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, CLI_PATH, 'daemon', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL_CHARS);
  });
  if (options.pipeStderr === true) child.stderr!.pipe(process.stderr);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = AbortSignal.timeout(options.startTimeoutMs);
  try {
    const ready = await new Promise<{ metricsUrl: string; listen: string; peerId: string }>((resolve, reject) => {
      const onData = (text: string): void => {
        stdout += text;
        const metrics = METRICS_LINE_PATTERN.exec(stdout);
        const lines = stdout.split('\n');
        const listen = lines.find((line) => line.startsWith(LISTEN_LINE_PREFIX) && line.includes('/p2p/'));
        const peerId = lines.find((line) => line.startsWith(PEER_ID_LINE_PREFIX));
        if (metrics !== null && listen !== undefined && peerId !== undefined) {
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          resolve({ metricsUrl: metrics[1]!, listen: listen.slice(LISTEN_LINE_PREFIX.length).trim(), peerId: peerId.slice(PEER_ID_LINE_PREFIX.length).trim() });
        }
      };
      child.stdout!.on('data', onData);
      void exited.then((code) => reject(new Error(`daemon exited with ${code} before it was ready:\n${stderr}`)));
      deadline.addEventListener('abort', () => reject(new Error(`daemon not ready after ${options.startTimeoutMs} ms:\n${stderr}`)), { once: true });
    });
    // The metrics line comes before the services start; /healthz says 200 once they all run.
    const healthUrl = ready.metricsUrl.replace(/\/metrics$/, '/healthz');
    while ((await fetch(healthUrl).then((r) => r.status, () => 0)) !== 200) {
      if (deadline.aborted || child.exitCode !== null) throw new Error(`daemon never became healthy:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
    }
    return { child, pid: child.pid!, ...ready, stderrTail: () => stderr, exited };
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
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

/** SIGTERM (graceful: checkpoint, exit 0), SIGKILL after `timeoutMs`; resolves with the exit code. */
export async function stopDaemonProcess(daemon: DaemonProcess, timeoutMs: number): Promise<number | null> {
  if (daemon.child.exitCode !== null) return daemon.child.exitCode;
  daemon.child.kill('SIGTERM');
  const timer = setTimeout(() => daemon.child.kill('SIGKILL'), timeoutMs);
  const code = await daemon.exited;
  clearTimeout(timer);
  return code;
}
