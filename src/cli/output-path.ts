/**
 * Checks, before any work, that a command can write the file a flag names
 * (`train --checkpoint FILE`, `--json FILE`): a missing directory found only
 * after minutes of training would lose the result to a stack trace.
 *
 *   await checkOutputPath('--checkpoint', 'runs/model.ckpt');   // throws CliUsageError when runs/ is missing
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliUsageError } from './usage-error.ts';

/**
 * Resolves when `path` can be written: its directory exists, is a directory
 * and is writable, and `path` itself is not a directory. Otherwise throws a
 * CliUsageError whose message starts with `flag`, e.g.
 * `--json: directory out does not exist (create it first)`.
 */
export async function checkOutputPath(flag: string, path: string): Promise<void> {
  const dir = dirname(path);
  const dirStat = await stat(dir).catch((err: NodeJS.ErrnoException) => err);
  if (dirStat instanceof Error) {
    throw new CliUsageError(dirStat.code === 'ENOENT' ? `${flag}: directory ${dir} does not exist (create it first)` : `${flag}: cannot use directory ${dir}: ${dirStat.code ?? dirStat.message}`);
  }
  if (!dirStat.isDirectory()) throw new CliUsageError(`${flag}: ${dir} is not a directory`);
  const fileStat = await stat(path).catch(() => null);
  if (fileStat?.isDirectory() === true) throw new CliUsageError(`${flag}: ${path} is a directory; name a file`);
  const writable = await access(dir, constants.W_OK).then(
    () => true,
    () => false,
  );
  if (!writable) throw new CliUsageError(`${flag}: cannot write in directory ${dir} (permission denied)`);
}
