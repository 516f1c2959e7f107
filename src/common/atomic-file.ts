/**
 * The one way gossip-learn writes a file that must never be seen half
 * written (the identity key, the checkpoint, the state-dir lock, the cluster
 * launcher's results.json and pids.json): write everything to a temp file in
 * the same directory, fsync it, then publish it under its name in one step,
 * and fsync the directory so the new name survives a crash too. A crash at
 * any point leaves the old file or the new one, never a mix, plus at worst a
 * stray `.<name>.tmp-*` file.
 *
 *   await writeFileAtomic(path, bytes, { mode: 0o600 });                     // replace (rename)
 *   await writeFileAtomic(lockPath, text, { publish: 'exclusive' });         // EEXIST if it exists
 *
 * Why not the npm package write-file-atomic (v8): it fsyncs the file but
 * not the directory after the rename, and it writes with a single
 * fs.write() call whose byte count it never checks, so a short write (a
 * full disk) would be renamed over a good file. It also installs
 * signal-exit handlers while a write is in flight. FileHandle.writeFile
 * below loops until every byte is written.
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { link, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * The file-system calls an atomic write makes: node:fs/promises by default; tests
 * hand in one that fails a chosen call (ENOSPC mid-write, EROFS on open) to see
 * what a full or read-only disk does to the writer.
 */
export interface AtomicFileSystem {
  open: typeof open;
  rename: typeof rename;
  link: typeof link;
  unlink: typeof unlink;
  readdir: (path: string) => Promise<string[]>;
}

export const NODE_FILE_SYSTEM: AtomicFileSystem = { open, rename, link, unlink, readdir: (path) => readdir(path) };

/** The name prefix of writeFileAtomic's temp files for `path` (`.<name>.tmp-`). */
export function tempFilePrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

export interface AtomicWriteOptions {
  /** Permission bits of the new file (the umask still applies); default 0o666, as fs.writeFile. */
  mode?: number;
  /**
   * 'replace' (default): rename(2) over whatever is at `path`.
   * 'exclusive': link(2) into place, which fails with EEXIST when `path`
   * exists, atomically like an O_EXCL create, but the file appears complete
   * (an O_EXCL create would show an empty file until the write lands).
   */
  publish?: 'replace' | 'exclusive';
  /** The file-system calls to use (default NODE_FILE_SYSTEM). */
  fs?: AtomicFileSystem;
}

/**
 * Temp files of this process's writes in flight (at most one per write
 * running; each leaves the set when its write ends). A process that must
 * exit at once (the daemon on a second Ctrl-C) removes them first with
 * removeTempFilesInFlightSync, so even a forced exit leaves no temp file.
 */
const tempFilesInFlight = new Set<string>();

/**
 * Deletes the temp files of the writes in flight, synchronously (for the
 * line before process.exit: nothing asynchronous runs after it); those
 * writes then fail (ENOENT) if the process goes on. Returns the paths removed.
 */
export function removeTempFilesInFlightSync(): string[] {
  const removed: string[] = [];
  for (const temp of tempFilesInFlight) {
    try {
      unlinkSync(temp);
      removed.push(temp);
    } catch {
      // Already renamed into place or removed: nothing left behind.
    }
  }
  tempFilesInFlight.clear();
  return removed;
}

/** Writes `data` to `path` atomically (see above). The directory must exist. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const { open, rename, link, unlink } = options.fs ?? NODE_FILE_SYSTEM;
  const temp = join(dirname(path), `${tempFilePrefix(path)}${process.pid}-${randomBytes(4).toString('hex')}`);
  let tempExists = false;
  // Registered before the open: a forced exit while open(2) creates the file must find it too.
  tempFilesInFlight.add(temp);
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o666);
    tempExists = true;
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.publish === 'exclusive') {
      await link(temp, path);
    } else {
      await rename(temp, path);
      tempExists = false;
    }
  } finally {
    if (!tempExists) tempFilesInFlight.delete(temp);
    else await unlink(temp).catch(() => undefined);
    tempFilesInFlight.delete(temp);
  }
  await syncDirectory(dirname(path));
}

/**
 * Removes the temp files writeFileAtomic left for `path` (a process killed
 * mid-write, or a failed write whose unlink failed too). Only for a path
 * whose writes this process serializes: a temp of a write in flight would go
 * too. Best effort; resolves with the names removed.
 */
export async function removeStrayTempFiles(path: string, fs: AtomicFileSystem = NODE_FILE_SYSTEM): Promise<string[]> {
  const dir = dirname(path);
  const prefix = tempFilePrefix(path);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    try {
      await fs.unlink(join(dir, name));
      removed.push(name);
    } catch {
      // Read-only or already gone: tried again before the next write.
    }
  }
  return removed;
}

/** Makes a rename or link in `dir` durable. Best effort: some file systems refuse fsync on a directory. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Best effort only.
  }
}
