/**
 * Process and timing helpers shared by the tests that start processes
 * (test/cluster, test/node).
 *
 *   await waitFor(() => pids.every((pid) => !isAlive(pid)), 10_000, 'the daemons to exit');
 */
import { isProcessAlive } from '../../src/node/proc.ts';

/** True while `pid` runs; an exited but unreaped process (zombie) counts as gone (src/node/proc.ts). */
export const isAlive = isProcessAlive;

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes (no fixed sleeps in tests). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  // Monotonic: a test that moves the wall clock (test/node/wall-clock.test.ts) must not move this deadline.
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
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
