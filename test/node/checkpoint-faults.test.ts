/**
 * Disk faults under the checkpoint writer (src/node/checkpoints.ts
 * CheckpointService): a full disk (ENOSPC mid-write), a read-only or
 * unwritable state dir. Each failed checkpoint is one warning line with the
 * reason, the last good checkpoint stays intact, no temp file is left, the
 * retries back off and the interval is normal again after a success; in a
 * two-daemon swarm, training and gossip go on meanwhile.
 *
 * Faults are injected through the writer's file-system seam
 * (src/common/atomic-file.ts AtomicFileSystem) and also made real: a
 * directory without write permission (chmod 0500) when not root; as root,
 * where permission bits do not stop writes, a read-only bind mount (EROFS)
 * and a tiny full tmpfs (ENOSPC), skipped with a message when mount(8) is
 * not allowed.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { NODE_FILE_SYSTEM, type AtomicFileSystem } from '../../src/common/atomic-file.ts';
import { CheckpointService, MAX_CHECKPOINT_BACKOFF_INTERVALS } from '../../src/node/checkpoints.ts';
import { validateDaemonConfig } from '../../src/node/config.ts';
import { CHECKPOINT_FILE } from '../../src/node/constants.ts';
import { Daemon } from '../../src/node/daemon.ts';
import type { Logger } from '../../src/node/logger.ts';
import type { DaemonContext } from '../../src/node/service.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import type { LiveModel } from '../../src/train/live-model.ts';
import { waitFor } from '../helpers/process.ts';
import { daemonSuite, fastDaemonConfig, fetchMetrics } from '../helpers/daemons.ts';

type Fault = 'none' | 'enospc-mid-write' | 'erofs' | 'enospc-and-unlink-fails';

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: injected, ${syscall} '${path}'`) as NodeJS.ErrnoException;
  err.code = code;
  err.syscall = syscall;
  return err;
}

/** The real file system, with a switchable fault; records when each write began. */
function faultyFs(): { fs: AtomicFileSystem; set: (fault: Fault) => void; opens: number[] } {
  let fault: Fault = 'none';
  const opens: number[] = [];
  const fs: AtomicFileSystem = {
    ...NODE_FILE_SYSTEM,
    open: (async (path: string, flags: string, mode?: number) => {
      opens.push(performance.now());
      if (fault === 'erofs') throw errno('EROFS', 'open', path);
      const handle = await NODE_FILE_SYSTEM.open(path, flags, mode);
      if (fault === 'none') return handle;
      // A disk that fills up half way: part of the bytes land, then ENOSPC.
      const writeFile = async (data: string | Uint8Array): Promise<void> => {
        const bytes = typeof data === 'string' ? Buffer.from(data) : data;
        await handle.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
        throw errno('ENOSPC', 'write', path);
      };
      return Object.assign(Object.create(handle) as object, { writeFile, close: () => handle.close(), sync: () => handle.sync() });
    }) as AtomicFileSystem['open'],
    unlink: (async (path: string) => {
      if (fault === 'enospc-and-unlink-fails') throw errno('EROFS', 'unlink', String(path));
      return NODE_FILE_SYSTEM.unlink(path);
    }) as AtomicFileSystem['unlink'],
  };
  return { fs, set: (f) => (fault = f), opens };
}

/** A stand-in live model: the checkpoint writer only reads it. `resize(40_000)` makes it 160 KB (more than the small tmpfs below holds). */
function fakeModel(): LiveModel & { step: () => void; resize: (params: number) => void } {
  let age = 0;
  let size = 4;
  return {
    modelName: 'mlp',
    modelHash: 'hash',
    read: () => {
      const params = new Float32Array(size).fill(1);
      params[0] = age;
      return { params, age, samplesSeen: age * 32 };
    },
    step: () => void (age += 1),
    resize: (params: number) => void (size = params),
  } as unknown as LiveModel & { step: () => void; resize: (params: number) => void };
}

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }) as Logger;
  return { logger, lines };
}

const failureLines = (lines: Record<string, unknown>[]) => lines.filter((l) => String(l.msg).startsWith('checkpoint failed'));
const tempFiles = async (dir: string) => (await readdir(dir)).filter((name) => name.includes('.tmp-'));
/** While checkpoints are being written, one temp file may be the write in flight; more would be a pile-up. */
async function assertNoPileUp(dir: string): Promise<void> {
  const found = await tempFiles(dir);
  assert.ok(found.length <= 1, `temp files pile up: ${found.join(', ')}`);
}

