/**
 * Checkpoint files: a model's flat parameters plus what is needed to trust
 * and resume them.
 *
 *   await saveCheckpoint('state/model.ckpt', { modelName: 'mlp', modelHash, params, age, samplesSeen });
 *   const ckpt = await loadCheckpoint('state/model.ckpt', { modelName: 'mlp', modelHash });
 *
 * Layout (little-endian):
 *   0   8  magic "GLCKPT\r\n" (the CR LF catches text-mode mangling)
 *   8   4  format version (1)
 *   12  4  header length H in bytes
 *   16  4  parameter count P
 *   20  H  header JSON (UTF-8): modelName, modelHash, age, samplesSeen, paramCount, savedAt, meta
 *   20+H 4P parameters, float32
 *   end 32 SHA-256 of every byte before it
 *
 * Writes are atomic (src/common/atomic-file.ts: temp file in the same
 * directory, fsync, rename, fsync of the directory): a crash leaves the old
 * file or the new one, never half of one. Loading only reads; every problem is a CheckpointError with a
 * reason, so the daemon can set a bad file aside and start cold.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic, type AtomicFileSystem } from '../common/atomic-file.ts';
import { GossipLearnError } from '../common/errors.ts';

export const CHECKPOINT_MAGIC = Uint8Array.from([0x47, 0x4c, 0x43, 0x4b, 0x50, 0x54, 0x0d, 0x0a]);
export const CHECKPOINT_FORMAT_VERSION = 1;
const PREFIX_BYTES = 20;
const CHECKSUM_BYTES = 32;
export const MAX_CHECKPOINT_HEADER_BYTES = 1024 * 1024;
/** 256 Mi parameters (1 GiB of float32): far above any registry model; bounds what a load allocates. */
export const MAX_CHECKPOINT_PARAMS = 256 * 1024 * 1024;

export type CheckpointErrorReason =
  | 'missing'
  | 'unreadable'
  | 'too-large'
  | 'truncated'
  | 'bad-magic'
  | 'bad-version'
  | 'bad-checksum'
  | 'bad-header'
  | 'non-finite'
  | 'model-mismatch'
  | 'bad-input';

export class CheckpointError extends GossipLearnError<CheckpointErrorReason> {
  override readonly name = 'CheckpointError';
  readonly path: string;
  /** The message starts with the path ('state/model.ckpt: ...'). */
  constructor(reason: CheckpointErrorReason, path: string, message: string) {
    super(reason, `${path}: ${message}`);
    this.path = path;
  }
}

export interface CheckpointInput {
  modelName: string;
  modelHash: string;
  params: Float32Array;
  age: number;
  samplesSeen: number;
  meta?: Record<string, unknown>;
}

export interface Checkpoint extends CheckpointInput {
  meta: Record<string, unknown>;
  formatVersion: number;
  /** ISO time the file was written. */
  savedAt: string;
}

interface Header {
  modelName: string;
  modelHash: string;
  age: number;
  samplesSeen: number;
  paramCount: number;
  savedAt: string;
  meta: Record<string, unknown>;
}

function firstNonFinite(params: Float32Array): number {
  for (let i = 0; i < params.length; i++) if (!Number.isFinite(params[i])) return i;
  return -1;
}

function validateInput(path: string, input: CheckpointInput): void {
  const fail = (message: string): never => {
    throw new CheckpointError('bad-input', path, message);
  };
  if (typeof input.modelName !== 'string' || input.modelName === '') fail('modelName must be a non-empty string');
  if (typeof input.modelHash !== 'string' || input.modelHash === '') fail('modelHash must be a non-empty string');
  if (!(input.params instanceof Float32Array)) fail('params must be a Float32Array');
  if (input.params.length > MAX_CHECKPOINT_PARAMS) fail(`${input.params.length} parameters exceed the limit of ${MAX_CHECKPOINT_PARAMS}`);
  for (const key of ['age', 'samplesSeen'] as const) {
    if (!Number.isFinite(input[key]) || input[key] < 0) fail(`${key} must be a non-negative number, got ${input[key]}`);
  }
  const bad = firstNonFinite(input.params);
  if (bad >= 0) throw new CheckpointError('non-finite', path, `refusing to save: parameter ${bad} is ${input.params[bad]}`);
}

