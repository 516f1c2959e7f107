import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));

describe('gossip-learn CLI', () => {
  it('prints usage with every command on --help', async () => {
    const { stdout } = await run(process.execPath, [cli, '--help']);
    assert.match(stdout, /Usage: gossip-learn <command>/);
    assert.match(stdout, /\btrain\b/);
  });

  it('rejects an unknown command with exit code 2', async () => {
    await assert.rejects(run(process.execPath, [cli, 'frobnicate']), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /unknown command 'frobnicate'/);
      return true;
    });
  });
});
