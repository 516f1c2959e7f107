import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, withProcessEnv } from '../helpers/process.ts';
import {
  ChildExitedError,
  daemonEnv,
  daemonHealthStatus,
  type DaemonProcess,
  getDaemonMetrics,
  LineTimeoutError,
  startDaemonProcess,
  stopDaemonProcess,
  SupervisedChild,
} from '../../src/cluster/child-process.ts';

const fakeDaemon = fileURLToPath(new URL('./fixtures/fake-daemon.ts', import.meta.url));

/**
 * Every child the tests here start, for afterEach to SIGKILL: the test
 * programs run endless timers (some ignore SIGTERM), so a failing assertion
 * must not leave them behind.
 */
const children: SupervisedChild[] = [];

async function killChildren(): Promise<void> {
  await Promise.all(children.splice(0).map((child) => child.killHard()));
}

function tracked(child: Promise<SupervisedChild>): Promise<SupervisedChild> {
  return child.then((c) => {
    children.push(c);
    return c;
  });
}

/** startDaemonProcess, its daemon tracked (a rejection passes through: startDaemonProcess has killed it then). */
function startTracked(...args: Parameters<typeof startDaemonProcess>): Promise<DaemonProcess> {
  return startDaemonProcess(...args).then((daemon) => {
    children.push(daemon.child);
    return daemon;
  });
}

/** Runs a small Node program as the child (no daemon needed). */
function script(dir: string, source: string): Promise<SupervisedChild> {
  return tracked(SupervisedChild.spawn({ command: process.execPath, args: ['-e', source], logPath: join(dir, 'child.log') }));
}

describe('SupervisedChild', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-child-'));
  });
  afterEach(async () => {
    await killChildren();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a stdout line, logs both streams, and stops on SIGTERM', async () => {
    const child = await script(dir, `
      process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });
      console.error('starting');
      console.log('metrics: http://127.0.0.1:1234/metrics');
      setInterval(() => {}, 1000);`);
    const match = await child.waitForLine(/^metrics: (\S+)$/, 20_000);
    assert.equal(match[1], 'http://127.0.0.1:1234/metrics');
    const exit = await child.stop(20_000);
    assert.deepEqual(exit, { code: 0, signal: null, forced: false });
    assert.equal(isAlive(child.pid), false);
    await child.logClosed;
    const log = await readFile(join(dir, 'child.log'), 'utf8');
    assert.match(log, /starting/);
    assert.match(log, /bye/);
  });

  it('escalates to SIGKILL when SIGTERM is ignored past the deadline', async () => {
    const child = await script(dir, `
      process.on('SIGTERM', () => {});
      console.log('ready');
      setInterval(() => {}, 1000);`);
    await child.waitForLine(/^ready$/, 20_000);
    const exit = await child.stop(200);
    assert.deepEqual(exit, { code: null, signal: 'SIGKILL', forced: true });
    assert.equal(isAlive(child.pid), false);
  });

  it('rejects a line wait when the child exits first', async () => {
    const child = await script(dir, `console.log('something else'); process.exit(3);`);
    await assert.rejects(child.waitForLine(/^never$/, 20_000), (err: unknown) => {
      assert.ok(err instanceof ChildExitedError);
      assert.equal(err.exit.code, 3);
      return true;
    });
  });

  it('rejects a line wait after its deadline', async () => {
    const child = await script(dir, `setInterval(() => {}, 1000);`);
    await assert.rejects(child.waitForLine(/^never$/, 100), LineTimeoutError);
    await child.killHard();
    assert.equal(child.running, false);
  });

  it('joins lines split across chunks', async () => {
    const child = await script(dir, `
      process.stdout.write('met');
      setTimeout(() => { process.stdout.write('rics: http://x/metrics\\n'); }, 50);
      setInterval(() => {}, 1000);`);
    const match = await child.waitForLine(/^metrics: (\S+)$/, 20_000);
    assert.equal(match[1], 'http://x/metrics');
    await child.killHard();
  });
});