/** Serializes a checkpoint (pure; saveCheckpoint adds validation and the atomic write). */
export function encodeCheckpoint(input: CheckpointInput, savedAt = new Date().toISOString()): Uint8Array {
  const header: Header = {
    modelName: input.modelName,
    modelHash: input.modelHash,
    age: input.age,
    samplesSeen: input.samplesSeen,
    paramCount: input.params.length,
    savedAt,
    meta: input.meta ?? {},
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  if (headerBytes.length > MAX_CHECKPOINT_HEADER_BYTES) throw new CheckpointError('bad-input', '(encode)', `header of ${headerBytes.length} bytes exceeds ${MAX_CHECKPOINT_HEADER_BYTES}`);
  const bodyLength = PREFIX_BYTES + headerBytes.length + 4 * input.params.length;
  const out = new Uint8Array(bodyLength + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  out.set(CHECKPOINT_MAGIC, 0);
  view.setUint32(8, CHECKPOINT_FORMAT_VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  view.setUint32(16, input.params.length, true);
  out.set(headerBytes, PREFIX_BYTES);
  const paramsOffset = PREFIX_BYTES + headerBytes.length;
  for (let i = 0; i < input.params.length; i++) view.setFloat32(paramsOffset + 4 * i, input.params[i]!, true);
  out.set(createHash('sha256').update(out.subarray(0, bodyLength)).digest(), bodyLength);
  return out;
}

function parseHeader(path: string, bytes: Uint8Array, paramCount: number): Header {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new CheckpointError('bad-header', path, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  const h = header as Partial<Header> | null;
  const problem =
    h === null || typeof h !== 'object' || Array.isArray(h) ? 'not an object'
    : typeof h.modelName !== 'string' || h.modelName === '' ? 'modelName missing'
    : typeof h.modelHash !== 'string' || h.modelHash === '' ? 'modelHash missing'
    : typeof h.age !== 'number' || !(h.age >= 0) ? 'age missing or negative'
    : typeof h.samplesSeen !== 'number' || !(h.samplesSeen >= 0) ? 'samplesSeen missing or negative'
    : h.paramCount !== paramCount ? `paramCount ${String(h.paramCount)} differs from the ${paramCount} stored`
    : typeof h.savedAt !== 'string' ? 'savedAt missing'
    : h.meta === null || typeof h.meta !== 'object' || Array.isArray(h.meta) ? 'meta is not an object'
    : null;
  if (problem !== null) throw new CheckpointError('bad-header', path, `bad header: ${problem}`);
  return h as Header;
}

/** Parses and verifies checkpoint bytes; `path` only labels errors. */
export function decodeCheckpoint(path: string, bytes: Uint8Array, expect: { modelName?: string; modelHash?: string } = {}): Checkpoint {
  if (bytes.length < PREFIX_BYTES) throw new CheckpointError('truncated', path, `truncated: ${bytes.length} bytes, shorter than the ${PREFIX_BYTES}-byte prefix`);
  if (!CHECKPOINT_MAGIC.every((b, i) => bytes[i] === b)) throw new CheckpointError('bad-magic', path, 'not a gossip-learn checkpoint (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_FORMAT_VERSION) throw new CheckpointError('bad-version', path, `format version ${version}, this build reads ${CHECKPOINT_FORMAT_VERSION}`);
  const headerLength = view.getUint32(12, true);
  const paramCount = view.getUint32(16, true);
  if (headerLength > MAX_CHECKPOINT_HEADER_BYTES) throw new CheckpointError('bad-header', path, `header length ${headerLength} exceeds ${MAX_CHECKPOINT_HEADER_BYTES}`);
  if (paramCount > MAX_CHECKPOINT_PARAMS) throw new CheckpointError('too-large', path, `${paramCount} parameters exceed the limit of ${MAX_CHECKPOINT_PARAMS}`);
  const bodyLength = PREFIX_BYTES + headerLength + 4 * paramCount;
  const expected = bodyLength + CHECKSUM_BYTES;
  if (bytes.length < expected) throw new CheckpointError('truncated', path, `truncated: ${bytes.length} bytes, the header says ${expected}`);
  if (bytes.length > expected) throw new CheckpointError('bad-header', path, `${bytes.length - expected} unexpected bytes after the checksum`);
  const digest = createHash('sha256').update(bytes.subarray(0, bodyLength)).digest();
  if (!digest.equals(bytes.subarray(bodyLength, expected))) throw new CheckpointError('bad-checksum', path, 'checksum mismatch: the file is corrupt');
  const header = parseHeader(path, bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength), paramCount);
  const params = new Float32Array(paramCount);
  const paramsOffset = PREFIX_BYTES + headerLength;
  for (let i = 0; i < paramCount; i++) params[i] = view.getFloat32(paramsOffset + 4 * i, true);
  const bad = firstNonFinite(params);
  if (bad >= 0) throw new CheckpointError('non-finite', path, `parameter ${bad} is ${params[bad]}`);
  if (expect.modelName !== undefined && expect.modelName !== header.modelName) {
    throw new CheckpointError('model-mismatch', path, `holds model '${header.modelName}', expected '${expect.modelName}'`);
  }
  if (expect.modelHash !== undefined && expect.modelHash !== header.modelHash) {
    throw new CheckpointError('model-mismatch', path, `holds model hash ${header.modelHash.slice(0, 12)}..., expected ${expect.modelHash.slice(0, 12)}...`);
  }
  return {
    modelName: header.modelName,
    modelHash: header.modelHash,
    params,
    age: header.age,
    samplesSeen: header.samplesSeen,
    meta: header.meta,
    formatVersion: version,
    savedAt: header.savedAt,
  };
}

/**
 * Writes a checkpoint atomically (temp file, fsync, rename over `path`, fsync the directory), mode 0600.
 * Throws CheckpointError('bad-input' | 'non-finite') before touching the disk, or the file
 * system's error (EROFS, ENOSPC, EACCES...), in which case the file at `path` is unchanged.
 */
export async function saveCheckpoint(path: string, input: CheckpointInput, options: { fs?: AtomicFileSystem } = {}): Promise<void> {
  validateInput(path, input);
  await writeFileAtomic(path, encodeCheckpoint(input), { mode: 0o600, ...(options.fs === undefined ? {} : { fs: options.fs }) });
}

/** Reads and verifies a checkpoint; never writes, renames or deletes anything. */
export async function loadCheckpoint(path: string, expect: { modelName?: string; modelHash?: string } = {}): Promise<Checkpoint> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CheckpointError('missing', path, 'no checkpoint file');
    throw new CheckpointError('unreadable', path, `cannot read (${code ?? String(err)})`);
  }
  const limit = PREFIX_BYTES + MAX_CHECKPOINT_HEADER_BYTES + 4 * MAX_CHECKPOINT_PARAMS + CHECKSUM_BYTES;
  if (size > limit) throw new CheckpointError('too-large', path, `${size} bytes exceed the limit of ${limit}`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path, { flag: 'r' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CheckpointError('missing', path, 'no checkpoint file');
    throw new CheckpointError('unreadable', path, `cannot read (${code ?? String(err)})`);
  }
  return decodeCheckpoint(path, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), expect);
}
