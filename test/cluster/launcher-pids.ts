/** Cleanup shared by the launcher tests (fake daemons) and the cluster tests (real daemons). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PIDS_FILE } from '../../src/cluster/launcher.ts';
import { isAlive } from '../helpers/process.ts';

/**
 * SIGKILLs every daemon pid the launcher recorded in `dir` that still runs:
 * daemons are not our children, so after a failed test nothing else would
 * end them.
 */
export async function killRecordedDaemons(dir: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(join(dir, PIDS_FILE), 'utf8');
  } catch {
    return; // no daemon was started
  }
  const { nodes } = JSON.parse(text) as { nodes: Record<string, number[]> };
  for (const pid of Object.values(nodes).flat()) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}
