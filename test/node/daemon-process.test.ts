import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import {
  CLI_PATH as cli,
  daemonEnv,
  daemonHealthStatus,
  METRICS_LINE,
  startDaemonProcess,
  type DaemonProcess,
  type SupervisedChild,
} from '../../src/cluster/child-process.ts';
import { CHECKPOINT_FILE, EXCHANGE_PROTOCOL_ID, IDENTITY_FILE } from '../../src/node/constants.ts';
import type { MetricsJson } from '../../src/node/metrics.ts';
import { PROMETHEUS_PATH } from '../../src/node/prometheus.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { isAlive } from '../helpers/process.ts';

/**
 * Runs the real CLI as a supervised child process and waits until it is ready (its start-up lines, /healthz 200).
 * Like every daemon a test starts, it gets no GOSSIP_LEARN_* variable of ours (startDaemonProcess: daemonEnv()).
 */
function startDaemon(stateDir: string, extra: string[] = []): Promise<DaemonProcess> {
  return startDaemonProcess(
    ['--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-port', '0', '--state-dir', stateDir, '--model', 'mlp-small', '--no-distill',
      '--exchange-interval', '200ms', '--steps-per-interval', '5', '--eval-interval', '1s', '--log-level', 'warn', ...extra],
    { startTimeoutMs: 60_000 },
  );
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
  const run = (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, 'daemon', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...daemonEnv(), ...env } });
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

  it('warns about a GOSSIP_LEARN_* variable no option reads (a typo), naming the closest one', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'gl-env-typo-'));
    try {
      const missing = join(stateDir, 'nope.csv');
      const { code, stderr } = await run(['--state-dir', stateDir, '--data', `csv:${missing}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-port', '0', '--log-level', 'warn'], {
        GOSSIP_LEARN_METRIC_PORT: '1',
      });
      assert.equal(code, 1, stderr);
      const lines = stderr.trim().split('\n');
      assert.equal((JSON.parse(lines[0]!) as { msg: string }).msg, 'GOSSIP_LEARN_METRIC_PORT: no daemon option reads this variable; ignored (did you mean GOSSIP_LEARN_METRICS_PORT?)');
      assert.equal(lines[1], `gossip-learn daemon: ${missing}: file not found`);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
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
  const children: SupervisedChild[] = [];
  const shells: ChildProcess[] = [];
  /** Daemons started by a shell (not our children): SIGKILLed by pid if a test left one running. */
  const orphans: number[] = [];
  const peers: Libp2p[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-proc-'));
  });
  after(async () => {
    for (const child of children) await child.killHard();
    for (const shell of shells) if (shell.exitCode === null && shell.signalCode === null) shell.kill('SIGKILL');
    for (const pid of orphans) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const peer of peers) await peer.stop();
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
    // SIGTERM; SIGKILL only if it has not exited after a minute (then `signal` fails the test).
    const { code, signal } = await first.child.stop(60_000);
    assert.equal(signal, null, first.stderrTail());
    assert.equal(code, 0, first.stderrTail());
    const checkpoint = await loadCheckpoint(join(stateDir, CHECKPOINT_FILE), { modelName: 'mlp-small' });
    assert.ok(checkpoint.age >= trained.model.age!, `checkpoint age ${checkpoint.age} < ${trained.model.age}`);
    assert.ok((await stat(join(stateDir, IDENTITY_FILE))).size > 0);

    const second = await startDaemon(stateDir);
    children.push(second.child);
    assert.equal(second.peerId, first.peerId);
    const resumed = await metricsOf(second.metricsUrl);
    assert.ok(resumed.model.age! >= checkpoint.age, `resumed at age ${resumed.model.age}, checkpoint had ${checkpoint.age}`);
  });

  /**
   * A daemon whose graceful stop is held open: --log-level info for the 'stopping' line; a long read timeout,
   * so a stalled inbound exchange (a peer opens an exchange stream and never sends a frame) holds the stop
   * open until the shutdown deadline (5 s) instead of the ~20 ms a stop takes otherwise.
   */
  async function daemonWithStalledExchange(stateDir: string): Promise<DaemonProcess> {
    const daemon = await startDaemon(stateDir, ['--log-level', 'info', '--read-timeout', '30s']);
    children.push(daemon.child);
    const peer = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
    peers.push(peer);
    await peer.start();
    await peer.dialProtocol(multiaddr(daemon.listen), EXCHANGE_PROTOCOL_ID);
    const prometheusUrl = daemon.metricsUrl.replace(/\/metrics$/, PROMETHEUS_PATH);
    const inboundExchange = new RegExp(`^libp2p_protocol_streams\\{direction="inbound",protocol="${EXCHANGE_PROTOCOL_ID}"\\} [1-9]`, 'm');
    await until(async () => inboundExchange.test(await (await fetch(prometheusUrl)).text()), 'the daemon to hold the stalled exchange stream', 30_000);
    return daemon;
  }

  /** Sends `signal` and resolves once the daemon logged that it is stopping gracefully. */
  async function signalAndWaitForStopping(daemon: DaemonProcess, signal: NodeJS.Signals): Promise<void> {
    let stopping = false;
    daemon.child.onLine((line, stream) => (stopping ||= stream === 'stderr' && /"msg":"stopping"/.test(line)));
    process.kill(daemon.pid, signal);
    await until(async () => stopping, "the daemon's 'stopping' log line", 30_000);
  }

  const tempFilesIn = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((name) => name.includes('.tmp-'));

  it('exits 130 at once on a second SIGINT during the graceful stop, leaving no temp file', async () => {
    const stateDir = join(root, 'forced');
    const daemon = await daemonWithStalledExchange(stateDir);
    await signalAndWaitForStopping(daemon, 'SIGINT');
    assert.equal(daemon.child.running, true, 'the graceful stop is still waiting for the stalled exchange');
    process.kill(daemon.pid, 'SIGINT');
    const forced = await daemon.child.exited;
    await daemon.child.logClosed;
    assert.deepEqual(forced, { code: 130, signal: null }, daemon.stderrTail());
    assert.match(daemon.stderrTail(), /"msg":"second signal: forcing exit"/);
    assert.deepEqual(await tempFilesIn(stateDir), []);
  });

  it('finishes the graceful stop when SIGTERMs repeat (as `timeout` sends them): exit 0, final checkpoint, no temp file', async () => {
    const stateDir = join(root, 'two-sigterms');
    const daemon = await daemonWithStalledExchange(stateDir);
    const ageBefore = (await metricsOf(daemon.metricsUrl)).model.age!;
    await signalAndWaitForStopping(daemon, 'SIGTERM');
    assert.equal(daemon.child.running, true, 'the graceful stop is still waiting for the stalled exchange');
    process.kill(daemon.pid, 'SIGTERM');
    process.kill(daemon.pid, 'SIGTERM');
    const exit = await daemon.child.exited;
    await daemon.child.logClosed;
    assert.deepEqual(exit, { code: 0, signal: null }, daemon.stderrTail());
    assert.match(daemon.stderrTail(), /"msg":"already stopping gracefully: ignored \(a second Ctrl-C forces the exit\)"/);
    assert.doesNotMatch(daemon.stderrTail(), /forcing exit/);
    const checkpoint = await loadCheckpoint(join(stateDir, CHECKPOINT_FILE), { modelName: 'mlp-small' });
    assert.ok(checkpoint.age >= ageBefore, `checkpoint age ${checkpoint.age} < ${ageBefore}`);
    assert.deepEqual(await tempFilesIn(stateDir), []);
  });

  it('exits 0 on a SIGTERM that arrives after the graceful stop, while libp2p still holds the process open', async () => {
    const stateDir = join(root, 'sigterm-after-stop');
    const daemon = await startDaemon(stateDir, ['--log-level', 'info']);
    children.push(daemon.child);
    let stopped = false;
    daemon.child.onLine((line, stream) => (stopped ||= stream === 'stderr' && /"msg":"stopped"/.test(line)));
    process.kill(daemon.pid, 'SIGTERM');
    await until(async () => stopped, "the daemon's 'stopped' log line", 30_000);
    assert.equal(daemon.child.running, true, "libp2p's 1 s address debounce timer keeps the process alive after the stop");
    process.kill(daemon.pid, 'SIGTERM');
    const exit = await daemon.child.exited;
    await daemon.child.logClosed;
    assert.deepEqual(exit, { code: 0, signal: null }, daemon.stderrTail());
    assert.match(daemon.stderrTail(), /"exitCode":0,"msg":"stopped"/);
  });

  it('exits when its parent dies (--exit-with-parent)', async () => {
    // A shell parent that starts the daemon in the background, prints its pid, and is then killed.
    // The daemon writes its ready lines to the same stdout.
    const stateDir = join(root, 'orphan');
    const args = [cli, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-port', '0', '--state-dir', stateDir, '--model', 'mlp-small', '--no-distill',
      '--log-level', 'warn', '--exit-with-parent'];
    const shell = spawn('/bin/sh', ['-c', `"${process.execPath}" ${args.map((a) => `'${a}'`).join(' ')} & echo $!; wait`], { stdio: ['ignore', 'pipe', 'ignore'], env: daemonEnv() });
    shells.push(shell);
    let stdout = '';
    shell.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    const pid = await until(async () => {
      const line = /^(\d+)\n/.exec(stdout);
      return line === null ? false : Number(line[1]);
    }, 'the shell to print the daemon pid');
    orphans.push(pid);
    const metricsUrl = await until(async () => stdout.split('\n').map((line) => METRICS_LINE.exec(line)?.[1]).find((url) => url !== undefined) ?? false, 'the daemon metrics line');
    // Killed only once the daemon is up and serving: its exit is then the parent watch's doing, not a failed start.
    await until(async () => (await daemonHealthStatus(metricsUrl)) === 200, 'the daemon to be healthy');
    shell.kill('SIGKILL');
    await until(async () => !isAlive(pid), 'the orphaned daemon to exit', 30_000);
  });

  /**
   * A launcher-like parent (as src/cluster/launcher.ts starts daemons): a node process that spawns the daemon
   * with --parent-pid and its own pid, prints the daemon's pid, and passes on the daemon's stdout; the daemon's
   * stderr (its JSON log) goes to `logPath`.
   */
  function startLauncherLike(stateDir: string, logPath: string): { launcher: ChildProcess; output: () => string } {
    const args = [cli, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-port', '0', '--state-dir', stateDir, '--model', 'mlp-small', '--no-distill',
      '--steps-per-interval', '5', '--log-level', 'info'];
    const script = `
      const { spawn } = require('node:child_process');
      const { openSync } = require('node:fs');
      const args = [...JSON.parse(process.argv[1]), '--parent-pid', String(process.pid)];
      const daemon = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', openSync(process.argv[2], 'a')] });
      console.log('daemon pid ' + daemon.pid);
      setInterval(() => {}, 60000);`;
    const launcher = spawn(process.execPath, ['-e', script, JSON.stringify(args), logPath], { stdio: ['ignore', 'pipe', 'ignore'], env: daemonEnv() });
    shells.push(launcher);
    let output = '';
    launcher.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
    return { launcher, output: () => output };
  }

  it('stops with a final checkpoint when its launcher (--parent-pid) is killed with SIGKILL', async () => {
    const stateDir = join(root, 'launched');
    const logPath = join(root, 'launched.log');
    const { launcher, output } = startLauncherLike(stateDir, logPath);
    const pid = await until(async () => Number(/^daemon pid (\d+)$/m.exec(output())?.[1] ?? 0) || false, 'the launcher to print the daemon pid');
    orphans.push(pid);
    const metricsUrl = await until(async () => output().split('\n').map((line) => METRICS_LINE.exec(line)?.[1]).find((url) => url !== undefined) ?? false, 'the daemon metrics line');
    const trained = await until(async () => {
      const m = await metricsOf(metricsUrl);
      return m.model.age! >= 5 ? m : false;
    }, 'some training');
    launcher.kill('SIGKILL');
    await until(async () => !isAlive(pid), 'the daemon to exit after its launcher', 30_000);
    const log = await readFile(logPath, 'utf8');
    assert.match(log, new RegExp(`"msg":"parent process ${launcher.pid} is gone"`));
    const checkpoint = await loadCheckpoint(join(stateDir, CHECKPOINT_FILE), { modelName: 'mlp-small' });
    assert.ok(checkpoint.age >= trained.model.age!, `checkpoint age ${checkpoint.age} < ${trained.model.age}`);
    assert.deepEqual(await tempFilesIn(stateDir), []);
  });

  it('stops when its launcher (--parent-pid) died before the daemon could look at its parent', async () => {
    const stateDir = join(root, 'launcher-died-early');
    const logPath = join(root, 'launcher-died-early.log');
    const { launcher, output } = startLauncherLike(stateDir, logPath);
    const pid = await until(async () => Number(/^daemon pid (\d+)$/m.exec(output())?.[1] ?? 0) || false, 'the launcher to print the daemon pid');
    orphans.push(pid);
    // Killed at once: the daemon is still loading its modules, and by the time it reads process.ppid it has been
    // re-parented (to PID 1 or a subreaper), which a watch of "our parent at start" would take for the launcher.
    launcher.kill('SIGKILL');
    await until(async () => !isAlive(pid), 'the daemon to exit after its launcher died', 60_000);
    assert.match(await readFile(logPath, 'utf8'), new RegExp(`"msg":"parent process ${launcher.pid} is gone"`));
  });
});
