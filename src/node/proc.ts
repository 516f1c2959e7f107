/**
 * What Linux's /proc says about a process: one parser of /proc/<pid>/stat
 * for the state-dir lock (is the holder alive, is it the same process), the
 * npm launcher watch (src/node/launcher.ts: parent chain, zombies) and the
 * tests that wait for processes to go.
 *
 *   parseProcStat('1234 (node) S 1 ...')   // { pid: 1234, comm: 'node', state: 'S', ppid: 1, startTicks }
 *   isProcessAlive(pid)                      // false for a pid that is gone or a zombie
 */
import { readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** The kernel's short command name (at most 15 characters). */
  comm: string;
  /** One letter: R, S, D, Z (zombie: exited, not yet reaped), T, X, ... */
  state: string;
  ppid: number;
  /** Start time after boot in clock ticks (field 22), or null when the line is short. */
  startTicks: number | null;
}

/**
 * Parses one /proc/<pid>/stat line, or returns null when it is not one. The
 * command name (field 2) is in parentheses and may itself hold spaces and
 * parentheses, so the fields after it are read from the LAST ')'.
 */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const fields = text.slice(close + 1).trim().split(/\s+/);
  const [state, ppid] = fields;
  if (!Number.isSafeInteger(pid) || state === undefined || !/^[A-Za-z]$/.test(state) || ppid === undefined || !/^\d+$/.test(ppid)) return null;
  const ticks = Number(fields[19]);
  return { pid, comm: text.slice(open + 1, close), state, ppid: Number(ppid), startTicks: Number.isSafeInteger(ticks) ? ticks : null };
}

/** /proc/<pid>/stat parsed, or null when there is no such process (or no /proc). */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`${procRoot}/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** Z (zombie) and X (dead): exited, only its parent has not reaped it yet. */
const EXITED_STATES = new Set(['Z', 'X', 'x']);

/**
 * True while `pid` runs. `kill(pid, 0)` alone also succeeds on a zombie, and
 * a process whose parent died is reaped by PID 1, which in a container
 * without an init may be never: where /proc exists, an exited but unreaped
 * process counts as gone. A process of another user (EPERM) counts as alive.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = readProcStat(pid);
  if (stat !== null) return !EXITED_STATES.has(stat.state);
  // kill(0) worked but /proc has no entry: reaped just now, unless there is no /proc at all.
  return readProcStat(process.pid) === null;
}
