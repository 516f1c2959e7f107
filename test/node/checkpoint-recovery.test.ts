import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { saveCheckpoint } from '../../src/train/checkpoint.ts';
import { restoreCheckpoint } from '../../src/node/checkpoints.ts';
import { CHECKPOINT_FILE, IDENTITY_FILE } from '../../src/node/constants.ts';
import type { Logger } from '../../src/node/logger.ts';
import type { LiveModel } from '../../src/train/live-model.ts';

const MODEL = { modelName: 'mlp-small', modelHash: 'a'.repeat(64) };
const FIXED_NOW_MS = Date.UTC(2026, 10, 25, 12, 0, 0);
const QUARANTINED = `${CHECKPOINT_FILE}.corrupt-2026-11-25T12-00-00.000Z`;

/** Just the part of LiveModel that restoreCheckpoint uses; records what it was given. */
function fakeHost(): LiveModel & { restored: Array<{ params: Float32Array; age: number }> } {
  const restored: Array<{ params: Float32Array; age: number }> = [];
  return {
    ...MODEL,
    restored,
    write(params: Float32Array, counters: { age: number }) {
      restored.push({ params, age: counters.age });
    },
  } as unknown as LiveModel & { restored: typeof restored };
}

/** A pino logger that keeps its lines in memory. */
function memoryLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger: Logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }) as Logger;
  return { logger, lines };
}

const corruptions: Array<{ name: string; reason: string; corrupt: (path: string) => Promise<void> }> = [
  { name: 'a truncated file', reason: 'truncated', corrupt: (path) => truncate(path, 30) },
  {
    name: 'a flipped parameter byte',
    reason: 'bad-checksum',
    corrupt: async (path) => {
      const bytes = await readFile(path);
      bytes[bytes.length - 40] = bytes[bytes.length - 40]! ^ 0xff;
      await writeFile(path, bytes);
    },
  },
  { name: 'garbage', reason: 'bad-magic', corrupt: (path) => writeFile(path, Buffer.from('not a checkpoint at all, just text\n'.repeat(10))) },
  { name: 'an empty file', reason: 'truncated', corrupt: (path) => writeFile(path, new Uint8Array(0)) },
];

describe('checkpoint recovery at start (restoreCheckpoint)', () => {
  let stateDir: string;
  let checkpointPath: string;
  let identityPath: string;
  const identityBytes = Buffer.from('identity key bytes that must never change');

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'gl-ckpt-'));
    checkpointPath = join(stateDir, CHECKPOINT_FILE);
    identityPath = join(stateDir, IDENTITY_FILE);
    await writeFile(identityPath, identityBytes);
    await saveCheckpoint(checkpointPath, { ...MODEL, params: Float32Array.from([0.5, -1.5, 2]), age: 7, samplesSeen: 224 });
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('restores an intact checkpoint and leaves every file in place', async () => {
    const host = fakeHost();
    const { logger } = memoryLogger();
    const outcome = await restoreCheckpoint(checkpointPath, host, logger, () => FIXED_NOW_MS);
    assert.deepEqual(outcome, { status: 'restored', age: 7, samplesSeen: 224 });
    assert.deepEqual([...host.restored[0]!.params], [0.5, -1.5, 2]);
    assert.deepEqual((await readdir(stateDir)).sort(), [CHECKPOINT_FILE, IDENTITY_FILE].sort());
  });

  it('starts cold without renaming anything when there is no checkpoint', async () => {
    await rm(checkpointPath);
    const outcome = await restoreCheckpoint(checkpointPath, fakeHost(), memoryLogger().logger, () => FIXED_NOW_MS);
    assert.deepEqual(outcome, { status: 'cold', reason: 'missing', movedTo: null });
    assert.deepEqual(await readdir(stateDir), [IDENTITY_FILE]);
  });

  for (const { name, reason, corrupt } of corruptions) {
    it(`moves ${name} aside as *.corrupt-<time>, warns, starts cold and never touches the identity key`, async () => {
      await corrupt(checkpointPath);
      const corruptBytes = await readFile(checkpointPath);
      const host = fakeHost();
      const { logger, lines } = memoryLogger();
      const outcome = await restoreCheckpoint(checkpointPath, host, logger, () => FIXED_NOW_MS);
      assert.deepEqual(outcome, { status: 'cold', reason, movedTo: join(stateDir, QUARANTINED) });
      assert.equal(host.restored.length, 0, 'nothing of a corrupt file reaches the model');
      assert.deepEqual((await readdir(stateDir)).sort(), [IDENTITY_FILE, QUARANTINED].sort());
      assert.deepEqual(await readFile(join(stateDir, QUARANTINED)), corruptBytes, 'the bad file is kept as it was, for inspection');
      assert.deepEqual(await readFile(identityPath), identityBytes);
      const warning = lines.find((line) => line.level === 40);
      assert.ok(warning, 'a warning is logged');
      assert.equal(warning.reason, reason);
    });
  }

  it('moves aside a checkpoint of another model (it would be overwritten by the next save otherwise)', async () => {
    await saveCheckpoint(checkpointPath, { modelName: 'mlp', modelHash: 'b'.repeat(64), params: new Float32Array(3), age: 1, samplesSeen: 1 });
    const outcome = await restoreCheckpoint(checkpointPath, fakeHost(), memoryLogger().logger, () => FIXED_NOW_MS);
    assert.deepEqual(outcome, { status: 'cold', reason: 'model-mismatch', movedTo: join(stateDir, QUARANTINED) });
    assert.deepEqual(await readFile(identityPath), identityBytes);
  });
});
