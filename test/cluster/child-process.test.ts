import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from './helpers.ts';
import { ChildExitedError, LineTimeoutError, SupervisedChild } from '../../src/cluster/child-process.ts';

/** Runs a small Node program as the child (no daemon needed). */
function script(dir: string, source: string): Promise<SupervisedChild> {
  return SupervisedChild.spawn({ command: process.execPath, args: ['-e', source], logPath: join(dir, 'child.log') });
}


describe('SupervisedChild', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-child-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a stdout line, logs both streams, and stops on SIGTERM', async () => {
    const child = await script(dir, `
      process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });
      console.error('starting');
      console.log('metrics: http://127.0.0.1:1234/metrics');
      setInterval(() => {}, 1000);`);
    const match = await child.waitForLine(/^metrics: (\S+)$/, 20_000);
    assert.equal(match[1], 'http://127.0.0.1:1234/metrics');
    const exit = await child.stop(20_000);
    assert.deepEqual(exit, { code: 0, signal: null, forced: false });
    assert.equal(isAlive(child.pid), false);
    await child.logClosed;
    const log = await readFile(join(dir, 'child.log'), 'utf8');
    assert.match(log, /starting/);
    assert.match(log, /bye/);
  });

  it('escalates to SIGKILL when SIGTERM is ignored past the deadline', async () => {
    const child = await script(dir, `
      process.on('SIGTERM', () => {});
      console.log('ready');
      setInterval(() => {}, 1000);`);
    await child.waitForLine(/^ready$/, 20_000);
    const exit = await child.stop(200);
    assert.deepEqual(exit, { code: null, signal: 'SIGKILL', forced: true });
    assert.equal(isAlive(child.pid), false);
  });

  it('rejects a line wait when the child exits first', async () => {
    const child = await script(dir, `console.log('something else'); process.exit(3);`);
    await assert.rejects(child.waitForLine(/^never$/, 20_000), (err: unknown) => {
      assert.ok(err instanceof ChildExitedError);
      assert.equal(err.exit.code, 3);
      return true;
    });
  });

  it('rejects a line wait after its deadline', async () => {
    const child = await script(dir, `setInterval(() => {}, 1000);`);
    await assert.rejects(child.waitForLine(/^never$/, 100), LineTimeoutError);
    await child.killHard();
    assert.equal(child.running, false);
  });

  it('joins lines split across chunks', async () => {
    const child = await script(dir, `
      process.stdout.write('met');
      setTimeout(() => { process.stdout.write('rics: http://x/metrics\\n'); }, 50);
      setInterval(() => {}, 1000);`);
    const match = await child.waitForLine(/^metrics: (\S+)$/, 20_000);
    assert.equal(match[1], 'http://x/metrics');
    await child.killHard();
  });
});
