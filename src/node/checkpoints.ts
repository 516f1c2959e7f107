/**
 * Checkpoints of the live model in the state dir: restored at start (a
 * corrupt or foreign file is renamed to `*.corrupt-<time>` and the daemon
 * starts cold), written on a timer and once more at shutdown.
 *
 *   const restored = await restoreCheckpoint(path, host, logger);
 *   daemon.addService(new CheckpointService({ path, model, intervalMs }));
 */
import { rename } from 'node:fs/promises';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../train/checkpoint.ts';
import type { DaemonContext, DaemonService } from './service.ts';
import type { Logger } from './logger.ts';
import type { LiveModel } from '../train/live-model.ts';
import { allFinite } from '../train/merge.ts';
import type { ModelState } from '../train/model-state.ts';

/** What a checkpoint is taken from: the model's identity and a consistent read (a DivergenceGuard, so it is healed first). */
export interface CheckpointSource {
  readonly modelName: string;
  readonly modelHash: string;
  read(): ModelState;
}

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

export interface CheckpointServiceOptions {
  path: string;
  model: CheckpointSource;
  intervalMs: number;
  /** Extra metadata stored with each checkpoint (peer id, swarm). */
  meta?: () => Record<string, unknown>;
}

export class CheckpointService implements DaemonService {
  readonly name = 'checkpoints';
  private readonly options: CheckpointServiceOptions;
  private timer: NodeJS.Timeout | null = null;
  private context: DaemonContext | null = null;
  /** Serializes writes: a timer tick and the final save never overlap. */
  private writing: Promise<void> = Promise.resolve();
  saves = 0;
  /** Age of the model in the last checkpoint written (training steps it embodies). */
  lastSavedAge: number | null = null;

  constructor(options: CheckpointServiceOptions) {
    this.options = options;
  }

  async start(context: DaemonContext): Promise<void> {
    this.context = context;
    this.timer = setInterval(() => {
      this.save().catch((err: unknown) => context.logger.error({ err }, 'checkpoint failed'));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Final checkpoint: runs after the training loop and exchanges stopped (services stop in reverse order); logs `checkpoint saved (age N)`. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.save();
    const age = this.lastSavedAge;
    this.context?.logger.info({ path: this.options.path, age }, `checkpoint saved (age ${age})`);
  }

  /** Writes a checkpoint of the model as it is now (writes never overlap). */
  save(): Promise<void> {
    const { model: host, path } = this.options;
    // Snapshot synchronously (between training batches), write asynchronously.
    const { params, age, samplesSeen } = host.read();
    // Never on disk: a model with NaN/Inf (the guard heals before reads; this is the last line).
    if (!allFinite(params)) {
      this.context?.logger.warn({ path, age }, 'checkpoint skipped: the model holds NaN or Infinity');
      return this.writing;
    }
    const meta = { savedAt: new Date().toISOString(), ...(this.options.meta?.() ?? {}) };
    const write = async (): Promise<void> => {
      await saveCheckpoint(path, { modelName: host.modelName, modelHash: host.modelHash, params, age, samplesSeen, meta });
      this.saves++;
      this.lastSavedAge = age;
      this.context?.logger.debug({ path, age }, 'checkpoint written');
    };
    this.writing = this.writing.then(write, write);
    return this.writing;
  }
}
