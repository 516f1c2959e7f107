import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/common/atomic-file.ts';
import { skipUnlessModesKept } from '../helpers/fs.ts';

describe('writeFileAtomic', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-atomic-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates or replaces the file and leaves no temp file', async () => {
    const path = join(dir, 'key');
    await writeFileAtomic(path, Uint8Array.from([1, 2, 3]), { mode: 0o600 });
    assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
    await writeFileAtomic(path, 'text\n', { mode: 0o600 });
    assert.equal(await readFile(path, 'utf8'), 'text\n');
    assert.deepEqual(await readdir(dir), ['key']);
  });

  it('creates the file with the given mode', async function () {
    await skipUnlessModesKept(this, dir);
    const path = join(dir, 'key');
    await writeFileAtomic(path, Uint8Array.from([1, 2, 3]), { mode: 0o600 });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await writeFileAtomic(path, 'text\n', { mode: 0o600 });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it('in exclusive form fails with EEXIST, keeps the existing file and cleans up', async () => {
    const path = join(dir, 'daemon.lock');
    await writeFileAtomic(path, 'first\n', { publish: 'exclusive' });
    await assert.rejects(writeFileAtomic(path, 'second\n', { publish: 'exclusive' }), { code: 'EEXIST' });
    assert.equal(await readFile(path, 'utf8'), 'first\n');
    assert.deepEqual(await readdir(dir), ['daemon.lock']);
  });

  it('lets exactly one of several concurrent exclusive writers win', async () => {
    const path = join(dir, 'daemon.lock');
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => writeFileAtomic(path, `${i}\n`, { publish: 'exclusive' })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.match(await readFile(path, 'utf8'), /^[1-4]\n$/);
    assert.deepEqual(await readdir(dir), ['daemon.lock']);
  });

  it('leaves the old file whole when the write fails, and no temp file', async () => {
    await writeFile(join(dir, 'results.json'), '{}');
    await assert.rejects(writeFileAtomic(join(dir, 'missing-dir', 'results.json'), '{"a":1}'), { code: 'ENOENT' });
    assert.deepEqual(await readdir(dir), ['results.json']);
    assert.equal(await readFile(join(dir, 'results.json'), 'utf8'), '{}');
  });
});
