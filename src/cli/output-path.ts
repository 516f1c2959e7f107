/**
 * Checks, before any work, that a command can write the file a flag names
 * (`train --checkpoint FILE`, `--json FILE`): a missing directory found only
 * after minutes of training would lose the result to a stack trace.
 *
 *   await checkOutputPath('--checkpoint', 'runs/model.ckpt');   // throws CliUsageError when runs/ is missing
 */
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { CliUsageError } from './usage-error.ts';

/**
 * Resolves when `path` can be written: its directory exists, is a directory
 * and is writable, and `path` itself is not a directory. Otherwise throws a
 * CliUsageError whose message starts with `flag`, e.g.
 * `--json: directory out does not exist (create it first)`.
 */
export async function checkOutputPath(flag: string, path: string): Promise<void> {
  const problem = outputPathProblem(path);
  if (problem !== null) throw new CliUsageError(`${flag}: ${problem}`);
}

/** Why `path` cannot be written (`directory out does not exist (create it first)`), or null when it can; checkOutputPath's test, synchronous. */
export function outputPathProblem(path: string): string | null {
  const dir = dirname(path);
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `directory ${dir} does not exist (create it first)` : `cannot use directory ${dir}: ${code ?? (err as Error).message}`;
  }
  if (!dirStat.isDirectory()) return `${dir} is not a directory`;
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory() === true) return `${path} is a directory; name a file`;
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return `cannot write in directory ${dir} (permission denied)`;
  }
  return null;
}

/**
 * Why `dir` cannot take a new model directory (`export --out`): it is a
 * file, or a directory that already holds files (an export never
 * overwrites); null when it can (a missing directory is created on write).
 */
export function outputDirProblem(dir: string): string | null {
  const found = statSync(dir, { throwIfNoEntry: false });
  if (found === undefined) return null;
  if (!found.isDirectory()) return `${dir} is a file: give a new or empty directory`;
  const present = readdirSync(dir).sort();
  if (present.length > 0) return `${dir} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', ...' : ''}): give a new or empty directory`;
  return null;
}
