import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import {
  acquireStateLock,
  readProcStartTicks,
  STATE_LOCK_FILE_NAME,
  StateLockError,
  type LockRecord,
} from '../../src/node/state-lock.ts';

const FIXTURE = new URL('./fixtures/hold-state-lock.ts', import.meta.url).pathname;

/**
 * A pid no process can have: above the kernel's pid_max (pids are below it).
 * The pid of an exited child would do only until the kernel hands it out
 * again, which with the default pid_max of 32768 happens on a busy machine.
 * Without /proc, above Linux's largest possible pid_max (2^22).
 */
function deadPid(): number {
  let pidMax = 2 ** 22;
  try {
    pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
  } catch {
    // Not Linux: keep the bound.
  }
  assert.ok(Number.isSafeInteger(pidMax) && pidMax > 0, `pid_max ${pidMax}`);
  return pidMax + 1;
}

async function startHolder(stateDir: string): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn(process.execPath, [FIXTURE, stateDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  for await (const chunk of child.stdout!) {
    out += chunk as string;
    const match = /locked (\d+)\n/.exec(out);
    if (match) return { child, pid: Number(match[1]) };
  }
  throw new Error(`lock holder exited without locking: ${out}`);
}

function plant(stateDir: string, record: Partial<LockRecord> | string): Promise<void> {
  const text = typeof record === 'string' ? record : JSON.stringify(record);
  return writeFile(join(stateDir, STATE_LOCK_FILE_NAME), text);
}

describe('state-lock', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'gl-lock-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('creates a lock file naming this pid and removes it on release', async () => {
    const lock = await acquireStateLock(stateDir, { releaseOnExit: false });
    const record = JSON.parse(await readFile(lock.path, 'utf8')) as LockRecord;
    assert.equal(record.pid, process.pid);
    await lock.release();
    await lock.release(); // idempotent
    assert.deepEqual(await readdir(stateDir), []);
  });

  it('refuses a second holder with StateLockError(held) naming the other pid', async () => {
    const lock = await acquireStateLock(stateDir, { releaseOnExit: false });
    try {
      await assert.rejects(acquireStateLock(stateDir, { releaseOnExit: false }), (err: unknown) => {
        assert.ok(err instanceof StateLockError);
        assert.equal(err.name, 'StateLockError');
        assert.equal(err.reason, 'held');
        assert.equal(err.holderPid, process.pid);
        assert.match(err.message, new RegExp(`in use by another gossip-learn daemon \\(pid ${process.pid}\\)`));
        return true;
      });
      // The refused attempt leaves no temp files behind.
      assert.deepEqual(await readdir(stateDir), [STATE_LOCK_FILE_NAME]);
    } finally {
      await lock.release();
    }
  });

  it('takes over a lock whose pid is dead', async () => {
    const pid = deadPid();
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    await plant(stateDir, { pid, hostname: hostname(), procStartTicks: null, acquiredAt: '' });
    const lock = await acquireStateLock(stateDir, { releaseOnExit: false });
    assert.equal((JSON.parse(await readFile(lock.path, 'utf8')) as LockRecord).pid, process.pid);
    await lock.release();
  });

  it('takes over a lock whose pid was reused by a later process', async function () {
    const ticks = readProcStartTicks(process.pid);
    if (ticks === null) this.skip(); // no /proc: pid reuse cannot be detected here
    await plant(stateDir, { pid: process.pid, hostname: hostname(), procStartTicks: ticks! - 1, acquiredAt: '' });
    const lock = await acquireStateLock(stateDir, { releaseOnExit: false });
    await lock.release();
  });

  it('takes over a lock file with unparseable content', async () => {
    await plant(stateDir, 'garbage\n');
    const lock = await acquireStateLock(stateDir, { releaseOnExit: false });
    await lock.release();
  });

  it('never steals a lock written on another host', async () => {
    await plant(stateDir, { pid: deadPid(), hostname: `${hostname()}-other`, procStartTicks: null, acquiredAt: '' });
    await assert.rejects(acquireStateLock(stateDir, { releaseOnExit: false }), (err: unknown) =>
      err instanceof StateLockError && err.reason === 'held' && /on .*-other/.test(err.message),
    );
  });

  it('release leaves a lock that is no longer ours in place', async () => {
    const lock = await acquireStateLock(stateDir, { releaseOnExit: false });
    const foreign = JSON.stringify({ pid: 1, hostname: hostname(), procStartTicks: null, acquiredAt: '' });
    await plant(stateDir, foreign);
    await lock.release();
    assert.equal(await readFile(join(stateDir, STATE_LOCK_FILE_NAME), 'utf8'), foreign);
  });

  it('fails with reason io when the state dir cannot be created', async () => {
    const file = join(stateDir, 'not-a-dir');
    await writeFile(file, '');
    await assert.rejects(acquireStateLock(join(file, 'state'), { releaseOnExit: false }), (err: unknown) =>
      err instanceof StateLockError && err.reason === 'io' && err.holderPid === null,
    );
  });

  describe('across processes', () => {
    it('refuses while another process holds it, and releases on its normal exit', async () => {
      const holder = await startHolder(stateDir);
      try {
        await assert.rejects(acquireStateLock(stateDir, { releaseOnExit: false }), (err: unknown) =>
          err instanceof StateLockError && err.reason === 'held' && err.holderPid === holder.pid,
        );
      } finally {
        holder.child.stdin!.end();
        const [code] = (await once(holder.child, 'exit')) as [number | null];
        assert.equal(code, 0);
      }
      assert.deepEqual(await readdir(stateDir), []);
    });

    it('takes over the lock of a process killed with SIGKILL', async () => {
      const holder = await startHolder(stateDir);
      holder.child.kill('SIGKILL');
      await once(holder.child, 'exit');
      assert.equal((JSON.parse(await readFile(join(stateDir, STATE_LOCK_FILE_NAME), 'utf8')) as LockRecord).pid, holder.pid);
      const lock = await acquireStateLock(stateDir, { releaseOnExit: false });
      await lock.release();
    });
  });
});
