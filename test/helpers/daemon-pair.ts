/**
 * Two in-process daemons on 127.0.0.1 that gossip with each other (the
 * second bootstraps from the first), for tests of what a running swarm
 * shows: key metrics, history, the dashboard.
 *
 *   const suite = daemonSuite('gl-x-');
 *   const [a, b] = await startDaemonPair(suite, 'pair', { evalIntervalMs: 1000 });
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { validateDaemonConfig, type DaemonConfigInput } from '../../src/node/config.ts';
import { Daemon, type DaemonStartInfo } from '../../src/node/daemon.ts';
import { fastDaemonConfig, type DaemonSuite } from './daemons.ts';

export interface RunningDaemon {
  daemon: Daemon;
  info: DaemonStartInfo;
  /** http://127.0.0.1:PORT (no path). */
  baseUrl: string;
}

export async function startDaemonPair(suite: DaemonSuite, swarm: string, options: DaemonConfigInput = {}): Promise<[RunningDaemon, RunningDaemon]> {
  const start = async (name: string, nodeIndex: number, bootstrap: string[]): Promise<RunningDaemon> => {
    const daemon = new Daemon({
      config: validateDaemonConfig(fastDaemonConfig(join(suite.root, `${swarm}-${name}`), { swarm, nodeIndex, numNodes: 2, bootstrap, ...options })),
      logger: pino({ level: 'silent' }),
      libp2p: { discoveryIntervalMs: 300 },
    });
    suite.daemons.push(daemon);
    const info = await daemon.start();
    return { daemon, info, baseUrl: info.metricsUrl.replace(/\/metrics$/, '') };
  };
  const a = await start('a', 0, []);
  const b = await start('b', 1, a.info.addresses);
  return [a, b];
}
