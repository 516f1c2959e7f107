/**
 * Runs the repository's `npm run` scripts as child processes for the tests
 * that check their command lines (test/bench).
 *
 *   const { code, stderr } = await runScript('bench-poison', ['--data', 'csv:/nope.csv']);
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `npm run NAME -- args` as npm runs it (node scripts/NAME.ts, cwd the repository) on the wasm backend; exit code and output. */
export async function runScript(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(root, 'scripts', `${script}.ts`), ...args], { cwd: root, env: { ...process.env, GOSSIP_LEARN_BACKEND: 'wasm' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
