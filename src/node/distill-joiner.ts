/**
 * The joiner side of the knowledge-transfer join
 * (`/gossip-learn/distill/1.0.0`), as a daemon service (plugged in through
 * the daemon's `joinServices`, after the announcer and before training; the
 * teacher side, which every daemon runs, is distill-teacher.ts):
 *
 * - On a first start (no checkpoint, distillation not disabled): wait up to
 *   a deadline for announced teachers (or use `--teacher`), ask them in
 *   order (best accuracy first, same architecture first), distill the first
 *   valid answer into our model, record `distill{}` metrics; if no teacher
 *   answers in time, a cold start, logged. Without any way to find a peer
 *   (no `--teacher`, `--bootstrap` or `--mdns`) the cold start is immediate,
 *   and when only untrained peers have announced it comes after a short
 *   grace period (teacher-wait.ts has the rules).
 * - A node whose model differs from every announced peer's (a small device
 *   in a swarm of bigger models) cannot merge; it re-distills from the best
 *   teacher periodically instead.
 *
 * On the wire, `fetchFromTeachers` asks candidates in order until one
 * answers with a valid registry model, within a deadline.
 *
 *   new Daemon({ config, joinServices: [new DistillTeacherService(), new DistillJoinerService()] });
 *   const result = await fetchFromTeachers(node, candidates, { ...decodeOptions, deadlineMs: 30_000 });
 *   if (result.model === null) coldStart(); // every attempt is in result.attempts
 */
import { randomBytes } from 'node:crypto';
import type { Libp2p, PeerId } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { Multiaddr } from '@multiformats/multiaddr';
import type * as tf from '@tensorflow/tfjs';
import { decodeDistillAnswer, encodeDistillRequest, type DecodeDistillOptions, type DistillAnswer } from '../protocol/distill-messages.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { DEFAULT_FRAME_LIMITS, type FrameLimits } from '../protocol/frame.ts';
import type { DistillBudget } from '../train/distill.ts';
import { distillFromTeacher } from '../train/distill-join.ts';
import { createModel, isModelName, modelHash, modelNames } from '../train/models.ts';
import { datasetSchema } from '../train/dataset.ts';
import { getFlatParams, paramCount } from '../train/params.ts';
import { evaluateModel } from '../train/trainer.ts';
import { createRandom, deriveSeed } from '../train/random.ts';
import { sleep } from './abortable-sleep.ts';
import { DISTILL_PROTOCOL_ID, MAX_CHUNK_DATA_BYTES } from './constants.ts';
import {
  DISTILL_DEFAULT_SECONDS,
  DISTILL_DEFAULT_STEPS,
  DISTILL_JOIN_DEADLINE_MS,
  DISTILL_MAX_ANSWER_BYTES,
  DISTILL_READ_TIMEOUT_MS,
  DISTILL_REFRESH_INTERVAL_MS,
} from './distill-constants.ts';
import { readChunkedFrame, writeChunkedFrame } from './frame-stream.ts';
import type { DaemonContext, DaemonService } from './service.ts';
import { forcedTeacher, rankTeachers, TeacherChoiceError, type TeacherCandidate } from './teacher-choice.ts';
import { TeacherWait, teacherDiscoveryPossible, untrainedGraceMs } from './teacher-wait.ts';
import { monotonicNowMs } from '../common/clock.ts';

