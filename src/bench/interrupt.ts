/**
 * Ctrl-C (SIGINT) or SIGTERM while a benchmark holds things outside its
 * process: daemon processes and a temp dir of their state dirs (checkpoints,
 * identity keys). Node's default on these signals is to exit at once, so the
 * benchmark's `finally` never ran and the temp dir stayed behind.
 *
 *   return cleanUpOnInterrupt({ cleanup, log, what: `stopping the daemons, removing ${root}` }, async () => { ... });
 *
 * `cleanup` runs once: after `run` settles (as a `finally`), or on the first
 * SIGINT/SIGTERM during `run`, which logs `interrupted (SIGINT): <what>`, awaits
 * it and exits 130 (SIGINT) or 143 (SIGTERM), the codes a shell reports for
 * a process those signals ended. A second signal exits at once. An error of
 * `run` after the signal (a daemon that the same Ctrl-C stopped, reached by
 * the terminal through the process group) is not reported: the process exits
 * with the signal's code once `cleanup` is done.
 */
import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface InterruptCleanup {
  /** Stops and removes what the benchmark started; may run while `run` is still busy. */
  cleanup: () => Promise<void>;
  /** One line per call, e.g. `(line) => console.error(\`bench:predict: ${line}\`)`. */
  log: (line: string) => void;
  /** What the cleanup does, for the log line ("stopping the daemons, removing /tmp/..."). */
  what: string;
}

/** Runs `run`, then `cleanup`; on SIGINT/SIGTERM meanwhile, `cleanup` and exit 128 + the signal's number. */
export async function cleanUpOnInterrupt<T>(options: InterruptCleanup, run: () => Promise<T>): Promise<T> {
  let cleaning: Promise<void> | null = null;
  const cleanupOnce = (): Promise<void> => (cleaning ??= options.cleanup());
  let exiting: Promise<never> | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = 128 + constants.signals[signal];
    if (exiting !== null) process.exit(code);
    options.log(`interrupted (${signal}): ${options.what}`);
    exiting = cleanupOnce().then(
      () => process.exit(code),
      (err: unknown) => {
        options.log(`cleanup failed: ${(err as Error).message}`);
        return process.exit(code);
      },
    );
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  try {
    return await run();
  } catch (err) {
    if (exiting !== null) await exiting;
    throw err;
  } finally {
    if (exiting !== null) await exiting;
    await cleanupOnce();
    for (const signal of SIGNALS) process.off(signal, onSignal);
  }
}
