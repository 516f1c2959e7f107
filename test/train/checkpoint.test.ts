import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHECKPOINT_FORMAT_VERSION,
  CheckpointError,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointInput,
} from '../../src/train/checkpoint.ts';
import { skipUnlessModesKept } from '../helpers/fs.ts';

const input: CheckpointInput = {
  modelName: 'mlp',
  modelHash: 'ab'.repeat(32),
  params: Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3),
  age: 1234,
  samplesSeen: 39488,
  meta: { swarm: 'demo', eval: { accuracy: 0.9 } },
};

/** Re-seals a modified body with a fresh checksum so later checks (not the checksum) see the change. */
function reseal(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  const body = out.length - 32;
  out.set(createHash('sha256').update(out.subarray(0, body)).digest(), body);
  return out;
}

/** Builds a sealed checkpoint whose header JSON is replaced by `headerText`. */
function withHeader(headerText: string, paramCount = 2): Uint8Array {
  const header = new TextEncoder().encode(headerText);
  const out = new Uint8Array(20 + header.length + 4 * paramCount + 32);
  out.set(encodeCheckpoint({ ...input, params: new Float32Array(paramCount) }).subarray(0, 8));
  const view = new DataView(out.buffer);
  view.setUint32(8, CHECKPOINT_FORMAT_VERSION, true);
  view.setUint32(12, header.length, true);
  view.setUint32(16, paramCount, true);
  out.set(header, 20);
  return reseal(out);
}

