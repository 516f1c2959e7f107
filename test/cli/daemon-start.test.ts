import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));

describe('gossip-learn daemon: a refused start', function () {
  this.timeout(60_000);
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-daemon-start-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a byte budget below one exchange before it prints a peer id or listens, and leaves no state dir', async () => {
    const stateDir = join(root, 'a');
    const args = [cli, 'daemon', '--state-dir', stateDir, '--byte-budget', '100', '--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-port', '0', '--data', 'mnist', '--model', 'mlp-small', '--no-distill', '--log-level', 'warn'];
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, args, (err, out, errOut) => resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stdout: out, stderr: errOut }));
    });
    assert.equal(code, 1);
    assert.equal(stdout, '');
    // mlp-small's first exchange (a full snapshot in a frame) is 12,930 bytes.
    assert.equal(
      stderr.trim().split('\n').at(-1),
      'gossip-learn daemon: --byte-budget: a byte budget of 100 bytes per hour cannot carry one exchange: the snapshot that starts a pair is 12930 bytes for this model; give at least 12930 bytes per hour (e.g. 130kB), or 0 for unlimited',
    );
    assert.deepEqual(await readdir(root), []);
  });
});
