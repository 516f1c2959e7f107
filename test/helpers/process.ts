/**
 * Process and timing helpers shared by the tests that start processes
 * (test/cluster, test/node).
 *
 *   await waitFor(() => pids.every((pid) => !isAlive(pid)), 10_000, 'the daemons to exit');
 */
import { readFileSync } from 'node:fs';

/**
 * The state letter of a /proc/<pid>/stat line ('R', 'S', 'Z', ...), or null
 * when the line is not one. The command name (field 2) is in parentheses and
 * may itself hold spaces and parentheses: the state is the field after the
 * LAST ')'.
 */
export function parseProcStatState(stat: string): string | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const state = /^ ([A-Za-z]) /.exec(stat.slice(close + 1));
  return state === null ? null : state[1]!;
}

/** The state letter of `pid` from /proc, or null when /proc has no such process (or there is no /proc). */
export function procState(pid: number): string | null {
  try {
    return parseProcStatState(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** Z (zombie) and X (dead): the process has exited, only its parent has not reaped it yet. */
const EXITED_STATES = new Set(['Z', 'X', 'x']);

/**
 * True while `pid` runs. `kill(pid, 0)` alone also succeeds on a zombie,
 * and a process whose parent died is reaped by PID 1, which in a container
 * without an init may be never: where /proc exists, an exited but unreaped
 * process counts as gone.
 */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const state = procState(pid);
  if (state !== null) return !EXITED_STATES.has(state);
  // kill(0) worked but /proc has no entry: it was reaped just now, unless there is no /proc at all.
  return procState(process.pid) === null;
};

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes (no fixed sleeps in tests). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `fn` with these variables set in process.env, then puts back what was there. */
export async function withProcessEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
