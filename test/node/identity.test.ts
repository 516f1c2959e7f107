import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdentityError, loadOrCreateIdentity } from '../../src/node/identity.ts';
import { skipUnlessModesKept } from '../helpers/fs.ts';

describe('identity', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-identity-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a key in a directory it creates, and loads the same key later', async () => {
    const path = join(dir, 'state', 'identity.key');
    const created = await loadOrCreateIdentity(path);
    assert.equal(created.created, true);
    assert.deepEqual(await readdir(join(dir, 'state')), ['identity.key']);
    const loaded = await loadOrCreateIdentity(path);
    assert.equal(loaded.created, false);
    assert.ok(loaded.privateKey.equals(created.privateKey));
  });

  it('creates the key readable by its owner only (mode 0600)', async function () {
    await skipUnlessModesKept(this, dir);
    const path = join(dir, 'identity.key');
    await loadOrCreateIdentity(path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it('refuses a corrupt key without touching it', async () => {
    const path = join(dir, 'identity.key');
    await writeFile(path, 'not a key');
    await assert.rejects(loadOrCreateIdentity(path), (err: unknown) => err instanceof IdentityError && err.reason === 'corrupt');
    assert.equal(await readFile(path, 'utf8'), 'not a key');
  });
});