describe('SupervisedChild without a log file', () => {
  afterEach(killChildren);

  it('scans lines and keeps the last 8 KB of stderr', async () => {
    const child = await tracked(SupervisedChild.spawn({
      command: process.execPath,
      args: ['-e', `process.stderr.write('x'.repeat(10000) + 'END'); console.log('done');`],
    }));
    await child.waitForLine(/^done$/, 20_000);
    assert.deepEqual(await child.exited, { code: 0, signal: null });
    await child.logClosed;
    assert.equal(child.stderrTail().length, 8192);
    assert.ok(child.stderrTail().endsWith('xEND'));
  });
});

/** The pids of fake daemons started on `stateDir` (each writes args-<pid>.json there). */
async function fakePids(stateDir: string): Promise<number[]> {
  return (await readdir(stateDir)).filter((f) => f.startsWith('args-')).map((f) => Number(f.slice('args-'.length, -'.json'.length)));
}

describe('startDaemonProcess', function () {
  this.timeout(60_000);
  let dir: string;
  /** Where the stand-in CLIs below write their pids (a daemon that failed to start has no handle to kill). */
  const pidsFile = (): string => join(dir, 'pids');
  const recordedPids = async (): Promise<number[]> =>
    (await readFile(pidsFile(), 'utf8').catch(() => '')).split('\n').filter((line) => line !== '').map(Number);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-daemon-proc-'));
  });
  afterEach(async () => {
    await killChildren();
    // startDaemonProcess kills a daemon that is not ready; should it fail to, the test fails and this ends it.
    for (const pid of await recordedPids()) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  /** A stand-in for the CLI: a small program run as `node <file> daemon <args>`, which first records its pid. */
  async function cli(source: string): Promise<string> {
    const path = join(dir, 'cli.mjs');
    await writeFile(path, `import { appendFileSync as recordPid } from 'node:fs';\nrecordPid(${JSON.stringify(pidsFile())}, process.pid + '\\n');\n${source}`);
    return path;
  }

  it('resolves once the ready lines are printed and /healthz says 200; stops it with SIGTERM', async () => {
    const stateDir = join(dir, 'state');
    const daemon = await startTracked(['--state-dir', stateDir, '--node-index', '3'], { startTimeoutMs: 30_000, cliPath: fakeDaemon });
    try {
      assert.equal(daemon.peerId, '12D3KooWfake3');
      assert.match(daemon.listen, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooWfake3$/);
      assert.match(daemon.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      assert.equal(daemon.pid, daemon.child.pid);
      assert.deepEqual(await fakePids(stateDir), [daemon.pid]);
      assert.equal(JSON.parse(await readFile(join(stateDir, `args-${daemon.pid}.json`), 'utf8'))[0], 'daemon');
      assert.equal((await getDaemonMetrics(daemon.metricsUrl)).peerId, '12D3KooWfake3');
      assert.equal(await daemonHealthStatus(daemon.metricsUrl), 200);
    } finally {
      assert.equal(await stopDaemonProcess(daemon, 20_000), 0);
    }
    assert.equal(isAlive(daemon.pid), false);
    // Stopping a stopped daemon just reports its exit.
    assert.equal(await stopDaemonProcess(daemon, 20_000), 0);
  });

  it('gives the daemon our environment without GOSSIP_LEARN_* variables, or the environment it is given', async () => {
    const stateDir = join(dir, 'state');
    const envOf = async (daemon: DaemonProcess): Promise<Record<string, string>> => JSON.parse(await readFile(join(stateDir, `env-${daemon.pid}.json`), 'utf8'));
    const leftInShell = { GOSSIP_LEARN_MDNS: 'true', GOSSIP_LEARN_BOOTSTRAP: '/ip4/127.0.0.1/tcp/1', GOSSIP_LEARN_BACKEND: 'cpu' };
    const inherited = await withProcessEnv(leftInShell, () =>
      startTracked(['--state-dir', stateDir, '--node-index', '1'], { startTimeoutMs: 30_000, cliPath: fakeDaemon }),
    );
    try {
      assert.deepEqual(await envOf(inherited), {});
    } finally {
      assert.equal(await stopDaemonProcess(inherited, 20_000), 0);
    }
    const given = await startTracked(['--state-dir', stateDir, '--node-index', '2'], {
      startTimeoutMs: 30_000,
      cliPath: fakeDaemon,
      env: daemonEnv({ GOSSIP_LEARN_SWARM: 'given' }),
    });
    try {
      assert.deepEqual(await envOf(given), { GOSSIP_LEARN_SWARM: 'given' });
    } finally {
      assert.equal(await stopDaemonProcess(given, 20_000), 0);
    }
  });

  it('escalates to SIGKILL when the daemon ignores SIGTERM past the deadline', async () => {
    const stateDir = join(dir, 'state');
    const daemon = await startTracked(['--state-dir', stateDir, '--node-index', '0'], {
      startTimeoutMs: 30_000,
      cliPath: fakeDaemon,
      env: daemonEnv({ FAKE_DAEMON_IGNORE_TERM: '1' }),
    });
    assert.equal(await stopDaemonProcess(daemon, 200), null);
    assert.deepEqual(daemon.child.exitStatus, { code: null, signal: 'SIGKILL' });
    assert.equal(isAlive(daemon.pid), false);
  });

  it('rejects with the end of its stderr when the daemon exits before it is ready', async () => {
    const path = await cli(`console.error('cannot start: state dir in use'); process.exit(4);`);
    await assert.rejects(startTracked([], { startTimeoutMs: 30_000, cliPath: path }), /daemon exited with 4 before it was ready:\ncannot start: state dir in use/);
  });

  it('waits for all three ready lines, and SIGKILLs a daemon that is not ready by the deadline', async () => {
    // The peer id and metrics lines but no listen address: never ready. It also ignores SIGTERM.
    const path = await cli(`
      process.on('SIGTERM', () => {});
      console.log('peer id: 12D3KooWnever');
      console.log('metrics: http://127.0.0.1:1/metrics');
      console.error('still joining');
      setInterval(() => {}, 1000);`);
    await assert.rejects(startTracked([], { startTimeoutMs: 3_000, cliPath: path }), /daemon not ready after 3000 ms:\nstill joining/);
    const pids = await recordedPids();
    assert.equal(pids.length, 1);
    assert.equal(isAlive(pids[0]!), false);
  });

  it('SIGKILLs a daemon whose /healthz never says 200 by the deadline', async () => {
    const path = await cli(`
      import { createServer } from 'node:http';
      process.on('SIGTERM', () => {});
      const server = createServer((req, res) => { res.writeHead(503); res.end(); });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address();
        console.error('pid ' + process.pid);
        console.log('peer id: 12D3KooWsick');
        console.log('listen: /ip4/127.0.0.1/tcp/' + port + '/p2p/12D3KooWsick');
        console.log('metrics: http://127.0.0.1:' + port + '/metrics');
      });`);
    let message = '';
    await assert.rejects(startTracked([], { startTimeoutMs: 3_000, cliPath: path }), (err: unknown) => {
      message = (err as Error).message;
      return /^daemon never became healthy:\npid \d+/.test(message);
    });
    assert.equal(isAlive(Number(/pid (\d+)/.exec(message)![1])), false);
  });
});

describe('daemonEnv', () => {
  it('drops every GOSSIP_LEARN_* variable, keeps the others, and adds the extra ones', () => {
    const base = { PATH: '/bin', GOSSIP_LEARN_MDNS: 'true', GOSSIP_LEARN_BACKEND: 'cpu', NODE_OPTIONS: '--x', gossip_learn_swarm: 'lower case is not ours' };
    assert.deepEqual(daemonEnv({}, base), { PATH: '/bin', NODE_OPTIONS: '--x', gossip_learn_swarm: 'lower case is not ours' });
    assert.deepEqual(daemonEnv({ FAKE: '1', GOSSIP_LEARN_SWARM: 's' }, base), {
      PATH: '/bin',
      NODE_OPTIONS: '--x',
      gossip_learn_swarm: 'lower case is not ours',
      FAKE: '1',
      GOSSIP_LEARN_SWARM: 's',
    });
    assert.equal(base.GOSSIP_LEARN_MDNS, 'true', 'the base is not changed');
    const ours = daemonEnv();
    assert.equal(ours.PATH, process.env.PATH);
    assert.deepEqual(Object.keys(ours).filter((name) => name.startsWith('GOSSIP_LEARN_')), []);
  });
});
