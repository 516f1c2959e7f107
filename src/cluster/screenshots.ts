/**
 * The README's dashboard screenshots (`npm run screenshots`): runs a small
 * cluster (ClusterLauncher, real daemons on 127.0.0.1), and near its end
 * screenshots node-0's dashboard (`GET /` on its metrics port) and the
 * launcher's live swarm page with headless Chromium's own `--screenshot`
 * (`--virtual-time-budget` lets the pages fetch and draw first), then stops
 * the cluster.
 *
 *   const files = await takeScreenshots({ chromium: '/usr/bin/chromium', outDir: 'docs', nodes: 4, durationSeconds: 90 });
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CLI_PATH } from './child-process.ts';
import { ClusterError } from './errors.ts';
import { ClusterLauncher } from './launcher.ts';
import { parseClusterArgs } from './options.ts';
import type { NodeRow, ProgressView } from './progress.ts';

export const SCREENSHOT_FILES = { daemon: 'dashboard-daemon.png', swarm: 'dashboard-swarm.png' } as const;

export interface ScreenshotOptions {
  /** Chromium binary (Debian: /usr/bin/chromium). */
  chromium: string;
  /** Where the PNGs go (the README's are in docs/). */
  outDir: string;
  nodes: number;
  /** The cluster runs this long; the screenshots are taken 10 s before the end. */
  durationSeconds: number;
  /** Width and height of the browser window, in CSS pixels. */
  windowSize?: { width: number; height: number };
  /** One line per step (default: none). */
  log?: (line: string) => void;
  /** CLI the daemons run from (default: this checkout's). */
  cliPath?: string;
}

/** Runs `chromium --headless --screenshot=FILE URL` and waits (60 s at most); throws ClusterError('screenshot') when it fails. */
export function screenshot(chromium: string, url: string, file: string, windowSize: { width: number; height: number }): Promise<void> {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--hide-scrollbars',
    `--window-size=${windowSize.width},${windowSize.height}`,
    // Timers run on virtual time: the page's first fetches and drawing finish before the shot.
    '--virtual-time-budget=6000',
    `--screenshot=${resolve(file)}`,
    url,
  ];
  return new Promise((done, fail) => {
    const child = spawn(chromium, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.on('error', (err) => fail(new ClusterError('screenshot', `${chromium}: ${err.message}`)));
    child.on('exit', (code) => (code === 0 ? done() : fail(new ClusterError('screenshot', `${chromium} exited ${code} on ${url}: ${stderr.trim().split('\n').at(-1) ?? ''}`))));
  });
}

/** Runs the cluster and takes both screenshots; returns the PNG paths. */
export async function takeScreenshots(options: ScreenshotOptions): Promise<string[]> {
  const log = options.log ?? (() => undefined);
  const windowSize = options.windowSize ?? { width: 1400, height: 1080 };
  const runDir = await mkdtemp(join(tmpdir(), 'gl-screenshots-'));
  const config = parseClusterArgs([
    '--nodes', String(options.nodes),
    '--late-join', '0',
    '--duration', `${options.durationSeconds}s`,
    '--out', runDir,
    '--progress', 'none',
    '--no-report',
    '--no-baselines',
    // A history point every 2 s: the charts fill in a short run.
    '--daemon-arg=--eval-interval=2s',
  ]);
  if (config === null) throw new ClusterError('bad-option', 'unreachable: no --help given');
  const abort = new AbortController();
  const files = [join(options.outDir, SCREENSHOT_FILES.daemon), join(options.outDir, SCREENSHOT_FILES.swarm)];
  let launcher: ClusterLauncher | null = null;
  let shooting: Promise<void> | null = null;
  const shootAtSeconds = Math.max(5, options.durationSeconds - 10);
  const progress: ProgressView = {
    update(elapsedSeconds: number, rows: NodeRow[], phase: string): void {
      if (shooting !== null || launcher === null || rows.some((r) => r.status !== 'up') || !/s left/.test(phase)) return;
      if (elapsedSeconds < shootAtSeconds) return;
      const node = launcher.metricsUrls()[0];
      const swarmUrl = launcher.dashboardUrl;
      if (node === undefined || swarmUrl === null) return;
      shooting = (async () => {
        const daemonUrl = node.metricsUrl.replace(/\/metrics$/, '/');
        log(`screenshots: ${node.name}'s dashboard ${daemonUrl} -> ${files[0]}`);
        await screenshot(options.chromium, daemonUrl, files[0]!, windowSize);
        log(`screenshots: swarm page ${swarmUrl} -> ${files[1]}`);
        await screenshot(options.chromium, swarmUrl, files[1]!, { width: windowSize.width, height: 820 });
      })().finally(() => abort.abort());
    },
    event: (message: string) => log(`cluster: ${message}`),
    close: () => undefined,
  };
  launcher = new ClusterLauncher(config, { cliPath: options.cliPath ?? CLI_PATH, progress });
  try {
    await launcher.run(abort.signal);
    if (shooting === null) throw new ClusterError('screenshot', 'the cluster ended before the screenshots were due (a node did not stay up?)');
    await shooting;
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
  return files;
}
