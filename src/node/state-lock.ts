/**
 * Pidfile lock on a state dir, so two daemons never share one (their
 * checkpoints and per-peer records would overwrite each other).
 *
 *   const lock = await acquireStateLock(stateDir);   // throws StateLockError('held') naming the other pid
 *   ...
 *   await lock.release();                             // also released on process exit
 *
 * The lock file is written with the common atomic write in its 'exclusive'
 * form (src/common/atomic-file.ts): written complete to a temp file, fsynced,
 * then hard-linked to `daemon.lock`. The lock needs create-if-absent, not
 * replace: rename(2) would silently overwrite another daemon's lock, while
 * link(2) fails with EEXIST atomically like an O_EXCL create, and nobody can
 * ever observe a half-written (empty) lock, which an O_EXCL create followed
 * by a write would show. A lock whose pid is dead (or whose pid was reused
 * by a process that started later, checked through /proc on Linux) is stale
 * and taken over.
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { readFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.ts';
import { GossipLearnError } from '../common/errors.ts';
import { isProcessAlive, readProcStat } from './proc.ts';

export const STATE_LOCK_FILE_NAME = 'daemon.lock';
/** Stale-lock takeover races with another starting daemon; a few retries settle it. */
const MAX_ACQUIRE_ATTEMPTS = 5;

export type StateLockErrorReason = 'held' | 'io';

export class StateLockError extends GossipLearnError<StateLockErrorReason> {
  override readonly name = 'StateLockError';
  /** Pid of the daemon holding the lock (reason 'held'), else null. */
  readonly holderPid: number | null;
  readonly lockPath: string;

  constructor(reason: StateLockErrorReason, message: string, lockPath: string, holderPid: number | null = null) {
    super(reason, message);
    this.lockPath = lockPath;
    this.holderPid = holderPid;
  }
}

/** What the lock file holds (JSON, one line). */
export interface LockRecord {
  pid: number;
  hostname: string;
  /** Process start time in clock ticks since boot (Linux /proc), to detect pid reuse; null elsewhere. */
  procStartTicks: number | null;
  acquiredAt: string;
}

export interface StateLock {
  readonly path: string;
  readonly record: LockRecord;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

export interface AcquireStateLockOptions {
  /** Defaults to process.pid; tests pass others. */
  pid?: number;
  /** Liveness probe; defaults to signal 0 plus the /proc start-time check. */
  isHolderAlive?: (record: LockRecord) => boolean;
  /** Register a process 'exit' hook that removes the lock (default true). */
  releaseOnExit?: boolean;
}

/** Start time of a process from /proc/<pid>/stat (field 22), or null when unavailable. */
export function readProcStartTicks(pid: number): number | null {
  return readProcStat(pid)?.startTicks ?? null;
}

/** Alive = the pid exists and, where we can tell, it is the same process that wrote the lock. */
export function defaultIsHolderAlive(record: LockRecord): boolean {
  if (record.hostname !== hostname()) return true; // a shared (network) dir: we cannot probe, never steal
  // A zombie holder has exited (only its parent has not reaped it): its lock is stale.
  if (!isProcessAlive(record.pid)) return false;
  if (record.procStartTicks === null) return true;
  const ticks = readProcStartTicks(record.pid);
  return ticks === null || ticks === record.procStartTicks;
}

function parseLockRecord(text: string): LockRecord | null {
  try {
    const value = JSON.parse(text) as Partial<LockRecord>;
    if (typeof value.pid !== 'number' || !Number.isSafeInteger(value.pid) || value.pid <= 0) return null;
    return {
      pid: value.pid,
      hostname: typeof value.hostname === 'string' ? value.hostname : hostname(),
      procStartTicks: typeof value.procStartTicks === 'number' ? value.procStartTicks : null,
      acquiredAt: typeof value.acquiredAt === 'string' ? value.acquiredAt : '',
    };
  } catch {
    return null;
  }
}

function ioError(lockPath: string, err: unknown): StateLockError {
  const message = err instanceof Error ? err.message : String(err);
  return new StateLockError('io', `cannot lock state dir (${lockPath}): ${message}`, lockPath);
}

export async function acquireStateLock(stateDir: string, options: AcquireStateLockOptions = {}): Promise<StateLock> {
  const pid = options.pid ?? process.pid;
  const isHolderAlive = options.isHolderAlive ?? defaultIsHolderAlive;
  const lockPath = join(stateDir, STATE_LOCK_FILE_NAME);
  const record: LockRecord = {
    pid,
    hostname: hostname(),
    procStartTicks: readProcStartTicks(pid),
    acquiredAt: new Date().toISOString(),
  };
  const text = `${JSON.stringify(record)}\n`;

  try {
    await mkdir(stateDir, { recursive: true });
  } catch (err) {
    throw ioError(lockPath, err);
  }

  for (let attempt = 0; attempt < MAX_ACQUIRE_ATTEMPTS; attempt++) {
    try {
      await writeFileAtomic(lockPath, text, { mode: 0o644, publish: 'exclusive' });
      return makeLock(lockPath, record, text, options.releaseOnExit ?? true);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(lockPath, err);
    }
    let existingText: string;
    try {
      existingText = await readFile(lockPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: retry
      throw ioError(lockPath, err);
    }
    const existing = parseLockRecord(existingText);
    // Unparseable content cannot come from this module (the file appears complete via link):
    // treat it as stale junk rather than locking the user out forever.
    if (existing !== null && isHolderAlive(existing)) {
      throw new StateLockError(
        'held',
        `state dir ${stateDir} is in use by another gossip-learn daemon (pid ${existing.pid}` +
          `${existing.hostname !== record.hostname ? ` on ${existing.hostname}` : ''}); ` +
          `stop it or choose another --state-dir (if it is gone, delete ${lockPath})`,
        lockPath,
        existing.pid,
      );
    }
    // Stale: remove it only if it still holds what we judged (another starter may have replaced it).
    try {
      if ((await readFile(lockPath, 'utf8')) === existingText) await unlink(lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(lockPath, err);
    }
  }
  throw new StateLockError('io', `cannot lock state dir (${lockPath}): lock kept changing while taking over a stale lock`, lockPath);
}

function makeLock(lockPath: string, record: LockRecord, text: string, releaseOnExit: boolean): StateLock {
  let released = false;
  const stillOurs = (current: string): boolean => current === text;
  // 'exit' handlers must be synchronous.
  const releaseSync = (): void => {
    if (released) return;
    released = true;
    try {
      if (stillOurs(readFileSync(lockPath, 'utf8'))) unlinkSync(lockPath);
    } catch {
      // Already gone or unreadable: nothing of ours to remove.
    }
  };
  if (releaseOnExit) process.once('exit', releaseSync);
  return {
    path: lockPath,
    record,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      if (releaseOnExit) process.removeListener('exit', releaseSync);
      try {
        if (stillOurs(await readFile(lockPath, 'utf8'))) await unlink(lockPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(lockPath, err);
      }
    },
  };
}
