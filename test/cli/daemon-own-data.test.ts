import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../bin/gossip-learn.js', import.meta.url));
const nodeA = resolve(fileURLToPath(new URL('../../examples/own-data/node-a.csv', import.meta.url)));

/** Starts `gossip-learn daemon` with `args` on loopback and a fresh state dir; resolves when it exits (a refused start). */
function refusedStart(stateDir: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const all = [cli, 'daemon', '--state-dir', stateDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-port', '0', '--no-distill', '--log-level', 'silent', ...args];
  return new Promise((done) => {
    execFile(process.execPath, all, (err, stdout, stderr) => done({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stdout, stderr }));
  });
}

describe('gossip-learn daemon with own data and model: a refused start names the file', function () {
  this.timeout(60_000);
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-daemon-own-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses text labels without --classes, and a missing model file, in one line each, leaving no state dir', async () => {
    const text = await refusedStart(join(root, 'a'), ['--data', `csv:${nodeA}`]);
    assert.equal(text.code, 1);
    assert.equal(
      text.stderr,
      `gossip-learn daemon: ${nodeA}: row 2: label 'setosa' is text: declare the classes in index order, the same on every node, with --classes NAME,NAME,... (e.g. --classes setosa,...)\n`,
    );
    const missing = join(root, 'absent', 'model.json');
    const model = await refusedStart(join(root, 'b'), ['--data', `csv:${nodeA}`, '--classes', 'setosa,versicolor,virginica', '--model', missing]);
    assert.equal(model.code, 1);
    assert.equal(model.stderr, `gossip-learn daemon: ${missing}: model file not found\n`);
    assert.deepEqual(await readdir(root), []);
  });
});
