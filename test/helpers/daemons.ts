/**
 * Scaffolding for tests that run in-process daemons on 127.0.0.1: a temp
 * root per suite, every daemon stopped and the root removed after it, and
 * a fast configuration (small model, embedded MNIST, short intervals).
 *
 *   const suite = daemonSuite('gl-my-test-');
 *   const config = validateDaemonConfig(fastDaemonConfig(join(suite.root, 'a'), { swarm: 'mine', nodeIndex: 0, numNodes: 2 }));
 *   suite.daemons.push(daemon);
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DaemonConfigInput } from '../../src/node/config.ts';
import type { Daemon } from '../../src/node/daemon.ts';
import type { MetricsJson } from '../../src/node/metrics.ts';

export interface DaemonSuite {
  /** The suite's temp directory (set in its `before` hook). */
  readonly root: string;
  /** Daemons to stop (1 s deadline) after the suite: push each one started. */
  readonly daemons: Daemon[];
}

/** Registers the suite's mocha hooks; `beforeStop` runs first in `after` (e.g. to undo a fake clock). */
export function daemonSuite(prefix: string, beforeStop?: () => void): DaemonSuite {
  let root = '';
  const daemons: Daemon[] = [];
  before(async () => {
    root = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    beforeStop?.();
    await Promise.all(daemons.map((d) => d.stop(1000)));
    await rm(root, { recursive: true, force: true });
  });
  return {
    get root() {
      return root;
    },
    daemons,
  };
}

/** A quick loopback daemon's options (mlp-small on embedded MNIST, iid, no distill join, silent); `options` override any of them. */
export function fastDaemonConfig(stateDir: string, options: DaemonConfigInput): DaemonConfigInput {
  return {
    listen: ['/ip4/127.0.0.1/tcp/0'],
    data: 'mnist',
    partition: 'iid',
    model: 'mlp-small',
    backend: 'wasm',
    stateDir,
    exchangeIntervalMs: 150,
    announceIntervalMs: 200,
    evalIntervalMs: 300,
    stepsPerInterval: 5,
    dutyCycle: 1,
    metricsPort: 0,
    distill: false,
    logLevel: 'silent',
    ...options,
  };
}

/**
 * GET `url` as the /metrics JSON. A reused keep-alive socket that the server
 * closed as it went idle (src/node/http.ts keepAliveTimeout: 5 s) resets the
 * request when the polling test runs late on a loaded machine: that one case
 * is tried once more, on a fresh connection; every other failure throws.
 */
export async function fetchMetrics(url: string): Promise<MetricsJson> {
  try {
    return (await (await fetch(url)).json()) as MetricsJson;
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw err;
    return (await (await fetch(url, { headers: { connection: 'close' } })).json()) as MetricsJson;
  }
}