describe('checkpoint', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-ckpt-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips parameters, counters, names and meta', async () => {
    const path = join(dir, 'model.ckpt');
    await saveCheckpoint(path, input);
    const ckpt = await loadCheckpoint(path, { modelName: 'mlp', modelHash: input.modelHash });
    assert.deepEqual(ckpt.params, input.params);
    assert.equal(ckpt.modelName, 'mlp');
    assert.equal(ckpt.modelHash, input.modelHash);
    assert.equal(ckpt.age, 1234);
    assert.equal(ckpt.samplesSeen, 39488);
    assert.deepEqual(ckpt.meta, input.meta);
    assert.equal(ckpt.formatVersion, CHECKPOINT_FORMAT_VERSION);
    assert.ok(!Number.isNaN(Date.parse(ckpt.savedAt)));
  });

  it('replaces an existing file atomically and leaves no temp files behind', async () => {
    const path = join(dir, 'model.ckpt');
    await saveCheckpoint(path, input);
    await saveCheckpoint(path, { ...input, age: 2000 });
    assert.equal((await loadCheckpoint(path)).age, 2000);
    assert.deepEqual(await readdir(dir), ['model.ckpt']);
  });

  it('is readable by its owner only (mode 0600)', async function () {
    await skipUnlessModesKept(this, dir);
    const path = join(dir, 'model.ckpt');
    await saveCheckpoint(path, input);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it('cleans up its temp file when the write fails, and refuses bad input', async () => {
    await assert.rejects(saveCheckpoint(join(dir, 'no-such-dir', 'model.ckpt'), input), /ENOENT/);
    assert.deepEqual(await readdir(dir), []);
    const path = join(dir, 'model.ckpt');
    await assert.rejects(saveCheckpoint(path, { ...input, params: Float32Array.from([1, Number.NaN]) }), (err: unknown) => err instanceof CheckpointError && err.reason === 'non-finite');
    await assert.rejects(saveCheckpoint(path, { ...input, age: -1 }), (err: unknown) => err instanceof CheckpointError && err.reason === 'bad-input');
    assert.deepEqual(await readdir(dir), []);
  });

  describe('rejects every kind of damage with a typed reason, never touching the file', () => {
    const cases: Array<{ what: string; reason: string; message: RegExp; bytes: () => Uint8Array; expect?: { modelName?: string; modelHash?: string } }> = [
      { what: 'an empty file', reason: 'truncated', message: /truncated: 0 bytes/, bytes: () => new Uint8Array(0) },
      { what: 'a cut prefix', reason: 'truncated', message: /shorter than the 20-byte prefix/, bytes: () => encodeCheckpoint(input).subarray(0, 12) },
      { what: 'a missing last byte', reason: 'truncated', message: /truncated: \d+ bytes, the header says \d+/, bytes: () => encodeCheckpoint(input).subarray(0, -1) },
      { what: 'half the parameters', reason: 'truncated', message: /truncated/, bytes: () => encodeCheckpoint(input).subarray(0, 2500) },
      {
        what: 'another file type',
        reason: 'bad-magic',
        message: /not a gossip-learn checkpoint \(bad magic\)/,
        bytes: () => new TextEncoder().encode('{"this": "is json, not a checkpoint"}'),
      },
      {
        what: 'a future format version',
        reason: 'bad-version',
        message: /format version 2, this build reads 1/,
        bytes: () => {
          const b = encodeCheckpoint(input);
          new DataView(b.buffer).setUint32(8, 2, true);
          return b;
        },
      },
      {
        what: 'a flipped parameter bit',
        reason: 'bad-checksum',
        message: /checksum mismatch/,
        bytes: () => {
          const b = encodeCheckpoint(input);
          b[b.length - 100]! ^= 0x01;
          return b;
        },
      },
      {
        what: 'a flipped checksum bit',
        reason: 'bad-checksum',
        message: /checksum mismatch/,
        bytes: () => {
          const b = encodeCheckpoint(input);
          b[b.length - 1]! ^= 0x80;
          return b;
        },
      },
      { what: 'trailing garbage', reason: 'bad-header', message: /3 unexpected bytes after the checksum/, bytes: () => Uint8Array.from([...encodeCheckpoint(input), 1, 2, 3]) },
      { what: 'a header that is not JSON', reason: 'bad-header', message: /header is not valid UTF-8 JSON/, bytes: () => withHeader('{"modelName": "mlp",') },
      {
        what: 'a header missing a field',
        reason: 'bad-header',
        message: /bad header: modelHash missing/,
        bytes: () => withHeader(JSON.stringify({ modelName: 'mlp', age: 1, samplesSeen: 1, paramCount: 2, savedAt: 'x', meta: {} })),
      },
      {
        what: 'a header whose paramCount disagrees',
        reason: 'bad-header',
        message: /paramCount 3 differs from the 2 stored/,
        bytes: () => withHeader(JSON.stringify({ modelName: 'mlp', modelHash: 'h', age: 1, samplesSeen: 1, paramCount: 3, savedAt: 'x', meta: {} })),
      },
      {
        what: 'NaN parameters under a valid checksum',
        reason: 'non-finite',
        message: /parameter 7 is NaN/,
        bytes: () => {
          const b = encodeCheckpoint(input);
          const headerLength = new DataView(b.buffer).getUint32(12, true);
          new DataView(b.buffer).setFloat32(20 + headerLength + 4 * 7, Number.NaN, true);
          return reseal(b);
        },
      },
      { what: 'another model name', reason: 'model-mismatch', message: /holds model 'mlp', expected 'cnn'/, bytes: () => encodeCheckpoint(input), expect: { modelName: 'cnn' } },
      { what: 'another model hash', reason: 'model-mismatch', message: /holds model hash abababababab\.\.\., expected cdcdcdcdcdcd\.\.\./, bytes: () => encodeCheckpoint(input), expect: { modelHash: 'cd'.repeat(32) } },
    ];

    for (const c of cases) {
      it(`${c.what}: ${c.reason}`, async () => {
        const path = join(dir, 'model.ckpt');
        const bytes = c.bytes();
        await writeFile(path, bytes);
        const before = await stat(path);
        await assert.rejects(loadCheckpoint(path, c.expect), (err: unknown) => {
          assert.ok(err instanceof CheckpointError, String(err));
          assert.equal(err.name, 'CheckpointError');
          assert.equal(err.reason, c.reason);
          assert.equal(err.path, path);
          assert.match(err.message, c.message);
          return true;
        });
        const after = await stat(path);
        assert.deepEqual(new Uint8Array(await readFile(path)), bytes);
        assert.equal(after.mtimeMs, before.mtimeMs);
        assert.equal(after.ino, before.ino);
        assert.deepEqual(await readdir(dir), ['model.ckpt']);
      });
    }

    it('a missing file: missing', async () => {
      await assert.rejects(loadCheckpoint(join(dir, 'none.ckpt')), (err: unknown) => err instanceof CheckpointError && err.reason === 'missing' && /none\.ckpt: no checkpoint file/.test(err.message));
      assert.deepEqual(await readdir(dir), []);
    });
  });
});
