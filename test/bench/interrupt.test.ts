import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanUpOnInterrupt } from '../../src/bench/interrupt.ts';
import { isAlive, waitFor } from '../helpers/process.ts';

const fixture = fileURLToPath(new URL('./fixtures/interrupt-child.ts', import.meta.url));

/** Starts the fixture, sends `signal` once it holds its temp dir, resolves with its exit and output. */
function interruptChild(mode: 'wait' | 'fail', signal: NodeJS.Signals): Promise<{ code: number | null; dir: string; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let dir = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const ready = /^ready (.+)$/m.exec(stdout);
      if (ready !== null && dir === '') {
        dir = ready[1]!;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, dir, stdout, stderr }));
  });
}

describe('cleanUpOnInterrupt (benchmarks and Ctrl-C)', function () {
  this.timeout(30_000);

  it('on SIGINT removes what the benchmark holds, says so, and exits 130', async () => {
    const { code, dir, stderr } = await interruptChild('wait', 'SIGINT');
    assert.equal(code, 130, stderr);
    assert.equal(stderr, `bench:test: interrupted (SIGINT): removing ${dir}\n`);
    assert.equal(existsSync(dir), false, `${dir} is left behind`);
  });

  it('on SIGTERM does the same and exits 143', async () => {
    const { code, dir, stderr } = await interruptChild('wait', 'SIGTERM');
    assert.equal(code, 143, stderr);
    assert.equal(stderr, `bench:test: interrupted (SIGTERM): removing ${dir}\n`);
    assert.equal(existsSync(dir), false, `${dir} is left behind`);
  });

  it('reports no error for a run that failed because of the interrupt (its daemons got the same Ctrl-C)', async () => {
    const { code, dir, stderr } = await interruptChild('fail', 'SIGINT');
    assert.equal(code, 130, stderr);
    assert.equal(stderr, `bench:test: interrupted (SIGINT): removing ${dir}\n`);
    assert.equal(existsSync(dir), false, `${dir} is left behind`);
  });

  it('without a signal cleans up once after the run, passes its result or error on, and removes its signal handlers', async () => {
    const listeners = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };
    const dir = await mkdtemp(join(tmpdir(), 'gl-interrupt-test-'));
    let cleanups = 0;
    const cleanup = async (): Promise<void> => {
      cleanups++;
      await rm(dir, { recursive: true, force: true });
    };
    const lines: string[] = [];
    const result = await cleanUpOnInterrupt({ cleanup, log: (line) => lines.push(line), what: 'x' }, async () => {
      assert.equal(process.listenerCount('SIGINT'), listeners.SIGINT + 1);
      return 42;
    });
    assert.equal(result, 42);
    assert.equal(cleanups, 1);
    assert.equal(existsSync(dir), false);
    await assert.rejects(
      cleanUpOnInterrupt({ cleanup, log: (line) => lines.push(line), what: 'x' }, async () => {
        throw new Error('bench failed');
      }),
      /^Error: bench failed$/,
    );
    assert.equal(cleanups, 2);
    assert.deepEqual(lines, []);
    assert.deepEqual({ SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') }, listeners);
  });
});

describe('npm run bench:scale interrupted', function () {
  this.timeout(120_000);
  const root = fileURLToPath(new URL('../..', import.meta.url));

  it('a SIGINT to the benchmark alone also ends its simulate process and removes its temp dir (exit 130)', async () => {
    const bench = spawn(process.execPath, [join(root, 'scripts', 'bench-scale.ts'), '--nodes', '2', '--partitions', 'iid', '--codecs', 'default', '--duration', '60m', '--eval-rows', '50', '--eval-nodes', '2'], {
      cwd: root,
      env: { ...process.env, GOSSIP_LEARN_BACKEND: 'wasm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    bench.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    bench.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<number | null>((resolve) => bench.on('exit', (code) => resolve(code)));
    // simulate (stdout inherited) prints its first curve point once its nodes are built.
    await waitFor(() => /t=\s+0s/.test(stdout), 60_000, "simulate's first curve point");
    const children = readFileSync(`/proc/${bench.pid}/task/${bench.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    assert.equal(children.length, 1, `bench:scale's children: ${children.join(' ')}`);
    bench.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    const interrupted = /^bench:scale: interrupted \(SIGINT\): stopping simulate, removing (\S+)$/m.exec(stderr);
    assert.ok(interrupted !== null, stderr);
    assert.equal(existsSync(interrupted[1]!), false, `${interrupted[1]} is left behind`);
    assert.equal(isAlive(children[0]!), false, `simulate (pid ${children[0]}) still runs`);
  });
});
