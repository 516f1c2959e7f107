import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { screenshot } from '../../src/cluster/screenshots.ts';
import { ClusterError } from '../../src/cluster/errors.ts';

const script = fileURLToPath(new URL('../../scripts/screenshots.ts', import.meta.url));

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run screenshots', () => {
  it('prints its options with --help', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--duration TIME/);
  });

  it('refuses bad flags with one line before starting anything', async () => {
    assert.deepEqual(await run(['--nodes', '1']), { code: 2, stdout: '', stderr: "screenshots: --nodes must be an integer from 2 to 16, got '1'\n" });
    assert.deepEqual(await run(['--duration', '90']), { code: 2, stdout: '', stderr: "screenshots: --duration: '90' has no unit: 90ms or 90s? (write e.g. 500ms, 5s, 2m)\n" });
    assert.deepEqual(await run(['--chromium', '/nonexistent/chromium']), { code: 1, stdout: '', stderr: 'screenshots: no Chromium at /nonexistent/chromium (apt-get install chromium, or --chromium PATH)\n' });
  });

  it('names the browser and the page when Chromium cannot be run', async () => {
    await assert.rejects(screenshot('/nonexistent/chromium', 'http://127.0.0.1:9/', '/tmp/x.png', { width: 800, height: 600 }), (err: unknown) => err instanceof ClusterError && err.reason === 'screenshot' && /\/nonexistent\/chromium/.test(err.message));
  });
});
