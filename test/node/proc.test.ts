import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { isProcessAlive as isAlive, parseProcStat, readProcStat } from '../../src/node/proc.ts';
import { waitFor } from '../helpers/process.ts';

const parseProcStatState = (line: string): string | null => parseProcStat(line)?.state ?? null;
const procState = (pid: number): string | null => readProcStat(pid)?.state ?? null;

/** The command name of `pid` (/proc/<pid>/comm), or null. */
function commOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

describe('/proc: parseProcStat and isProcessAlive', () => {
  describe('parseProcStatState', () => {
    it('reads the state after the command name, even when the name holds spaces and parentheses', () => {
      assert.equal(parseProcStatState('1234 (node) S 1 1234 1234 0 -1 4194560 0 0 0 0'), 'S');
      assert.equal(parseProcStatState('1234 (node) Z 1 1234 1234 0 -1 4194560 0 0 0 0\n'), 'Z');
      assert.equal(parseProcStatState('42 (Web Content) R 7 42 42 0 -1 0'), 'R');
      // A name that looks like more fields: "x) R (y" must not be read as state R.
      assert.equal(parseProcStatState('42 (x) R (y) Z 7 42 42 0 -1 0'), 'Z');
      assert.equal(parseProcStatState('42 ((sd-pam)) S 7 42 42 0 -1 0'), 'S');
      assert.equal(parseProcStatState('42 () D 7 42'), 'D');
      assert.equal(parseProcStatState('42 (a) b) (c) X 7'), 'X');
    });

    it('gives null for what is not a stat line', () => {
      assert.equal(parseProcStatState(''), null);
      assert.equal(parseProcStatState('42 (unterminated S 7'), null);
      assert.equal(parseProcStatState('42 (node)'), null);
      assert.equal(parseProcStatState('42 (node) 7 42'), null);
    });
  });

  describe('on live processes', function () {
    this.timeout(30_000);
    let parent: ChildProcess | null = null;

    afterEach(async () => {
      if (parent !== null && parent.exitCode === null && parent.signalCode === null) {
        const exited = once(parent, 'exit');
        parent.kill('SIGKILL');
        await exited;
      }
      parent = null;
    });

    it('is true for this process and false for a pid that never ran', () => {
      assert.equal(isAlive(process.pid), true);
      assert.equal(isAlive(2 ** 30), false);
    });

    it('counts an exited process that its parent has not reaped (a zombie) as gone', async function () {
      if (procState(process.pid) === null) {
        console.log('      (skipped: no /proc here, so a zombie cannot be told from a live process)');
        this.skip();
      }
      // A shell starts a subshell that exits once we write to fd 3, then becomes `cat`, which never
      // reaps it: the subshell stays a zombie until cat exits (when we close its stdin).
      parent = spawn('/bin/sh', ['-c', '(read line <&3) & echo $!; exec cat'], { stdio: ['pipe', 'pipe', 'inherit', 'pipe'] });
      const shell = parent;
      const pid = await new Promise<number>((resolve, reject) => {
        shell.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        shell.once('exit', (code) => reject(new Error(`the shell exited (${code}) before printing a pid`)));
      });
      assert.ok(Number.isSafeInteger(pid) && pid > 0, `pid ${pid}`);
      assert.equal(isAlive(pid), true, 'the subshell runs until it reads a line');
      // Let it exit only once the shell is cat: a shell might still reap it itself.
      await waitFor(() => commOf(shell.pid!) === 'cat', 10_000, 'the shell to exec cat');
      (shell.stdio[3] as NodeJS.WritableStream).write('go\n');
      await waitFor(() => procState(pid) === 'Z', 10_000, `pid ${pid} to become a zombie`).catch((err: Error) => {
        throw new Error(`${err.message} (state now ${procState(pid)}, shell ${commOf(shell.pid!)} ${procState(shell.pid!)})`);
      });
      // The premise: signal 0 still reaches a zombie.
      assert.doesNotThrow(() => process.kill(pid, 0));
      assert.equal(isAlive(pid), false);
      shell.stdin!.end();
      const [code] = (await once(shell, 'exit')) as [number | null];
      assert.equal(code, 0);
    });
  });
});
