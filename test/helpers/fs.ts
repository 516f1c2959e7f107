/**
 * File-system helpers shared by the tests.
 *
 *   it('writes the key with mode 0600', async function () {
 *     await skipUnlessModesKept(this, dir);
 *     ...
 *   });
 */
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Whether a file created in `dir` with mode 0600 keeps exactly that mode.
 * Some file systems a temp dir can live on do not (vfat, some FUSE, 9p or
 * network mounts show every file as 0644, 0755 or 0777), and an odd umask
 * can take bits away.
 */
export async function keepsFileModes(dir: string): Promise<boolean> {
  const probe = join(dir, `.mode-probe-${process.pid}`);
  const handle = await open(probe, 'wx', 0o600);
  await handle.close();
  try {
    return ((await stat(probe)).mode & 0o777) === 0o600;
  } finally {
    await rm(probe, { force: true });
  }
}

/** Skips the running test, saying why, when files in `dir` do not keep a 0600 mode. */
export async function skipUnlessModesKept(test: Mocha.Context, dir: string): Promise<void> {
  if (await keepsFileModes(dir)) return;
  console.log(`      (skipped: a file created with mode 0600 in ${dir} does not keep it: its file system ignores modes, or the umask)`);
  test.skip();
}
