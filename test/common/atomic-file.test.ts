import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FILE_SYSTEM, removeTempFilesInFlightSync, tempFilePrefix, writeFileAtomic, type AtomicFileSystem } from '../../src/common/atomic-file.ts';
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

  it('removes the temp file of a write in flight on demand (a forced exit), keeping the old file', async () => {
    const path = join(dir, 'checkpoint.bin');
    await writeFile(path, 'old');
    // A file system whose written file stalls at sync until released: the write is in flight, its temp file on disk.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let reachedSync!: () => void;
    const atSync = new Promise<void>((resolve) => (reachedSync = resolve));
    const stalling: AtomicFileSystem = {
      ...NODE_FILE_SYSTEM,
      open: (async (...args: Parameters<typeof NODE_FILE_SYSTEM.open>) => {
        const handle = await NODE_FILE_SYSTEM.open(...args);
        const sync = handle.sync.bind(handle);
        handle.sync = async () => {
          reachedSync();
          await released;
          return sync();
        };
        return handle;
      }) as typeof NODE_FILE_SYSTEM.open,
    };
    const writing = writeFileAtomic(path, 'new', { fs: stalling });
    await atSync;
    const temps = (await readdir(dir)).filter((name) => name.startsWith(tempFilePrefix(path)));
    assert.equal(temps.length, 1, 'the write in flight has its temp file');
    assert.deepEqual(removeTempFilesInFlightSync(), [join(dir, temps[0]!)]);
    assert.deepEqual(await readdir(dir), ['checkpoint.bin']);
    assert.deepEqual(removeTempFilesInFlightSync(), [], 'nothing in flight any more');
    // Had the process gone on, the write would fail rather than publish a file it no longer has.
    release();
    await assert.rejects(writing, { code: 'ENOENT' });
    assert.deepEqual(await readdir(dir), ['checkpoint.bin']);
    assert.equal(await readFile(path, 'utf8'), 'old');
  });

  it('forgets finished writes: nothing to remove after them, nothing of theirs removed', async () => {
    const path = join(dir, 'key');
    await writeFileAtomic(path, 'a');
    await assert.rejects(writeFileAtomic(join(dir, 'missing-dir', 'key'), 'b'), { code: 'ENOENT' });
    assert.deepEqual(removeTempFilesInFlightSync(), []);
    assert.equal(await readFile(path, 'utf8'), 'a');
  });
});
