import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHECKPOINT_FILE } from '../../src/node/constants.ts';
import { findLauncher, isNpmProcess, launcherAlive, readProcess, type ProcessInfo } from '../../src/node/launcher.ts';
import { parseProcStat } from '../../src/node/proc.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A fake process table for findLauncher / launcherAlive. */
const table = (processes: ProcessInfo[]) => async (pid: number): Promise<ProcessInfo | null> => processes.find((p) => p.pid === pid) ?? null;
const proc = (pid: number, ppid: number, comm: string, argv: string[], state = 'S'): ProcessInfo => ({ pid, ppid, state, comm, argv });
const NPM_ENV = { npm_lifecycle_event: 'start', npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js' };
const npm = proc(10, 5, 'npm start --lis', ['npm start --listen /ip4/127.0.0.1/tcp/0']);
const shell = proc(20, 10, 'sh', ['sh', '-c', 'node bin/gossip-learn.js daemon']);

describe('launcher (which process a daemon must not outlive)', () => {
  it('parses /proc/<pid>/stat, also when the command name holds spaces and parentheses', () => {
    assert.deepEqual(parseProcStat('123 (npm start --lis) S 45 123 7 0 -1'), { pid: 123, comm: 'npm start --lis', state: 'S', ppid: 45, startTicks: null });
    assert.deepEqual(parseProcStat('7 (a) (b) Z 1 7 7 0'), { pid: 7, comm: 'a) (b', state: 'Z', ppid: 1, startTicks: null });
    assert.equal(parseProcStat('garbage'), null);
    assert.equal(parseProcStat('12 (x) S y'), null);
  });

  it('reads this process from /proc', async function () {
    const self = await readProcess(process.pid);
    if (self === null) this.skip(); // no /proc (not Linux)
    assert.equal(self.pid, process.pid);
    assert.equal(self.ppid, process.ppid);
    assert.equal(await readProcess(0), null);
  });

  it('recognizes npm by its title or by npm-cli.js / $npm_execpath, and nothing else', () => {
    assert.equal(isNpmProcess(npm), true);
    assert.equal(isNpmProcess(proc(1, 0, 'npm exec gossip', ['npm exec gossip-learn daemon'])), true);
    assert.equal(isNpmProcess(proc(1, 0, 'node', ['/usr/bin/node', '/usr/lib/node_modules/npm/bin/npm-cli.js', 'start'])), true);
    assert.equal(isNpmProcess(proc(1, 0, 'node', ['node', '/opt/npm.js', 'start']), { npm_execpath: '/opt/npm.js' }), true);
    assert.equal(isNpmProcess(proc(1, 0, 'MainThread', ['node', '/repo/node_modules/.bin/mocha'])), false);
    assert.equal(isNpmProcess(proc(1, 0, 'node', ['node', 'scripts/cluster.ts'])), false);
  });

  it('watches npm through its shell, or npm as the parent, only when npm started us', async () => {
    assert.deepEqual(await findLauncher({ exitWithParent: false, env: NPM_ENV, ppid: 20, read: table([npm, shell]) }), { pids: [20, 10], kind: 'npm' });
    assert.deepEqual(await findLauncher({ exitWithParent: false, env: NPM_ENV, ppid: 10, read: table([npm]) }), { pids: [10], kind: 'npm' });
    // Not started by npm: nothing to watch, or the parent with --exit-with-parent.
    assert.equal(await findLauncher({ exitWithParent: false, env: {}, ppid: 20, read: table([npm, shell]) }), null);
    assert.deepEqual(await findLauncher({ exitWithParent: true, env: {}, ppid: 20, read: table([npm, shell]) }), { pids: [20], kind: 'parent' });
    // A daemon of `npm run cluster`: its parent is the cluster launcher (npm's environment inherited), which answers for it.
    const cluster = proc(30, 20, 'node', ['node', 'scripts/cluster.ts']);
    assert.equal(await findLauncher({ exitWithParent: false, env: NPM_ENV, ppid: 30, read: table([npm, shell, cluster]) }), null);
    assert.deepEqual(await findLauncher({ exitWithParent: true, env: NPM_ENV, ppid: 30, read: table([npm, shell, cluster]) }), { pids: [30], kind: 'parent' });
    // No /proc (macOS): under npm, or with --exit-with-parent, the parent only.
    assert.deepEqual(await findLauncher({ exitWithParent: true, env: NPM_ENV, ppid: 20, read: table([]) }), { pids: [20], kind: 'parent' });
    assert.deepEqual(await findLauncher({ exitWithParent: false, env: NPM_ENV, ppid: 20, read: table([]) }), { pids: [20], kind: 'parent' });
    assert.equal(await findLauncher({ exitWithParent: false, env: {}, ppid: 20, read: table([]) }), null);
  });

  it('watches the given --parent-pid, under npm or not, and sees it gone once it is no longer our parent', async () => {
    const cluster = proc(30, 20, 'node', ['node', 'scripts/cluster.ts']);
    assert.deepEqual(await findLauncher({ exitWithParent: false, parentPid: 30, env: NPM_ENV, ppid: 30, read: table([npm, shell, cluster]) }), { pids: [30], kind: 'parent' });
    // The launcher died before we looked: we were re-parented to PID 1, which is not taken for the launcher.
    const early = await findLauncher({ exitWithParent: true, parentPid: 30, env: {}, ppid: 1, read: table([]) });
    assert.deepEqual(early, { pids: [30], kind: 'parent' });
    assert.equal(await launcherAlive(early!, { ppid: () => 1, read: table([]) }), false);
    assert.equal(await launcherAlive(early!, { ppid: () => 30, read: table([cluster]) }), true);
    // Not given (a daemon started by hand): as before.
    assert.equal(await findLauncher({ exitWithParent: false, parentPid: null, env: {}, ppid: 20, read: table([npm, shell]) }), null);
  });

  it('sees a broken link in the chain: our parent changed, npm gone (its shell re-parented) or the shell a zombie', async () => {
    const launcher = { pids: [20, 10], kind: 'npm' as const };
    assert.equal(await launcherAlive(launcher, { ppid: () => 20, read: table([npm, shell]) }), true);
    assert.equal(await launcherAlive(launcher, { ppid: () => 1, read: table([npm, shell]) }), false);
    assert.equal(await launcherAlive(launcher, { ppid: () => 20, read: table([{ ...shell, ppid: 1 }]) }), false);
    assert.equal(await launcherAlive(launcher, { ppid: () => 20, read: table([npm, { ...shell, state: 'Z' }]) }), false);
    assert.equal(await launcherAlive(launcher, { ppid: () => 20, read: table([npm]) }), false);
    assert.equal(await launcherAlive({ pids: [20], kind: 'parent' }, { ppid: () => 20, read: table([]) }), true);
  });
});

/** True once `pid` has exited: no /proc entry, or a zombie (exited, not reaped yet). */
async function gone(pid: number): Promise<boolean> {
  const info = await readProcess(pid);
  return info === null || info.state === 'Z';
}

async function until<T>(check: () => Promise<T | false>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => false as const);
    if (value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a daemon started through npm goes when npm goes (real process tree on 127.0.0.1)', function () {
  this.timeout(180_000);
  let root: string;
  const leftovers: number[] = [];
  const launchers: ChildProcess[] = [];

  before(async function () {
    if ((await readProcess(process.pid)) === null) this.skip(); // the npm watch needs /proc (Linux)
    root = await mkdtemp(join(tmpdir(), 'gl-npm-launcher-'));
  });
  after(async () => {
    // Only processes of this test (their command lines name its temp dir): a pid may have been reused since.
    for (const pid of leftovers) {
      const info = await readProcess(pid);
      if (info !== null && info.state !== 'Z' && info.argv.join(' ').includes(root)) process.kill(pid, 'SIGKILL');
    }
    for (const child of launchers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  const daemonArgs = (stateDir: string): string[] => ['--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-port', '0', '--state-dir', stateDir, '--model', 'mlp-small',
    '--no-distill', '--steps-per-interval', '2', '--log-level', 'info'];
  const cases: Array<{ how: string; npmArgs: (stateDir: string) => string[]; signal: NodeJS.Signals }> = [
    { how: '`npm start --`, npm SIGKILLed', npmArgs: (dir) => ['start', '--', ...daemonArgs(dir)], signal: 'SIGKILL' },
    // What `npx gossip-learn daemon` runs; a private npm cache so the test leaves ~/.npm alone (offline: the package is this checkout).
    { how: '`npm exec -- gossip-learn daemon` (npx), npm SIGTERMed', npmArgs: (dir) => ['exec', '--yes', '--offline', '--', 'gossip-learn', 'daemon', ...daemonArgs(dir)], signal: 'SIGTERM' },
  ];
  for (const { how, npmArgs, signal } of cases) {
    it(`${how}: the daemon stops gracefully (checkpoint saved) and exits`, async () => {
      const dir = await mkdtemp(join(root, 'case-'));
      const stateDir = join(dir, 'state');
      const launcher = spawn('npm', npmArgs(stateDir), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_cache: join(dir, 'npm-cache') } });
      launchers.push(launcher);
      let output = '';
      launcher.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      launcher.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const npmPid = launcher.pid!;
      leftovers.push(npmPid);
      // The lock file names the daemon's pid; 'running' means the launcher watch is in place and every service started.
      const daemonPid = await until(async () => (JSON.parse(await readFile(join(stateDir, 'daemon.lock'), 'utf8')) as { pid: number }).pid, 'the daemon lock file', 90_000);
      leftovers.push(daemonPid);
      const shellPid = (await readProcess(daemonPid))?.ppid;
      if (shellPid !== undefined && shellPid !== npmPid) leftovers.push(shellPid);
      await until(async () => output.includes('"msg":"running"'), `the daemon to run (output so far: ${output.slice(-500)})`, 90_000);
      assert.match(output, new RegExp(`"launcherPid":${npmPid},.*"msg":"started by npm: stops when that npm process exits"`));

      process.kill(npmPid, signal);
      await until(() => gone(daemonPid), `daemon ${daemonPid} to exit after npm ${npmPid} got ${signal}`, 60_000);
      await until(async () => output.includes('checkpoint saved (age '), 'the last log lines', 10_000);
      assert.match(output, new RegExp(`"msg":"npm process ${npmPid} is gone"`));
      assert.match(output, /"msg":"checkpoint saved \(age \d+\)"/);
      await access(join(stateDir, CHECKPOINT_FILE));
      await assert.rejects(access(join(stateDir, 'daemon.lock')), { code: 'ENOENT' });
    });
  }
});
