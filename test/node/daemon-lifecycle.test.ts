import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { validateDaemonConfig } from '../../src/node/config.ts';
import { Daemon, type DaemonStartInfo } from '../../src/node/daemon.ts';

function makeDaemon(stateDir: string, onReady?: (info: DaemonStartInfo, daemon: Daemon) => void): Daemon {
  const config = validateDaemonConfig({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    swarm: 'lifecycle',
    data: 'mnist',
    model: 'mlp-small',
    stateDir,
    metricsPort: 0,
    distill: false,
    logLevel: 'silent',
  });
  const daemon: Daemon = new Daemon({ config, logger: pino({ level: 'silent' }), ...(onReady === undefined ? {} : { onReady: (info) => onReady(info, daemon) }) });
  return daemon;
}

/** True when nothing accepts connections at `url` any more (a server that accepts but never answers is still there). */
async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(30_000) });
    return false;
  } catch (err) {
    return (err as { cause?: { code?: unknown } }).cause?.code === 'ECONNREFUSED';
  }
}

describe('Daemon start/stop race', function () {
  this.timeout(60_000);
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-lifecycle-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a stop before anything is up wins: start rejects, nothing comes up afterwards, the state dir is free again', async () => {
    const ready: DaemonStartInfo[] = [];
    const daemon = makeDaemon(join(root, 'a'), (info) => ready.push(info));
    const starting = daemon.start();
    const stopping = daemon.stop();
    await assert.rejects(starting, { name: 'DaemonStoppedError', message: 'the daemon was stopped while starting' });
    await stopping;
    assert.equal(daemon.state, 'stopped');
    assert.equal(daemon.libp2p, null);
    assert.deepEqual(ready, [], 'HTTP and libp2p never announced themselves');
    // The lock was released: another daemon can use the state dir.
    const again = makeDaemon(join(root, 'a'));
    await again.start();
    await again.stop();
  });

  it('a stop once HTTP listens wins too: start rejects and the metrics port closes', async () => {
    let metricsUrl = '';
    let stopping: Promise<void> | null = null;
    const daemon = makeDaemon(join(root, 'b'), (info, self) => {
      metricsUrl = info.metricsUrl;
      stopping = self.stop();
    });
    await assert.rejects(daemon.start(), { name: 'DaemonStoppedError' });
    await stopping;
    assert.equal(daemon.state, 'stopped');
    assert.ok(metricsUrl.startsWith('http://127.0.0.1:'));
    assert.ok(await refused(metricsUrl), `${metricsUrl} still answers after stop`);
  });
});
