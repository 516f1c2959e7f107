import { strict as assert } from 'node:assert';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputPath, outputDirProblem } from '../../src/cli/output-path.ts';
import { outputProblem } from '../../src/cli/script-args.ts';
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

  it('outputDirProblem: a missing or empty directory takes an export; a file or a directory with files does not', async () => {
    assert.equal(outputDirProblem(join(dir, 'no-such', 'model')), null);
    await mkdir(join(dir, 'empty'));
    assert.equal(outputDirProblem(join(dir, 'empty')), null);
    await writeFile(join(dir, 'stats.json'), '{}');
    assert.equal(outputDirProblem(join(dir, 'stats.json')), `${join(dir, 'stats.json')} is a file: give a new or empty directory`);
    await mkdir(join(dir, 'full'));
    for (const name of ['model.json', 'a.bin', 'b.bin', 'c.bin']) await writeFile(join(dir, 'full', name), '');
    assert.equal(outputDirProblem(join(dir, 'full')), `${join(dir, 'full')} is not empty (a.bin, b.bin, c.bin, ...): give a new or empty directory`);
  });

  it('outputProblem checks the script options marked output, naming script and flag, and no other', () => {
    const spec = {
      name: 'bench:x',
      usage: 'npm run bench:x -- [options]',
      summary: 'x',
      options: {
        json: { type: 'string', arg: 'FILE', output: true, help: 'write JSON here' },
        trace: { type: 'string', arg: 'FILE', help: 'read a trace' },
      },
    } as const;
    const missing = join(dir, 'missing', 'x.json');
    assert.equal(outputProblem(spec, { json: missing, trace: undefined }), `bench:x: --json: directory ${join(dir, 'missing')} does not exist (create it first)`);
    assert.equal(outputProblem(spec, { json: join(dir, 'x.json'), trace: missing }), null);
    assert.equal(outputProblem(spec, { json: undefined, trace: undefined }), null);
  });
});
