import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHECKPOINT_FILE, IDENTITY_FILE, METRICS_LINE_PATTERN, PEER_ID_LINE_PREFIX } from '../../src/node/constants.ts';
import type { MetricsJson } from '../../src/node/metrics.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';

const cli = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));

interface Running {
  child: ChildProcess;
  peerId: string;
  metricsUrl: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

/** Spawns the real CLI (node directly, never npm: npm does not forward signals) and waits for its start-up lines. */
async function startDaemon(stateDir: string, extra: string[] = []): Promise<Running> {
  const child = spawn(
    process.execPath,
    [cli, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-port', '0', '--state-dir', stateDir, '--model', 'mlp-small', '--no-distill',
      '--exchange-interval', '200ms', '--steps-per-interval', '5', '--eval-interval', '1s', '--log-level', 'warn', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<{ peerId: string; metricsUrl: string }>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const metrics = METRICS_LINE_PATTERN.exec(stdout);
      const peer = stdout.split('\n').find((l) => l.startsWith(PEER_ID_LINE_PREFIX));
      if (metrics !== null && peer !== undefined) resolve({ peerId: peer.slice(PEER_ID_LINE_PREFIX.length), metricsUrl: metrics[1]! });
    });
    void exited.then(({ code }) => reject(new Error(`daemon exited with ${code} before it was ready: ${stderr}`)));
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    return { child, ...(await ready), exited, stderr: () => stderr };
  } finally {
    clearTimeout(timeout);
  }
}

async function metricsOf(url: string): Promise<MetricsJson> {
  return (await (await fetch(url)).json()) as MetricsJson;
}

async function until<T>(check: () => Promise<T | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => false as const);
    if (value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('gossip-learn daemon CLI', () => {
  const run = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, 'daemon', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });

  it('prints every option with its default on --help', async () => {
    const { code, stdout } = await run(['--help']);
    assert.equal(code, 0);
    for (const flag of ['--listen', '--bootstrap', '--swarm', '--metrics-port', '--no-distill', '--steps-per-interval', '--duty-cycle', '--exit-with-parent']) {
      assert.match(stdout, new RegExp(`${flag}\\b.*\\(default: `));
    }
  });

  it('rejects bad options with one line and exit code 2', async () => {
    const { code, stderr } = await run(['--metrics-port', 'x']);
    assert.equal(code, 2);
    assert.equal(stderr, "gossip-learn: daemon: --metrics-port: not an integer: 'x'\n");
  });
});

describe('gossip-learn daemon (real process)', function () {
  this.timeout(120_000);
  let root: string;
  const children: ChildProcess[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-proc-'));
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  });

  it('stops on SIGTERM with a checkpoint and exit 0, and restarts with the same peer id and age', async () => {
    const stateDir = join(root, 'one');
    const first = await startDaemon(stateDir);
    children.push(first.child);
    const trained = await until(async () => {
      const m = await metricsOf(first.metricsUrl);
      return m.model.age! >= 10 && m.eval.accuracy !== null ? m : false;
    }, 'some training');
    assert.equal(trained.peerId, first.peerId);
    first.child.kill('SIGTERM');
    const { code, signal } = await first.exited;
    assert.equal(signal, null, first.stderr());
    assert.equal(code, 0, first.stderr());
    const checkpoint = await loadCheckpoint(join(stateDir, CHECKPOINT_FILE), { modelName: 'mlp-small' });
    assert.ok(checkpoint.age >= trained.model.age!, `checkpoint age ${checkpoint.age} < ${trained.model.age}`);
    assert.ok((await stat(join(stateDir, IDENTITY_FILE))).size > 0);

    const second = await startDaemon(stateDir);
    children.push(second.child);
    assert.equal(second.peerId, first.peerId);
    const resumed = await metricsOf(second.metricsUrl);
    assert.ok(resumed.model.age! >= checkpoint.age, `resumed at age ${resumed.model.age}, checkpoint had ${checkpoint.age}`);
    // A second signal during the graceful stop forces the exit.
    second.child.kill('SIGINT');
    second.child.kill('SIGINT');
    const forced = await second.exited;
    assert.ok(forced.code === 0 || forced.code === 130, `exit ${forced.code}`);
  });

  it('exits when its parent dies (--exit-with-parent)', async () => {
    // A shell parent that starts the daemon in the background and is then killed.
    const stateDir = join(root, 'orphan');
    const args = [cli, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-port', '0', '--state-dir', stateDir, '--model', 'mlp-small', '--no-distill',
      '--log-level', 'warn', '--exit-with-parent'];
    const shell = spawn('/bin/sh', ['-c', `"${process.execPath}" ${args.map((a) => `'${a}'`).join(' ')} & echo $!; wait`], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(shell);
    const pid = await new Promise<number>((resolve) => shell.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    await until(async () => {
      try {
        return (await stat(join(stateDir, IDENTITY_FILE))).size > 0;
      } catch {
        return false;
      }
    }, 'the daemon to start');
    shell.kill('SIGKILL');
    await until(async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 'the orphaned daemon to exit', 30_000);
  });
});
