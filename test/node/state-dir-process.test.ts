import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKPOINT_FILE, IDENTITY_FILE } from '../../src/node/constants.ts';
import { CLI_PATH, DAEMON_NODE_FLAGS, daemonEnv, getDaemonMetrics, startDaemonProcess, stopDaemonProcess, SupervisedChild } from '../../src/cluster/child-process.ts';
import { STATE_LOCK_FILE_NAME } from '../../src/node/state-lock.ts';

/** A quiet daemon that trains nothing (fast to start, nothing to wait for); no GOSSIP_LEARN_* variable of ours reaches it (daemonEnv). */
const daemonArgs = (stateDir: string): string[] => [
  '--swarm', 'state-dir-test',
  '--listen', '/ip4/127.0.0.1/tcp/0',
  '--metrics-port', '0',
  '--state-dir', stateDir,
  '--model', 'mlp-small',
  '--steps-per-interval', '0',
  '--no-distill',
  '--log-level', 'warn',
];

/** A state dir as a daemon leaves it after a clean stop (identity, checkpoint); resolves with its peer id. */
async function usedStateDir(stateDir: string): Promise<string> {
  const daemon = await startDaemonProcess(daemonArgs(stateDir), { startTimeoutMs: 120_000 });
  // Stopped with SIGTERM, SIGKILL after 30 s: never left running.
  assert.equal(await stopDaemonProcess(daemon, 30_000), 0, daemon.stderrTail());
  return daemon.peerId;
}

/** `promise`, or a rejection naming `what` after `timeoutMs`. */
async function deadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Real daemon processes: the state-dir lock and the corrupt-checkpoint recovery as an operator meets them.
// Each test has its own state dir.
describe('state dir safety (real daemon processes)', function () {
  this.timeout(180_000);
  let stateDir: string;

  /** Every daemon a test starts: SIGKILLed after each test, so a failing one leaves none running. */
  const children: SupervisedChild[] = [];

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'gl-state-dir-'));
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.killHard()));
    await rm(stateDir, { recursive: true, force: true });
  });

  it('a second daemon on the same state dir refuses with an error naming the first pid; the first keeps running', async () => {
    const first = await startDaemonProcess(daemonArgs(stateDir), { startTimeoutMs: 120_000 });
    children.push(first.child);
    try {
      const second = await SupervisedChild.spawn({ command: process.execPath, args: [...DAEMON_NODE_FLAGS, CLI_PATH, 'daemon', ...daemonArgs(stateDir)], env: daemonEnv() });
      children.push(second);
      const { code } = await deadline(second.exited, 60_000, 'the second daemon to give up (is it running on the locked state dir?)');
      await second.logClosed;
      assert.equal(code, 1, second.stderrTail());
      assert.match(second.stderrTail(), new RegExp(`in use by another gossip-learn daemon \\(pid ${first.pid}\\)`));
      assert.equal((await getDaemonMetrics(first.metricsUrl)).peerId, first.peerId);
    } finally {
      assert.equal(await stopDaemonProcess(first, 30_000), 0);
    }
    // Released on a clean exit; the checkpoint and the identity are there.
    const files = await readdir(stateDir);
    assert.ok(!files.includes(STATE_LOCK_FILE_NAME), files.join(', '));
    assert.ok(files.includes(CHECKPOINT_FILE) && files.includes(IDENTITY_FILE), files.join(', '));
  });

  it('a corrupt checkpoint is moved aside and the daemon starts cold with the same peer id', async () => {
    const originalPeerId = await usedStateDir(stateDir);
    const identityBefore = await readFile(join(stateDir, IDENTITY_FILE));
    const checkpoint = await readFile(join(stateDir, CHECKPOINT_FILE));
    checkpoint[checkpoint.length - 100] = checkpoint[checkpoint.length - 100]! ^ 0xff;
    await writeFile(join(stateDir, CHECKPOINT_FILE), checkpoint);

    const daemon = await startDaemonProcess(daemonArgs(stateDir), { startTimeoutMs: 120_000 });
    children.push(daemon.child);
    try {
      assert.match(daemon.stderrTail(), /unusable checkpoint moved aside/);
      // The identity key file decides the peer id: unchanged across the recovery.
      assert.equal(daemon.peerId, originalPeerId);
    } finally {
      assert.equal(await stopDaemonProcess(daemon, 30_000), 0);
    }
    const files = await readdir(stateDir);
    assert.equal(files.filter((f) => f.startsWith(`${CHECKPOINT_FILE}.corrupt-`)).length, 1, files.join(', '));
    assert.deepEqual(await readFile(join(stateDir, IDENTITY_FILE)), identityBefore);
  });
});
