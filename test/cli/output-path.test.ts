import { strict as assert } from 'node:assert';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputPath } from '../../src/cli/output-path.ts';
import { CliUsageError } from '../../src/cli/usage-error.ts';

describe('checkOutputPath', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-output-path-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const refusal = async (path: string): Promise<string> => {
    try {
      await checkOutputPath('--json', path);
    } catch (err) {
      assert.ok(err instanceof CliUsageError);
      return err.message;
    }
    return 'accepted';
  };

  it('accepts a new or existing file in an existing directory', async () => {
    assert.equal(await refusal(join(dir, 'new.json')), 'accepted');
    await writeFile(join(dir, 'old.json'), '{}');
    assert.equal(await refusal(join(dir, 'old.json')), 'accepted');
  });

  it('refuses a missing directory, a file as directory, and a directory as file, naming the flag', async () => {
    assert.equal(await refusal(join(dir, 'missing', 'x.json')), `--json: directory ${join(dir, 'missing')} does not exist (create it first)`);
    await writeFile(join(dir, 'plain'), '');
    assert.equal(await refusal(join(dir, 'plain', 'x.json')), `--json: ${join(dir, 'plain')} is not a directory`);
    await mkdir(join(dir, 'sub'));
    assert.equal(await refusal(join(dir, 'sub')), `--json: ${join(dir, 'sub')} is a directory; name a file`);
  });

  it('refuses a directory it cannot write in (unless root, who can)', async function () {
    if (process.getuid?.() === 0) this.skip();
    const locked = join(dir, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o500);
    assert.equal(await refusal(join(locked, 'x.json')), `--json: cannot write in directory ${locked} (permission denied)`);
    await chmod(locked, 0o700);
  });
});