describe('CheckpointService under disk faults', function () {
  this.timeout(30_000);
  let dir: string;
  let service: CheckpointService | null = null;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-ckpt-faults-'));
  });
  afterEach(async () => {
    await service?.stop().catch(() => undefined);
    service = null;
    await rm(dir, { recursive: true, force: true });
  });

  async function runWith(fault: Exclude<Fault, 'none'>, intervalMs = 20) {
    const path = join(dir, CHECKPOINT_FILE);
    const { fs, set, opens } = faultyFs();
    const { logger, lines } = capturingLogger();
    const model = fakeModel();
    model.step();
    service = new CheckpointService({ path, model, intervalMs, fs });
    await service.start({ logger } as unknown as DaemonContext);
    const s = service;
    await waitFor(() => s.saves >= 1, 10_000, 'a first checkpoint');
    set(fault);
    model.step();
    // A write already past open() when the fault came may still land: the last good one is the one there at the first failure.
    await waitFor(() => s.failures >= 1, 10_000, 'a failed checkpoint');
    const good = await loadCheckpoint(path);
    const opensBefore = opens.length - 1;
    await waitFor(() => s.failures >= 4, 20_000, 'four failed checkpoints');
    return { path, set, opens: opens.slice(opensBefore), lines, good, model, service: s, intervalMs };
  }

  for (const fault of ['enospc-mid-write', 'erofs'] as const) {
    it(`${fault}: one line per failure with the reason, last good checkpoint intact, no temp file, backs off, recovers`, async () => {
      const { path, set, opens, lines, good, service: s, intervalMs } = await runWith(fault);
      const failed = failureLines(lines);
      assert.equal(failed.length, s.failures);
      const code = fault === 'erofs' ? 'EROFS' : 'ENOSPC';
      for (const line of failed) {
        assert.equal(line.level, 40);
        assert.match(String(line.msg), new RegExp(`^checkpoint failed: ${code}: .*; the last good checkpoint stays, next try in `));
      }
      assert.deepEqual(await loadCheckpoint(path), good);
      await assertNoPileUp(dir);
      // Each try waited at least twice as long as the one before (timers never fire early by more than a ms).
      for (let i = 1; i < Math.min(opens.length, 4); i++) {
        const expected = intervalMs * Math.min(2 ** i, MAX_CHECKPOINT_BACKOFF_INTERVALS);
        assert.ok(opens[i]! - opens[i - 1]! >= expected - 2, `try ${i} came ${opens[i]! - opens[i - 1]!} ms after the last, expected >= ${expected}`);
      }
      set('none');
      const saves = s.saves;
      await waitFor(() => s.saves > saves, 10_000, 'a checkpoint after the disk recovered');
      assert.equal(s.consecutiveFailures, 0);
      assert.equal(s.nextDelayMs(), intervalMs);
      assert.ok((await loadCheckpoint(path)).age > good.age);
      await s.stop();
      service = null;
      assert.deepEqual(await tempFiles(dir), []);
    });
  }

  it('removes a temp file it could not unlink at the next try, and those a killed process left at start', async () => {
    const path = join(dir, CHECKPOINT_FILE);
    await writeFile(join(dir, `.${CHECKPOINT_FILE}.tmp-999999-deadbeef`), 'half a checkpoint');
    const { set, service: s } = await runWith('enospc-and-unlink-fails');
    assert.ok((await tempFiles(dir)).length >= 1, 'the injected fault leaves temp files');
    set('none');
    const saves = s.saves;
    await waitFor(() => s.saves > saves, 10_000, 'a checkpoint after the fault');
    await s.stop();
    service = null;
    assert.deepEqual(await tempFiles(dir), []);
    assert.ok((await loadCheckpoint(path)).age >= 1);
  });

  it('a failed final checkpoint at stop is logged, not thrown', async () => {
    const { lines, service: s } = await runWith('erofs');
    await s.stop();
    service = null;
    assert.equal(failureLines(lines).length, s.failures);
    assert.doesNotMatch(String(failureLines(lines).at(-1)?.msg), /next try/);
  });
});

