/**
 * Checkpoints of the live model in the state dir: restored at start (a
 * corrupt or foreign file is renamed to `*.corrupt-<time>` and the daemon
 * starts cold), written on a timer and once more at shutdown.
 *
 *   const restored = await restoreCheckpoint(path, host, logger);
 *   daemon.addService(new CheckpointService({ path, model, intervalMs }));
 */
import { rename } from 'node:fs/promises';
import { NODE_FILE_SYSTEM, removeStrayTempFiles, type AtomicFileSystem } from '../common/atomic-file.ts';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../train/checkpoint.ts';
import type { DaemonContext, DaemonService } from './service.ts';
import type { Logger } from './logger.ts';
import type { LiveModel } from '../train/live-model.ts';

export type RestoreOutcome = { status: 'restored'; age: number; samplesSeen: number } | { status: 'cold'; reason: string; movedTo: string | null };

export async function restoreCheckpoint(path: string, host: LiveModel, logger: Logger, now: () => number = Date.now): Promise<RestoreOutcome> {
  try {
    const checkpoint = await loadCheckpoint(path, { modelName: host.modelName, modelHash: host.modelHash });
    host.write(checkpoint.params, { age: checkpoint.age, samplesSeen: checkpoint.samplesSeen });
    logger.info({ path, age: checkpoint.age }, 'checkpoint restored');
    return { status: 'restored', age: checkpoint.age, samplesSeen: checkpoint.samplesSeen };
  } catch (err) {
    if (!(err instanceof CheckpointError)) throw err;
    if (err.reason === 'missing') return { status: 'cold', reason: 'missing', movedTo: null };
    const movedTo = `${path}.corrupt-${new Date(now()).toISOString().replaceAll(':', '-')}`;
    await rename(path, movedTo);
    logger.warn({ path, movedTo, reason: err.reason }, 'unusable checkpoint moved aside; starting cold');
    return { status: 'cold', reason: err.reason, movedTo };
  }
}

/** After a failed checkpoint the next try waits twice as long as the last, up to this many intervals. */
export const MAX_CHECKPOINT_BACKOFF_INTERVALS = 16;

export interface CheckpointServiceOptions {
  path: string;
  model: LiveModel;
  intervalMs: number;
  /** Extra metadata stored with each checkpoint (peer id, swarm). */
  meta?: () => Record<string, unknown>;
  /** File-system calls of the writer (tests inject failures); default node:fs/promises. */
  fs?: AtomicFileSystem;
}

/**
 * Writes the live model to the state dir every `intervalMs`, and once more
 * at stop. A write that fails (read-only dir, full disk, permissions) costs
 * only that checkpoint: one warning line with the reason, the file already
 * there stays as it was (the write is atomic), its temp file is removed, and
 * training and gossip go on; the next try waits twice as long as the last
 * (up to MAX_CHECKPOINT_BACKOFF_INTERVALS intervals) and the interval is
 * back to normal after a success. Temp files a killed process left are
 * removed at start and before each write.
 */
export class CheckpointService implements DaemonService {
  readonly name = 'checkpoints';
  private readonly options: CheckpointServiceOptions;
  private readonly fs: AtomicFileSystem;
  private timer: NodeJS.Timeout | null = null;
  private context: DaemonContext | null = null;
  private stopped = false;
  /** Serializes writes: a timer tick and the final save never overlap. */
  private writing: Promise<void> = Promise.resolve();
  saves = 0;
  /** Checkpoints that failed, in all. */
  failures = 0;
  /** Failures since the last success (sets the back-off). */
  consecutiveFailures = 0;
  /** Age of the model in the last checkpoint written (training steps it embodies). */
  lastSavedAge: number | null = null;

  constructor(options: CheckpointServiceOptions) {
    this.options = options;
    this.fs = options.fs ?? NODE_FILE_SYSTEM;
  }

  async start(context: DaemonContext): Promise<void> {
    this.context = context;
    const removed = await removeStrayTempFiles(this.options.path, this.fs);
    if (removed.length > 0) context.logger.info({ removed }, `removed ${removed.length} temp file(s) an interrupted checkpoint left`);
    this.schedule(this.options.intervalMs);
  }

  /** The wait before the next timed checkpoint: the interval, doubled per failure in a row, capped. */
  nextDelayMs(): number {
    const factor = Math.min(2 ** this.consecutiveFailures, MAX_CHECKPOINT_BACKOFF_INTERVALS);
    return this.options.intervalMs * factor;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // A failure is logged by save(); whatever happened, the next try is scheduled from the outcome.
      void this.save().catch(() => undefined).finally(() => this.schedule(this.nextDelayMs()));
    }, delayMs);
    this.timer.unref();
  }

  /** Final checkpoint: runs after the training loop and exchanges stopped (services stop in reverse order); logs `checkpoint saved (age N)`, or the failure. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    try {
      await this.save();
    } catch {
      return; // save() logged why; the last good checkpoint stays.
    }
    const age = this.lastSavedAge;
    this.context?.logger.info({ path: this.options.path, age }, `checkpoint saved (age ${age})`);
  }

  /**
   * Writes a checkpoint of the model as it is now (writes never overlap).
   * Rejects with the write's error after logging it as one warning line.
   */
  save(): Promise<void> {
    const { model: host, path } = this.options;
    // Snapshot synchronously (between training batches), write asynchronously.
    const { params, age, samplesSeen } = host.read();
    const meta = { savedAt: new Date().toISOString(), ...(this.options.meta?.() ?? {}) };
    const write = async (): Promise<void> => {
      try {
        await removeStrayTempFiles(path, this.fs);
        await saveCheckpoint(path, { modelName: host.modelName, modelHash: host.modelHash, params, age, samplesSeen, meta }, { fs: this.fs });
      } catch (err) {
        this.failures += 1;
        this.consecutiveFailures += 1;
        const reason = describeWriteError(err);
        const retryInMs = this.stopped ? null : this.nextDelayMs();
        this.context?.logger.warn(
          { path, reason, failures: this.consecutiveFailures, retryInMs },
          `checkpoint failed: ${reason}; the last good checkpoint stays` + (retryInMs === null ? '' : `, next try in ${Math.round(retryInMs / 100) / 10} s`),
        );
        throw err;
      }
      this.saves++;
      this.consecutiveFailures = 0;
      this.lastSavedAge = age;
      this.context?.logger.debug({ path, age }, 'checkpoint written');
    };
    this.writing = this.writing.then(write, write);
    return this.writing;
  }
}

/** One line for a failed write: the errno code and Node's message (`EROFS: read-only file system, open '…'`), or a CheckpointError's. */
export function describeWriteError(err: unknown): string {
  if (err instanceof CheckpointError) return `${err.reason}: ${err.message}`;
  const message = String((err as Error)?.message ?? err).split('\n')[0] ?? '';
  const code = (err as NodeJS.ErrnoException)?.code;
  return code !== undefined && !message.startsWith(code) ? `${code}: ${message}` : message;
}
