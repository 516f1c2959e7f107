import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { activeBackend, BackendError, initBackend } from '../../src/train/backend.ts';

const run = promisify(execFile);
const backendModule = new URL('../../src/train/backend.ts', import.meta.url).href;

/** Runs initBackend in a fresh process (the choice is once per process) and returns what it printed. */
async function initInChild(requested: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string }> {
  const script = `
    const { initBackend, activeBackend } = await import(${JSON.stringify(backendModule)});
    try {
      const name = await initBackend(${JSON.stringify(requested)}, { log: (line) => console.log('log:', line) });
      console.log('chosen:', name, activeBackend());
    } catch (err) {
      console.log('error:', err.name, err.reason, err.message);
      process.exitCode = 3;
    }
    console.log('util.isNullOrUndefined:', typeof (await import('node:util')).default.isNullOrUndefined);`;
  try {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, GOSSIP_LEARN_BACKEND: '', ...env } });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

function tfjsNodeInstalled(): boolean {
  try {
    import.meta.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

describe('initBackend', () => {
  it('auto prefers tensorflow, else wasm, and logs why it skipped one', async function () {
    const { code, stdout } = await initInChild('auto');
    assert.equal(code, 0);
    if (tfjsNodeInstalled()) {
      assert.match(stdout, /chosen: tensorflow tensorflow/);
      return;
    }
    // Says that tfjs-node's install failed and why that does not matter (issue 13 #7).
    assert.ok(
      stdout.includes(
        'log: backend: wasm (skipped tensorflow: @tensorflow/tfjs-node is not installed: it is optional, and npm ci leaves it out without a word ' +
          'when its install script cannot download libtensorflow (`npm ci --foreground-scripts` shows why); harmless: wasm trains the same models, only slower)\n',
      ),
      stdout,
    );
    assert.match(stdout, /chosen: wasm wasm/);
  });

  it('GOSSIP_LEARN_BACKEND forces a backend', async () => {
    const { stdout } = await initInChild('auto', { GOSSIP_LEARN_BACKEND: 'cpu' });
    assert.match(stdout, /log: backend: cpu \(requested\)\nchosen: cpu cpu/);
  });

  it('fails softly with a BackendError when a forced backend is unavailable or unknown', async function () {
    if (tfjsNodeInstalled()) this.skip();
    const forced = await initInChild('tensorflow');
    assert.equal(forced.code, 3);
    assert.ok(
      forced.stdout.includes(
        'error: BackendError unavailable backend tensorflow is not available: @tensorflow/tfjs-node is not installed: it is optional, and npm ci leaves it out ' +
          'without a word when its install script cannot download libtensorflow (`npm ci --foreground-scripts` shows why); use --backend wasm (or auto)\n',
      ),
      forced.stdout,
    );
    // The Node >= 23 workaround for tfjs-node 4.22 is in place before it is loaded.
    assert.match(forced.stdout, /util\.isNullOrUndefined: function/);
    const unknown = await initInChild('auto', { GOSSIP_LEARN_BACKEND: 'gpu' });
    assert.match(unknown.stdout, /error: BackendError unknown-backend GOSSIP_LEARN_BACKEND='gpu' is not a backend \(expected auto \| tensorflow \| wasm \| cpu\)/);
  });

  it('in this process: reports its choice, registers the wasm training kernels, refuses to switch', async () => {
    // Other test files may have initialized first; the choice is once per process.
    const chosen = await initBackend();
    assert.equal(activeBackend(), chosen);
    assert.equal(tf.getBackend(), chosen);
    if (chosen === 'wasm') assert.notEqual(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
    const other = chosen === 'cpu' ? 'wasm' : 'cpu';
    await assert.rejects(initBackend(other), (err: unknown) => err instanceof BackendError && err.reason === 'unavailable' && /already active/.test(err.message));
  });
});
