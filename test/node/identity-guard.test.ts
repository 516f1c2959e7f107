/**
 * A second daemon started from a copy of a state dir (same peer id) in the
 * same swarm: the newer one stops with one line saying so and exits 1, the
 * older one keeps running (src/node/identity-guard.ts). Real daemon
 * processes on 127.0.0.1: the copy only meets the original through a third
 * daemon, as it would in a real swarm.
 */
import { strict as assert } from 'node:assert';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH, DAEMON_NODE_FLAGS, daemonEnv, daemonHealthStatus, startDaemonProcess, SupervisedChild, type DaemonProcess } from '../../src/cluster/child-process.ts';
import { STATE_LOCK_FILE_NAME } from '../../src/node/state-lock.ts';

const daemonArgs = (stateDir: string, bootstrap: string[]): string[] => [
  '--swarm', 'identity-test',
  '--listen', '/ip4/127.0.0.1/tcp/0',
  '--metrics-port', '0',
  '--state-dir', stateDir,
  '--model', 'mlp-small',
  '--steps-per-interval', '0',
  '--no-distill',
  '--log-level', 'warn',
  ...bootstrap.flatMap((address) => ['--bootstrap', address]),
];

describe('duplicate identity (real daemon processes)', function () {
  this.timeout(180_000);
  let root: string;
  const daemons: DaemonProcess[] = [];
  const children: SupervisedChild[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-identity-'));
  });
  after(async () => {
    await Promise.all([...daemons.map((d) => d.child), ...children].map((child) => child.stop(10_000)));
    await rm(root, { recursive: true, force: true });
  });

  it('the newer copy refuses with one line and exits 1; the original keeps running', async () => {
    const original = await startDaemonProcess(daemonArgs(join(root, 'a'), []), { startTimeoutMs: 120_000 });
    daemons.push(original);
    const other = await startDaemonProcess(daemonArgs(join(root, 'c'), [original.listen]), { startTimeoutMs: 120_000 });
    daemons.push(other);
    // A copy of the running daemon's state dir (its lock file aside: the copy is somewhere else).
    await cp(join(root, 'a'), join(root, 'a-copy'), { recursive: true, filter: (path) => !path.endsWith(STATE_LOCK_FILE_NAME) });
    const copy = await SupervisedChild.spawn({
      command: process.execPath,
      args: [...DAEMON_NODE_FLAGS, CLI_PATH, 'daemon', ...daemonArgs(join(root, 'a-copy'), [other.listen])],
      env: daemonEnv(),
    });
    children.push(copy);
    const peerLine = await copy.waitForLine(/^peer id: (\S+)$/, 120_000);
    assert.equal(peerLine[1], original.peerId);

    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      copy.exited,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the copy still runs:\n${copy.stderrTail()}`)), 60_000))),
    ]);
    clearTimeout(timer);
    assert.equal(exit.code, 1, copy.stderrTail());
    const lines = copy.stderrTail().split('\n').filter((line) => line.startsWith('gossip-learn daemon: '));
    assert.equal(lines.length, 1, copy.stderrTail());
    assert.match(lines[0]!, new RegExp(`^gossip-learn daemon: another daemon with this peer id \\(${original.peerId}\\) already runs in the swarm, started .*; this one started later`));
    assert.equal(await daemonHealthStatus(original.metricsUrl), 200);
    assert.ok(original.child.running);
  });

  it('a stale connection to a dead original (frozen: its sockets stay open) does not stop the restarted copy', async () => {
    const original = await startDaemonProcess(daemonArgs(join(root, 'b'), []), { startTimeoutMs: 120_000 });
    daemons.push(original);
    const other = await startDaemonProcess([...daemonArgs(join(root, 'd'), [original.listen]), '--log-level', 'debug'], { startTimeoutMs: 120_000 });
    daemons.push(other);
    await cp(join(root, 'b'), join(root, 'b-copy'), { recursive: true, filter: (path) => !path.endsWith(STATE_LOCK_FILE_NAME) });
    // SIGSTOP: the process answers nothing, yet the kernel keeps its connections open (as for a machine that lost power).
    process.kill(original.pid, 'SIGSTOP');
    try {
      let answered = 0;
      const seen: string[] = [];
      const off = other.child.onLine((line) => {
        if (line.includes('identity')) seen.push(line.slice(0, 300));
        if (line.includes('identity: answered a claim') && line.includes('"reported":0')) answered++;
      });
      const copy = await startDaemonProcess(daemonArgs(join(root, 'b-copy'), [other.listen]), { startTimeoutMs: 120_000 });
      daemons.push(copy);
      // The other daemon answered the copy's claim without an older one: its connection to the frozen original
      // either failed the probe (IDENTITY_PROBE_TIMEOUT_MS) or was already dropped by libp2p (in runs here it
      // often is by then, so this checks the outcome, not which of the two caused it).
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer that probed the stale connection:\n${seen.join('\n')}`)), 30_000);
        const poll = setInterval(() => {
          if (answered > 0 || !copy.child.running) {
            clearInterval(poll);
            resolve();
          }
        }, 50);
      });
      clearTimeout(timer);
      off();
      assert.ok(copy.child.running, copy.stderrTail());
      assert.equal(await daemonHealthStatus(copy.metricsUrl), 200);
    } finally {
      process.kill(original.pid, 'SIGCONT');
    }
  });
});
