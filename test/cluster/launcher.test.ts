/**
 * Launcher logic against a test double of the daemon (fixtures/fake-daemon.ts):
 * start order, bootstrap lists, late joiners, churn, stop, failures, and no
 * process left behind. The real-daemon runs are in cluster.test.ts.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonEnv } from '../../src/cluster/child-process.ts';
import { ClusterError } from '../../src/cluster/errors.ts';
import { bootstrapAddresses, ClusterLauncher, PIDS_FILE, RESULTS_FILE } from '../../src/cluster/launcher.ts';
import { parseClusterArgs, type ClusterConfig } from '../../src/cluster/options.ts';
import type { NodeRow, ProgressView } from '../../src/cluster/progress.ts';
import type { ClusterResults, NodeSample } from '../../src/cluster/results.ts';
import { readResultsFile, RUNNING_STOP_REASON } from '../../src/cluster/results.ts';
import { isAlive, waitFor, withProcessEnv } from '../helpers/process.ts';
import { killRecordedDaemons } from './launcher-pids.ts';

const fakeDaemon = fileURLToPath(new URL('./fixtures/fake-daemon.ts', import.meta.url));
const clusterScript = fileURLToPath(new URL('../../scripts/cluster.ts', import.meta.url));

class RecordingProgress implements ProgressView {
  readonly events: string[] = [];
  updates = 0;
  /** Distinct samples the launcher has shown per node (each poll makes a new one). */
  readonly samples = new Map<string, Set<NodeSample>>();
  update(_elapsedSeconds: number, rows: NodeRow[]): void {
    this.updates += 1;
    for (const row of rows) {
      if (row.sample === null) continue;
      const seen = this.samples.get(row.name) ?? new Set<NodeSample>();
      seen.add(row.sample);
      this.samples.set(row.name, seen);
    }
  }
  event(message: string): void {
    this.events.push(message);
  }
  close(): void {}
  samplesOf(node: string): number {
    return this.samples.get(node)?.size ?? 0;
  }
  /** Launcher events of this kind so far ('[  1.2 s] node-1 kill: ...'). */
  count(kind: string): number {
    return this.events.filter((e) => new RegExp(`^\\[[ 0-9.]+ s\\] node-\\d+ ${kind}\\b`).test(e)).length;
  }
}

/**
 * Progress that ends the run (through the launcher's abort signal) once `condition` holds, checked after
 * every update and event: a run stops on what it waits for, not after a fixed duration (--duration is
 * only the cap).
 */
class StopWhen extends RecordingProgress {
  readonly abort = new AbortController();
  private readonly condition: (progress: RecordingProgress) => boolean;
  constructor(condition: (progress: RecordingProgress) => boolean) {
    super();
    this.condition = condition;
  }
  override update(elapsedSeconds: number, rows: NodeRow[]): void {
    super.update(elapsedSeconds, rows);
    this.check();
  }
  override event(message: string): void {
    super.event(message);
    this.check();
  }
  private check(): void {
    if (!this.abort.signal.aborted && this.condition(this)) this.abort.abort();
  }
}

/** --duration of runs that stop on a condition: only a cap, far beyond what the condition needs. */
const CAP_SECONDS = '40';

function config(dir: string, flags: string[]): ClusterConfig {
  const c = parseClusterArgs(['--out', dir, '--poll-interval', '100ms', '--stop-timeout', '5', '--start-timeout', '20', ...flags]);
  assert.ok(c);
  return c;
}

async function argsOf(dir: string, node: string): Promise<string[][]> {
  const stateDir = join(dir, 'nodes', node, 'state');
  const files = (await readdir(stateDir)).filter((f) => f.startsWith('args-')).sort();
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(stateDir, f), 'utf8')) as string[]));
}

const bootstrapsOf = (args: string[]): string[] => args.flatMap((a, i) => (a === '--bootstrap' ? [args[i + 1] as string] : []));
const allPids = (r: ClusterResults): number[] => r.nodes.flatMap((n) => n.pids);