export interface FetchTeacherOptions extends DecodeDistillOptions {
  incarnation: string;
  wantedModel: string | null;
  maxAnswerBytes?: number;
  readTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface FetchedTeacherModel {
  answer: DistillAnswer;
  /** Bytes of the answer frame (what the transfer cost). */
  bytes: number;
}

/** Asks one peer for its model. Throws ProtocolError on a bad answer; network errors propagate. */
export async function requestTeacherModel(
  node: Pick<Libp2p, 'dialProtocol'>,
  target: PeerId | Multiaddr | Multiaddr[],
  options: FetchTeacherOptions,
): Promise<FetchedTeacherModel> {
  const readTimeoutMs = options.readTimeoutMs ?? DISTILL_READ_TIMEOUT_MS;
  const withTimeout = (): AbortSignal =>
    options.signal === undefined ? AbortSignal.timeout(readTimeoutMs) : AbortSignal.any([AbortSignal.timeout(readTimeoutMs), options.signal]);
  const stream = await node.dialProtocol(target, DISTILL_PROTOCOL_ID, { signal: withTimeout() });
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_CHUNK_DATA_BYTES });
    const request = encodeDistillRequest({ swarmId: options.swarmId, incarnation: options.incarnation, wantedModel: options.wantedModel });
    await writeChunkedFrame(lp, request, { signal: withTimeout() });
    const answerBytes = await readChunkedFrame(lp, {
      maxFrameBytes: options.maxAnswerBytes ?? DISTILL_MAX_ANSWER_BYTES,
      readTimeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const answer = decodeDistillAnswer(answerBytes, options);
    await stream.close({ signal: withTimeout() }).catch(() => stream.abort(new Error('close failed')));
    return { answer, bytes: answerBytes.length + request.length };
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

export type TeacherAttemptOutcome = 'model' | 'busy' | 'rejected' | 'failed' | 'skipped';

export interface TeacherAttempt {
  teacher: string;
  outcome: TeacherAttemptOutcome;
  /** ProtocolError reason or error name for 'rejected' / 'failed'. */
  reason: string | null;
}

export type FetchFromTeachersResult =
  | { model: Extract<DistillAnswer, { kind: 'model' }>; teacher: string; bytes: number; attempts: TeacherAttempt[] }
  | { model: null; teacher: null; bytes: number; attempts: TeacherAttempt[] };

/**
 * Tries candidates in order until one answers with a valid model; BUSY,
 * rejected answers (ProtocolError) and network failures move on to the next.
 * Gives up when the deadline passes (candidates not tried are 'skipped').
 */
export async function fetchFromTeachers(
  node: Pick<Libp2p, 'dialProtocol'>,
  candidates: readonly TeacherCandidate[],
  options: FetchTeacherOptions & { deadlineMs: number },
): Promise<FetchFromTeachersResult> {
  const deadline = AbortSignal.timeout(options.deadlineMs);
  const signal = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
  const attempts: TeacherAttempt[] = [];
  let bytes = 0;
  for (const candidate of candidates) {
    if (signal.aborted) {
      attempts.push({ teacher: candidate.id, outcome: 'skipped', reason: 'deadline' });
      continue;
    }
    try {
      const fetched = await requestTeacherModel(node, candidate.target, { ...options, signal });
      bytes += fetched.bytes;
      if (fetched.answer.kind === 'busy') {
        attempts.push({ teacher: candidate.id, outcome: 'busy', reason: null });
        continue;
      }
      attempts.push({ teacher: candidate.id, outcome: 'model', reason: null });
      return { model: fetched.answer, teacher: candidate.id, bytes, attempts };
    } catch (err) {
      if (err instanceof ProtocolError) attempts.push({ teacher: candidate.id, outcome: 'rejected', reason: err.reason });
      else attempts.push({ teacher: candidate.id, outcome: 'failed', reason: err instanceof Error ? err.name : 'error' });
    }
  }
  return { model: null, teacher: null, bytes, attempts };
}

/** How often the joiner looks at the announcement table again while it waits for a teacher. */
const TEACHER_POLL_INTERVAL_MS = 250;
/** Budget of each periodic re-distillation of a heterogeneous node (smaller than a join). */
const REFRESH_BUDGET: DistillBudget = { steps: 100, seconds: 20 };

export interface DistillJoinerOptions {
  /** How long a first start waits for a teacher before a cold start. */
  deadlineMs?: number;
  /** How long only untrained peers may be announced before a cold start (default: one announce interval + 1 s). */
  untrainedGraceMs?: number;
  budget?: DistillBudget;
  temperature?: number;
  alpha?: number;
  /** Periodic re-distillation of a node whose model differs from the swarm's; null disables it. */
  refreshIntervalMs?: number | null;
  refreshBudget?: DistillBudget;
  readTimeoutMs?: number;
}

export type JoinOutcome =
  | { status: 'distilled'; teacher: string; startedFromTeacher: boolean; steps: number }
  | { status: 'cold'; reason: 'restored' | 'disabled' | 'no-discovery' | 'untrained-peers' | 'other-swarm-peers' | 'no-teacher' | 'bad-teacher' | 'aborted' | 'model-file' };

export class DistillJoinerService implements DaemonService {
  readonly name = 'distill';
  private readonly options: DistillJoinerOptions;
  private readonly incarnation = randomBytes(8).toString('hex');
  private refreshLoop: Promise<void> | null = null;
  private readonly stopController = new AbortController();
  private readonly registryShapes = new Map<string, { modelHash: string; paramCount: number }>();
  /** The first-start decision, for tests and logs. */
  outcome: JoinOutcome | null = null;
  /** Periodic re-distillations done (a model no announced peer shares). */
  refreshes = 0;

  constructor(options: DistillJoinerOptions = {}) {
    this.options = options;
  }

  async start(context: DaemonContext): Promise<void> {
    const { config } = context;
    this.outcome = await this.firstStart(context);
    const refreshIntervalMs = this.options.refreshIntervalMs === undefined ? DISTILL_REFRESH_INTERVAL_MS : this.options.refreshIntervalMs;
    if (refreshIntervalMs !== null && config.distill && isModelName(context.model.modelName)) this.refreshLoop = this.refresh(context, refreshIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.refreshLoop;
  }

  private signal(context: DaemonContext): AbortSignal {
    return AbortSignal.any([context.signal, this.stopController.signal]);
  }

  private async firstStart(context: DaemonContext): Promise<JoinOutcome> {
    const { config, logger } = context;
    if (context.restored.status === 'restored') {
      logger.info('distill: model restored from checkpoint, no join');
      return { status: 'cold', reason: 'restored' };
    }
    if (!config.distill) {
      logger.info('distill: disabled (--no-distill), cold start');
      return { status: 'cold', reason: 'disabled' };
    }
    if (!isModelName(context.model.modelName)) {
      // A teacher only ever names a registry model (src/protocol/distill-messages.ts): a model file's
      // nodes start from the file's shared weights (or seeded initializers) and learn by gossip.
      logger.info('distill: a model file (--model FILE.json) joins by gossip alone, from its shared initial point: cold start');
      return { status: 'cold', reason: 'model-file' };
    }
    if (!teacherDiscoveryPossible(config)) {
      // Nothing dials us in time and we dial nobody: waiting would only delay training.
      logger.info('distill: no --teacher, --bootstrap or --mdns, so no teacher can be found: cold start');
      return { status: 'cold', reason: 'no-discovery' };
    }
    let forced: TeacherCandidate | null = null;
    if (config.teacher !== null) {
      try {
        forced = forcedTeacher(config.teacher, context.announcements.all());
      } catch (err) {
        if (!(err instanceof TeacherChoiceError)) throw err;
        logger.warn({ teacher: config.teacher, err: err.message }, 'distill: bad --teacher, cold start');
        return { status: 'cold', reason: 'bad-teacher' };
      }
    }
    const deadlineMs = this.options.deadlineMs ?? DISTILL_JOIN_DEADLINE_MS;
    // A forced teacher is waited for until the deadline, whatever else announces.
    const graceMs = forced !== null ? null : (this.options.untrainedGraceMs ?? untrainedGraceMs(config.announceIntervalMs));
    const fetched = await this.findTeacher(context, forced, deadlineMs, graceMs);
    context.metrics.distill.rejected = fetched.rejected;
    context.metrics.distill.bytes = fetched.bytes;
    if (fetched.result === null || fetched.result.model === null) {
      if (this.signal(context).aborted) {
        logger.warn({ attempts: fetched.attempts }, 'distill: stopped before a teacher answered');
        return { status: 'cold', reason: 'aborted' };
      }
      if (fetched.coldReason === 'other-swarm-peers') {
        logger.warn({ graceMs, swarm: config.swarm }, `distill: every peer we reach is in another swarm (see the warning naming it), none can teach swarm '${config.swarm}': cold start`);
      } else if (fetched.coldReason === 'untrained-peers') {
        logger.info({ graceMs, announcedPeers: context.announcements.all().length, attempts: fetched.attempts }, 'distill: only untrained peers announced, cold start');
      } else {
        logger.warn({ deadlineMs, attempts: fetched.attempts }, 'distill: no teacher answered within the deadline, cold start');
      }
      return { status: 'cold', reason: fetched.coldReason };
    }
    const joined = await this.distillInto(context, fetched.result, this.options.budget ?? { steps: DISTILL_DEFAULT_STEPS, seconds: DISTILL_DEFAULT_SECONDS }, true);
    return { status: 'distilled', teacher: fetched.result.teacher!, ...joined };
  }

  /**
   * Polls the announcement table until a teacher answers with a model, the
   * deadline passes, or (graceMs not null) only untrained peers have been
   * announced for graceMs.
   */
  private async findTeacher(
    context: DaemonContext,
    forced: TeacherCandidate | null,
    deadlineMs: number,
    graceMs: number | null,
  ): Promise<{ result: FetchFromTeachersResult | null; bytes: number; rejected: number; attempts: string[]; coldReason: 'no-teacher' | 'untrained-peers' | 'other-swarm-peers' }> {
    const { config, model: live, node } = context;
    const signal = this.signal(context);
    const wait = new TeacherWait({ deadlineMs, untrainedGraceMs: graceMs, now: monotonicNowMs });
    const selfPeerId = node.peerId.toString();
    const refused = new Set<string>(); // answered with something invalid: never again this join
    // Failed (unreachable, reset, or silent past the read timeout: killed or frozen mid-transfer): not asked
    // again this join, so each costs at most one read timeout before the next teacher or a cold start.
    const failed = new Set<string>();
    // Joiners that start together spread over equally good teachers (rankTeachers); seeded per node.
    const random = createRandom(deriveSeed(config.seed, 'teacher-choice', selfPeerId));
    let bytes = 0;
    let rejected = 0;
    const attempts: string[] = [];
    let coldReason: 'no-teacher' | 'untrained-peers' | 'other-swarm-peers' = 'no-teacher';
    while (!signal.aborted) {
      const candidates = forced !== null ? [forced] : this.rankedTeachers(context, random).filter((c) => !refused.has(c.id) && !failed.has(c.id));
      const announcedPeers = context.announcements.all().filter((row) => row.peerId !== selfPeerId).length;
      const { connected, otherSwarm } = context.metrics.toJson().peers;
      const otherSwarmPeersOnly = (connected ?? 0) > 0 && otherSwarm === connected;
      const step = wait.next({ announcedPeers, usableTeachers: candidates.length, otherSwarmPeersOnly });
      if (step.action === 'cold') {
        coldReason = step.reason;
        break;
      }
      if (step.action === 'ask') {
        const result = await fetchFromTeachers(node, candidates, {
          swarmId: config.swarm,
          incarnation: this.incarnation,
          wantedModel: live.modelName,
          frameLimits: this.joinerFrameLimits(),
          registryModelNames: modelNames,
          resolveModel: (name) => this.resolveModel(name, context),
          maxAnswerBytes: DISTILL_MAX_ANSWER_BYTES,
          deadlineMs: Math.max(1, wait.remainingMs),
          signal,
          ...(this.options.readTimeoutMs === undefined ? {} : { readTimeoutMs: this.options.readTimeoutMs }),
        });
        bytes += result.bytes;
        for (const attempt of result.attempts) {
          if (attempt.outcome === 'skipped') continue;
          attempts.push(`${attempt.teacher}: ${attempt.outcome}${attempt.reason === null ? '' : ` (${attempt.reason})`}`);
          if (attempt.outcome === 'failed') failed.add(attempt.teacher);
          if (attempt.outcome === 'rejected') {
            rejected++;
            refused.add(attempt.teacher);
            context.logger.warn({ teacher: attempt.teacher, reason: attempt.reason }, 'distill: rejected a teacher answer');
          }
        }
        if (result.model !== null) return { result, bytes, rejected, attempts, coldReason };
      }
      await sleep(Math.min(TEACHER_POLL_INTERVAL_MS, wait.remainingMs), signal);
    }
    return { result: null, bytes, rejected, attempts, coldReason };
  }

  /** Trained peers, same architecture first (their weights are a head start), then by accuracy/age. */
  private rankedTeachers(context: DaemonContext, random: () => number): TeacherCandidate[] {
    const rows = context.announcements.all();
    const selfPeerId = context.node.peerId.toString();
    const same = rankTeachers(rows.filter((r) => r.modelHash === context.model.modelHash), { selfPeerId, random });
    const other = rankTeachers(rows.filter((r) => r.modelHash !== context.model.modelHash && isModelName(r.modelName)), { selfPeerId, random });
    return [...same, ...other];
  }

  private joinerFrameLimits(): FrameLimits {
    return { ...DEFAULT_FRAME_LIMITS, maxFrameBytes: DISTILL_MAX_ANSWER_BYTES, maxPayloadBytes: DISTILL_MAX_ANSWER_BYTES };
  }

  /** Hash and parameter count of a registry model for our data shape, built locally (cached). */
  private resolveModel(name: string, context: DaemonContext): { modelHash: string; paramCount: number } {
    let shape = this.registryShapes.get(name);
    if (shape === undefined) {
      if (!isModelName(name)) throw new Error(`not a registry model: ${name}`); // decodeDistillAnswer checks names first
      const { dataset } = context.data;
      const probe: tf.LayersModel = createModel(name, { featureCount: dataset.featureCount, imageShape: dataset.imageShape, numClasses: dataset.numClasses, seed: 0 });
      shape = { modelHash: modelHash(probe, datasetSchema(dataset)), paramCount: paramCount(probe) };
      probe.dispose();
      this.registryShapes.set(name, shape);
    }
    return shape;
  }

  private async distillInto(
    context: DaemonContext,
    fetched: FetchFromTeachersResult,
    budget: DistillBudget,
    adoptCounters: boolean,
  ): Promise<{ startedFromTeacher: boolean; steps: number }> {
    const { model: live, data, config, metrics, logger } = context;
    const model = fetched.model!;
    const { featureCount, numClasses, imageShape } = data.dataset;
    const accuracyBefore = evaluateModel(live.model, data.test, featureCount, numClasses).accuracy;
    const result = await distillFromTeacher({
      teacherModelName: model.modelName as (typeof modelNames)[number],
      teacherParams: model.params,
      student: live.model,
      modelOptions: { featureCount, numClasses, imageShape },
      train: data.train,
      budget,
      seed: config.seed,
      learningRate: config.learningRate,
      // Distillation has no merges to be quasi-global about: qgm distills with plain momentum.
      optimizer: config.optimizer === 'qgm' ? 'momentum' : config.optimizer,
      batchSize: config.batchSize,
      ...(this.options.temperature === undefined ? {} : { temperature: this.options.temperature }),
      ...(this.options.alpha === undefined ? {} : { alpha: this.options.alpha }),
      run: { signal: this.signal(context) },
    });
    // Same architecture: we now hold the teacher's model (plus distillation), so we take its training counters too.
    const counters =
      adoptCounters && result.startedFromTeacher
        ? { age: model.age + result.steps, samplesSeen: model.samplesSeen + result.samples }
        : { age: live.age + result.steps, samplesSeen: live.samplesSeen + result.samples };
    live.write(getFlatParams(live.model), counters);
    const accuracyAfter = evaluateModel(live.model, data.test, featureCount, numClasses).accuracy;
    Object.assign(metrics.distill, { teacher: fetched.teacher, accuracyBefore, accuracyAfter, seconds: result.seconds });
    logger.info(
      { teacher: fetched.teacher, teacherModel: model.modelName, startedFromTeacher: result.startedFromTeacher, steps: result.steps, seconds: result.seconds, accuracyBefore, accuracyAfter, bytes: fetched.bytes },
      'distill: distilled from teacher',
    );
    return { startedFromTeacher: result.startedFromTeacher, steps: result.steps };
  }

  /**
   * A model no announced peer shares cannot merge; such a node re-distills
   * from the best teacher (of another architecture) every interval instead.
   */
  private async refresh(context: DaemonContext, intervalMs: number): Promise<void> {
    const signal = this.signal(context);
    while (!signal.aborted) {
      await sleep(intervalMs, signal);
      if (signal.aborted) break;
      const rows = context.announcements.all().filter((r) => r.peerId !== context.node.peerId.toString() && r.age > 0);
      const sameModel = rows.some((r) => r.modelHash === context.model.modelHash);
      if (sameModel || rows.length === 0) continue;
      try {
        // Only called while trained peers of another model are announced: no untrained grace here.
        const fetched = await this.findTeacher(context, null, this.options.deadlineMs ?? DISTILL_JOIN_DEADLINE_MS, null);
        context.metrics.distill.bytes = (context.metrics.distill.bytes ?? 0) + fetched.bytes;
        context.metrics.distill.rejected = (context.metrics.distill.rejected ?? 0) + fetched.rejected;
        if (fetched.result?.model != null) {
          await this.distillInto(context, fetched.result, this.options.refreshBudget ?? REFRESH_BUDGET, false);
          this.refreshes++;
        }
      } catch (err) {
        context.logger.warn({ err }, 'distill: periodic re-distillation failed');
      }
    }
  }
}
