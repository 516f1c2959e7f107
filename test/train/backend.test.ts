import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { activeBackend, BackendError, initBackend } from '../../src/train/backend.ts';

const run = promisify(execFile);
const backendModule = new URL('../../src/train/backend.ts', import.meta.url).href;
const fakeTfjsNode = new URL('./fixtures/fake-tfjs-node.ts', import.meta.url).href;

/**
 * What `import('@tensorflow/tfjs-node')` finds in the child, whatever is
 * installed here: nothing (not installed), a module that throws (installed
 * but does not load), or fixtures/fake-tfjs-node.ts (installed and working).
 */
type TfjsNode = 'absent' | 'broken' | 'working';

/** Runs initBackend in a fresh process (the choice is once per process) and returns what it printed. */
async function initInChild(requested: string, tfjsNode: TfjsNode, env: Record<string, string> = {}): Promise<{ code: number; stdout: string }> {
  const script = `
    import { registerHooks } from 'node:module';
    const tfjsNode = ${JSON.stringify(tfjsNode)};
    registerHooks({
      resolve(specifier, context, next) {
        if (specifier !== '@tensorflow/tfjs-node') return next(specifier, context);
        if (tfjsNode === 'working') return { url: ${JSON.stringify(fakeTfjsNode)}, shortCircuit: true };
        if (tfjsNode === 'broken') return { url: 'data:text/javascript,throw new Error("libtensorflow.so.2: cannot open shared object file")', shortCircuit: true };
        const err = new Error("Cannot find package '@tensorflow/tfjs-node'");
        err.code = 'ERR_MODULE_NOT_FOUND';
        throw err;
      },
    });
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

describe('initBackend', () => {
  it('auto prefers tensorflow when @tensorflow/tfjs-node loads', async () => {
    const { code, stdout } = await initInChild('auto', 'working');
    assert.equal(code, 0);
    assert.match(stdout, /^log: backend: tensorflow\nchosen: tensorflow tensorflow\n/);
  });

  it('auto takes wasm without @tensorflow/tfjs-node and logs why it skipped tensorflow', async () => {
    const { code, stdout } = await initInChild('auto', 'absent');
    assert.equal(code, 0);
    // Says that tfjs-node's install failed and why that does not matter (issue 13 #7).
    assert.ok(
      stdout.startsWith(
        'log: backend: wasm (skipped tensorflow: @tensorflow/tfjs-node is not installed: it is optional, and npm ci leaves it out without a word ' +
          'when its install script cannot download libtensorflow (`npm ci --foreground-scripts` shows why); harmless: wasm trains the same models, only slower)\nchosen: wasm wasm\n',
      ),
      stdout,
    );
  });

  it('auto takes wasm when @tensorflow/tfjs-node is installed but does not load, and says why', async () => {
    const { code, stdout } = await initInChild('auto', 'broken');
    assert.equal(code, 0);
    assert.match(stdout, /^log: backend: wasm \(skipped tensorflow: @tensorflow\/tfjs-node is installed but does not load \(libtensorflow\.so\.2: cannot open shared object file\)\)\nchosen: wasm wasm\n/);
  });

  it('GOSSIP_LEARN_BACKEND forces a backend', async () => {
    const { stdout } = await initInChild('auto', 'working', { GOSSIP_LEARN_BACKEND: 'cpu' });
    assert.match(stdout, /^log: backend: cpu \(requested\)\nchosen: cpu cpu\n/);
  });

  it('fails softly with a BackendError when a forced backend is unavailable or unknown', async () => {
    const forced = await initInChild('tensorflow', 'absent');
    assert.equal(forced.code, 3);
    assert.ok(
      forced.stdout.startsWith(
        'error: BackendError unavailable backend tensorflow is not available: @tensorflow/tfjs-node is not installed: it is optional, and npm ci leaves it out ' +
          'without a word when its install script cannot download libtensorflow (`npm ci --foreground-scripts` shows why); use --backend wasm (or auto)\n',
      ),
      forced.stdout,
    );
    // The Node >= 23 workaround for tfjs-node 4.22 is in place before it is loaded.
    assert.match(forced.stdout, /util\.isNullOrUndefined: function/);
    const unknown = await initInChild('auto', 'working', { GOSSIP_LEARN_BACKEND: 'gpu' });
    assert.equal(unknown.code, 3);
    assert.match(unknown.stdout, /^error: BackendError unknown-backend GOSSIP_LEARN_BACKEND='gpu' is not a backend \(expected auto \| tensorflow \| wasm \| cpu\)\n/);
  });

  it('in this process: reports its choice, registers the wasm training kernels, refuses to switch', async () => {
    // Other test files may have initialized first (every in-process test asks for wasm); the choice is once per process.
    assert.equal(await initBackend('wasm'), 'wasm');
    assert.equal(activeBackend(), 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(await initBackend('auto'), 'wasm', 'auto returns the active backend');
    assert.notEqual(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
    await assert.rejects(initBackend('cpu'), (err: unknown) => err instanceof BackendError && err.reason === 'unavailable' && /already active/.test(err.message));
  });
});