describe('ClusterLauncher (with a fake daemon)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-launcher-'));
  });
  afterEach(async () => {
    await killRecordedDaemons(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('starts the first node alone, bootstraps the others to running ones, adds the late joiner, stops all', async () => {
    // The run ends once the launcher has polled the late joiner twice.
    const progress = new StopWhen((p) => p.samplesOf('node-2') >= 2);
    const launcher = new ClusterLauncher(config(dir, ['--nodes', '3', '--late-join', '1', '--late-join-delay', '0.3', '--duration', CAP_SECONDS]), {
      cliPath: fakeDaemon,
      progress,
    });
    const results = await launcher.run(progress.abort.signal);
    assert.equal(results.stopReason, 'signal', 'the late joiner was polled twice before the cap');
    assert.equal(results.allExited, true);
    for (const pid of allPids(results)) assert.equal(isAlive(pid), false, `pid ${pid} gone`);
    assert.deepEqual(JSON.parse(await readFile(join(dir, RESULTS_FILE), 'utf8')), results);

    const [a0] = await argsOf(dir, 'node-0');
    const [a1] = await argsOf(dir, 'node-1');
    const [a2] = await argsOf(dir, 'node-2');
    assert.ok(a0 && a1 && a2);
    assert.deepEqual(bootstrapsOf(a0), []);
    assert.deepEqual(bootstrapsOf(a1), ['/ip4/127.0.0.1/tcp/' + bootstrapsOf(a1)[0]?.split('/')[4] + '/p2p/12D3KooWfake0']);
    assert.deepEqual(bootstrapsOf(a2).map((a) => a.split('/p2p/')[1]), ['12D3KooWfake0', '12D3KooWfake1']);
    for (const args of [a0, a1, a2]) {
      assert.equal(args[0], 'daemon');
      for (const flag of ['--parent-pid', '--metrics-port', '--listen', '--state-dir', '--num-nodes']) assert.ok(args.includes(flag), flag);
      assert.equal(args[args.indexOf('--parent-pid') + 1], String(process.pid), 'the launcher passes its own pid');
      assert.equal(args[args.indexOf('--listen') + 1], '/ip4/127.0.0.1/tcp/0');
      assert.equal(args[args.indexOf('--num-nodes') + 1], '3');
    }
    assert.ok(a0.includes('--no-distill') && a1.includes('--no-distill'), 'initial nodes have no teacher to learn from');
    assert.ok(!a2.includes('--no-distill'), 'the late joiner uses the knowledge-transfer join');

    const late = results.nodes[2];
    assert.ok(late);
    assert.equal(late.role, 'late');
    assert.ok((late.readyAt as number) > (results.nodes[1]?.readyAt as number));
    for (const node of results.nodes) {
      assert.ok(node.series.length > 0, `${node.name} has a series`);
      assert.ok((node.final.accuracy as number) > 0.1);
      assert.equal(node.peerId, `12D3KooWfake${node.index}`);
      assert.deepEqual(node.exits.map((e) => e.cause), ['stop']);
    }
    assert.ok(progress.events.some((e) => /node-2 start/.test(e)));
    assert.ok(progress.updates > 0);
  });

  it('kills a random node every churn period and restarts it from its state dir, keeping counters cumulative', async () => {
    // The run ends after the second kill, once a killed node has been restarted.
    const progress = new StopWhen((p) => p.count('kill') >= 2 && p.count('restart') >= 1);
    const launcher = new ClusterLauncher(
      config(dir, ['--nodes', '3', '--late-join', '0', '--churn', '1s', '--churn-downtime', '0.1', '--duration', CAP_SECONDS]),
      { cliPath: fakeDaemon, progress },
    );
    const results = await launcher.run(progress.abort.signal);
    assert.equal(results.stopReason, 'signal', 'two kills and a restart before the cap');
    assert.equal(results.allExited, true);
    const kills = results.events.filter((e) => e.kind === 'kill');
    const restarts = results.events.filter((e) => e.kind === 'restart');
    assert.ok(kills.length >= 2, `${kills.length} kills`);
    assert.ok(restarts.length >= 1);
    const churned = results.nodes.filter((n) => n.restarts > 0);
    assert.ok(churned.length > 0);
    for (const node of churned) {
      assert.equal(node.pids.length, node.restarts + 1);
      assert.ok(node.exits.some((e) => e.cause === 'churn' && e.signal === 'SIGKILL'));
      const stateDirs = new Set((await argsOf(dir, node.name)).map((a) => a[a.indexOf('--state-dir') + 1]));
      assert.equal(stateDirs.size, 1, 'every incarnation uses the same state dir');
    }
    for (const node of results.nodes) {
      const sent = node.series.map((s) => s.bytesSent);
      assert.deepEqual(sent, [...sent].sort((x, y) => x - y), `${node.name}: bytes never go down`);
    }
    for (const pid of allPids(results)) assert.equal(isAlive(pid), false);
  });

  it('gives the daemons no GOSSIP_LEARN_* variable from its own environment: flags alone configure them', async () => {
    const leftInShell = { GOSSIP_LEARN_MDNS: 'true', GOSSIP_LEARN_BOOTSTRAP: '/ip4/127.0.0.1/tcp/1', GOSSIP_LEARN_BACKEND: 'cpu' };
    const results = await withProcessEnv(leftInShell, () =>
      new ClusterLauncher(config(dir, ['--nodes', '2', '--late-join', '0', '--duration', '0.2']), { cliPath: fakeDaemon, progress: new RecordingProgress() }).run(),
    );
    assert.equal(results.allExited, true);
    for (const node of results.nodes) {
      const stateDir = join(dir, 'nodes', node.name, 'state');
      const envFiles = (await readdir(stateDir)).filter((f) => f.startsWith('env-'));
      assert.equal(envFiles.length, 1, node.name);
      assert.deepEqual(JSON.parse(await readFile(join(stateDir, envFiles[0]!), 'utf8')), {}, node.name);
    }
  });

  it('says so when a reused output dir makes the nodes resume from their state dirs', async () => {
    const run = async () => {
      const progress = new RecordingProgress();
      const results = await new ClusterLauncher(config(dir, ['--nodes', '2', '--late-join', '0', '--duration', '0.2']), { cliPath: fakeDaemon, progress }).run();
      assert.equal(results.stopReason, 'duration');
      assert.equal(results.allExited, true);
      return progress.events;
    };
    assert.ok(!(await run()).some((e) => /resume/.test(e)));
    assert.ok((await run()).some((e) => /^note: node-0, node-1 resume from their state dirs/.test(e)));
  });

  it('stops early and cleanly on abort', async () => {
    const abort = new AbortController();
    const progress = new RecordingProgress();
    progress.event = (message: string) => {
      if (/nodes up/.test(message)) abort.abort();
    };
    const launcher = new ClusterLauncher(config(dir, ['--nodes', '2', '--late-join', '0', '--duration', '600']), { cliPath: fakeDaemon, progress });
    const results = await launcher.run(abort.signal);
    assert.equal(results.stopReason, 'signal');
    assert.equal(results.allExited, true);
    for (const pid of allPids(results)) assert.equal(isAlive(pid), false);
  });

  it('reports a daemon that exits at start as exited-early, and leaves nothing running', async () => {
    const launcher = new ClusterLauncher(config(dir, ['--nodes', '3', '--late-join', '0', '--duration', '60']), {
      cliPath: fakeDaemon,
      progress: new RecordingProgress(),
      env: daemonEnv({ FAKE_DAEMON_FAIL: '1' }),
    });
    await assert.rejects(launcher.run(), (err: unknown) => err instanceof ClusterError && err.reason === 'exited-early' && /node-1/.test(err.message));
    const results = JSON.parse(await readFile(join(dir, RESULTS_FILE), 'utf8')) as ClusterResults;
    assert.match(results.stopReason, /^error: node-1/);
    for (const pid of allPids(results)) assert.equal(isAlive(pid), false);
    assert.match(await readFile(join(dir, 'nodes', 'node-1', 'daemon.log'), 'utf8'), /failing on purpose/);
  });

  it('an --out that is a file: one line naming --out, and no claim of partial results', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    await assert.rejects(new ClusterLauncher(config(file, ['--nodes', '2', '--late-join', '0', '--duration', '0.2']), { cliPath: fakeDaemon, progress: new RecordingProgress() }).run(), {
      name: 'ClusterError',
      reason: 'bad-option',
      message: `--out: cannot create ${file}: a file is in the way (it must be a directory)`,
    });
    const run = spawnSync(process.execPath, [clusterScript, '--cli', fakeDaemon, '--nodes', '2', '--late-join', '0', '--duration', '1s', '--progress', 'none', '--no-baselines', '--out', file], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.equal(run.stderr, `cluster: --out: cannot create ${file}: a file is in the way (it must be a directory)\n`);
  });

  it('stops every daemon gracefully on SIGTERM to the launcher, then writes results and the report', async () => {
    const launcher = spawn(
      process.execPath,
      [clusterScript, '--cli', fakeDaemon, '--nodes', '2', '--late-join', '0', '--duration', '600', '--progress', 'plain', '--no-baselines', '--out', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    launcher.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const launcherExit = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /2 nodes up/.test(stdout), 30_000, 'the cluster to be up');
      launcher.kill('SIGTERM');
      assert.equal(await launcherExit, 0, stdout);
      const results = JSON.parse(await readFile(join(dir, RESULTS_FILE), 'utf8')) as ClusterResults;
      assert.equal(results.stopReason, 'signal');
      assert.equal(results.allExited, true);
      for (const node of results.nodes) assert.deepEqual(node.exits.map((e) => [e.cause, e.code]), [['stop', 0]]);
      for (const pid of allPids(results)) assert.equal(isAlive(pid), false);
      assert.ok((await readdir(dir)).includes('report.html'));
    } finally {
      launcher.kill('SIGKILL');
    }
  });

  it('trains the baselines after the run, skips them on a signal, and still writes the report', async () => {
    const launcher = spawn(
      process.execPath,
      [clusterScript, '--cli', fakeDaemon, '--nodes', '2', '--late-join', '0', '--duration', '4s', '--progress', 'plain', '--out', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    launcher.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const launcherExit = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /training the baselines/.test(stdout), 30_000, 'the baselines to start');
      launcher.kill('SIGTERM');
      assert.equal(await launcherExit, 0, stdout);
      assert.match(stdout, /^cluster: SIGTERM: skipping the baselines \(again to quit\)$/m);
      assert.match(stdout, /^cluster: yardstick: baselines skipped: interrupted$/m);
      const results = await readResultsFile(dir);
      assert.equal(results.stopReason, 'duration');
      assert.deepEqual(results.baselines, { status: 'skipped', reason: 'interrupted' });
      assert.match(await readFile(join(dir, 'report.html'), 'utf8'), /Baselines skipped: interrupted\./);
    } finally {
      launcher.kill('SIGKILL');
    }
  });

  it('SIGKILLs daemons stuck in their shutdown at once on a second signal', async () => {
    const launcher = spawn(
      process.execPath,
      [clusterScript, '--cli', fakeDaemon, '--nodes', '2', '--late-join', '0', '--duration', '600', '--stop-timeout', '600', '--progress', 'plain', '--no-baselines', '--out', dir],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FAKE_DAEMON_IGNORE_TERM: '1' } },
    );
    let stdout = '';
    launcher.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const launcherExit = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /2 nodes up/.test(stdout), 30_000, 'the cluster to be up');
      const pids = Object.values((JSON.parse(await readFile(join(dir, PIDS_FILE), 'utf8')) as { nodes: Record<string, number[]> }).nodes).flat();
      launcher.kill('SIGTERM');
      await waitFor(() => /stopping every daemon/.test(stdout), 10_000, 'the graceful stop to begin');
      assert.ok(pids.every(isAlive), 'the daemons ignore SIGTERM');
      launcher.kill('SIGTERM');
      assert.equal(await launcherExit, 130);
      await waitFor(() => pids.every((pid) => !isAlive(pid)), 10_000, 'the stuck daemons to be killed');
    } finally {
      launcher.kill('SIGKILL');
    }
  });

  it('leaves no daemon behind when the launcher process itself is killed with SIGKILL', async () => {
    const launcher = spawn(
      process.execPath,
      [clusterScript, '--cli', fakeDaemon, '--nodes', '3', '--late-join', '0', '--duration', '600', '--progress', 'plain', '--no-baselines', '--out', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    launcher.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const launcherExit = new Promise((resolve) => launcher.once('exit', resolve));
    try {
      await waitFor(() => /3 nodes up/.test(stdout), 30_000, 'the cluster to be up');
      const pids = Object.values((JSON.parse(await readFile(join(dir, PIDS_FILE), 'utf8')) as { nodes: Record<string, number[]> }).nodes).flat();
      assert.equal(pids.length, 3);
      assert.ok(pids.every(isAlive));
      // The launcher rewrites results.json while it runs, so a launcher that dies leaves figures behind.
      await waitFor(() => existsSync(join(dir, RESULTS_FILE)), 15_000, 'the first partial results.json');
      launcher.kill('SIGKILL');
      await launcherExit;
      await waitFor(() => pids.every((pid) => !isAlive(pid)), 15_000, `daemons ${pids.join(', ')} to exit`);
      const partial = await readResultsFile(dir);
      assert.equal(partial.stopReason, RUNNING_STOP_REASON);
      assert.equal(partial.nodes.length, 3);
    } finally {
      launcher.kill('SIGKILL');
    }
  });
});

describe('bootstrapAddresses', () => {
  const up = (n: number) => Array.from({ length: n }, (_, i) => ({ dialAddress: `/a${i}` }));

  it('gives every running node when there are few', () => {
    assert.deepEqual(bootstrapAddresses(5, []), []);
    assert.deepEqual(bootstrapAddresses(5, up(2)).sort(), ['/a0', '/a1']);
  });

  it('always includes the longest-running node and spreads the rest by index', () => {
    assert.deepEqual(bootstrapAddresses(10, up(20)), ['/a0', '/a10', '/a11']);
    assert.deepEqual(bootstrapAddresses(20, up(20)), ['/a0', '/a1', '/a2']);
    for (let i = 0; i < 30; i++) assert.equal(bootstrapAddresses(i, up(20)).length, 3);
  });
});