/** Runs `mount` with these arguments; false when this process may not mount. */
function tryMount(args: string[]): boolean {
  try {
    execFileSync('mount', args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('CheckpointService on a real read-only or full directory', function () {
  this.timeout(30_000);
  let root: string;
  let mounted: string[] = [];
  let service: CheckpointService | null = null;
  const isRoot = process.getuid?.() === 0;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-ckpt-real-'));
  });
  afterEach(async () => {
    await service?.stop().catch(() => undefined);
    service = null;
    for (const point of mounted.reverse()) execFileSync('umount', [point], { stdio: 'ignore' });
    mounted = [];
    await chmod(root, 0o700).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  async function startService(dir: string) {
    const { logger, lines } = capturingLogger();
    const model = fakeModel();
    model.step();
    service = new CheckpointService({ path: join(dir, CHECKPOINT_FILE), model, intervalMs: 20 });
    await service.start({ logger } as unknown as DaemonContext);
    const s = service;
    await waitFor(() => s.saves >= 1, 10_000, 'a first checkpoint');
    model.step();
    return { lines, s, model };
  }
  /** The checkpoint on disk once the first failure is in: a write past open() when the fault came may still have landed. */
  async function lastGood(s: CheckpointService, dir: string) {
    await waitFor(() => s.failures >= 1, 10_000, 'a failed checkpoint');
    return loadCheckpoint(join(dir, CHECKPOINT_FILE));
  }

  it('a state dir made read-only mid-run: failures logged with the reason, checkpoint intact, then recovers', async function () {
    const dir = join(root, 'state');
    await mkdir(dir);
    const { lines, s } = await startService(dir);
    let code: string;
    if (!isRoot) {
      await chmod(dir, 0o500);
      code = 'EACCES';
    } else {
      // Root writes through permission bits; a read-only bind mount stops it.
      if (!tryMount(['--bind', dir, dir])) this.skip();
      mounted.push(dir);
      if (!tryMount(['-o', 'remount,bind,ro', dir])) this.skip();
      code = 'EROFS';
    }
    const good = await lastGood(s, dir);
    await waitFor(() => s.failures >= 3, 10_000, 'three failed checkpoints');
    for (const line of failureLines(lines)) assert.match(String(line.msg), new RegExp(`^checkpoint failed: ${code}: `));
    assert.deepEqual(await loadCheckpoint(join(dir, CHECKPOINT_FILE)), good);
    // A write in flight when the dir turned read-only may leave its temp file (it cannot be removed then either):
    // at most that one, and it goes with the next write that can.
    await assertNoPileUp(dir);
    if (isRoot) {
      execFileSync('umount', [dir]);
      mounted.pop();
    } else await chmod(dir, 0o700);
    const saves = s.saves;
    await waitFor(() => s.saves > saves, 10_000, 'a checkpoint once the dir is writable again');
    await s.stop();
    service = null;
    assert.deepEqual(await tempFiles(dir), []);
  });

  it('a full file system (real ENOSPC): failures logged, checkpoint intact, no temp file', async function () {
    if (!isRoot) {
      console.log('      (skipped: filling a real file system needs a small tmpfs mount, which needs root)');
      this.skip();
    }
    const dir = join(root, 'small');
    await mkdir(dir);
    if (!tryMount(['-t', 'tmpfs', '-o', 'size=64k', 'gl-test-full', dir])) this.skip();
    mounted.push(dir);
    const { lines, s, model } = await startService(dir);
    // Fill what is left, and make every checkpoint from now on bigger than the whole file system: a write that
    // completes meanwhile frees the page of the checkpoint it replaces, which a checkpoint of a few bytes would reuse.
    await writeFile(join(dir, 'filler'), Buffer.alloc(64 * 1024)).catch(() => undefined);
    model.resize(40_000);
    const good = await lastGood(s, dir);
    await waitFor(() => s.failures >= 3, 10_000, 'three failed checkpoints');
    assert.match(String(failureLines(lines)[0]?.msg), /^checkpoint failed: ENOSPC: /);
    assert.deepEqual(await loadCheckpoint(join(dir, CHECKPOINT_FILE)), good);
    await assertNoPileUp(dir);
    await rm(join(dir, 'filler'));
    model.resize(4);
    const saves = s.saves;
    await waitFor(() => s.saves > saves, 10_000, 'a checkpoint once there is room again');
    await s.stop();
    service = null;
    assert.deepEqual(await tempFiles(dir), []);
  });
});

describe('Daemon with a failing checkpoint disk', function () {
  this.timeout(120_000);
  const suite = daemonSuite('gl-ckpt-daemon-');
  const { daemons } = suite;

  const config = (name: string, nodeIndex: number, bootstrap: string[]) =>
    validateDaemonConfig(fastDaemonConfig(join(suite.root, name), { bootstrap, swarm: 'disk-faults', nodeIndex, numNodes: 2, checkpointIntervalMs: 100 }));
  const metrics = fetchMetrics;

  it('keeps training and gossiping while every checkpoint fails (ENOSPC)', async () => {
    const { fs, set } = faultyFs();
    const { logger, lines } = capturingLogger();
    const a = new Daemon({ config: config('a', 0, []), logger, checkpointFs: fs, libp2p: { discoveryIntervalMs: 300 } });
    daemons.push(a);
    const infoA = await a.start();
    const b = new Daemon({ config: config('b', 1, infoA.addresses), logger: pino({ level: 'silent' }), libp2p: { discoveryIntervalMs: 300 } });
    daemons.push(b);
    await b.start();
    await waitFor(() => (a.checkpoints?.saves ?? 0) >= 1, 30_000, 'a first checkpoint');
    set('enospc-mid-write');
    await waitFor(() => (a.checkpoints?.failures ?? 0) >= 1, 30_000, 'a failed checkpoint');
    const good = await loadCheckpoint(join(suite.root, 'a', CHECKPOINT_FILE));
    const atFailure = await metrics(infoA.metricsUrl);
    await waitFor(() => (a.checkpoints?.failures ?? 0) >= 3, 30_000, 'three failed checkpoints');
    let now = atFailure;
    await waitFor(
      async () => {
        now = await metrics(infoA.metricsUrl);
        return now.training.steps! > atFailure.training.steps! + 20 && now.exchange.merged > atFailure.exchange.merged + 3;
      },
      60_000,
      'training steps and merges to go on',
    );
    assert.equal(a.state, 'running');
    assert.equal(failureLines(lines).length, a.checkpoints!.failures);
    assert.deepEqual(await loadCheckpoint(join(suite.root, 'a', CHECKPOINT_FILE)), good);
    await assertNoPileUp(join(suite.root, 'a'));
  });
});
