/**
 * TensorFlow.js backend selection, once per process, at start-up:
 *
 *   tensorflow  @tensorflow/tfjs-node (native libtensorflow), if installed and loadable
 *   wasm        @tensorflow/tfjs-backend-wasm plus our missing gradient kernels (default here)
 *   cpu         pure JavaScript, always there, slowest
 *
 *   const backend = await initBackend('auto', { log: (line) => logger.info(line) });
 *
 * 'auto' (or nothing) picks the first that works, unless GOSSIP_LEARN_BACKEND
 * names one; a backend asked for by name must work or initBackend throws a
 * BackendError (no silent fallback when a user was explicit).
 */
import util from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './wasm-kernels/index.ts';
import { GossipLearnError } from '../common/errors.ts';

export const backendNames = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];
export const BACKEND_ENV_VAR = 'GOSSIP_LEARN_BACKEND';
// A variable, so the type checker does not demand an optional package that is usually absent.
const TFJS_NODE_PACKAGE = '@tensorflow/tfjs-node';

export type BackendErrorReason = 'unknown-backend' | 'unavailable';

export class BackendError extends GossipLearnError<BackendErrorReason> {
  override readonly name = 'BackendError';
}

export function isBackendName(s: string): s is BackendName {
  return (backendNames as readonly string[]).includes(s);
}

let active: BackendName | null = null;
let pending: Promise<BackendName> | null = null;

/** The backend initBackend chose, or null before it finished. */
export function activeBackend(): BackendName | null {
  return active;
}

/**
 * tfjs-node 4.22 calls util.isNullOrUndefined, which Node 23 removed
 * (tfjs pull request 8425): put it back before loading tfjs-node.
 */
function patchUtilForTfjsNode(): void {
  const legacy = util as unknown as { isNullOrUndefined?: (value: unknown) => boolean };
  if (typeof legacy.isNullOrUndefined !== 'function') legacy.isNullOrUndefined = (value) => value === null || value === undefined;
}

/**
 * Why tfjs-node is absent, for the log line of 'auto' and the error of
 * `--backend tensorflow`: it is an optional dependency whose install script
 * downloads libtensorflow (from storage.googleapis.com); where that fails
 * (offline, a blocked host, an unsupported platform) npm ci drops the
 * package without a word and still succeeds.
 */
export const TFJS_NODE_MISSING = `${TFJS_NODE_PACKAGE} is not installed: it is optional, and npm ci leaves it out without a word when its install script cannot download libtensorflow (\`npm ci --foreground-scripts\` shows why)`;
/** Appended when 'auto' skipped tfjs-node: why that is fine. */
const TFJS_NODE_MISSING_IS_FINE = 'harmless: wasm trains the same models, only slower';

/** Tries one backend; resolves to null on success, else to the reason it is unusable. */
async function tryBackend(name: BackendName): Promise<string | null> {
  try {
    if (name === 'tensorflow') {
      patchUtilForTfjsNode();
      await import(TFJS_NODE_PACKAGE);
    } else if (name === 'wasm') {
      // The Node build finds its .wasm files next to itself in dist/: no setWasmPaths needed.
      await import('@tensorflow/tfjs-backend-wasm');
    }
    if (tf.findBackendFactory(name) === null) return `${name} backend did not register`;
    if (!(await tf.setBackend(name))) return `${name} backend failed to initialize`;
    await tf.ready();
    if (name === 'wasm') registerWasmTrainingKernels();
    return null;
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    if (name !== 'tensorflow') return message;
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return TFJS_NODE_MISSING;
    return `${TFJS_NODE_PACKAGE} is installed but does not load (${message})`;
  }
}

function resolveRequest(requested: BackendName | 'auto' | undefined): BackendName | 'auto' {
  if (requested !== undefined && requested !== 'auto') return requested;
  const fromEnv = process.env[BACKEND_ENV_VAR]?.trim();
  if (fromEnv === undefined || fromEnv === '' || fromEnv === 'auto') return 'auto';
  if (!isBackendName(fromEnv)) {
    throw new BackendError('unknown-backend', `${BACKEND_ENV_VAR}='${fromEnv}' is not a backend (expected auto | ${backendNames.join(' | ')})`);
  }
  return fromEnv;
}

async function select(want: BackendName | 'auto', log: (line: string) => void): Promise<BackendName> {
  // tfjs's "install tfjs-node" banner and debug warnings are noise in a daemon.
  tf.env().set('PROD', true);
  if (want !== 'auto') {
    const problem = await tryBackend(want);
    if (problem !== null) throw new BackendError('unavailable', `backend ${want} is not available: ${problem}${problem === TFJS_NODE_MISSING ? '; use --backend wasm (or auto)' : ''}`);
    log(`backend: ${want} (requested)`);
    return want;
  }
  const skipped: string[] = [];
  for (const name of backendNames) {
    const problem = await tryBackend(name);
    if (problem === null) {
      log(`backend: ${name}${skipped.length > 0 ? ` (skipped ${skipped.join('; ')})` : ''}`);
      return name;
    }
    skipped.push(`${name}: ${problem}${problem === TFJS_NODE_MISSING ? `; ${TFJS_NODE_MISSING_IS_FINE}` : ''}`);
  }
  throw new BackendError('unavailable', `no TensorFlow.js backend could start: ${skipped.join('; ')}`);
}

/**
 * Selects and initializes the backend. Call once per process; later calls
 * return the first choice, and asking for a different one afterwards throws
 * (tensors made on one backend are not usable on another).
 */
export async function initBackend(requested?: BackendName | 'auto', options: { log?: (line: string) => void } = {}): Promise<BackendName> {
  const want = resolveRequest(requested);
  if (pending === null) {
    pending = select(want, options.log ?? (() => {}));
    pending.then(
      (name) => {
        active = name;
      },
      () => {
        pending = null;
      },
    );
  }
  const chosen = await pending;
  if (want !== 'auto' && want !== chosen) {
    throw new BackendError('unavailable', `backend ${chosen} is already active in this process; cannot switch to ${want}`);
  }
  return chosen;
}
