import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { validateDaemonConfig } from '../../src/node/config.ts';
import { Daemon, type DaemonStartInfo } from '../../src/node/daemon.ts';

function makeDaemon(stateDir: string, onReady?: (info: DaemonStartInfo, daemon: Daemon) => void, over: { listen?: string[]; metricsPort?: number } = {}): Daemon {
  const config = validateDaemonConfig({
    listen: over.listen ?? ['/ip4/127.0.0.1/tcp/0'],
    swarm: 'lifecycle',
    data: 'mnist',
    model: 'mlp-small',
    backend: 'wasm',
    stateDir,
    metricsPort: over.metricsPort ?? 0,
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

describe('Daemon start failures', function () {
  this.timeout(60_000);
  let root: string;
  let first: Daemon;
  let info: DaemonStartInfo;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-start-fail-'));
    first = makeDaemon(join(root, 'first'));
    info = await first.start();
  });
  after(async () => {
    await first.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('a p2p port in use: one line naming the address and --listen, and no new state dir left behind', async () => {
    const address = info.addresses[0]!.split('/p2p/')[0]!;
    const stateDir = join(root, 'second');
    await assert.rejects(makeDaemon(stateDir, undefined, { listen: [address] }).start(), {
      name: 'DaemonStartError',
      reason: 'address-in-use',
      message: `cannot listen on ${address}: address already in use (another daemon?); choose another port with --listen, e.g. --listen /ip4/127.0.0.1/tcp/0 for a free one`,
    });
    assert.equal(existsSync(stateDir), false, 'the failed start removed the state dir it created');
  });

  it('a metrics port in use: one line naming --metrics-port; an existing state dir keeps its files but gets no identity', async () => {
    const port = Number(new URL(info.metricsUrl).port);
    const stateDir = join(root, 'existing');
    await mkdir(stateDir);
    const daemon = makeDaemon(stateDir, undefined, { metricsPort: port });
    await assert.rejects(daemon.start(), {
      name: 'DaemonStartError',
      reason: 'address-in-use',
      message: `cannot serve metrics on 127.0.0.1:${port}: address already in use (another daemon?); choose another --metrics-port (0 = a free port, printed at start)`,
    });
    assert.deepEqual(await readdir(stateDir), []);
    // The failed start already tore everything down: a later stop() waits for that teardown instead of running a second one.
    await daemon.stop();
    assert.equal(daemon.state, 'stopped');
  });

  it('a state dir that is a file (or under one): one line naming --state-dir, not a stack', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'not a directory');
    for (const stateDir of [file, join(file, 'sub')]) {
      await assert.rejects(makeDaemon(stateDir).start(), {
        name: 'DaemonStartError',
        reason: 'bad-state-dir',
        message: `cannot use state dir ${stateDir}: a file is in the way (it must be a directory); choose another --state-dir`,
      });
    }
  });
});
